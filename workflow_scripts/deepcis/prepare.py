"""The prepare stage: genome + peak files -> labelled windows per split, with statistics.

Order of work: read and validate every input (fail before any long work), build positives
(DeepSEA bins or Basset merged peaks), draw negative candidates, filter all windows
(chromosome ends, blacklist, N), pick negatives, assign splits, write outputs atomically.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import intervals, labels, negatives, splits, window_filters, windows_file
from .errors import ConfigError, InputError
from .genome import Genome
from .io_utils import atomic_path
from .peaks import IntervalSet, parse_region, read_intervals

log = logging.getLogger(__name__)


@dataclass
class PreparedWindows:
    """The prepare stage's result: labelled windows with their split, task names, stats, warnings."""

    windows: pd.DataFrame  # chrom, start, end, name, split, then one uint8 column per task
    tasks: list[str]
    stats: pd.DataFrame  # section, split, item, value
    warnings: list[str] = field(default_factory=list)


def select_chromosomes(
    all_sizes: dict[str, int], chromosomes: list[str] | None, window_length: int, genome_path
) -> tuple[dict[str, int], list[str]]:
    """The chromosomes to use; those shorter than the window are skipped (error if named)."""
    warnings = []
    if chromosomes:
        missing = [c for c in chromosomes if c not in all_sizes]
        if missing:
            raise ConfigError(
                f"config chromosomes: {missing} not in genome {genome_path} "
                f"(it has {list(all_sizes)[:8]}{' ...' if len(all_sizes) > 8 else ''})"
            )
        short = [c for c in chromosomes if all_sizes[c] < window_length]
        if short:
            raise ConfigError(
                f"config chromosomes: {short} are shorter than the window length {window_length} bp "
                f"({', '.join(f'{c}: {all_sizes[c]} bp' for c in short)})"
            )
        return {c: all_sizes[c] for c in chromosomes}, warnings
    selected = {c: n for c, n in all_sizes.items() if n >= window_length}
    skipped = [c for c in all_sizes if c not in selected]
    if skipped:
        warnings.append(f"skipped {len(skipped)} chromosome(s) shorter than the {window_length} bp window: {skipped[:10]}")
    if not selected:
        raise ConfigError(
            f"prepare.window_length {window_length} bp is longer than every chromosome of {genome_path} "
            f"(longest: {max(all_sizes.values())} bp)"
        )
    return selected, warnings


def read_task_peaks(tasks: dict[str, str], chrom_sizes: dict[str, int], all_sizes: dict[str, int],
                    require: bool = True):  # fmt: skip
    """Peaks per task; records on chromosomes outside the selection are dropped silently, those on
    chromosomes missing from the genome are counted in a warning, and so are summits clamped to a
    peak's last base (deepcis.peaks). `require`: a task without a peak on the selected
    chromosomes is an error."""
    peaks, warnings = {}, []
    for task, path in tasks.items():
        peak_set = read_intervals(path, all_sizes, what=f"peak file of task {task!r}")
        if peak_set.skipped_chroms:
            n = sum(peak_set.skipped_chroms.values())
            warnings.append(
                f"{path}: skipped {n} peak(s) on chromosomes absent from the genome: "
                f"{sorted(peak_set.skipped_chroms)[:10]}"
            )
        if peak_set.clamped_summits:
            warnings.append(
                f"{path}: {peak_set.clamped_summits} summit offset(s) equal to the peak length, clamped to the "
                "peak's last base"
            )
        on_selected = np.isin(peak_set.chrom, list(chrom_sizes))
        if require and not on_selected.any():
            raise InputError(path, f"task {task!r} has no peak on the selected chromosomes {list(chrom_sizes)[:10]}")
        peaks[task] = IntervalSet(
            path=peak_set.path,
            chrom=peak_set.chrom[on_selected],
            start=peak_set.start[on_selected],
            end=peak_set.end[on_selected],
            summit=peak_set.summit[on_selected],
            clamped_summits=peak_set.clamped_summits,
        )
    return peaks, warnings


def region_frame(regions: list[str] | None, chrom_sizes: dict[str, int], where: str = "config regions") -> pd.DataFrame | None:
    """The run's regions (`chrom:start-end`, 0-based half-open) as a chrom/start/end frame, checked
    against the selected chromosomes and sorted; None when the run is not restricted."""
    if not regions:
        return None
    rows = [parse_region(r, chrom_sizes, where) for r in regions]
    order = {c: i for i, c in enumerate(chrom_sizes)}
    frame = pd.DataFrame(rows, columns=["chrom", "start", "end"])
    frame = frame.assign(_k=frame["chrom"].map(order)).sort_values(["_k", "start"]).drop(columns="_k").reset_index(drop=True)
    ends = frame.groupby("chrom", sort=False)["end"].shift()
    if (frame["start"] < ends).any():
        raise ConfigError(f"{where}: regions overlap each other ({regions})")
    return frame


def check_peaks_in_regions(peaks: dict, region: pd.DataFrame, regions: list[str]):
    """Refuse a task without any peak overlapping the run's regions, naming task and regions."""
    for task, peak_set in peaks.items():
        if not intervals.overlaps_any(peak_set.frame(), region).any():
            raise ConfigError(f"task {task!r} has no peak in the chosen region(s) {regions} (peak file {peak_set.path})")


def prepare_windows(
    genome_path,
    tasks: dict[str, str],
    prepare_cfg: dict,
    split_cfg: dict,
    seed: int,
    blacklist_path=None,
    chromosomes: list[str] | None = None,
    regions: list[str] | None = None,
) -> PreparedWindows:
    """The prepare stage: genome + peaks -> labelled, filtered windows assigned to splits.

    Parameters
    ----------
    genome_path : str or os.PathLike
        Genome FASTA (plain or bgzip).
    tasks : dict of str to str
        Peak file per task name.
    prepare_cfg, split_cfg : dict
        The validated ``prepare`` and ``split`` config sections.
    seed : int
        Seed of negatives and fraction splits.
    blacklist_path : str or os.PathLike, optional
        BED of regions whose windows are dropped.
    chromosomes : list of str, optional
        Chromosomes to use (default: every one at least one window long).
    regions : list of str, optional
        Config ``regions``: restrict the run to these ``chrom:start-end`` intervals of the
        selected chromosomes (every window, positive or negative, lies inside one).

    ``prepare_cfg["min_positives"]`` drops a task with fewer positive windows in a split
    (a warning, and ``tasks_dropped`` rows in the stats).

    Returns
    -------
    PreparedWindows
    """
    window_length = int(prepare_cfg["window_length"])
    mode = prepare_cfg["mode"]
    genome = Genome(genome_path)
    all_sizes = genome.chrom_sizes
    chrom_sizes, warnings = select_chromosomes(all_sizes, chromosomes, window_length, genome_path)
    # Every input is read and checked before any long work starts.
    region = region_frame(regions, chrom_sizes)
    territories = splits.split_territories(split_cfg, chrom_sizes, seed)
    peaks, peak_warnings = read_task_peaks(tasks, chrom_sizes, all_sizes)
    warnings += peak_warnings
    if region is not None:
        check_peaks_in_regions(peaks, region, regions)
    blacklist = None
    if blacklist_path:
        bl = read_intervals(blacklist_path, all_sizes, what="blacklist", allow_empty=True)
        blacklist = bl.frame()[np.isin(bl.chrom, list(chrom_sizes))]
    rng = np.random.default_rng(seed)

    if mode == "deepsea":
        bin_size = int(prepare_cfg["deepsea"]["bin_size"])
        pos = labels.deepsea_positives(peaks, chrom_sizes, window_length, bin_size, float(prepare_cfg["deepsea"]["min_fraction"]))
    elif mode == "basset":
        bin_size = None
        pos = labels.basset_positives(peaks, chrom_sizes, window_length, int(prepare_cfg["basset"]["merge_overlap"]))
    else:
        raise ConfigError(f"config prepare.mode: unknown mode {mode!r}; choose deepsea or basset")

    outside = {}
    if region is not None:  # a restricted run: only windows wholly inside its regions
        inside = splits.inside_any(pos.windows, region)
        outside["positive"] = int((~inside).sum())
        pos = labels.Positives(pos.windows[inside].reset_index(drop=True), pos.labels[inside], pos.peak_regions)
    pos_filter = window_filters.filter_windows(pos.windows, chrom_sizes, genome, blacklist, float(prepare_cfg["max_n_fraction"]))
    pos_windows = pos.windows[pos_filter.keep].reset_index(drop=True).assign(name="peak")
    pos_labels = pos.labels[pos_filter.keep]
    pos_gc = pos_filter.gc_fraction[pos_filter.keep]

    neg_cfg = prepare_cfg["negatives"]
    strategy = neg_cfg["strategy"]
    n_wanted = int(round(float(neg_cfg["ratio"]) * len(pos_windows))) if strategy != "none" else 0
    oversample = float(neg_cfg["gc_oversample"] if strategy == "gc_matched" else 3.0)
    cand = negatives.candidate_negatives(
        strategy, n_wanted, pos_windows, pos.peak_regions, chrom_sizes, window_length, rng,
        bin_size=bin_size, flank_min=int(neg_cfg["flank_min"]), flank_max=int(neg_cfg["flank_max"]), oversample=oversample,
        spans=region,
    )  # fmt: skip
    if region is not None:
        inside = splits.inside_any(cand, region)
        outside["negative_candidate"] = int((~inside).sum())
        cand = cand[inside].reset_index(drop=True)
    neg_filter = window_filters.filter_windows(cand, chrom_sizes, genome, blacklist, float(prepare_cfg["max_n_fraction"]))
    cand = cand[neg_filter.keep].reset_index(drop=True)
    chosen = negatives.select_negatives(
        strategy, n_wanted, neg_filter.gc_fraction[neg_filter.keep], pos_gc, rng, int(neg_cfg["gc_bins"])
    )
    neg_windows = cand.iloc[chosen].reset_index(drop=True).assign(name=f"negative_{strategy}")
    if len(neg_windows) < n_wanted:
        warnings.append(f"negatives: asked for {n_wanted} ({strategy}), found {len(neg_windows)} that pass the filters")
    genome.close()

    task_names = list(tasks)
    windows = pd.concat([pos_windows, neg_windows], ignore_index=True).astype({"start": np.int64, "end": np.int64})
    label_matrix = np.concatenate([pos_labels, np.zeros((len(neg_windows), len(task_names)), np.uint8)])
    split = splits.assign_splits(windows, territories)
    boundary = split == ""
    windows = windows.assign(split=split)
    windows = pd.concat([windows, pd.DataFrame(label_matrix, columns=task_names)], axis=1)[~boundary]
    order = {c: i for i, c in enumerate(chrom_sizes)}
    windows = (
        windows.assign(_k=windows["chrom"].map(order))
        .sort_values(["_k", "start", "end"], kind="stable")
        .drop(columns="_k")
        .drop_duplicates(["chrom", "start", "end"])
        .reset_index(drop=True)
    )
    for split_name in splits.SPLITS:
        if not (windows["split"] == split_name).any():
            raise ConfigError(
                f"split {split_name!r} is empty: no window of the {len(windows)} kept falls in it "
                f"(split mode {split_cfg['mode']!r}); check the split settings against where the peaks are"
            )
    windows, task_names, dropped_tasks, dropped_windows = drop_rare_tasks(windows, task_names,
                                                                          int(prepare_cfg.get("min_positives", 0)))  # fmt: skip
    for task, split_name, n in dropped_tasks:
        warnings.append(f"task {task!r} dropped: {n} positive window(s) in split {split_name!r} < prepare.min_positives "
                        f"{int(prepare_cfg['min_positives'])}")  # fmt: skip

    stats = _stats(windows, task_names, pos_filter.dropped, neg_filter.dropped, int(boundary.sum()),
                   len(pos.windows), len(cand), n_wanted)  # fmt: skip
    positives = stats[stats["section"] == "positives"]
    for row in positives[positives["value"] == 0].itertuples():
        # a task that cannot be trained or evaluated there: said on the console (deepcis.jobs), not only logged
        warnings.append(f"task {row.item!r} has no positive window in the {row.split} split (peaks: "
                        f"{tasks.get(row.item, '?')}); its metrics there will be NA")  # fmt: skip
    extra = [("drops", where, "outside_regions", n) for where, n in outside.items()]
    extra += [("summits_clamped", "all", str(p.path), int(p.clamped_summits)) for p in peaks.values() if p.clamped_summits]
    extra += [("input", "all", "summits_clamped", sum(int(p.clamped_summits) for p in peaks.values()))]
    extra += [("tasks_dropped", split_name, task, n) for task, split_name, n in dropped_tasks]
    if dropped_tasks:
        extra += [("drops", "positive", "task_dropped", dropped_windows)]
    stats = pd.concat([stats, pd.DataFrame(extra, columns=stats.columns)], ignore_index=True)
    for message in warnings:
        log.warning(message)
    return PreparedWindows(windows=windows, tasks=task_names, stats=stats, warnings=warnings)


def drop_rare_tasks(windows: pd.DataFrame, tasks: list[str], min_positives: int):
    """Drop the tasks with fewer than `min_positives` positive windows in any split, and the
    positive windows left without a positive task (they hold peaks, so they cannot be negatives).
    Returns (windows, kept tasks, [(task, split, positives)] below the threshold, windows dropped)."""
    if min_positives <= 0:
        return windows, tasks, [], 0
    short = []
    for task in tasks:
        for split_name in splits.SPLITS:
            n = int(windows.loc[windows["split"] == split_name, task].sum())
            if n < min_positives:
                short.append((task, split_name, n))
    dropped = list(dict.fromkeys(t for t, _, _ in short))
    kept = [t for t in tasks if t not in dropped]
    if not kept:
        raise ConfigError(f"prepare.min_positives {min_positives}: every task has fewer positive windows in some split "
                          f"({', '.join(f'{t} {n} in {s}' for t, s, n in short[:10])}); lower it or change the split")  # fmt: skip
    if not dropped:
        return windows, tasks, [], 0
    orphan = (windows["name"] == "peak").to_numpy() & (windows[kept].to_numpy().sum(axis=1) == 0)
    windows = windows.loc[~orphan].drop(columns=dropped).reset_index(drop=True)
    return windows, kept, short, int(orphan.sum())


def _stats(windows, tasks, pos_dropped, neg_dropped, boundary, n_pos_raw, n_neg_cand, n_neg_wanted):
    rows = []
    for split_name in splits.SPLITS:
        part = windows[windows["split"] == split_name]
        is_pos = part["name"] == "peak"
        rows += [
            ("windows", split_name, "all", len(part)),
            ("windows", split_name, "positive", int(is_pos.sum())),
            ("windows", split_name, "negative", int((~is_pos).sum())),
        ]
        rows += [("positives", split_name, task, int(part[task].sum())) for task in tasks]
    rows += [("drops", "positive", reason, n) for reason, n in pos_dropped.items()]
    rows += [("drops", "negative_candidate", reason, n) for reason, n in neg_dropped.items()]
    rows += [
        ("drops", "all", "split_boundary", boundary),
        ("input", "all", "positive_windows_before_filters", n_pos_raw),
        ("input", "all", "negative_candidates_after_filters", n_neg_cand),
        ("input", "all", "negatives_wanted", n_neg_wanted),
    ]
    return pd.DataFrame(rows, columns=["section", "split", "item", "value"])


def write_windows_bed(windows: pd.DataFrame, tasks: list[str], split_name: str, path) -> int:
    """One split's windows as a windows BED (chrom, start, end, name) and its labels file
    (`deepcis.windows_file`: 0/1 uint8, or float32 targets with NaN for a missing label when
    the tasks sheet has signal tasks or measured regions)."""
    return windows_file.write_windows(windows[windows["split"] == split_name], tasks, path)


def read_windows_header(path) -> list[str]:
    """The columns of a windows BED and its labels (`chrom start end name <tasks>`), or InputError."""
    return windows_file.read_header(path)


def read_windows_bed(path, label_dtype=np.uint8) -> tuple[pd.DataFrame, list[str]]:
    """Read a windows BED written by `write_windows_bed` with its labels (one column per task);
    `label_dtype` float32 for float targets (NaN kept)."""
    return windows_file.read_windows(path, label_dtype)


def write_stats(stats: pd.DataFrame, path):
    """Write the long-format stats table (section, split, item, value) as TSV, atomically."""
    with atomic_path(path) as tmp:
        stats.to_csv(tmp, sep="\t", index=False)
