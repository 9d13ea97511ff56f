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


DRAW_BLOCK = 1 << 20  # candidates generated at a time when a draw is replayed


def _generator_at(state: dict, skip: int) -> np.random.Generator:
    """A generator in `state` (a bit generator's state) moved on by `skip` 64-bit draws."""
    bits = getattr(np.random, state["bit_generator"])()
    bits.state = state
    if skip:
        bits.advance(skip)
    return np.random.Generator(bits)


class CandidateDraw:
    """A draw of candidate windows as numbers: the selected chromosome's index (`code`, in
    `chrom_sizes` order) and the window start, in draw order, replayable block by block with
    `blocks()` so that no pass holds the whole draw (issue 15: genome-scale prepare).

    Random draws (`random_draw`) regenerate their blocks from the seeded generator's state;
    flanking draws (`flanking_draw`) hold their numbers (12 bytes a candidate)."""

    def __init__(self, n: int, window_length: int, make_blocks):
        self.n, self.window_length, self._make_blocks = n, window_length, make_blocks

    def blocks(self, size: int | None = None):
        """(first draw index, codes, starts) per block of at most `size` candidates, in draw order."""
        yield from self._make_blocks(size or DRAW_BLOCK)

    def take(self, code_mask: np.ndarray, size: int | None = None):
        """(draw indices, codes, starts) of the candidates whose chromosome index is set in `code_mask`."""
        index, codes, starts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for lo, code, start in self.blocks(size):
            mine = code_mask[code]
            index.append(lo + np.flatnonzero(mine))
            codes.append(code[mine])
            starts.append(start[mine])
        return np.concatenate(index), np.concatenate(codes), np.concatenate(starts)

    def pick(self, indices: np.ndarray, size: int | None = None):
        """(codes, starts) of the candidates at the sorted draw `indices`."""
        codes, starts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for lo, code, start in self.blocks(size):
            rows = indices[np.searchsorted(indices, lo) : np.searchsorted(indices, lo + len(code))] - lo
            codes.append(code[rows])
            starts.append(start[rows])
        return np.concatenate(codes), np.concatenate(starts)

    def frame(self, names) -> pd.DataFrame:
        """The whole draw as chrom/start/end (`names`: chromosome per index), for small draws."""
        code, start = self.pick(np.arange(self.n))
        return pd.DataFrame({"chrom": np.asarray(names, dtype=object)[code], "start": start,
                             "end": start + self.window_length})  # fmt: skip


def random_draw(n, chrom_sizes, window_length, rng, bin_size=None, spans=None) -> CandidateDraw:
    """`n` windows uniform over the chromosomes, or over `spans` (chrom/start/end) when given,
    on the bin grid with `bin_size`. `rng` is moved past the draw (2 n doubles) as if it had
    drawn every window at once: the chromosomes (span rows) with `rng.choice` first, then the
    starts; blocks replay each stream from a copy of its state."""
    if spans is None:
        spans = pd.DataFrame({"chrom": list(chrom_sizes), "start": 0, "end": list(chrom_sizes.values())})
    index = {c: i for i, c in enumerate(chrom_sizes)}
    codes = np.array([index[c] for c in spans["chrom"]], dtype=np.int64)
    lows = spans["start"].to_numpy(np.int64)
    usable = np.maximum(spans["end"].to_numpy(np.int64) - lows - window_length, 0)
    if usable.sum() == 0 or n == 0:
        return CandidateDraw(0, window_length, lambda size: iter(()))
    p = usable / usable.sum()
    state = rng.bit_generator.state
    rng.bit_generator.advance(2 * n)  # doubles leave a buffered 32-bit half alone; advance drops it: put it back
    rng.bit_generator.state = rng.bit_generator.state | {k: state[k] for k in ("has_uint32", "uinteger") if k in state}

    def make_blocks(size):
        which_rng, start_rng = _generator_at(state, 0), _generator_at(state, n)
        for lo in range(0, n, size):
            k = min(size, n - lo)
            which = which_rng.choice(len(codes), size=k, p=p)
            starts = lows[which] + (start_rng.random(k) * usable[which]).astype(np.int64)
            if bin_size:
                # Align to the bin grid: window start = bin start + bin/2 - window/2.
                offset = bin_size // 2 - window_length // 2
                starts = ((starts - offset) // bin_size) * bin_size + offset
            yield lo, codes[which], starts

    return CandidateDraw(n, window_length, make_blocks)


def flanking_draw(n, positive_codes, positive_starts, window_length, rng, flank_min, flank_max, bin_size=None) -> CandidateDraw:
    """`n` windows shifted `flank_min`-`flank_max` bp (either way; whole bins with `bin_size`)
    from positives picked at random (`positive_codes`, `positive_starts`: chromosome index and
    start of each positive)."""
    if len(positive_starts) == 0 or n == 0:
        return CandidateDraw(0, window_length, lambda size: iter(()))
    pick = rng.integers(0, len(positive_starts), size=n)
    shift = rng.integers(flank_min, flank_max + 1, size=n) * rng.choice([-1, 1], size=n)
    if bin_size:
        shift = np.round(shift / bin_size).astype(np.int64) * bin_size
    codes = np.asarray(positive_codes, np.int64)[pick]
    starts = np.asarray(positive_starts, np.int64)[pick] + shift
    del pick, shift
    return CandidateDraw(n, window_length, lambda size: ((lo, codes[lo : lo + size], starts[lo : lo + size])
                                                        for lo in range(0, n, size)))  # fmt: skip


def first_unique(codes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sorted positions of the first occurrence of each (chromosome, start) pair."""
    order = np.lexsort((starts, codes))  # stable: the first occurrence leads its group
    c, s = codes[order], starts[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (c[1:] != c[:-1]) | (s[1:] != s[:-1])
    return np.sort(order[first])


def core_bounds(starts: np.ndarray, window_length: int, bin_size: int | None = None):
    """A candidate's labelled core (start, end): its bin with `bin_size`, else the window."""
    if bin_size:
        core_start = starts - (bin_size // 2 - window_length // 2)
        return core_start, core_start + bin_size
    return starts, starts + window_length


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


def draw_candidates(strategy: str, n_wanted: int, positives: pd.DataFrame, chrom_sizes: dict[str, int], window_length: int,
                    rng: np.random.Generator, bin_size: int | None = None, **draw_options) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Candidate windows before the peak exclusion, de-duplicated, their labelled core inside
    the chromosome: (candidates, cores), both chrom/start/end in draw order, in memory (small
    draws; prepare's gather filters `candidate_draw`'s numbers a chunk at a time instead). A
    candidate is kept when its core touches no peak region (`candidate_negatives`).
    `draw_options`: `candidate_draw`'s flank_min, flank_max, oversample, spans."""
    empty = pd.DataFrame({"chrom": [], "start": [], "end": []})
    draw = candidate_draw(strategy, n_wanted, positives, chrom_sizes, window_length, rng, bin_size=bin_size, **draw_options)
    if draw is None:
        return empty, empty
    names = np.array(list(chrom_sizes), dtype=object)
    code, start = draw.pick(np.arange(draw.n))
    unique = first_unique(code, start)
    code, start = code[unique], start[unique]
    core_start, core_end = core_bounds(start, window_length, bin_size)
    valid = (core_start >= 0) & (core_end <= np.array(list(chrom_sizes.values()), np.int64)[code])
    code, start, core_start, core_end = code[valid], start[valid], core_start[valid], core_end[valid]
    cand = pd.DataFrame({"chrom": names[code], "start": start, "end": start + window_length})
    core = pd.DataFrame({"chrom": names[code], "start": core_start, "end": core_end}) if bin_size else cand
    return cand, core


def candidate_draw(
    strategy: str,
    n_wanted: int,
    positives,
    chrom_sizes: dict[str, int],
    window_length: int,
    rng: np.random.Generator,
    bin_size: int | None = None,
    flank_min: int | None = None,
    flank_max: int | None = None,
    oversample: float = 3.0,
    spans: pd.DataFrame | None = None,
) -> CandidateDraw | None:
    """The raw draw (`oversample` x `n_wanted` + 16 candidates) of a strategy, before
    de-duplication and filters; None for strategy none or nothing wanted. `positives`: for
    flanking, the positive windows as a chrom/start frame or as (chromosome indices, starts)."""
    if strategy == "none" or n_wanted == 0:
        return None
    n_draw = int(np.ceil(n_wanted * oversample)) + 16
    if strategy in ("random", "gc_matched"):
        return random_draw(n_draw, chrom_sizes, window_length, rng, bin_size, spans)
    if strategy == "flanking":
        if isinstance(positives, pd.DataFrame):
            index = {c: i for i, c in enumerate(chrom_sizes)}
            positives = (positives["chrom"].map(index).to_numpy(np.int64), positives["start"].to_numpy(np.int64))
        return flanking_draw(n_draw, *positives, window_length, rng, flank_min, flank_max, bin_size)
    raise ValueError(f"unknown negative strategy {strategy!r}; choose one of {STRATEGIES}")


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
        cand_bin, per_bin, pos_bin = np.zeros(n_cand, np.int64), np.array([n_cand]), None
    else:
        cand_bin, pos_bin = gc_bin(candidate_gc, gc_bins), np.bincount(gc_bin(positive_gc, gc_bins), minlength=gc_bins)
        per_bin = np.bincount(cand_bin, minlength=gc_bins)
    ranks = select_in_bins(strategy, n_wanted, per_bin, pos_bin, positive_gc.size, rng)
    return np.sort(np.concatenate([np.flatnonzero(cand_bin == b)[r] for b, r in enumerate(ranks)]))


def gc_bin(gc: np.ndarray, gc_bins: int) -> np.ndarray:
    """The GC bin (`gc_bins` equal bins on [0, 1]; NaN in the last) of each GC fraction."""
    return np.clip(np.digitize(gc, np.linspace(0.0, 1.0, gc_bins + 1)) - 1, 0, gc_bins - 1)


def _permutation(n: int, rng: np.random.Generator) -> np.ndarray:
    # rng.permutation(n)'s shuffle in int32 when it fits: the same draws, half the memory
    order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
    rng.shuffle(order)
    return order


def select_in_bins(strategy: str, n_wanted: int, per_bin: np.ndarray, positive_per_bin: np.ndarray | None,
                   n_positive: int, rng: np.random.Generator) -> list[np.ndarray]:  # fmt: skip
    """The pick of `select_negatives` from counts alone: per bin, the sorted ranks (in draw
    order among that bin's candidates) of the chosen ones. gc_matched: `per_bin` candidates and
    `positive_per_bin` positives per GC bin (`n_positive` in all); otherwise one bin holding
    every candidate. Memory: a permutation of the largest bin (4 bytes a candidate)."""
    if strategy != "gc_matched":
        return [np.sort(_permutation(int(per_bin.sum()), rng)[:n_wanted])]
    target = positive_per_bin / max(n_positive, 1) * n_wanted
    target = np.floor(target + rng.random(len(per_bin))).astype(np.int64)  # unbiased rounding
    return [np.sort(_permutation(int(m), rng)[: target[b]]) for b, m in enumerate(per_bin)]
