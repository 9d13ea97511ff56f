"""Genome access (pyfaidx index and memory-mapped reads of FASTA; py2bit for UCSC 2bit),
one-hot encoding and base codes.

Channels are A, C, G, T; N and every other IUPAC code is an all-zero row; lowercase
(soft-masked) bases encode like uppercase. Reverse complement = flip both axes.
Base codes (one byte per base, the packed `x` of the HDF5 splits): A=0 C=1 G=2 T=3, N and
every other IUPAC code 4; code 4 expands to the all-zero one-hot row, so codes and one-hot
carry the same information and convert both ways exactly.
"""

from __future__ import annotations

import mmap
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import twobit
from .errors import InputError

ALPHABET = "ACGT"

# Each table row is the 4 one-hot bytes of one ASCII code, viewed as a single uint32, so
# encoding is one np.take per block instead of a (L, 4) fancy index (3-9x faster here).
_ONE_HOT_ROWS = np.zeros((256, 4), dtype=np.uint8)
for _i, _base in enumerate(ALPHABET):
    _ONE_HOT_ROWS[ord(_base), _i] = 1
    _ONE_HOT_ROWS[ord(_base.lower()), _i] = 1
_ONE_HOT_WORDS = _ONE_HOT_ROWS.view(np.uint32).ravel()

N_CODE = 4
# ASCII -> base code; one-hot of code c is row c of _CODE_ROWS (row 4, N, is all zeros)
BASE_CODES = np.full(256, N_CODE, dtype=np.uint8)
for _i, _base in enumerate(ALPHABET):
    BASE_CODES[ord(_base)] = _i
    BASE_CODES[ord(_base.lower())] = _i
_CODE_WORDS = np.concatenate([np.eye(4, dtype=np.uint8), np.zeros((1, 4), np.uint8)]).view(np.uint32).ravel()

_IS_N = np.zeros(256, dtype=bool)
_IS_N[[ord("N"), ord("n")]] = True
_IS_GC = np.zeros(256, dtype=bool)
_IS_GC[[ord(c) for c in "GCgc"]] = True
_IS_ACGT = _ONE_HOT_ROWS.any(axis=1)

BGZF_MAGIC = b"\x1f\x8b"


def one_hot_encode(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """ASCII codes (..., L) uint8 -> one-hot (..., L, 4) uint8."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if out is None:
        out = np.empty(codes.shape + (4,), dtype=np.uint8)
    np.take(_ONE_HOT_WORDS, codes, out=out.view(np.uint32).reshape(codes.shape), mode="clip")
    return out


def codes_to_one_hot(codes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Base codes (..., L) uint8 -> one-hot (..., L, 4) uint8 (code 4 -> all-zero row).

    Codes above 4 are not base codes; the caller checks them (`dataset.XReader`) - here they
    are clipped to 4 (N).
    """
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if out is None:
        out = np.empty(codes.shape + (4,), dtype=np.uint8)
    np.take(_CODE_WORDS, codes, out=out.view(np.uint32).reshape(codes.shape), mode="clip")
    return out


def one_hot_to_codes(x: np.ndarray) -> np.ndarray:
    """One-hot (..., L, 4) -> base codes (..., L) uint8; an all-zero row is N (4).

    Raises ValueError on a row that is not one-hot (values other than 0/1, or more than one 1):
    base codes cannot hold it, and silently picking one channel would change the data.
    """
    x = np.asarray(x)
    total = x.sum(axis=-1, dtype=np.int64)
    if total.size and (total.max() > 1 or x.min() < 0 or x.max() > 1):
        raise ValueError("not one-hot: some row has values other than 0/1 or more than one 1")
    return np.where(total > 0, x.argmax(axis=-1), N_CODE).astype(np.uint8)


def ascii_to_codes(ascii_codes: np.ndarray) -> np.ndarray:
    """ASCII bytes (uint8) of bases -> base codes (case-insensitive; non-ACGT -> 4)."""
    return BASE_CODES[np.asarray(ascii_codes, dtype=np.uint8)]


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of base codes (..., L): the last axis reversed and complemented.

    Complement by arithmetic, 3 - c in uint8 (A<->T, C<->G; N = 4 wraps to 255 and every code
    above 4 below it, so the minimum with 4 keeps N, and clips non-codes to N): several times
    faster than a table lookup by fancy indexing.
    """
    out = np.subtract(np.uint8(3), np.asarray(codes, dtype=np.uint8)[..., ::-1], dtype=np.uint8)
    return np.minimum(out, np.uint8(N_CODE), out=out)


def one_hot_sequence(sequence: str) -> np.ndarray:
    """A DNA string -> (L, 4) uint8."""
    return one_hot_encode(np.frombuffer(sequence.encode("ascii"), dtype=np.uint8))


def decode_one_hot(x: np.ndarray) -> str:
    """(L, 4) one-hot -> uppercase string; all-zero rows decode to N."""
    x = np.asarray(x)
    letters = np.frombuffer(b"ACGTN", dtype=np.uint8)
    index = np.where(x.any(axis=-1), x.argmax(axis=-1), 4)
    return letters[index].tobytes().decode("ascii")


def reverse_complement(x: np.ndarray) -> np.ndarray:
    """Reverse complement of one-hot (..., L, 4): flip the length and channel axes."""
    return x[..., ::-1, ::-1]


def _window_views(data: np.ndarray, offsets: np.ndarray, length: int) -> np.ndarray:
    """Windows of `data` (span, ...) starting at sorted `offsets`: a strided view when they are
    evenly spaced (tiled bins; copies 3-4x faster than fancy indexing), else a gathered copy."""
    step = int(offsets[1] - offsets[0]) if offsets.size > 1 else 1
    inner = data.strides[1:]
    if step > 0 and (offsets.size < 3 or (np.diff(offsets) == step).all()):
        start = data[int(offsets[0]) :]
        shape = (offsets.size, length) + data.shape[1:]
        return np.lib.stride_tricks.as_strided(start, shape=shape, strides=(step * data.strides[0], data.strides[0], *inner), writeable=False)
    views = np.lib.stride_tricks.as_strided(
        data, shape=(data.shape[0] - length + 1, length) + data.shape[1:], strides=(data.strides[0],) + data.strides, writeable=False
    )
    return views[offsets]


@dataclass(frozen=True)
class _Record:
    length: int
    offset: int
    line_bases: int
    line_width: int


class Genome:
    """Read-only access to an indexed FASTA (plain or bgzip) or a UCSC 2bit file.

    Plain FASTA is read through a memory map (page cache, no copy of the genome in RAM);
    bgzip FASTA through pyfaidx. The `.fai` index is made next to the FASTA if missing.
    A 2bit file (recognised by its signature, whatever its name) is checked structurally
    (`deepcis.twobit.check_twobit`) and read through py2bit with its soft-mask, so lowercase
    and N come back exactly as from the FASTA it was made from.
    """

    def __init__(self, path):
        import pyfaidx  # data stage only; keeps import cost out of modules that don't read DNA

        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(self.path, "genome FASTA not found (or not a regular file)")
        if not os.access(self.path, os.R_OK):
            raise InputError(self.path, "genome FASTA is not readable (check permissions)")
        if self.path.stat().st_size == 0:
            raise InputError(self.path, "genome FASTA is empty")
        with open(self.path, "rb") as handle:
            head = handle.read(4)
        self.bgzipped = head[:2] == BGZF_MAGIC
        self._twobit = None
        self._patterns: dict = {}
        if head in twobit.MAGICS:
            self._open_twobit()
            return
        fai = Path(f"{self.path}.fai")
        if not fai.is_file() and not os.access(self.path.parent, os.W_OK):
            raise InputError(self.path, f"the genome has no .fai index and its folder {self.path.parent} is read-only, "
                             "so none can be made there: index it once where it can be written (samtools faidx), or "
                             "link the FASTA into a writable folder (ln -s) and point genome: at the link")  # fmt: skip
        try:
            # pyfaidx rebuilds an index older than the FASTA; where it cannot write, it uses it
            # (the input check compares the index with the FASTA itself; deepcis.input_check)
            self._faidx = pyfaidx.Faidx(str(self.path), sequence_always_upper=False, as_raw=True,
                                        rebuild=os.access(self.path.parent, os.W_OK))  # fmt: skip
        except pyfaidx.UnsupportedCompressionFormat as error:
            raise InputError(self.path, f"compressed FASTA must be bgzip, not plain gzip ({error})") from None
        except pyfaidx.FastaIndexingError as error:
            raise InputError(self.path, f"cannot index FASTA: {error}") from None
        except PermissionError as error:
            raise InputError(
                self.path, f"cannot write the .fai index next to the FASTA ({error}); "
                "index it with `samtools faidx` or copy it to a writable folder"
            ) from None
        except (OSError, ValueError) as error:
            raise InputError(self.path, f"not a valid FASTA file: {error}") from None
        self._records = {
            name: _Record(int(rec.rlen), int(rec.offset), int(rec.lenc), int(rec.lenb))
            for name, rec in self._faidx.index.items()
        }
        if not self._records:
            raise InputError(self.path, "genome FASTA holds no sequences")
        if not self.bgzipped:
            size = self.path.stat().st_size
            for name, rec in self._records.items():
                lines = -(-rec.length // rec.line_bases) if rec.line_bases else 0
                end = rec.offset + rec.length + lines * (rec.line_width - rec.line_bases) - (rec.line_width - rec.line_bases)
                if end > size:
                    raise InputError(fai, f"the index does not fit the FASTA (sequence {name!r} would end at byte {end:,}, "
                                     f"the file has {size:,}): it is stale, made before the FASTA changed; delete it "
                                     "and it is rebuilt")  # fmt: skip
        self._mmap = None
        self._memmap = None
        self._current = None  # the chromosome last read (its pages are resident)
        if not self.bgzipped:
            with open(self.path, "rb") as handle:
                self._mmap = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            self._memmap = np.frombuffer(self._mmap, dtype=np.uint8)

    def _open_twobit(self):
        import py2bit

        lengths = twobit.check_twobit(self.path)
        try:
            self._twobit = py2bit.open(str(self.path), True)  # True: keep the soft-mask (lowercase)
        except RuntimeError as error:
            raise InputError(self.path, f"py2bit cannot read this 2bit file: {error}") from None
        self._records = {name: _Record(length, 0, 0, 0) for name, length in lengths.items()}
        self._mmap = self._memmap = self._current = None

    def _leave(self, chrom: str | None) -> None:
        """Drop `chrom`'s mapped pages from this process's resident set. They stay in the page
        cache (reading them again is a page-table fault, not a disk read); without this, the
        RSS of a job that walks the genome counts every FASTA page it has read, up to the
        whole genome (3 GB for hg38), though the kernel could reclaim them."""
        if chrom is None or self._mmap is None:
            return
        rec = self._records[chrom]
        lines = -(-rec.length // rec.line_bases) if rec.line_bases else 0
        lo = rec.offset - rec.offset % mmap.PAGESIZE
        hi = min(len(self._mmap), rec.offset + lines * rec.line_width)
        if hi > lo:
            self._mmap.madvise(mmap.MADV_DONTNEED, lo, hi - lo)

    @property
    def chrom_sizes(self) -> dict[str, int]:
        return {name: rec.length for name, rec in self._records.items()}

    def close(self):
        if self._twobit is not None:
            self._twobit.close()
            self._twobit = None
        else:
            self._faidx.close()
        self._mmap = self._memmap = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fetch(self, chrom: str, start: int, end: int) -> np.ndarray:
        """ASCII codes of [start, end) as uint8 (case kept)."""
        rec = self._record(chrom)
        if not 0 <= start <= end <= rec.length:
            raise ValueError(f"{chrom}:{start}-{end} is outside the chromosome (length {rec.length})")
        if end == start:
            return np.empty(0, dtype=np.uint8)
        if self._twobit is not None:
            return np.frombuffer(self._twobit.sequence(chrom, start, end).encode("ascii"), dtype=np.uint8)
        if self._memmap is None:
            text = self._faidx.fetch(chrom, start + 1, end)
            return np.frombuffer(str(text).encode("ascii"), dtype=np.uint8)
        first_line, last_line = start // rec.line_bases, (end - 1) // rec.line_bases
        lo = rec.offset + first_line * rec.line_width
        n_lines = last_line - first_line + 1
        raw = np.asarray(self._memmap[lo : lo + n_lines * rec.line_width])
        if raw.size < n_lines * rec.line_width:  # last line of the file without its newline
            raw = np.concatenate([raw, np.zeros(n_lines * rec.line_width - raw.size, np.uint8)])
        bases = raw.reshape(n_lines, rec.line_width)[:, : rec.line_bases].ravel()
        skip = start - first_line * rec.line_bases
        return bases[skip : skip + end - start]

    def fetch_windows(self, chrom: str, starts: np.ndarray, length: int, out: np.ndarray | None = None) -> np.ndarray:
        """ASCII codes (n, length) of windows [start, start + length) on one chromosome, written into `out` if given."""
        return self._windows(chrom, starts, length, one_hot=False, out=out)

    def one_hot_windows(self, chrom: str, starts: np.ndarray, length: int, out: np.ndarray | None = None) -> np.ndarray:
        """One-hot (n, length, 4) uint8 of windows on one chromosome, written into `out` if given."""
        return self._windows(chrom, starts, length, one_hot=True, out=out)

    def _windows(self, chrom, starts, length, one_hot, out=None):
        """Windows are read in clusters: overlapping or nearby windows share one read (and one
        encoding) of their span, so tiled DeepSEA windows touch each base once; isolated
        windows of a plain FASTA are gathered in one vectorised read."""
        starts = np.asarray(starts, dtype=np.int64)
        shape = (starts.size, length, 4) if one_hot else (starts.size, length)
        if out is None:
            out = np.empty(shape, dtype=np.uint8)
        if starts.size == 0:
            return out
        rec = self._record(chrom)
        if starts.min() < 0 or starts.max() + length > rec.length:
            raise ValueError(f"a window of {length} bp runs off {chrom} (length {rec.length})")
        order = np.argsort(starts, kind="stable")
        sorted_starts = starts[order]
        # A new cluster starts where the gap to the previous window exceeds one window.
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(sorted_starts) > length) + 1, [starts.size]])
        clusters = list(zip(bounds[:-1], bounds[1:]))
        if self._memmap is not None:
            single = np.diff(bounds) == 1
            if single.any():
                rows = order[bounds[:-1][single]]
                codes = self._gather(rec, starts[rows], length)
                out[rows] = one_hot_encode(codes) if one_hot else codes
                clusters = [c for c, one in zip(clusters, single) if not one]
        max_span = max(4 << 20, 2 * length)  # bounds the memory of one read
        for lo, hi in clusters:
            while lo < hi:
                cut = lo + int(np.searchsorted(sorted_starts[lo:hi], sorted_starts[lo] + max_span - length, "right"))
                cut = max(cut, lo + 1)
                span_start = int(sorted_starts[lo])
                span = self.fetch(chrom, span_start, int(sorted_starts[cut - 1]) + length)
                offsets = sorted_starts[lo:cut] - span_start
                data = one_hot_encode(span) if one_hot else span
                windows = _window_views(data, offsets, length)
                rows = order[lo:cut]
                if rows[-1] - rows[0] + 1 == rows.size and (np.diff(rows) == 1).all():
                    out[rows[0] : rows[-1] + 1] = windows
                else:
                    out[rows] = windows
                lo = cut
        return out

    def _gather(self, rec: _Record, starts: np.ndarray, length: int, block: int = 2048) -> np.ndarray:
        """Windows read by computed file offsets (newlines skipped through a per-phase pattern)."""
        key = (rec.line_bases, rec.line_width, length)
        pattern = self._patterns.get(key)
        if pattern is None:
            phase = np.arange(rec.line_bases)[:, None]
            j = np.arange(length)[None, :]
            pattern = phase + j + (rec.line_width - rec.line_bases) * ((phase + j) // rec.line_bases)
            self._patterns[key] = pattern
        out = np.empty((starts.size, length), dtype=np.uint8)
        for lo in range(0, starts.size, block):
            s = starts[lo : lo + block]
            base = rec.offset + (s // rec.line_bases) * rec.line_width
            out[lo : lo + block] = self._memmap[base[:, None] + pattern[s % rec.line_bases]]
        return out

    def _record(self, chrom: str) -> _Record:
        try:
            rec = self._records[chrom]
        except KeyError:
            raise InputError(self.path, f"chromosome {chrom!r} is not in the genome") from None
        if chrom != self._current:  # reads move on to another chromosome: the RSS holds one at a time
            self._leave(self._current)
            self._current = chrom
        return rec


# Bytes a nucleotide FASTA's sequence lines may hold: IUPAC codes (U, and X for masked
# bases, included), '-' gaps, either case; anything else (E, F, I, L, P, Q, ...) means the file
# is not DNA (a protein FASTA) or is damaged.
_SEQUENCE_BYTES = np.zeros(256, dtype=bool)
_SEQUENCE_BYTES[[ord(c) for c in "ACGTURYSWKMBDHVNX-" + "ACGTURYSWKMBDHVNX".lower()]] = True


@dataclass
class FastaScan:
    """Names, lengths and sequence start offsets (uncompressed bytes) of a FASTA's records."""

    names: list
    lengths: list
    offsets: list
    bgzipped: bool


def _fasta_blocks(path, bgzipped: bool, block: int):
    """The uncompressed bytes of a FASTA, `block` bytes at a time."""
    import gzip

    opener = gzip.open if bgzipped else open
    try:
        with opener(path, "rb") as handle:
            while data := handle.read(block):
                yield data
    except (OSError, EOFError) as error:
        raise InputError(path, f"cannot read the FASTA (truncated or corrupt compression?): {error}") from None


def _first_bad_byte(path, b: np.ndarray, newlines: np.ndarray, spans: list, lines_before: int):
    """InputError naming the first byte of block `b` outside the header `spans` that is not a
    nucleotide code (the slow path, taken only when the block holds one)."""
    header = np.zeros(b.size, dtype=bool)
    for lo, hi in spans:
        header[lo:hi] = True
    bad = np.flatnonzero(~header & ~_SEQUENCE_BYTES[b] & (b != 10) & (b != 13))
    at = int(bad[0])
    before = int(np.searchsorted(newlines, at))
    column = f" (column {at - int(newlines[before - 1])})" if before else ""
    char = chr(b[at]) if 32 <= b[at] < 127 else f"byte 0x{b[at]:02x}"
    return InputError(path, f"{char!r}{column} is not a nucleotide code: not a DNA FASTA (a protein FASTA?) or a "
                      "damaged file; a genome FASTA holds only A, C, G, T, N and IUPAC codes", lines_before + before + 1)


def _sequence_before(at: int, newlines: np.ndarray, crs, header_bytes: int) -> int:
    """Sequence bytes of a block before offset `at`: all bytes but newlines, carriage returns
    and the `header_bytes` of header lines that start before `at`."""
    n_cr = int(np.searchsorted(crs, at)) if crs is not None else 0
    return at - int(np.searchsorted(newlines, at)) - n_cr - header_bytes


_ALLOWED_BYTES = _SEQUENCE_BYTES.copy()
_ALLOWED_BYTES[[10, 13]] = True
_ALLOWED_TEXT = bytes(np.flatnonzero(_ALLOWED_BYTES).astype(np.uint8).tolist())


def scan_fasta(path, block: int = 16 << 20) -> FastaScan:
    """Read a whole FASTA once (plain or bgzip) and check that it is nucleotide FASTA: it opens
    with a '>' header line, names are unique, and sequence lines hold only IUPAC nucleotide
    codes. The first bad line is named (InputError with its line number). Vectorised: per block,
    one `bytes.translate` pass for any non-nucleotide byte outside header lines, the exact
    position only for a block that holds one; the input check caches the result
    (deepcis.input_check)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "genome FASTA not found (or not a regular file)")
    if path.stat().st_size == 0:
        raise InputError(path, "genome FASTA is empty")
    with open(path, "rb") as handle:
        bgzipped = handle.read(2) == BGZF_MAGIC
    names, offsets, seq_at_header, first_line = [], [], [], {}
    carry = None  # (bytes so far, line number) of a header line that runs into the next block
    at_line_start, lines_before, total, seq_total = True, 0, 0, 0

    def finish_header(text: bytes, line: int, next_offset: int):
        name = text[1:].rstrip(b"\r").decode("utf-8", "replace").split()
        if not name:
            raise InputError(path, "a '>' header line without a sequence name", line)
        if name[0] in first_line:
            raise InputError(path, f"sequence name {name[0]!r} appears twice (first on line {first_line[name[0]]})", line)
        first_line[name[0]] = line
        names.append(name[0])
        offsets.append(next_offset)

    for data in _fasta_blocks(path, bgzipped, block):
        b = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(b == 10)
        line_starts = newlines + 1
        line_starts = line_starts[line_starts < b.size]
        if at_line_start:
            line_starts = np.concatenate([np.zeros(1, np.int64), line_starts])
        starts = line_starts[b[line_starts] == ord(">")].tolist()
        after = np.searchsorted(newlines, starts).tolist()
        ends = [int(newlines[k]) if k < newlines.size else b.size for k in after]
        spans = list(zip(starts, ends))
        if carry is not None:
            spans.insert(0, (0, int(newlines[0]) if newlines.size else b.size))
        bounds = [0] + [x for span in spans for x in span] + [b.size]
        outside = b"".join(data[bounds[k] : bounds[k + 1]] for k in range(0, len(bounds), 2))
        if outside.translate(None, _ALLOWED_TEXT):  # bytes.translate: ~1 GB/s; np.bincount is 20x slower
            raise _first_bad_byte(path, b, newlines, spans, lines_before)
        crs = None  # carriage returns of sequence lines (those of header lines are header bytes)
        if b"\r" in outside:
            crs = np.flatnonzero(b == 13)
            lo, hi = (np.array([sp[k] for sp in spans], dtype=np.int64) for k in (0, 1))
            span = np.searchsorted(lo, crs, side="right") - 1
            crs = crs[(span < 0) | (crs >= hi[np.maximum(span, 0)])] if spans else crs
        header_bytes_before = 0

        first_header = starts[0] if starts else b.size
        if not names and carry is None and _sequence_before(first_header, newlines, crs, header_bytes_before) > 0:
            first = int(np.flatnonzero((b[:first_header] != 10) & (b[:first_header] != 13))[0])
            raise InputError(path, "not a FASTA file: sequence before the first '>' header line",
                             lines_before + int(np.searchsorted(newlines, first)) + 1)  # fmt: skip
        if carry is not None:
            text, line = carry
            carry = None
            lo, hi = spans[0]
            header_bytes_before += hi - lo
            if hi < b.size:
                finish_header(text + data[:hi], line, total + hi + 1)
            else:
                carry = (text + data, line)
        for start, end in zip(starts, ends):
            seq_at_header.append(seq_total + _sequence_before(start, newlines, crs, header_bytes_before))
            line = lines_before + int(np.searchsorted(newlines, start)) + 1
            header_bytes_before += end - start
            if end >= b.size:
                carry = (data[start:], line)
            else:
                finish_header(data[start:end], line, total + end + 1)
        seq_total += _sequence_before(b.size, newlines, crs, header_bytes_before)
        lines_before += newlines.size
        at_line_start = bool(b[-1] == 10)
        total += b.size
    if carry is not None:
        raise InputError(path, "the file ends inside a '>' header line (truncated?)", carry[1])
    if not names:
        raise InputError(path, "not a FASTA file: no '>' header line")
    lengths = np.diff(np.array(seq_at_header + [seq_total], dtype=np.int64)).tolist()
    return FastaScan(names=names, lengths=lengths, offsets=offsets, bgzipped=bgzipped)


def count_bases(codes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-window counts of N, G+C and A/C/G/T bases for ASCII codes (n, L)."""
    return {
        "n": _IS_N[codes].sum(axis=1),
        "gc": _IS_GC[codes].sum(axis=1),
        "acgt": _IS_ACGT[codes].sum(axis=1),
    }
