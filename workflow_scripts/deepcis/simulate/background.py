"""The background genome: chromosomes with isochores, CpG depletion, repeats and N gaps, and
the removal of chance motif matches before planting."""

from __future__ import annotations

import numpy as np

from .. import motifs as mt
from .factors import Factor
from .params import (
    ARTEFACT_LENGTH,
    ARTEFACTS,
    CHROMOSOMES,
    CPG_LOSS,
    DESERT_LENGTH,
    DESERTS,
    GC_RANGE,
    ISOCHORE_LENGTH,
    LINE_PER_MB,
    N_GAPS,
    SIMPLE_PER_MB,
    SIMPLE_UNITS,
    SINE_PER_MB,
)
from .records import Chrom


def random_bases(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    """`n` random base codes with GC fraction `gc` (A and T, C and G equally likely)."""
    u = rng.random(n)
    out = np.full(n, 3, dtype=np.uint8)  # T
    out[u < 0.5 + gc / 2] = 0  # A
    out[u < gc] = 2  # G
    out[u < gc / 2] = 1  # C
    return out


def mutate(rng: np.random.Generator, codes: np.ndarray, rate: float) -> np.ndarray:
    """A copy of `codes` with each base changed to another one with probability `rate`."""
    codes = codes.copy()
    hit = rng.random(codes.shape[0]) < rate
    codes[hit] = (codes[hit] + rng.integers(1, 4, int(hit.sum()))) % 4
    return codes


class BackgroundMixin:
    """Simulator steps: the layout and background sequence (`build_genome`, `clean_background`)."""

    def build_genome(self) -> None:
        rl, rb, rr = self.rng["layout"], self.rng["background"], self.rng["repeats"]
        sat_unit = random_bases(rr, 171, 0.38)
        sine = np.concatenate([random_bases(rr, 280, 0.52), mutate(rr, np.zeros(20, np.uint8), 0.1)])
        line = random_bases(rr, 1_500, 0.40)
        for name, length in CHROMOSOMES:
            blocked = np.zeros(length, dtype=bool)  # N gaps (+ margins) and artefacts
            for a, b in N_GAPS[name]:
                blocked[max(a - 5_000, 0) : b + 5_000] = True
            blocked[:5_000] = blocked[-5_000:] = True
            artefacts = []
            for _ in range(ARTEFACTS[name]):
                a, b = self._free_interval(rl, blocked, int(rl.integers(*ARTEFACT_LENGTH, endpoint=True)), 10_000)
                artefacts.append((a, b))
                blocked[max(a - 10_000, 0) : b + 10_000] = True
            deserts = []
            for _ in range(DESERTS[name]):
                a, b = self._free_interval(rl, blocked, DESERT_LENGTH, 5_000)
                deserts.append((a, b))
                blocked[max(a - 5_000, 0) : b + 5_000] = True
            # isochores: segments of tens of kb with their own GC content
            lengths = []
            while sum(lengths) < length:
                lengths.append(int(rb.integers(*ISOCHORE_LENGTH, endpoint=True)))
            gc = np.repeat(rb.uniform(*GC_RANGE, len(lengths)), lengths)[:length]
            u = rb.random(length)
            codes = np.full(length, 3, dtype=np.uint8)
            codes[u < 0.5 + gc / 2] = 0
            codes[u < gc] = 2
            codes[u < gc / 2] = 1
            soft = np.zeros(length, dtype=bool)
            # repeats never overlap N, artefacts or each other
            occupied = np.zeros(length, dtype=bool)
            for a, b in N_GAPS[name]:
                occupied[a:b] = True
            for a, b in artefacts:
                occupied[max(a - 500, 0) : b + 500] = True
            self._add_repeats(rr, codes, soft, occupied, sine, line)
            for a, b in artefacts:  # satellite arrays: tandem copies of one 171 bp unit
                n_units = -(-(b - a) // 171)
                array = np.concatenate([mutate(rr, sat_unit, 0.02) for _ in range(n_units)])
                codes[a:b] = array[: b - a]
                soft[a:b] = True
            # CpG depletion: most CG dinucleotides decay to TG or CA
            cg = np.flatnonzero((codes[:-1] == 1) & (codes[1:] == 2))
            hit = cg[rb.random(cg.shape[0]) < CPG_LOSS]
            to_tg = rb.random(hit.shape[0]) < 0.5
            codes[hit[to_tg]] = 3
            codes[hit[~to_tg] + 1] = 0
            for a, b in N_GAPS[name]:
                codes[a:b] = 4
                soft[a:b] = False
            self.chroms[name] = Chrom(name, length, codes, soft, sorted(artefacts), sorted(deserts))

    @staticmethod
    def _free_interval(rng, blocked: np.ndarray, size: int, margin: int) -> tuple[int, int]:
        prefix = np.concatenate([[0], np.cumsum(blocked, dtype=np.int64)])
        for _ in range(10_000):
            a = int(rng.integers(margin, blocked.shape[0] - size - margin))
            if prefix[a + size + margin] - prefix[a - margin] == 0:
                return a, a + size
        raise RuntimeError("no room left for a region of the example genome")

    @staticmethod
    def _add_repeats(rng, codes, soft, occupied, sine, line) -> None:
        length = codes.shape[0]
        mb = length / 1e6
        copies = []
        for _ in range(round(SINE_PER_MB * mb)):
            start = int(rng.integers(0, 150)) if rng.random() < 0.3 else 0  # 5' truncation
            copies.append(mutate(rng, sine[start:], rng.uniform(0.05, 0.20)))
        for _ in range(round(LINE_PER_MB * mb)):
            size = int(rng.integers(200, 1_500, endpoint=True))  # 5'-truncated fragments
            copies.append(mutate(rng, line[-size:], rng.uniform(0.10, 0.25)))
        for _ in range(round(SIMPLE_PER_MB * mb)):
            unit = mt.encode(SIMPLE_UNITS[int(rng.integers(len(SIMPLE_UNITS)))])
            size = int(rng.integers(20, 120, endpoint=True))
            copies.append(mutate(rng, np.resize(unit, size), rng.uniform(0.0, 0.05)))
        order = rng.permutation(len(copies))
        for k in order:
            seq = copies[k] if rng.random() < 0.5 else mt.reverse_complement_codes(copies[k])
            for _ in range(100):
                a = int(rng.integers(0, length - seq.shape[0]))
                b = a + seq.shape[0]
                if not occupied[max(a - 10, 0) : b + 10].any():
                    codes[a:b] = seq
                    soft[a:b] = True
                    occupied[a:b] = True
                    break

    def clean_background(self) -> None:
        """Break every chance match of the planted motifs (one base, the most informative)."""
        for chrom in self.chroms.values():
            codes = chrom.codes
            dirty: list[int] = []
            for f in self.f.values():
                fwd, rev = f.scan(codes)
                for strand, scores in (("+", fwd), ("-", rev)):
                    for p in np.flatnonzero(scores >= f.threshold):
                        dirty.append(self._break_match(codes, f, int(p), strand))
            rounds = 0
            while dirty:
                rounds += 1
                if rounds > 50:
                    raise RuntimeError("could not clean motif matches from the background")
                again = []
                for pos in sorted(set(dirty)):
                    a, b = max(pos - 25, 0), min(pos + 26, chrom.length)
                    for f in self.f.values():
                        fwd, rev = f.scan(codes[a:b])
                        for strand, scores in (("+", fwd), ("-", rev)):
                            for p in np.flatnonzero(scores >= f.threshold):
                                again.append(self._break_match(codes, f, a + int(p), strand, self.f))
                self.cleaned += len(dirty)
                dirty = again

    @staticmethod
    def _break_match(codes, f: Factor, p: int, strand: str, careful: dict | None = None) -> int:
        """Mutate the base of the match at ``p`` whose change costs the most log-odds.

        With ``careful`` (all factors), try the changes from the most to the least costly and
        keep the first that leaves no match of any factor near ``p`` (a change can turn a
        palindromic match into one on the other strand).
        """
        window = codes[p : p + f.width].copy()
        t = f.oriented(strand)
        cols = np.arange(f.width)
        drops = t[cols, window][:, None] - t[:, :4]
        drops[cols, window] = -np.inf
        order = np.argsort(-drops, axis=None, kind="stable")
        if careful is None:
            j, b = divmod(int(order[0]), 4)
            codes[p + j] = b
            return p + j
        a, e = max(p - 20, 0), min(p + f.width + 20, codes.shape[0])
        for flat in order[: 3 * f.width]:
            j, b = divmod(int(flat), 4)
            codes[p + j] = b
            seg = codes[a:e]
            scans = careful.scan_all(seg)
            if not any((np.maximum(*scans[k]) >= g.threshold).any() for k, g in careful.items()):
                return p + j
            codes[p + j] = window[j]
        j, b = divmod(int(order[0]), 4)
        codes[p + j] = b
        return p + j
