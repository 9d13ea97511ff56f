"""Per-task evaluation metrics (no TensorFlow): AUROC/AUPRC for binary tasks, Pearson and
Spearman for regression tasks, NA with a reason where a metric is undefined.

Definitions and NA rules: docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .io_utils import atomic_path

KINDS = ("binary", "regression")
COLUMNS = ["task", "kind", "n", "positives", "negatives", "auroc", "auprc", "pearson", "spearman", "note"]
SUMMARY_COLUMNS = ["model", "tasks", "evaluated", "na", "median_auroc", "mean_auroc", "median_auprc", "mean_auprc",
                   "median_pearson", "mean_pearson", "median_spearman", "mean_spearman"]  # fmt: skip


def resolve_kinds(tasks: list[str], kinds=None) -> list[str]:
    """One kind per task from None (all binary), a string, a sequence or a {task: kind} map."""
    if kinds is None:
        out = ["binary"] * len(tasks)
    elif isinstance(kinds, str):
        out = [kinds] * len(tasks)
    elif isinstance(kinds, Mapping):
        unknown = sorted(set(kinds) - set(tasks))
        if unknown:
            raise ValueError(f"kinds given for unknown tasks: {', '.join(map(str, unknown))}")
        out = [kinds.get(t, "binary") for t in tasks]
    else:
        out = list(kinds)
        if len(out) != len(tasks):
            raise ValueError(f"{len(out)} kinds for {len(tasks)} tasks")
    bad = sorted({k for k in out if k not in KINDS})
    if bad:
        raise ValueError(f"unknown task kind(s) {', '.join(map(repr, bad))}; expected one of {', '.join(KINDS)}")
    return out


def _as_2d(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} must be (windows, tasks); got shape {a.shape}")
    return a


def _binary_row(y: np.ndarray, p: np.ndarray) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score

    n = len(y)
    positives = int(np.count_nonzero(y == 1))
    row = {"n": n, "positives": positives, "negatives": n - positives}
    if n == 0:
        return row | {"note": "no labelled windows (all labels missing)"}
    if positives == 0:
        return row | {"note": f"no positives among {n} labelled windows"}
    if positives == n:
        return row | {"note": f"no negatives among {n} labelled windows"}
    bad = int(np.count_nonzero(~np.isfinite(p)))
    if bad:
        return row | {"note": f"{bad} non-finite predictions"}
    return row | {"auroc": float(roc_auc_score(y, p)), "auprc": float(average_precision_score(y, p))}


def _rank(a: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(a, method="average")


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    return float(np.clip((a @ b) / np.sqrt((a @ a) * (b @ b)), -1.0, 1.0))


def _regression_row(y: np.ndarray, p: np.ndarray) -> dict:
    n = len(y)
    row = {"n": n}
    if n == 0:
        return row | {"note": "no labelled windows (all labels missing)"}
    bad = int(np.count_nonzero(~np.isfinite(p)))
    if bad:
        return row | {"note": f"{bad} non-finite predictions"}
    if n < 2:
        return row | {"note": "fewer than 2 labelled windows"}
    if np.ptp(y) == 0:
        return row | {"note": "constant targets"}
    if np.ptp(p) == 0:
        return row | {"note": "constant predictions"}
    return row | {"pearson": _pearson(y, p), "spearman": _pearson(_rank(y), _rank(p))}


def task_metrics(y_true, y_pred, tasks, kinds=None) -> pd.DataFrame:
    """One row per task: columns `COLUMNS`.

    Labels that are NaN are excluded task by task. Binary tasks (the default) get AUROC and
    AUPRC (average precision) with positive and negative counts; a task without positives,
    without negatives or without any label gets NA and the reason in `note`. Regression tasks
    (`kinds`: "regression" for all, a list, or {task: kind}) get Pearson and Spearman.
    """
    y_true = _as_2d(y_true, "y_true")
    y_pred = _as_2d(y_pred, "y_pred")
    tasks = [str(t) for t in tasks]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    if y_true.shape[1] != len(tasks):
        raise ValueError(f"{len(tasks)} task names for {y_true.shape[1]} columns")
    kinds = resolve_kinds(tasks, kinds)
    rows = []
    for i, (task, kind) in enumerate(zip(tasks, kinds)):
        observed = ~np.isnan(y_true[:, i])
        y, p = y_true[observed, i].astype(np.float64), y_pred[observed, i].astype(np.float64)
        if kind == "binary":
            other = np.unique(y[(y != 0) & (y != 1)])
            if other.size:
                raise ValueError(f"task {task!r}: labels other than 0 and 1 ({', '.join(f'{v:g}' for v in other[:5])}); "
                                 "evaluate continuous targets with kind 'regression'")  # fmt: skip
            row = _binary_row(y, p)
        else:
            row = _regression_row(y, p)
        rows.append({"task": task, "kind": kind} | row)
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in ("n", "positives", "negatives"):
        df[col] = df[col].astype("Int64")
    for col in ("auroc", "auprc", "pearson", "spearman"):
        df[col] = df[col].astype(np.float64)
    note = df["note"].astype(object)
    df["note"] = note.where(note.notna(), "").astype(str)
    return df


def metrics_from_predictions(path, kinds=None, task_block: int = 64) -> pd.DataFrame:
    """`task_metrics` of a predictions file (see deepcis.predict), reading `task_block`
    tasks' columns at a time (memory: windows x task_block x 8 bytes, not the whole file)."""
    from .predict import open_predictions

    with open_predictions(path) as f:
        tasks = [t.decode() if isinstance(t, bytes) else str(t) for t in f["tasks"][()]]
        kinds = resolve_kinds(tasks, kinds)
        parts = []
        for lo in range(0, len(tasks), task_block):
            hi = min(len(tasks), lo + task_block)
            parts.append(task_metrics(f["y_true"][:, lo:hi], f["y_pred"][:, lo:hi], tasks[lo:hi], kinds[lo:hi]))
    return pd.concat(parts, ignore_index=True) if parts else _frame([])


def head_metrics(path, head: str, kinds) -> pd.DataFrame:
    """`metrics_from_predictions` of a model's predictions file: every task a regression task
    under a regression head (train.head linear/softplus), else `kinds` ({task: kind} of the
    tasks sheet: signal tasks are regression tasks; a task it lacks is binary)."""
    from .dataset import dataset_tasks
    from .predict import open_predictions

    if head != "sigmoid":
        return metrics_from_predictions(path, kinds="regression")
    if isinstance(kinds, dict):
        with open_predictions(path) as f:
            kinds = [kinds.get(t, "binary") for t in dataset_tasks(f)]
    return metrics_from_predictions(path, kinds=kinds)


def summarise(metrics_by_model: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per model: tasks, tasks evaluated (a metric defined), NA tasks, and the median
    and mean of AUROC, AUPRC, Pearson and Spearman over the tasks where defined."""
    rows = []
    for model, df in metrics_by_model.items():
        metric_cols = df[["auroc", "auprc", "pearson", "spearman"]].astype(np.float64)
        evaluated = int(metric_cols.notna().any(axis=1).sum())
        row = {"model": str(model), "tasks": len(df), "evaluated": evaluated, "na": len(df) - evaluated}
        for col in ("auroc", "auprc", "pearson", "spearman"):
            values = metric_cols[col].dropna()
            row[f"median_{col}"] = float(values.median()) if len(values) else np.nan
            row[f"mean_{col}"] = float(values.mean()) if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def write_tsv(df: pd.DataFrame, path):
    """A metrics or summary table as TSV (missing values written `NA`), atomically."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")


def read_metrics(path) -> pd.DataFrame:
    """A metrics TSV written by `write_tsv(task_metrics(...))`, typed as `task_metrics` returns it."""
    df = pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False, dtype={"task": str, "note": str})
    return _frame(df.to_dict("records"))


# --------------------------------------------------------------------------------------
# Curve points (for plots)
# --------------------------------------------------------------------------------------


def _clean(y_true, y_score):
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_score = np.asarray(y_score, dtype=np.float64).ravel()
    keep = ~np.isnan(y_true) & np.isfinite(y_score)
    y, s = y_true[keep], y_score[keep]
    if y.size == 0 or np.all(y == y[0]):
        return None
    return y, s


def roc_points(y_true, y_score):
    """(fpr, tpr) of the ROC curve, NaN labels excluded; None when the curve is undefined
    (no positives or no negatives)."""
    from sklearn.metrics import roc_curve

    clean = _clean(y_true, y_score)
    if clean is None:
        return None
    fpr, tpr, _ = roc_curve(*clean, drop_intermediate=True)
    return fpr, tpr


def pr_points(y_true, y_score):
    """(recall, precision) of the precision-recall curve, NaN labels excluded; None when
    undefined. Recall decreases along the arrays (sklearn's order)."""
    from sklearn.metrics import precision_recall_curve

    clean = _clean(y_true, y_score)
    if clean is None:
        return None
    precision, recall, _ = precision_recall_curve(*clean, drop_intermediate=True)
    return recall, precision


def thin_curve(x: np.ndarray, y: np.ndarray, max_points: int = 2000):
    """At most `max_points` points of a curve (evenly spaced indices, ends kept), for plotting."""
    if len(x) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[idx], y[idx]
