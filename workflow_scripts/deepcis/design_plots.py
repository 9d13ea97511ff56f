"""Figures of sequence design (trajectories, implantation spacing) and of genome tracks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import plt, save_png


def trajectory_figure(trajectory: pd.DataFrame, edits: pd.DataFrame, task: str, path, check: pd.DataFrame | None = None):
    """Left: the objective of each designed sequence per round. Right: where the edits fell
    (position in the window vs round), one colour per sequence."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1, 1.2]})
    for n, group in trajectory.groupby("sequence"):
        left.plot(group["round"], group["objective"], marker="o", ms=3, lw=1, label=f"design {n}")
    left.set_xlabel("round")
    left.set_ylabel(f"objective ({task})")
    left.set_title(f"In-silico evolution towards {task}", fontsize=9)
    if trajectory["sequence"].nunique() <= 10:
        left.legend(fontsize=7)
    if len(edits):
        sc = right.scatter(edits["position"], edits["round"], c=edits["sequence"], cmap="tab10", s=14)
        del sc
    right.set_xlabel("position in window")
    right.set_ylabel("round of the edit")
    title = "edited positions"
    if check is not None:
        others = [c for c in check.columns if c.startswith("designed_") and c.count("_") >= 2 and not c.startswith("designed_motif")]
        for col in others:
            before = check[col.replace("designed_", "seed_", 1)].mean()
            title += f"\n{col[len('designed_'):]}: {before:.3f} -> {check[col].mean():.3f}"
        if "designed_motif_match" in check:
            title += f"\nmotif match: {int(check['seed_motif_match'].sum())} -> {int(check['designed_motif_match'].sum())} of {len(check)}"
    right.set_title(title, fontsize=8)
    save_png(fig, path, dpi=110)


def spacing_figure(table: pd.DataFrame, tasks: list[str], names: dict, path):
    """Predicted effect of the motif pair against spacing (one line per orientation), with the
    effects of each motif alone (dotted) and their sum (dashed), one panel per task."""
    n = max(1, len(tasks))
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        rows = table[table["task"] == task]
        singles = rows[rows["construct"] != "A+B"].groupby("construct")["effect_mean"].mean()
        pair = rows[rows["construct"] == "A+B"]
        for orientation, group in pair.groupby("orientation"):
            ax.errorbar(group["spacing"], group["effect_mean"], yerr=group["effect_sd"] / np.sqrt(group["backgrounds"]),
                        marker="o", ms=3, lw=1, capsize=2, label=f"A+B {orientation}")  # fmt: skip
        styles = {"A": ":", "B": "-."}
        for construct, value in singles.items():
            ax.axhline(value, color="grey", ls=styles.get(construct, ":"), lw=1, label=f"{names.get(construct, construct)} alone")
        if len(singles) == 2:
            ax.axhline(singles.sum(), color="k", ls="--", lw=0.8, label="A alone + B alone")
        ax.axhline(0, color="#bbbbbb", lw=0.5)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("spacing between motif centres (bp)")
        ax.set_ylabel("predicted effect")
    axes[0][0].legend(fontsize=6)
    save_png(fig, path, dpi=110)


def tracks_figure(values: dict[str, np.ndarray], chrom: str, start: int, path, peaks: dict | None = None):
    """Predicted tracks over one stretch [start, start + len), one row per track; a task's
    peaks {task: [(start, end), ...]} are drawn as red bars under its track."""
    n = max(1, len(values))
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.3 * n + 0.6), squeeze=False, sharex=True)
    for ax, (name, v) in zip(axes[:, 0], values.items()):
        x = start + np.arange(len(v))
        ax.fill_between(x, np.nan_to_num(v), step="mid", color="#3465a4", lw=0)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
        low = min(0.0, float(np.nanmin(v))) if np.isfinite(v).any() else 0.0
        for lo, hi in (peaks or {}).get(name, []):
            ax.plot([lo, hi], [low, low], color="tab:red", lw=3, solid_capstyle="butt")
    axes[-1, 0].set_xlabel(f"{chrom} position (bp); red: the task's peaks")
    save_png(fig, path, dpi=110)
