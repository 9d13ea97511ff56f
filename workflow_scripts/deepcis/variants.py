"""Variant effect scoring: VCF -> ref/alt windows -> model predictions -> effect tables.

    summary = score_variants("results/train/deepsea", "genome.fa", "variants.vcf.gz",
                             "effects.tsv.gz", "annotated.vcf.gz")

Reading. The VCF (plain text or bgzip; BCF also works) is read by `deepcis.vcf` (pysam), one row
per ALT allele. SNVs, MNVs, insertions and deletions are scored; symbolic alleles (`<DEL>`, `<*>`, `*`, breakends,
a missing ALT `.`) and alleles with letters other than ACGTN are skipped and counted. VCF
POS is 1-based and converted once, here: a REF starting at POS has 0-based start p = POS - 1.

Windows (docs/variants.md has worked examples). For window length L and a variant whose REF
starts at p, the ref window is the genome over [p - L//2, p - L//2 + L): the first REF base
sits at window offset L//2 (the exact centre for odd L; for even L the right-hand one of
the two central bases). The alt window is the first L bases of the alt haplotype
genome[p - L//2, p) + ALT + genome[p + len(REF), ...): the same coordinates with ALT
substituted for SNVs and MNVs, trimmed on the right for insertions and filled from the
genome on the right for deletions. Alleles whose windows (or fill) run off a chromosome end
are skipped and counted.

Scores, per allele and task: ref_prob, alt_prob (model outputs, averaged over the forward
and the reverse-complement window by default), diff = alt - ref, abs_diff = |diff|,
logit_diff = logit(alt) - logit(ref) with probabilities clipped to [1e-6, 1 - 1e-6].

Memory is bounded: records are read, scored and written `block_size` records at a time
(a background thread prepares the next block while the model predicts); only a pre-pass
summary (record count, contig names, sortedness) is kept for the whole file.

TensorFlow/Keras is imported only by the functions that load a model.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import math
import queue
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .effects import MatrixWriter, gather_matrices, top_rows
from .errors import ConfigError, InputError
from .genome import Genome, one_hot_encode, reverse_complement
from .io_utils import atomic_path, fsync_file, open_gzip_text
from .vcf import VcfRecord, duplicate_error, open_bgzf_indexed, read_vcf, resolve_contigs, scan_vcf, unsorted_error

log = logging.getLogger("deepcis.variants")

TSV_COLUMNS = [
    "chrom", "pos", "id", "ref", "alt", "ref_match", "task",
    "ref_prob", "alt_prob", "diff", "abs_diff", "logit_diff",
]
PVALUE_COLUMN = "pvalue"
SKIP_REASONS = (
    "symbolic",              # <DEL>, <*>, *, breakends, missing ALT '.'
    "invalid_allele",        # REF or ALT with letters other than ACGTN
    "contig_not_in_genome",  # the VCF contig has no match in the genome (after chr-prefix resolution)
    "outside_chromosome",    # POS or the REF span lies beyond the chromosome's end
    "off_chromosome_end",    # the ref or alt window (or its right-hand fill) runs off the chromosome
    "ref_mismatch",          # REF differs from the genome and ref_mismatch = "drop"
)
REF_MISMATCH_MODES = ("drop", "genome")
INFO_FIELDS = {
    "DEEPCIS_TOP_TASK": ("A", "String", "deepcis: task with the largest |alt_prob - ref_prob| for the allele"),
    "DEEPCIS_TOP_DIFF": ("A", "Float", "deepcis: alt_prob - ref_prob in DEEPCIS_TOP_TASK (signed)"),
    "DEEPCIS_TOP_LOGIT_DIFF": ("A", "Float", "deepcis: logit(alt_prob) - logit(ref_prob) in DEEPCIS_TOP_TASK"),
    "DEEPCIS_MAX_ABS_DIFF": ("A", "Float", "deepcis: max over tasks of |alt_prob - ref_prob|"),
    "DEEPCIS_REF_MISMATCH": ("0", "Flag", "deepcis: REF differs from the genome; scored with the genome's bases"),
}
PROB_CLIP = 1e-6
DEFAULT_BLOCK_SIZE = 1024
DEFAULT_BATCH_SIZE = 256
TSV_COMPRESSLEVEL = 1  # zlib level 1: 2x faster than 4, files ~5% larger

_ACGTN = re.compile(r"[ACGTNacgtn]+")
_INFO_UNSAFE = re.compile(r"[\s,;=:|]")


# --------------------------------------------------------------------------------------
# Chunks (scatter)
# --------------------------------------------------------------------------------------


def chunk_range(n_records: int, chunk: tuple[int, int] | None) -> tuple[int, int]:
    """Record range [start, stop) of chunk (index, n_chunks), index 0-based: contiguous ranges
    in input order whose sizes differ by at most one."""
    if chunk is None:
        return 0, n_records
    index, n_chunks = (int(v) for v in chunk)
    if n_chunks < 1 or not 0 <= index < n_chunks:
        raise ConfigError(f"chunk {chunk!r}: need 0 <= index < n_chunks")
    return index * n_records // n_chunks, (index + 1) * n_records // n_chunks


# --------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------


def _ascii(text: str) -> np.ndarray:
    return np.frombuffer(text.upper().encode("ascii"), dtype=np.uint8)


def _ref_windows(genome: Genome, chroms, starts: np.ndarray, length: int) -> np.ndarray:
    """ASCII codes (n, L) of windows [start, start + L), grouped by chromosome."""
    chroms = np.asarray(chroms, dtype=object)
    out = np.empty((len(starts), length), dtype=np.uint8)
    for chrom in dict.fromkeys(chroms.tolist()):
        rows = np.flatnonzero(chroms == chrom)
        out[rows] = genome.fetch_windows(chrom, starts[rows], length)
    return out


def _alt_windows(genome: Genome, ref_codes: np.ndarray, chroms, p0s, refs, alts, length: int) -> np.ndarray:
    """Alt windows (n, L) from the alleles' ref windows (row i = allele i's ref window).

    Alt haplotype = genome[p - L//2, p) + ALT + genome[p + len(REF), ...), first L bases.
    SNVs are done in one vectorised step; other alleles one at a time."""
    half = length // 2
    out = ref_codes.copy()
    n = len(alts)
    snv = np.fromiter((len(r) == 1 and len(a) == 1 for r, a in zip(refs, alts)), bool, count=n)
    if snv.any():
        rows = np.flatnonzero(snv)
        out[rows, half] = np.frombuffer("".join(alts[i] for i in rows).upper().encode("ascii"), np.uint8)
    for i in np.flatnonzero(~snv):
        ref, alt, p = refs[i], alts[i], int(p0s[i])
        inserted = _ascii(alt)[: length - half]
        row = out[i]
        row[half : half + inserted.size] = inserted
        need = length - half - inserted.size
        if need > 0:
            if len(ref) == len(alt):  # MNV: the rest of the window is unchanged
                continue
            row[half + inserted.size :] = genome.fetch(chroms[i], p + len(ref), p + len(ref) + need)
    return out


def _window_fits(chrom_size: int, p: int, ref_len: int, alt_len: int, length: int) -> bool:
    half = length // 2
    start = p - half
    if start < 0 or start + length > chrom_size:
        return False
    need = length - half - alt_len
    return need <= 0 or p + ref_len + need <= chrom_size


def variant_windows(genome: Genome, records: Iterable, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Ref and alt windows (ASCII codes, uint8 (n, L) each) of alleles (chrom, pos, ref, alt):
    chrom as named in the genome, pos 1-based (VCF POS), one ALT per row. No REF check;
    ValueError if a window runs off its chromosome. See the module docstring for the rule."""
    rows = [(str(c), int(pos) - 1, str(r), str(a)) for c, pos, r, a in records]
    sizes = genome.chrom_sizes
    for chrom, p, ref, alt in rows:
        if chrom not in sizes:
            raise ValueError(f"chromosome {chrom!r} is not in the genome")
        if p < 0 or p + len(ref) > sizes[chrom] or not _window_fits(sizes[chrom], p, len(ref), len(alt), length):
            raise ValueError(f"the {length} bp windows of {chrom}:{p + 1} {ref}>{alt} run off the chromosome")
    if not rows:
        empty = np.empty((0, length), np.uint8)
        return empty, empty.copy()
    chroms = [r[0] for r in rows]
    p0s = np.array([r[1] for r in rows], dtype=np.int64)
    ref_codes = _ref_windows(genome, chroms, p0s - length // 2, length)
    alt_codes = _alt_windows(genome, ref_codes, chroms, p0s, [r[2] for r in rows], [r[3] for r in rows], length)
    return ref_codes, alt_codes


def decode_windows(codes: np.ndarray) -> list[str]:
    """ASCII code windows (n, L) -> strings (case kept); for tests and debugging."""
    codes = np.atleast_2d(np.asarray(codes, dtype=np.uint8))
    return [row.tobytes().decode("ascii") for row in codes]


# --------------------------------------------------------------------------------------
# Blocks: records -> scored alleles + windows
# --------------------------------------------------------------------------------------


def _alt_problem(alt: str) -> str | None:
    if alt in (".", "*") or alt.startswith("<") or "[" in alt or "]" in alt or alt.startswith(".") or alt.endswith("."):
        return "symbolic"
    if not _ACGTN.fullmatch(alt):
        return "invalid_allele"
    return None


@dataclass
class _Block:
    records: list  # VcfRecord
    rec_row: np.ndarray  # per scored allele: index into records
    alt_index: np.ndarray  # per scored allele: 0-based ALT number in its record
    ref_row: np.ndarray  # per scored allele: row in ref_x
    ref_match: np.ndarray  # per scored allele
    x: np.ndarray | None  # one-hot (n_ref + n_alt, L, 4): ref windows, then alt windows
    n_ref: int
    counts: dict


def _prepare_block(records: list, genome: Genome, length: int, contig_map: dict, ref_mismatch: str) -> _Block:
    counts = dict.fromkeys(SKIP_REASONS, 0) | {"alleles": 0, "ref_mismatch_scored": 0}
    sizes = genome.chrom_sizes
    half = length // 2
    # candidate alleles: (record row, alt index, genome chrom, p0, ref, alt)
    cand = []
    for i, rec in enumerate(records):
        alts = rec.alts or (".",)
        counts["alleles"] += len(alts)
        problems = [_alt_problem(a) for a in alts]
        ok = [j for j, prob in enumerate(problems) if prob is None]
        for prob in problems:
            if prob is not None:
                counts[prob] += 1
        if not ok:
            continue
        chrom = contig_map.get(rec.chrom)
        p, ref = rec.pos - 1, rec.ref
        if chrom is None:
            counts["contig_not_in_genome"] += len(ok)
        elif not _ACGTN.fullmatch(ref):
            counts["invalid_allele"] += len(ok)
        elif p < 0 or p + len(ref) > sizes[chrom]:
            counts["outside_chromosome"] += len(ok)
        else:
            for j in ok:
                if _window_fits(sizes[chrom], p, len(ref), len(rec.alts[j]), length):
                    cand.append((i, j, chrom, p, ref, rec.alts[j]))
                else:
                    counts["off_chromosome_end"] += 1
    if not cand:
        empty = np.empty(0, np.int64)
        return _Block(records, empty, empty, empty, np.empty(0, bool), None, 0, counts)

    rec_rows = np.array([c[0] for c in cand], np.int64)
    unique_recs, ref_row = np.unique(rec_rows, return_inverse=True)  # one ref window per record
    first = np.searchsorted(rec_rows, unique_recs)
    ref_chroms = [cand[k][2] for k in first]
    ref_p0 = np.array([cand[k][3] for k in first], np.int64)
    ref_codes = _ref_windows(genome, ref_chroms, ref_p0 - half, length)

    # REF against the genome (case-insensitive), once per record
    match = np.empty(unique_recs.size, bool)
    for u, k in enumerate(first):
        ref = cand[k][4].upper()
        if len(ref) == 1:
            match[u] = ref_codes[u, half] in (ord(ref), ord(ref.lower()))
        else:
            genome_ref = genome.fetch(ref_chroms[u], int(ref_p0[u]), int(ref_p0[u]) + len(ref))
            match[u] = genome_ref.tobytes().decode("ascii").upper() == ref
    allele_match = match[ref_row]
    if ref_mismatch == "drop" and not match.all():
        counts["ref_mismatch"] += int((~allele_match).sum())
        keep_refs = np.flatnonzero(match)
        remap = np.full(unique_recs.size, -1, np.int64)
        remap[keep_refs] = np.arange(keep_refs.size)
        keep = allele_match
        cand = [c for c, k in zip(cand, keep) if k]
        ref_row = remap[ref_row[keep]]
        ref_codes = ref_codes[keep_refs]
        allele_match = allele_match[keep]
        if not cand:
            empty = np.empty(0, np.int64)
            return _Block(records, empty, empty, empty, np.empty(0, bool), None, 0, counts)
    counts["ref_mismatch_scored"] += int((~allele_match).sum())

    alt_codes = _alt_windows(genome, ref_codes[ref_row], [c[2] for c in cand], [c[3] for c in cand],
                             [c[4] for c in cand], [c[5] for c in cand], length)
    x = one_hot_encode(np.concatenate([ref_codes, alt_codes]))
    return _Block(
        records,
        np.array([c[0] for c in cand], np.int64),
        np.array([c[1] for c in cand], np.int64),
        ref_row,
        allele_match,
        x,
        ref_codes.shape[0],
        counts,
    )


def _blocks(records: Iterable[VcfRecord], size: int) -> Iterator[list]:
    block = []
    for rec in records:
        block.append(rec)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _prefetch(iterator: Iterator, depth: int = 2) -> Iterator:
    """Run `iterator` in a background thread, `depth` items ahead (bounded memory); its
    exceptions are re-raised here."""
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def work():
        try:
            for item in iterator:
                while not stop.is_set():
                    try:
                        items.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put((done, None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer
            items.put((done, error))

    thread = threading.Thread(target=work, name="deepcis-variant-blocks", daemon=True)
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


class _BackgroundWriter:
    """Calls `write(item)` for each put item in one background thread, in order, at most
    `depth` items behind. A failure in `write` is re-raised by the next put or on exit; an
    exception in the with-block stops the thread without writing the rest."""

    def __init__(self, write, depth: int = 2):
        self._write = write
        self._items: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name="deepcis-variant-writer", daemon=True)

    def _run(self):
        while True:
            item = self._items.get()
            if item is None:
                return
            if self._error is None and not self._abort.is_set():
                try:
                    self._write(item)
                except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                    self._error = error

    def put(self, item):
        if self._error is not None:
            raise self._error
        self._items.put(item)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._abort.set()
        self._items.put(None)
        self._thread.join()
        if exc_type is None and self._error is not None:
            raise self._error
        return False


# --------------------------------------------------------------------------------------
# Prediction
# --------------------------------------------------------------------------------------


class _Predictor:
    """Model outputs for one-hot windows, averaged over both strands unless forward only.

    On the TensorFlow backend one compiled function runs the model on a batch and on its
    reverse complement (flip of both axes) and averages them; this avoids model.predict's
    per-call set-up, which would otherwise dominate with blocks of a few thousand windows."""

    def __init__(self, model, batch_size: int, reverse_complement: bool):
        import keras

        self.model = model
        self.batch_size = int(batch_size)
        self.reverse_complement = bool(reverse_complement)
        self.n_windows = 0
        self._fn = None
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            rc = self.reverse_complement

            def run(x):
                x = tf.cast(x, tf.float32)
                y = tf.cast(model(x, training=False), tf.float32)
                if rc:
                    y = (y + tf.cast(model(tf.reverse(x, axis=[1, 2]), training=False), tf.float32)) / 2.0
                return y

            # one trace for every batch size (a retrace costs ~0.7 s)
            shape = [None, *(int(d) for d in model.input_shape[1:])]
            self._fn = tf.function(run, input_signature=[tf.TensorSpec(shape, tf.uint8)])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(n, L, 4) uint8 one-hot -> (n, T) float64."""
        self.n_windows += x.shape[0] * (2 if self.reverse_complement else 1)
        outs = []
        for lo in range(0, x.shape[0], self.batch_size):
            batch = x[lo : lo + self.batch_size]
            if self._fn is not None:
                outs.append(self._fn(batch).numpy())
            else:
                xb = batch.astype(np.float32)
                y = np.asarray(self.model.predict_on_batch(xb), np.float32)
                if self.reverse_complement:
                    y = (y + np.asarray(self.model.predict_on_batch(np.ascontiguousarray(reverse_complement(xb))), np.float32)) / 2
                outs.append(y)
        out = np.concatenate(outs).astype(np.float64)
        return out.reshape(out.shape[0], -1)


def _load(model_path, expected_tasks=None):
    """A model folder (model.keras inside) or a .keras file -> (model, tasks, window length);
    a corrupt file, or one for other tasks than `expected_tasks`, is a ModelFileError."""
    from .keras_objects import load_model, model_metadata

    path = Path(model_path)
    if path.is_dir():
        path = path / "model.keras"
    model = load_model(path, expected_tasks)
    meta = model_metadata(model)
    return model, list(meta["tasks"]), int(meta["window_length"]), _output_is_sigmoid(model)


def _output_is_sigmoid(model):
    """Whether the output is a sigmoid: one bool, or one per task for a multi-modal head
    (deepcis TaskActivation: its binary tasks are sigmoid, its signal tasks are not)."""
    import keras

    for layer in reversed(model.layers):
        per_task = getattr(layer, "activations", None)
        if isinstance(per_task, list) and type(layer).__name__ == "TaskActivation":
            return np.array([a == "sigmoid" for a in per_task])
        activation = getattr(layer, "activation", None)
        if activation is not None:
            return activation is keras.activations.sigmoid or getattr(activation, "__name__", "") == "sigmoid"
    return False


# --------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) with `p` clipped to [PROB_CLIP, 1 - PROB_CLIP]."""
    p = np.clip(np.asarray(p, np.float64), PROB_CLIP, 1 - PROB_CLIP)
    return np.log(p) - np.log1p(-p)


def effect_scores(ref_prob: np.ndarray, alt_prob: np.ndarray, sigmoid=True) -> dict:
    """diff, abs_diff and logit_diff (NaN for non-sigmoid heads) from probabilities.
    `sigmoid`: one bool, or one per task column (a multi-modal head)."""
    diff = alt_prob - ref_prob
    if np.ndim(sigmoid):
        logit_diff = np.where(np.asarray(sigmoid, bool), logit(alt_prob) - logit(ref_prob), np.nan)
    else:
        logit_diff = logit(alt_prob) - logit(ref_prob) if sigmoid else np.full_like(diff, np.nan)
    return {"diff": diff, "abs_diff": np.abs(diff), "logit_diff": logit_diff}


def empirical_pvalues(values: np.ndarray, background: np.ndarray) -> np.ndarray:
    """(1 + #background >= value) / (1 + n), per task column: values (m, T), background (n, T)."""
    values = np.asarray(values, np.float64)
    background = np.asarray(background, np.float64)
    if values.ndim != 2 or background.ndim != 2 or values.shape[1] != background.shape[1]:
        raise ValueError(f"values {values.shape} and background {background.shape} need the same tasks")
    n = background.shape[0]
    out = np.empty_like(values)
    for t in range(values.shape[1]):
        ordered = np.sort(background[:, t])
        at_least = n - np.searchsorted(ordered, values[:, t], side="left")
        out[:, t] = (1.0 + at_least) / (1.0 + n)
    return out


def _tsv_block(block: _Block, ref_p: np.ndarray, alt_p: np.ndarray, scores: dict, tasks, pvalues) -> str:
    """Long-format rows (allele-major, tasks in model order) as TSV text; numbers as %.7g
    (float32 precision), NaN as NA. Formatted with one %-format per row: 8x faster than
    DataFrame.to_csv with a float_format, which matters with hundreds of tasks."""
    n, t = alt_p.shape
    prefixes = []
    for i, j, match in zip(block.rec_row.tolist(), block.alt_index.tolist(), block.ref_match.tolist()):
        rec = block.records[i]
        prefixes.append(f"{rec.chrom}\t{rec.pos}\t{rec.id}\t{rec.ref}\t{rec.alts[j]}\t{match}\t")
    columns = [ref_p, alt_p, scores["diff"], scores["abs_diff"], scores["logit_diff"]]
    if pvalues is not None:
        columns.append(pvalues)
    values = np.stack([c.reshape(-1) for c in columns], axis=1)
    fmt = "\t".join(["%.7g"] * values.shape[1]) + "\n"
    body = [fmt % tuple(row) for row in values.tolist()]
    if np.isnan(values).any():
        body = [b.replace("nan", "NA") for b in body]
    task_cells = [f"{task}\t" for task in tasks]
    return "".join([prefixes[k // t] + task_cells[k % t] + b for k, b in enumerate(body)])


def _block_variants(block: _Block) -> dict:
    """The scored alleles of a block as `deepcis.effects.VARIANT_FIELDS` columns."""
    recs = [block.records[i] for i in block.rec_row.tolist()]
    return {
        "chrom": [r.chrom for r in recs],
        "pos": np.array([r.pos for r in recs], np.int64),
        "id": [r.id for r in recs],
        "ref": [r.ref for r in recs],
        "alt": [r.alts[j] for r, j in zip(recs, block.alt_index.tolist())],
        "ref_match": block.ref_match,
    }


def _info_safe(task: str) -> str:
    return _INFO_UNSAFE.sub("_", task)


def _strip_info(info: str) -> list[str]:
    if info == ".":
        return []
    return [kv for kv in info.split(";") if kv.split("=", 1)[0] not in INFO_FIELDS]


def _vcf_block(block: _Block, scores: dict, tasks) -> str:
    """The block's records with DEEPCIS_* INFO (one value per ALT, '.' for unscored ALTs)."""
    safe_tasks = [_info_safe(t) for t in tasks]
    per_record: dict[int, list] = {}
    if block.rec_row.size:
        absd = scores["abs_diff"]
        top = absd.argmax(axis=1)
        rows = np.arange(top.size)
        top_diff = scores["diff"][rows, top]
        top_logit = scores["logit_diff"][rows, top]
        for k, (i, j) in enumerate(zip(block.rec_row.tolist(), block.alt_index.tolist())):
            per_record.setdefault(i, []).append((j, k))
    lines = []
    for i, rec in enumerate(block.records):
        fields = rec.text.rstrip("\n").split("\t", 8)
        info = _strip_info(fields[7])
        if i in per_record:
            n_alt = len(rec.alts)
            values = {key: ["."] * n_alt for key in INFO_FIELDS if key != "DEEPCIS_REF_MISMATCH"}
            mismatch = False
            for j, k in per_record[i]:
                values["DEEPCIS_TOP_TASK"][j] = safe_tasks[top[k]]
                values["DEEPCIS_TOP_DIFF"][j] = "%.6g" % top_diff[k]
                values["DEEPCIS_TOP_LOGIT_DIFF"][j] = "." if math.isnan(top_logit[k]) else "%.6g" % top_logit[k]
                values["DEEPCIS_MAX_ABS_DIFF"][j] = "%.6g" % absd[k, top[k]]
                mismatch = mismatch or not block.ref_match[k]
            info += [f"{key}={','.join(v)}" for key, v in values.items()]
            if mismatch:
                info.append("DEEPCIS_REF_MISMATCH")
        fields[7] = ";".join(info) if info else "."
        lines.append("\t".join(fields) + "\n")
    return "".join(lines)


def _vcf_header(header_text: str, meta: dict) -> str:
    """Input header with our INFO lines (replacing any earlier ones) and run metadata."""
    lines = [ln for ln in header_text.splitlines()
             if not any(ln.startswith(f"##INFO=<ID={key},") for key in INFO_FIELDS)
             and not ln.startswith("##deepcis")]
    chrom_line = lines.pop()
    if not chrom_line.startswith("#CHROM"):
        raise ValueError("VCF header text does not end with the #CHROM line")
    for key, (number, kind, text) in INFO_FIELDS.items():
        lines.append(f'##INFO=<ID={key},Number={number},Type={kind},Description="{text}">')
    for key, value in meta.items():
        lines.append(f"##deepcis_{key}={value}")
    return "\n".join(lines + [chrom_line]) + "\n"


@dataclass
class _Run:
    """Everything one scoring run needs, loaded once."""

    model: object
    tasks: list
    length: int
    sigmoid: bool
    predictor: _Predictor


def _score_block(run: _Run, block: _Block):
    """(ref_p, alt_p, scores) of a block's scored alleles; the ref windows are predicted once
    per record and shared by its ALTs."""
    t = len(run.tasks)
    if block.x is None:
        empty = np.empty((0, t))
        return empty, empty, effect_scores(empty, empty, run.sigmoid)
    probs = run.predictor(block.x)
    ref_p = probs[: block.n_ref][block.ref_row]
    alt_p = probs[block.n_ref :]
    return ref_p, alt_p, effect_scores(ref_p, alt_p, run.sigmoid)


def score_variants(
    model_path,
    genome_path,
    vcf_path,
    out_tsv_gz,
    out_vcf_gz=None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reverse_complement: bool = True,
    ref_mismatch: str = "drop",
    chunk: tuple[int, int] | None = None,
    background=None,
    seed: int = 0,
    block_size: int = DEFAULT_BLOCK_SIZE,
    index: bool = True,
    expected_tasks: list[str] | None = None,
    out_h5=None,
    matrix_dtype: str = "float16",
) -> dict:
    """Score every ALT allele of a VCF (or of one chunk of its records) with a model.

    Outputs appear only when complete (temp files, then rename).

    Parameters
    ----------
    model_path : str or os.PathLike
        A model folder (with ``model.keras``) or a ``.keras`` file; its metadata gives the
        tasks and the window length.
    genome_path : str or os.PathLike
        The genome FASTA the VCF was called on (contig names may differ by a "chr" prefix).
    vcf_path : str or os.PathLike
        VCF (plain text or bgzip) or BCF.
    out_tsv_gz : str or os.PathLike or None
        Long effects table, one row per allele x task: `TSV_COLUMNS` (+ ``pvalue``); None
        writes none (then give `out_h5`).
    out_vcf_gz : str or os.PathLike, optional
        Annotated VCF (bgzip, + ``.tbi`` when `index`): every input record, scored ALTs
        with INFO ``DEEPCIS_*`` fields.
    batch_size : int
        Windows per model call.
    reverse_complement : bool
        Average the forward and reverse-complement predictions.
    ref_mismatch : {"drop", "genome"}
        A REF that differs from the genome is skipped, or scored with the genome's bases.
    chunk : tuple of int, optional
        ``(index, n_chunks)``, index 0-based: score only that contiguous part of the records.
    background : None, int or str or os.PathLike
        None; n, to draw and score n random SNVs (with `seed`); or a `save_background`
        ``.npz``. Adds the empirical ``pvalue`` column.
    seed : int
        Seed of the background SNVs.
    block_size : int
        Records read, scored and written at a time (bounds memory).
    index : bool
        Write the tabix index of `out_vcf_gz`.
    expected_tasks : list of str, optional
        The tasks the model must have (a model for other tasks is refused).
    out_h5 : str or os.PathLike, optional
        The same scores as an alleles x tasks matrix (`deepcis.effects`; ``effects.h5``).
    matrix_dtype : {"float16", "float32"}
        Storage type of `out_h5`'s scores.

    Returns
    -------
    dict
        Counts of records and alleles, scored alleles and skipped alleles per reason.
    """
    if ref_mismatch not in REF_MISMATCH_MODES:
        raise ConfigError(f"ref_mismatch={ref_mismatch!r} must be one of {', '.join(REF_MISMATCH_MODES)}")
    if int(block_size) < 1 or int(batch_size) < 1:
        raise ConfigError("block_size and batch_size must be positive")
    if out_tsv_gz is None and out_h5 is None:
        raise ValueError("score_variants needs out_tsv_gz or out_h5")
    vcf_path = Path(vcf_path)
    genome = Genome(genome_path)
    scan = scan_vcf(vcf_path)  # validates the whole VCF before the long work
    if scan.duplicate is not None:
        raise duplicate_error(vcf_path, scan.duplicate)
    start, stop = chunk_range(scan.n_records, chunk)
    contig_map = resolve_contigs(scan.contigs, genome.chrom_sizes, vcf_path, genome.path)
    if out_vcf_gz is not None and index and scan.unsorted_line is not None:  # tabix needs sorted records
        raise unsorted_error(vcf_path, scan.unsorted_line, scan.unsorted_file_line)
    model, tasks, length, sigmoid = _load(model_path, expected_tasks)
    run = _Run(model, tasks, length, sigmoid, _Predictor(model, batch_size, reverse_complement))
    if not np.all(sigmoid):
        log.warning("the model's output is not a sigmoid%s: logit_diff is NA there",
                    "" if not np.ndim(sigmoid) else f" for tasks {[t for t, s in zip(tasks, sigmoid) if not s]}")
    bg = _resolve_background(background, run, genome, seed, reverse_complement)
    header = TSV_COLUMNS + ([PVALUE_COLUMN] if bg is not None else [])

    totals = dict.fromkeys(SKIP_REASONS, 0) | {"alleles": 0, "ref_mismatch_scored": 0}
    scored = 0
    with contextlib.ExitStack() as stack:
        vcf_handle = finish_vcf = None
        if out_vcf_gz is not None:
            vcf_handle, finish_vcf = open_bgzf_indexed(out_vcf_gz, index, stack)
            meta = {"model": str(model_path), "genome": str(genome_path), "window_length": length,
                    "strands": "forward+reverse_complement" if reverse_complement else "forward",
                    "ref_mismatch": ref_mismatch}
            if chunk is not None:
                meta["chunk"] = f"{chunk[0]}/{chunk[1]}"
            vcf_handle.write(_vcf_header(scan.header_text, meta).encode())
        tsv = tsv_tmp = matrix = None
        if out_tsv_gz is not None:
            tsv_tmp = stack.enter_context(atomic_path(out_tsv_gz))
            tsv = stack.enter_context(open_gzip_text(tsv_tmp, compresslevel=TSV_COMPRESSLEVEL))
            tsv.write("\t".join(header) + "\n")
        if out_h5 is not None:
            names = ["ref_prob", "alt_prob", "diff", "logit_diff"] + ([PVALUE_COLUMN] if bg is not None else [])
            attrs = {"model": str(model_path), "window_length": length, "reverse_complement": bool(reverse_complement)}
            if chunk is not None:
                attrs["chunk"] = f"{chunk[0]}/{chunk[1]}"
            matrix = stack.enter_context(MatrixWriter(out_h5, tasks, names, matrix_dtype, attrs))
        records = read_vcf(vcf_path, start, stop, with_text=out_vcf_gz is not None)
        prepared = (_prepare_block(b, genome, length, contig_map, ref_mismatch)
                    for b in _blocks(records, int(block_size)))

        def write(item):
            block, ref_p, alt_p, scores, pvalues = item
            if alt_p.shape[0]:
                if tsv is not None:
                    tsv.write(_tsv_block(block, ref_p, alt_p, scores, tasks, pvalues))
                if matrix is not None:
                    matrix.append(_block_variants(block), {"ref_prob": ref_p, "alt_prob": alt_p, "diff": scores["diff"],
                                                           "logit_diff": scores["logit_diff"], PVALUE_COLUMN: pvalues})
            if vcf_handle is not None:
                vcf_handle.write(_vcf_block(block, scores, tasks).encode())

        with _BackgroundWriter(write) as writer:  # formats + compresses while the model runs
            for block in _prefetch(prepared):
                ref_p, alt_p, scores = _score_block(run, block)
                block.x = None  # the writer needs the records, not the windows
                for key, value in block.counts.items():
                    totals[key] += value
                scored += alt_p.shape[0]
                pvalues = empirical_pvalues(scores["abs_diff"], bg) if bg is not None and alt_p.size else None
                writer.put((block, ref_p, alt_p, scores, pvalues))
        if tsv is not None:
            tsv.close()
            fsync_file(tsv_tmp)
        if finish_vcf is not None:
            finish_vcf()
    summary = {
        "records": stop - start,
        "records_in_vcf": scan.n_records,
        "chunk": list(chunk) if chunk is not None else None,
        "alleles": totals.pop("alleles"),
        "scored_alleles": scored,
        "skipped": {reason: totals[reason] for reason in SKIP_REASONS},
        "ref_mismatch_scored": totals["ref_mismatch_scored"],
        "contig_map": contig_map,
        "tasks": tasks,
        "window_length": length,
        "reverse_complement": bool(reverse_complement),
        "windows_predicted": run.predictor.n_windows,
    }
    _log_summary(summary)
    return summary


def _log_summary(summary: dict):
    log.info("scored %d of %d ALT alleles (%d records)", summary["scored_alleles"], summary["alleles"], summary["records"])
    for reason, n in summary["skipped"].items():
        if n:
            log.warning("skipped %d allele(s): %s", n, reason)
    if summary["ref_mismatch_scored"]:
        log.warning("%d allele(s) have a REF that differs from the genome; scored with the genome's "
                    "bases and flagged ref_match=False", summary["ref_mismatch_scored"])


# --------------------------------------------------------------------------------------
# Gather
# --------------------------------------------------------------------------------------


def gather_scores(tsv_parts, vcf_parts, out_tsv_gz, out_vcf_gz=None, index: bool = True, h5_parts=None, out_h5=None):
    """Concatenate chunk outputs in the order given: the TSV header once, the VCF header
    (from the first part) once, the matrices (`deepcis.effects.gather_matrices`); the VCF is
    bgzipped and tabix-indexed. `out_tsv_gz` None: no long table."""
    tsv_parts = [Path(p) for p in tsv_parts or []]
    vcf_parts = [Path(p) for p in (vcf_parts or [])]
    if out_tsv_gz is not None and not tsv_parts:
        raise ValueError("gather_scores needs at least one TSV part")
    if out_h5 is not None:
        gather_matrices(h5_parts or [], out_h5)
    header = None
    with contextlib.ExitStack() as stack:
        tsv_tmp = stack.enter_context(atomic_path(out_tsv_gz)) if out_tsv_gz is not None else None
        with open_gzip_text(tsv_tmp, compresslevel=TSV_COMPRESSLEVEL) if tsv_tmp else contextlib.nullcontext() as out:
            for part in tsv_parts if tsv_tmp is not None else []:
                with gzip.open(part, "rt", newline="") as handle:
                    first = handle.readline()
                    if header is None:
                        header = first
                        out.write(first)
                    elif first != header:
                        raise InputError(part, f"columns differ from the first part's ({header.strip()!r})", line=1)
                    while chunk := handle.read(1 << 20):
                        out.write(chunk)
        if tsv_tmp is not None:
            fsync_file(tsv_tmp)
        if out_vcf_gz is not None and vcf_parts:
            handle, finish = open_bgzf_indexed(out_vcf_gz, index, stack)
            for k, part in enumerate(vcf_parts):
                with gzip.open(part, "rt", newline="") as src:
                    for line in src:
                        if line.startswith("#"):
                            if k == 0 and not line.startswith("##deepcis_chunk="):
                                handle.write(line.encode())
                            continue
                        handle.write(line.encode())
            finish()


# --------------------------------------------------------------------------------------
# Background SNVs and empirical p-values
# --------------------------------------------------------------------------------------


def background_snvs(genome: Genome, n: int, seed: int, window_length: int | None = None) -> list[tuple]:
    """N random SNVs (chrom, pos 1-based, ref, alt): positions uniform over the genome's
    A/C/G/T bases (N and other codes redrawn), ALT uniform among the other three bases.
    With `window_length`, positions are drawn where the window fits on the chromosome."""
    rng = np.random.default_rng(seed)
    sizes = genome.chrom_sizes
    names = list(sizes)
    half = 0 if window_length is None else window_length // 2
    right = 0 if window_length is None else window_length - half
    lo = np.array([half for _ in names], np.int64)
    hi = np.array([sizes[c] - right for c in names], np.int64)
    spans = np.maximum(hi - lo, 0)
    if spans.sum() == 0:
        raise ValueError("no chromosome is long enough for the window")
    offsets = np.concatenate([[0], np.cumsum(spans)])
    out: list[tuple] = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000:
            raise ValueError("could not draw background SNVs: the genome has too few A/C/G/T bases")
        draws = rng.integers(0, offsets[-1], size=max(2 * (n - len(out)), 64))
        which = np.searchsorted(offsets, draws, side="right") - 1
        alts = rng.integers(1, 4, size=draws.size)
        for d, w, shift in zip(draws.tolist(), which.tolist(), alts.tolist()):
            p = int(lo[w] + d - offsets[w])
            base = chr(int(genome.fetch(names[w], p, p + 1)[0])).upper()
            if base not in "ACGT":
                continue
            alt = "ACGT"[("ACGT".index(base) + shift) % 4]
            out.append((names[w], p + 1, base, alt))
            if len(out) == n:
                break
    return out


def _score_alleles(run: _Run, genome: Genome, alleles: list) -> np.ndarray:
    """abs_diff (n, T) of alleles (chrom, pos, ref, alt), in blocks."""
    out = []
    for lo in range(0, len(alleles), DEFAULT_BLOCK_SIZE):
        ref_codes, alt_codes = variant_windows(genome, alleles[lo : lo + DEFAULT_BLOCK_SIZE], run.length)
        probs = run.predictor(one_hot_encode(np.concatenate([ref_codes, alt_codes])))
        n = ref_codes.shape[0]
        out.append(np.abs(probs[n:] - probs[:n]))
    return np.concatenate(out) if out else np.empty((0, len(run.tasks)))


def score_background(model_path, genome_path, out_npz, n: int = 10_000, seed: int = 0,
                     batch_size: int = DEFAULT_BATCH_SIZE, reverse_complement: bool = True) -> np.ndarray:
    """Score n random background SNVs once (for many chunks) and save abs_diff per task."""
    model, tasks, length, sigmoid = _load(model_path)
    run = _Run(model, tasks, length, sigmoid, _Predictor(model, batch_size, reverse_complement))
    genome = Genome(genome_path)
    snvs = background_snvs(genome, n, seed, length)
    abs_diff = _score_alleles(run, genome, snvs)
    with atomic_path(out_npz) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, abs_diff=abs_diff.astype(np.float32), tasks=np.array(tasks),
                     reverse_complement=bool(reverse_complement), window_length=length, seed=seed)
    return abs_diff


def _resolve_background(background, run: _Run, genome: Genome, seed: int, reverse_complement: bool):
    if background is None:
        return None
    if isinstance(background, (int, np.integer)) and not isinstance(background, bool):
        if background < 1:
            raise ConfigError("background: the number of random SNVs must be positive")
        return _score_alleles(run, genome, background_snvs(genome, int(background), seed, run.length))
    path = Path(background)
    try:
        with np.load(path) as data:
            tasks = [str(t) for t in data["tasks"]]
            abs_diff = np.asarray(data["abs_diff"], np.float64)
            rc = bool(data["reverse_complement"])
            length = int(data["window_length"])
    except (OSError, KeyError, ValueError) as error:
        raise InputError(path, f"not a deepcis background file: {error}") from None
    if tasks != run.tasks or length != run.length or rc != bool(reverse_complement):
        raise InputError(path, "background was scored with another model (tasks, window length) or "
                         "strand setting than this run")
    return abs_diff


# --------------------------------------------------------------------------------------
# The strongest effects of an effects table
# --------------------------------------------------------------------------------------


def top_effects(tsv_gz, n: int = 20, chunksize: int | None = None):
    """The `n` allele x task rows with the largest ``abs_diff`` of an effects file.

    Read in blocks (`deepcis.effects.iter_effects`), so memory stays bounded whatever the
    VCF's size; ties keep file order. Text columns stay text (an ID or allele "NA" is not
    missing); "NA" is missing only in the score columns.

    Parameters
    ----------
    tsv_gz : str or os.PathLike
        An effects file of `score_variants`: the long table (``effects.tsv.gz``, plain or
        gzip) or the matrix (``effects.h5``).
    n : int
        Rows wanted.
    chunksize : int, optional
        Alleles read at a time (default: about 2 M alleles x tasks).

    Returns
    -------
    pandas.DataFrame
        At most `n` long-table rows (`TSV_COLUMNS`, + ``pvalue`` when scored), largest
        ``abs_diff`` first. A file without alleles gives an empty frame with `TSV_COLUMNS`.

    Raises
    ------
    InputError
        An empty file (no header line), a table without an ``abs_diff`` column, or a file
        that is neither form.
    """
    import pandas as pd

    best = top_rows(tsv_gz, n, rows=chunksize)
    if best is None:
        return pd.DataFrame(columns=TSV_COLUMNS)
    return best
