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
    """What a pre-pass learns about a VCF without keeping its records."""

    n_records: int = 0
    contigs: dict = field(default_factory=dict)  # name -> record count, in first-seen order
    unsorted_line: int | None = None  # first record out of (contig-contiguous, POS) order
    header_text: str = ""  # header as pysam holds it after reading all records


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
            out = pysam.BGZFile(str(tmp), "wb")
            try:
                while block := handle.read(block_size):
                    out.write(block)
            finally:
                out.close()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(src, f"cannot decompress the VCF: {error}") from None


def _open_vcf(path):
    import pysam

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "VCF not found (or not a regular file)")
    if path.stat().st_size == 0:
        raise InputError(path, "VCF is empty (not even a header)")
    if vcf_compression(path) == "gzip":
        raise InputError(path, "VCF is compressed with plain gzip; recompress it with bgzip "
                         "(zcat in.vcf.gz | bgzip > out.vcf.gz)")
    try:
        return pysam.VariantFile(str(path), "r")
    except (ValueError, OSError, NotImplementedError) as error:
        raise InputError(path, f"not a readable VCF/BCF file: {error}; a VCF needs '##fileformat' "
                         "and '#CHROM' header lines and tab-separated records") from None


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


def scan_vcf(path) -> VcfScan:
    """Pre-pass over the whole VCF: validates every record (bad input fails before any
    scoring), counts records and contig use, and checks sort order (for tabix)."""
    scan = VcfScan()
    last_chrom, last_pos, finished = None, -1, set()
    with _quiet_htslib(), contextlib.closing(_open_vcf(path)) as handle:
        for index, record in _iter_pysam(path, handle):
            chrom, pos = record.chrom, record.pos
            scan.contigs[chrom] = scan.contigs.get(chrom, 0) + 1
            if scan.unsorted_line is None:
                if chrom != last_chrom:
                    if chrom in finished:
                        scan.unsorted_line = index + 1
                    if last_chrom is not None:
                        finished.add(last_chrom)
                    last_chrom, last_pos = chrom, pos
                elif pos < last_pos:
                    scan.unsorted_line = index + 1
                last_pos = pos
            scan.n_records = index + 1
        scan.header_text = str(handle.header)
    return scan


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
