"""The report's view of cross-validation: the spread plot and the HTML tables (per fold, mean
± sd, and the fold assignment)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import plt, save_png
from .io_utils import atomic_path
from .report_tables import _fmt, document, html_table


def _scores(per_fold: pd.DataFrame) -> list[str]:
    """The metrics defined somewhere in the table (AUROC/AUPRC, Pearson/Spearman)."""
    return [m for m in ("auroc", "auprc", "pearson", "spearman") if per_fold[m].notna().any()]


def spread_figure(per_fold: pd.DataFrame, path) -> None:
    """One panel per metric: each model's per-task values across folds (dots), its mean (bar)."""
    scores = _scores(per_fold) or ["auroc"]
    models = list(pd.unique(per_fold["model"]))
    tasks = list(pd.unique(per_fold["task"]))
    # about 0.35 in per bar, at most 40 in wide (47 tasks x 3 models of the chrX comparison: 40 in)
    bars = len(tasks) * max(1, len(models))
    fig, axes = plt.subplots(len(scores), 1, figsize=(min(40, max(5, 1.5 + 0.35 * bars)), 2.8 * len(scores)),
                             squeeze=False)  # fmt: skip
    width = 0.8 / max(1, len(models))
    for ax, score in zip(axes[:, 0], scores):
        for i, model in enumerate(models):
            mine = per_fold[per_fold["model"] == model]
            for j, task in enumerate(tasks):
                values = mine.loc[mine["task"] == task, score].astype(np.float64).dropna().to_numpy()
                x = j - 0.4 + width * (i + 0.5)
                if len(values):
                    ax.bar(x, values.mean(), width * 0.9, color=f"C{i}", alpha=0.35, label=model if j == 0 else None)
                    ax.scatter(np.full(len(values), x), values, s=12, color=f"C{i}", zorder=3)
        ax.set_xticks(range(len(tasks)), tasks, rotation=30 if len(tasks) <= 12 else 90, ha="right" if len(tasks) <= 12 else "center")
        ax.set_xlim(-0.6, len(tasks) - 0.4)
        ax.set_ylabel(f"test {score.upper()}")
        if score == "auroc":
            ax.set_ylim(0, 1.02)
        elif score == "auprc":  # often far below 1 (rare positives): up to the largest value
            top = per_fold[score].astype(np.float64).max()
            ax.set_ylim(0, min(1.02, 1.15 * top) if np.isfinite(top) and top > 0 else 1.02)
        ax.legend(fontsize=7, loc="lower right")
    axes[0, 0].set_title("Cross-validation: each fold's test metric (dots) and their mean (bars)")
    save_png(fig, path)


def cv_html(per_fold: pd.DataFrame, spread: pd.DataFrame, folds: dict) -> str:
    """The body of the cross-validation page: mean ± sd per model and task, the per-fold
    values, and the fold assignment (provenance)."""
    scores = _scores(per_fold) or ["auroc"]
    body = []
    rows = [[_fmt(r["model"]), _fmt(r["task"]), str(r["folds"])]
            + [f"{_fmt(r[f'{s}_mean'])} ± {_fmt(r[f'{s}_sd'])}" for s in scores]
            for _, r in spread.iterrows()]  # fmt: skip
    body.append(html_table(["model", "task", "folds", *[f"{s.upper()} mean ± sd" for s in scores]], rows,
                           caption="Test metrics across folds (sd with ddof 1; 'overall' is the mean over tasks)"))  # fmt: skip
    rows = [[_fmt(r["model"]), _fmt(r["fold"]), _fmt(r["task"])] + [_fmt(r[s]) for s in scores] for _, r in per_fold.iterrows()]
    body.append(html_table(["model", "fold", "task", *[s.upper() for s in scores]], rows, caption="Per fold"))
    rows = [[_fmt(f["fold"]), str(f["windows"]), _fmt(", ".join(f["chromosomes"][:12]) + (" ..." if len(f["chromosomes"]) > 12 else ""))]
            + [str(f["parts"][p]) for p in ("train", "valid", "test")] for f in folds["folds"]]  # fmt: skip
    cv = folds["cv"]
    body.append(html_table(["fold", "windows", "chromosomes", "train", "valid", "test"], rows,
                           caption=f"Fold assignment: {cv['folds']} folds by {cv['by']}"
                                   f"{', test split held out' if cv['holdout'] else ''}; results/cv/folds.tsv "
                                   f"sha256 {folds['assignment_sha256'][:16]}…"))  # fmt: skip
    return "\n".join(body)


def write_cv_html(per_fold: pd.DataFrame, spread: pd.DataFrame, folds: dict, path) -> None:
    """The cross-validation page of the report, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(document("Cross-validation", cv_html(per_fold, spread, folds)))
