"""The encode stage: windows BED -> genome fetch -> base codes (or one-hot) -> HDF5, streamed
in blocks.

A chunk job encodes rows [lo, hi) of a split's windows BED. The rows are cut into blocks of
`block_rows`; each block is parsed, fetched, encoded and its bytes (one base code per base by
default, `x_encoding="one_hot"` for 4 bytes per base) written straight to their place in the
(contiguous, pre-allocated) `x` dataset with `os.pwrite`. With `workers` > 1 the blocks run in
parallel worker processes; the parent writes the small per-row datasets (labels,
coordinates) in order. Peak memory is set by the block size (about block_rows x
window_length x 2 bytes per worker for base codes, x 5 for one-hot), not by the genome or the
BED.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from . import dataset, windows_file
from .errors import InputError
from .genome import BASE_CODES, Genome, one_hot_encode
from .prepare import read_windows_header


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


def block_byte_ranges(bed_path, lo: int, hi: int, block_rows: int) -> list[tuple[int, int, int, int]]:
    """(first_row, n_rows, byte_start, byte_end) of each block of rows [lo, hi), found in one
    pass over the file's newlines (data row r starts after newline r)."""
    wanted = list(range(lo, hi, block_rows)) + [hi]
    marks, found = {}, 0  # data row -> byte offset where it starts
    need = iter(wanted)
    target = next(need)
    with open(bed_path, "rb") as handle:
        pos = 0
        while target is not None and (block := handle.read(1 << 22)):
            newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
            # newline k (0-based, counting from the header's) ends line k; data row r starts after newline r
            while target is not None and target - found < newlines.size:
                marks[target] = pos + int(newlines[target - found]) + 1
                target = next(need, None)
            found += newlines.size
            pos += len(block)
    if target is not None:  # hi is past the last newline (no trailing newline or empty range)
        for t in [t for t in wanted if t not in marks]:
            marks[t] = pos
    return [(a, b - a, marks[a], marks[b]) for a, b in zip(wanted[:-1], wanted[1:])]


def encode_rows(genome: Genome, frame: pd.DataFrame, window_length: int, x_encoding: str = "one_hot",
                flank: int = 0) -> np.ndarray:  # fmt: skip
    """One-hot (n, L, 4), or base codes (n, L) with `x_encoding="base_codes"`, of the windows
    in `frame` (any order, several chromosomes). With `flank` k each row is read k bases wider
    on both sides (L + 2k; bases beyond a chromosome end are N)."""
    codes = x_encoding == "base_codes"
    read = genome.fetch_windows if codes else genome.one_hot_windows
    x = np.empty(dataset.x_shape(len(frame), window_length, x_encoding, flank), dtype=np.uint8)
    starts = frame["start"].to_numpy(np.int64)
    bad = np.flatnonzero(frame["end"].to_numpy(np.int64) - starts != window_length)
    if bad.size:
        row = frame.iloc[bad[0]]
        raise ValueError(f"window {row['chrom']}:{row['start']}-{row['end']} is not {window_length} bp long")
    stored = window_length + 2 * flank
    for chrom, rows in frame.groupby("chrom", sort=False).indices.items():
        wide = starts[rows] - flank
        edge = np.zeros(rows.size, bool)
        if flank:
            edge = (wide < 0) | (wide + stored > genome.chrom_sizes[chrom])
        if edge.any():  # flanks running off the chromosome: the bases there are N
            for r, s in zip(rows[edge], wide[edge]):
                x[r] = _read_padded(genome, chrom, int(s), stored, codes)
            rows, wide = rows[~edge], wide[~edge]
            if not rows.size:
                continue
        if rows[-1] - rows[0] + 1 == rows.size:  # contiguous (sorted BED): encode in place
            read(chrom, wide, stored, out=x[rows[0] : rows[-1] + 1])
        else:
            x[rows] = read(chrom, wide, stored)
    if codes:  # ASCII -> base codes, in place
        np.take(BASE_CODES, x, out=x)
    return x


def _read_padded(genome: Genome, chrom: str, start: int, length: int, ascii_codes: bool) -> np.ndarray:
    """[start, start + length) of a chromosome as ASCII codes (or one-hot), N beyond its ends."""
    size = genome.chrom_sizes[chrom]
    row = np.full(length, ord("N"), np.uint8)
    lo, hi = max(start, 0), min(start + length, size)
    if hi > lo:
        row[lo - start : hi - start] = genome.fetch(chrom, lo, hi)
    return row if ascii_codes else one_hot_encode(row)


# Per-process state of the block workers (set once by _init_worker, or directly when serial).
_STATE: dict = {}


def _init_worker(genome_path, bed_path, out_path, x_offset, columns, window_length, label_dtype="uint8",
                 x_encoding="base_codes", flank=0):  # fmt: skip
    _STATE.update(
        x_encoding=x_encoding,
        flank=flank,
        label_dtype=np.dtype(label_dtype),
        genome=Genome(genome_path),
        bed=open(bed_path, "rb"),
        labels=windows_file.open_labels(bed_path),
        out=os.open(out_path, os.O_WRONLY),
        x_offset=x_offset,
        columns=columns,
        window_length=window_length,
        bed_path=str(bed_path),
    )


def _close_worker():
    if _STATE:
        _STATE["genome"].close()
        _STATE["bed"].close()
        _STATE["labels"].close()
        os.close(_STATE["out"])
        _STATE.clear()


def _encode_block(block):
    """Parse, check, encode one block and pwrite its rows of x; return the small columns."""
    first_row, n_rows, byte_lo, byte_hi, bed_row = block
    s = _STATE
    s["bed"].seek(byte_lo)
    text = s["bed"].read(byte_hi - byte_lo)
    length = s["window_length"]
    frame = pd.read_csv(io.BytesIO(text), sep="\t", header=None, names=windows_file.WINDOWS_BED_FIXED,
                        dtype={"chrom": object, "name": object, "start": np.int64, "end": np.int64})  # fmt: skip
    if len(frame) != n_rows:
        raise InputError(s["bed_path"], f"expected {n_rows} rows from row {first_row + 1}, read {len(frame)}")
    labels = s["labels"]["y"][bed_row : bed_row + n_rows].astype(np.float32)
    where = f"data rows {bed_row + 1}-{bed_row + n_rows} of {s['bed_path']}"
    if s.get("label_dtype", np.dtype(np.uint8)) == np.uint8:
        if np.isnan(labels).any() or not np.isin(labels, (0, 1)).all():
            raise InputError(s["labels"].filename, f"labels must be 0 or 1 ({where})")
    elif np.isinf(labels).any():
        raise InputError(s["labels"].filename, f"infinite targets ({where})")
    x = encode_rows(s["genome"], frame, length, s["x_encoding"], s.get("flank", 0))
    row_bytes = x[0].nbytes if len(x) else 0
    view, at = memoryview(x).cast("B"), s["x_offset"] + first_row * row_bytes
    first, size = at, view.nbytes
    while view:  # pwrite may write less than asked
        written = os.pwrite(s["out"], view, at)
        view, at = view[written:], at + written
    # Start writing this block back to disk now, while the next is encoded, instead of
    # leaving it all to the fsync before the rename.
    try:
        os.posix_fadvise(s["out"], first, size, os.POSIX_FADV_DONTNEED)
    except OSError:  # advisory only; some file systems refuse it
        pass
    return (labels.astype(s.get("label_dtype", np.uint8)), frame["chrom"].to_numpy(object),
            frame["start"].to_numpy(np.int64), frame["end"].to_numpy(np.int64))  # fmt: skip


def encode_bed(
    genome_path,
    bed_path,
    out_path,
    window_length: int,
    attrs: dict,
    rows: tuple[int, int] | None = None,
    block_rows: int = 4096,
    workers: int = 1,
    chunk: tuple[int, int] | None = None,
    label_dtype: str = "uint8",
    x_encoding: str = "base_codes",
    flank: int = 0,
) -> int:
    """Encode rows of a windows BED into a new HDF5 dataset (docs/architecture.md).

    Parameters
    ----------
    genome_path : str or os.PathLike
        Genome FASTA the windows are read from.
    bed_path : str or os.PathLike
        Windows BED of the prepare stage (header line, then chrom, start, end, name, tasks).
    out_path : str or os.PathLike
        The dataset, written to a temp file and renamed into place.
    window_length : int
        Window length L (bp); every row must be L long.
    attrs : dict
        Attributes recorded in the file (genome, genome_sha256, label_mode, split,
        config_sha256).
    rows : tuple of int, optional
        ``(lo, hi)``: encode only rows [lo, hi) of the BED.
    block_rows : int
        Windows per read/encode/write block (peak memory about block_rows x L x 5 bytes per
        worker).
    workers : int
        Worker processes.
    chunk : tuple of int, optional
        ``(index, n_chunks)``, index 0-based: encode that contiguous part of the rows.
    label_dtype : {"uint8", "float32"}
        0/1 labels, or float32 (signal targets; NaN = missing label).
    x_encoding : {"base_codes", "one_hot"}
        Layout of `x`: one base code per base (A=0 C=1 G=2 T=3 N=4; read it with
        `dataset.XReader`), or one-hot (N, L, 4).
    flank : int
        Genome bases stored on each side of every window (encode.flank; rows L + 2 flank long,
        N beyond a chromosome end; readers crop the centre L, the training loader's shift
        augmentation reads the flanks).

    Returns
    -------
    int
        Rows written.
    """
    if label_dtype not in ("uint8", "float32"):
        raise ValueError(f"label_dtype must be uint8 or float32; got {label_dtype!r}")
    columns = read_windows_header(bed_path)
    tasks = columns[4:]
    n_total = count_rows(bed_path)
    lo, hi = chunk_bounds(n_total, *chunk) if chunk else rows if rows is not None else (0, n_total)
    hi = min(hi, n_total)
    with windows_file.open_labels(bed_path) as labels_file:
        if labels_file["y"].shape[0] != n_total:
            raise InputError(labels_file.filename, f"{labels_file['y'].shape[0]:,} label rows for the {n_total:,} windows "
                             f"of {bed_path} (files of different prepare runs?)")  # fmt: skip
    blocks = [(a - lo, n, b0, b1, a) for a, n, b0, b1 in block_byte_ranges(bed_path, lo, hi, block_rows)]
    Genome(genome_path).close()  # fail on a bad genome before any file is created
    with dataset.create_dataset(out_path, max(0, hi - lo), window_length, tasks, attrs, label_dtype=np.dtype(label_dtype),
                                x_encoding=x_encoding, flank=flank) as f:  # fmt: skip
        f.flush()
        args = (genome_path, bed_path, f.filename, f["x"].id.get_offset() or 0, columns, window_length, label_dtype, x_encoding,
                flank)  # fmt: skip
        if workers > 1 and len(blocks) > 1:
            pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=args)
            results = pool.map(_encode_block, blocks)
        else:
            pool = None
            _init_worker(*args)
            results = map(_encode_block, blocks)
        try:
            for (offset, *_), (y, chrom, start, end) in zip(blocks, results):
                dataset.write_small_rows(f, offset, y, chrom, start, end)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
            else:
                _close_worker()
    return hi - lo
