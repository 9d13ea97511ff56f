"""Coverage bigWigs from aligned reads (BAM) or fragment files (pysam), for signal tasks.

    check_reads("sample.bam")                       # kind; InputError (no index, unsorted, ...)
    reads_coverage("sample.bam", "sample.bw", genome_sizes, mode="tn5_cut_sites")

A signal task of the tasks sheet may name, in its `signal` column, a coordinate-sorted and
indexed BAM or a 10x-style fragments file (chrom, start, end, barcode, count; bgzip + tabix).
Rule `reads_coverage` turns it into `results/coverage/<task>.bw`, which then feeds the
signal-task path unchanged (deepcis.signals). What one read or fragment adds (`mode`):

- `extend` (ChIP-seq; the default for a BAM): the fragment. A properly paired read pair covers
  its template (counted once, from the leftmost mate); a single-end read is extended from its
  5' end to `fragment_length` bases in its direction. For a fragments file, the fragment.
- `cut_sites` (DNase-seq; the default for a fragments file): one count at each read's 5' end
  (for a fragments file: at both ends, start and end - 1).
- `tn5_cut_sites` (ATAC-seq; the default for a BAM whose task's assay names ATAC): the 5' end
  shifted by the Tn5 offset, +4 on the forward strand and -5 on the reverse strand (Buenrostro
  et al. 2013: Tn5 binds as a dimer and inserts two adapters 9 bp apart, so +4/-5 puts both
  reads of a cut on the centre of the insertion). 10x fragment files are already shifted
  (Cell Ranger writes the adjusted cut sites), so this mode is refused for them.

Reads are kept when mapped, primary (no secondary or supplementary), not QC-failed, with
MAPQ >= `min_mapq`; `duplicates: drop` leaves out reads flagged as duplicates (0x400; mark
them with `samtools markdup` or Picard first) and, for a fragments file, counts each fragment
once instead of its `count` (reads) times. `normalise: cpm` scales the counts by one million
over the reads (or fragments) kept. The genome is walked in spans of `SPAN` bases, so memory is
bounded by the span, not the chromosome. The bigWig is written to a temp path and renamed.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import InputError

log = logging.getLogger(__name__)

MODES = ("extend", "cut_sites", "tn5_cut_sites")
TN5_SHIFT = (4, -5)  # forward-strand, reverse-strand offsets of the ATAC Tn5 cut site
SPAN = 1 << 23
BAM_SUFFIXES = (".bam",)
FRAGMENT_SUFFIXES = (".tsv.gz", ".bed.gz", ".tsv.bgz", ".bed.bgz")
_UNWANTED_FLAGS = 0x4 | 0x100 | 0x200 | 0x800  # unmapped, secondary, QC fail, supplementary


def reads_kind(path) -> str | None:
    """'bam', 'fragments' or None (a bigWig), from the file name."""
    name = str(path).lower()
    if name.endswith(BAM_SUFFIXES):
        return "bam"
    if name.endswith(FRAGMENT_SUFFIXES):
        return "fragments"
    return None


def default_mode(kind: str, assay: str = "") -> str:
    """The counting mode of a reads task without a `coverage` column: cut sites for fragments
    and for ATAC / DNase BAMs (Tn5-shifted for ATAC), fragment extension otherwise."""
    if kind == "fragments":
        return "cut_sites"
    assay = assay.lower()
    if "atac" in assay:
        return "tn5_cut_sites"
    return "cut_sites" if "dnase" in assay else "extend"


def _index_of(path: Path, suffixes) -> Path | None:
    for suffix in suffixes:
        for candidate in (path.with_name(path.name + suffix), path.with_suffix(suffix)):
            if candidate.is_file():
                return candidate
    return None


def check_reads(path, mode: str | None = None) -> str:
    """Refuse reads files the coverage rule cannot walk, before any job runs; return the kind.

    A BAM must be coordinate-sorted (header `SO:coordinate`) with a .bai or .csi index; a
    fragments file must be bgzip with a tabix index (.tbi or .csi)."""
    import pysam

    path = Path(path)
    kind = reads_kind(path)
    if kind is None:
        raise InputError(path, f"not a reads file: a BAM ends in .bam, a fragments file in one of {', '.join(FRAGMENT_SUFFIXES)}")
    if not path.is_file():
        raise InputError(path, f"{'BAM' if kind == 'bam' else 'fragments'} file not found")
    if mode is not None and mode not in MODES:
        raise InputError(path, f"unknown coverage mode {mode!r} (one of {', '.join(MODES)})")
    if kind == "fragments":
        if mode == "tn5_cut_sites":
            raise InputError(path, "fragments files are already Tn5-shifted (10x Cell Ranger); use coverage cut_sites or extend")
        with open(path, "rb") as handle:
            if handle.read(2) != b"\x1f\x8b":
                raise InputError(
                    path, "fragments file is not bgzip-compressed (compress with `bgzip`, index with `tabix -p bed`)"
                )
        if _index_of(path, (".tbi", ".csi")) is None:
            raise InputError(path, "fragments file has no tabix index (.tbi or .csi beside it); run `tabix -p bed` on it")
        return kind
    try:
        with pysam.AlignmentFile(str(path), "rb") as bam:
            sort_order = bam.header.to_dict().get("HD", {}).get("SO", "unknown")
    except (ValueError, OSError) as error:
        raise InputError(path, f"not a readable BAM file ({error})") from None
    if sort_order != "coordinate":
        raise InputError(
            path, f"BAM is not coordinate-sorted (header SO:{sort_order}); run `samtools sort` then `samtools index`"
        )
    if _index_of(path, (".bai", ".csi")) is None:
        raise InputError(path, "BAM has no index (.bai or .csi beside it); run `samtools index` on it")
    return kind


def reads_contigs(path) -> dict[str, int | None]:
    """Contig names of a reads file, with lengths where the file records them (BAM header)."""
    import pysam

    if reads_kind(path) == "bam":
        with pysam.AlignmentFile(str(path), "rb") as bam:
            return dict(zip(bam.references, bam.lengths))
    with pysam.TabixFile(str(path)) as tabix:
        return dict.fromkeys(tabix.contigs)


def reads_per_contig(path) -> dict[str, int] | None:
    """Mapped reads per contig from a BAM's index (no read walked); None for a fragments file."""
    import pysam

    if reads_kind(path) != "bam":
        return None
    with pysam.AlignmentFile(str(path), "rb") as bam:
        return {stat.contig: int(stat.mapped) for stat in bam.get_index_statistics()}


def contig_problems(path, contigs: dict, genome_sizes: dict[str, int]) -> None:
    """Refuse a reads file (its `contigs`: name -> length or None) sharing no contig with the
    genome (another assembly or naming) or whose contig lengths differ from the genome's."""
    shared = [c for c in contigs if c in genome_sizes]
    if not shared:
        raise InputError(path, f"no contig in common with the genome (file: {', '.join(list(contigs)[:5]) or 'none'}; "
                               f"genome: {', '.join(list(genome_sizes)[:5])}); another assembly or chr naming?")  # fmt: skip
    for contig in shared:
        if contigs[contig] is not None and contigs[contig] != genome_sizes[contig]:
            raise InputError(path, f"contig {contig} is {contigs[contig]} bp here but {genome_sizes[contig]} bp in the genome "
                                   "(reads aligned to another assembly)")  # fmt: skip


def check_contigs(path, genome_sizes: dict[str, int]) -> list[str]:
    """`contig_problems` of a reads file (the input check, deepcis.input_check.check_reads_file,
    does the same before the coverage job runs); return the contigs it has that the genome lacks."""
    contigs = reads_contigs(path)
    contig_problems(path, contigs, genome_sizes)
    return [c for c in contigs if c not in genome_sizes]


def _bam_events(bam, chrom, lo, hi, mode, fragment_length, min_mapq, keep_duplicates):
    """(starts, ends) of what each kept read adds in [lo, hi), unclipped; one interval per read,
    or per template for paired `extend`. Reads are fetched with a margin so a fragment that
    starts before `lo` but reaches into the span is seen."""
    margin = max(fragment_length, 1000) if mode == "extend" else 10
    starts, ends = [], []
    previous = -1
    for read in bam.fetch(chrom, max(0, lo - margin), hi + margin):
        if read.reference_start < previous:
            raise InputError(bam.filename.decode(), f"BAM is not sorted: {read.query_name} at {chrom}:{read.reference_start + 1} "
                                                    "comes after a later position; run `samtools sort`")  # fmt: skip
        previous = read.reference_start
        flag = read.flag
        if flag & _UNWANTED_FLAGS or read.mapping_quality < min_mapq or (flag & 0x400 and not keep_duplicates):
            continue
        reverse = bool(flag & 0x10)
        if mode == "extend":
            if flag & 0x1:  # paired: the template, once, from the leftmost mate of a proper pair
                if not flag & 0x2 or read.template_length <= 0:
                    continue
                start, end = read.reference_start, read.reference_start + read.template_length
            elif reverse:
                start, end = read.reference_end - fragment_length, read.reference_end
            else:
                start, end = read.reference_start, read.reference_start + fragment_length
        else:
            site = read.reference_end - 1 if reverse else read.reference_start
            if mode == "tn5_cut_sites":
                site += TN5_SHIFT[1] if reverse else TN5_SHIFT[0]
            start, end = site, site + 1
        starts.append(start)
        ends.append(end)
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64), None


def _fragment_events(tabix, chrom, lo, hi, mode, keep_duplicates, path):
    starts, ends, weights = [], [], []
    if chrom not in tabix.contigs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), None
    for row in tabix.fetch(chrom, max(0, lo - 1), hi + 1):
        fields = row.split("\t")
        try:
            start, end = int(fields[1]), int(fields[2])
            count = int(fields[4]) if len(fields) > 4 and keep_duplicates else 1
        except (IndexError, ValueError):
            raise InputError(path, f"record {row[:80]!r} is not chrom, start, end, barcode, count") from None
        if end <= start:
            raise InputError(path, f"record {row[:80]!r}: end {end} is not after start {start}")
        if mode == "extend":
            starts.append(start), ends.append(end), weights.append(count)
        else:
            starts += [start, end - 1]
            ends += [start + 1, end]
            weights += [count, count]
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64), np.asarray(weights, np.float64)


def _span_counts(starts, ends, weights, lo, hi) -> np.ndarray:
    """Per-base counts over [lo, hi) of intervals clipped to it (a difference array)."""
    diff = np.zeros(hi - lo + 1, dtype=np.float64)
    s, e = np.clip(starts, lo, hi) - lo, np.clip(ends, lo, hi) - lo
    keep = e > s
    w = np.ones(keep.sum()) if weights is None else weights[keep]
    np.add.at(diff, s[keep], w)
    np.add.at(diff, e[keep], -w)
    return np.cumsum(diff[:-1])


def _events_per_span(path, kind, chrom_sizes, mode, fragment_length, min_mapq, keep_duplicates, span):
    """Yield (chrom, lo, hi, counts) span by span over the genome's chromosomes, in order."""
    import pysam

    opener = pysam.AlignmentFile(str(path), "rb") if kind == "bam" else pysam.TabixFile(str(path))
    with opener as handle:
        contigs = set(handle.references) if kind == "bam" else set(handle.contigs)
        for chrom, length in chrom_sizes.items():
            for lo in range(0, length, span):
                hi = min(length, lo + span)
                if chrom not in contigs:
                    yield chrom, lo, hi, None
                    continue
                if kind == "bam":
                    starts, ends, weights = _bam_events(handle, chrom, lo, hi, mode, fragment_length, min_mapq, keep_duplicates)
                else:
                    starts, ends, weights = _fragment_events(handle, chrom, lo, hi, mode, keep_duplicates, path)
                # An event belongs to the span holding its start (so each read is counted once
                # in the total), but its coverage is spread over every span it overlaps.
                owned = (starts >= lo) & (starts < hi) if lo else starts < hi
                n_owned = float(owned.sum() if weights is None else weights[owned].sum())
                yield chrom, lo, hi, (_span_counts(starts, ends, weights, lo, hi), n_owned)


def reads_coverage(path, out_path, chrom_sizes: dict[str, int], mode: str = "extend", fragment_length: int = 200,
                   min_mapq: int = 30, duplicates: str = "drop", normalise: str = "none", span: int = SPAN) -> dict:  # fmt: skip
    """Write the coverage bigWig of a BAM or fragments file over the genome's chromosomes and
    return a summary (reads or fragments counted, scale, contigs left out)."""
    import pyBigWig

    from .io_utils import atomic_path

    kind = check_reads(path, mode)
    extra = check_contigs(path, chrom_sizes)
    if duplicates not in ("drop", "keep") or normalise not in ("none", "cpm"):
        raise ValueError(f"duplicates must be drop or keep, normalise none or cpm (got {duplicates!r}, {normalise!r})")
    if fragment_length < 1:
        raise ValueError(f"fragment_length must be >= 1 (got {fragment_length})")
    args = (path, kind, chrom_sizes, mode, fragment_length, min_mapq, duplicates == "keep", span)
    scale = 1.0
    if normalise == "cpm":  # a first pass counts what is kept
        total = sum(item[1] for *_, item in _events_per_span(*args) if item is not None)
        scale = 1e6 / total if total else 1.0
    counted = 0.0
    with atomic_path(out_path) as tmp:
        bw = pyBigWig.open(str(tmp), "w")
        try:
            bw.addHeader(list(chrom_sizes.items()), maxZooms=4)
            for chrom, lo, _hi, item in _events_per_span(*args):
                if item is None:
                    continue
                counts, n_owned = item
                counted += n_owned
                nz = np.flatnonzero(counts)
                if not nz.size:
                    continue
                values = counts[nz]
                breaks = np.flatnonzero((np.diff(nz) != 1) | (np.diff(values) != 0)) + 1
                first = np.concatenate([[0], breaks])
                last = np.concatenate([breaks, [nz.size]]) - 1
                bw.addEntries([chrom] * first.size, (nz[first] + lo).tolist(), ends=(nz[last] + lo + 1).tolist(),
                              values=(values[first] * scale).tolist())  # fmt: skip
        finally:
            bw.close()
    if not counted:
        log.warning(
            "%s: no read passed the filters (MAPQ >= %d, duplicates %s) on the genome's chromosomes", path, min_mapq, duplicates
        )
    return {"file": str(path), "kind": kind, "mode": mode, "counted": counted, "scale": scale, "normalise": normalise,
            "min_mapq": min_mapq, "duplicates": duplicates, "contigs_not_in_genome": extra}  # fmt: skip


def enrichment_at_sites(bigwig, sites, half: int = 100, search: int = 500) -> dict:
    """How a coverage bigWig peaks at known sites, (chrom, position) pairs: the mean coverage
    within `half` bp of them, the genome-wide mean and their ratio, and how far the coverage
    maximum within `search` bp of each site lies from it (median, 95th percentile, largest)."""
    import pyBigWig

    with pyBigWig.open(str(bigwig)) as bw:
        sizes = bw.chroms()
        tracks = {c: np.nan_to_num(np.asarray(bw.values(c, 0, n), dtype=np.float64)) for c, n in sizes.items()}
    genome_mean = sum(t.sum() for t in tracks.values()) / sum(sizes.values())
    near = float(np.mean([tracks[c][max(0, p - half) : p + half].mean() for c, p in sites]))
    offsets = np.abs([int(np.argmax(tracks[c][p - search : p + search])) - search
                      for c, p in sites if search <= p <= sizes[c] - search])  # fmt: skip
    return {"sites": len(sites), "mean_near_sites": near, "genome_mean": float(genome_mean),
            "ratio": near / genome_mean if genome_mean else float("inf"),
            "offset_median": float(np.median(offsets)), "offset_p95": float(np.percentile(offsets, 95)),
            "offset_max": int(offsets.max())}  # fmt: skip


def coverage_bigwig_path(task: str) -> str:
    """Where rule reads_coverage writes a reads task's coverage bigWig."""
    return f"results/coverage/{task}.bw"


def plan_reads_tasks(tasks: list[dict]) -> dict[str, dict]:
    """Check the reads files of a tasks sheet's signal tasks (at parse time) and point each
    such task's `signal` at its coverage bigWig; return {task: {reads, kind, mode}}.

    The original file stays in the row as `reads`, the counting mode as `coverage`."""
    from .errors import ConfigError

    planned = {}
    for task in tasks:
        kind = reads_kind(task.get("signal", "")) if task["type"] == "signal" else None
        if kind is None:
            if "coverage" in task:
                raise ConfigError(
                    f"task {task['name']!r}: column 'coverage' is for signal tasks whose 'signal' is a BAM or fragments file"
                )
            continue
        mode = task.get("coverage") or default_mode(kind, task.get("assay", ""))
        try:
            check_reads(task["signal"], mode)
        except InputError as error:
            raise ConfigError(f"task {task['name']!r}: {error}") from None
        task.update(reads=task["signal"], coverage=mode, signal=coverage_bigwig_path(task["name"]))
        planned[task["name"]] = {"reads": task["reads"], "kind": kind, "mode": mode}
    return planned
