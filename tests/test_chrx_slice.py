"""End to end on a 2 Mb slice of the real hg19 chrX data (../shared/data): region-restricted run,
min_positives, clamped narrowPeak summits, the scanning evaluation next to the windows-only one,
and config-time refusals (a task without peaks in the region, a split block past the contig)."""

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import REPO, SHARED_DATA, copy_workflow, run_snakemake

CHRX = SHARED_DATA / "hg19_chrX_0-70Mb_encode_dream"
TASKS = ["A549.CTCF", "HeLa-S3.CTCF", "K562.MAX", "HeLa-S3.CEBPB", "GM12878.ZNF143", "GM12878.TCF12"]
pytestmark = pytest.mark.skipif(not CHRX.is_dir(), reason="../shared/data is not beside this checkout")


def _slice(workdir, **patch):
    sheet = pd.DataFrame({"name": TASKS, "peaks": [str(CHRX / "peaks" / "conservative" / f"{t}.narrowPeak.gz") for t in TASKS]})
    sheet.to_csv(workdir / "slice_tasks.tsv", sep="\t", index=False)
    cfg = {
        "genome": str(CHRX / "genome" / "chrX.fa.gz"),
        "tasks": "slice_tasks.tsv",
        "blacklist": str(CHRX / "blacklist" / "hg19_blacklist.chrX.bed"),
        "regions": ["chrX:47000000-49000000"],
        # GM12878.TCF12 has 6 positive windows in the validation block: dropped
        "prepare": {"min_positives": 7, "negatives": {"strategy": "random", "ratio": 1.0}},
        "split": {"mode": "regions", "regions": {"valid": ["chrX:47000000-47400000"], "test": ["chrX:48500000-49000000"]}},
        "encode": {"chunks": 1},
        "train": {"epochs": 1, "batch_size": 64},
        "threads": {"train": 1, "predict": 1, "score": 1, "interpret": 1},  # two jobs at once on 2 cores
        "models": {"tiny": {"architecture": "deepsea", "hyperparameters": {"conv_filters": [32, 32], "dropout": 0.1, "kernel_size": 8,
                                                                              "pool_size": 4, "dense_units": 32}}},
        "evaluate": {"splits": ["test"], "scan": {"splits": ["test"], "block_bins": 1000}},
        "baseline": {"ks": [1, 2, 3, 4], "Cs": [0.01, 0.1]},
        "interpret": {"enabled": False},
    } | patch  # fmt: skip
    path = workdir / "slice.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_bad_regions_are_refused_at_config_time(tmp_path):
    workdir = copy_workflow(tmp_path)
    for patch, message in [
        ({"regions": ["chrX:0-60000"]}, "task 'A549.CTCF' has no peak in the chosen region chrX:0-60000"),
        ({"split": {"mode": "regions", "regions": {"valid": ["chrX:47000000-47400000"], "test": ["chrX:69000000-71000000"]}}},
         "config key split.regions.test: region 'chrX:69000000-71000000' is empty or runs off chrX (length 69999930)"),
    ]:  # fmt: skip
        result = run_snakemake(workdir, "-n", "--configfile", str(_slice(workdir, **patch)), check=False)
        output = result.stdout + result.stderr
        assert result.returncode != 0 and message in output and "Traceback" not in output
        assert not (workdir / "results").exists()


@pytest.mark.slow
def test_chrx_slice_with_scanning_evaluation(tmp_path):
    workdir = copy_workflow(tmp_path)
    run_snakemake(workdir, "--configfile", str(_slice(workdir)))
    results = workdir / "results"
    stats = pd.read_csv(results / "prepare" / "stats.tsv", sep="\t")
    dropped = stats[stats["section"] == "tasks_dropped"]
    assert dropped["item"].tolist() == ["GM12878.TCF12"] and dropped["split"].tolist() == ["valid"]
    # summit offset == peak length: one record each in these two files (e.g. GM12878.TCF12 line 49)
    clamped = stats[stats["section"] == "summits_clamped"]
    assert {p.split("/")[-1]: v for p, v in zip(clamped["item"], clamped["value"])} == {
        "GM12878.TCF12.narrowPeak.gz": 1, "K562.MAX.narrowPeak.gz": 1}  # fmt: skip
    kept = TASKS[:5]
    for split in ("train", "valid", "test"):
        with h5py.File(results / "encode" / f"{split}.h5", "r") as f:
            assert [t.decode() for t in f["tasks"][()]] == kept
            assert f["start"][:].min() >= 47_000_000 and f["end"][:].max() <= 49_000_000

    # the scanning set: every bin of the 500 kb test block not filtered or ambiguous
    scan = pd.read_csv(results / "prepare" / "scan" / "test.stats.tsv", sep="\t")
    counts = scan[scan["section"] == "scan"].set_index("item")["value"]
    assert counts["bins"] == (500_000 - 1000) // 200 + 1
    assert counts["windows"] + counts["ambiguous"] + counts["blacklist"] + counts["too_many_n"] == counts["bins"]
    with h5py.File(results / "encode" / "test_scan.h5", "r") as f:
        assert f["x"].shape[0] == counts["windows"] and f["start"][:].min() >= 48_500_000
        assert np.all(np.diff(f["start"][:]) % 200 == 0)
        scan_positives = f["y"][:].sum(axis=0)
    with h5py.File(results / "encode" / "test.h5", "r") as f:  # the same positive bins as the prepared windows
        assert (scan_positives == f["y"][:].sum(axis=0)).all()

    for model in ("tiny", "kmer_baseline"):
        windows = pd.read_csv(results / "evaluate" / model / "test.metrics.tsv", sep="\t")
        scanned = pd.read_csv(results / "evaluate" / model / "test_scan.metrics.tsv", sep="\t")
        assert windows["task"].tolist() == scanned["task"].tolist() == kept
        assert (scanned["n"] == counts["windows"]).all() and scanned["auroc"].between(0, 1).all()
        assert (scanned["negatives"] > 10 * windows["negatives"]).all()  # every bin, not a sample
    summary = pd.read_csv(results / "evaluate" / "summary_scan.tsv", sep="\t")
    assert summary["model"].tolist() == ["tiny", "kmer_baseline"] and (summary["evaluated"] == 5).all()
    run_summary = pd.read_csv(results / "report" / "run_summary.tsv", sep="\t").set_index("model")
    assert run_summary.loc["tiny", "scan_median_auroc"] == pytest.approx(summary.set_index("model").loc["tiny", "median_auroc"])
    assert (results / "evaluate" / "vs_baseline.png").stat().st_size > 10_000
    data_summary = (results / "report" / "data_summary.html").read_text()
    assert "Scanning evaluation sets" in data_summary and "Tasks dropped" in data_summary and "summits clamped" in data_summary


@pytest.mark.parametrize("variant", ["cpu", "all_109_tasks", "gpu", "tuning", "motifs", "shift"])
def test_chrx_configs_pass_the_config_checks(monkeypatch, variant):
    """config/encode_dream_chrX (and its documented variants) against the checks the workflow
    makes at parse time: schema, models, the tasks sheet (the data set's recommended flag), the
    split blocks inside chrX and apart, the scanning evaluation of the test block (of the
    validation block only, for the tuning overlay: tuning never sees the test block)."""
    from deepcis.config import (
        check_model_tasks,
        check_regions,
        check_scan,
        check_task_peaks,
        genome_sizes,
        read_tasks,
        validate_config,
    )

    monkeypatch.chdir(REPO)
    folder = REPO / "config" / "encode_dream_chrX"
    raw = yaml.safe_load((folder / ("gpu.yaml" if variant == "gpu" else "config.yaml")).read_text())
    if variant == "all_109_tasks":  # the documented --config tasks=... override
        raw["tasks"] = "config/encode_dream_chrX/tasks_all.tsv"
    if variant in ("tuning", "shift"):  # overlaid as a second --configfile: nested keys merge, the rest stay
        overlay = yaml.safe_load((folder / ("tune_training.yaml" if variant == "tuning" else "shift.yaml")).read_text())
        raw["evaluate"] = {**raw["evaluate"], **overlay["evaluate"]}
        raw["encode"] = {**raw["encode"], **overlay.get("encode", {})}
        raw["models"] = {**raw["models"], **overlay["models"]}
    if variant == "motifs":  # the interpretation overlay of docs/interpretation.md ("Real data")
        raw["interpret"] = yaml.safe_load((folder / "motifs.yaml").read_text())["interpret"]
    config = validate_config(raw)
    tasks = read_tasks(config["tasks"])
    check_model_tasks(config, [t["name"] for t in tasks])
    sizes = genome_sizes(config["genome"])
    assert check_regions(config, sizes) is None and sizes["chrX"] == 69_999_930  # the whole 70 Mb
    check_task_peaks(tasks, None, config["chromosomes"])
    check_scan(config, tasks)

    sheet = pd.read_csv(CHRX / "tasks.tsv", sep="\t")
    recommended = sheet[sheet["recommended_ge300_conservative_peaks_on_chrX_0-70Mb"] == 1]["task"]
    expected = sheet["task"] if variant == "all_109_tasks" else recommended
    assert sorted(t["name"] for t in tasks) == sorted(expected) and len(tasks) == (109 if variant == "all_109_tasks" else 47)
    assert all(Path(t["peaks"]).is_file() and "/conservative/" in t["peaks"] for t in tasks)
    blocks = {s: config["split"]["regions"][s] for s in ("valid", "test")}
    assert blocks == {"valid": ["chrX:15000000-20000000"], "test": ["chrX:35000000-45000000"]}
    assert config["evaluate"]["scan"]["splits"] == (["valid"] if variant in ("tuning", "shift") else ["test"])
    assert config["prepare"]["min_positives"] == 20
    assert sorted({spec["architecture"] for spec in config["models"].values()}) == ["basset", "danq", "deepsea"]
    if variant == "shift":  # the shift is read wide: the flank covers it
        assert config["models"]["danq_cpu_shift20"]["train"]["shift"] <= config["encode"]["flank"] == 20
    if variant == "motifs":  # the explained tasks are recommended ones the model predicts
        assert set(config["interpret"]["deeplift"]["tasks"]) <= {t["name"] for t in tasks}
        assert config["interpret"]["models"] == ["deepsea_cpu"] and "deepsea_cpu" in config["models"]
    if variant == "tuning":  # each tuning model is danq_cpu with one training key changed
        tuned = [config["models"][name] for name in overlay["models"]]
        assert len(tuned) == 7 and all(spec["hyperparameters"] == config["models"]["danq_cpu"]["hyperparameters"] for spec in tuned)
    if variant == "gpu":  # published sizes: the architectures' defaults
        from deepcis.models import default_hyperparameters

        assert all(spec["hyperparameters"] == default_hyperparameters(spec["architecture"]) for spec in config["models"].values())
        assert config["models"]["deepsea"]["hyperparameters"]["conv_filters"] == [320, 480, 960]
        assert config["train"]["devices"] == "gpu" and config["prepare"]["negatives"]["ratio"] == 3.0
