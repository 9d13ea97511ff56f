"""Figures of the generative models: GAN training curves and the generated-vs-real comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import plt, save_png

SET_COLOURS = {"generated": "#c44e52", "real_heldout": "#4c72b0", "real_train": "#8172b2", "uniform": "#8c8c8c",
               "dinucleotide_shuffled": "#dd8452"}  # fmt: skip


def gan_curves(history_tsv, model_name: str, path):
    """Critic and generator losses per epoch, and the Wasserstein estimate on training batches
    and on validation windows (which falls as the generated windows come closer to real ones)."""
    history = pd.read_csv(history_tsv, sep="\t")
    fig, (ax_w, ax_l) = plt.subplots(1, 2, figsize=(9, 3.6))
    ax_w.plot(history["epoch"], history["wasserstein"], "o-", ms=3, label="training batches", color="#4c72b0")
    ax_w.plot(history["epoch"], history["valid_wasserstein"], "o-", ms=3, label="validation windows", color="#dd8452")
    ax_w.set_xlabel("epoch")
    ax_w.set_ylabel("E[D(real)] - E[D(fake)]")
    ax_w.set_title("Wasserstein estimate")
    ax_w.legend(frameon=False, fontsize=8)
    ax_l.plot(history["epoch"], history["critic_loss"], "o-", ms=3, label="critic (with GP)", color="#55a868")
    ax_l.plot(history["epoch"], history["generator_loss"], "o-", ms=3, label="generator", color="#c44e52")
    ax_l.set_xlabel("epoch")
    ax_l.set_ylabel("loss")
    ax_l.set_title("Losses")
    ax_l.legend(frameon=False, fontsize=8)
    fig.suptitle(f"{model_name}: WGAN-GP training", fontsize=10)
    save_png(fig, path)


def comparison_figure(table: pd.DataFrame, gc: dict, path, title: str = ""):
    """Generated vs real vs baselines: GC distributions, k-mer spectrum distances to the held-out
    windows, motif matches per kb and (when scored) mean predicted activity per task."""
    activity = [c for c in table.columns if c.startswith("activity:")]
    panels = 3 + bool(activity) if "motif_matches_per_kb" in table else 2 + bool(activity)
    fig, axes = plt.subplots(1, panels, figsize=(3.8 * panels, 3.6))
    names = list(table["set"])
    colours = [SET_COLOURS.get(n, "#333333") for n in names]
    ax = axes[0]
    bins = np.linspace(0, 1, 41)
    for name in names:
        ax.hist(gc[name], bins=bins, histtype="step", lw=1.4, density=True, color=SET_COLOURS.get(name), label=name)
    ax.set_xlabel("GC fraction")
    ax.set_ylabel("density")
    ax.set_title("GC content")
    ax.legend(frameon=False, fontsize=7)
    ax = axes[1]
    ks = [c for c in table.columns if c.startswith("kmer") and c.endswith("_distance")]
    width = 0.8 / max(1, len(ks))
    for j, col in enumerate(ks):
        ax.bar(np.arange(len(names)) + j * width, table[col], width, color=colours, alpha=1 - 0.35 * j,
               label=col.replace("_distance", "").replace("kmer", "k = "))  # fmt: skip
    ax.set_xticks(np.arange(len(names)) + width * (len(ks) - 1) / 2, names, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("total variation distance")
    ax.set_title("k-mer spectrum vs held-out")
    ax.legend(frameon=False, fontsize=7)
    n = 2
    if "motif_matches_per_kb" in table:
        ax = axes[n]
        ax.bar(names, table["motif_matches_per_kb"], color=colours)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right", fontsize=7)
        ax.set_ylabel("matches per kb (p < 1e-4)")
        ax.set_title("Motif matches")
        n += 1
    if activity:
        ax = axes[n]
        width = 0.8 / len(names)
        for j, name in enumerate(names):
            row = table[table["set"] == name][activity].to_numpy()[0]
            ax.bar(np.arange(len(activity)) + j * width, row, width, color=colours[j], label=name)
        ax.set_xticks(np.arange(len(activity)) + 0.4 - width / 2, [a.split(":", 1)[1] for a in activity], rotation=35,
                      ha="right", fontsize=7)  # fmt: skip
        ax.set_ylabel("mean predicted probability")
        ax.set_title("Predicted activity")
    fig.suptitle(title, fontsize=10)
    save_png(fig, path)
