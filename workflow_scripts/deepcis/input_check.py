"""The input check: every input file a later stage reads, scanned before the long work.

    checks = check_inputs(config, tasks, groups=("data", "vcf"), cache_dir=".snakemake/deepcis")

What is checked, per file (each problem an `InputError` naming the file, the line and what
is wrong, or a `ConfigError` naming the tasks-sheet rows):

- genome FASTA: nucleotide FASTA (a protein file is refused at its first bad line), unique
  names; its `.fai` index matches it (a stale one is rebuilt with a message, or refused where
  it cannot be written), and a missing one can be made (a read-only folder is refused);
- genome 2bit (recognised by its signature, as `deepcis.genome.Genome` does): the structural
  check of `deepcis.twobit` (every index entry and record inside the file; a corrupt or
  truncated file is refused naming the record); its names and lengths are the contigs; no index;
- peak files, blacklist, measured-region BEDs, the interpret and tracks BEDs: every record
  (columns, coordinates, summit, chromosome end; `deepcis.peaks`);
- predict_fasta's sequences: nucleotide FASTA, unique names;
- bigWig signal tracks: readable, their contig names;
- BAM and fragments files of signal tasks (rule reads_coverage makes their bigWig): contig
  names and lengths from the BAM header (reads per contig from its index) or the tabix index,
  no read walked; that the BAM is sorted and indexed and the fragments file bgzip + tabix is
  already refused when the workflow is parsed (`deepcis.coverage.plan_reads_tasks`);
- sequence tables (config `sequence_table`, no genome): every source read and checked
  (`deepcis.seqtable.check_tables`: columns, sequences, labels, duplicate IDs, train/test ID
  clashes), sequences counted per file; no genome, no chromosome keys;
- the VCF: header, every record (htslib), sort order, duplicate records, REF against the
  genome (counted, not fatal); plain gzip is read through a pipe;
- contig names of every file against the genome, counted per file: a name the genome lacks
  but spells almost the same way (`1` vs `chr1`, a trailing space, `MT` vs `chrM`, another
  case) stops the run with the rename to make; so does a file with more than
  `input_check.max_missing_fraction` of its records on contigs the genome lacks;
- two tasks pointing at the same peak file (same path, or the same bytes).

Results are cached (one small JSON per file under `cache_dir`) by path, size and
modification time, so re-checking at every parse of the workflow costs a `stat` per file;
Snakemake re-parses the workflow in every job on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import ConfigError, InputError
from .io_utils import canonical_json, write_json

log = logging.getLogger("deepcis.input_check")

CHECK_VERSION = 1
GROUPS = ("data", "vcf", "bed", "fasta")


@dataclass
class FileCheck:
    """What the check learned about one input file (JSON-ready)."""

    role: str  # genome, peaks:<task>, blacklist, signal:<task>, measured:<task>, vcf, interpret_bed
    path: str
    kind: str  # fasta, 2bit, bed, bigwig, bam, fragments, vcf, sequence_table, labels
    records: int = 0  # sequences (FASTA, 2bit, table), intervals (BED), contigs (bigWig, fragments), records (VCF), mapped reads (BAM)
    contigs: int = 0  # distinct contig names the file uses
    missing: dict = field(default_factory=dict)  # contig the genome lacks -> records on it
    notes: list = field(default_factory=list)
    sizes: dict | None = None  # the genome's contig sizes (genome only)

    @property
    def missing_records(self) -> int:
        return int(sum(self.missing.values()))


# --------------------------------------------------------------------------------------
# Contig names
# --------------------------------------------------------------------------------------

_MITO = ("chrM", "MT", "M", "chrMT")


def near_match(name: str, genome_names) -> tuple[str, str] | None:
    """(genome name, what differs) for a contig the genome lacks but spells almost the same
    way: surrounding whitespace, a 'chr' prefix, the mitochondrion's names, letter case."""
    genome = set(genome_names)
    stripped = name.strip()
    candidates = [(stripped, "surrounding whitespace")]
    if stripped.startswith("chr"):
        candidates.append((stripped[3:], "a 'chr' prefix the genome does not use"))
    else:
        candidates.append(("chr" + stripped, "no 'chr' prefix where the genome has one"))
    if stripped in _MITO:
        candidates += [(m, "another name of the mitochondrion") for m in _MITO]
    for candidate, why in candidates:
        if candidate != name and candidate in genome:
            return candidate, why
    lower = {g.lower(): g for g in genome}
    for candidate, _ in candidates[:2] + [(stripped, "")]:
        if candidate.lower() in lower and lower[candidate.lower()] != name:
            return lower[candidate.lower()], "letter case (and 'chr' prefix or whitespace)"
    return None


def _names(names, limit: int = 8) -> str:
    names = [repr(n) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def contig_verdict(check: FileCheck, genome_names, max_missing_fraction: float, first_line: dict | None = None,
                   what: str = "records", rename: str | None = None) -> None:  # fmt: skip
    """Stop (InputError) when a contig the genome lacks is a near match of one it has (the
    message gives the rename; `rename` the command, where sed on the file does not do), or
    when more than `max_missing_fraction` of the file's records lie on contigs the genome lacks."""
    first_line = first_line or {}
    near = {m: near_match(m, genome_names) for m in check.missing}
    near = {m: hit for m, hit in near.items() if hit is not None}
    if near:
        name = min(near, key=lambda m: first_line.get(m, 0))
        target, why = near[name]
        others = [f"{m!r} -> {t!r}" for m, (t, _) in near.items() if m != name]
        more = f"; also {', '.join(others[:5])}{' ...' if len(others) > 5 else ''}" if others else ""
        sed = f"sed 's/^{name.strip()}\\t/{target}\\t/'"
        how = rename.format(sed=sed, name=name.strip(), target=target) if rename else sed
        raise InputError(check.path, f"contig {name!r} ({check.missing[name]} {what}) is not in the genome, but "
                         f"{target!r} is ({why}){more}. Rename the contigs of this file to the genome's names "
                         f"(for example {how}), or use the genome the file was made on", first_line.get(name))  # fmt: skip
    total = check.records if what == "records" else check.contigs
    lost = check.missing_records if what == "records" else len(check.missing)
    if total and lost and lost / total > max_missing_fraction:
        raise InputError(check.path, f"{lost} of {total} {what} ({100 * lost / total:.0f}%) lie on contigs the "
                         f"genome lacks: {_names(check.missing)}; the genome has {_names(genome_names)}. "
                         "Wrong genome or naming? If the genome is deliberately a subset of the file's, raise "
                         f"input_check.max_missing_fraction (now {max_missing_fraction})",
                         first_line.get(next(iter(check.missing)), None))  # fmt: skip


# --------------------------------------------------------------------------------------
# One file each
# --------------------------------------------------------------------------------------


def _writable_folder(path: Path) -> bool:
    return os.access(path.parent if str(path.parent) else Path("."), os.W_OK)


def _read_fai(fai: Path) -> list[tuple[str, int, int]] | None:
    try:
        rows = [line.rstrip("\n").split("\t") for line in fai.read_text().splitlines() if line.strip()]
        return [(r[0], int(r[1]), int(r[2])) for r in rows]
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None


def check_fasta_index(path, scan, fix: bool) -> list[str]:
    """The FASTA's `.fai` against the scan (names, lengths, byte offsets): a stale or damaged
    index is rebuilt (`fix`) with a note, or refused where its folder is read-only; a missing
    one is made (`fix`), or refused where it cannot be. An index that matches but looks older
    than the FASTA (Snakemake dates a rule's outputs, not their index) just gets a new time,
    so pyfaidx does not rebuild it. Without `fix` (a dry run) nothing is written. Rebuilds go
    through a temp file and a rename: two checks of the same genome at once are safe."""
    path = Path(path)
    fai = Path(f"{path}.fai")
    writable = _writable_folder(fai) and (not fai.exists() or os.access(fai, os.W_OK))
    if fai.is_file():
        rows = _read_fai(fai)
        want = list(zip(scan.names, scan.lengths, scan.offsets))
        problem = None
        if rows is None:
            problem = "it cannot be parsed"
        elif [(n, ln) for n, ln, _ in rows] != [(n, ln) for n, ln, _ in want]:
            problem = "its sequence names or lengths differ from the FASTA's"
        elif not scan.bgzipped and rows != want:
            problem = "its byte offsets differ from the FASTA's"
        if problem is None:
            if fix and writable and fai.stat().st_mtime < path.stat().st_mtime:
                os.utime(fai)
            return []
        if not writable:
            raise InputError(fai, f"the genome's index is stale ({problem}: the FASTA changed after indexing) and "
                             f"cannot be rebuilt: {fai.parent} is read-only. Rebuild it where it can be written "
                             "(samtools faidx), or link the FASTA into a writable folder and point genome: there")  # fmt: skip
        if not fix:
            return [f"index {fai} is stale ({problem}); the run rebuilds it"]
        _build_index(path, scan.bgzipped)
        note = f"rebuilt the stale index {fai} ({problem}: the FASTA changed after indexing)"
        log.warning("%s: %s", path, note)
        return [note]
    if not writable:
        raise InputError(path, f"the genome has no .fai index and its folder {path.parent} is read-only, so none can "
                         "be made there: index it once where it can be written (samtools faidx), or link the "
                         "FASTA into a writable folder (ln -s) and point genome: at the link")  # fmt: skip
    if not fix:
        return ["no .fai index yet; the first job that reads the genome makes it"]
    _build_index(path, scan.bgzipped)
    return [f"made the index {fai}"]


def _build_index(path: Path, bgzipped: bool) -> None:
    """Build the FASTA's `.fai` (and `.gzi` for bgzip) with pyfaidx into temp files, renamed
    into place when both are complete."""
    import contextlib

    import pyfaidx

    from .io_utils import atomic_path

    with contextlib.ExitStack() as stack:
        fai_tmp = stack.enter_context(atomic_path(Path(f"{path}.fai")))
        extra = {"gzi_indexname": str(stack.enter_context(atomic_path(Path(f"{path}.gzi"))))} if bgzipped else {}
        pyfaidx.Faidx(str(path), indexname=str(fai_tmp), **extra).close()


def check_genome(path, fix_index: bool, cache=None) -> FileCheck:
    """The genome: a FASTA scanned once per version of the file (cached), its index checked each
    time; a 2bit file checked structurally (cached), its names and lengths the contigs."""
    from .genome import FastaScan, scan_fasta
    from .twobit import check_twobit, is_twobit

    path = Path(path)
    if path.is_file() and is_twobit(path):
        pairs = _cached(cache, "2bit", [path], {}, lambda: [[n, ln] for n, ln in check_twobit(path).items()])
        check = FileCheck("genome", str(path), "2bit", records=len(pairs), contigs=len(pairs), sizes=dict(pairs))
        empty = [n for n, ln in pairs if ln == 0]
        if empty:
            check.notes.append(f"{len(empty)} empty sequence(s): {_names(empty, 5)}")
        return check
    stored = _cached(cache, "fasta", [path], {}, lambda: asdict(scan_fasta(path)))
    scan = FastaScan(**stored)
    check = FileCheck("genome", str(path), "fasta", records=len(scan.names), contigs=len(scan.names),
                      sizes=dict(zip(scan.names, scan.lengths)))  # fmt: skip
    if scan.bgzipped:
        check.notes.append("bgzip")
    empty = [n for n, ln in zip(scan.names, scan.lengths) if ln == 0]
    if empty:
        check.notes.append(f"{len(empty)} empty sequence(s): {_names(empty, 5)}")
    check.notes += check_fasta_index(path, scan, fix_index)
    return check


def check_bed(path, role: str, sizes: dict, max_missing_fraction: float, cache=None, allow_empty: bool = False) -> FileCheck:
    """A BED/narrowPeak file: every record (deepcis.peaks) and its contigs against the genome."""
    from .peaks import read_intervals

    what = {"blacklist": "blacklist", "interpret_bed": "interpret BED", "tracks_regions": "tracks regions BED"}.get(
        role.split(":")[0], "")  # fmt: skip
    what = what or ("peak file" if role.startswith("peaks:") else "measured-regions BED")

    def scan():
        intervals = read_intervals(path, sizes, what=what, allow_empty=True)
        if not len(intervals) and not intervals.skipped_chroms and not allow_empty:
            raise InputError(path, f"{what} holds no intervals")
        present = {}
        for chrom in intervals.chrom.tolist():
            present[chrom] = present.get(chrom, 0) + 1
        return {"records": len(intervals) + sum(intervals.skipped_chroms.values()),
                "contigs": len(present) + len(intervals.skipped_chroms), "missing": intervals.skipped_chroms,
                "first_line": intervals.skipped_first_line}  # fmt: skip

    found = _cached(cache, "bed", [path], {"genome": _sizes_key(sizes), "allow_empty": allow_empty}, scan)
    check = FileCheck(role, str(path), "bed", found["records"], found["contigs"], dict(found["missing"]))
    contig_verdict(check, list(sizes), max_missing_fraction, found["first_line"])
    return check


def check_bigwig(path, role: str, sizes: dict, max_missing_fraction: float, cache=None) -> FileCheck:
    """A bigWig signal track: readable; its contigs against the genome (a near-match name is
    refused; genome contigs it lacks give NaN targets there, counted in a note)."""
    from .signals import open_bigwig

    def scan():
        bw = open_bigwig(path)
        try:
            return {"chroms": dict(bw.chroms())}
        finally:
            bw.close()

    chroms = _cached(cache, "bigwig", [path], {}, scan)["chroms"]
    check = FileCheck(role, str(path), "bigwig", records=len(chroms), contigs=len(chroms),
                      missing={c: 1 for c in chroms if c not in sizes})  # fmt: skip
    contig_verdict(check, list(sizes), max_missing_fraction, what="contigs")
    absent = [c for c in sizes if c not in chroms]
    if absent:
        check.notes.append(f"no signal on {len(absent)} genome contig(s) ({_names(absent, 5)}): NaN targets there")
    mismatched = [c for c in chroms if c in sizes and chroms[c] != sizes[c]]
    if mismatched:
        raise InputError(path, f"contig lengths differ from the genome's for {_names(mismatched, 5)} (e.g. "
                         f"{mismatched[0]}: {chroms[mismatched[0]]} here, {sizes[mismatched[0]]} in the genome): "
                         "the track was made on another assembly")  # fmt: skip
    return check


# How to rename the contigs of a reads file (sed alone does not do for a binary or indexed file)
_READS_RENAME = {
    "bam": "samtools view -H in.bam | {sed} | samtools reheader - in.bam > out.bam, then samtools index",
    "fragments": "zcat in.tsv.gz | {sed} | bgzip > out.tsv.gz, then tabix -p bed",
}


def check_reads_file(path, role: str, sizes: dict, max_missing_fraction: float, cache=None) -> FileCheck:
    """A BAM or fragments file of a signal task (rule reads_coverage makes its bigWig): its
    contigs against the genome, from the BAM header and index (mapped reads per contig; a
    contig without reads does not count) or the tabix index (contigs). Cheap: no read is
    walked. A near-match name is refused with the rename; so are a file sharing no contig with
    the genome and one whose contig lengths differ from the genome's (another assembly)."""
    from .coverage import contig_problems, reads_contigs, reads_kind, reads_per_contig

    kind = reads_kind(path)

    def scan():
        try:
            return {"contigs": [[c, n] for c, n in reads_contigs(path).items()], "reads": reads_per_contig(path)}
        except (OSError, ValueError) as error:
            raise InputError(path, f"cannot read the {kind} file's contigs ({error})") from None

    found = _cached(cache, "reads", [path], {}, scan)
    contigs, reads = dict(found["contigs"]), found["reads"]
    if reads is not None:  # BAM: weighed by mapped reads
        check = FileCheck(role, str(path), kind, records=int(sum(reads.values())), contigs=len(contigs),
                          missing={c: n for c, n in reads.items() if n and c not in sizes})  # fmt: skip
        contig_verdict(check, list(sizes), max_missing_fraction, what="records", rename=_READS_RENAME[kind])
    else:
        check = FileCheck(role, str(path), kind, records=len(contigs), contigs=len(contigs),
                          missing={c: 1 for c in contigs if c not in sizes})  # fmt: skip
        contig_verdict(check, list(sizes), max_missing_fraction, what="contigs", rename=_READS_RENAME[kind])
    contig_problems(path, contigs, sizes)
    if check.missing:
        check.notes.append("reads on contigs the genome lacks are left out of the coverage")
    return check


def check_sequence_tables(cfg: dict, cache=None) -> dict:
    """Every source of a sequence-table config read and checked (`deepcis.seqtable.check_tables`
    over the keys `deepcis.seqtable.SOURCE_KEYS`), cached by file version like the other scans:
    {"tasks", "kinds", "sequences": {file: count}}. Also what the parse step reads."""
    from .seqtable import check_tables, source_files

    files = source_files(cfg)
    if cache is None or not all(Path(f).is_file() for f in files):  # a missing file: its error, uncached
        return check_tables(cfg)
    return _cached(Path(cache), "seqtable", files, cfg, lambda: check_tables(cfg))


def _table_checks(spec: dict, cache=None) -> list[FileCheck]:
    """One FileCheck per sequence-table source (its sequences) and label file."""
    found = check_sequence_tables(spec["sequence_table"], cache)
    checks = []
    for role, path in spec["files"].items():
        if role.startswith("sequence_table:"):
            n = found["sequences"].get(str(Path(path)), 0)
            checks.append(FileCheck(role, str(path), "sequence_table", records=n))
        elif role.startswith("sequence_labels:"):
            checks.append(FileCheck(role, str(path), "labels"))
    return checks


def check_sequences(path, cache=None) -> FileCheck:
    """A FASTA of sequences to predict (predict_fasta): nucleotide FASTA, unique names."""
    from .genome import scan_fasta

    found = _cached(cache, "fasta", [path], {}, lambda: {k: v for k, v in asdict(scan_fasta(path)).items()})
    return FileCheck("predict_fasta", str(path), "fasta", records=len(found["names"]), contigs=len(found["names"]))


def check_vcf(path, genome_path, sizes: dict, max_missing_fraction: float, cache=None) -> FileCheck:
    """The VCF: every record, sort order, duplicates, contigs (names resolved with the 'chr'
    prefix added or removed, as scoring does) and REF against the genome (counted)."""
    from .genome import Genome
    from .vcf import contig_name, duplicate_error, scan_vcf, unsorted_error

    def scan():
        with Genome(genome_path) as genome:
            found = scan_vcf(path, genome, allow_gzip=True)
        return {k: v for k, v in asdict(found).items() if k != "header_text"}

    found = _cached(cache, "vcf", [path, genome_path], {}, scan)
    if found["unsorted_file_line"] is not None:
        raise unsorted_error(path, found["unsorted_line"], found["unsorted_file_line"])
    if found["duplicate"] is not None:
        raise duplicate_error(path, found["duplicate"])
    contigs = found["contigs"]
    mapping = {c: contig_name(c, sizes) for c in contigs}
    check = FileCheck("vcf", str(path), "vcf", records=found["n_records"], contigs=len(contigs),
                      missing={c: n for c, n in contigs.items() if mapping[c] is None})  # fmt: skip
    renamed = {c: t for c, t in mapping.items() if t is not None and t != c}
    if renamed:
        check.notes.append(f"contig names resolved against the genome: {_names([f'{c}->{t}' for c, t in renamed.items()], 4)}")
    contig_verdict(check, list(sizes), max_missing_fraction, found["contig_first_line"])
    if found["ref_mismatches"]:
        line, where, ref, bases = found["first_ref_mismatch"]
        check.notes.append(f"REF differs from the genome in {found['ref_mismatches']} of {found['ref_checked']} records "
                           f"(first: line {line}, {where} REF {ref}, genome {bases}); variants.ref_mismatch decides "
                           "what scoring does with them")  # fmt: skip
    if found["outside_chromosome"]:
        check.notes.append(f"{found['outside_chromosome']} record(s) beyond their chromosome's end (skipped when scoring)")
    return check


# --------------------------------------------------------------------------------------
# All inputs of a config
# --------------------------------------------------------------------------------------


def _same_peak_files(tasks: list[dict], sheet, cache=None):
    """ConfigError when two tasks point at the same peak file, by path or by content (files
    not made yet are left out)."""
    by_key: dict = {}
    for task in tasks:
        peaks = task.get("peaks")
        if not peaks or not Path(peaks).is_file():
            continue
        real = os.path.realpath(peaks)
        digest = _cached(cache, "sha256", [peaks], {}, lambda p=peaks: {"sha256": _sha256(p)})["sha256"]
        for key, how in ((("path", real), "the same peak file"), (("bytes", digest), "peak files with identical content")):
            if key in by_key:
                first = by_key[key]
                raise ConfigError(f"tasks sheet {sheet}: tasks {first['name']!r} and {task['name']!r} point at {how} "
                                  f"({first['peaks']}, {peaks}): they would be the same task twice; give each task "
                                  "its own peaks")  # fmt: skip
            by_key[key] = task


def _sha256(path) -> str:
    from .io_utils import sha256_file

    return sha256_file(path)


def _table_config(config: dict) -> dict | None:
    """The sequence_table section when the sequences come from tables (no genome), else None."""
    table = config.get("sequence_table") or {}
    return table if table.get("train") else None


def input_files(config: dict, tasks: list[dict], group: str) -> dict:
    """Role -> path of the files a check group reads (the genome, where there is one, is in
    every group). A signal task made from reads gives its BAM or fragments file, not the
    coverage bigWig the workflow makes of it; a sequence-table config its tables."""
    files = {"genome": config["genome"]} if config.get("genome") else {}
    table = _table_config(config)
    if group == "data" and table:
        from .seqtable import _source

        sources = [(part, i, _source(s)) for part in ("train", "test") for i, s in enumerate(table[part] or [])]
        files |= {f"sequence_table:{part}:{i}": str(s["path"]) for part, i, s in sources}
        files |= {f"sequence_labels:{part}:{i}": str(s["label_file"]) for part, i, s in sources if s.get("label_file")}
    elif group == "data":
        for task in tasks:
            for column in ("peaks", "signal", "measured"):
                if column == "signal" and task.get("reads"):
                    files[f"reads:{task['name']}"] = task["reads"]
                elif task.get(column):
                    files[f"{column}:{task['name']}"] = task[column]
        if config.get("blacklist"):
            files["blacklist"] = config["blacklist"]
    elif group == "vcf" and config["variants"]["vcf"]:
        files["vcf"] = config["variants"]["vcf"]
    elif group == "bed":
        if config["interpret"]["windows"] == "bed" and config["interpret"]["bed"]:
            files["interpret_bed"] = config["interpret"]["bed"]
        if (config.get("tracks") or {}).get("enabled") and config["tracks"].get("regions"):
            files["tracks_regions"] = config["tracks"]["regions"]
    elif group == "fasta" and (config.get("predict_fasta") or {}).get("fasta"):
        files["predict_fasta"] = config["predict_fasta"]["fasta"]
    return files


def group_spec(config: dict, tasks: list[dict], group: str) -> dict:
    """Everything a check group reads, and nothing else (rule check_inputs' params): its
    files by role, the missing-contig limit, and for "data" the tasks' peak files, the
    tasks sheet and the chromosome keys."""
    if group not in GROUPS:
        raise ValueError(f"unknown input-check group {group!r}; one of {GROUPS}")
    spec = {"group": group, "files": input_files(config, tasks, group),
            "max_missing_fraction": float(config.get("input_check", {}).get("max_missing_fraction", 0.5))}  # fmt: skip
    table = _table_config(config)
    if group == "data" and table:
        from .seqtable import SOURCE_KEYS

        # no genome: no chromosome keys; the tables are read with the keys that reading uses
        spec |= {"tasks_sheet": "", "tasks": [], "chromosomes": [], "split_mode": "sequence_table",
                 "split_chromosomes": {}, "sequence_table": {k: table[k] for k in SOURCE_KEYS}}  # fmt: skip
    elif group == "data":
        split = config["split"]
        # chromosomes and the split are read by prepare only, which runs only with a tasks sheet
        # (an external-model-only config keeps the defaults, which need not fit its genome)
        prepared = bool(tasks)
        spec |= {"tasks_sheet": str(config["tasks"]), "tasks": [{"name": t["name"], "peaks": t.get("peaks") or ""}
                                                                 for t in tasks],
                 "chromosomes": (config.get("chromosomes") or []) if prepared else [], "split_mode": split["mode"],
                 "split_chromosomes": {k: split[k] for k in ("valid", "test")}
                 if prepared and split["mode"] == "chromosomes" else {}}  # fmt: skip
    return spec


def check_group(spec: dict, cache_dir=None, fix_index: bool = True, skip_missing: bool = False) -> list[FileCheck]:
    """Check the files of one group (`group_spec`); [] when `skip_missing` and no genome yet
    (a config without a genome, sequence tables, checks the rest).

    `skip_missing`: files that do not exist yet (made by the workflow: the example, remote
    copies) are left to the check job.
    """
    cache = Path(cache_dir) if cache_dir else None
    files = spec["files"]
    checks, sizes = [], {}
    if "genome" in files:  # sequence tables have none
        genome_path = Path(files["genome"])
        if skip_missing and not genome_path.is_file():
            return []
        genome = check_genome(genome_path, fix_index, cache)
        sizes = genome.sizes
        checks.append(genome)
    max_missing = spec["max_missing_fraction"]
    if spec["group"] == "data" and spec.get("sequence_table"):
        checks += _table_checks(spec, cache)
    elif spec["group"] == "data":
        _same_peak_files(spec["tasks"], spec["tasks_sheet"], cache)
        _check_chromosome_keys(spec, files["genome"], sizes)
    for role, path in files.items():
        if role == "genome" or role.startswith(("sequence_table:", "sequence_labels:")):
            continue
        if skip_missing and not Path(path).is_file():
            continue
        if role == "vcf":
            checks.append(check_vcf(path, genome_path, sizes, max_missing, cache))
        elif role == "predict_fasta":
            checks.append(check_sequences(path, cache))
        elif role.startswith("signal:"):
            checks.append(check_bigwig(path, role, sizes, max_missing, cache))
        elif role.startswith("reads:"):
            checks.append(check_reads_file(path, role, sizes, max_missing, cache))
        else:
            checks.append(check_bed(path, role, sizes, max_missing, cache, allow_empty=role == "blacklist"))
    return checks


def check_inputs(config: dict, tasks: list[dict], groups=GROUPS, cache_dir=None, fix_index: bool = True,
                 skip_missing: bool = False) -> dict:  # fmt: skip
    """`check_group` of each group: {group: [FileCheck]} ({} when `skip_missing` and the
    genome does not exist yet)."""
    out = {}
    for group in groups:
        checks = check_group(group_spec(config, tasks, group), cache_dir, fix_index, skip_missing)
        if checks:
            out[group] = checks
    return out


def _check_chromosome_keys(spec: dict, genome, sizes: dict):
    """`chromosomes` and the split's held-out chromosomes name contigs of the genome."""
    keyed = [("chromosomes", spec["chromosomes"])] + [(f"split.{k}", v) for k, v in spec["split_chromosomes"].items()]
    for key, names in keyed:
        missing = [c for c in names if c not in sizes]
        if missing:
            hints = [f"{c!r} -> {near_match(c, sizes)[0]!r}" for c in missing if near_match(c, sizes)]
            raise ConfigError(f"config key {key}: {missing} are not in the genome {genome} (it has {_names(sizes)})"
                              f"{'; did you mean ' + ', '.join(hints) if hints else ''}")  # fmt: skip


# --------------------------------------------------------------------------------------
# Cache and summaries
# --------------------------------------------------------------------------------------


def _sizes_key(sizes: dict) -> str:
    return hashlib.sha256(canonical_json(sizes).encode()).hexdigest()


def _file_id(path) -> list:
    path = Path(path)
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


def _cached(cache: Path | None, kind: str, paths: list, params: dict, compute):
    """compute() once per version of the files (path, size, mtime): its result, or the
    InputError it raised, is kept as a small JSON file in `cache`."""
    if cache is None:
        return compute()
    key = canonical_json({"version": CHECK_VERSION, "kind": kind, "files": [_file_id(p) for p in paths],
                          "params": params})  # fmt: skip
    entry = cache / f"{kind}-{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"
    try:
        stored = json.loads(entry.read_text())
    except (OSError, ValueError):
        stored = None
    if stored is None or stored.get("key") != key:
        try:
            stored = {"key": key, "result": compute()}
        except InputError as error:
            stored = {"key": key, "error": [error.path, error.problem, error.line]}
        try:
            write_json(stored, entry)
        except OSError:
            pass  # a read-only working directory: no cache, same answers
    if "error" in stored:
        raise InputError(*stored["error"])
    return stored["result"]


def summary_lines(checks: dict) -> list[str]:
    """Console lines: one per file with contigs the genome lacks or with notes, then a total."""
    lines, seen = [], set()
    files = [c for group in checks.values() for c in group if (c.role, c.path) not in seen and not seen.add((c.role, c.path))]
    for check in files:
        if check.missing:
            lines.append(f"  {check.role} {check.path}: {check.missing_records} of {check.records} record(s) on "
                         f"{len(check.missing)} contig(s) not in the genome ({_names(check.missing, 5)}), skipped")  # fmt: skip
        for note in check.notes:
            if note != "bgzip":
                lines.append(f"  {check.role} {check.path}: {note}")
    total = f"deepcis input check: {len(files)} file(s) checked"
    missing = sum(1 for c in files if c.missing)
    total += f"; {missing} with contigs not in the genome (counted below)" if missing else "; every contig is in the genome"
    return [total] + lines


def to_json(checks: dict) -> dict:
    """{group: [file check as a dict]} without the genome's sizes (they can be long)."""
    return {group: [{k: v for k, v in asdict(c).items() if k != "sizes"} for c in files] for group, files in checks.items()}
