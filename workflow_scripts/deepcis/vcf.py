"""VCF input and output: reading (pysam), the validating pre-pass, compression (bgzip),
contig names, and the indexed bgzip writer of annotated VCFs.

The VCF (plain text or bgzip; BCF also works) is read with pysam, one `VcfRecord` per
record, in input order; VCF POS stays 1-based here and is converted by the scoring engine
(`deepcis.variants`). Every parse error becomes an `InputError` naming the file, the record
and its line. pysam is imported only by the functions that touch a file.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .errors import InputError
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.vcf")


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


class VcfRecord(NamedTuple):
    """One VCF record as read: `pos` is VCF POS (1-based); `alts` is () for ALT '.'."""

    index: int  # 0-based record number in input order
    chrom: str
    pos: int
    id: str
    ref: str
    alts: tuple
    text: str | None = None  # the record re-serialised by pysam (for the annotated VCF)


@dataclass
class VcfScan:
    """What a pre-pass learns about a VCF without keeping its records.

    Line numbers are the file's (header lines counted); record numbers count records from 1.
    """

    n_records: int = 0
    contigs: dict = field(default_factory=dict)  # name -> record count, in first-seen order
    contig_first_line: dict = field(default_factory=dict)  # name -> file line of its first record
    unsorted_line: int | None = None  # record number of the first record out of (contig-contiguous, POS) order
    unsorted_file_line: int | None = None  # its line in the file
    duplicate: tuple | None = None  # (file line, file line of the first copy, "chrom:pos ref>alt") of the first duplicate
    header_text: str = ""  # header as pysam holds it after reading all records
    header_lines: int = 0  # '#' lines before the first record
    ref_checked: int = 0  # records whose REF was compared with the genome (with `genome`)
    ref_mismatches: int = 0
    first_ref_mismatch: tuple | None = None  # (file line, "chrom:pos", REF, genome bases)
    outside_chromosome: int = 0  # records whose REF span runs past their chromosome's end


@contextlib.contextmanager
def _quiet_htslib(level: int = 0):
    """Htslib prints warnings (undefined INFO tags, contigs, no index) for every file, and
    errors whose content InputError reports better (file, line, problem): silence both."""
    import pysam

    previous = pysam.set_verbosity(level)
    try:
        yield
    finally:
        pysam.set_verbosity(previous)


def vcf_compression(path) -> str:
    """'bgzf' (bgzip VCF or BCF), 'gzip' (plain gzip, which htslib cannot read) or 'plain'."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    if head[:2] != b"\x1f\x8b":
        return "plain"
    # a BGZF block is a gzip member whose extra field carries the subfield 'BC'
    return "bgzf" if b"BC" in head[12:16] else "gzip"


def bgzip_vcf(src, dst, block_size: int = 1 << 20) -> None:
    """Rewrite a plain-text or plain-gzip VCF as bgzip (what pysam and tabix need), streaming
    in blocks and writing through a temp path."""
    import pysam

    src = Path(src)
    if not src.is_file():
        raise InputError(src, "VCF not found (or not a regular file)")
    opener = gzip.open if vcf_compression(src) == "gzip" else open
    try:
        with opener(src, "rb") as handle, atomic_path(dst) as tmp:
            open(tmp, "wb").close()  # an unwritable folder fails here, cleanly: pysam.BGZFile would crash
            out = pysam.BGZFile(str(tmp), "wb")
            try:
                while block := handle.read(block_size):
                    out.write(block)
            finally:
                out.close()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(src, f"cannot decompress the VCF: {error}") from None


def _open_vcf(path, allow_gzip: bool = False):
    """A pysam VariantFile over `path`; a plain-gzip file (which htslib cannot read) is refused,
    or with `allow_gzip` decompressed into a pipe that htslib reads (`_gzip_pipe`)."""
    import pysam

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "VCF not found (or not a regular file)")
    if path.stat().st_size == 0:
        raise InputError(path, "VCF is empty (not even a header)")
    source, cleanup = str(path), None
    if vcf_compression(path) == "gzip":
        if not allow_gzip:
            raise InputError(path, "VCF is compressed with plain gzip; recompress it with bgzip "
                             "(zcat in.vcf.gz | bgzip > out.vcf.gz)")
        source, cleanup = _gzip_pipe(path)
    try:
        handle = pysam.VariantFile(source, "r")
    except (ValueError, OSError, NotImplementedError) as error:
        if cleanup is not None:
            cleanup()
        raise _header_problem(path) or InputError(
            path, f"not a readable VCF/BCF file: {error}; a VCF needs '##fileformat' and '#CHROM' header lines and "
            "tab-separated records") from None  # fmt: skip
    if cleanup is not None:
        handle_close = handle.close

        def close():
            handle_close()
            cleanup()

        return _Closing(handle, close)
    return handle


class _Closing:
    """A VariantFile whose close() also ends the decompression pipe behind it."""

    def __init__(self, handle, close):
        self._handle, self.close = handle, close

    def __iter__(self):
        return iter(self._handle)

    @property
    def header(self):
        return self._handle.header


def _header_problem(path) -> InputError | None:
    """What is wrong with a text VCF's header, with its line (None when it looks right or the
    file is not text: htslib's own message is then the best there is)."""
    try:
        lines = []
        for number, text in enumerate(_text_lines(path), start=1):
            lines.append((number, text.rstrip("\r\n")))
            if not text.startswith("#") or number > 100_000:
                break
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError):
        return None
    if not lines or any("\x00" in text for _, text in lines[:3]):
        return None
    if not lines[0][1].startswith("##fileformat=VCF"):
        return InputError(path, f"the first line must be '##fileformat=VCFv4.x', found {lines[0][1][:60]!r}", 1)
    chrom = [n for n, text in lines if text.startswith("#CHROM")]
    if not chrom:
        first = next((n for n, text in lines if not text.startswith("#")), len(lines))
        return InputError(path, "the header has no '#CHROM POS ID REF ALT QUAL FILTER INFO' line before the first "
                          "record", first)  # fmt: skip
    columns = lines[chrom[0] - 1][1].lstrip("#").split("\t")
    wanted = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if columns[:8] != wanted:
        return InputError(path, f"the '#CHROM' line must name the tab-separated columns {' '.join(wanted)}, found "
                          f"{columns[:8]}", chrom[0])  # fmt: skip
    bad = next(((n, text) for n, text in lines if text.startswith("##") and "=" not in text), None)
    if bad is not None:
        return InputError(path, f"a '##' header line must be '##key=value', found {bad[1][:60]!r}", bad[0])
    return None


def _gzip_pipe(path):
    """('/dev/fd/N', cleanup): the decompressed bytes of a plain-gzip file, fed into a pipe by a
    thread, so htslib reads it as a stream without a temp copy."""
    import os
    import threading

    read_fd, write_fd = os.pipe()
    failed = []

    def feed():
        try:
            with gzip.open(path, "rb") as src, os.fdopen(write_fd, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        except BrokenPipeError:  # the reader stopped early (it reports why)
            pass
        except (OSError, EOFError) as error:  # a damaged gzip file
            failed.append(error)

    thread = threading.Thread(target=feed, daemon=True)
    thread.start()

    def cleanup():
        os.close(read_fd)
        thread.join(timeout=10)
        if failed:
            raise InputError(path, f"truncated or corrupt gzip file: {failed[0]}")

    return f"/dev/fd/{read_fd}", cleanup


def _text_lines(path) -> Iterator[str]:
    with open(path, "rb") as handle:
        gz = handle.read(2) == b"\x1f\x8b"
    opener = gzip.open if gz else open
    with opener(path, "rt", errors="replace") as handle:
        yield from handle


def _diagnose(path, record_index: int) -> InputError:
    """Pysam failed on record `record_index` (0-based): find its line and say what is wrong."""
    header_lines, seen, line_no, line = 0, -1, None, None
    try:
        for number, text in enumerate(_text_lines(path), start=1):
            if text.startswith("#"):
                header_lines += 1
                continue
            seen += 1
            if seen == record_index:
                line_no, line = number, text.rstrip("\n")
                break
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        return InputError(path, f"record {record_index + 1} cannot be read: {error}")
    if line is None:
        return InputError(path, f"record {record_index + 1} cannot be read (file truncated or not "
                          "valid VCF/BGZF after the last good record)")
    fields = line.split("\t")
    if line.strip() == "":
        problem = "empty line inside the records"
    elif len(fields) < 8:
        problem = (f"expected at least 8 tab-separated columns (CHROM POS ID REF ALT QUAL FILTER "
                   f"INFO), found {len(fields)}")
    elif not fields[1].isdigit():
        problem = f"POS {fields[1]!r} is not a positive integer"
    elif fields[3] in ("", "."):
        problem = "REF is missing"
    else:
        problem = "htslib cannot parse this record (check QUAL, INFO and FORMAT against the header)"
    snippet = line if len(line) <= 80 else line[:77] + "..."
    return InputError(path, f"malformed record {record_index + 1} ({problem}): {snippet!r}", line=line_no)


def _iter_pysam(path, handle) -> Iterator:
    """Pysam records with parse errors turned into InputError naming the record and line."""
    index = 0
    iterator = iter(handle)
    while True:
        try:
            record = next(iterator)
        except StopIteration:
            return
        except (ValueError, OSError, RuntimeError) as error:
            raise _diagnose(path, index) from error
        yield index, record
        index += 1


def header_line_count(path) -> int:
    """Lines of the VCF's header (those starting with '#') before the first record."""
    count = 0
    try:
        for text in _text_lines(path):
            if not text.startswith("#"):
                break
            count += 1
    except (OSError, EOFError, gzip.BadGzipFile):
        pass  # the reader reports the damage with its record
    return count


def scan_vcf(path, genome=None, ref_block: int = 65536, allow_gzip: bool = False) -> VcfScan:
    """Pre-pass over the whole VCF: validates every record (bad input fails before any
    scoring), counts records and contig use, finds the first record out of sort order (for
    tabix) and the first duplicate (same CHROM, POS, REF and an ALT seen there before).

    With `genome` (a `deepcis.genome.Genome`), also compares each REF with the genome's bases
    (contig names resolved with `contig_name`), counting mismatches: a count, not an error.
    Memory is bounded: REFs are checked `ref_block` records at a time. `allow_gzip` reads a
    plain-gzip file too (through a pipe; the scoring jobs need bgzip).
    """
    scan = VcfScan(header_lines=header_line_count(path))
    first_line = scan.header_lines + 1
    last_chrom, last_pos, finished = None, -1, set()
    here_pos, here_alleles = None, {}  # alleles seen at (last_chrom, here_pos): (ref, alt) -> line
    contigs = scan.contigs
    pending = []  # (line, chrom, pos, ref) awaiting the REF check
    names = {}
    with _quiet_htslib(), contextlib.closing(_open_vcf(path, allow_gzip)) as handle:
        for index, record in _iter_pysam(path, handle):
            chrom, pos, ref = record.chrom, record.pos, record.ref
            if chrom not in contigs:
                scan.contig_first_line[chrom] = first_line + index
            contigs[chrom] = contigs.get(chrom, 0) + 1
            if chrom != last_chrom:
                if scan.unsorted_line is None and chrom in finished:
                    scan.unsorted_line, scan.unsorted_file_line = index + 1, first_line + index
                if last_chrom is not None:
                    finished.add(last_chrom)
                last_chrom, last_pos = chrom, pos
                here_pos, here_alleles = None, {}
            elif pos < last_pos and scan.unsorted_line is None:
                scan.unsorted_line, scan.unsorted_file_line = index + 1, first_line + index
            last_pos = pos
            if pos != here_pos:
                here_pos, here_alleles = pos, {}
            line = first_line + index
            for alt in record.alts or (".",):
                seen = here_alleles.setdefault((ref, alt), line)
                if seen != line and scan.duplicate is None:
                    scan.duplicate = (line, seen, f"{chrom}:{pos} {ref}>{alt}")
            if genome is not None:
                pending.append((line, chrom, pos, ref))
                if len(pending) >= ref_block:
                    _check_refs(scan, genome, pending, names)
                    pending = []
            scan.n_records = index + 1
        scan.header_text = str(handle.header)
    if genome is not None and pending:
        _check_refs(scan, genome, pending, names)
    return scan


def duplicate_error(path, duplicate: tuple) -> InputError:
    """The error for `VcfScan.duplicate` (file line, line of the first copy, what)."""
    line, first, what = duplicate
    return InputError(path, f"duplicate record {what} (first on line {first}): it would be scored twice; remove "
                      "duplicates first (bcftools norm --rm-dup exact)", line)  # fmt: skip


def unsorted_error(path, record: int, line: int) -> InputError:
    """The error for a VCF whose record `record` (on `line`) is out of (contig, POS) order."""
    return InputError(path, f"records are not sorted: record {record} comes after a later position or contig "
                      "(contigs must be contiguous, POS ascending); sort it first (bcftools sort -Oz -o "
                      "sorted.vcf.gz in.vcf.gz)", line)  # fmt: skip


def contig_name(name: str, genome_sizes) -> str | None:
    """The genome's name of a VCF contig: as is, with 'chr' added, or with it removed."""
    genome = genome_sizes if isinstance(genome_sizes, (set, dict)) else set(genome_sizes)
    for candidate in (name, _add_chr(name, genome), _remove_chr(name, genome)):
        if candidate in genome:
            return candidate
    return None


def _check_refs(scan: VcfScan, genome, rows: list, names: dict) -> None:
    """Compare the REFs of `rows` (line, chrom, pos, ref) with the genome, grouped by contig and
    REF length so the genome is read in vectorised window fetches."""
    import numpy as np

    sizes = genome.chrom_sizes
    groups: dict = {}
    for line, chrom, pos, ref in rows:
        target = names[chrom] if chrom in names else names.setdefault(chrom, contig_name(chrom, sizes))
        if target is None or not ref or ref == ".":
            continue  # contigs are counted elsewhere; a missing REF fails the reader
        if pos - 1 + len(ref) > sizes[target]:
            scan.outside_chromosome += 1
            continue
        groups.setdefault((target, len(ref)), []).append((line, pos, ref.upper(), chrom))
    for (target, length), members in groups.items():
        starts = np.fromiter((m[1] - 1 for m in members), np.int64, count=len(members))
        got = genome.fetch_windows(target, starts, length)
        want = np.frombuffer("".join(m[2] for m in members).encode("ascii", "replace"), np.uint8).reshape(-1, length)
        got_upper = np.where((got >= 97) & (got <= 122), got - 32, got).astype(np.uint8)
        wrong = np.flatnonzero((got_upper != want).any(axis=1))
        scan.ref_checked += len(members)
        scan.ref_mismatches += int(wrong.size)
        if wrong.size:
            k = int(wrong[0])
            line, pos, ref, chrom = members[k]
            candidate = (line, f"{chrom}:{pos}", ref, got_upper[k].tobytes().decode("ascii", "replace"))
            if scan.first_ref_mismatch is None or line < scan.first_ref_mismatch[0]:
                scan.first_ref_mismatch = candidate


def read_vcf(path, start: int = 0, stop: int | None = None, with_text: bool = False) -> Iterator[VcfRecord]:
    """Records [start, stop) of a VCF in input order (0-based record numbers)."""
    with _quiet_htslib(), contextlib.closing(_open_vcf(path)) as handle:
        for index, record in _iter_pysam(path, handle):
            if index < start:
                continue
            if stop is not None and index >= stop:
                return
            yield VcfRecord(
                index, record.chrom, record.pos, record.id or ".", record.ref,
                tuple(record.alts or ()), str(record) if with_text else None,
            )


# --------------------------------------------------------------------------------------
# Chromosome names
# --------------------------------------------------------------------------------------


def _add_chr(name: str, genome: set) -> str:
    if name == "MT" and "chrMT" not in genome:
        return "chrM"
    return name if name.startswith("chr") else "chr" + name


def _remove_chr(name: str, genome: set) -> str:
    if name == "chrM" and "M" not in genome:
        return "MT"
    return name[3:] if name.startswith("chr") else name


def _name_list(names, limit: int = 15) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def resolve_contigs(used: dict, genome_names, vcf_path="VCF", genome_path="genome") -> dict:
    """Map the VCF's contig names to the genome's: {vcf name: genome name or None}.

    Tried in order: the names as they are, 'chr' added (1 -> chr1, MT -> chrM), 'chr'
    removed (chr1 -> 1, chrM -> MT). The first that places every used contig wins; if none
    does, the one placing the most records (names as they are on a tie), and the contigs it
    cannot place are skipped (counted as contig_not_in_genome). If no record can be placed
    at all, InputError lists both sets of names.
    """
    genome = set(genome_names)
    mappings = {
        "as is": lambda n: n,
        "'chr' prefix added": lambda n: _add_chr(n, genome),
        "'chr' prefix removed": lambda n: _remove_chr(n, genome),
    }
    best = None
    for how, fn in mappings.items():
        mapping = {name: (fn(name) if fn(name) in genome else None) for name in used}
        placed = sum(count for name, count in used.items() if mapping[name] is not None)
        if best is None or placed > best[2]:
            best = (how, mapping, placed)
        if placed == sum(used.values()):
            break
    how, mapping, placed = best
    if used and placed == 0:
        raise InputError(
            vcf_path,
            f"none of the VCF's contigs is in the genome {genome_path}, even with the 'chr' prefix "
            f"added or removed. VCF contigs: {_name_list(used)}. Genome sequences: "
            f"{_name_list(genome_names)}. Use the genome the VCF was called on, or rename the "
            "contigs (bcftools annotate --rename-chrs).",
        )
    if how != "as is":
        log.info("VCF contig names resolved against the genome with the %s", how)
    missing = [name for name, target in mapping.items() if target is None]
    if missing:
        log.warning("%d record(s) on contigs absent from the genome are skipped: %s",
                    sum(used[n] for n in missing), _name_list(missing))
    return mapping


# --------------------------------------------------------------------------------------
# Writing: bgzip + tabix index
# --------------------------------------------------------------------------------------


def open_bgzf_indexed(out_vcf_gz, index: bool, stack: contextlib.ExitStack):
    """Open atomic temp files for a bgzip VCF (+ .tbi); returns (handle, finish)."""
    import pysam

    out = Path(out_vcf_gz)
    tbi_tmp = stack.enter_context(atomic_path(out.with_name(out.name + ".tbi"))) if index else None
    gz_tmp = stack.enter_context(atomic_path(out))  # renamed before the index: tabix wants it older
    open(gz_tmp, "wb").close()  # an unwritable folder fails here, cleanly: pysam.BGZFile would crash
    handle = pysam.BGZFile(str(gz_tmp), "wb")
    stack.callback(handle.close)  # on failure: closed before the temp file is removed

    def finish():
        handle.close()
        fsync_file(gz_tmp)
        if index:
            try:
                pysam.tabix_index(str(gz_tmp), preset="vcf", force=True, index=str(tbi_tmp))
            except (OSError, ValueError) as error:
                raise InputError(out, f"cannot tabix-index the annotated VCF ({error}); the input must "
                                 "be sorted by contig and position (bcftools sort)") from None

    return handle, finish
