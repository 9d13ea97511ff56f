"""Figures of the score stage: the strongest predicted variant effects of a model."""

from __future__ import annotations

import numpy as np

from .figures import plt, save_png
from .variants import top_effects


def plot_top_effects(tsv_gz, out_png, n: int = 20):
    """Horizontal bars of diff (alt - ref) for the n strongest variant-task effects.

    Parameters
    ----------
    tsv_gz : str or os.PathLike
        An effects table of `deepcis.variants.score_variants` (``effects.tsv.gz``).
    out_png : str or os.PathLike
        The figure, written atomically; an effects table with no rows still gives a figure
        that says so.
    n : int
        Bars drawn: the ``n`` allele x task rows with the largest ``abs_diff``.
    """
    top = top_effects(tsv_gz, n)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.32 * max(len(top), 1)))
    if len(top):
        labels = [
            f"{r.id if r.id != '.' else ''} {r.chrom}:{r.pos} {_short(r.ref)}>{_short(r.alt)} | {r.task}".strip()
            for r in top.itertuples()
        ][::-1]
        diffs = top["diff"].to_numpy()[::-1]
        colours = np.where(diffs >= 0, "#c44e52", "#4c72b0")
        ax.barh(np.arange(len(top)), diffs, color=colours)
        ax.set_yticks(np.arange(len(top)), labels, fontsize=8)
        ax.axvline(0, color="#444444", lw=0.8)
    else:
        ax.text(0.5, 0.5, "no scored variants", ha="center", va="center", transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("diff = alt_prob - ref_prob")
    ax.set_title(f"Strongest predicted effects (top {len(top)} by |diff|)")
    save_png(fig, out_png)


def _short(allele: str, limit: int = 8) -> str:
    allele = str(allele)
    return allele if len(allele) <= limit else f"{allele[:limit - 3]}..({len(allele)})"
