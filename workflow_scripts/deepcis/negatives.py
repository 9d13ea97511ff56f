"""Negative windows: none, random genomic, flanking, or GC-matched to the positives.

Candidates are drawn in excess (`oversample` x wanted), so that the filters (blacklist, N,
chromosome ends) and the exclusion of peaks can reject some and the ratio is still met.
A negative's labelled core (its bin in DeepSEA mode, the whole window in Basset mode) never
overlaps any peak of any task.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import intervals

STRATEGIES = ("none", "random", "flanking", "gc_matched")


def _random_windows(n, chrom_sizes, window_length, rng, bin_size=None, spans=None):
    """Uniform over the chromosomes, or over `spans` (chrom/start/end) when given."""
    if spans is None:
        spans = pd.DataFrame({"chrom": list(chrom_sizes), "start": 0, "end": list(chrom_sizes.values())})
    names = spans["chrom"].to_numpy(object)
    lows = spans["start"].to_numpy(np.int64)
    usable = np.maximum(spans["end"].to_numpy(np.int64) - lows - window_length, 0)
    if usable.sum() == 0 or n == 0:
        return pd.DataFrame({"chrom": [], "start": [], "end": []})
    which = rng.choice(len(names), size=n, p=usable / usable.sum())
    starts = lows[which] + (rng.random(n) * usable[which]).astype(np.int64)
    if bin_size:
        # Align to the bin grid: window start = bin start + bin/2 - window/2.
        offset = bin_size // 2 - window_length // 2
        starts = ((starts - offset) // bin_size) * bin_size + offset
    chroms = names[which]
    return pd.DataFrame({"chrom": chroms, "start": starts, "end": starts + window_length})


def _flanking_windows(n, positives, window_length, rng, flank_min, flank_max, bin_size=None):
    if positives.empty or n == 0:
        return pd.DataFrame({"chrom": [], "start": [], "end": []})
    pick = rng.integers(0, len(positives), size=n)
    shift = rng.integers(flank_min, flank_max + 1, size=n) * rng.choice([-1, 1], size=n)
    if bin_size:
        shift = np.round(shift / bin_size).astype(np.int64) * bin_size
    base = positives.iloc[pick]
    starts = base["start"].to_numpy(np.int64) + shift
    return pd.DataFrame({"chrom": base["chrom"].to_numpy(object), "start": starts, "end": starts + window_length})


def candidate_negatives(
    strategy: str,
    n_wanted: int,
    positives: pd.DataFrame,
    peak_regions: pd.DataFrame,
    chrom_sizes: dict[str, int],
    window_length: int,
    rng: np.random.Generator,
    **draw_options,
) -> pd.DataFrame:
    """Candidate negative windows (chrom, start, end), free of peaks, de-duplicated; random
    candidates are drawn inside `spans` (chrom/start/end) when given, else anywhere.
    `draw_options` are `draw_candidates`' keywords (bin_size, flank_min, flank_max, oversample,
    spans)."""
    cand, core = draw_candidates(strategy, n_wanted, positives, chrom_sizes, window_length, rng, **draw_options)
    return cand[~intervals.overlaps_any(core, peak_regions)].reset_index(drop=True)


def draw_candidates(
    strategy: str,
    n_wanted: int,
    positives: pd.DataFrame,
    chrom_sizes: dict[str, int],
    window_length: int,
    rng: np.random.Generator,
    bin_size: int | None = None,
    flank_min: int | None = None,
    flank_max: int | None = None,
    oversample: float = 3.0,
    spans: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate windows before the peak exclusion, de-duplicated, their labelled core inside
    the chromosome: (candidates, cores), both chrom/start/end in draw order. A candidate is
    kept when its core touches no peak region (`candidate_negatives`; prepare's gather does
    that one chunk's peak regions at a time)."""
    if strategy == "none" or n_wanted == 0:
        empty = pd.DataFrame({"chrom": [], "start": [], "end": []})
        return empty, empty
    n_draw = int(np.ceil(n_wanted * oversample)) + 16
    if strategy in ("random", "gc_matched"):
        cand = _random_windows(n_draw, chrom_sizes, window_length, rng, bin_size, spans)
    elif strategy == "flanking":
        cand = _flanking_windows(n_draw, positives, window_length, rng, flank_min, flank_max, bin_size)
    else:
        raise ValueError(f"unknown negative strategy {strategy!r}; choose one of {STRATEGIES}")
    cand = cand.drop_duplicates(["chrom", "start"]).reset_index(drop=True)
    if bin_size:
        offset = bin_size // 2 - window_length // 2
        core = pd.DataFrame(
            {"chrom": cand["chrom"], "start": cand["start"] - offset, "end": cand["start"] - offset + bin_size}
        )
    else:
        core = cand
    valid_core = (core["start"] >= 0) & (core["end"] <= core["chrom"].map(chrom_sizes))
    return cand[valid_core.to_numpy()].reset_index(drop=True), core[valid_core.to_numpy()].reset_index(drop=True)


def select_negatives(
    strategy: str,
    n_wanted: int,
    candidate_gc: np.ndarray,
    positive_gc: np.ndarray,
    rng: np.random.Generator,
    gc_bins: int = 20,
) -> np.ndarray:
    """Indices of the chosen candidates (after filtering).

    gc_matched: the positives' GC histogram (`gc_bins` equal bins on [0, 1]) is matched bin by
    bin; where a bin has too few candidates, all of them are taken and the total falls short.
    """
    n_cand = candidate_gc.size
    if strategy == "none" or n_wanted == 0 or n_cand == 0:
        return np.zeros(0, dtype=np.int64)
    if strategy != "gc_matched":
        return np.sort(rng.permutation(n_cand)[:n_wanted])
    edges = np.linspace(0.0, 1.0, gc_bins + 1)
    pos_bin = np.clip(np.digitize(positive_gc, edges) - 1, 0, gc_bins - 1)
    cand_bin = np.clip(np.digitize(candidate_gc, edges) - 1, 0, gc_bins - 1)
    target = np.bincount(pos_bin, minlength=gc_bins) / max(positive_gc.size, 1) * n_wanted
    target = np.floor(target + rng.random(gc_bins)).astype(np.int64)  # unbiased rounding
    chosen = []
    for b in range(gc_bins):
        members = np.flatnonzero(cand_bin == b)
        chosen.append(rng.permutation(members)[: target[b]])
    return np.sort(np.concatenate(chosen))
