"""End-to-end runs of the Snakemake workflow on small data, plus lint and format checks."""

import json
import re
import subprocess

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import (
    BIN,
    FULLY_TRAINED,
    REPO,
    SHARED_DATA,
    SNAKEMAKE,
    copy_workflow,
    run_snakemake,
    snakemake_env,
    write_config,
)

from deepcis.dataset import read_x
from deepcis.genome import Genome, decode_one_hot
from deepcis.prepare import read_windows_bed

DREAM = SHARED_DATA / "hg19_chr22_20-21Mb_encode_dream"


@pytest.fixture
def workdir(tmp_path):
    return copy_workflow(tmp_path)


def test_lint():
    result = subprocess.run([*SNAKEMAKE, "--lint"], cwd=REPO, env=snakemake_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_snakefmt():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=REPO, env=snakemake_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff():
    """Ruff (pyproject.toml: pycodestyle, pyflakes, isort, numpy-convention docstrings, bugbear,
    pyupgrade) finds nothing in the library, rule scripts, tests and benchmarks."""
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "."], cwd=REPO, env=snakemake_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"prepare": {"window_length": 0}}, "config key prepare.window_length: 0 is less than the minimum of 1"),
        ({"split": {"mode": "by_magic"}}, "config key split.mode: 'by_magic' is not one of"),
        ({"tasks": "config/missing.tsv"}, "tasks sheet config/missing.tsv not found"),
    ],
)
def test_bad_config_stops_before_any_job(workdir, patch, message):
    result = run_snakemake(workdir, "-n", "--configfile", str(write_config(workdir, patch)), check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    assert "Traceback" not in output
    assert not (workdir / "results").exists()


def test_bad_tasks_sheet_names_the_row(workdir):
    sheet = workdir / "config" / "tasks.tsv"
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join(lines + [lines[1]]) + "\n")  # CTCF again
    result = run_snakemake(workdir, "-n", check=False)
    assert result.returncode != 0
    duplicate_line = len(lines) + 1
    assert f"line {duplicate_line}: duplicate task name 'CTCF' (first on line 2)" in result.stdout + result.stderr


def _check_split_files(workdir, genome_path, splits=("train", "valid", "test")):
    genome = Genome(genome_path)
    seen = {}
    for split in splits:
        with h5py.File(workdir / "results" / "encode" / f"{split}.h5", "r") as f:
            n = f["x"].shape[0]
            assert n > 0 and f.attrs["split"] == split
            # y: uint8 0/1, or float32 (NaN = missing) with signal tasks (the example's CTCF_signal)
            # x: base codes (N, L), one byte per window base (the default encode.x_encoding)
            assert f["x"].dtype == np.uint8 and f["x"].shape == (n, f.attrs["window_length"])
            assert f["y"].dtype in (np.uint8, np.float32)
            assert len(f.attrs["genome_sha256"]) == 64 and len(f.attrs["config_sha256"]) == 64
            bed, tasks = read_windows_bed(workdir / "results" / "prepare" / "windows" / f"{split}.bed", np.float32)
            assert len(bed) == n
            np.testing.assert_array_equal(f["start"][:], bed["start"].to_numpy())
            np.testing.assert_allclose(f["y"][:], bed[tasks].to_numpy(np.float64), rtol=1e-5)
            # round trip: decoded windows equal the genome (a sample of rows)
            for i in np.linspace(0, n - 1, min(n, 40)).astype(int):
                chrom = f["chrom"][i].decode()
                seq = genome.fetch(chrom, int(f["start"][i]), int(f["end"][i])).tobytes().decode().upper()
                seq = "".join(c if c in "ACGT" else "N" for c in seq)
                assert decode_one_hot(read_x(f, i)) == seq
            seen[split] = bed[["chrom", "start", "end"]]
    return seen


def _assert_no_cross_split_overlap(frames):
    from deepcis.intervals import bedtools_tempdir, overlaps_any

    with bedtools_tempdir():
        for split, frame in frames.items():
            others = pd.concat([f for s, f in frames.items() if s != split], ignore_index=True)
            assert not overlaps_any(frame, others).any(), split


@pytest.mark.slow
def test_bundled_example_end_to_end(example_run):
    workdir, quick = example_run
    example = workdir / "resources" / "example"
    assert (example / "genome.fa").is_file() and (example / "variants.vcf.gz").is_file()
    frames = _check_split_files(workdir, example / "genome.fa")
    _assert_no_cross_split_overlap(frames)
    stats = pd.read_csv(workdir / "results" / "prepare" / "stats.tsv", sep="\t")
    drops = stats[stats["section"] == "drops"].set_index(["split", "item"])["value"]
    assert drops[("positive", "blacklist")] > 0  # the artefact regions carry peaks of every task
    assert (workdir / "results" / "prepare" / "class_balance.png").stat().st_size > 10_000
    all_tasks = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]
    model_tasks = {"deepsea_small": ["CTCF", "GATA1", "GATA1_TAL1", "AP1"], "danq_small": all_tasks,
                   "foxa1_finetuned": ["FOXA1", "CTCF_signal"], "foxa1_scratch": ["FOXA1", "CTCF_signal"],
                   "kmer_baseline": all_tasks}  # fmt: skip
    for model in ("deepsea_small", "danq_small", "foxa1_scratch"):
        folder = workdir / "results" / "models" / model
        assert (folder / "model.keras").is_file() and (folder / "training_curves.png").is_file()
        info = json.loads((folder / "model.json").read_text())
        epochs = range(1, 13) if model == FULLY_TRAINED else [2]  # early stopping may end it sooner
        assert info["epochs_run"] in epochs and info["tasks"] == model_tasks[model]
        assert json.loads((folder / "overfit_one_batch.json").read_text())["passed"]
    # transfer learning: FOXA1 fine-tuned from deepsea_small's body (2 epochs + 4 unfrozen) vs from scratch
    finetuned = json.loads((workdir / "results" / "models" / "foxa1_finetuned" / "model.json").read_text())
    assert finetuned["epochs_run"] == 6 and finetuned["transfer"]["source"] == "results/models/deepsea_small"
    assert finetuned["transfer"]["new_tasks"] == ["FOXA1", "CTCF_signal"] and len(finetuned["transfer"]["frozen_layers"]) == 3
    assert [s["loss"] for s in finetuned["task_specs"]] == ["bce", "mse"]  # multi-modal head
    scratch = json.loads((workdir / "results" / "models" / "foxa1_scratch" / "model.json").read_text())
    source = json.loads((workdir / "results" / "models" / "deepsea_small" / "model.json").read_text())
    assert finetuned["batches"]["train_rows"] == scratch["batches"]["train_rows"] < source["batches"]["train_rows"] / 3
    comparison = pd.read_csv(workdir / "results" / "transfer" / "foxa1_finetuned" / "comparison.tsv", sep="\t")
    assert comparison["model"].tolist() == ["foxa1_finetuned"] * 2 + ["foxa1_scratch"] * 2
    assert comparison["auroc"].iloc[[0, 2]].between(0, 1).all() and comparison["pearson"].iloc[[1, 3]].between(-1, 1).all()
    assert (workdir / "results" / "transfer" / "foxa1_finetuned" / "learning_curves.png").stat().st_size > 10_000
    summary = pd.read_csv(workdir / "results" / "evaluate" / "summary.tsv", sep="\t")
    assert set(summary["model"]) == set(model_tasks)
    for model in summary["model"]:
        metrics = pd.read_csv(workdir / "results" / "evaluate" / model / "test.metrics.tsv", sep="\t")
        assert metrics["task"].tolist() == model_tasks[model]
        binary = metrics["kind"] == "binary"
        assert metrics.loc[binary, "auroc"].between(0, 1).all()
        # multi-modal: the CTCF signal track is a regression task (docs/multimodal.md)
        assert metrics.loc[~binary, "task"].tolist() == (["CTCF_signal"] if model.startswith("foxa1") else [])
        assert metrics.loc[~binary, "pearson"].between(-1, 1).all() and metrics.loc[~binary, "auroc"].isna().all()
    baseline = pd.read_csv(workdir / "results" / "evaluate" / "kmer_baseline" / "test.metrics.tsv", sep="\t")
    assert baseline.set_index("task").loc["CTCF", "auroc"] > 0.7  # k-mers see the long CTCF motif
    import pysam

    truth = pd.read_csv(workdir / "resources" / "example" / "variants_truth.tsv", sep="\t")
    for model in ("deepsea_small", "danq_small"):
        effects = pd.read_csv(workdir / "results" / "score" / model / "effects.tsv.gz", sep="\t")
        assert list(effects.columns[:12]) == ["chrom", "pos", "id", "ref", "alt", "ref_match", "task", "ref_prob",
                                              "alt_prob", "diff", "abs_diff", "logit_diff"]  # fmt: skip
        assert "pvalue" in effects.columns
        n_tasks = len(model_tasks[model])
        assert len(effects) == len(truth) * n_tasks  # every allele x task, in input order
        assert effects["id"].iloc[::n_tasks].tolist() == truth["id"].tolist()
        with pysam.VariantFile(str(workdir / "results" / "score" / model / "annotated.vcf.gz")) as vcf:
            records = list(vcf)
            assert "DEEPCIS_TOP_TASK" in vcf.header.info and len(records) == truth["id"].nunique()
            assert all(r.info.get("DEEPCIS_MAX_ABS_DIFF") is not None for r in records)
    # the tiny GAN (tests/_utils.py TINY_GAN): trained, sampled, compared with real windows and baselines
    from deepcis.sequence_metrics import read_fasta

    generated = read_fasta(workdir / "results" / "generate" / "gan_tiny" / "samples.fa")
    assert generated.shape == (50, 64, 4) and (generated.sum(axis=-1) == 1).all()
    table = pd.read_csv(workdir / "results" / "generate" / "gan_tiny" / "metrics.tsv", sep="\t").set_index("set")
    assert list(table.index) == ["generated", "real_heldout", "real_train", "uniform", "dinucleotide_shuffled"]
    assert table.loc["real_heldout", "kmer4_distance"] == 0 and table["kmer4_distance"].between(0, 1).all()
    assert table["motif_matches_per_kb"].notna().all() and table.loc["real_train", "motif_matches_per_kb"] > 0
    gan_info = json.loads((workdir / "results" / "models" / "gan_tiny" / "model.json").read_text())
    assert gan_info["epochs_run"] == 1 and gan_info["generator_steps"] > 0
    binary = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]  # CTCF_signal is no label to condition on
    assert gan_info["condition_tasks"] == binary and gan_info["guidance"]["tasks"] == binary
    assert gan_info["scorer_filters"].endswith("results/models/danq_small/model.keras")
    assert (workdir / "results" / "generate" / "gan_tiny" / "comparison.png").stat().st_size > 10_000
    for rule in ("simulate_example", "prepare_chunk", "prepare_windows", "encode_chunk", "gather_split", "overfit_one_batch", "train_model",
                 "predict_split", "fit_baseline", "predict_baseline", "split_metrics", "compare_models",
                 "score_chunk", "gather_scores", "plot_top_effects", "compare_transfer", "train_gan", "sample_generative",
                 "evaluate_generative"):
        assert list((workdir / "logs").rglob(f"{rule}*.log")), rule
        assert list((workdir / "benchmarks").rglob(f"{rule}*.tsv")), rule
    assert len(list((workdir / "benchmarks" / "prepare").glob("prepare_chunk.*.tsv"))) == 3  # one per chromosome
    assert not list((workdir / "results").rglob("chunks/*.h5"))  # temp chunks (prepare, encode) removed
    # nothing left to do on a rerun
    dry = run_snakemake(workdir, "-n", "--configfile", str(quick))
    assert "Nothing to be done" in dry.stdout + dry.stderr


ZOO = ("deepbind_small", "transformer_small", "ae_small")


def planned_jobs(plan: str) -> set[tuple[str, str | None, str | None]]:
    """(rule, model, split) of every job a dry run prints."""
    jobs = set()
    for block in plan.split("\n\n"):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        if rule:
            found = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            wildcards = dict(kv.split("=", 1) for kv in found.group(1).split(", ")) if found else {}
            jobs.add((rule.group(1), wildcards.get("model"), wildcards.get("split")))
    return jobs


def test_example_zoo_config_plans_the_zoo_and_the_example_does_not(workdir):
    """config/example_zoo.yaml (bench/zoo_science.py trains it) plans the zoo's 26 jobs on the
    example's data; the bundled example's own config plans none of them (its time budget)."""
    zoo = planned_jobs(run_snakemake(workdir, "-n", "--configfile", "config/example_zoo.yaml").stdout)
    per_model = {m: {(rule, split) for rule, model, split in zoo if model == m} for m in ZOO}
    evaluated = {("predict_split", s) for s in ("valid", "test")} | {("split_metrics", s) for s in ("valid", "test")}
    supervised = {("overfit_one_batch", None), ("train_model", None), ("metrics_table", None)} | evaluated
    assert per_model["deepbind_small"] == supervised
    interpreted = {("interpret_windows", None), ("filter_motifs", None), ("attention_maps", None)}
    assert per_model["transformer_small"] == supervised | interpreted
    assert per_model["ae_small"] == {("train_autoencoder", None), ("evaluate_autoencoder", None), ("probe_embeddings", None),
                                     ("metrics_table", None), ("split_metrics", "valid"), ("split_metrics", "test"),
                                     *(("embed_split", s) for s in ("train", "valid", "test"))}  # fmt: skip
    assert ("simulate_example", None, None) in zoo  # the example's own data
    example = planned_jobs(run_snakemake(workdir, "-n").stdout)
    assert not {job for job in example if job[1] in ZOO}
    assert example == {job for job in zoo if job[1] not in ZOO}


def job_input(plan: str, rule: str, model: str) -> str:
    """The input line of the dry run's `rule` job for `model`."""
    for block in plan.split("\n\n"):
        if re.search(rf"^(?:local)?rule {rule}:", block, re.M) and re.search(rf"wildcards: .*model={model}\b", block):
            return re.search(r"^\s+input: (.*)$", block, re.M).group(1)
    raise AssertionError(f"no {rule} job for {model} in the plan")


def test_per_task_entry_and_gan_are_planned_on_the_example(workdir):
    """A per_task DeepBind entry (one training job per task, merged for evaluation) and a GAN
    (train, sample, evaluate against real windows with danq_small as scorer) plan on the example;
    the scorer trains before a GAN whose critic reads its filters, not before one that only
    scores its samples."""
    cfg = yaml.safe_load((workdir / "config" / "example_zoo.yaml").read_text())
    cfg["models"]["db_pt"] = {"architecture": "deepbind", "per_task": True, "tasks": ["CTCF", "AP1"]}
    cfg["models"]["gan_tiny"] = {"architecture": "gan", "hyperparameters": {"length": 64, "n_blocks": 2},
                                 "generative": {"scorer": "danq_small", "motifs": "resources/motifs/planted_motifs.jaspar"}}  # fmt: skip
    cfg["models"]["gan_filters"] = {"architecture": "gan", "generative": {"scorer": "danq_small"},
                                    "hyperparameters": {"length": 64, "n_blocks": 2, "scorer_filters": True}}  # fmt: skip
    (workdir / "zoo_plus.yaml").write_text(yaml.safe_dump(cfg))
    plan = run_snakemake(workdir, "-n", "--configfile", "zoo_plus.yaml").stdout
    jobs = planned_jobs(plan)
    assert "results/models/danq_small/model.keras" in job_input(plan, "train_gan", "gan_filters")
    assert "danq_small" not in job_input(plan, "train_gan", "gan_tiny")
    assert {("train_model", f"db_pt__{t}", None) for t in ("CTCF", "AP1")} <= jobs
    assert {("merge_per_task", "db_pt", s) for s in ("valid", "test")} <= jobs
    assert {("split_metrics", "db_pt", s) for s in ("valid", "test")} <= jobs
    assert not {job for job in jobs if job[1] == "db_pt" and job[0] in ("train_model", "predict_split")}
    assert {(r, "gan_tiny", None) for r in ("train_gan", "sample_generative", "evaluate_generative")} <= jobs


@pytest.mark.slow
@pytest.mark.skipif(not DREAM.is_dir(), reason="../shared/data is not beside this checkout")
def test_encode_dream_chr22_region_split(workdir):
    sheet = workdir / "config" / "encode_dream_chr22" / "tasks.tsv"
    tasks = pd.read_csv(sheet, sep="\t")
    tasks["peaks"] = [str((REPO / p).resolve()) for p in tasks["peaks"]]
    tasks.to_csv(sheet, sep="\t", index=False)
    genome = DREAM / "genome" / "chr22_20000000_21000000.fa"
    cfg = yaml.safe_load((workdir / "config" / "encode_dream_chr22" / "config.yaml").read_text())
    vcf = DREAM / "variants" / "dbsnp_snvs.chr22_20000000_21000000.vcf.gz"
    cfg["variants"]["vcf"] = str(vcf)
    (workdir / "chr22-full.yaml").write_text(yaml.safe_dump(cfg | {"genome": str(genome)}))
    # the dbSNP VCF is plain gzip: the plan recompresses it once, before any scoring job
    plan = run_snakemake(workdir, "-n", "--configfile", "chr22-full.yaml").stdout
    assert "rule bgzip_vcf:" in plan and "rule score_chunk:" in plan
    cfg |= {"genome": str(genome), "models": {}, "baseline": {"enabled": False}}  # prepare + encode only
    (workdir / "chr22.yaml").write_text(yaml.safe_dump(cfg))
    run_snakemake(workdir, "--configfile", "chr22.yaml")
    assert not (workdir / "resources" / "example").exists()  # nothing leaks in from the example config
    frames = _check_split_files(workdir, genome)
    _assert_no_cross_split_overlap(frames)
    assert frames["valid"]["end"].max() <= 150_000
    assert frames["test"]["start"].min() >= 150_000 and frames["test"]["end"].max() <= 300_000
    with h5py.File(workdir / "results" / "encode" / "train.h5", "r") as f:
        assert f["y"].shape[1] == 50
        assert f["y"][:].sum(axis=0).min() >= 0
