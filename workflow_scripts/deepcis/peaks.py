"""Reading and validating interval files: BED, narrowPeak (plain or gzip) and region strings.

Every record is checked before any work starts; a bad record stops with the file, the line
and the problem. Records on chromosomes the genome lacks are skipped and counted (peak sets
routinely carry chrM or unplaced contigs); a file left with no usable record is an error.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError

_SKIP_PREFIXES = ("#", "track", "browser")


@dataclass
class IntervalSet:
    """Validated intervals of one file, 0-based half-open, sorted by (chrom order, start)."""

    path: str
    chrom: np.ndarray  # object array of chromosome names
    start: np.ndarray  # int64
    end: np.ndarray  # int64
    summit: np.ndarray  # int64 absolute summit position, -1 when the file gives none
    skipped_chroms: dict[str, int] = field(default_factory=dict)
    skipped_first_line: dict[str, int] = field(default_factory=dict)  # contig -> its first line in the file
    clamped_summits: int = 0  # narrowPeak records whose summit offset equalled the peak length

    def __len__(self) -> int:
        return int(self.start.size)

    @property
    def centre(self) -> np.ndarray:
        """Summit where given, else the midpoint."""
        return np.where(self.summit >= 0, self.summit, (self.start + self.end) // 2)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"chrom": self.chrom, "start": self.start, "end": self.end})


def _open_text(path: Path):
    with open(path, "rb") as handle:
        magic = handle.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _parse_int(text: str, path, line_no: int, what: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise InputError(path, f"{what} {text!r} is not an integer", line_no)
    return int(text)


def read_intervals(
    path,
    chrom_sizes: dict[str, int],
    what: str = "peak file",
    allow_empty: bool = False,
) -> IntervalSet:
    """Read a BED/narrowPeak file, validating every record against the genome.

    narrowPeak is recognised by 10 columns; its 10th column (summit offset from start, -1 for
    none) gives the summit. An offset equal to the peak length (one past the last base, as some
    ENCODE files have) is clamped to the last base and counted in `clamped_summits`; larger and
    negative offsets are refused. Lines starting with '#', 'track' or 'browser' are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    fast = _read_intervals_fast(path, chrom_sizes)
    if fast is not None and (len(fast) or allow_empty):  # else the line reader says why it is empty
        return fast
    return _read_intervals_lines(path, chrom_sizes, what, allow_empty)


_TAB, _NEWLINE = ord("\t"), ord("\n")
_FAST_UNSAFE_FIRST = np.frombuffer(b"#tb \t", np.uint8)  # comment/track/browser lines, blank starts
_SIGNS = np.frombuffer(b"+-", np.uint8)


def _read_intervals_fast(path: Path, chrom_sizes: dict[str, int]) -> IntervalSet | None:
    """`read_intervals` of a plain, regular file in one vectorised pass (pandas' C parser),
    or None when anything is unusual (comment, track or blank lines, CR, non-ASCII bytes,
    ragged columns, a field that is not a plain integer, a record that fails a check, an
    unreadable or corrupt file): the line-by-line reader then reads it and names the line.
    The result equals the line-by-line reader's."""
    import io

    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, gzip.BadGzipFile):
        return None
    if not raw:
        return None
    data = np.frombuffer(raw, np.uint8)
    if (data >= 128).any() or (data == 13).any() or (data == 0).any():
        return None
    ends = np.flatnonzero(data == _NEWLINE)
    if not ends.size or ends[-1] != data.size - 1:
        ends = np.append(ends, data.size)
    starts = np.concatenate([[0], ends[:-1] + 1])
    if ((ends - starts) == 0).any() or np.isin(data[np.minimum(starts, data.size - 1)], _FAST_UNSAFE_FIRST).any():
        return None
    tabs = np.flatnonzero(data == _TAB)
    per_line = np.searchsorted(tabs, ends) - np.searchsorted(tabs, starts)  # tabs in each line
    n_fields = int(per_line[0]) + 1
    if n_fields < 3 or (per_line != per_line[0]).any():
        return None
    columns = [0, 1, 2] + ([9] if n_fields == 10 else [])
    if not _plain_integers(data, tabs.reshape(len(ends), n_fields - 1), ends, columns[1:]):
        return None  # pandas would read 1e3, 5.0 or true as integers; the line reader refuses them
    try:
        frame = pd.read_csv(io.BytesIO(raw), sep="\t", header=None, usecols=columns, na_filter=False, quoting=3,
                            dtype={0: object, 1: np.int64, 2: np.int64, 9: np.int64}, engine="c")  # fmt: skip
    except (ValueError, OverflowError, pd.errors.ParserError):
        return None
    if len(frame) != starts.size:
        return None
    chrom = frame[0].to_numpy(object)
    start, end = frame[1].to_numpy(np.int64), frame[2].to_numpy(np.int64)
    if (start < 0).any() or (start >= end).any():
        return None
    summit = np.full(start.size, -1, np.int64)
    clamped = 0
    if n_fields == 10:
        offset = frame[9].to_numpy(np.int64)
        given = offset != -1
        at_end = given & (offset == end - start)
        clamped = int(at_end.sum())
        offset = np.where(at_end, offset - 1, offset)
        if (given & ((offset < 0) | (offset >= end - start))).any():
            return None
        summit = np.where(given, start + offset, -1)
    codes, names = pd.factorize(chrom)  # the file's contigs, in order of first appearance
    order_key = {name: i for i, name in enumerate(chrom_sizes)}
    rank = np.array([order_key.get(n, -1) for n in names], np.int64)[codes]
    length = np.array([chrom_sizes.get(n, 0) for n in names], np.int64)[codes]
    known = rank >= 0
    skipped, first_line = {}, {}
    if not known.all():
        lines = np.flatnonzero(~known)
        counts = np.bincount(codes[lines], minlength=len(names))
        for c in np.unique(codes[lines]):  # codes follow first appearance, as the line reader counts
            skipped[str(names[c])] = int(counts[c])
            first_line[str(names[c])] = int(lines[np.argmax(codes[lines] == c)]) + 1
    chrom, start, end, summit, rank = chrom[known], start[known], end[known], summit[known], rank[known]
    if (end > length[known]).any():
        return None
    order = np.lexsort((start, rank))
    return IntervalSet(path=str(path), chrom=chrom[order], start=start[order], end=end[order], summit=summit[order],
                       skipped_chroms=skipped, skipped_first_line=first_line, clamped_summits=clamped)  # fmt: skip


def _plain_integers(data: np.ndarray, tabs: np.ndarray, ends: np.ndarray, columns: list[int]) -> bool:
    """Whether every field of `columns` (0-based; `tabs`: each line's tab positions) is an
    optional sign and 1-18 ASCII digits, as the line reader's check accepts (bar spaces)."""
    nondigit = np.flatnonzero((data < ord("0")) | (data > ord("9")))
    for k in columns:
        lo = tabs[:, k - 1] + 1
        hi = tabs[:, k] if k < tabs.shape[1] else ends
        first = lo + ((hi > lo) & np.isin(data[np.minimum(lo, data.size - 1)], _SIGNS))
        if ((hi - first) < 1).any() or ((hi - first) > 18).any():
            return False
        if (np.searchsorted(nondigit, hi) > np.searchsorted(nondigit, first)).any():
            return False
    return True


def _read_intervals_lines(path: Path, chrom_sizes: dict[str, int], what: str, allow_empty: bool) -> IntervalSet:
    """`read_intervals` line by line: any file, and the exact line of the first bad record."""
    chroms, starts, ends, summits = [], [], [], []
    skipped: dict[str, int] = {}
    first_line: dict[str, int] = {}
    clamped = 0
    try:
        handle = _open_text(path)
    except OSError as error:
        raise InputError(path, f"{what} is not readable: {error}") from None
    with handle:
        try:
            for line_no, line in enumerate(handle, start=1):
                line = line.rstrip("\r\n")
                if not line.strip() or line.startswith(_SKIP_PREFIXES):
                    continue
                fields = line.split("\t")
                if len(fields) < 3:
                    raise InputError(
                        path, f"expected at least 3 tab-separated columns (chrom, start, end), found {len(fields)}", line_no
                    )
                chrom = fields[0]
                start = _parse_int(fields[1], path, line_no, "start")
                end = _parse_int(fields[2], path, line_no, "end")
                if start < 0:
                    raise InputError(path, f"negative start {start}", line_no)
                if start >= end:
                    raise InputError(path, f"start {start} is not less than end {end}", line_no)
                summit = -1
                if len(fields) == 10:
                    offset = _parse_int(fields[9], path, line_no, "narrowPeak summit offset (column 10)")
                    if offset != -1:
                        if offset == end - start:  # one past the last base: real ENCODE files have these
                            offset -= 1
                            clamped += 1
                        elif not 0 <= offset < end - start:
                            raise InputError(
                                path, f"summit offset {offset} lies outside the peak (length {end - start})", line_no
                            )
                        summit = start + offset
                if chrom not in chrom_sizes:
                    skipped[chrom] = skipped.get(chrom, 0) + 1
                    first_line.setdefault(chrom, line_no)
                    continue
                if end > chrom_sizes[chrom]:
                    raise InputError(
                        path, f"end {end} lies beyond the end of {chrom} (length {chrom_sizes[chrom]})", line_no
                    )
                chroms.append(chrom)
                starts.append(start)
                ends.append(end)
                summits.append(summit)
        except UnicodeDecodeError as error:
            raise InputError(path, f"not a text file: {error}") from None
        except (EOFError, gzip.BadGzipFile) as error:
            raise InputError(path, f"truncated or corrupt gzip file: {error}") from None
    if not chroms and not allow_empty:
        if skipped:
            raise InputError(
                path,
                f"no record lies on the genome's chromosomes: the file names {sorted(skipped)[:5]}, "
                f"the genome has {list(chrom_sizes)[:5]} (check chr prefixes or the chromosomes list)",
            )
        raise InputError(path, f"{what} holds no intervals")
    order_key = {name: i for i, name in enumerate(chrom_sizes)}
    chrom_arr = np.array(chroms, dtype=object)
    start_arr = np.array(starts, dtype=np.int64)
    order = np.lexsort((start_arr, np.array([order_key[c] for c in chroms], dtype=np.int64)))
    return IntervalSet(
        path=str(path),
        chrom=chrom_arr[order],
        start=start_arr[order],
        end=np.array(ends, dtype=np.int64)[order],
        summit=np.array(summits, dtype=np.int64)[order],
        skipped_chroms=skipped,
        skipped_first_line=first_line,
        clamped_summits=clamped,
    )


def first_record_inside(path, spans: list[tuple[str, int, int | None]]) -> bool:
    """Does any record of a BED/narrowPeak file overlap one of `spans` (chrom, start, end; end
    None = to the chromosome's end)? Reads only up to the first such record; malformed lines are
    left to `read_intervals`."""
    with _open_text(Path(path)) as handle:
        for line in handle:
            if not line.strip() or line.startswith(_SKIP_PREFIXES):
                continue
            fields = line.split("\t", 3)
            if len(fields) < 3:
                continue
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                continue
            for chrom, lo, hi in spans:
                if fields[0] == chrom and end > lo and (hi is None or start < hi):
                    return True
    return False


_REGION = re.compile(r"^(?P<chrom>[^:\s]+):(?P<start>[\d,]+)-(?P<end>[\d,]+)$")


def parse_region(text: str, chrom_sizes: dict[str, int], where: str) -> tuple[str, int, int]:
    """'chr1:100-200' (0-based half-open, commas allowed) -> (chrom, start, end), checked."""
    match = _REGION.match(text.strip())
    if not match:
        raise InputError(where, f"region {text!r} is not of the form chrom:start-end")
    chrom = match["chrom"]
    start, end = (int(match[k].replace(",", "")) for k in ("start", "end"))
    if chrom not in chrom_sizes:
        raise InputError(where, f"region {text!r}: chromosome {chrom!r} is not in the genome")
    if not 0 <= start < end <= chrom_sizes[chrom]:
        raise InputError(where, f"region {text!r} is empty or runs off {chrom} (length {chrom_sizes[chrom]})")
    return chrom, start, end


def region_records(path, chrom_sizes: dict[str, int], what: str = "regions BED"):
    """(line number, chrom, start, end, fields) of every region of a BED file (plain or gzip),
    each on a chromosome of the genome, inside it and non-empty; an InputError names the file and
    line of the first problem. Empty, '#', 'track' and 'browser' lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} not found")
    found = False
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 3:
                raise InputError(path, f"needs at least 3 tab-separated columns (chrom, start, end), got {len(fields)}", number)
            chrom = fields[0]
            try:
                start, end = int(fields[1]), int(fields[2])
            except ValueError:
                raise InputError(path, f"start and end must be integers, got {fields[1]!r} and {fields[2]!r}", number) from None
            if chrom not in chrom_sizes:
                known = ", ".join(list(chrom_sizes)[:10]) + (", ..." if len(chrom_sizes) > 10 else "")
                raise InputError(path, f"chromosome {chrom!r} is not in the genome (its chromosomes: {known})", number)
            if start < 0 or end > chrom_sizes[chrom] or start >= end:
                raise InputError(path, f"region {chrom}:{start}-{end} is outside the genome "
                                       f"({chrom} has {chrom_sizes[chrom]} bp) or empty", number)  # fmt: skip
            found = True
            yield number, chrom, start, end, fields
    if not found:
        raise InputError(path, f"{what} holds no regions")
