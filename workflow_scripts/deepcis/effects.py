"""Variant effect files in two forms, and one reader for both.

The long table (``effects.tsv.gz``) has one row per scored allele *and task*: easy to read
with any tool, but at hundreds of tasks formatting and compressing it costs most of the
scoring time (docs/benchmarks.md). The matrix form (``effects.h5``) stores the same scores as
alleles x tasks arrays, like Basenji's SAD files:

    /tasks                  (T,) str      task names, model output order
    /variants/chrom         (n,) str      VCF CHROM as written in the VCF
    /variants/pos           (n,) int64    VCF POS (1-based)
    /variants/id            (n,) str      VCF ID ('.' when missing)
    /variants/ref, alt      (n,) str      REF and the scored ALT (one row per ALT allele)
    /variants/ref_match     (n,) bool     REF equals the genome's bases
    /ref_prob, /alt_prob    (n, T)        model outputs (both strands averaged by default)
    /diff, /logit_diff      (n, T)        alt - ref; logit(alt) - logit(ref) (NaN: not a sigmoid)
    /pvalue                 (n, T)        empirical p-value of |diff| (with a background only)
    /diff_sd, /diff_min, /diff_max (n, T) fold ensembles only: the spread of the folds' diff

Rows are alleles in VCF order, exactly the long table's alleles; ``abs_diff`` is not stored
(it is ``|diff|``). The score arrays are float16 by default (``variants.matrix_dtype``): 11
significant bits, a relative error of at most 4.9e-4, which is far below any difference a
model's effect ranking depends on. Every score is computed in float64 from the model's outputs
and rounded once when written: ``diff`` is not the difference of the rounded probabilities.
float16 holds values up to 65504; models with larger outputs (unscaled count heads) should
use float32. Arrays are chunked by rows (about 1 MB per chunk), so reading a block of alleles
reads only their chunks. Attributes: ``format = "deepcis-effects"``, ``version = 1``.

`iter_effects` reads either form in blocks of alleles, so a reader (the top-effects table
and plot, fold ensembles, interpretation windows) works on both and its memory is bounded
by the block, not by the VCF.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import decode_strings
from .errors import ConfigError, InputError
from .io_utils import atomic_path, fsync_file

FORMATS = ("auto", "long", "matrix", "both")
MATRIX_DTYPES = ("float16", "float32")
AUTO_MATRIX_TASKS = 100  # `auto`: the matrix form when a scored model has more tasks than this
VARIANT_FIELDS = ("chrom", "pos", "id", "ref", "alt", "ref_match")
TEXT_FIELDS = ("chrom", "id", "ref", "alt")
MATRIX_SUFFIX = ".h5"
FORMAT_NAME = "deepcis-effects"
SCORE_ORDER = ("ref_prob", "alt_prob", "diff", "abs_diff", "logit_diff", "pvalue", "diff_sd", "diff_min", "diff_max")
ROW_CELLS = 1 << 19  # cells per HDF5 chunk row block: 1 MB at float16


def effects_format(variants_cfg: dict, task_counts) -> str:
    """The effect files to write: ``"long"``, ``"matrix"`` or ``"both"``.

    Parameters
    ----------
    variants_cfg : dict
        The config's ``variants`` section (``format``: auto, long, matrix or both).
    task_counts : iterable of int
        The task count of each scored model; ``auto`` gives the matrix form when one of them
        exceeds `AUTO_MATRIX_TASKS`, the long table otherwise.

    Returns
    -------
    str
        ``"long"``, ``"matrix"`` or ``"both"``.

    Raises
    ------
    ConfigError
        An unknown format or matrix dtype.
    """
    fmt = variants_cfg.get("format", "auto")
    if fmt not in FORMATS:
        raise ConfigError(f"config key variants.format: {fmt!r} is not one of {', '.join(FORMATS)}")
    dtype = variants_cfg.get("matrix_dtype", "float16")
    if dtype not in MATRIX_DTYPES:
        raise ConfigError(f"config key variants.matrix_dtype: {dtype!r} is not one of {', '.join(MATRIX_DTYPES)}")
    if fmt == "auto":
        return "matrix" if max(task_counts, default=0) > AUTO_MATRIX_TASKS else "long"
    return fmt


def effects_files(fmt: str) -> list[str]:
    """The effect file names of a resolved format (the matrix first: readers use the first)."""
    return {"long": ["effects.tsv.gz"], "matrix": ["effects.h5"], "both": ["effects.h5", "effects.tsv.gz"]}[fmt]


def is_matrix(path) -> bool:
    """Whether `path` names the matrix form (``.h5``) rather than the long table."""
    return str(path).endswith(MATRIX_SUFFIX)


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


class MatrixWriter:
    """Append blocks of alleles to an ``effects.h5`` written at a temp path, renamed into place
    on a clean exit (an error leaves no file).

    Parameters
    ----------
    path : str or os.PathLike
        The ``effects.h5`` to write.
    tasks : list of str
        Task names (columns).
    scores : list of str
        Score arrays to store, e.g. ``["ref_prob", "alt_prob", "diff", "logit_diff"]``.
    dtype : {"float16", "float32"}
        Storage type of the scores.
    attrs : dict, optional
        Extra file attributes (run metadata).
    """

    def __init__(self, path, tasks, scores, dtype: str = "float16", attrs: dict | None = None):
        if dtype not in MATRIX_DTYPES:
            raise ConfigError(f"matrix dtype {dtype!r} is not one of {', '.join(MATRIX_DTYPES)}")
        self.path = Path(path)
        self.tasks = [str(t) for t in tasks]
        self.scores = list(scores)
        self.dtype = np.dtype(dtype)
        self.attrs = dict(attrs or {})
        self.rows = 0
        self.overflow = 0
        self._stack = contextlib.ExitStack()
        self._h5 = None

    def __enter__(self):
        import h5py

        tmp = self._stack.enter_context(atomic_path(self.path))
        self._tmp = tmp
        self._h5 = h5py.File(tmp, "w")
        h5, n_tasks = self._h5, len(self.tasks)
        text = h5py.string_dtype()
        h5.attrs.update({"format": FORMAT_NAME, "version": 1, "scores": ",".join(self.scores)} | self.attrs)
        h5.create_dataset("tasks", data=np.array(self.tasks, dtype=object), dtype=text)
        rows = max(1, min(65536, ROW_CELLS // max(n_tasks, 1)))
        group = h5.create_group("variants")
        for name in VARIANT_FIELDS:
            kind = text if name in TEXT_FIELDS else (np.int64 if name == "pos" else bool)
            group.create_dataset(name, shape=(0,), maxshape=(None,), dtype=kind, chunks=(max(rows, 4096),))
        for name in self.scores:
            h5.create_dataset(name, shape=(0, n_tasks), maxshape=(None, n_tasks), dtype=self.dtype,
                              chunks=(rows, max(n_tasks, 1)))  # fmt: skip
        return self

    def append(self, variants: dict, scores: dict):
        """Add alleles: `variants` maps each of `VARIANT_FIELDS` to a sequence of n values,
        `scores` each score name to an (n, T) array."""
        n = len(variants["pos"])
        if not n:
            return
        lo, hi = self.rows, self.rows + n
        group = self._h5["variants"]
        for name in VARIANT_FIELDS:
            values = variants[name]
            values = np.array([str(v) for v in values], dtype=object) if name in TEXT_FIELDS else np.asarray(values)
            group[name].resize((hi,))
            group[name][lo:hi] = values
        for name in self.scores:
            values = np.asarray(scores[name])
            if values.shape != (n, len(self.tasks)):
                raise ValueError(f"{name}: shape {values.shape}, expected {(n, len(self.tasks))}")
            stored = values.astype(self.dtype)
            if self.dtype == np.float16:
                self.overflow += int(np.count_nonzero(np.isinf(stored) & np.isfinite(values)))
            self._h5[name].resize((hi, len(self.tasks)))
            self._h5[name][lo:hi] = stored
        self.rows = hi

    def __exit__(self, exc_type, exc, tb):
        try:
            self._h5.close()
            if exc_type is None:
                fsync_file(self._tmp)
        finally:
            if exc_type is None:
                self._stack.close()
            else:
                self._stack.__exit__(exc_type, exc, tb)
        if self.overflow:
            import logging

            logging.getLogger("deepcis.effects").warning(
                "%s: %d score(s) exceed float16's range (65504) and are stored as inf; use "
                "variants.matrix_dtype: float32 for this model", self.path, self.overflow)
        return False


def _open(path):
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as error:
        raise InputError(path, f"not an HDF5 file: {error}") from None
    if h5.attrs.get("format") != FORMAT_NAME:
        h5.close()
        raise InputError(path, f"not a deepcis variant-effects matrix (no format = {FORMAT_NAME!r} attribute)")
    return h5


def gather_matrices(parts, out_h5, rows: int = 65536):
    """Concatenate chunk matrices (same tasks and scores, checked) into `out_h5`, in the order
    given, `rows` alleles at a time."""
    parts = [Path(p) for p in parts]
    if not parts:
        raise ValueError("gather_matrices needs at least one part")
    with _open(parts[0]) as first:
        tasks = decode_strings(first["tasks"][()])
        scores = first.attrs["scores"].split(",")
        dtype = first[scores[0]].dtype.name
        attrs = {k: v for k, v in first.attrs.items() if k not in ("format", "version", "scores", "chunk")}
    with MatrixWriter(out_h5, tasks, scores, dtype, attrs) as writer:
        for part in parts:
            with _open(part) as h5:
                if decode_strings(h5["tasks"][()]) != tasks or h5.attrs["scores"].split(",") != scores:
                    raise InputError(part, f"tasks or scores differ from {parts[0]}'s")
                n = h5["variants/pos"].shape[0]
                for lo in range(0, n, rows):
                    hi = min(lo + rows, n)
                    variants = {name: _column(h5, name, lo, hi) for name in VARIANT_FIELDS}
                    writer.append(variants, {name: h5[name][lo:hi] for name in scores})


def _column(h5, name, lo, hi):
    data = h5["variants"][name]
    if name in TEXT_FIELDS:
        return data.asstr()[lo:hi]
    return data[lo:hi]


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------


@dataclass
class EffectBlock:
    """A block of alleles of an effects file.

    Attributes
    ----------
    variants : pandas.DataFrame
        One row per allele: `VARIANT_FIELDS` (ref_match bool).
    tasks : list of str
        Task names (the columns of every score).
    scores : dict of str to numpy.ndarray
        (n, T) float64 per score; always ``diff`` and ``abs_diff``, plus whatever the file has.
    start : int
        Row of the block's first allele in the file.
    """

    variants: object
    tasks: list
    scores: dict
    start: int


def iter_effects(path, rows: int | None = None) -> Iterator[EffectBlock]:
    """Read an effects file, long (``.tsv.gz``) or matrix (``.h5``), in blocks of alleles.

    Parameters
    ----------
    path : str or os.PathLike
        ``effects.tsv.gz`` or ``effects.h5`` (`deepcis.variants.score_variants`, gathers,
        fold ensembles).
    rows : int, optional
        Alleles per block; by default about 2 M cells (alleles x tasks) per block.

    Yields
    ------
    EffectBlock
        Alleles in file order; nothing for a file without alleles.

    Raises
    ------
    InputError
        A file that is neither form, or a long table whose rows are not allele-major.
    """
    if is_matrix(path):
        yield from _iter_matrix(path, rows)
    else:
        yield from _iter_long(path, rows)


def effects_tasks(path) -> list[str]:
    """The task names of an effects file (empty for a long table without rows)."""
    if is_matrix(path):
        with _open(path) as h5:
            return decode_strings(h5["tasks"][()])
    for block in _iter_long(path, 1):
        return block.tasks
    return []


def _block_rows(rows, n_tasks):
    return int(rows) if rows else max(1, 2_000_000 // max(n_tasks, 1))


def _iter_matrix(path, rows):
    import pandas as pd

    with _open(path) as h5:
        tasks = decode_strings(h5["tasks"][()])
        scores = h5.attrs["scores"].split(",")
        n = h5["variants/pos"].shape[0]
        step = _block_rows(rows, len(tasks))
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            variants = pd.DataFrame({name: _column(h5, name, lo, hi) for name in VARIANT_FIELDS})
            values = {name: h5[name][lo:hi].astype(np.float64) for name in scores}
            values["abs_diff"] = np.abs(values["diff"])
            yield EffectBlock(variants, tasks, values, lo)


def _iter_long(path, rows):
    import pandas as pd

    numeric = list(SCORE_ORDER)
    text = {c: str for c in ("chrom", "id", "ref", "alt", "ref_match", "task")}
    tasks, carry, start = None, None, 0
    chunk_rows = 200_000

    def block_of(frame):
        nonlocal start
        n_t = len(tasks)
        names = frame["task"].to_numpy().reshape(-1, n_t)
        if not (names == np.asarray(tasks, dtype=object)).all():
            raise InputError(path, "rows are not one per allele and task in the same task order "
                             "(not a deepcis effects table)")  # fmt: skip
        first = frame.iloc[::n_t]
        variants = pd.DataFrame({c: first[c].to_numpy() for c in VARIANT_FIELDS})
        variants["ref_match"] = variants["ref_match"].astype(str) == "True"
        values = {c: frame[c].to_numpy(np.float64).reshape(-1, n_t) for c in numeric if c in frame.columns}
        block = EffectBlock(variants, list(tasks), values, start)
        start += len(variants)
        return block

    try:
        reader = pd.read_csv(path, sep="\t", chunksize=chunk_rows, dtype=text | dict.fromkeys(numeric, float),
                             keep_default_na=False, na_values=dict.fromkeys(numeric, ["NA"]))  # fmt: skip
        for chunk in reader:
            missing = [c for c in (*VARIANT_FIELDS, "task", "diff", "abs_diff") if c not in chunk.columns]
            if missing:
                raise InputError(path, f"not a variant-scores table (no {', '.join(missing)} column)")
            if carry is not None and len(carry):
                chunk = pd.concat([carry, chunk], ignore_index=True)
            if tasks is None:
                names = chunk["task"].tolist()
                repeat = next((i for i in range(1, len(names)) if names[i] == names[0]), None)
                if repeat is None:
                    carry = chunk
                    continue
                tasks = names[:repeat]
            step = len(tasks) * _block_rows(rows, len(tasks))
            usable = len(chunk) // len(tasks) * len(tasks)
            for lo in range(0, usable, step):
                yield block_of(chunk.iloc[lo : min(lo + step, usable)])
            carry = chunk.iloc[usable:]
    except pd.errors.EmptyDataError:
        raise InputError(path, "empty file: not a variant-scores table (no header line)") from None
    if carry is not None and len(carry):
        if tasks is None:  # one allele
            tasks = carry["task"].tolist()
        if len(carry) % len(tasks):
            raise InputError(path, "the last allele does not have a row for every task (truncated table?)")
        yield block_of(carry)


def _match_text(ref_match) -> np.ndarray:
    """`ref_match` as the long table writes it: "True" / "False"."""
    return np.where(np.asarray(ref_match).astype(bool), "True", "False")


def long_rows(block: EffectBlock, columns: list[str]):
    """The long-table rows (one per allele and task) of a block, as a DataFrame with the key
    columns (chrom, pos, id, ref, alt, ref_match, task) and the scores in `columns`."""
    import pandas as pd

    n_t = len(block.tasks)
    frame = {c: np.repeat(block.variants[c].to_numpy(), n_t) for c in VARIANT_FIELDS}
    frame["ref_match"] = _match_text(frame["ref_match"])
    frame["task"] = np.tile(np.asarray(block.tasks, dtype=object), len(block.variants))
    for c in columns:
        frame[c] = block.scores[c].reshape(-1)
    return pd.DataFrame(frame)


def _select(absd: np.ndarray, n: int, per_task: bool) -> np.ndarray:
    """Flat indices (row-major: file order) of a block's candidates: its `n` largest finite
    values (per column with `per_task`: there, ties at the n-th value are all kept)."""
    k = absd.shape[0]
    if per_task:
        if k > n:
            nth = np.partition(absd, k - n, axis=0)[k - n]
            flat = np.flatnonzero(absd >= nth[None, :])
        else:
            flat = np.arange(absd.size)
    else:
        values = absd.reshape(-1)
        if values.size > n:
            threshold = np.partition(values, values.size - n)[values.size - n]
            flat = np.flatnonzero(values >= threshold)
        else:
            flat = np.arange(values.size)
        flat = flat[np.argsort(-values[flat], kind="stable")][:n]
    return flat[np.isfinite(absd.reshape(-1)[flat])]


def _keep(values: np.ndarray, order: np.ndarray, columns: np.ndarray, n: int, per_task: bool) -> np.ndarray:
    """Indices of the candidates kept, largest first: the `n` largest values (per column with
    `per_task`), ties by `order`."""
    if not per_task:
        return np.lexsort((order, -values))[:n]
    ranked = np.lexsort((order, -values, columns))
    cols = columns[ranked]
    starts = np.r_[0, np.flatnonzero(np.diff(cols)) + 1] if cols.size else np.empty(0, np.int64)
    rank = np.arange(cols.size) - np.repeat(starts, np.diff(np.r_[starts, cols.size]))
    return ranked[rank < n]


def _top_rows_matrix(path, n: int, per_task: bool, rows):
    """`top_rows` of a matrix: a pass over ``diff`` alone, then the winners' other fields."""
    import pandas as pd

    with _open(path) as h5:
        tasks = decode_strings(h5["tasks"][()])
        scores = h5.attrs["scores"].split(",")
        n_rows, n_t = h5["variants/pos"].shape[0], len(tasks)
        if not n_rows:
            return None
        step = _block_rows(rows, n_t)
        values = np.empty(0)
        order = np.empty(0, np.int64)
        for lo in range(0, n_rows, step):
            absd = np.abs(h5["diff"][lo : lo + step].astype(np.float64))
            absd[np.isnan(absd)] = -np.inf
            flat = _select(absd, n, per_task)
            values = np.concatenate([values, absd.reshape(-1)[flat]])
            order = np.concatenate([order, lo * n_t + flat])
            kept = _keep(values, order, order % n_t, n, per_task)
            values, order = values[kept], order[kept]
        row, col = order // n_t, order % n_t
        unique, inverse = np.unique(row, return_inverse=True)
        frame = pd.DataFrame({name: _column_at(h5, name, unique)[inverse] for name in VARIANT_FIELDS})
        frame["ref_match"] = _match_text(frame["ref_match"])
        frame["task"] = np.asarray(tasks, dtype=object)[col]
        for name in scores:
            frame[name] = h5[name][unique.tolist()].astype(np.float64)[inverse, col] if unique.size else np.empty(0)
        frame["abs_diff"] = np.abs(frame["diff"])
    if per_task:
        frame = frame.assign(_t=col, _o=order).sort_values(["_t", "abs_diff", "_o"], ascending=[True, False, True],
                                                           kind="stable").drop(columns=["_t", "_o"])  # fmt: skip
    return frame[[c for c in (*VARIANT_FIELDS, "task", *SCORE_ORDER) if c in frame.columns]].reset_index(drop=True)


def _column_at(h5, name, rows: np.ndarray) -> np.ndarray:
    if not rows.size:
        return np.empty(0, dtype=object)
    data = h5["variants"][name]
    values = (data.asstr() if name in TEXT_FIELDS else data)[rows.tolist()]
    return np.asarray(values, dtype=object if name in TEXT_FIELDS else None)


def top_rows(path, n: int, per_task: bool = False, rows: int | None = None):
    """The `n` allele x task rows with the largest ``abs_diff`` (per task with `per_task`),
    as long-table rows, largest first (per task: tasks in model order); ties keep file order;
    NaN is never among them. Memory is bounded by the block size; a matrix is searched on its
    ``diff`` array alone. None for a file without alleles."""
    import pandas as pd

    if is_matrix(path):
        return _top_rows_matrix(path, n, per_task, rows)
    best = None
    tasks = None
    for block in iter_effects(path, rows):
        tasks = block.tasks
        absd = np.where(np.isnan(block.scores["abs_diff"]), -np.inf, block.scores["abs_diff"])
        n_t = len(block.tasks)
        flat = _select(absd, n, per_task)
        alleles = block.variants.iloc[flat // n_t].reset_index(drop=True)
        cand = pd.DataFrame({c: alleles[c].to_numpy() for c in VARIANT_FIELDS})
        cand["ref_match"] = _match_text(cand["ref_match"])
        cand["task"] = np.asarray(block.tasks, dtype=object)[flat % n_t]
        for c, v in block.scores.items():
            cand[c] = v.reshape(-1)[flat]
        cand["_order"] = (block.start + flat // n_t) * n_t + flat % n_t
        pool = cand if best is None else pd.concat([best, cand], ignore_index=True)
        pool = pool.sort_values(["abs_diff", "_order"], ascending=[False, True], kind="stable")
        best = pool.groupby("task", sort=False).head(n) if per_task else pool.head(n)
    if best is None:
        return None
    if per_task:
        rank = {t: i for i, t in enumerate(tasks)}
        best = best.assign(_task=best["task"].map(rank)).sort_values(["_task", "abs_diff", "_order"],
                                                                      ascending=[True, False, True], kind="stable")
        best = best.drop(columns="_task")
    columns = [c for c in (*VARIANT_FIELDS, "task", *SCORE_ORDER) if c in best.columns]
    return best[columns].reset_index(drop=True)
