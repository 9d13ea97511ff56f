"""Window filters, applied in order and counted per reason.

1. `off_chromosome_end`: the window starts before 0 or ends past the chromosome;
2. `blacklist`: the window overlaps a blacklisted interval;
3. `too_many_n`: more than `max_n_fraction` of its bases are not A/C/G/T (N or another IUPAC
   code; these encode as all-zero rows).
The same genome pass gives each kept window's GC fraction (used for GC-matched negatives).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import intervals
from .genome import Genome, count_bases

REASONS = ("off_chromosome_end", "blacklist", "too_many_n")


@dataclass
class FilterResult:
    """Which windows pass the filters, drops per reason, and each window's GC fraction."""

    keep: np.ndarray  # bool over input rows
    dropped: dict[str, int]  # reason -> count
    gc_fraction: np.ndarray  # float over input rows (NaN where not computed)


def base_composition(genome: Genome, windows: pd.DataFrame, block: int = 8192):
    """Per-window count of non-ACGT bases and GC fraction of the ACGT bases, streamed in blocks."""
    n = len(windows)
    non_acgt = np.zeros(n, dtype=np.int64)
    gc = np.full(n, np.nan)
    length = windows["end"].to_numpy(np.int64) - windows["start"].to_numpy(np.int64)
    for chrom, rows in windows.groupby("chrom", sort=False).indices.items():
        for lo in range(0, rows.size, block):
            idx = rows[lo : lo + block]
            sub_len = np.unique(length[idx])
            if sub_len.size != 1:
                raise ValueError("windows of one call must share a length")
            codes = genome.fetch_windows(chrom, windows["start"].to_numpy(np.int64)[idx], int(sub_len[0]))
            counts = count_bases(codes)
            non_acgt[idx] = sub_len[0] - counts["acgt"]
            with np.errstate(invalid="ignore", divide="ignore"):
                gc[idx] = counts["gc"] / counts["acgt"]
    return non_acgt, gc


def filter_windows(
    windows: pd.DataFrame,
    chrom_sizes: dict[str, int],
    genome: Genome,
    blacklist: pd.DataFrame | None,
    max_n_fraction: float,
) -> FilterResult:
    """Apply the window filters in order and count the drops per reason.

    Parameters
    ----------
    windows : pandas.DataFrame
        chrom, start, end (0-based, half-open).
    chrom_sizes : dict of str to int
        Chromosome lengths (bp).
    genome : Genome
        The genome the N and GC fractions are read from.
    blacklist : pandas.DataFrame, optional
        Blacklisted intervals (chrom, start, end).
    max_n_fraction : float
        Largest fraction (0-1) of non-ACGT bases a kept window may have.

    Returns
    -------
    FilterResult
    """
    n = len(windows)
    keep = np.ones(n, dtype=bool)
    dropped = dict.fromkeys(REASONS, 0)
    sizes = windows["chrom"].map(chrom_sizes).to_numpy(np.int64)
    off_end = (windows["start"].to_numpy(np.int64) < 0) | (windows["end"].to_numpy(np.int64) > sizes)
    dropped["off_chromosome_end"] = int(off_end.sum())
    keep &= ~off_end
    if blacklist is not None and len(blacklist):
        in_blacklist = keep.copy()
        in_blacklist[keep] = intervals.overlaps_any(windows[keep].reset_index(drop=True), blacklist)
        dropped["blacklist"] = int(in_blacklist.sum())
        keep &= ~in_blacklist
    gc = np.full(n, np.nan)
    if keep.any():
        rows = np.flatnonzero(keep)
        non_acgt, gc_kept = base_composition(genome, windows.iloc[rows].reset_index(drop=True))
        length = (windows["end"] - windows["start"]).to_numpy(np.int64)[rows]
        too_many = non_acgt > max_n_fraction * length
        dropped["too_many_n"] = int(too_many.sum())
        keep[rows[too_many]] = False
        gc[rows] = gc_kept
    return FilterResult(keep=keep, dropped=dropped, gc_fraction=gc)
