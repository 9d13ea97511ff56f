"""The planted motifs: scoring tables, match thresholds, samplers of strong instances, scans."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import motifs as mt
from .params import FACTORS, MATCH_FRACTION, WEAK_FRACTION


class Factor:
    """One planted motif: scoring tables, thresholds and a sampler of strong instances."""

    def __init__(self, key: str, motif: mt.Motif) -> None:
        self.key = key
        self.motif = motif
        self.width = motif.length
        self.pwm = motif.log_odds()
        self.table, self.rc_table = mt.scoring_tables(self.pwm)
        self.max_score = float(self.pwm.max(axis=1).sum())
        self.threshold = MATCH_FRACTION * self.max_score
        self.weak = WEAK_FRACTION * self.max_score
        self.cum = np.cumsum(motif.probabilities(), axis=1)
        self._pool: list[np.ndarray] = []

    def oriented(self, strand: str) -> np.ndarray:
        return self.table if strand == "+" else self.rc_table

    def score(self, codes: np.ndarray, strand: str) -> float:
        t = self.oriented(strand)
        return float(t[np.arange(self.width), codes].sum())

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """An instance (codes, motif orientation) sampled from the matrix, scoring >= threshold."""
        while not self._pool:
            u = rng.random((512, self.width, 1))
            seqs = (u > self.cum[None, :, :]).sum(axis=2).astype(np.uint8)
            scores = self.table[np.arange(self.width)[None, :], seqs].sum(axis=1)
            self._pool = [s for s in seqs[scores >= self.threshold]][::-1]
        return self._pool.pop()

    def scan(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of every window (forward, reverse strand); small and large inputs."""
        n = codes.shape[0] - self.width + 1
        if n <= 0:
            return np.empty(0), np.empty(0)
        if n > 4096:
            return mt.scan_codes((self.table, self.rc_table), codes)
        windows = sliding_window_view(codes, self.width)
        cols = np.arange(self.width)[None, :]
        return self.table[cols, windows].sum(axis=1), self.rc_table[cols, windows].sum(axis=1)


class Factors(dict):
    """The planted factors by key, plus one stacked table to scan short segments for all at once."""

    def __init__(self, factors: dict[str, Factor]) -> None:
        super().__init__(factors)
        self.wmax = max(f.width for f in factors.values())
        self.stack = np.zeros((2 * len(factors), self.wmax, 5))  # rows past a motif's end score 0
        for k, f in enumerate(factors.values()):
            self.stack[2 * k, : f.width] = f.table
            self.stack[2 * k + 1, : f.width] = f.rc_table
        self._cols = np.arange(self.wmax)

    def scan_all(self, seg: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{key: (forward, reverse)}`` window scores of a short segment for every factor."""
        n = seg.shape[0]
        padded = np.concatenate([seg, np.full(self.wmax - 1, 4, dtype=np.uint8)])
        windows = padded[np.arange(n)[:, None] + self._cols[None, :]]
        scores = self.stack[:, self._cols, windows].sum(axis=2)
        out = {}
        for k, (key, f) in enumerate(self.items()):
            m = max(n - f.width + 1, 0)
            out[key] = (scores[2 * k, :m], scores[2 * k + 1, :m])
        return out


def load_factors(motif_file: str | Path) -> Factors:
    """The planted factors from a JASPAR file; JasparFormatError if one is missing."""
    by_id = mt.motifs_by_id(mt.read_jaspar(motif_file))
    missing = [jid for jid in FACTORS.values() if jid not in by_id]
    if missing:
        raise mt.JasparFormatError(motif_file, 1, f"motif(s) {', '.join(missing)} needed by the example are missing")
    return Factors({key: Factor(key, by_id[jid]) for key, jid in FACTORS.items()})
