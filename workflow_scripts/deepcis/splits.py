"""Train / valid / test assignment with no window overlapping a window of another split.

Modes:
- `chromosomes`: `valid` and `test` list chromosomes; all other selected chromosomes train
  (DeepSEA's default: valid chr7, test chr8 and chr9). Windows on different chromosomes
  never overlap, so nothing is dropped.
- `regions`: `regions.valid` / `regions.test` list `chrom:start-end` intervals (0-based,
  half-open); the rest of the genome trains.
- `fractions`: the selected chromosomes are cut into blocks of `block_size`; a seeded random
  choice of round(fraction x blocks) blocks forms valid and test; the rest trains.
In the last two modes a window that is not wholly inside one split's territory (it straddles a
boundary) is dropped as `split_boundary`. Since territories are disjoint, windows of
different splits can then never overlap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import intervals
from .errors import ConfigError
from .peaks import parse_region

SPLITS = ("train", "valid", "test")


def split_territories(split_cfg: dict, chrom_sizes: dict[str, int], seed: int) -> dict[str, pd.DataFrame]:
    """The held-out territory of `valid` and `test` as chrom/start/end frames."""
    mode = split_cfg["mode"]
    if mode == "chromosomes":
        territory = {}
        for split in ("valid", "test"):
            names = split_cfg.get(split, [])
            missing = [c for c in names if c not in chrom_sizes]
            if missing:
                raise ConfigError(
                    f"config split.{split}: chromosome(s) {missing} are not among the selected chromosomes "
                    f"{list(chrom_sizes)[:10]}{' ...' if len(chrom_sizes) > 10 else ''}"
                )
            territory[split] = pd.DataFrame(
                {"chrom": names, "start": [0] * len(names), "end": [chrom_sizes[c] for c in names]}
            )
        overlap = set(split_cfg.get("valid", [])) & set(split_cfg.get("test", []))
        if overlap:
            raise ConfigError(f"config split: chromosome(s) {sorted(overlap)} are in both valid and test")
        return territory
    if mode == "regions":
        territory = {}
        for split in ("valid", "test"):
            rows = [parse_region(r, chrom_sizes, f"config split.regions.{split}") for r in split_cfg["regions"].get(split, [])]
            territory[split] = pd.DataFrame(rows, columns=["chrom", "start", "end"])
        both = intervals.overlaps_any(territory["valid"], territory["test"]) if len(territory["test"]) else []
        if np.any(both):
            raise ConfigError("config split.regions: a valid region overlaps a test region")
        return territory
    if mode == "fractions":
        block = int(split_cfg["block_size"])
        blocks = [(c, s, min(s + block, size)) for c, size in chrom_sizes.items() for s in range(0, size, block)]
        fractions = split_cfg["fractions"]
        n_valid = int(round(fractions.get("valid", 0) * len(blocks)))
        n_test = int(round(fractions.get("test", 0) * len(blocks)))
        if n_valid + n_test >= len(blocks):
            raise ConfigError(
                f"config split.fractions: {len(blocks)} blocks of {block} bp leave none for training; "
                "lower block_size or the fractions"
            )
        order = np.random.default_rng(seed).permutation(len(blocks))
        pick = {"valid": np.sort(order[:n_valid]), "test": np.sort(order[n_valid : n_valid + n_test])}
        return {s: pd.DataFrame([blocks[i] for i in idx], columns=["chrom", "start", "end"]) for s, idx in pick.items()}
    raise ConfigError(f"config split.mode: unknown mode {mode!r}; choose chromosomes, regions or fractions")


def inside_any(windows: pd.DataFrame, territory: pd.DataFrame) -> np.ndarray:
    """Is each window wholly inside one interval of `territory` (intervals are disjoint)."""
    inside = np.zeros(len(windows), dtype=bool)
    for chrom, rows in windows.groupby("chrom", sort=False).indices.items():
        t = territory[territory["chrom"] == chrom].sort_values("start")
        if t.empty:
            continue
        starts, ends = t["start"].to_numpy(np.int64), t["end"].to_numpy(np.int64)
        w_start = windows["start"].to_numpy(np.int64)[rows]
        w_end = windows["end"].to_numpy(np.int64)[rows]
        k = np.searchsorted(starts, w_start, side="right") - 1
        ok = k >= 0
        inside[rows[ok]] = w_end[ok] <= ends[k[ok]]
    return inside


def assign_splits(windows: pd.DataFrame, territories: dict[str, pd.DataFrame]) -> np.ndarray:
    """Split name per window; '' for a window dropped at a split boundary."""
    assigned = np.full(len(windows), "train", dtype=object)
    touched = np.zeros(len(windows), dtype=bool)
    for split in ("valid", "test"):
        territory = territories[split]
        if territory.empty:
            continue
        inside = inside_any(windows, territory)
        touches = intervals.overlaps_any(windows, territory)
        assigned[inside] = split
        touched |= touches & ~inside
    assigned[touched] = ""
    return assigned


def cross_split_overlaps(windows: pd.DataFrame, split: np.ndarray) -> int:
    """Number of windows that overlap a window of another split (0 when the split is clean)."""
    total = 0
    for name in SPLITS:
        mine = windows[split == name].reset_index(drop=True)
        others = windows[(split != name) & (split != "")].reset_index(drop=True)
        total += int(intervals.overlaps_any(mine, others).sum())
    return total
