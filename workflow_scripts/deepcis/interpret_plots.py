"""Figures of the interpretation stage: ISM heatmaps + logos, attribution logos, filter logos.

Logos are drawn with logomaker. The ISM importance of a position is minus the mean change
over the three other bases, drawn at the window's base (tall = mutating it lowers the
prediction); see docs/interpretation.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .figures import plt, save_png

BASES = list("ACGT")


def ism_importance(delta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(L, 4): -mean change over the other bases, placed at the window's base (0 at N)."""
    others = np.maximum((1 - x).sum(axis=1), 1)
    score = -(delta * (1 - x)).sum(axis=1) / others
    return x * score[:, None]


def _focus(scores: np.ndarray, width: int) -> tuple[int, int]:
    """The `width`-bp stretch with the largest summed |score| (the logo's zoom)."""
    L = len(scores)
    width = min(width, L)
    s = np.convolve(np.abs(scores), np.ones(width), mode="valid")
    lo = int(np.argmax(s))
    return lo, lo + width


def _logo(ax, matrix: np.ndarray, lo: int, title: str | None = None):
    import logomaker

    df = pd.DataFrame(matrix, columns=BASES)
    df.index = np.arange(lo, lo + len(df))
    logomaker.Logo(df, ax=ax, color_scheme="classic")
    ax.axhline(0, color="#888888", lw=0.5)
    if title:
        ax.set_title(title, fontsize=9)


def ism_figure(panels: list[dict], path, zoom: int = 40):
    """One heatmap + zoomed logo per panel; a panel: delta (L, 4), x (L, 4), title."""
    n = max(1, len(panels))
    fig, axes = plt.subplots(2 * n, 1, figsize=(11, 3.2 * n), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.3] * n})
    axes = axes[:, 0]
    if not panels:
        axes[0].text(0.5, 0.5, "no windows selected", ha="center", va="center")
        axes[0].axis("off")
        axes[1].axis("off")
    for k, panel in enumerate(panels):
        delta, x = panel["delta"], panel["x"]
        lim = float(np.abs(delta).max()) or 1.0
        heat = axes[2 * k]
        im = heat.imshow(delta.T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        heat.set_yticks(range(4), BASES)
        heat.set_title(panel["title"], fontsize=9)
        fig.colorbar(im, ax=heat, pad=0.01, label="change in prediction")
        importance = ism_importance(delta, x)
        lo, hi = _focus(importance.sum(axis=1), zoom)
        heat.axvspan(lo - 0.5, hi - 0.5, color="k", alpha=0.08)
        _logo(axes[2 * k + 1], importance[lo:hi], lo, f"ISM importance, positions {lo}-{hi - 1}")
        axes[2 * k + 1].set_xlabel("position in window")
    save_png(fig, path, dpi=110)


def attribution_figure(panels: list[dict], path, zoom: int = 40):
    """Per window: logos of every map but saliency, which is a heatmap (all four bases carry a
    gradient, and a logo of 4 x zoom glyphs per map made this figure slow); a panel: maps
    {method: (L, 4)}, title."""
    rows = [(panel["title"], method, amap) for panel in panels for method, amap in panel["maps"].items()]
    fig, axes = plt.subplots(max(1, len(rows)), 1, figsize=(10, 1.7 * max(1, len(rows))), squeeze=False)
    axes = axes[:, 0]
    if not rows:
        axes[0].text(0.5, 0.5, "no windows selected", ha="center", va="center")
        axes[0].axis("off")
    focus = {}
    for ax, (title, method, amap) in zip(axes, rows):
        if title not in focus:  # one zoom per window, chosen on its first map
            focus[title] = _focus(np.abs(amap).sum(axis=1), zoom)
        lo, hi = focus[title]
        label = f"{title}: {method.replace('_', ' ')}"
        if method == "saliency":
            lim = float(np.abs(amap[lo:hi]).max()) or 1.0
            im = ax.imshow(amap[lo:hi].T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                           extent=(lo - 0.5, hi - 0.5, 3.5, -0.5), interpolation="nearest")
            ax.set_yticks(range(4), BASES)
            ax.set_title(label, fontsize=9)
            fig.colorbar(im, ax=ax, pad=0.01)
        else:
            _logo(ax, amap[lo:hi], lo, label)
    save_png(fig, path, dpi=110)


def filter_logo_figure(pfms: list[np.ndarray], titles: list[str], path, columns: int = 3):
    """Information-content logos of filter PFMs (L, 4) counts, one per title."""
    import logomaker

    n = max(1, len(pfms))
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(4 * columns, 1.7 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not pfms:
        axes[0, 0].text(0.5, 0.5, "no filter matched the database", ha="center", va="center")
    for ax, counts, title in zip(axes.ravel(), pfms, titles):
        ax.axis("on")
        df = pd.DataFrame(np.asarray(counts, float) + 0.5, columns=BASES)
        ic = logomaker.transform_matrix(df, from_type="counts", to_type="information")
        logomaker.Logo(ic, ax=ax, color_scheme="classic")
        ax.set_ylim(0, 2)
        ax.set_title(title, fontsize=8)
        ax.set_xticks([])
    save_png(fig, path, dpi=110)


def contribution_figure(panels: list[dict], path, zoom: int = 60):
    """Per panel (one window per task): the actual contributions (L, 4) of the `zoom` bp with the
    largest summed |contribution| as a logo, above the per-position sum over the whole window."""
    n = max(1, len(panels))
    fig, axes = plt.subplots(2 * n, 1, figsize=(11, 3.0 * n), squeeze=False, gridspec_kw={"height_ratios": [1.3, 0.7] * n})
    axes = axes[:, 0]
    if not panels:
        for ax in axes:
            ax.axis("off")
        axes[0].text(0.5, 0.5, "no positive windows", ha="center", va="center")
    for k, panel in enumerate(panels):
        amap = np.asarray(panel["contributions"], float)
        per_position = amap.sum(axis=1)
        lo, hi = _focus(per_position, zoom)
        _logo(axes[2 * k], amap[lo:hi], lo, panel["title"])
        track = axes[2 * k + 1]
        track.fill_between(np.arange(len(per_position)), per_position, step="mid", color="#444444", lw=0)
        track.axvspan(lo - 0.5, hi - 0.5, color="tab:orange", alpha=0.2)
        track.set_xlim(-0.5, len(per_position) - 0.5)
        track.set_ylabel("sum", fontsize=8)
        track.set_xlabel("position in window")
    save_png(fig, path, dpi=110)


def pattern_figure(panels: list[dict], path, columns: int = 2):
    """Contribution-weight-matrix logos of MoDISco patterns; a panel: cwm (W, 4), title."""
    n = max(1, len(panels))
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 1.9 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    if not panels:
        axes[0, 0].text(0.5, 0.5, "no MoDISco pattern", ha="center", va="center")
    for ax, panel in zip(axes.ravel(), panels):
        ax.axis("on")
        _logo(ax, np.asarray(panel["cwm"], float), 0)
        ax.set_title(panel["title"], fontsize=8)
        ax.set_xticks([])
    save_png(fig, path, dpi=110)
