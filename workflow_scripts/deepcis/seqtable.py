"""Sequence tables (enhancer sets, MPRA / STARR-seq activities, iEnhancer-style benchmarks) ->
the HDF5 dataset contract, without a genome.

    table = read_sources([{"path": "enhancer.fa", "labels": {"enhancer": 1}},
                          {"path": "non_enhancer.fa", "labels": {"enhancer": 0}}])
    split, counts = assign_table_splits(table, test_table=None, valid_fraction=0.1, test_fraction=0.1,
                                        mode="stratified", seed=42)
    write_table_split(table[split == "train"], "train.h5", window_length=200, tasks=..., attrs=...)

Sources (docs/sequence-tables.md): a TSV or CSV with an id column, a sequence column and one
column per task (0/1 for a binary task, any number for a continuous one; empty or NA =
missing); or a FASTA whose labels come from the source's constant `labels`, from `key=value`
fields in its headers, or from a side `label_file` (TSV: id + task columns). Every bad input is
refused with the file and line before anything is written: a missing task or sequence column,
characters other than A/C/G/T/N, an empty sequence, a duplicate ID (both lines named), a label
that is neither 0/1 nor a number, a sequence without labels.

Length policy (deepcis.sequences.fit_to_window, the same as FASTA predictions): a sequence of
the window's length is used as is, a shorter one centred and padded with N (all-zero rows), a
longer one centre-cropped. HDF5 coordinates: `chrom` holds the sequence ID, `start`/`end` the
bases of the sequence the window holds (0-based, half-open, in the sequence's own coordinates),
and an extra dataset `length` the original length.

Leakage: sequences are grouped by their canonical form (upper case, the lesser of the sequence
and its reverse complement), so exact duplicates and reverse-complement duplicates always land
on one side of a random or stratified split; a train sequence whose canonical form is also in
the given test table is dropped from training. Optionally (`near_duplicates`), groups whose
k-mer sets are similar (Jaccard >= a threshold; deepcis.near_duplicates) are joined as well.
The counts are returned and written to the stats table.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError
from .sequences import ALLOWED, fasta_records, fit_to_window

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fa.gz", ".fasta.gz")
MISSING = ("", "NA", "NaN", "nan", "na")
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def _source(item) -> dict:
    return {"path": item} if isinstance(item, str) else dict(item)


def _label(path, line, column, value: str) -> float:
    if value.strip() in MISSING:
        return math.nan
    try:
        number = float(value)
    except ValueError:
        raise InputError(path, f"label {value!r} of task {column!r} is neither 0/1 nor a number", line) from None
    if not math.isfinite(number):
        raise InputError(path, f"label {value!r} of task {column!r} is not finite", line)
    return number


def _check_sequence(path, line, name, seq: str):
    if not seq:
        raise InputError(path, f"sequence {name!r} is empty", line)
    bad = set(seq) - ALLOWED
    if bad:
        shown = ", ".join(repr(c) for c in sorted(bad))
        raise InputError(path, f"sequence {name!r} has characters other than A, C, G, T, N: {shown}", line)


def _read_delimited(path: Path, id_column: str | None, sequence_column: str, tasks: list[str] | None):
    delimiter = "," if path.suffix.lower() == ".csv" else "\t"
    with open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise InputError(path, "table is empty (expected a header line)", 1)
        header = [h.strip() for h in header]
        if sequence_column not in header:
            raise InputError(path, f"header lacks the sequence column {sequence_column!r} (found {header})", 1)
        if id_column and id_column not in header:
            raise InputError(path, f"header lacks the id column {id_column!r} (found {header})", 1)
        label_columns = tasks if tasks else [h for h in header if h not in (sequence_column, id_column)]
        missing = [t for t in label_columns if t not in header]
        if missing:
            raise InputError(path, f"header lacks the label column(s) {', '.join(map(repr, missing))} (found {header})", 1)
        if not label_columns:
            raise InputError(path, "no label column besides the id and sequence columns", 1)
        seq_at, id_at = header.index(sequence_column), header.index(id_column) if id_column else None
        label_at = [header.index(t) for t in label_columns]
        rows = []
        for line, row in enumerate(reader, 2):
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise InputError(path, f"{len(row)} columns, the header has {len(header)}", line)
            name = row[id_at].strip() if id_at is not None else f"{path.stem}:{line}"
            seq = row[seq_at].strip()
            _check_sequence(path, line, name, seq)
            rows.append((name, seq, [_label(path, line, t, row[i]) for t, i in zip(label_columns, label_at)], line))
    return label_columns, rows


def _header_labels(path: Path) -> dict[str, dict[str, str]]:
    """`key=value` fields of FASTA headers, by sequence name."""
    from .sequences import _open

    fields = {}
    with _open(path) as handle:
        for line in handle:
            if line.startswith(">"):
                parts = line[1:].split()
                if parts:
                    fields[parts[0]] = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    return fields


def _read_fasta(path: Path, source: dict, tasks: list[str] | None):
    constant = {k: str(v) for k, v in (source.get("labels") or {}).items()}
    side = {}
    if source.get("label_file"):
        side_path = Path(source["label_file"])
        if not side_path.is_file():
            raise InputError(side_path, "label file not found")
        columns, side_rows = _read_label_file(side_path)
        side = {name: dict(zip(columns, values)) for name, values, _ in side_rows}
    headers = _header_labels(path)
    rows, label_columns = [], None
    for name, seq, line in fasta_records(path):
        labels = {**headers.get(name, {}), **side.get(name, {}), **constant}
        if label_columns is None:
            label_columns = tasks or sorted(labels)
            if not label_columns:
                raise InputError(
                    path, f"sequence {name!r} has no labels (give `labels`, a `label_file` or key=value header fields)", line
                )
        missing = [t for t in label_columns if t not in labels]
        if missing:
            raise InputError(path, f"sequence {name!r} has no label for task(s) {', '.join(map(repr, missing))}", line)
        rows.append((name, seq, [_label(path, line, t, labels[t]) for t in label_columns], line))
    if label_columns is None:
        raise InputError(path, "holds no FASTA record")
    return label_columns, rows


def _read_label_file(path: Path):
    with open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = [h.strip() for h in next(reader, [])]
        if len(header) < 2:
            raise InputError(path, "label file needs a header: id, then one column per task", 1)
        rows = []
        for line, row in enumerate(reader, 2):
            if row and any(c.strip() for c in row):
                if len(row) != len(header):
                    raise InputError(path, f"{len(row)} columns, the header has {len(header)}", line)
                rows.append((row[0].strip(), [c.strip() for c in row[1:]], line))
    return header[1:], rows


def read_sources(
    sources, id_column: str | None = "id", sequence_column: str = "sequence", tasks: list[str] | None = None
) -> pd.DataFrame:
    """Every sequence of the sources with its labels: columns id, sequence (upper case),
    length, one float column per task, file, line. All sources must give the same tasks."""
    frames, task_names, seen = [], None, {}
    for item in sources:
        source = _source(item)
        path = Path(source["path"])
        if not path.is_file():
            raise InputError(path, "sequence table not found")
        if str(path).lower().endswith(FASTA_SUFFIXES):
            columns, rows = _read_fasta(path, source, tasks)
        else:
            columns, rows = _read_delimited(path, id_column, sequence_column, tasks)
        if task_names is None:
            task_names = list(columns)
        elif sorted(columns) != sorted(task_names):
            raise InputError(path, f"gives tasks {columns}, the first source gives {task_names}")
        for name, _, _, line in rows:
            if name in seen:
                raise InputError(path, f"duplicate sequence ID {name!r} (first at {seen[name][0]}, line {seen[name][1]})", line)
            seen[name] = (path, line)
        frame = pd.DataFrame({"id": [r[0] for r in rows], "sequence": [r[1].upper() for r in rows], "file": str(path),
                              "line": [r[3] for r in rows]})  # fmt: skip
        frame["length"] = frame["sequence"].str.len()
        labels = pd.DataFrame([r[2] for r in rows], columns=columns, dtype=np.float64)
        frames.append(pd.concat([frame, labels[task_names]], axis=1))
    if not frames:
        raise ConfigError("sequence_table: no source given")
    return pd.concat(frames, ignore_index=True)


def task_kinds(table: pd.DataFrame, tasks: list[str]) -> dict[str, str]:
    """'binary' for a task whose labels are all 0/1 (or missing), else 'signal'."""
    return {t: "binary" if table[t].dropna().isin([0.0, 1.0]).all() else "signal" for t in tasks}


def canonical(seq: str) -> str:
    """The lesser of a sequence and its reverse complement (upper case)."""
    rc = seq.translate(_COMPLEMENT)[::-1]
    return min(seq, rc)


def assign_table_splits(table: pd.DataFrame, test_table: pd.DataFrame | None, valid_fraction: float, test_fraction: float,
                        mode: str, seed: int, stratify_task: str | None = None,
                        reverse_complement: bool = True, near: dict | None = None) -> tuple[np.ndarray, dict]:  # fmt: skip
    """Split names (train / valid / test) for `table`'s rows, and the duplicate counts.

    Rows are grouped by canonical sequence (exact or, with `reverse_complement`, reverse-
    complement duplicates): a group is assigned whole. With a `test_table`, its sequences form
    the test split and training groups found in it are marked 'dropped' (leakage). `mode`
    `stratified` keeps the fraction of positives of `stratify_task` in each split. With `near`
    ({k, threshold, permutations}), groups whose k-mer Jaccard reaches the threshold are joined
    too (deepcis.near_duplicates), and training groups near a test sequence are dropped."""
    key = table["sequence"].map(canonical) if reverse_complement else table["sequence"]
    group = pd.factorize(key)[0]
    n_groups = group.max() + 1 if len(group) else 0
    counts = {"sequences": len(table), "groups": int(n_groups), "duplicate_sequences": int(len(table) - n_groups)}
    split = np.full(len(table), "train", dtype=object)
    rng = np.random.default_rng(seed)
    test_key = test_keys = None
    if test_table is not None:
        test_key = test_table["sequence"].map(canonical) if reverse_complement else test_table["sequence"]
        test_keys = pd.unique(test_key)
    near_test = np.zeros(n_groups, dtype=bool)
    if near is not None:
        group, n_groups, near_test = _join_near_duplicates(key, group, n_groups, test_keys, near, seed, reverse_complement, counts)
    leaked = near_test.copy()
    if test_table is not None:
        leaked[np.unique(group[key.isin(set(test_keys)).to_numpy()])] = True
        test_fraction = 0.0
        test_group = pd.factorize(test_key)[0]
        counts["test_duplicate_sequences"] = int(len(test_table) - (test_group.max() + 1 if len(test_group) else 0))
    counts["train_in_test_dropped"] = int(leaked[group].sum())
    free = np.flatnonzero(~leaked)
    if mode == "stratified" and stratify_task:
        labels = table[stratify_task].to_numpy()
        group_label = np.zeros(n_groups)
        np.maximum.at(group_label, group, np.nan_to_num(labels))
        strata = [free[group_label[free] == v] for v in np.unique(group_label[free])]
    else:
        strata = [free]
    group_split = np.full(n_groups, "train", dtype=object)
    for members in strata:
        members = rng.permutation(members)
        n_test, n_valid = round(len(members) * test_fraction), round(len(members) * valid_fraction)
        group_split[members[:n_test]] = "test"
        group_split[members[n_test : n_test + n_valid]] = "valid"
    group_split[leaked] = "dropped"
    split = group_split[group] if n_groups else split
    for name in ("train", "valid", "test", "dropped"):
        counts[f"split_{name}"] = int((split == name).sum())
    return split, counts


def _join_near_duplicates(key: pd.Series, group: np.ndarray, n_groups: int, test_keys, near: dict, seed: int,
                          reverse_complement: bool, counts: dict):  # fmt: skip
    """Exact-duplicate groups joined through near-duplicate links -> (group, n_groups, near_test):
    near_test marks the joined groups that are near (not equal to) a test sequence."""
    from .near_duplicates import connected_groups, near_duplicate_pairs

    first = pd.Series(np.arange(len(key))).groupby(group).first().to_numpy() if n_groups else np.zeros(0, int)
    reps = list(key.to_numpy()[first])
    known = set(reps)  # a test sequence equal to a training one is leakage already (exact path)
    test_reps = [] if test_keys is None else [t for t in test_keys if t not in known]
    pairs = near_duplicate_pairs(reps + test_reps, k=near["k"], threshold=near["threshold"],
                                 permutations=near["permutations"], seed=seed, reverse_complement=reverse_complement)  # fmt: skip
    component = connected_groups(len(reps) + len(test_reps), pairs)
    train_component = component[: len(reps)]
    joined = pd.factorize(train_component)[0]
    near_test = np.zeros(joined.max() + 1 if len(joined) else 0, dtype=bool)
    test_components = set(component[len(reps) :].tolist())
    for g, c in enumerate(train_component):
        near_test[joined[g]] |= c in test_components
    counts["near_duplicate_pairs"] = len(pairs)
    counts["near_duplicate_sequences"] = int(n_groups - (joined.max() + 1 if len(joined) else 0))
    counts["groups"] = int(joined.max() + 1 if len(joined) else 0)
    return joined[group] if len(group) else group, counts["groups"], near_test


def write_table_split(table: pd.DataFrame, path, window_length: int, tasks: list[str], attrs: dict, label_dtype) -> int:
    """One HDF5 dataset (the contract of deepcis.dataset) of the rows of `table`."""
    from .dataset import create_dataset, write_rows

    n = len(table)
    x = np.zeros((n, window_length, 4), np.uint8)
    start, end = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for i, seq in enumerate(table["sequence"]):
        x[i], _, start[i], end[i] = fit_to_window(seq, window_length)
    y = table[tasks].to_numpy()
    y = y.astype(np.float32) if np.dtype(label_dtype) == np.float32 else y.astype(np.uint8)
    with create_dataset(path, n, window_length, tasks, attrs, label_dtype=label_dtype) as f:
        write_rows(f, 0, x, y, table["id"].tolist(), start, end)
        f.create_dataset("length", data=table["length"].to_numpy(np.int64))
        f["length"].attrs["description"] = "original length of each sequence (before padding or cropping)"
    return n


# Stages that read a genome: refused for sequence-table inputs, with the key to change.
GENOME_STAGES = (
    (
        "variants.vcf",
        lambda c: c["variants"]["vcf"],
        "variant scoring needs a genome (allele windows at VCF positions); sequence-table inputs have no coordinates: set variants.vcf: null",
    ),
    (
        "interpret.windows",
        lambda c: c["interpret"]["enabled"] and c["interpret"]["windows"] != "top_predicted",
        "windows from a BED or around variants are genome positions; sequence-table inputs interpret "
        "the top predicted test sequences (chosen by sequence ID): set interpret.windows: top_predicted",
    ),
    (
        "encode.flank",
        lambda c: c["encode"].get("flank", 0),
        "flanks are genome bases beyond each window and a sequence has none (train.shift still moves "
        "the sequences, with N fill): set encode.flank: 0",
    ),
    ("tracks.enabled", lambda c: c["tracks"]["enabled"], "genome tracks tile a genome: set tracks.enabled: false"),
    ("design.enabled", lambda c: c["design"]["enabled"], "sequence design starts from genome windows: set design.enabled: false"),
)


# The keys of config section `sequence_table` that reading the sources uses (the input check's
# params: a change of the split settings does not re-check the tables).
SOURCE_KEYS = ("train", "test", "id_column", "sequence_column", "tasks")


def source_files(cfg: dict) -> list[str]:
    """Every file the sources of config section `sequence_table` name: the tables, then the
    FASTA sources' label files."""
    sources = [_source(s) for part in ("train", "test") for s in cfg.get(part) or []]
    return [str(s["path"]) for s in sources] + [str(s["label_file"]) for s in sources if s.get("label_file")]


def plan_sequence_table(config: dict, cache_dir=None) -> list[dict]:
    """Parse-time check of a sequence-table config: the stages that need a genome refused, every
    source read and checked (`check_tables`, cached by file version under `cache_dir` as the
    input check's other scans are). Returns the task rows as a tasks sheet gives them."""
    from .input_check import check_sequence_tables

    if config.get("tasks"):
        raise ConfigError(
            "config key tasks: a tasks sheet and sequence_table.train are exclusive (the table's columns are the tasks)"
        )
    if config.get("genome"):
        raise ConfigError("config key genome: sequence_table.train replaces the genome and peaks; leave genome out")
    for key, asked, why in GENOME_STAGES:
        if asked(config):
            raise ConfigError(f"config key {key}: not available with sequence_table inputs: {why}")
    cfg = config["sequence_table"]
    found = check_sequence_tables({k: cfg[k] for k in SOURCE_KEYS}, cache_dir)
    _check_stratify(cfg, found["tasks"], found["kinds"])
    return task_rows(found["tasks"], found["kinds"])


def _read_train_test(cfg: dict) -> tuple[pd.DataFrame, list[str], pd.DataFrame | None]:
    options = {"id_column": cfg["id_column"], "sequence_column": cfg["sequence_column"], "tasks": cfg["tasks"]}
    train = read_sources(cfg["train"], **options)
    tasks = [c for c in train.columns if c not in ("id", "sequence", "file", "line", "length")]
    test = None
    if cfg["test"]:
        test = read_sources(cfg["test"], **{**options, "tasks": tasks})
        clash = sorted(set(train["id"]) & set(test["id"]))
        if clash:
            raise InputError(
                test["file"][test["id"] == clash[0]].iloc[0], f"sequence ID {clash[0]!r} is in the train and the test table"
            )
    return train, tasks, test


def check_tables(cfg: dict) -> dict:
    """Read and check every source (the keys `SOURCE_KEYS` of config section `sequence_table`):
    the tasks, their kinds, and the sequences per file (JSON-ready, for the input check)."""
    train, tasks, test = _read_train_test(cfg)
    both = train if test is None else pd.concat([train, test], ignore_index=True)
    per_file = both["file"].value_counts(sort=False)
    return {"tasks": tasks, "kinds": task_kinds(both, tasks), "sequences": {str(f): int(n) for f, n in per_file.items()}}


def _check_stratify(cfg: dict, tasks: list[str], kinds: dict):
    stratify = cfg["split"]["stratify_task"]
    if stratify is not None and kinds.get(stratify) != "binary":
        raise ConfigError(
            f"config key sequence_table.split.stratify_task: {stratify!r} is not a binary task of the table ({tasks})"
        )


def task_rows(tasks: list[str], kinds: dict) -> list[dict]:
    """The table's tasks as rows of a tasks sheet."""
    return [
        {"name": t, "peaks": "", "type": kinds[t], "loss": "bce" if kinds[t] == "binary" else "mse", "weight": 1.0} for t in tasks
    ]


def read_tables(cfg: dict) -> tuple[list[dict], pd.DataFrame, pd.DataFrame | None]:
    """Read and check the train and test sources of config section `sequence_table`."""
    train, tasks, test = _read_train_test(cfg)
    kinds = task_kinds(train if test is None else pd.concat([train, test]), tasks)
    _check_stratify(cfg, tasks, kinds)
    return task_rows(tasks, kinds), train, test


def sequence_table_stats(table, split, counts, tasks, kinds, window_length) -> pd.DataFrame:
    """The stats table of deepcis.prepare (section split item value) for a sequence table."""
    rows = []
    binary = [t for t in tasks if kinds[t] == "binary"]
    for name in ("train", "valid", "test"):
        part = table[split == name]
        positive = int((part[binary] == 1).any(axis=1).sum()) if binary else 0
        rows += [
            ("windows", name, "all", len(part)),
            ("windows", name, "positive", positive),
            ("windows", name, "negative", len(part) - positive),
        ]
        rows += [("positives", name, t, int((part[t] == 1).sum())) for t in binary]
    rows.append(("drops", "all", "duplicate_of_test_sequence", counts["train_in_test_dropped"]))
    if "near_duplicate_pairs" in counts:
        rows += [("input", "all", "near_duplicate_pairs", counts["near_duplicate_pairs"]),
                 ("input", "all", "near_duplicate_sequences", counts["near_duplicate_sequences"])]  # fmt: skip
    lengths = table["length"].to_numpy()
    rows += [("input", "all", "sequences", counts["sequences"]), ("input", "all", "duplicate_sequences", counts["duplicate_sequences"]),
             ("input", "all", "padded", int((lengths < window_length).sum())), ("input", "all", "cropped", int((lengths > window_length).sum()))]  # fmt: skip
    if "test_duplicate_sequences" in counts:
        rows.append(("input", "test", "duplicate_sequences", counts["test_duplicate_sequences"]))
    return pd.DataFrame(rows, columns=["section", "split", "item", "value"])


def prepare_sequence_table(cfg: dict, window: int, seed: int, outputs: dict, config_sha256: str) -> dict:
    """The rule prepare_sequence_table: the sources of config section `sequence_table` ->
    splits -> HDF5 files `outputs[split]` of `window` bp, stats table and figure; the counts."""
    from .plots import class_balance
    from .prepare import write_stats

    rows, train, test = read_tables(cfg)
    tasks = [r["name"] for r in rows]
    kinds = {r["name"]: r["type"] for r in rows}
    stratify = cfg["split"]["stratify_task"] or next((t for t in tasks if kinds[t] == "binary"), None)
    split, counts = assign_table_splits(train, test, cfg["split"]["valid_fraction"], cfg["split"]["test_fraction"],
                                        cfg["split"]["mode"], seed, stratify, cfg["reverse_complement_duplicates"],
                                        cfg["near_duplicates"] if cfg["near_duplicates"]["enabled"] else None)  # fmt: skip
    table = train if test is None else pd.concat([train, test], ignore_index=True)
    counts["split_test"] += 0 if test is None else len(test)
    split = split if test is None else np.concatenate([split, np.full(len(test), "test", dtype=object)])
    label_dtype = np.uint8 if all(k == "binary" for k in kinds.values()) and not table[tasks].isna().any().any() else np.float32
    attrs = {
        "genome": "none (sequence table)",
        "genome_sha256": "",
        "label_mode": "sequence_table",
        "config_sha256": config_sha256,
    }
    for name in ("train", "valid", "test"):
        part = table[split == name]
        if not len(part):
            raise ConfigError(f"sequence_table: split {name!r} is empty ({counts}); check the fractions and the tables")
        write_table_split(part, outputs[name], window, tasks, {**attrs, "split": name}, label_dtype)
    stats = sequence_table_stats(table, split, counts, tasks, kinds, window)
    write_stats(stats, outputs["stats"])
    class_balance(stats, [t for t in tasks if kinds[t] == "binary"], outputs["plot"])
    return counts
