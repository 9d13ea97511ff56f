"""Scanning evaluation sets: every DeepSEA bin of a held-out split, labelled as prepare labels bins.

Models are used to scan sequence, so they are also evaluated that way: instead of only the
windows prepare kept for training (positives plus a sample of negatives), a scanning set holds
the window of **every** `bin_size` bin of the split's territory (the bin grid of prepare,
window start = bin start + bin_size // 2 - window_length // 2) whose window lies wholly inside
that territory (so no scanned window overlaps a window of another split).

Each bin is labelled with the rule prepare uses (`labels.bin_labels`: a task is 1 when more
than `min_fraction` of the bin lies in its merged peaks). Bins are then treated like prepare
treats them:

- a bin positive for at least one task is kept with its labels (name `peak`);
- a bin that touches a peak of some task without passing the threshold for any task is
  *ambiguous*: prepare never uses it, neither as a positive nor as a negative, so it is left
  out here too (counted as `ambiguous`);
- every other bin is a negative for all tasks (name `negative_scan`);
- the window filters of prepare apply in the same order and are counted per reason:
  `off_chromosome_end`, `blacklist` (the window overlaps a blacklisted region), `too_many_n`
  (more than `max_n_fraction` non-ACGT bases; assembly gaps).

The territory is processed `block_bins` bins at a time and the rows are appended to the
windows BED as they are made, so memory is bounded by the block, not by the territory.
The output is an ordinary windows BED and its labels file (docs/architecture.md): the encode stage turns it into
an HDF5 dataset and the usual predict / metrics rules score it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from . import intervals, labels, splits, window_filters
from .genome import Genome
from .peaks import read_intervals
from .prepare import read_task_peaks
from .windows_file import WindowsWriter

log = logging.getLogger(__name__)

SCAN_NAME = "negative_scan"


def scan_bins(territory: pd.DataFrame, chrom_sizes: dict[str, int], bin_size: int, window_length: int,
              block_bins: int = 50_000):  # fmt: skip
    """Yield frames (chrom, start, end) of the bins whose window lies wholly inside one interval
    of `territory`, in genome order, at most `block_bins` per frame."""
    offset = bin_size // 2 - window_length // 2
    order = {c: i for i, c in enumerate(chrom_sizes)}
    spans = territory.assign(_k=territory["chrom"].map(order)).sort_values(["_k", "start"])
    for chrom, start, end in spans[["chrom", "start", "end"]].itertuples(index=False):
        size = int(chrom_sizes[chrom])
        lo = max(int(start), 0, offset)  # first window start allowed: inside the span, the bin inside the chromosome
        hi = min(int(end), size)
        first = -(-(lo - offset) // bin_size)  # first bin whose window starts at or after lo
        last = (hi - window_length - offset) // bin_size  # last bin whose window ends at or before hi
        for block_first in range(first, last + 1, block_bins):
            index = np.arange(block_first, min(last + 1, block_first + block_bins), dtype=np.int64)
            bin_start = index * bin_size
            yield pd.DataFrame({"chrom": chrom, "start": bin_start, "end": np.minimum(bin_start + bin_size, size)})


def write_scan_windows(genome_path, tasks: dict[str, str], territory: pd.DataFrame, prepare_cfg: dict, out_bed,
                       split: str, blacklist_path=None, regions: pd.DataFrame | None = None,
                       keep_tasks: list[str] | None = None, block_bins: int = 50_000) -> pd.DataFrame:  # fmt: skip
    """Write the scanning set of one split's `territory` as a windows BED; returns its stats
    (long format, section `scan` and `scan_positives`, like prepare's stats table).

    `tasks`: every peak task of the sheet (name -> peak file). `keep_tasks`: the label columns
    to write (default all), e.g. the tasks prepare kept after `min_positives`; a bin positive
    only for a task left out touches a peak and is ambiguous, as in prepare. `regions`: the
    run's regions (config `regions`) when the run is restricted to them; a window must then
    lie inside one of them too."""
    if prepare_cfg["mode"] != "deepsea":
        raise ValueError("the scanning evaluation needs DeepSEA bins (prepare.mode: deepsea)")
    window_length = int(prepare_cfg["window_length"])
    bin_size = int(prepare_cfg["deepsea"]["bin_size"])
    min_fraction = float(prepare_cfg["deepsea"]["min_fraction"])
    max_n = float(prepare_cfg["max_n_fraction"])
    task_names = list(keep_tasks) if keep_tasks is not None else list(tasks)
    unknown = [t for t in task_names if t not in tasks]
    if unknown:
        raise ValueError(f"scanning set: task(s) {unknown} have no peak file")
    columns = [list(tasks).index(t) for t in task_names]
    genome = Genome(genome_path)
    try:
        chrom_sizes = genome.chrom_sizes
        peaks, warnings = read_task_peaks(tasks, chrom_sizes, chrom_sizes, require=False)
        for message in warnings:
            log.warning(message)
        per_task = labels.merged_task_peaks(peaks, chrom_sizes)
        blacklist = None
        if blacklist_path:
            bl = read_intervals(blacklist_path, chrom_sizes, what="blacklist", allow_empty=True)
            blacklist = bl.frame()
        counts = dict.fromkeys(["bins", *window_filters.REASONS, "outside_regions", "ambiguous", "windows", "positive",
                                "negative"], 0)  # fmt: skip
        positives = np.zeros(len(task_names), dtype=np.int64)
        offset = bin_size // 2 - window_length // 2
        with WindowsWriter(out_bed, task_names) as out:
            for bins in scan_bins(territory, chrom_sizes, bin_size, window_length, block_bins):
                counts["bins"] += len(bins)
                windows = bins.assign(start=bins["start"] + offset, end=bins["start"] + offset + window_length)
                keep = np.ones(len(bins), dtype=bool)
                if regions is not None:
                    keep = splits.inside_any(windows, regions)
                    counts["outside_regions"] += int((~keep).sum())
                result = window_filters.filter_windows(windows[keep].reset_index(drop=True), chrom_sizes, genome,
                                                blacklist, max_n)  # fmt: skip
                for reason, n in result.dropped.items():
                    counts[reason] += n
                keep[np.flatnonzero(keep)[~result.keep]] = False
                bins, windows = bins[keep].reset_index(drop=True), windows[keep].reset_index(drop=True)
                near = _near(per_task, bins)
                y = labels.bin_labels(bins, near, len(tasks), bin_size, min_fraction)[:, columns]
                positive = y.any(axis=1)
                ambiguous = ~positive & intervals.overlaps_any(bins, near)
                counts["ambiguous"] += int(ambiguous.sum())
                use = ~ambiguous
                rows = windows[use].assign(name=np.where(positive[use], "peak", SCAN_NAME))
                out.write(rows, y[use])
                counts["windows"] += len(rows)
                counts["positive"] += int(positive[use].sum())
                positives += y[use].sum(axis=0, dtype=np.int64)
        counts["negative"] = counts["windows"] - counts["positive"]
    finally:
        genome.close()
    if counts["windows"] == 0:
        raise ValueError(f"the scanning set of split {split!r} is empty: no bin of {len(territory)} region(s) passes "
                         "the filters")  # fmt: skip
    rows = [("scan", split, item, int(n)) for item, n in counts.items()]
    rows += [("scan_positives", split, task, int(n)) for task, n in zip(task_names, positives)]
    log.info("scanning set %s: %s", split, counts)
    return pd.DataFrame(rows, columns=["section", "split", "item", "value"])


def _near(per_task: pd.DataFrame, bins: pd.DataFrame) -> pd.DataFrame:
    """The merged peaks that can touch this block of bins (one chromosome per block)."""
    if bins.empty:
        return per_task.iloc[:0]
    chrom = bins["chrom"].iloc[0]
    lo, hi = int(bins["start"].iloc[0]), int(bins["end"].iloc[-1])
    mask = (per_task["chrom"] == chrom) & (per_task["end"] > lo) & (per_task["start"] < hi)
    return per_task[mask.to_numpy()].reset_index(drop=True)
