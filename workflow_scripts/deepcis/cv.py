"""Cross-validation folds (config `cv`, docs/cross-validation.md).

Every window of the encoded splits (or, with `cv.holdout`, of train and valid only: the test
split stays an outer test set) is given one of K folds. Fold k tests on the windows of fold
k, validates on those of fold k+1 (mod K) and trains on the rest, so K >= 3.

Windows that overlap each other (tiled windows, stride < length) form a cluster, and a cluster
goes to one fold as a whole: no window can then overlap a window of another part of the same
fold, and every window is a test window of exactly one fold.

Modes (`cv.by`):
- `chromosome`: whole chromosomes, largest first to the fold with the fewest windows so far;
- `region`: the clusters in genome order cut into K contiguous runs of about equal size;
- `fraction`: blocks of `cv.block_size` bp in a seeded random order cut into K runs of about
  equal size (the analogue of split.mode fractions).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError
from .io_utils import atomic_path, sha256_file

PARTS = ("train", "valid", "test")
ASSIGNMENT_COLUMNS = ["chrom", "start", "end", "source", "row", "fold"]


def fold_name(fold: int) -> str:
    """The readable name of fold `fold` in paths and tables (fold0, fold1, ...)."""
    return f"fold{fold}"


def cv_models(config: dict) -> list[str]:
    """The models trained once per fold (cv.models, else every trained model of the config)."""
    from .config import generative_models  # not at the top: deepcis.config imports this module

    cv = config["cv"]
    if not cv["folds"]:
        return []
    generative = generative_models(config)  # trained by their own rules, not train_model's folds
    return list(cv["models"]) if cv["models"] is not None else [
        m for m, spec in config["models"].items()
        if not spec.get("external") and not spec.get("transfer") and not spec.get("sweep") and m not in generative
    ]  # fmt: skip


def _stage_models(config) -> list[str]:
    """Models of cv.models whose genome tracks or interpretation (ISM) the config makes: their
    fold ensembles get those too."""
    chosen = []
    for stage in ("tracks", "interpret"):
        section = config.get(stage) or {}
        if section.get("enabled"):
            chosen += [m for m in cv_models(config) if section.get("models") is None or m in section["models"]]
    return chosen


def check_cv(config: dict, genome_chromosomes: list[str] | None = None) -> None:
    """Refuse a `cv` section that cannot work, before any job runs.

    `genome_chromosomes`: the genome's chromosome names when known at parse time (its .fai);
    config `chromosomes`, when set, is used instead. Without either, the fold count is checked
    against the windows by rule cv_folds.
    """
    cv = config["cv"]
    k = cv["folds"]
    if not k:
        return
    if k < 3:
        raise ConfigError(
            f"config key cv.folds: {k} folds; at least 3 are needed (fold k tests on fold k, "
            "validates on fold k+1 and trains on the rest), or 0 for no cross-validation"
        )
    if not config.get("tasks"):
        raise ConfigError(
            "config key cv: cross-validation folds are cut from genome windows, which need a tasks sheet "
            "(config key tasks); sequence tables (sequence_table) are not split into folds"
        )
    from .config import generative_models

    models = config["models"]
    for name in cv["models"] or []:
        if name not in models:
            raise ConfigError(f"config key cv.models: {name!r} is not in models ({list(models)})")
        if models[name].get("external"):
            raise ConfigError(f"config key cv.models: {name!r} is an external model; only trained models have folds")
        if models[name].get("architecture") in generative_models(config).values():
            raise ConfigError(f"config key cv.models: {name!r} is a generative model ({models[name]['architecture']}); "
                              "only supervised models have folds")  # fmt: skip
        if models[name].get("sweep"):
            raise ConfigError(f"config key cv.models: {name!r} is swept (models.{name}.sweep); its folds would need "
                              "the point chosen on the main split: cross-validate a model entry with the chosen "
                              "values fixed")  # fmt: skip
        if models[name].get("transfer"):
            raise ConfigError(
                f"config key cv.models: {name!r} is fine-tuned from a model trained on the main split, "
                "whose training windows are other folds' test windows; leave it out of cv.models"
            )
    if not cv_models(config):
        raise ConfigError("config key cv: no trained model to cross-validate (cv.models is empty)")
    if cv["ensemble"] and not cv["holdout"] and not config["variants"]["vcf"] and not _stage_models(config):
        raise ConfigError(
            "config key cv.ensemble: nothing to ensemble: every window is a test window of one fold and a training "
            "window of the others, so the ensemble is evaluated only on an outer test set (set cv.holdout: true), "
            "and no variants.vcf is scored, nor tracks or interpretation made for a model of cv.models"
        )
    if cv["by"] == "chromosome":
        names = config.get("chromosomes") or genome_chromosomes
        if names is None:
            return
        split = config["split"]
        if cv["holdout"] and split["mode"] == "chromosomes":
            names = [c for c in names if c not in set(split["test"])]
        if k > len(names):
            raise ConfigError(
                f"config key cv.folds: {k} folds by chromosome, but only {len(names)} chromosome(s) "
                f"{'outside the held-out test split ' if cv['holdout'] else ''}can hold windows "
                f"({', '.join(names[:10])}{' ...' if len(names) > 10 else ''}); lower cv.folds or use cv.by region"
            )


def fai_chromosomes(genome: str) -> list[str] | None:
    """The chromosome names of a genome's .fai index, or None when it has none yet."""
    fai = Path(f"{genome}.fai")
    if not fai.is_file():
        return None
    return [line.split("\t", 1)[0] for line in fai.read_text().splitlines() if line.strip()]


def overlap_clusters(windows: pd.DataFrame) -> np.ndarray:
    """Cluster id per window: windows on one chromosome that overlap, directly or through a
    chain of overlaps, share an id. Ids increase in genome order (chromosome order of first
    appearance, then start)."""
    n = len(windows)
    cluster = np.zeros(n, dtype=np.int64)
    next_id = 0
    chrom_order = {c: i for i, c in enumerate(pd.unique(windows["chrom"]))}
    order = np.lexsort((windows["start"].to_numpy(), windows["chrom"].map(chrom_order).to_numpy()))
    chroms = windows["chrom"].to_numpy()[order]
    starts = windows["start"].to_numpy(np.int64)[order]
    ends = windows["end"].to_numpy(np.int64)[order]
    reach = -1
    previous = None
    for i in range(n):
        if chroms[i] != previous or starts[i] >= reach:
            next_id += 1
            reach = ends[i]
            previous = chroms[i]
        else:
            reach = max(reach, ends[i])
        cluster[order[i]] = next_id - 1
    return cluster


def _cut_runs(sizes: np.ndarray, k: int) -> np.ndarray:
    """Fold per unit when units of `sizes` windows, in order, are cut into k runs of about
    equal window counts."""
    before = np.cumsum(sizes) - sizes
    return np.minimum((before * k) // max(int(sizes.sum()), 1), k - 1).astype(np.int64)


def assign_folds(windows: pd.DataFrame, cv: dict, seed: int) -> np.ndarray:
    """Fold (0..K-1) per window; raises ConfigError when a fold would be empty."""
    k = int(cv["folds"])
    if len(windows) < k:
        raise ConfigError(f"config key cv.folds: {k} folds for {len(windows)} window(s)")
    cluster = overlap_clusters(windows)
    fold = np.full(len(windows), -1, dtype=np.int64)
    if cv["by"] == "chromosome":
        counts = windows["chrom"].value_counts(sort=False)
        if len(counts) < k:
            raise ConfigError(
                f"config key cv.folds: {k} folds by chromosome, but the windows lie on only {len(counts)} "
                f"chromosome(s) ({', '.join(map(str, counts.index[:10]))}); lower cv.folds or use cv.by region"
            )
        load = np.zeros(k, dtype=np.int64)
        chrom_fold = {}
        # largest first, ties in chromosome order: deterministic and balanced
        for chrom, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            target = int(np.argmin(load))
            chrom_fold[chrom] = target
            load[target] += count
        fold = windows["chrom"].map(chrom_fold).to_numpy(np.int64)
    else:
        n_clusters = int(cluster.max()) + 1
        sizes = np.bincount(cluster, minlength=n_clusters)
        if cv["by"] == "region":
            unit_of_cluster = np.arange(n_clusters)
            unit_order = np.arange(n_clusters)
        else:  # fraction: blocks of block_size bp, in a seeded random order
            first = pd.DataFrame({"cluster": cluster, "chrom": windows["chrom"].to_numpy(),
                                  "block": windows["start"].to_numpy(np.int64) // int(cv["block_size"])})  # fmt: skip
            first = first.groupby("cluster", sort=True).first()
            keys = pd.MultiIndex.from_arrays([first["chrom"], first["block"]])
            codes, _ = pd.factorize(keys)
            unit_of_cluster = codes
            unit_order = np.random.default_rng(seed).permutation(int(codes.max()) + 1)
        unit_sizes = np.bincount(unit_of_cluster, weights=sizes, minlength=len(unit_order)).astype(np.int64)
        if np.count_nonzero(unit_sizes) < k:
            what = "clusters of overlapping windows" if cv["by"] == "region" else f"blocks of {cv['block_size']} bp"
            raise ConfigError(
                f"config key cv.folds: {k} folds, but the windows form only {np.count_nonzero(unit_sizes)} {what}"
                + ("; lower cv.block_size or cv.folds" if cv["by"] == "fraction" else "; lower cv.folds")
            )
        unit_fold = np.empty(len(unit_order), dtype=np.int64)
        unit_fold[unit_order] = _cut_runs(unit_sizes[unit_order], k)
        fold = unit_fold[unit_of_cluster][cluster]
    empty = [f for f in range(k) if not np.any(fold == f)]
    if empty:
        raise ConfigError(
            f"config key cv.folds: fold(s) {empty} of {k} would hold no window ({cv['by']} folds of "
            f"{len(windows)} windows); lower cv.folds"
        )
    return fold


def fold_parts(fold: np.ndarray, k: int, n_folds: int) -> np.ndarray:
    """Part per window of fold `k`: 'test' (fold k), 'valid' (fold k+1 mod K), else 'train'."""
    part = np.full(len(fold), "train", dtype=object)
    part[fold == (k + 1) % n_folds] = "valid"
    part[fold == k] = "test"
    return part


def read_windows(sources: dict) -> pd.DataFrame:
    """The windows of the encoded splits {split: HDF5 path}, in split order then row order,
    with their source split and row (the columns of the fold assignment but `fold`)."""
    from .dataset import decode_strings, open_dataset

    frames = []
    for split, path in sources.items():
        with open_dataset(path) as f:
            chrom = np.array(decode_strings(f["chrom"][()]), dtype=object)
            frames.append(pd.DataFrame({"chrom": chrom, "start": f["start"][()], "end": f["end"][()],
                                        "source": split, "row": np.arange(len(chrom), dtype=np.int64)}))  # fmt: skip
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ASSIGNMENT_COLUMNS[:-1])


def write_assignment(assignment: pd.DataFrame, path) -> None:
    """The fold assignment TSV (one row per window, columns ASSIGNMENT_COLUMNS), atomically."""
    with atomic_path(path) as tmp:
        assignment[ASSIGNMENT_COLUMNS].to_csv(tmp, sep="\t", index=False)


def read_assignment(path) -> pd.DataFrame:
    """A fold assignment TSV written by `write_assignment`; InputError if it is not one."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"chrom": str, "source": str})
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(path, f"not a readable fold assignment: {error}") from None
    missing = [c for c in ASSIGNMENT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(path, f"not a fold assignment: missing column(s) {missing}")
    return frame


def assignment_summary(assignment: pd.DataFrame, n_folds: int, cv: dict, path) -> dict:
    """Provenance of the fold assignment: per fold its windows, chromosomes and part sizes,
    and the assignment file's SHA-256."""
    folds = []
    for k in range(n_folds):
        part = fold_parts(assignment["fold"].to_numpy(), k, n_folds)
        mine = assignment[assignment["fold"] == k]
        folds.append({
            "fold": fold_name(k),
            "windows": int(len(mine)),
            "chromosomes": sorted(map(str, pd.unique(mine["chrom"]))),
            "parts": {p: int(np.count_nonzero(part == p)) for p in PARTS},
        })  # fmt: skip
    return {"cv": cv, "windows": int(len(assignment)), "assignment_sha256": sha256_file(path), "folds": folds}


def write_fold_dataset(sources: dict, assignment: pd.DataFrame, k: int, n_folds: int, part: str, out_path,
                       attrs: dict, block_rows: int = 8192) -> int:  # fmt: skip
    """The HDF5 dataset of one part of fold `k`: the rows of the source splits assigned to it,
    in assignment order, `block_rows` at a time. Returns its number of rows."""
    from .dataset import XReader, create_dataset, dataset_tasks, flank_of, open_dataset, write_rows

    mask = fold_parts(assignment["fold"].to_numpy(), k, n_folds) == part
    chosen = assignment[mask]
    handles = {split: open_dataset(path) for split, path in sources.items()}
    try:
        first = next(iter(handles.values()))
        tasks = dataset_tasks(first)
        window_length = int(first.attrs["window_length"])
        for split, h in handles.items():
            if dataset_tasks(h) != tasks or int(h.attrs["window_length"]) != window_length or flank_of(h) != flank_of(first):
                raise InputError(sources[split], "has other tasks, another window length or other flanks than the other splits")
        unknown = sorted(set(chosen["source"]) - set(handles))
        if unknown:
            raise InputError(sources[next(iter(sources))], f"the fold assignment names split(s) {unknown} not given")
        merged = {key: first.attrs[key] for key in first.attrs if key not in ("n_windows", "chunk")}
        merged |= attrs | {"split": part, "cv_fold": fold_name(k), "cv_folds": int(n_folds)}
        with create_dataset(out_path, len(chosen), window_length, tasks, merged, label_dtype=first["y"].dtype,
                            flank=flank_of(first)) as out:  # fmt: skip
            offset = 0
            # consecutive runs of one source split, read in blocks of sorted rows (h5py needs increasing indices)
            runs = (chosen["source"] != chosen["source"].shift()).cumsum()
            for _, run in chosen.groupby(runs, sort=False):
                h = handles[run["source"].iloc[0]]
                rows = run["row"].to_numpy(np.int64)
                if np.any(np.diff(rows) <= 0):
                    raise InputError(sources[run["source"].iloc[0]], "fold assignment rows are not increasing")
                for lo in range(0, len(rows), block_rows):
                    idx = rows[lo : lo + block_rows]
                    write_rows(out, offset, XReader(h).codes(idx, full=True), h["y"][idx], h["chrom"][idx], h["start"][idx], h["end"][idx])
                    offset += len(idx)
    finally:
        for h in handles.values():
            h.close()
    return int(len(chosen))


METRIC_COLUMNS = ("auroc", "auprc", "pearson", "spearman")


def fold_metrics_table(tables: dict) -> pd.DataFrame:
    """Long per-fold table from {(model, fold): task metrics frame}: one row per model, fold
    and task, plus an `overall` row per model and fold (the mean over its tasks)."""
    rows = []
    for (model, fold), df in tables.items():
        for record in df.to_dict("records"):
            rows.append({"model": model, "fold": fold, "task": record["task"]}
                        | {m: record[m] for m in METRIC_COLUMNS})  # fmt: skip
        means = df[list(METRIC_COLUMNS)].astype(np.float64).mean(skipna=True)
        rows.append({"model": model, "fold": fold, "task": "overall"} | {m: float(means[m]) for m in METRIC_COLUMNS})
    return pd.DataFrame(rows, columns=["model", "fold", "task", *METRIC_COLUMNS])


def fold_spread(per_fold: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof 1) across folds per model and task (and `overall`),
    with the number of folds where each metric is defined."""
    rows = []
    for (model, task), group in per_fold.groupby(["model", "task"], sort=False):
        row = {"model": model, "task": task, "folds": int(len(group))}
        for m in METRIC_COLUMNS:
            values = group[m].astype(np.float64).dropna()
            row[f"{m}_mean"] = float(values.mean()) if len(values) else np.nan
            row[f"{m}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
