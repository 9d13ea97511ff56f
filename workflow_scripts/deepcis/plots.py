"""Figures of the data stages (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import plt, save_png
from .splits import SPLITS

SPLIT_COLOURS = {"train": "#4c72b0", "valid": "#dd8452", "test": "#55a868"}


def class_balance(stats: pd.DataFrame, tasks: list[str], path):
    """Windows per split (positive/negative) and per-task positive fraction per split."""
    windows = stats[stats["section"] == "windows"].pivot(index="split", columns="item", values="value")
    splits = [s for s in SPLITS if s in windows.index]
    positives = stats[stats["section"] == "positives"].pivot(index="item", columns="split", values="value")
    fig, (ax_w, ax_t) = plt.subplots(
        1, 2, figsize=(4 + 0.35 * len(tasks) * len(splits) / 3 + 3, 4), gridspec_kw={"width_ratios": [1, 2.5]}
    )
    pos = [windows.loc[s, "positive"] for s in splits]
    neg = [windows.loc[s, "negative"] for s in splits]
    ax_w.bar(splits, pos, color="#c44e52", label="positive")
    ax_w.bar(splits, neg, bottom=pos, color="#8c8c8c", label="negative")
    ax_w.set_ylabel("windows")
    ax_w.set_title("Windows per split")
    ax_w.legend(frameon=False)
    x = np.arange(len(tasks))
    width = 0.8 / len(splits)
    for i, s in enumerate(splits):
        total = max(windows.loc[s, "all"], 1)
        ax_t.bar(x + i * width - 0.4 + width / 2, positives.loc[tasks, s] / total, width, label=s, color=SPLIT_COLOURS[s])
    ax_t.set_xticks(x, tasks, rotation=60 if len(tasks) > 6 else 0, ha="right" if len(tasks) > 6 else "center")
    ax_t.set_ylabel("fraction of windows positive")
    ax_t.set_title("Positives per task")
    ax_t.legend(frameon=False)
    save_png(fig, path)


def training_curves(history_tsv, model_name: str, path):
    """Loss and validation loss per epoch, learning rate on a second axis, best epoch marked."""
    history = pd.read_csv(history_tsv, sep="\t")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["epoch"], history["loss"], "o-", label="training loss", color="#4c72b0")
    ax.plot(history["epoch"], history["val_loss"], "o-", label="validation loss", color="#dd8452")
    best = history.loc[history["val_loss"].idxmin()]
    ax.axvline(best["epoch"], color="#8c8c8c", ls="--", lw=1)
    ax.annotate(f"best: epoch {int(best['epoch'])}", (best["epoch"], best["val_loss"]), textcoords="offset points",
                xytext=(5, 10), fontsize=8)  # fmt: skip
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{model_name}: training curves")
    lr_ax = ax.twinx()
    lr_ax.step(history["epoch"], history["learning_rate"], where="mid", color="#55a868", alpha=0.6, label="learning rate")
    lr_ax.set_yscale("log")
    lr_ax.set_ylabel("learning rate")
    lines = ax.get_legend_handles_labels()
    lr_lines = lr_ax.get_legend_handles_labels()
    ax.legend(lines[0] + lr_lines[0], lines[1] + lr_lines[1], frameon=False, fontsize=8)
    save_png(fig, path)
