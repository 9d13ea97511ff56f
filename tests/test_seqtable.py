"""Sequence tables: reading (TSV, CSV, FASTA with constant, header or side-file labels), every
bad input refused with file and line, the length policy with original lengths kept, seeded
random / stratified splits that keep duplicates (reverse complements too) on one side, the
HDF5 contract, the refused genome stages, and a workflow run from table to evaluation."""

import json
import re

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import copy_workflow, run_snakemake, write_fasta

from deepcis.config import validate_config
from deepcis.dataset import open_dataset, read_x
from deepcis.errors import ConfigError, InputError
from deepcis.genome import decode_one_hot
from deepcis.seqtable import assign_table_splits, canonical, plan_sequence_table, prepare_sequence_table, read_sources

MOTIF = "TGACTCAGCA"


def planted_table(path, n=400, seed=0, sep="\t"):
    """Random sequences of 150-260 bp; half carry MOTIF (task `bound`), `activity` grows with it."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        seq = "".join(rng.choice(list("ACGT"), int(rng.integers(150, 261))))
        bound = i % 2
        if bound:
            at = len(seq) // 2 - 5 + int(rng.integers(-20, 20))
            seq = seq[:at] + MOTIF + seq[at + len(MOTIF) :]
        rows.append((f"s{i}", seq, bound, round(float(bound * 2 + rng.normal(0, 0.3)), 4)))
    pd.DataFrame(rows, columns=["id", "sequence", "bound", "activity"]).to_csv(path, sep=sep, index=False)
    return path


def test_tsv_csv_and_fasta_sources(tmp_path):
    tsv = planted_table(tmp_path / "t.tsv", n=10)
    csv = planted_table(tmp_path / "t.csv", n=10, seed=1, sep=",")
    table = read_sources([str(tsv)])
    assert list(table.columns[:5]) == ["id", "sequence", "file", "line", "length"] and table["line"].tolist()[:2] == [2, 3]
    assert read_sources([str(csv)], tasks=["activity"]).columns[-1] == "activity"
    fasta = write_fasta(tmp_path / "a.fa", {"x1": "ACGTacgtNN", "x2": "ACGT"})
    (tmp_path / "a.fa").write_text(">x1 act=0.5 bound=1\nACGTacgtNN\n>x2 bound=0 act=NA\nACGT\n")
    table = read_sources([str(fasta)])
    assert table["sequence"].tolist() == ["ACGTACGTNN", "ACGT"] and table["act"].isna().tolist() == [False, True]
    side = tmp_path / "labels.tsv"
    side.write_text("id\tbound\nx1\t1\nx2\t0\n")
    assert read_sources([{"path": str(fasta), "label_file": str(side)}], tasks=["bound"])["bound"].tolist() == [1, 0]
    assert read_sources([{"path": str(fasta), "labels": {"bound": 1}}], tasks=["bound"])["bound"].tolist() == [1, 1]


@pytest.mark.parametrize(
    "content, message, line",
    [
        ("id\tsequence\nx\tACGT\n", "no label column", 1),
        ("name\tsequence\tlabel\nx\tACGT\t1\n", "lacks the id column 'id'", 1),
        ("id\tseq\tlabel\nx\tACGT\t1\n", "lacks the sequence column 'sequence'", 1),
        ("id\tsequence\tlabel\nx\tACGU\t1\n", "characters other than A, C, G, T, N: 'U'", 2),
        ("id\tsequence\tlabel\nx\t\t1\n", "sequence 'x' is empty", 2),
        ("id\tsequence\tlabel\nx\tACGT\t1\ny\tAC\t0\nx\tAA\t1\n", "duplicate sequence ID 'x' .*line 2", 4),
        ("id\tsequence\tlabel\nx\tACGT\tyes\n", "label 'yes' of task 'label' is neither 0/1 nor a number", 2),
        ("id\tsequence\tlabel\nx\tACGT\t1\t2\n", "4 columns, the header has 3", 2),
    ],
)
def test_bad_tables_name_file_and_line(tmp_path, content, message, line):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as error:
        read_sources([str(path)])
    assert error.value.line == line and error.value.path == str(path)


def test_missing_task_column_and_fasta_without_labels(tmp_path):
    path = planted_table(tmp_path / "t.tsv", n=4)
    with pytest.raises(InputError, match="lacks the label column\\(s\\) 'enhancer'"):
        read_sources([str(path)], tasks=["enhancer"])
    fasta = write_fasta(tmp_path / "n.fa", {"a": "ACGT"})
    with pytest.raises(InputError, match="'a' has no labels") as error:
        read_sources([str(fasta)])
    assert error.value.line == 1


def test_splits_keep_duplicates_together_and_are_seeded(tmp_path):
    table = read_sources([str(planted_table(tmp_path / "t.tsv", n=300))])
    # 20 reverse-complement copies and 10 exact copies of earlier sequences
    rc = table.iloc[:20].assign(id=[f"rc{i}" for i in range(20)],
                                sequence=[s.translate(str.maketrans("ACGT", "TGCA"))[::-1] for s in table["sequence"][:20]])  # fmt: skip
    dup = table.iloc[20:30].assign(id=[f"dup{i}" for i in range(10)])
    table = pd.concat([table, rc, dup], ignore_index=True)
    split, counts = assign_table_splits(table, None, 0.2, 0.2, "stratified", 7, "bound")
    assert counts["duplicate_sequences"] == 30 and counts["groups"] == 300
    keys = table["sequence"].map(canonical)
    assert (pd.DataFrame({"k": keys, "s": split}).groupby("k")["s"].nunique() == 1).all()
    for name in ("train", "valid", "test"):
        fraction = table["bound"][split == name].mean()
        assert 0.45 < fraction < 0.55, (name, fraction)  # stratified on the 50% positives
    again, _ = assign_table_splits(table, None, 0.2, 0.2, "stratified", 7, "bound")
    other, _ = assign_table_splits(table, None, 0.2, 0.2, "stratified", 8, "bound")
    assert (again == split).all() and (other != split).any()
    exact_only, counts = assign_table_splits(table, None, 0.2, 0.2, "random", 7, reverse_complement=False)
    assert counts["duplicate_sequences"] == 10
    # a given test table: training sequences found in it (either strand) are dropped
    test = table.iloc[[0, 5]].assign(id=["t0", "t5"])
    split, counts = assign_table_splits(table, test, 0.2, 0.2, "random", 7)
    assert counts["train_in_test_dropped"] == 4 and set(split[[0, 5, 300, 305]]) == {"dropped"} and "test" not in set(split)


def test_prepare_writes_the_hdf5_contract_with_lengths(tmp_path):
    path = planted_table(tmp_path / "t.tsv", n=200)
    cfg = validate_config({"sequence_table": {"train": [str(path)]}, "prepare": {"window_length": 200},
                           "interpret": {"enabled": False}})["sequence_table"]  # fmt: skip
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "valid", "test")}
    outputs |= {"stats": tmp_path / "stats.tsv", "plot": tmp_path / "balance.png"}
    counts = prepare_sequence_table(cfg, 200, 42, outputs, "0" * 64)
    assert counts["split_train"] + counts["split_valid"] + counts["split_test"] == 200
    table = read_sources([str(path)]).set_index("id")
    with open_dataset(outputs["train"]) as f:
        assert f["x"].shape[1:] == (200,) and f["y"].dtype == np.float32  # `activity` is continuous
        assert [t.decode() for t in f["tasks"][:]] == ["bound", "activity"]
        for i in range(0, f["x"].shape[0], 17):
            row = table.loc[f["chrom"][i].decode()]
            assert f["length"][i] == len(row["sequence"])
            used = row["sequence"][f["start"][i] : f["end"][i]]
            pad = (200 - len(used)) // 2
            assert decode_one_hot(read_x(f, i)) == "N" * pad + used + "N" * (200 - pad - len(used))
            assert f["y"][i, 0] == row["bound"]
    stats = pd.read_csv(outputs["stats"], sep="\t")
    assert stats.query("section == 'input' and item == 'padded'")["value"].item() == (table["length"] < 200).sum()
    assert outputs["plot"].stat().st_size > 0


def test_genome_stages_refused_clearly(tmp_path):
    path = str(planted_table(tmp_path / "t.tsv", n=10))
    base = {"sequence_table": {"train": [path]}, "interpret": {"enabled": False}}
    assert [t["type"] for t in plan_sequence_table(validate_config(base))] == ["binary", "signal"]
    plan_sequence_table(validate_config(base | {"interpret": {"enabled": True}}))  # top predicted test sequences, by ID
    for patch, message in [({"variants": {"vcf": "v.vcf.gz"}}, "variants.vcf: not available with sequence_table inputs: variant scoring needs a genome"),
                           ({"interpret": {"enabled": True, "windows": "bed", "bed": "r.bed"}},
                            "interpret.windows: not available .* set interpret.windows: top_predicted"),
                           ({"encode": {"flank": 20}}, "encode.flank: not available .* set encode.flank: 0"),
                           ({"tasks": "tasks.tsv"}, "exclusive"),
                           ({"genome": "g.fa"}, "leave genome out")]:  # fmt: skip
        with pytest.raises(ConfigError, match=message):
            plan_sequence_table(validate_config(base | patch))
    with pytest.raises(ConfigError, match="'genome' is a required property"):
        validate_config({"tasks": "t.tsv"})


def test_example_sequence_table_holds_what_its_labels_say(example_run):
    """The example generator's sequence table: every row is the genome's sequence at its ID,
    without N; a task's positives hold a bound instance driving that task whole, and rows with
    no label hold no planted instance at all or only unbound / decoy ones; `activity` separates
    them."""
    from deepcis.genome import Genome

    workdir, _ = example_run
    table = pd.read_csv(workdir / "resources/example/sequence_table.tsv", sep="\t")
    tasks = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]
    assert list(table.columns) == ["id", "sequence", *tasks, "activity"] and len(table) > 2000
    assert table[tasks].sum().min() >= 250 and (table[tasks].sum(axis=1) == 0).sum() >= 1200
    cols = ["chrom", "start", "end", "motif", "score", "strand", "kind", "tasks", "site"]
    sites = pd.read_csv(workdir / "resources/example/motif_sites.bed", sep="\t", names=cols)
    with Genome(workdir / "resources/example/genome.fa") as genome:
        for row in table.sample(300, random_state=0).itertuples():
            chrom, span = row.id.split(":")
            start, end = map(int, span.split("-"))
            assert genome.fetch(chrom, start, end).tobytes().decode().upper() == row.sequence and "N" not in row.sequence
            held = sites[(sites.chrom == chrom) & (sites.start >= start) & (sites.end <= end) & (sites.kind == "bound")]
            driven = {t for ts in held["tasks"] for t in ts.split(",")}
            assert {t for t in tasks if getattr(row, t) == 1} == driven & set(tasks)
    negative = table[tasks].sum(axis=1) == 0
    assert table.loc[~negative, "activity"].mean() - table.loc[negative, "activity"].mean() > 1.0


def test_workflow_sequence_table_to_evaluation(tmp_path, example_run):
    """600 rows of the example generator's sequence table (task CTCF and the continuous
    activity): snakemake runs them through prepare_sequence_table, training, evaluation, the
    baseline, interpretation (ISM and attributions of the top predicted test sequences by ID,
    filter motifs, DeepLIFT/DeepSHAP; tiny sizes) and the report tables."""
    workdir = copy_workflow(tmp_path / "wf")
    example = pd.read_csv(example_run[0] / "resources/example/sequence_table.tsv", sep="\t")
    example.sample(600, random_state=1)[["id", "sequence", "CTCF", "activity"]].to_csv(workdir / "table.tsv", sep="\t", index=False)
    interpret = {"ig_steps": 8, "plot_windows": 2, "jaspar": {"file": "resources/motifs/planted_motifs.jaspar"},
                 "filters": {"windows": 200, "logos": 2},
                 "deeplift": {"enabled": True, "max_windows": 4, "n_shuffles": 2}, "modisco": {"enabled": False}}  # fmt: skip
    cfg = {"sequence_table": {"train": ["table.tsv"]}, "prepare": {"window_length": 200},
           "interpret": interpret, "evaluate": {"splits": ["test"]},
           "train": {"epochs": 6, "batch_size": 32, "learning_rate": 0.003},
           "models": {"cnn": {"architecture": "deepsea", "hyperparameters": {"conv_filters": [16], "kernel_size": 10,
                                                                              "dense_units": 16, "dropout": [0.1]}}}}  # fmt: skip
    (workdir / "seq.yaml").write_text(yaml.safe_dump(cfg))
    run_snakemake(workdir, "--configfile", "seq.yaml")
    summary = pd.read_csv(workdir / "results/evaluate/summary.tsv", sep="\t")
    assert (workdir / "results/report/data_summary.html").is_file()
    metrics = pd.read_csv(workdir / "results/evaluate/cnn/test.metrics.tsv", sep="\t")
    assert summary.shape[0] > 0 and metrics.shape[0] > 0
    with h5py.File(workdir / "results/evaluate/cnn/test.predictions.h5") as f:
        assert f["chrom"][0].decode().startswith("chr")  # the sequence IDs (chrom:start-end) are the coordinates
    counts = json.loads((workdir / "results/prepare/sequence_table.json").read_text())
    assert counts["split_test"] == 60
    # interpretation of a table: windows named by sequence ID, one per task, from the test split
    with h5py.File(workdir / "results/encode/test.h5") as f:
        test_ids = set(f["chrom"].asstr()[:])
    # (the continuous `activity`: among its test sequences of highest measured activity)
    windows = pd.read_csv(workdir / "results/interpret/cnn/windows.tsv", sep="\t")
    assert list(windows["task"]) == ["CTCF", "activity"] and set(windows["chrom"]) <= test_ids, windows
    test_table = example.set_index("id").loc[sorted(test_ids)]
    assert test_table.loc[windows["chrom"].iloc[1], "activity"] >= test_table["activity"].quantile(0.9)
    for name in ("ism.h5", "attributions.h5", "contributions.h5"):
        with h5py.File(workdir / "results/interpret/cnn" / name) as f:
            paths = []
            f.visit(paths.append)
            arrays = [f[k][()] for k in paths if isinstance(f[k], h5py.Dataset) and f[k].dtype.kind == "f" and f[k].size]
            if name == "contributions.h5":
                for task in ("CTCF", "activity"):
                    assert len(f[f"{task}/chrom"]) == 4 and set(f[f"{task}/chrom"].asstr()[:]) <= test_ids
        assert arrays and all(np.isfinite(a).all() for a in arrays) and any(a.any() for a in arrays), name
    assert (workdir / "results/interpret/cnn/filters.tsv").is_file()
    checked = json.loads((workdir / "results/check/data.json").read_text())["data"]
    assert [(c["role"], c["kind"], c["records"]) for c in checked] == [("sequence_table:train:0", "sequence_table", 600)]
    # a config edit reruns only what reads it: training keys retrain without re-preparing; a
    # split fraction re-prepares without re-checking the table
    for patch, must, never in ((("train", {"epochs": 5}), {"train_model"}, {"prepare_sequence_table", "check_inputs"}),
                               (("sequence_table", {"split": {"valid_fraction": 0.2}}), {"prepare_sequence_table"},
                                {"check_inputs"})):  # fmt: skip
        key, value = patch
        (workdir / "edited.yaml").write_text(yaml.safe_dump(cfg | {key: cfg.get(key, {}) | value}))
        plan = run_snakemake(workdir, "-n", "--configfile", "edited.yaml").stdout
        jobs = set(re.findall(r"^(?:local)?rule (\w+):", plan, re.M))
        assert must <= jobs and not jobs & never, (patch, sorted(jobs))
    # asking for variant scoring stops at parse time with the reason
    (workdir / "bad.yaml").write_text(yaml.safe_dump(cfg | {"variants": {"vcf": "x.vcf.gz"}}))
    result = run_snakemake(workdir, "-n", "--configfile", "bad.yaml", check=False)
    assert result.returncode != 0 and "variant scoring needs a genome" in result.stdout + result.stderr


def test_prepare_with_a_test_table_drops_leaked_training_sequences(tmp_path):
    table = pd.read_csv(planted_table(tmp_path / "t.tsv", n=120), sep="\t")
    leaked = table.iloc[:3].assign(id=["t0", "t1", "t2"])
    leaked.loc[0, "sequence"] = leaked.loc[0, "sequence"].translate(str.maketrans("ACGT", "TGCA"))[::-1]  # other strand
    pd.concat([leaked, table.iloc[100:].assign(id=lambda d: "t" + d["id"])]).to_csv(tmp_path / "test.tsv", sep="\t", index=False)
    table.iloc[:100].to_csv(tmp_path / "train.tsv", sep="\t", index=False)
    cfg = validate_config({"sequence_table": {"train": [str(tmp_path / "train.tsv")], "test": [str(tmp_path / "test.tsv")]},
                           "interpret": {"enabled": False}})["sequence_table"]  # fmt: skip
    outputs = {s: tmp_path / f"{s}.h5" for s in ("train", "valid", "test")} | {
        "stats": tmp_path / "s.tsv",
        "plot": tmp_path / "p.png",
    }
    counts = prepare_sequence_table(cfg, 200, 1, outputs, "0" * 64)
    assert counts["train_in_test_dropped"] == 3 and counts["split_test"] == 23
    assert counts["split_train"] + counts["split_valid"] == 97
    with h5py.File(outputs["train"]) as a, h5py.File(outputs["valid"]) as b:
        kept = {c.decode() for c in a["chrom"][:]} | {c.decode() for c in b["chrom"][:]}
    assert not kept & {"s0", "s1", "s2"}
    stats = pd.read_csv(outputs["stats"], sep="\t")
    assert stats.query("item == 'duplicate_of_test_sequence'")["value"].item() == 3
