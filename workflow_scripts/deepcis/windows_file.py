"""The windows file pair prepare hands to encode: a BED of windows and a binary labels file.

`{name}.bed`: a header line `#chrom start end name`, then one row per window (sorted by
genome order and start for prepare's splits). `{name}.labels.h5`, beside it
(`labels_path`): dataset `y` (N, T), row i the labels of BED data row i: uint8 0/1, or
float32 (signal targets and 0/1 labels; NaN = missing label) when the tasks sheet has signal
tasks or measured regions; chunked by `CHUNK_ROWS` rows and gzip level 1 compressed; dataset
`tasks` (T,) UTF-8, the task names in column order; attribute `n_windows`.

Why not one text column per task: at DeepSEA size (4.4 M windows x 919 tasks) that is 2 bytes
per window x task, 8 GB of text, written at ~1 M labels/s and parsed at ~4 M labels/s
(docs/benchmarks.md); gzip'd uint8 labels take ~0.06 bytes per window x task and are written
and read at 60-100 M labels/s. Both files are written atomically; the labels are appended
block by block (`WindowsWriter`), so a streamed writer (the scanning sets) holds one block.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io_utils import atomic_path

WINDOWS_BED_FIXED = ["chrom", "start", "end", "name"]
HEADER = "#" + "\t".join(WINDOWS_BED_FIXED)
CHUNK_ROWS = 4096


def labels_path(bed_path) -> Path:
    """The labels file of a windows BED: `x.bed` -> `x.labels.h5`."""
    bed_path = Path(bed_path)
    return bed_path.with_name(bed_path.name.removesuffix(".bed") + ".labels.h5")


class WindowsWriter:
    """Write a windows BED and its labels file block by block; both appear only on success.

    Use as a context manager; `write(frame, y)` appends windows (chrom, start, end, name) and
    their labels (n, T).
    """

    def __init__(self, bed_path, tasks: list[str], label_dtype=np.uint8):
        self.bed_path, self.tasks, self.label_dtype = Path(bed_path), list(tasks), np.dtype(label_dtype)
        self.n = 0

    def __enter__(self):
        import h5py

        with ExitStack() as stack:
            # entered first, so left last: the labels are renamed into place before the BED,
            # and a BED that exists always has its labels beside it
            bed_tmp = stack.enter_context(atomic_path(self.bed_path))
            labels_tmp = stack.enter_context(atomic_path(labels_path(self.bed_path)))
            self._bed = stack.enter_context(open(bed_tmp, "w"))
            self._bed.write(HEADER + "\n")
            self._h5 = stack.enter_context(h5py.File(labels_tmp, "w", locking=False))
            width = max(1, len(self.tasks))
            self._y = self._h5.create_dataset("y", shape=(0, len(self.tasks)), maxshape=(None, len(self.tasks)),
                                              dtype=self.label_dtype, chunks=(CHUNK_ROWS, width), compression="gzip",
                                              compression_opts=1, track_times=False)  # fmt: skip
            self._h5.create_dataset("tasks", data=np.array(self.tasks, dtype=object),
                                    dtype=h5py.string_dtype("utf-8"), track_times=False)  # fmt: skip
            self._stack = stack.pop_all()
        return self

    def write(self, frame: pd.DataFrame, y: np.ndarray) -> None:
        y = np.asarray(y)
        if y.shape != (len(frame), len(self.tasks)):
            raise ValueError(f"labels {y.shape} do not match {len(frame)} windows x {len(self.tasks)} tasks")
        frame[WINDOWS_BED_FIXED].to_csv(self._bed, sep="\t", header=False, index=False)
        self._y.resize(self.n + len(frame), axis=0)
        self._y[self.n :] = y.astype(self.label_dtype, copy=False)
        self.n += len(frame)

    def __exit__(self, *exc):
        if exc[0] is None:
            self._h5.attrs["n_windows"] = self.n
        return self._stack.__exit__(*exc)


def write_windows(frame: pd.DataFrame, tasks: list[str], bed_path, block_rows: int = 1 << 16) -> int:
    """Windows with one label column per task (a frame as prepare builds it) -> the file pair."""
    dtype = np.float32 if any(frame[t].dtype.kind == "f" for t in tasks) else np.uint8
    with WindowsWriter(bed_path, tasks, dtype) as out:
        for lo in range(0, len(frame), block_rows):
            part = frame.iloc[lo : lo + block_rows]
            out.write(part, part[tasks].to_numpy(dtype) if tasks else np.zeros((len(part), 0), dtype))
    return len(frame)


def read_header(bed_path) -> list[str]:
    """The BED columns and task names (`chrom start end name <tasks>`), checking the pair."""
    with open(bed_path) as handle:
        header = handle.readline().rstrip("\n")
    if header != HEADER:
        raise InputError(bed_path, f"not a deepcis windows BED (its first line must be {HEADER!r})", 1)
    return [*WINDOWS_BED_FIXED, *task_names(bed_path)]


def open_labels(bed_path):
    """The labels file of a windows BED, open read-only (h5py.File), or InputError."""
    from .dataset import open_h5

    path = labels_path(bed_path)
    f = open_h5(path, f"labels file of {bed_path}", ("y", "tasks"))
    if f["y"].ndim != 2 or f["y"].shape[1] != f["tasks"].shape[0]:
        f.close()
        raise InputError(path, "not a deepcis labels file (needs y (N, T) and tasks (T,))")
    return f


def task_names(bed_path) -> list[str]:
    """The task names of a windows BED, from its labels file (label column order)."""
    with open_labels(bed_path) as f:
        return [t.decode() if isinstance(t, bytes) else str(t) for t in f["tasks"][()]]


def read_windows(bed_path, label_dtype=np.uint8) -> tuple[pd.DataFrame, list[str]]:
    """The whole pair as one frame (chrom, start, end, name, one column per task) and the task
    names; for small sets and tests (encode reads blocks)."""
    columns = read_header(bed_path)
    tasks = columns[len(WINDOWS_BED_FIXED) :]
    frame = pd.read_csv(bed_path, sep="\t", skiprows=1, header=None, names=WINDOWS_BED_FIXED,
                        dtype={"chrom": object, "name": object, "start": np.int64, "end": np.int64})  # fmt: skip
    with open_labels(bed_path) as f:
        y = f["y"][()]
    if len(y) != len(frame):
        raise InputError(labels_path(bed_path), f"{len(y):,} label rows for the {len(frame):,} windows of {bed_path}")
    labels = pd.DataFrame(y.astype(label_dtype), columns=tasks)
    return pd.concat([frame, labels], axis=1), tasks
