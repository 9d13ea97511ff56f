"""The HDF5 dataset contract (one file per split); see docs/architecture.md.

Datasets: `x` uint8 (N, L) base codes (A=0 C=1 G=2 T=3, N and other IUPAC codes 4; the
default, attribute `x_encoding` = "base_codes") or uint8 (N, L, 4) one-hot (`x_encoding` =
"one_hot"; files without the attribute are one-hot); `y` (N, T) uint8 0/1 (or float32,
NaN = missing); `chrom` (N,) UTF-8 strings; `start`, `end` (N,) int64; `tasks` (T,) UTF-8.
Attributes: genome, genome_sha256, window_length, label_mode, split, deepcis_version,
config_sha256 (plus n_windows, x_encoding). Files are written to a temp path and renamed when
complete. Read `x` through `XReader` (one-hot whatever the layout; `.codes()` for base codes).
Optional attribute `flank` k (encode.flank; absent = 0): each row of `x` holds k genome bases
on both sides of its window (L + 2k bases; beyond a chromosome end, N). `XReader` gives the
centre L bases; only the training loader's shift augmentation reads the flanks
(`XReader.codes(sel, full=True)`).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import __version__
from .errors import InputError
from .genome import N_CODE, codes_to_one_hot, one_hot_to_codes
from .io_utils import atomic_path, ensure_free_space, fsync_file

REQUIRED_ATTRS = ("genome", "genome_sha256", "window_length", "label_mode", "split", "deepcis_version", "config_sha256")
# layouts of `x`: one byte per base (the default, 1 byte per window base on disk), or one-hot
# (4 bytes per base; for tools that read `x` themselves)
X_ENCODINGS = ("base_codes", "one_hot")


def _h5py():
    import h5py

    return h5py


def _create_contiguous(f, name: str, shape, dtype):
    """A contiguous, uncompressed dataset allocated at creation and never pre-filled.

    Writes then go straight to their file offsets (as fast as a raw file write; a chunked
    layout measured 1.7x slower here), and block reads are contiguous on disk.
    """
    h5py = _h5py()
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)  # no creation time: the same data gives the same bytes
    dcpl.set_layout(h5py.h5d.CONTIGUOUS)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    space = h5py.h5s.create_simple(tuple(shape))
    h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(np.dtype(dtype)), space, dcpl=dcpl)
    return f[name]


def x_shape(n: int, window_length: int, x_encoding: str, flank: int = 0) -> tuple:
    """Shape of `x` on disk for a layout (rows of window_length + 2 flank bases)."""
    if x_encoding not in X_ENCODINGS:
        raise ValueError(f"x_encoding must be one of {X_ENCODINGS}; got {x_encoding!r}")
    stored = window_length + 2 * flank
    return (n, stored) if x_encoding == "base_codes" else (n, stored, 4)


def flank_of(f) -> int:
    """Flank bases stored on each side of every window of an open dataset (0 without the attribute)."""
    return int(f.attrs.get("flank", 0))


@contextmanager
def create_dataset(path, n: int, window_length: int, tasks: list[str], attrs: dict, label_dtype=np.uint8,
                   x_encoding: str = "base_codes", flank: int = 0):  # fmt: skip
    """Open a new dataset file of `n` rows for writing; it appears at `path` only on success.

    `x_encoding`: "base_codes" (default; one byte per base) or "one_hot" (X_ENCODINGS).
    `flank`: genome bases stored on each side of every window (rows of `x` are L + 2 flank
    long; recorded as attribute `flank`, written only when > 0 so flank-0 files are as before).
    """
    h5py = _h5py()
    if not (isinstance(flank, (int, np.integer)) and flank >= 0):
        raise ValueError(f"flank must be an integer >= 0; got {flank!r}")
    shape = x_shape(n, window_length, x_encoding, int(flank))
    label_bytes = np.dtype(label_dtype).itemsize * len(tasks)
    # x, y, coordinates, chromosome names (variable-length strings: ~32 bytes each) and metadata
    needed = n * (int(np.prod(shape[1:])) + label_bytes + 16 + 32) + (1 << 20)
    ensure_free_space(path, needed, f"{n:,} windows of {window_length} bp")
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", locking=False) as f:
            _create_contiguous(f, "x", shape, np.uint8)
            f.create_dataset("y", shape=(n, len(tasks)), dtype=label_dtype, chunks=(max(1, min(n, 65536)), max(1, len(tasks))))
            f.create_dataset("chrom", shape=(n,), dtype=h5py.string_dtype("utf-8"), chunks=(max(1, min(n, 65536)),))
            for name in ("start", "end"):
                f.create_dataset(name, shape=(n,), dtype=np.int64, chunks=(max(1, min(n, 65536)),))
            f.create_dataset("tasks", data=np.array(tasks, dtype=object), dtype=h5py.string_dtype("utf-8"))
            f.attrs.update({k: v for k, v in attrs.items() if v is not None})
            f.attrs["deepcis_version"] = __version__
            f.attrs["window_length"] = int(window_length)
            f.attrs["n_windows"] = int(n)
            f.attrs["x_encoding"] = x_encoding
            f.attrs.pop("flank", None)  # set below from the argument, never copied from attrs
            if flank:
                f.attrs["flank"] = int(flank)
            yield f
        fsync_file(tmp)  # durable before it becomes visible under its final name


def decode_strings(values) -> list[str]:
    """HDF5 string values (bytes or str, as h5py returns them) as Python str."""
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def x_encoding_of(f) -> str:
    """Layout of an open dataset's `x` (X_ENCODINGS); files older than the attribute are one-hot."""
    value = f.attrs.get("x_encoding", "one_hot")
    return value.decode() if isinstance(value, bytes) else str(value)


def as_layout(x: np.ndarray, x_encoding: str) -> np.ndarray:
    """Windows given as one-hot (n, L, 4) or base codes (n, L) in the layout `x_encoding`."""
    x = np.asarray(x, dtype=np.uint8)
    if x_encoding == "base_codes":
        return one_hot_to_codes(x) if x.ndim == 3 else x
    return codes_to_one_hot(x) if x.ndim == 2 else x


def write_rows(f, offset: int, x, y, chrom, start, end):
    """Write one block of windows (`x` one-hot or base codes, labels `y`, coordinates) at row
    `offset` of an open dataset, converting `x` to the file's layout."""
    f["x"][offset : offset + len(start)] = as_layout(x, x_encoding_of(f))
    write_small_rows(f, offset, y, chrom, start, end)


def write_small_rows(f, offset: int, y, chrom, start, end):
    """Everything of a block of rows but the one-hot `x`."""
    hi = offset + len(start)
    f["y"][offset:hi] = y
    f["chrom"][offset:hi] = np.asarray(chrom, dtype=object)
    f["start"][offset:hi] = start
    f["end"][offset:hi] = end


def open_h5(path, what: str, datasets, attributes=()):
    """Open an HDF5 file read-only, or raise InputError naming what it lacks."""
    h5py = _h5py()
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as error:
        raise InputError(path, f"not a readable HDF5 file: {error}") from None
    missing = [k for k in datasets if k not in f] + [f"attribute {a}" for a in attributes if a not in f.attrs]
    if missing:
        f.close()
        raise InputError(path, f"not a deepcis {what}: missing {', '.join(missing)}")
    return f


def open_dataset(path):
    """Open a dataset read-only after checking that it follows the contract (the layout and
    shape of `x` included: a short or reshaped `x` is refused here, not met mid-training)."""
    f = open_h5(path, "HDF5 dataset", ("x", "y", "chrom", "start", "end", "tasks"), REQUIRED_ATTRS)
    problem = _x_problem(f)
    if problem:
        f.close()
        raise InputError(path, problem)
    return f


def _x_problem(f) -> str | None:
    encoding = x_encoding_of(f)
    if encoding not in X_ENCODINGS:
        return f"x_encoding {encoding!r} is not one of {X_ENCODINGS}"
    x, n, length, flank = f["x"], f["start"].shape[0], int(f.attrs["window_length"]), flank_of(f)
    if flank < 0:
        return f"attribute flank is {flank}; it must be >= 0"
    want = x_shape(n, length, encoding, flank)
    if x.dtype != np.uint8 or x.shape != want:
        flanks = f" with {flank} flank bases a side" if flank else ""
        return f"x is {x.dtype} {x.shape}, but {encoding} x of {n:,} windows of {length} bp{flanks} is uint8 {want}"
    return None


class XReader:
    """The windows of an open dataset as one-hot (rows, L, 4) uint8, whatever `x`'s layout.

    `reader[sel]` takes what h5py takes on the first axis (a slice, sorted unique rows, one
    row); `reader.codes(sel)` gives base codes (rows, L) instead. Base codes above 4 (not a
    base: a damaged file) are refused with an InputError naming the file and rows.
    A file with flanks (attribute `flank` k) gives the centre L bases of its rows, so every
    reader sees the windows of the contract; `codes(sel, full=True)` gives all L + 2k.
    """

    def __init__(self, f):
        self.file = f
        self.encoding = x_encoding_of(f)
        self._x = f["x"]
        self.flank = flank_of(f)
        n, stored = self._x.shape[:2]
        self.shape = (n, stored - 2 * self.flank, 4)
        self.dtype = np.dtype(np.uint8)

    def _crop(self, x: np.ndarray) -> np.ndarray:
        k = self.flank
        return np.ascontiguousarray(x[:, k:-k] if x.ndim == self._x.ndim else x[k:-k]) if k else x

    def __len__(self) -> int:
        return self.shape[0]

    def _raw(self, sel):
        try:
            return self._x[sel]
        except OSError as error:  # h5py's read error (a truncated file); name the file
            raise InputError(self.file.filename, f"cannot read x rows {_rows_text(sel)}: {error}") from None

    def codes(self, sel=slice(None), full: bool = False) -> np.ndarray:
        """Base codes (rows, L) of the rows `sel`; with `full`, (rows, L + 2 flank) with the flanks."""
        raw = self._raw(sel)
        if not full:
            raw = self._crop(raw)
        if self.encoding == "one_hot":
            try:
                return one_hot_to_codes(raw)
            except ValueError as error:
                raise InputError(self.file.filename, f"x rows {_rows_text(sel)}: {error}") from None
        if raw.size and raw.max() > N_CODE:
            raise InputError(self.file.filename, f"x rows {_rows_text(sel)} hold byte {int(raw.max())}: base codes "
                             "are 0-4 (A C G T N); the file is damaged or not a deepcis dataset")  # fmt: skip
        return raw

    def __getitem__(self, sel) -> np.ndarray:
        if self.encoding == "one_hot":
            return self._crop(self._raw(sel))
        return codes_to_one_hot(self.codes(sel))


def _rows_text(sel) -> str:
    if isinstance(sel, slice):
        return f"{sel.start or 0}:{'' if sel.stop is None else sel.stop}"
    rows = np.atleast_1d(np.asarray(sel))
    return f"{int(rows[0])}..{int(rows[-1])}" if rows.size > 1 else str(rows.ravel()[0]) if rows.size else "(none)"


def read_x(f, sel=slice(None)) -> np.ndarray:
    """One-hot (rows, L, 4) uint8 of rows `sel` of an open dataset (see XReader)."""
    return XReader(f)[sel]


def dataset_tasks(f) -> list[str]:
    """Task names of an open dataset, in `y` column order."""
    return decode_strings(f["tasks"][()])


def concatenate(parts: list, path, attrs: dict | None = None, block_rows: int = 8192, x_encoding: str | None = None):
    """Gather chunk files (same tasks, window length and split) into one file, in order,
    copying `block_rows` rows at a time so memory stays bounded. `x_encoding`: the output's
    layout (default: the first chunk's)."""
    handles = [open_dataset(p) for p in parts]
    try:
        first = handles[0]
        tasks = dataset_tasks(first)
        window_length, flank = int(first.attrs["window_length"]), flank_of(first)
        for p, h in zip(parts, handles):
            if dataset_tasks(h) != tasks or int(h.attrs["window_length"]) != window_length or flank_of(h) != flank:
                raise InputError(p, "chunk has other tasks, another window length or other flanks than the first chunk")
        n = sum(h["start"].shape[0] for h in handles)
        merged_attrs = {k: first.attrs[k] for k in first.attrs if k not in ("n_windows", "chunk")}
        merged_attrs.update(attrs or {})
        encoding = x_encoding or x_encoding_of(first)
        merged_attrs.pop("x_encoding", None)
        with create_dataset(path, n, window_length, tasks, merged_attrs, label_dtype=first["y"].dtype, x_encoding=encoding,
                            flank=flank) as out:  # fmt: skip
            offset = 0
            for h in handles:
                m = h["start"].shape[0]
                x = XReader(h)
                for lo in range(0, m, block_rows):
                    hi = min(m, lo + block_rows)
                    write_rows(out, offset + lo, x.codes(slice(lo, hi), full=True), h["y"][lo:hi], h["chrom"][lo:hi], h["start"][lo:hi], h["end"][lo:hi])
                offset += m
    finally:
        for h in handles:
            h.close()
    return n


def main(argv=None):
    """`python -m deepcis.dataset convert IN OUT --x-encoding one_hot|base_codes`: rewrite a split
    file with the other layout of `x` (block by block; every other dataset and attribute kept)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m deepcis.dataset", description=main.__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    convert = sub.add_parser("convert", help="rewrite a split file with another layout of x")
    convert.add_argument("source", type=Path)
    convert.add_argument("target", type=Path)
    convert.add_argument("--x-encoding", choices=X_ENCODINGS, required=True)
    args = parser.parse_args(argv)
    if args.source.resolve() == args.target.resolve():
        parser.error("target must differ from source")
    try:
        n = concatenate([args.source], args.target, x_encoding=args.x_encoding)
    except InputError as error:
        parser.exit(2, f"error: {error}\n")
    print(f"{args.target}: {n:,} windows, x as {args.x_encoding}")


if __name__ == "__main__":
    main()
