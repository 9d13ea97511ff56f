"""The encode stage: windows BED -> genome fetch -> one-hot -> HDF5, streamed in blocks.

A chunk job encodes rows [lo, hi) of a split's windows BED; peak memory is set by
`block_rows` (about block_rows x window_length x 5 bytes), not by the genome or the BED.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import dataset
from .errors import InputError
from .genome import Genome, one_hot_encode


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
        codes = genome.fetch_windows(chrom, starts[rows], window_length)
        if rows[-1] - rows[0] + 1 == rows.size:  # contiguous (sorted BED): encode in place
            one_hot_encode(codes, out=x[rows[0] : rows[-1] + 1])
        else:
            x[rows] = one_hot_encode(codes)
    return x


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
        label_dtype = np.uint8
        with dataset.create_dataset(out_path, max(0, hi - lo), window_length, tasks, attrs, label_dtype) as f:
            offset = 0
            for frame in reader:
                labels = frame[tasks].to_numpy(np.float32)
                if np.isnan(labels).any() or not np.isin(labels, (0, 1)).all():
                    raise InputError(bed_path, f"labels must be 0 or 1 (rows {lo + offset + 1}-{lo + offset + len(frame)})")
                x = encode_rows(genome, frame, window_length)
                dataset.write_rows(f, offset, x, labels.astype(label_dtype), frame["chrom"].to_numpy(object),
                                   frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64))  # fmt: skip
                offset += len(frame)
    finally:
        genome.close()
    return hi - lo
