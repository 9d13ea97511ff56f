"""Figures of the evaluation stage (matplotlib, Agg backend), written atomically.

- `curves_figure`: ROC or precision-recall curves as small multiples, one panel per task
  (a regression task gets a predicted-vs-observed scatter), one line per model; at most
  `max_panels` panels, the last of which summarises the remaining tasks (histogram of their
  AUROC / AUPRC per model) when there are more tasks than panels.
- `comparison_figure`: per-task AUROC and AUPRC of two models against each other
  (scatter, diagonal), or box plots per model for one or more than two models.
- `versus_baseline_figure`: per-task AUROC and AUPRC of every model against the baseline, one
  row of panels per evaluation (e.g. test windows, test scanning).
- `summary_table`: a summary (deepcis.metrics.summarise) rendered as a table image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .figures import plt, save_png
from .metrics import pr_points, resolve_kinds, roc_points, task_metrics, thin_curve

COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]
MAX_PANELS = 25


def _as_predictions(predictions) -> dict:
    """{model name: Predictions}; a single Predictions or path is named by its file."""
    from .predict import Predictions, read_predictions

    if isinstance(predictions, Mapping):
        items = predictions.items()
    else:
        items = [(getattr(predictions, "attrs", {}).get("model", "") or "model", predictions)]
    out = {}
    for name, p in items:
        out[str(name)] = p if isinstance(p, Predictions) else read_predictions(p)
    return out


def _grid(n: int) -> tuple[int, int]:
    cols = min(5, max(1, math.ceil(math.sqrt(n))))
    return math.ceil(n / cols), cols


def curves_figure(predictions, path, kind: str = "roc", max_panels: int = MAX_PANELS, kinds=None,
                  title: str | None = None):  # fmt: skip
    """ROC (`kind="roc"`) or precision-recall (`kind="pr"`) curves, one panel per task, one
    line per model. `predictions`: {model name: Predictions or predictions-file path}, or one
    of them. Tasks: every model's, in first-seen order; a panel shows the models that predict
    its task (a model trained on a task subset, a transferred model, is left out elsewhere)."""
    if kind not in ("roc", "pr"):
        raise ValueError(f"kind must be 'roc' or 'pr'; got {kind!r}")
    if max_panels < 2:
        raise ValueError("max_panels must be at least 2")
    preds = _as_predictions(predictions)
    models = list(preds)
    tasks = list(dict.fromkeys(t for name in models for t in preds[name].tasks))
    if isinstance(kinds, Mapping):  # e.g. every task of the tasks sheet: keep the plotted ones
        kinds = {t: k for t, k in kinds.items() if t in tasks}
    task_kinds = dict(zip(tasks, resolve_kinds(tasks, kinds)))
    columns = {name: {t: i for i, t in enumerate(preds[name].tasks)} for name in models}
    metric = "auroc" if kind == "roc" else "auprc"
    shown = tasks if len(tasks) <= max_panels else tasks[: max_panels - 1]
    rest = tasks[len(shown) :]
    rows, cols = _grid(len(shown) + (1 if rest else 0))
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 2.6 * rows), squeeze=False)
    colour = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(models)}
    for ax, task in zip(axes.flat, shown):
        undefined = []
        for name in models:
            p = preds[name]
            if task not in columns[name]:
                continue
            j = columns[name][task]
            y, s = p.y_true[:, j], p.y_pred[:, j]
            if task_kinds[task] == "regression":
                _scatter_panel(ax, y, s, colour[name], name)
            elif not _curve_panel(ax, y, s, kind, colour[name], name):
                undefined.append(name)
        if undefined:
            which = "" if len(undefined) == len(models) else f"\n({', '.join(undefined)})"
            ax.text(0.5, 0.5, f"NA: one class only{which}", ha="center", va="center", fontsize=8, color="#888888",
                    transform=ax.transAxes)  # fmt: skip
        ax.set_title(task, fontsize=9)
        if task_kinds[task] != "regression":
            if kind == "roc":
                ax.plot([0, 1], [0, 1], color="#bbbbbb", lw=0.8, ls="--")
            ax.set_xlim(0, 1)
            ax.set_ylim(0, 1.02)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, frameon=False, loc="lower right" if kind == "roc" else "lower left")
        ax.tick_params(labelsize=7)
    if rest:
        ax = axes.flat[len(shown)]
        for name in models:
            p = preds[name]
            mine = [t for t in rest if t in columns[name]]
            if not mine:
                continue
            idx = [columns[name][t] for t in mine]
            m = task_metrics(p.y_true[:, idx], p.y_pred[:, idx], mine, [task_kinds[t] for t in mine])
            values = m[metric].dropna()
            label = f"{name}: median {values.median():.3f}" if len(values) else f"{name}: all NA"
            ax.hist(values, bins=np.linspace(0, 1, 21), alpha=0.5, color=colour[name], label=label)
        ax.set_title(f"{len(rest)} more tasks", fontsize=9)
        ax.set_xlabel(metric.upper(), fontsize=8)
        ax.set_ylabel("tasks", fontsize=8)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, frameon=False)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(shown) + (1 if rest else 0) :]:
        ax.set_visible(False)
    xlabel, ylabel = ("false positive rate", "true positive rate") if kind == "roc" else ("recall", "precision")
    fig.supxlabel(xlabel, fontsize=9)
    fig.supylabel(ylabel, fontsize=9)
    fig.suptitle(title or f"{'ROC' if kind == 'roc' else 'Precision-recall'} curves: {', '.join(models)}", fontsize=10)
    save_png(fig, path)


def _curve_panel(ax, y, s, kind, colour, name):
    from sklearn.metrics import average_precision_score, roc_auc_score

    points = roc_points(y, s) if kind == "roc" else pr_points(y, s)
    if points is None:
        return False
    keep = ~np.isnan(y) & np.isfinite(s)
    if kind == "roc":
        value = roc_auc_score(y[keep], s[keep])
    else:
        value = average_precision_score(y[keep], s[keep])
        ax.axhline(np.mean(y[keep]), color=colour, lw=0.6, ls=":")  # a random ranking's precision
    x, yy = thin_curve(*points)
    ax.plot(x, yy, color=colour, lw=1.2, label=f"{name} {value:.3f}")
    return True


def _scatter_panel(ax, y, s, colour, name, max_points: int = 5000):
    keep = np.flatnonzero(~np.isnan(y) & np.isfinite(s))
    if len(keep) > max_points:
        keep = np.random.default_rng(0).choice(keep, max_points, replace=False)
    ax.scatter(y[keep], s[keep], s=3, alpha=0.4, color=colour, label=name, rasterized=True)
    ax.set_xlabel("observed", fontsize=7)
    ax.set_ylabel("predicted", fontsize=7)


def comparison_figure(metrics_by_model: Mapping[str, pd.DataFrame], path, title: str | None = None):
    """Two models: per-task AUROC and AUPRC of one against the other (scatter with the
    diagonal, tasks above and below counted). One or more than two: box plots per model."""
    models = list(metrics_by_model)
    if not models:
        raise ValueError("no models to compare")
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6) if len(models) == 2 else (max(7, 1.6 * len(models) + 4), 4.6))
    for ax, metric in zip(axes, ("auroc", "auprc")):
        if len(models) == 2:
            a, b = (metrics_by_model[m].set_index("task")[metric].astype(float) for m in models)
            both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
            ax.scatter(both["a"], both["b"], s=14, alpha=0.7, color=COLOURS[0])
            lo = min(0.0 if metric == "auprc" else 0.4, float(both.min().min()) if len(both) else 0.0)
            ax.plot([lo, 1], [lo, 1], color="#888888", lw=0.8, ls="--")
            ax.set_xlim(lo, 1.01)
            ax.set_ylim(lo, 1.01)
            ax.set_xlabel(f"{models[0]} {metric.upper()}")
            ax.set_ylabel(f"{models[1]} {metric.upper()}")
            above, below = int((both["b"] > both["a"]).sum()), int((both["b"] < both["a"]).sum())
            ax.set_title(f"{metric.upper()} per task ({len(both)} tasks): {models[1]} higher in {above}, "
                         f"lower in {below}", fontsize=9)  # fmt: skip
            ax.set_aspect("equal")
        else:
            data = [metrics_by_model[m][metric].astype(float).dropna().to_numpy() for m in models]
            ax.boxplot([d if len(d) else [np.nan] for d in data], showfliers=False)
            ax.set_xticks(range(1, len(models) + 1), models, rotation=30 if len(models) > 3 else 0,
                          ha="right" if len(models) > 3 else "center")  # fmt: skip
            rng = np.random.default_rng(0)
            for i, d in enumerate(data, start=1):
                ax.scatter(i + rng.uniform(-0.15, 0.15, len(d)), d, s=8, alpha=0.5, color=COLOURS[(i - 1) % len(COLOURS)])
            ax.set_ylabel(f"{metric.upper()} per task")
            ax.set_title(f"{metric.upper()} per task", fontsize=9)
    fig.suptitle(title or "Model comparison", fontsize=10)
    save_png(fig, path)


def versus_baseline_figure(tables: Mapping[str, Mapping[str, pd.DataFrame]], baseline: str, path,
                           highlight: str = "CTCF"):  # fmt: skip
    """Per-task scatter of each model (one row of panels per model) against `baseline` (x axis):
    AUROC and AUPRC (log scale) of each evaluation (columns). `tables`: {evaluation name:
    {model: metrics}}, each holding the baseline's metrics too. Tasks whose name contains
    `highlight` are marked; each panel gives both medians and the tasks above / below the diagonal."""
    evaluations = list(tables)
    models = [m for m in next(iter(tables.values())) if m != baseline] if evaluations else []
    if not evaluations or not models:
        raise ValueError("versus_baseline_figure needs at least one evaluation and one model besides the baseline")
    columns = [(e, metric) for e in evaluations for metric in ("auroc", "auprc")]
    fig, axes = plt.subplots(len(models), len(columns), figsize=(3.4 * len(columns), 3.4 * len(models) + 0.4),
                             squeeze=False)  # fmt: skip
    for r, model in enumerate(models):
        for c, (evaluation, metric) in enumerate(columns):
            ax = axes[r, c]
            base = tables[evaluation][baseline].set_index("task")[metric].astype(float).rename("base")
            mine = tables[evaluation][model].set_index("task")[metric].astype(float).rename("model")
            both = pd.concat([base, mine], axis=1, join="inner").dropna()
            mark = both.index.str.contains(highlight) if highlight else np.zeros(len(both), bool)
            ax.scatter(both["base"][~mark], both["model"][~mark], s=14, alpha=0.7, color=COLOURS[0], label="task")
            if mark.any():
                ax.scatter(both["base"][mark], both["model"][mark], s=22, color=COLOURS[3], marker="D", label=highlight)
            if metric == "auprc":
                lo = max(1e-4, float(both.min().min()) / 1.5) if len(both) else 1e-3
                ax.set_xscale("log")
                ax.set_yscale("log")
            else:
                lo = min(0.5, float(both.min().min()) - 0.02) if len(both) else 0.5
            ax.plot([lo, 1], [lo, 1], color="#888888", lw=0.8, ls="--")
            ax.set_xlim(lo, 1.02)
            ax.set_ylim(lo, 1.02)
            above, below = int((both["model"] > both["base"]).sum()), int((both["model"] < both["base"]).sum())
            ax.set_title(f"{evaluation}, {metric.upper()}\nmedian {both['model'].median():.3f} vs "
                         f"{both['base'].median():.3f}; above {above}, below {below}", fontsize=8)  # fmt: skip
            ax.set_xlabel(f"{baseline}", fontsize=8)
            ax.set_ylabel(f"{model}", fontsize=8)
            ax.tick_params(labelsize=7)
            if r == 0 and c == 0 and mark.any():
                ax.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Per task: each model against {baseline}", fontsize=10)
    fig.tight_layout()
    save_png(fig, path)


def summary_table(summary: pd.DataFrame, path, title: str | None = None, digits: int = 3):
    """A summary table (one row per model) as a PNG image; floats rounded to `digits`."""
    shown = summary.copy()
    shown = shown.loc[:, [c for c in shown.columns if not shown[c].isna().all()]]  # drop all-NA metric columns
    cells = [[_format(v, digits) for v in row] for row in shown.itertuples(index=False)]
    labels = [c.replace("_", " ") for c in shown.columns]
    width = max(6.0, 1.1 * len(labels))
    fig, ax = plt.subplots(figsize=(width, 0.9 + 0.32 * (len(cells) + 1)))
    ax.axis("off")
    table = ax.table(cellText=cells or [[""] * len(labels)], colLabels=labels, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1, 1.3)
    for (r, _), cell in table.get_celld().items():
        if r == 0:
            cell.set_facecolor("#e8e8e8")
            cell.set_text_props(weight="bold")
    if title:
        ax.set_title(title, fontsize=10)
    save_png(fig, path, dpi=150)


def _format(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "NA"
    if isinstance(value, (float, np.floating)):
        return f"{value:.{digits}f}"
    return str(value)
