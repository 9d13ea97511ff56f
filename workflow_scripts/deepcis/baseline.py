"""The classical baseline: canonical k-mer counts + one L2-regularised logistic regression
per task (no TensorFlow).

Features. For each k in `ks` (1..6 by default), the k-mers of a window are counted on both
strands at once by canonicalising: a k-mer and its reverse complement share one feature,
named by the lexicographically smaller of the two (A < C < G < T). A k-mer that overlaps an N
(an all-zero one-hot row, or any row that is not exactly one-hot) is not counted. Counts are
computed vectorised from the one-hot `x`: base codes 0-3, rolling base-4 k-mer codes, a
lookup table to the canonical feature index, and one `np.bincount` per block of windows.
Counts are then transformed ("frequency": count / (L - k + 1), the k-mer positions of a
window; "log1p": log(1 + count)) and standardised with the training mean and standard
deviation, so one L2 penalty treats all features alike.

Model. Per task, sklearn `LogisticRegression` (L2) is fitted on the training split for each C
of the grid, smallest first, each fit warm-started from the previous one, and the C with the
best validation AUROC is kept (ties: the smaller C, i.e. the stronger penalty); the path stops
`c_patience` C values past the best (the slow large-C fits are skipped). NaN labels are left out task by task. A task with a single class (or no
labels) in training predicts a constant, the training positive rate, with a note.
The default solver is lbfgs: it works on the float32 matrix in place and measured 9-26x
faster than liblinear at 20,000 windows x 2,772 features (liblinear copies the matrix into
its own format: peak memory grew by about 3x the matrix); "liblinear" and "saga" can be chosen.

Memory: the training (and validation) feature matrices are held as dense float32, about
4 x (number of features) bytes per window (2,770 features for k = 1..6: 11 kB per window);
`max_train_rows` caps the training rows (a seeded random subset) so a genome-wide split
stays bounded. x is read `block_rows` windows at a time.

See docs/evaluation.md.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from .dataset import XReader, dataset_tasks, open_dataset
from .errors import InputError
from .io_utils import atomic_path, fsync_file

log = logging.getLogger("deepcis.baseline")

DEFAULT_KS = (1, 2, 3, 4, 5, 6)
DEFAULT_CS = (0.001, 0.01, 0.1, 1.0)
TRANSFORMS = ("frequency", "log1p")
SOLVERS = ("lbfgs", "liblinear", "saga")
BLOCK_ROWS = 4096
FORMAT = "deepcis-kmer-baseline/1"


# --------------------------------------------------------------------------------------
# Canonical k-mer features
# --------------------------------------------------------------------------------------


def _check_ks(ks) -> tuple[int, ...]:
    ks = tuple(int(k) for k in ks)
    if not ks or any(k < 1 or k > 12 for k in ks) or len(set(ks)) != len(ks):
        raise ValueError(f"k-mer sizes must be distinct integers in 1..12; got {ks}")
    return ks


@cache
def _canonical_table(k: int) -> tuple[np.ndarray, int]:
    """(index of the canonical feature for every k-mer code, number of canonical k-mers)."""
    codes = np.arange(4**k, dtype=np.int64)
    rc = np.zeros_like(codes)
    rest = codes.copy()
    for _ in range(k):  # reverse complement: read digits last to first, complement each (3 - d)
        rc = rc * 4 + (3 - rest % 4)
        rest //= 4
    canonical = np.minimum(codes, rc)
    kept = np.unique(canonical)
    index = np.searchsorted(kept, canonical)
    return index.astype(np.int64), len(kept)


def _decode(code: int, k: int) -> str:
    return "".join("ACGT"[(code >> (2 * (k - 1 - j))) & 3] for j in range(k))


def kmer_names(ks=DEFAULT_KS) -> list[str]:
    """Feature names in column order: per k (in the order given), the canonical k-mers sorted."""
    names = []
    for k in _check_ks(ks):
        index, m = _canonical_table(k)
        first = np.full(m, -1, dtype=np.int64)
        codes = np.arange(4**k)
        # the smallest code mapping to each feature is the canonical k-mer itself
        first[index[::-1]] = codes[::-1]
        names += [_decode(int(c), k) for c in first]
    return names


def n_features(ks=DEFAULT_KS) -> int:
    """Number of canonical k-mer features for the k-mer lengths `ks`."""
    return sum(_canonical_table(k)[1] for k in _check_ks(ks))


def _base_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-hot (B, L, 4) -> base codes (B, L) int64 and validity (exactly one channel set)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != 4:
        raise ValueError(f"one-hot x must be (windows, length, 4); got shape {x.shape}")
    x = x != 0
    a, c, g, t = x[..., 0], x[..., 1], x[..., 2], x[..., 3]
    valid = (a.view(np.uint8) + c + g + t) == 1
    codes = (c.view(np.uint8) + 2 * g.view(np.uint8) + 3 * t.view(np.uint8)).astype(np.int32)
    codes &= 3  # in range even where invalid (those positions are masked)
    return codes, valid


def kmer_counts(x, ks=DEFAULT_KS) -> np.ndarray:
    """Canonical k-mer counts (B, F) int32 of one-hot windows; columns as `kmer_names(ks)`."""
    ks = _check_ks(ks)
    codes, valid = _base_codes(x)
    b, length = codes.shape
    rows = np.arange(b, dtype=np.int64)[:, None]
    out = {}
    code = ok = None
    for k in range(1, max(ks) + 1):  # rolling codes: the k-mer code at i extends the (k-1)-mer code at i
        positions = length - k + 1
        if positions <= 0:
            out.update({kk: np.zeros((b, _canonical_table(kk)[1]), dtype=np.int32) for kk in ks if kk >= k})
            break
        if code is None:
            code, ok = codes.copy(), valid.copy()
        else:
            code = code[:, :positions] * 4 + codes[:, k - 1 :]
            ok = ok[:, :positions] & valid[:, k - 1 :]
        if k not in ks:
            continue
        index, m = _canonical_table(k)
        feature = index[code]
        feature[~ok] = m  # k-mers touching an N go to a discarded bin m
        feature += rows * (m + 1)
        counts = np.bincount(feature.ravel(), minlength=b * (m + 1)).reshape(b, m + 1)[:, :m]
        out[k] = counts.astype(np.int32)
    return np.concatenate([out[k] for k in ks], axis=1)


def kmer_features(x, ks=DEFAULT_KS, transform: str = "frequency") -> np.ndarray:
    """Transformed (not yet standardised) canonical k-mer counts, float32 (B, F)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; expected one of {', '.join(TRANSFORMS)}")
    ks = _check_ks(ks)
    counts = kmer_counts(x, ks).astype(np.float32)
    if transform == "log1p":
        return np.log1p(counts)
    length = np.asarray(x).shape[1]
    scale = np.concatenate([np.full(_canonical_table(k)[1], 1.0 / max(1, length - k + 1)) for k in ks])
    return counts * scale.astype(np.float32)


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


@dataclass
class BaselineModel:
    """A fitted k-mer baseline: feature standardisation and one logistic regression per task."""

    tasks: list[str]
    window_length: int
    ks: tuple[int, ...]
    transform: str
    mean: np.ndarray  # (F,) training mean of the transformed features
    scale: np.ndarray  # (F,) training standard deviation (1 where 0)
    coef: np.ndarray  # (T, F) on standardised features; 0 for constant tasks
    intercept: np.ndarray  # (T,)
    constant: np.ndarray  # (T,) constant prediction of a task without a fit, NaN otherwise
    C: np.ndarray  # (T,) chosen C, NaN for constant tasks
    valid_auroc: np.ndarray  # (T,) validation AUROC at the chosen C (NaN if undefined)
    notes: list[str]
    info: dict = field(default_factory=dict)  # training provenance (rows, positives, grid, ...)

    def decision_function(self, features: np.ndarray) -> np.ndarray:
        z = (features - self.mean) / self.scale
        return z @ self.coef.T.astype(np.float32) + self.intercept.astype(np.float32)

    def predict_features(self, features: np.ndarray) -> np.ndarray:
        """Probabilities (B, T) from transformed features."""
        logits = self.decision_function(np.asarray(features, dtype=np.float32)).astype(np.float64)
        p = 0.5 * (1.0 + np.tanh(0.5 * logits))  # logistic, without overflow warnings
        fixed = ~np.isnan(self.constant)
        p[:, fixed] = self.constant[fixed]
        return p.astype(np.float32)

    def predict_x(self, x) -> np.ndarray:
        return self.predict_features(kmer_features(x, self.ks, self.transform))

    def report(self) -> pd.DataFrame:
        """Per task: chosen C, validation AUROC, training counts and the note."""
        return pd.DataFrame({
            "task": self.tasks, "C": self.C, "valid_auroc": self.valid_auroc,
            "train_n": self.info.get("train_n", [np.nan] * len(self.tasks)),
            "train_positives": self.info.get("train_positives", [np.nan] * len(self.tasks)),
            "note": self.notes,
        })  # fmt: skip


def _features_of(path, ks, transform, block_rows, rows: np.ndarray | None = None):
    """(features float32 (n, F), labels (n, T) float32, tasks, window length, attrs) of a
    dataset split, read `block_rows` windows at a time; `rows`: sorted row subset."""
    f = open_dataset(path)
    try:
        tasks = dataset_tasks(f)
        length = int(f.attrs["window_length"])
        n = XReader(f).shape[0]
        rows = np.arange(n) if rows is None else rows
        feats = np.empty((len(rows), n_features(ks)), dtype=np.float32)
        labels = np.empty((len(rows), len(tasks)), dtype=np.float32)
        done = 0
        for lo in range(0, n, block_rows):
            hi = min(n, lo + block_rows)
            a, b = np.searchsorted(rows, [lo, hi])
            if a == b:
                continue
            pick = rows[a:b] - lo
            x = XReader(f)[lo:hi][pick]
            feats[done : done + len(pick)] = kmer_features(x, ks, transform)
            labels[done : done + len(pick)] = f["y"][lo:hi][pick]
            done += len(pick)
        split = f.attrs.get("split", "")
    finally:
        f.close()
    return feats, labels, tasks, length, str(split)


def _check_binary(path, y: np.ndarray, tasks):
    observed = y[~np.isnan(y)]
    other = np.unique(observed[(observed != 0) & (observed != 1)])
    if other.size:
        raise InputError(path, f"the k-mer baseline needs 0/1 labels; found {', '.join(f'{v:g}' for v in other[:5])}")


def _fit_one(x_train, y_train, x_valid, y_valid, Cs, seed, solver, class_weight, max_iter, c_patience=1):
    """(coef, intercept, C, valid AUROC, note) of one task, C chosen on validation AUROC.

    C goes up the grid and each fit starts from the previous C's solution (warm start: the
    larger the C, the more iterations a cold start needs). The path stops once `c_patience`
    consecutive C values have not beaten the best validation AUROC (None: the whole grid):
    validation AUROC along an L2 path rises to one peak and falls, and the large-C fits it
    skips are the slow ones (docs/benchmarks.md)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    valid_ok = y_valid.size > 0 and 0 < y_valid.sum() < y_valid.size
    # liblinear: the dual problem is the faster one with fewer windows than features
    dual = solver == "liblinear" and x_train.shape[0] < x_train.shape[1]
    clf = LogisticRegression(l1_ratio=0.0, solver=solver, dual=dual, class_weight=class_weight, max_iter=max_iter,
                             random_state=seed, warm_start=solver != "liblinear")  # fmt: skip
    best, stale = None, 0
    for C in sorted(Cs):
        clf.set_params(C=C)
        clf.fit(x_train, y_train)
        auc = float(roc_auc_score(y_valid, clf.decision_function(x_valid))) if valid_ok else np.nan
        if best is None or (valid_ok and auc > best[3]):
            best, stale = (clf.coef_[0].copy(), float(clf.intercept_[0]), float(C), auc), 0
        else:
            stale += 1
        if not valid_ok or (c_patience is not None and stale >= c_patience):
            break  # no way to choose (keep the smallest C, the strongest penalty), or past the peak
    note = "" if valid_ok else f"validation labels have a single class or none: C fixed at {min(Cs):g}"
    return (*best, note)


def fit_kmer_baseline(train_path, valid_path, ks=DEFAULT_KS, Cs=DEFAULT_CS, seed: int = 0,
                      transform: str = "frequency", class_weight: str | None = None, solver: str = "lbfgs",
                      max_train_rows: int | None = 100_000, max_valid_rows: int | None = 100_000,
                      block_rows: int = BLOCK_ROWS, max_iter: int = 1000, n_jobs: int = 1,
                      tasks: list[str] | None = None, c_patience: int | None = 1) -> BaselineModel:  # fmt: skip
    """Fit the k-mer baseline: features of the training split (at most `max_train_rows`
    windows, a seeded random subset), one logistic regression per task and C, C chosen
    per task on the validation split's AUROC, going up the grid with warm starts until
    `c_patience` C values in a row have not improved it (None: every C). `n_jobs` tasks are
    fitted in parallel (threads).
    `tasks`: the (binary) tasks to fit, default all; signal tasks of a multi-modal dataset are
    left out this way."""
    wanted = tasks
    ks = _check_ks(ks)
    Cs = tuple(float(c) for c in Cs)
    if not Cs or any(not c > 0 for c in Cs):
        raise ValueError(f"C values must be positive; got {Cs}")
    if solver not in SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; expected one of {', '.join(SOLVERS)}")
    if c_patience is not None and c_patience < 1:
        raise ValueError(f"c_patience must be None or at least 1; got {c_patience}")
    if class_weight not in (None, "balanced"):
        raise ValueError(f"class_weight must be None or 'balanced'; got {class_weight!r}")
    rng = np.random.default_rng(seed)

    def subset(path, cap):
        with open_dataset(path) as f:
            n = XReader(f).shape[0]
            tasks, length = dataset_tasks(f), int(f.attrs["window_length"])
        if cap is None or n <= cap:
            return None, n, tasks, length
        return np.sort(rng.choice(n, size=int(cap), replace=False)), n, tasks, length

    train_rows, train_total, tasks, length = subset(train_path, max_train_rows)
    valid_rows, valid_total, v_tasks, v_length = subset(valid_path, max_valid_rows)
    if v_tasks != tasks:
        raise InputError(valid_path, f"tasks {v_tasks} differ from the training file's {tasks}")
    if v_length != length:
        raise InputError(valid_path, f"window length {v_length} differs from the training file's {length}")
    x_train, y_train, _, _, _ = _features_of(train_path, ks, transform, block_rows, train_rows)
    x_valid, y_valid, _, _, _ = _features_of(valid_path, ks, transform, block_rows, valid_rows)
    if wanted is not None:
        missing = [t for t in wanted if t not in tasks]
        if missing:
            raise InputError(train_path, f"has no task(s) {missing} (its tasks: {tasks})")
        columns = [tasks.index(t) for t in wanted]
        y_train, y_valid, tasks = y_train[:, columns], y_valid[:, columns], list(wanted)
    _check_binary(train_path, y_train, tasks)
    _check_binary(valid_path, y_valid, tasks)
    log.info("k-mer features: %d training and %d validation windows x %d features",
             len(x_train), len(x_valid), x_train.shape[1])  # fmt: skip

    mean = x_train.mean(axis=0, dtype=np.float64).astype(np.float32)
    scale = x_train.std(axis=0, dtype=np.float64).astype(np.float32)
    scale[~(scale > 1e-12)] = 1.0
    x_train -= mean
    x_train /= scale
    x_valid -= mean
    x_valid /= scale

    t = len(tasks)
    n_feat = x_train.shape[1]
    coef = np.zeros((t, n_feat))
    intercept = np.zeros(t)
    constant = np.full(t, np.nan)
    chosen = np.full(t, np.nan)
    valid_auroc = np.full(t, np.nan)
    notes = [""] * t
    train_n = np.zeros(t, dtype=int)
    train_pos = np.zeros(t, dtype=int)

    def fit_task(i):
        seen = ~np.isnan(y_train[:, i])
        y = y_train[seen, i]
        train_n[i], train_pos[i] = len(y), int(y.sum())
        if len(y) == 0 or train_pos[i] in (0, len(y)):
            rate = float(y.mean()) if len(y) else 0.5
            constant[i] = rate
            notes[i] = ("no training labels" if len(y) == 0 else
                        f"training labels have one class only ({train_pos[i]} positives of {len(y)}): "
                        f"constant prediction {rate:g}")  # fmt: skip
            return
        v_seen = ~np.isnan(y_valid[:, i])
        coef[i], intercept[i], chosen[i], valid_auroc[i], notes[i] = _fit_one(
            x_train if seen.all() else x_train[seen], y.astype(int), x_valid[v_seen], y_valid[v_seen, i].astype(int), Cs, seed, solver,
            class_weight, max_iter, c_patience)  # fmt: skip

    if n_jobs and n_jobs != 1:
        from joblib import Parallel, delayed
        from threadpoolctl import threadpool_limits

        # one BLAS thread per task thread: n_jobs tasks x n_jobs BLAS threads oversubscribe the
        # cores, and a multi-threaded matrix-vector product then waits on its slowest thread
        with threadpool_limits(1, user_api="blas"):
            Parallel(n_jobs=n_jobs, prefer="threads")(delayed(fit_task)(i) for i in range(t))
    else:
        for i in range(t):
            fit_task(i)
    for i in range(t):
        log.info("task %s: C=%s validation AUROC=%s %s", tasks[i], chosen[i], valid_auroc[i], notes[i])

    info = {
        "train": str(train_path), "valid": str(valid_path), "seed": int(seed), "Cs": list(Cs), "c_patience": c_patience, "solver": solver,
        "class_weight": class_weight, "train_windows": int(train_total), "train_rows_used": int(len(x_train)),
        "valid_windows": int(valid_total), "valid_rows_used": int(len(x_valid)),
        "train_n": train_n.tolist(), "train_positives": train_pos.tolist(), "deepcis_version": __version__,
    }  # fmt: skip
    return BaselineModel(tasks, length, ks, transform, mean, scale, coef, intercept, constant, chosen, valid_auroc,
                         notes, info)  # fmt: skip


# --------------------------------------------------------------------------------------
# Saving, loading, predicting
# --------------------------------------------------------------------------------------


def save_baseline(model: BaselineModel, path):
    """One `.npz` (no pickles): the arrays plus a JSON header (`meta`) with tasks, k list,
    transform, chosen C, validation AUROC, notes and training provenance."""
    meta = {
        "format": FORMAT, "tasks": model.tasks, "window_length": model.window_length, "ks": list(model.ks),
        "transform": model.transform, "C": [None if np.isnan(c) else float(c) for c in model.C],
        "valid_auroc": [None if np.isnan(a) else float(a) for a in model.valid_auroc], "notes": model.notes,
        "feature_names": kmer_names(model.ks), "info": model.info,
    }  # fmt: skip
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), mean=model.mean, scale=model.scale, coef=model.coef,
             intercept=model.intercept, constant=model.constant)  # fmt: skip
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(buffer.getvalue())
        fsync_file(tmp)


def load_baseline(path) -> BaselineModel:
    """Read a baseline model written by `save_baseline` (``model.npz``); InputError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "baseline model file not found")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            arrays = {k: data[k] for k in ("mean", "scale", "coef", "intercept", "constant")}
    except (OSError, ValueError, KeyError) as error:
        raise InputError(path, f"not a deepcis k-mer baseline file: {error}") from None
    if meta.get("format") != FORMAT:
        raise InputError(path, f"not a deepcis k-mer baseline file (format {meta.get('format')!r})")
    nan = float("nan")
    return BaselineModel(
        meta["tasks"], int(meta["window_length"]), tuple(meta["ks"]), meta["transform"], arrays["mean"],
        arrays["scale"], arrays["coef"], arrays["intercept"], arrays["constant"],
        np.array([nan if c is None else c for c in meta["C"]]),
        np.array([nan if a is None else a for a in meta["valid_auroc"]]), list(meta["notes"]), meta["info"],
    )  # fmt: skip


def predict_baseline(model: BaselineModel | str | Path, dataset_path, out_path, block_rows: int = BLOCK_ROWS,
                     model_path=None) -> dict:  # fmt: skip
    """Predict a dataset split with the baseline; writes the predictions-file format of
    deepcis.predict (so the metrics and plots read either). `model` is a BaselineModel or the
    path of a saved one (then recorded with its sha256)."""
    from .io_utils import sha256_file
    from .predict import create_predictions, dataset_provenance, model_task_columns, write_prediction_rows

    if not isinstance(model, BaselineModel):
        model_path = model
        model = load_baseline(model_path)
    f = open_dataset(dataset_path)
    try:
        columns = model_task_columns(dataset_path, model.tasks, model.window_length, model_path or "k-mer baseline",
                                     dataset_tasks(f), int(f.attrs["window_length"]))  # fmt: skip
        tasks = list(model.tasks)
        n = XReader(f).shape[0]
        attrs = dataset_provenance(f, dataset_path) | {
            "model": str(model_path) if model_path else "", "predictor": "kmer_baseline", "reverse_complement": True,
            "model_sha256": sha256_file(model_path) if model_path else "",
        }  # fmt: skip
        with create_predictions(out_path, n, tasks, attrs) as out:
            for lo in range(0, n, block_rows):
                hi = min(n, lo + block_rows)
                p = model.predict_x(XReader(f)[lo:hi])
                write_prediction_rows(out, lo, f["chrom"][lo:hi], f["start"][lo:hi], f["end"][lo:hi],
                                      f["y"][lo:hi].astype(np.float32)[:, columns], p)  # fmt: skip
    finally:
        f.close()
    return {"windows": int(n), "tasks": len(tasks)}
