"""The generator: its state (seeded random streams, chromosomes, site groups, peaks, variants),
its steps (one mixin per part) and the whole-genome check of the ground truth."""

from __future__ import annotations

import numpy as np

from .background import BackgroundMixin
from .factors import Factors
from .params import CHROMOSOMES, NEUTRAL_MIN_DISTANCE, RNG_STREAMS, TASKS
from .records import Chrom, Group, Variant
from .sites import SitesMixin
from .variants import VariantsMixin
from .writers import WritersMixin


class Simulator(BackgroundMixin, SitesMixin, VariantsMixin, WritersMixin):
    """One example data set in the making; the steps run in the order of `simulate_example`."""

    def __init__(self, factors: Factors, seed: int) -> None:
        self.f = factors
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(RNG_STREAMS))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(RNG_STREAMS, children)}
        self.chroms: dict[str, Chrom] = {}
        self.groups: list[Group] = []
        self.peaks: dict[str, list[tuple]] = {t: [] for t in TASKS}
        self.variants: list[Variant] = []
        self.cleaned = 0


    def verify(self) -> None:
        """Whole-genome checks of the ground truth; raise RuntimeError if one fails."""
        for name, _ in CHROMOSOMES:
            chrom = self.chroms[name]
            intact = [i for g in self.groups if g.chrom == name for i in g.intact]
            for key, f in self.f.items():
                own = sorted((i.start, i.end) for i in intact if i.factor == key)
                starts = np.array([s for s, _ in own], dtype=np.int64)
                fwd, rev = f.scan(chrom.codes)
                for p in np.flatnonzero((fwd >= f.threshold) | (rev >= f.threshold)):
                    j = np.searchsorted(starts, p + f.width) - 1  # last instance starting before the window ends
                    if j < 0 or own[j][1] <= p:
                        raise RuntimeError(f"stray {key} match at {name}:{p}")
                for i in intact:
                    if i.factor == key and (fwd if i.strand == "+" else rev)[i.start] < f.threshold:
                        raise RuntimeError(f"planted {key} instance lost at {name}:{i.start}")
        # neutral variants are far from everything that matters
        features: dict[str, list[tuple[int, int]]] = {name: [] for name, _ in CHROMOSOMES}
        for g in self.groups:
            features[g.chrom].append(g.span())
        for task in TASKS:
            for row in self.peaks[task]:
                features[row[0]].append((row[1], row[2]))
        for name, a, b in self.artefact_regions():
            features[name].append((a, b))
        spans = {name: np.array(f, dtype=np.int64).reshape(-1, 2) for name, f in features.items()}
        for v in self.variants:
            if v.alleles[0].effect != "neutral":
                continue
            a, b = spans[v.chrom][:, 0], spans[v.chrom][:, 1]
            if np.any((v.pos0 + 1 > a - NEUTRAL_MIN_DISTANCE) & (v.pos0 < b + NEUTRAL_MIN_DISTANCE)):
                raise RuntimeError(f"neutral variant {v.chrom}:{v.pos0 + 1} is near a site or peak")
