"""Figure plumbing shared by the plotting modules: matplotlib's Agg backend (no display
needed, selected once here) and atomic PNG saving.

Import `plt` from here rather than `matplotlib.pyplot`, so the backend is set before pyplot
loads whichever module draws first.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .io_utils import atomic_path  # noqa: E402

__all__ = ["plt", "save_png"]


def save_png(fig, path, dpi: int = 120) -> None:
    """Lay out `fig`, write it as a PNG at `path` atomically, and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The finished figure.
    path : str or os.PathLike
        Target file; written to a temp file beside it and renamed into place, so a failed
        job leaves no partial PNG.
    dpi : int
        Resolution (dots per inch).
    """
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
