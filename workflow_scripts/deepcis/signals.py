"""Continuous targets from bigWig signal tracks (pyBigWig), and measured-region masks.

A signal task's target for a window is the signal over the window's central bin (the
`bin_size` bases around the window's centre, as for DeepSEA labels), aggregated (`mean` or
`sum` over the bin's bases) and transformed (`log1p` or `none`). Bases a bigWig has no value
for count as 0 (bigWig files from bedGraphs leave zero-signal stretches out); a window on a
chromosome the bigWig lacks gets NaN (not measured). A task's optional `measured` BED lists
the regions where it was measured: a window whose central bin is not wholly inside one gets
NaN, for a binary or a signal task (HDF5 `y` is then float32, NaN = missing label; the losses
and metrics leave those out).

Values are read a region at a time (windows of one chromosome grouped into spans of at most
`span` bases), so memory stays bounded whatever the chromosome length. No TensorFlow here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError

log = logging.getLogger(__name__)

AGGREGATES = ("mean", "sum")
TRANSFORMS = ("log1p", "none")
SPAN = 1 << 20


def _pybigwig():
    import pyBigWig

    return pyBigWig


def open_bigwig(path):
    """Open a bigWig with pyBigWig; InputError if it is missing or not a bigWig."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "bigWig file not found")
    try:
        bw = _pybigwig().open(str(path))
    except RuntimeError:
        bw = None
    if bw is None or not bw.isBigWig():
        raise InputError(path, "not a bigWig file (pyBigWig cannot read it)")
    return bw


def check_bigwig(path, chrom_sizes: dict[str, int]) -> list[str]:
    """Refuse a bigWig whose chromosome lengths differ from the genome's (another assembly);
    return warnings for chromosomes it lacks (their windows are NaN)."""
    bw = open_bigwig(path)
    try:
        chroms = bw.chroms()
    finally:
        bw.close()
    other = [(c, n, chroms[c]) for c, n in chrom_sizes.items() if c in chroms and chroms[c] != n]
    if other:
        c, n, m = other[0]
        raise InputError(path, f"chromosome {c} is {m} bp long in the bigWig but {n} bp in the genome (another assembly?)"
                               + (f"; {len(other) - 1} more differ" if len(other) > 1 else ""))  # fmt: skip
    missing = [c for c in chrom_sizes if c not in chroms]
    if len(missing) == len(chrom_sizes):
        raise InputError(path, f"shares no chromosome name with the genome (bigWig: {list(chroms)[:5]}, "
                               f"genome: {list(chrom_sizes)[:5]})")  # fmt: skip
    return [f"{path}: no signal for chromosome(s) {missing[:10]}: their windows are NaN (not measured)"] if missing else []


def central_bins(start, end, bin_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The central `bin_size` bases of each window (DeepSEA's centring: left of centre when odd)."""
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    lo = start + (end - start - bin_size) // 2
    return lo, lo + bin_size


def window_signal(path, chrom, start, end, bin_size: int, aggregate: str = "mean", transform: str = "log1p",
                  span: int = SPAN) -> np.ndarray:  # fmt: skip
    """float32 target per window: `aggregate` of the signal over the central bin, transformed."""
    if aggregate not in AGGREGATES:
        raise ConfigError(f"aggregate {aggregate!r} is not one of {AGGREGATES}")
    if transform not in TRANSFORMS:
        raise ConfigError(f"transform {transform!r} is not one of {TRANSFORMS}")
    chrom = np.asarray(chrom, dtype=object)
    lo, hi = central_bins(start, end, bin_size)
    out = np.full(len(lo), np.nan, dtype=np.float64)
    bw = open_bigwig(path)
    try:
        sizes = bw.chroms()
        for c in pd.unique(chrom):
            rows = np.flatnonzero(chrom == c)
            if c not in sizes:
                continue
            rows = rows[np.argsort(lo[rows], kind="stable")]
            i = 0
            while i < len(rows):  # group windows into spans of at most `span` bases
                a = int(max(0, lo[rows[i]]))
                j = i
                while j < len(rows) and hi[rows[j]] - a <= span:
                    j += 1
                j = max(j, i + 1)
                group = rows[i:j]
                b = int(min(sizes[c], hi[group].max()))
                values = np.nan_to_num(np.asarray(bw.values(c, a, b, numpy=True), dtype=np.float64), nan=0.0)
                csum = np.concatenate([[0.0], np.cumsum(values)])
                s = np.clip(lo[group] - a, 0, b - a)
                e = np.clip(hi[group] - a, 0, b - a)
                total = csum[e] - csum[s]
                out[group] = total / bin_size if aggregate == "mean" else total
                i = j
    finally:
        bw.close()
    if transform == "log1p":
        if np.nanmin(out, initial=0.0) < 0:
            raise InputError(path, "negative signal values: transform log1p needs signal >= 0 (use transform: none)")
        out = np.log1p(out)
    return out.astype(np.float32)


def read_measured(path, chrom_sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """A BED of measured regions (validated against the genome) -> {chrom: (n, 2) int64 merged,
    sorted intervals}."""
    from .peaks import read_intervals

    intervals = read_intervals(path, chrom_sizes, what="measured-regions BED")
    merged = {}
    for c in pd.unique(intervals.chrom):
        rows = intervals.chrom == c
        iv = np.stack([intervals.start[rows], intervals.end[rows]], axis=1).astype(np.int64)
        iv = iv[np.argsort(iv[:, 0], kind="stable")]
        out = [list(iv[0])]
        for s, e in iv[1:]:
            if s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        merged[str(c)] = np.asarray(out, dtype=np.int64)
    return merged


def measured_mask(measured: dict[str, np.ndarray], chrom, start, end, bin_size: int) -> np.ndarray:
    """True where a window's central bin lies wholly inside one measured region."""
    chrom = np.asarray(chrom, dtype=object)
    lo, hi = central_bins(start, end, bin_size)
    inside = np.zeros(len(lo), dtype=bool)
    for c in pd.unique(chrom):
        iv = measured.get(str(c))
        if iv is None or not len(iv):
            continue
        rows = np.flatnonzero(chrom == c)
        k = np.searchsorted(iv[:, 0], lo[rows], side="right") - 1
        ok = k >= 0
        inside[rows[ok]] = hi[rows[ok]] <= iv[k[ok], 1]
    return inside


def write_bigwig(path, chrom_sizes: dict[str, int], tracks: dict[str, np.ndarray]):
    """A bigWig of per-base values (NaN or 0 runs left out) for each chromosome, atomically."""
    from .io_utils import atomic_path

    with atomic_path(path) as tmp:
        bw = _pybigwig().open(str(tmp), "w")
        try:
            bw.addHeader(list(chrom_sizes.items()), maxZooms=4)
            for c in chrom_sizes:
                values = np.asarray(tracks.get(c, np.zeros(0)), dtype=np.float64)
                nz = np.flatnonzero(np.nan_to_num(values) != 0)
                if not len(nz):
                    continue
                # runs of equal consecutive values -> one bedGraph-style entry each
                v = values[nz]
                breaks = np.flatnonzero((np.diff(nz) != 1) | (np.diff(v) != 0)) + 1
                starts = np.concatenate([[0], breaks])
                ends = np.concatenate([breaks, [len(nz)]])
                bw.addEntries([c] * len(starts), nz[starts].tolist(), ends=(nz[ends - 1] + 1).tolist(),
                              values=v[starts].tolist())  # fmt: skip
        finally:
            bw.close()


class TaskTargets:
    """The signal tasks' targets and the measured-region masks, prepared once (every bigWig
    checked, every measured BED read) and applied to windows block by block (`apply`).

    `task_rows` are the tasks sheet's rows (deepcis.config.read_tasks); `warnings` holds the
    bigWig checks' findings. `labelled` counts, per task, the windows given a label so far,
    so that a task left with none at all is found once every block is applied (`unlabelled`).
    """

    def __init__(self, task_rows: list[dict], chrom_sizes: dict[str, int], bin_size: int,
                 float_labels: bool | None = None):  # fmt: skip
        self.task_rows, self.bin_size = task_rows, bin_size
        self.warnings = []
        for row in task_rows:
            if row.get("type") == "signal":
                self.warnings += check_bigwig(row["signal"], chrom_sizes)
        self.measured = {row["name"]: read_measured(row["measured"], chrom_sizes) for row in task_rows
                         if "measured" in row}  # fmt: skip
        if float_labels is None:
            float_labels = bool(self.measured) or any(row.get("type") == "signal" for row in task_rows)
        self.float_labels = float_labels
        self.tasks = [row["name"] for row in task_rows]
        self.labelled = dict.fromkeys(self.tasks, 0)
        self.seen = 0

    def apply(self, windows: pd.DataFrame) -> pd.DataFrame:
        """`windows` (one 0/1 column per binary task) with every task column in sheet order,
        float32 if any task is a signal task or has measured regions, else uint8."""
        out = windows.copy()
        chrom, start, end = out["chrom"].to_numpy(object), out["start"].to_numpy(np.int64), out["end"].to_numpy(np.int64)
        for row in self.task_rows:
            name = row["name"]
            if row.get("type") == "signal":
                out[name] = window_signal(row["signal"], chrom, start, end, self.bin_size, row.get("aggregate", "mean"),
                                          row.get("transform", "log1p"))  # fmt: skip
            elif self.float_labels:
                out[name] = out[name].astype(np.float32)
            if name in self.measured:
                inside = measured_mask(self.measured[name], chrom, start, end, self.bin_size)
                out.loc[~inside, name] = np.nan
                log.info("task %s: %d of %d windows outside its measured regions (NaN)", name, int((~inside).sum()),
                         len(out))  # fmt: skip
            self.labelled[name] += int(out[name].notna().sum()) if self.float_labels else len(out)
        self.seen += len(out)
        fixed = [c for c in out.columns if c not in self.tasks]
        return out[fixed + self.tasks]

    def unlabelled(self) -> list[str]:
        """A warning per task no window applied so far has a label for."""
        if not self.float_labels or not self.seen:
            return []
        return [f"task {t}: no window has a label (every one is outside its measured regions or on a chromosome "
                "without signal)" for t, n in self.labelled.items() if n == 0]  # fmt: skip


def add_task_targets(windows: pd.DataFrame, task_rows: list[dict], chrom_sizes: dict[str, int], bin_size: int,
                     float_labels: bool | None = None) -> tuple[pd.DataFrame, list[str], list[str]]:  # fmt: skip
    """Add the signal tasks' targets and the measured-region masks to prepared windows, all at
    once (`TaskTargets` applies them block by block).

    Returns (windows with every task column in sheet order, float32 if any task is a signal
    task or has measured regions (or `float_labels`), else uint8; the task names; warnings).
    Every bigWig and BED is checked before any is read.
    """
    targets = TaskTargets(task_rows, chrom_sizes, bin_size, float_labels)
    out = targets.apply(windows)
    return out, targets.tasks, targets.warnings + targets.unlabelled()
