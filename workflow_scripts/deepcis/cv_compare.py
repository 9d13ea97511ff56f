"""Paired comparison of cross-validated models: on the same folds, the best model (highest mean
of a metric over folds) against each other model, with the per-fold differences, a Wilcoxon
signed-rank test and a sign test (config/architecture_comparison/, docs/cross-validation.md).

Folds are the pairing unit: each model's `overall` row of a fold (the mean over its tasks) is
one observation, so K folds give K paired differences. With K = 5 the smallest two-sided
p-value either test can reach is 2 / 2^5 = 0.0625: five folds can show a consistent direction
(every difference of one sign), not a significant one at 0.05; the table says how many folds
favour the best model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["metric", "best", "other", "folds", "best_mean", "other_mean", "diff_mean", "diff_sd", "diff_min", "diff_max",
           "best_wins", "other_wins", "ties", "wilcoxon_p", "sign_p"]  # fmt: skip


def fold_matrix(per_fold: pd.DataFrame, metric: str, task: str = "overall") -> pd.DataFrame:
    """Folds x models of `metric` on `task` (the per_fold table of deepcis.cv), keeping only
    folds where every model has a value (the pairing needs both)."""
    rows = per_fold[per_fold["task"] == task]
    matrix = rows.pivot_table(index="fold", columns="model", values=metric, aggfunc="first")
    models = list(pd.unique(rows["model"]))
    return matrix.reindex(columns=models).astype(np.float64).dropna()


def paired_tests(diffs: np.ndarray) -> tuple[float, float]:
    """Two-sided (Wilcoxon signed-rank p, sign test p) of paired differences; NaN with no
    nonzero difference. The Wilcoxon test is exact for small samples without ties (scipy)."""
    from scipy.stats import binomtest, wilcoxon

    nonzero = diffs[diffs != 0]
    if len(nonzero) == 0:
        return float("nan"), float("nan")
    wins = int((nonzero > 0).sum())
    sign_p = float(binomtest(wins, len(nonzero), 0.5).pvalue)
    wilcoxon_p = float(wilcoxon(nonzero, zero_method="wilcox", alternative="two-sided").pvalue)
    return wilcoxon_p, sign_p


def best_against_rest(per_fold: pd.DataFrame, metric: str = "auroc", task: str = "overall") -> pd.DataFrame:
    """One row per other model: the best model (highest mean over the shared folds) minus that
    model, fold by fold: mean, sd (ddof 1), min and max of the differences, folds won by each,
    and the two-sided Wilcoxon signed-rank and sign-test p-values."""
    matrix = fold_matrix(per_fold, metric, task)
    if matrix.shape[1] < 2 or len(matrix) == 0:
        return pd.DataFrame(columns=COLUMNS)
    means = matrix.mean()
    best = str(means.idxmax())
    rows = []
    for other in matrix.columns:
        if other == best:
            continue
        diffs = (matrix[best] - matrix[other]).to_numpy()
        wilcoxon_p, sign_p = paired_tests(diffs)
        rows.append({
            "metric": metric, "best": best, "other": str(other), "folds": len(diffs),
            "best_mean": float(means[best]), "other_mean": float(means[other]), "diff_mean": float(diffs.mean()),
            "diff_sd": float(diffs.std(ddof=1)) if len(diffs) > 1 else float("nan"),
            "diff_min": float(diffs.min()), "diff_max": float(diffs.max()),
            "best_wins": int((diffs > 0).sum()), "other_wins": int((diffs < 0).sum()), "ties": int((diffs == 0).sum()),
            "wilcoxon_p": wilcoxon_p, "sign_p": sign_p,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("diff_mean", kind="stable").reset_index(drop=True)


def paired_table(per_fold: pd.DataFrame) -> pd.DataFrame:
    """`best_against_rest` for every metric the per-fold table defines (AUROC, AUPRC; Pearson,
    Spearman for regression)."""
    parts = [best_against_rest(per_fold, m) for m in ("auroc", "auprc", "pearson", "spearman")
             if m in per_fold and per_fold[m].notna().any()]  # fmt: skip
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
