"""Positive windows and their multi-task labels, in the two classic modes.

DeepSEA bins: the genome is tiled into bins of `bin_size`; a task is positive in a bin when
more than `min_fraction` of the bin lies in the task's (merged) peaks; the window is the
`window_length` around the bin centre (start = bin start + bin_size // 2 - window_length // 2).
Bins that touch a peak without passing the threshold for any task are ambiguous: they are
neither kept as positives nor allowed as negatives.

Basset merged peaks: every peak becomes a `window_length` interval around its summit (or
midpoint); intervals of all tasks that overlap by at least `merge_overlap` bases are merged,
the site is the window around the merged interval's midpoint, and a task is active at the
site when any of its peaks went into the merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import intervals
from .peaks import IntervalSet


@dataclass
class Positives:
    """Positive windows with their per-task labels, and the regions no negative may touch."""

    windows: pd.DataFrame  # chrom, start, end (window may run off the chromosome: filtered later)
    labels: np.ndarray  # (n, T) uint8
    peak_regions: pd.DataFrame  # chrom, start, end: no negative may touch these (bins or windows)


def _genome_order(chrom_sizes):
    return {name: i for i, name in enumerate(chrom_sizes)}


def _peaks_frame(peaks: dict[str, IntervalSet]) -> pd.DataFrame:
    frames = [
        pd.DataFrame({"chrom": s.chrom, "start": s.start, "end": s.end, "task": i})
        for i, s in enumerate(peaks.values())
    ]
    return pd.concat(frames, ignore_index=True)


def merged_task_peaks(peaks: dict[str, IntervalSet], chrom_sizes: dict[str, int]) -> pd.DataFrame:
    """Each task's peaks merged (bedtools merge) so that overlapping peaks of one task are not
    counted twice; columns chrom, start, end, task (the task's index in `peaks`), by task then
    genome order.

    One bedtools call for every task: the task rides in the chromosome name (`chrom|task`), so
    peaks of different tasks never merge. (A call per task cost 919 process starts per run,
    and as many again per prepare chunk.)
    """
    all_peaks = _peaks_frame(peaks)
    if all_peaks.empty:
        return pd.DataFrame({"chrom": [], "start": [], "end": [], "task": []})
    order = _genome_order(chrom_sizes)
    keys = {f"{c}|{t}": t * len(order) + i for t in range(len(peaks)) for c, i in order.items()}
    tagged = all_peaks.assign(chrom=all_peaks["chrom"].astype(str) + "|" + all_peaks["task"].astype(str))
    merged = intervals.merge(tagged, keys)
    if merged.empty:
        return pd.DataFrame({"chrom": [], "start": [], "end": [], "task": []})
    chrom_task = merged["chrom"].astype(str).str.rsplit("|", n=1, expand=True)
    return pd.DataFrame({"chrom": chrom_task[0].to_numpy(object), "start": merged["start"].to_numpy(np.int64),
                         "end": merged["end"].to_numpy(np.int64), "task": chrom_task[1].astype(np.int64).to_numpy()})  # fmt: skip


def bin_labels(bins: pd.DataFrame, per_task: pd.DataFrame, n_tasks: int, bin_size: int, min_fraction: float) -> np.ndarray:
    """(n_bins, n_tasks) uint8: 1 where more than `min_fraction` of the bin's `bin_size` bases
    lie in the task's merged peaks (`merged_task_peaks`). The one labelling rule of DeepSEA
    bins, used by prepare (positive bins) and by the scanning evaluation (every bin)."""
    hits = intervals.overlap_bases(bins, per_task, "task")
    return labels_from_overlaps(len(bins), n_tasks, hits["a_row"].to_numpy(np.int64), hits["label"].to_numpy(np.int64),
                                hits["bases"].to_numpy(np.int64), min_fraction * bin_size)  # fmt: skip


def labels_from_overlaps(n_rows: int, n_tasks: int, rows, tasks, bases, threshold: float) -> np.ndarray:
    """(n_rows, n_tasks) uint8: 1 where the bases summed per (row, task) exceed `threshold`.

    Sums only the (row, task) pairs that occur (memory: the overlaps, plus 1 byte per cell of
    the result), not a dense int64 (rows, tasks) table, which is 8 bytes per cell: 44 GB for
    DeepSEA's 6 M bins x 919 tasks.
    """
    out = np.zeros((n_rows, n_tasks), dtype=np.uint8)
    if len(rows):
        pairs, index = np.unique(np.asarray(rows, np.int64) * n_tasks + np.asarray(tasks, np.int64), return_inverse=True)
        covered = np.bincount(index.ravel(), weights=np.asarray(bases, np.float64))  # integer sums, exact below 2**53
        out.ravel()[pairs[covered > threshold]] = 1
    return out


def deepsea_positives(
    peaks: dict[str, IntervalSet],
    chrom_sizes: dict[str, int],
    window_length: int,
    bin_size: int,
    min_fraction: float,
) -> Positives:
    """DeepSEA labels: bins of `bin_size` bp tiled over each chromosome, a task positive in a bin
    when more than `min_fraction` of the bin lies in its merged peaks; the window is the
    `window_length` bp centred on the bin.

    Parameters
    ----------
    peaks : dict of str to IntervalSet
        Peaks per task.
    chrom_sizes : dict of str to int
        Chromosome lengths (bp).
    window_length, bin_size : int
        Window and bin lengths (bp).
    min_fraction : float
        Fraction of a bin (0-1) a task's peaks must exceed.

    Returns
    -------
    Positives
    """
    order = _genome_order(chrom_sizes)
    all_peaks = _peaks_frame(peaks)
    union = intervals.merge(all_peaks, order)
    # Candidate bins: every bin touched by any peak (the only ones that can be positive).
    first = union["start"].to_numpy(np.int64) // bin_size
    last = (union["end"].to_numpy(np.int64) - 1) // bin_size
    counts = last - first + 1
    bin_index = np.repeat(first, counts) + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    chroms = np.repeat(union["chrom"].to_numpy(object), counts)
    bins = pd.DataFrame({"chrom": chroms, "start": bin_index * bin_size})
    sizes = bins["chrom"].map(chrom_sizes).to_numpy(np.int64)
    bins["end"] = np.minimum(bins["start"].to_numpy() + bin_size, sizes)
    bins = bins.drop_duplicates(["chrom", "start"]).reset_index(drop=True)

    per_task = merged_task_peaks(peaks, chrom_sizes)
    labels = bin_labels(bins, per_task, len(peaks), bin_size, min_fraction)
    positive = labels.any(axis=1)
    kept = bins[positive].reset_index(drop=True)
    offset = bin_size // 2 - window_length // 2
    windows = pd.DataFrame(
        {"chrom": kept["chrom"], "start": kept["start"] + offset, "end": kept["start"] + offset + window_length}
    )
    return Positives(windows=windows, labels=labels[positive], peak_regions=bins[["chrom", "start", "end"]])


def basset_positives(
    peaks: dict[str, IntervalSet],
    chrom_sizes: dict[str, int],
    window_length: int,
    merge_overlap: int,
) -> Positives:
    """Basset labels: peaks resized to `window_length` around their summit (or midpoint),
    merged across tasks when they overlap by at least `merge_overlap` bp; a task is active in
    a site when any of its peaks was merged in.

    Parameters
    ----------
    peaks : dict of str to IntervalSet
        Peaks per task; narrowPeak summits centre the windows where present.
    chrom_sizes : dict of str to int
        Chromosome lengths (bp); a site must fit inside its chromosome.
    window_length, merge_overlap : int
        Window length and minimum overlap (bp).

    Returns
    -------
    Positives
    """
    order = _genome_order(chrom_sizes)
    frames = []
    for t, peak_set in enumerate(peaks.values()):
        centre = peak_set.centre
        frames.append(
            pd.DataFrame(
                {"chrom": peak_set.chrom, "start": centre - window_length // 2, "task": t}
            ).assign(end=lambda f: f["start"] + window_length)
        )
    resized = pd.concat(frames, ignore_index=True)
    # bedtools needs non-negative coordinates; clip for merging only, the window is recentred.
    resized["start"] = resized["start"].clip(lower=0)
    merged = intervals.merge(resized, order, distance=-merge_overlap, collapse="task")
    mid = (merged["start"].to_numpy(np.int64) + merged["end"].to_numpy(np.int64)) // 2
    windows = pd.DataFrame(
        {"chrom": merged["chrom"].to_numpy(object), "start": mid - window_length // 2, "end": mid - window_length // 2 + window_length}
    )
    labels = np.zeros((len(merged), len(peaks)), dtype=np.uint8)
    for row, tasks in enumerate(merged["task"].astype(str)):
        labels[row, [int(t) for t in tasks.split(",")]] = 1
    return Positives(windows=windows, labels=labels, peak_regions=_peaks_frame(peaks)[["chrom", "start", "end"]])
