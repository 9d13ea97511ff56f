"""The encode stage: windows BED -> genome fetch -> one-hot -> HDF5, streamed in blocks.

A chunk job encodes rows [lo, hi) of a split's windows BED; peak memory is set by
`block_rows` (about block_rows x window_length x 5 bytes), not by the genome or the BED.
"""

from __future__ import annotations

import queue
import threading

import numpy as np
import pandas as pd

from . import dataset
from .errors import InputError
from .genome import Genome


def count_rows(bed_path) -> int:
    """Data rows of a windows BED (all lines but the '#' header)."""
    n = 0
    with open(bed_path, "rb") as handle:
        while block := handle.read(1 << 22):
            n += block.count(b"\n")
    return max(0, n - 1)


def chunk_bounds(n_rows: int, index: int, n_chunks: int) -> tuple[int, int]:
    """Rows [lo, hi) of chunk `index` (0-based) of `n_chunks` near-equal chunks."""
    return index * n_rows // n_chunks, (index + 1) * n_rows // n_chunks


def _read_bed_rows(bed_path, lo: int, hi: int, block_rows: int):
    with open(bed_path) as handle:
        header = handle.readline()
    if not header.startswith("#chrom\tstart\tend\tname"):
        raise InputError(bed_path, "not a deepcis windows BED (missing '#chrom start end name <tasks>' header)", 1)
    columns = header[1:].rstrip("\n").split("\t")
    tasks = columns[4:]
    if hi <= lo:
        return tasks, iter(())
    reader = pd.read_csv(
        bed_path, sep="\t", header=None, names=columns, skiprows=1 + lo, nrows=hi - lo, chunksize=block_rows,
        dtype={"chrom": object, "name": object, "start": np.int64, "end": np.int64} | dict.fromkeys(tasks, np.float32),
    )  # fmt: skip
    return tasks, reader


def encode_rows(genome: Genome, frame: pd.DataFrame, window_length: int) -> np.ndarray:
    """One-hot (n, L, 4) of the windows in `frame` (any order, several chromosomes)."""
    x = np.empty((len(frame), window_length, 4), dtype=np.uint8)
    starts = frame["start"].to_numpy(np.int64)
    bad = np.flatnonzero(frame["end"].to_numpy(np.int64) - starts != window_length)
    if bad.size:
        row = frame.iloc[bad[0]]
        raise ValueError(f"window {row['chrom']}:{row['start']}-{row['end']} is not {window_length} bp long")
    for chrom, rows in frame.groupby("chrom", sort=False).indices.items():
        if rows[-1] - rows[0] + 1 == rows.size:  # contiguous (sorted BED): encode in place
            genome.one_hot_windows(chrom, starts[rows], window_length, out=x[rows[0] : rows[-1] + 1])
        else:
            x[rows] = genome.one_hot_windows(chrom, starts[rows], window_length)
    return x


def _encoded_blocks(genome: Genome, reader, tasks, window_length: int, bed_path, first_row: int):
    """Yield (offset, x, y, frame) per BED block: read, check labels, fetch and encode."""
    offset = 0
    for frame in reader:
        labels = frame[tasks].to_numpy(np.float32)
        if np.isnan(labels).any() or not np.isin(labels, (0, 1)).all():
            raise InputError(
                bed_path, f"labels must be 0 or 1 (rows {first_row + offset + 1}-{first_row + offset + len(frame)})"
            )
        yield offset, encode_rows(genome, frame, window_length), labels.astype(np.uint8), frame
        offset += len(frame)


def _in_background(blocks, depth: int = 2):
    """Run a generator in a thread, `depth` items ahead: encoding (numpy, GIL released) then
    overlaps the HDF5 writes of the consumer. Exceptions reach the consumer."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce():
        try:
            for item in blocks:
                while not stop.is_set():
                    try:
                        items.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as error:  # handed to the consumer, which re-raises it
            items.put(error)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while (item := items.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def encode_bed(
    genome_path,
    bed_path,
    out_path,
    window_length: int,
    attrs: dict,
    rows: tuple[int, int] | None = None,
    block_rows: int = 4096,
) -> int:
    """Encode rows [lo, hi) of `bed_path` into a new dataset at `out_path`; returns the row count."""
    n_total = count_rows(bed_path)
    lo, hi = rows if rows is not None else (0, n_total)
    hi = min(hi, n_total)
    tasks, reader = _read_bed_rows(bed_path, lo, hi, block_rows)
    genome = Genome(genome_path)
    try:
        with dataset.create_dataset(out_path, max(0, hi - lo), window_length, tasks, attrs) as f:
            blocks = _encoded_blocks(genome, reader, tasks, window_length, bed_path, lo)
            for offset, x, y, frame in _in_background(blocks):
                dataset.write_rows(f, offset, x, y, frame["chrom"].to_numpy(object),
                                   frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64))  # fmt: skip
    finally:
        genome.close()
    return hi - lo
