"""Deterministic generator of the bundled example data set (docs/example-data.md).

``simulate_example(out_dir, motif_file, seed)`` writes a 4.4 Mb synthetic genome with a
realistic background (isochores, CpG depletion, soft-masked interspersed and tandem repeats,
N gaps), real JASPAR motifs planted at known places, ChIP-seq-like peaks of five tasks driven
by those motifs, artefact regions (the blacklist), and a VCF of variants whose effect on the
motifs (destroy / create / neutral) is known. Everything is drawn from numpy generators
seeded by ``seed``: the same seed gives byte-identical files.

Coordinates are 0-based half-open everywhere except VCF POS (1-based).

The ground truth is "motif-complete": after planting, every window of the genome that
scores at least the match threshold (``MATCH_FRACTION`` x the motif's best log-odds) for one
of the five planted motifs overlaps a planted, intact instance of that motif. Background
matches are removed (one base mutated) before planting; each planted instance is redrawn
until it creates no stray match. The generator checks this on the whole genome before
writing anything.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
from numpy.lib.stride_tricks import sliding_window_view

from . import __version__
from . import motifs as mt
from .io_utils import atomic_path, sha256_file

log = logging.getLogger(__name__)

# ----------------------------------------------------------------------------- parameters

CHROMOSOMES = (("chr1", 2_400_000), ("chr2", 1_000_000), ("chr3", 1_000_000))
#: N gaps (0-based half-open): 10 kb at every chromosome start, one inside chr1 and chr2
N_GAPS = {
    "chr1": ((0, 10_000), (1_200_000, 1_250_000)),
    "chr2": ((0, 10_000), (600_000, 620_000)),
    "chr3": ((0, 10_000),),
}
TASKS = ("CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1")
#: planted factors -> JASPAR IDs (the keys are the names used inside the generator)
FACTORS = {
    "CTCF": "MA0139.1",
    "GATA1": "MA0035.4",
    "TAL1": "MA0091.1",
    "FOXA1": "MA0148.4",
    "AP1": "MA0099.3",
}
#: tasks driven by one motif; the task and its factor share a name
SINGLE_TASKS = ("CTCF", "GATA1", "FOXA1", "AP1")
COMPOSITE_TASK = "GATA1_TAL1"

#: a window is a motif match when its log-odds >= MATCH_FRACTION * the motif's maximum
MATCH_FRACTION = 0.75
#: destroyed / broken instances score <= WEAK_FRACTION * maximum (what random DNA reaches)
WEAK_FRACTION = 0.5

# Enough sites (about 400 per task on the training chromosome) for small models to learn the
# short FOXA1 and AP-1 motifs within the example's time budget.
BOUND_SITES = {"CTCF": 640, "GATA1": 240, "FOXA1": 960, "AP1": 960}  # GATA1 alone
COMPOSITE_SITES = 600  # GATA1 + TAL1 together: peaks of GATA1 and GATA1_TAL1
COMPOSITE_DISTANCE = (20, 60)  # centre-to-centre distance of the two instances (bp)
UNBOUND_FRACTION = 0.10  # extra intact instances without a peak, per bound instance
DECOY_SITES = 160  # TAL1::TCF3 alone: no peak in any task
NOISE_PEAK_FRACTION = 0.03  # peaks without a motif, per task
ARTEFACTS = {"chr1": 2, "chr2": 1, "chr3": 1}
ARTEFACT_LENGTH = (2_000, 5_000)
DESERTS = {"chr1": 3, "chr2": 1, "chr3": 1}  # regions kept free of sites, for neutral SNVs
DESERT_LENGTH = 25_000
NEUTRAL_SNVS = 200
NEUTRAL_MIN_DISTANCE = 2_000  # from any site, peak or blacklist region
NEUTRAL_SPACING = 200

SITE_SPACING = 500  # minimum centre-to-centre distance between site groups
SITE_N_CLEARANCE = 500  # no N within this distance of a site centre (peaks never reach N)
SITE_REPEAT_CLEARANCE = 70  # no soft-masked base within this distance of a site centre
PEAK_WIDTH = (150, 400)
SUMMIT_SD = 10.0
SUMMIT_MAX_SHIFT = 25
SUMMIT_FRACTION = (0.35, 0.65)  # summit position inside the peak, as a fraction of its width

#: variants per task: (kind, count)
DESTROY_PLAN = (("mnv", 1), ("deletion", 8), ("insertion", 6), ("snv", 30))
CREATE_PLAN = (("mnv", 1), ("deletion", 4), ("insertion", 8), ("snv", 25))
MULTIALLELIC_TASK = "CTCF"  # one destroy SNV record of this task carries two ALT alleles

GC_RANGE = (0.35, 0.60)
ISOCHORE_LENGTH = (20_000, 100_000)
CPG_LOSS = 0.75  # fraction of CG dinucleotides turned into TG or CA
SINE_PER_MB, LINE_PER_MB, SIMPLE_PER_MB = 160, 36, 110
SIMPLE_UNITS = ("CA", "TG", "A", "T", "GA", "TTC", "GGAA", "CAG", "AAT", "TATG")

GENOME_NAME = "genome.fa"
OUTPUT_FILES = (
    GENOME_NAME,
    GENOME_NAME + ".fai",
    *(f"peaks/{t}.narrowPeak" for t in TASKS),
    "blacklist.bed",
    "motif_sites.bed",
    "variants.vcf.gz",
    "variants.vcf.gz.tbi",
    "variants_truth.tsv",
    "signal/CTCF.bw",
    "summary.json",
)
# The signal track (a ChIP-seq-like coverage of the bound CTCF sites; docs/multimodal.md):
# a Gaussian bump per bound instance, height = SIGNAL_SCALE x (1 + 9 x the motif match's
# relative strength (score - threshold) / (max - threshold)) x a log-normal factor (drawn
# from its own stream, so the other files do not depend on it).
SIGNAL_TASK = "CTCF"
SIGNAL_SCALE, SIGNAL_SD, SIGNAL_HALF_WIDTH, SIGNAL_NOISE = 4.0, 60.0, 180, 0.2
TRUTH_COLUMNS = (
    "chrom", "pos", "id", "ref", "alt", "kind", "effect", "motif_id", "tasks",
    "expected_sign", "site_start", "site_end",
)  # fmt: skip

_RNG_STREAMS = ("layout", "background", "repeats", "sites", "peaks", "variants")
_SEG_PAD = 40  # flank scanned around a site when checking for stray matches


def _random_bases(rng: np.random.Generator, n: int, gc: float) -> np.ndarray:
    u = rng.random(n)
    out = np.full(n, 3, dtype=np.uint8)  # T
    out[u < 0.5 + gc / 2] = 0  # A
    out[u < gc] = 2  # G
    out[u < gc / 2] = 1  # C
    return out


def _mutate(rng: np.random.Generator, codes: np.ndarray, rate: float) -> np.ndarray:
    codes = codes.copy()
    hit = rng.random(codes.shape[0]) < rate
    codes[hit] = (codes[hit] + rng.integers(1, 4, int(hit.sum()))) % 4
    return codes


# ----------------------------------------------------------------------------- motifs


class _Factor:
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


class _Factors(dict):
    """The planted factors by key, plus one stacked table to scan short segments for all at once."""

    def __init__(self, factors: dict[str, _Factor]) -> None:
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


def _load_factors(motif_file: str | Path) -> "_Factors":
    by_id = mt.motifs_by_id(mt.read_jaspar(motif_file))
    missing = [jid for jid in FACTORS.values() if jid not in by_id]
    if missing:
        raise mt.JasparFormatError(motif_file, 1, f"motif(s) {', '.join(missing)} needed by the example are missing")
    return _Factors({key: _Factor(key, by_id[jid]) for key, jid in FACTORS.items()})


# ----------------------------------------------------------------------------- data model


@dataclass
class _Instance:
    factor: str
    start: int
    end: int
    strand: str
    kind: str  # bound / unbound / decoy / broken
    tasks: tuple[str, ...] = ()
    score: float = 0.0


@dataclass
class _Group:
    """Everything planted around one site centre (a site, a composite, a slot or a noise peak)."""

    role: str
    task: str
    chrom: str
    centre: int
    instances: list[_Instance] = field(default_factory=list)
    peak_tasks: tuple[str, ...] = ()
    restore: tuple | None = None  # broken groups: (pos0, ref codes, alt codes, restored instance)
    target: str = ""  # factor that a create variant makes or a composite destroy hits
    mode: str = ""  # variant kind planned for broken groups
    gid: str = ""

    @property
    def intact(self) -> list[_Instance]:
        return [i for i in self.instances if i.kind != "broken"]

    def span(self) -> tuple[int, int]:
        """Extent of the planted instances (and of the insertion site of a slot)."""
        spans = [(i.start, i.end) for i in self.instances]
        if self.role == "slot":
            spans.append(self.restore)
        if not spans:
            return self.centre, self.centre + 1
        return min(a for a, _ in spans), max(b for _, b in spans)


@dataclass
class _Chrom:
    name: str
    length: int
    codes: np.ndarray
    soft: np.ndarray
    artefacts: list[tuple[int, int]] = field(default_factory=list)
    deserts: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class _Allele:
    alt: np.ndarray
    kind: str
    effect: str
    factor: str = ""
    tasks: tuple[str, ...] = ()
    site: tuple[int, int] | None = None

    @property
    def sign(self) -> int:
        return {"destroy": -1, "create": 1, "neutral": 0}[self.effect]


@dataclass
class _Variant:
    chrom: str
    pos0: int  # 0-based start of REF
    ref: np.ndarray
    alleles: list[_Allele]
    vid: str = ""


# ----------------------------------------------------------------------------- local checks


def _apply(codes: np.ndarray, pos0: int, ref_len: int, alt: np.ndarray) -> np.ndarray:
    return np.concatenate([codes[:pos0], alt, codes[pos0 + ref_len :]])


def _check_segment(
    factors: _Factors,
    seg: np.ndarray,
    offset: int,
    intact: list[tuple[str, int, str]],
    weak_spans: list[tuple[str, int, int]] = (),
) -> bool:
    """Whether ``seg`` (genome coordinates start at ``offset``) holds exactly the expected motifs.

    * every match (>= threshold) of any factor overlaps an expected intact instance of it;
    * every expected instance (factor, start, strand) is a match;
    * no window overlapping a weak span scores above the factor's weak level.
    """
    scans = factors.scan_all(seg)
    for key, f in factors.items():
        fwd, rev = scans[key]
        hits = np.flatnonzero((fwd >= f.threshold) | (rev >= f.threshold)) + offset
        own = [(s, s + f.width) for k, s, _ in intact if k == key]
        for p in hits:
            if not any(p < e and p + f.width > s for s, e in own):
                return False
    for key, start, strand in intact:
        f = factors[key]
        i = start - offset
        fwd, rev = scans[key]
        if i < 0 or i >= fwd.shape[0]:
            return False
        if (fwd if strand == "+" else rev)[i] < f.threshold:
            return False
    for key, start, end in weak_spans:
        f = factors[key]
        fwd, rev = scans[key]
        lo = max(start - f.width + 1 - offset, 0)
        hi = min(end - offset, fwd.shape[0])
        if hi > lo and max(fwd[lo:hi].max(), rev[lo:hi].max()) > f.weak:
            return False
    return True


# ----------------------------------------------------------------------------- the generator


class _Simulator:
    def __init__(self, factors: _Factors, seed: int) -> None:
        self.f = factors
        self.seed = int(seed)
        children = np.random.SeedSequence(self.seed).spawn(len(_RNG_STREAMS))
        self.rng = {name: np.random.default_rng(s) for name, s in zip(_RNG_STREAMS, children)}
        self.chroms: dict[str, _Chrom] = {}
        self.groups: list[_Group] = []
        self.peaks: dict[str, list[tuple]] = {t: [] for t in TASKS}
        self.variants: list[_Variant] = []
        self.cleaned = 0

    # ---------------------------------------------------------------- layout + background

    def build_genome(self) -> None:
        rl, rb, rr = self.rng["layout"], self.rng["background"], self.rng["repeats"]
        sat_unit = _random_bases(rr, 171, 0.38)
        sine = np.concatenate([_random_bases(rr, 280, 0.52), _mutate(rr, np.zeros(20, np.uint8), 0.1)])
        line = _random_bases(rr, 1_500, 0.40)
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
                array = np.concatenate([_mutate(rr, sat_unit, 0.02) for _ in range(n_units)])
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
            self.chroms[name] = _Chrom(name, length, codes, soft, sorted(artefacts), sorted(deserts))

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
            copies.append(_mutate(rng, sine[start:], rng.uniform(0.05, 0.20)))
        for _ in range(round(LINE_PER_MB * mb)):
            size = int(rng.integers(200, 1_500, endpoint=True))  # 5'-truncated fragments
            copies.append(_mutate(rng, line[-size:], rng.uniform(0.10, 0.25)))
        for _ in range(round(SIMPLE_PER_MB * mb)):
            unit = mt.encode(SIMPLE_UNITS[int(rng.integers(len(SIMPLE_UNITS)))])
            size = int(rng.integers(20, 120, endpoint=True))
            copies.append(_mutate(rng, np.resize(unit, size), rng.uniform(0.0, 0.05)))
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
            for key, f in self.f.items():
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
                    for key, f in self.f.items():
                        fwd, rev = f.scan(codes[a:b])
                        for strand, scores in (("+", fwd), ("-", rev)):
                            for p in np.flatnonzero(scores >= f.threshold):
                                again.append(self._break_match(codes, f, a + int(p), strand, self.f))
                self.cleaned += len(dirty)
                dirty = again

    @staticmethod
    def _break_match(codes, f: _Factor, p: int, strand: str, careful: dict | None = None) -> int:
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

    # ---------------------------------------------------------------- site groups

    def _specs(self) -> list[tuple]:
        specs: list[tuple] = []
        for t in SINGLE_TASKS:
            specs += [("bound", t, "", "")] * BOUND_SITES[t]
        specs += [("composite", COMPOSITE_TASK, "", "")] * COMPOSITE_SITES
        for t in SINGLE_TASKS:
            n_bound = BOUND_SITES[t] + (COMPOSITE_SITES if t == "GATA1" else 0)
            specs += [("unbound", t, "", "")] * round(UNBOUND_FRACTION * n_bound)
        specs += [("decoy", "TAL1", "", "")] * DECOY_SITES
        for t in TASKS:
            k = 0
            for mode, n in CREATE_PLAN:
                for _ in range(n):
                    # composite task: alternately the TAL1 or the GATA1 partner is missing
                    target = ("TAL1", "GATA1")[k % 2] if t == COMPOSITE_TASK else t
                    role = "slot" if mode == "insertion" else "broken"
                    specs.append((role, t, mode, target))
                    k += 1
        peaks_expected = dict(BOUND_SITES)
        peaks_expected["GATA1"] += COMPOSITE_SITES
        peaks_expected[COMPOSITE_TASK] = COMPOSITE_SITES
        noise = {t: max(1, round(NOISE_PEAK_FRACTION * peaks_expected[t])) for t in TASKS}
        noise["GATA1"] = max(1, noise["GATA1"] - noise[COMPOSITE_TASK])  # those are GATA1 peaks too
        for t in TASKS:
            specs += [("noise", t, "", "")] * noise[t]
        return specs

    def place_sites(self) -> None:
        rng = self.rng["sites"]
        specs = self._specs()
        total = sum(length for _, length in CHROMOSOMES)
        per_chrom: dict[str, list[tuple]] = {name: [] for name, _ in CHROMOSOMES}
        kinds: dict[tuple, int] = {}
        for s in specs:
            kinds[s] = kinds.get(s, 0) + 1
        for spec, n in kinds.items():  # proportional to chromosome length (largest remainder)
            quota = np.array([n * length / total for _, length in CHROMOSOMES])
            counts = np.floor(quota).astype(int)
            for i in np.argsort(-(quota - counts), kind="stable")[: n - counts.sum()]:
                counts[i] += 1
            for (name, _), c in zip(CHROMOSOMES, counts):
                per_chrom[name] += [spec] * int(c)
        for name, _ in CHROMOSOMES:
            chrom = self.chroms[name]
            ok = self._centre_space(chrom)
            chrom_specs = per_chrom[name]
            for k in rng.permutation(len(chrom_specs)):
                group = self._place_one(rng, chrom, ok, chrom_specs[k])
                self.groups.append(group)
        self.groups.sort(key=lambda g: (g.chrom, g.centre))
        for i, g in enumerate(self.groups, start=1):
            g.gid = f"site_{i:06d}"

    def _centre_space(self, chrom: _Chrom) -> np.ndarray:
        n = chrom.length

        def near(mask: np.ndarray, radius: int) -> np.ndarray:
            prefix = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
            idx = np.arange(n)
            return prefix[np.minimum(idx + radius + 1, n)] - prefix[np.maximum(idx - radius, 0)] > 0

        ok = ~near(chrom.codes == 4, SITE_N_CLEARANCE) & ~near(chrom.soft, SITE_REPEAT_CLEARANCE)
        for a, b in chrom.artefacts:
            ok[max(a - 1_000, 0) : b + 1_000] = False
        for a, b in chrom.deserts:
            ok[max(a - SITE_SPACING, 0) : b + SITE_SPACING] = False
        ok[:SITE_N_CLEARANCE] = ok[n - SITE_N_CLEARANCE :] = False
        return ok

    def _place_one(self, rng, chrom: _Chrom, ok: np.ndarray, spec: tuple) -> _Group:
        for _ in range(200):
            cand = rng.integers(0, chrom.length, 256)
            good = cand[ok[cand]]
            if good.size == 0:
                good = np.flatnonzero(ok)
                if good.size == 0:
                    raise RuntimeError(f"no room left on {chrom.name} for another site")
                good = good[rng.integers(0, good.size, 1)]
            centre = int(good[0])
            group = self._build_group(rng, chrom, centre, spec)
            if group is not None:
                ok[max(centre - SITE_SPACING + 1, 0) : centre + SITE_SPACING] = False
                return group
        raise RuntimeError(f"could not plant a {spec[0]} site on {chrom.name}")

    def _oriented_draw(self, rng, key: str) -> tuple[np.ndarray, str]:
        seq = self.f[key].draw(rng)
        strand = "+" if rng.random() < 0.5 else "-"
        return (seq if strand == "+" else mt.reverse_complement_codes(seq)), strand

    def _pair_layout(self, rng, centre: int, a_key: str, b_key: str) -> tuple[int, int]:
        """Starts of two instances whose centres are 20-60 bp apart, in random order."""
        d = int(rng.integers(COMPOSITE_DISTANCE[0], COMPOSITE_DISTANCE[1] + 1))
        wa, wb = self.f[a_key].width, self.f[b_key].width
        if rng.random() < 0.5:
            ca, cb = centre - d // 2, centre - d // 2 + d
        else:
            cb, ca = centre - d // 2, centre - d // 2 + d
        return ca - wa // 2, cb - wb // 2

    def _build_group(self, rng, chrom: _Chrom, centre: int, spec: tuple) -> _Group | None:
        role, task, mode, target = spec
        group = _Group(role, task, chrom.name, centre, mode=mode, target=target)
        for _attempt in range(20):
            writes: list[tuple[int, np.ndarray]] = []
            group.instances = []
            group.restore = None
            if role in ("bound", "unbound", "decoy"):
                key = "TAL1" if role == "decoy" else task
                seq, strand = self._oriented_draw(rng, key)
                start = centre - seq.shape[0] // 2
                kind = role
                tasks = (task,) if role == "bound" else ()
                group.instances.append(_Instance(key, start, start + seq.shape[0], strand, kind, tasks))
                writes.append((start, seq))
                group.peak_tasks = tasks
            elif role == "composite":
                sa, sb = self._pair_layout(rng, centre, "GATA1", "TAL1")
                for key, start, tasks in (("GATA1", sa, ("GATA1", COMPOSITE_TASK)), ("TAL1", sb, (COMPOSITE_TASK,))):
                    seq, strand = self._oriented_draw(rng, key)
                    group.instances.append(_Instance(key, start, start + seq.shape[0], strand, "bound", tasks))
                    writes.append((start, seq))
                group.peak_tasks = ("GATA1", COMPOSITE_TASK)
            elif role == "noise":  # GATA1_TAL1 peaks stay a subset of GATA1 peaks
                group.peak_tasks = ("GATA1", task) if task == COMPOSITE_TASK else (task,)
            elif role in ("slot", "broken"):
                partner = None
                if task == COMPOSITE_TASK:  # the other motif of the pair is already there
                    partner = "GATA1" if target == "TAL1" else "TAL1"
                    sp, st = self._pair_layout(rng, centre, partner, target)
                    seq, strand = self._oriented_draw(rng, partner)
                    kind = "bound" if partner == "GATA1" else "decoy"
                    tasks = ("GATA1",) if partner == "GATA1" else ()
                    group.instances.append(_Instance(partner, sp, sp + seq.shape[0], strand, kind, tasks))
                    writes.append((sp, seq))
                    group.peak_tasks = tasks
                else:
                    st = centre - self.f[target].width // 2
                if role == "slot":
                    group.restore = (st, st + self.f[target].width)  # where the insertion goes
                else:
                    broken = self._break(rng, target, st, mode, task)
                    if broken is None:
                        continue
                    inst, seq, restore = broken
                    group.instances.append(inst)
                    writes.append((inst.start, seq))
                    group.restore = restore
            else:  # pragma: no cover
                raise ValueError(role)
            if self._commit_if_clean(chrom, group, writes):
                return group
        return None

    def _break(self, rng, key: str, start: int, mode: str, task: str):
        """A strong instance spoilt by one base (snv), two adjacent bases (mnv) or 1-3 extra bases
        (deletion); ``restore`` is the variant that repairs it: (pos0, ref, alt, restored)."""
        f = self.f[key]
        seq, strand = self._oriented_draw(rng, key)
        t = f.oriented(strand)
        cols = np.arange(f.width)
        cur = t[cols, seq]
        worst = t[:, :4].argmin(axis=1)
        drop = cur - t[cols, worst]
        tasks = (
            (task,) if task != COMPOSITE_TASK else ((COMPOSITE_TASK,) if key == "TAL1" else ("GATA1", COMPOSITE_TASK))
        )
        restored = _Instance(key, start, start + f.width, strand, "restored", tasks)
        if mode == "snv":
            j = int(rng.choice(np.argsort(-drop, kind="stable")[:3]))
            if drop[j] <= 0:
                return None
            bad = seq.copy()
            bad[j] = worst[j]
            restore = (start + j, bad[j : j + 1], seq[j : j + 1], restored)
        elif mode == "mnv":
            pair = drop[:-1] + drop[1:]
            j = int(np.argmax(pair))
            if drop[j] <= 0 or drop[j + 1] <= 0:
                return None
            bad = seq.copy()
            bad[j : j + 2] = worst[j : j + 2]
            restore = (start + j, bad[j : j + 2], seq[j : j + 2], restored)
        elif mode == "deletion":
            j = int(rng.integers(3, f.width - 2))
            k = int(rng.integers(1, 4))
            junk = rng.integers(0, 4, k).astype(np.uint8)
            if junk[-1] == seq[j - 1]:
                junk[-1] = (junk[-1] + 1) % 4  # keeps the repairing deletion left-aligned
            bad = np.concatenate([seq[:j], junk, seq[j:]])
            restore = (start + j - 1, np.concatenate([seq[j - 1 : j], junk]), seq[j - 1 : j], restored)
        else:  # pragma: no cover
            raise ValueError(mode)
        inst = _Instance(key, start, start + bad.shape[0], strand, "broken", ())
        return inst, bad, restore

    def _commit_if_clean(self, chrom: _Chrom, group: _Group, writes) -> bool:
        lo = min([s for s, _ in writes] + [group.centre - 30]) - _SEG_PAD
        hi = max([s + q.shape[0] for s, q in writes] + [group.centre + 30]) + _SEG_PAD
        if group.role == "slot":
            hi += 100  # the insertion shifts sequence into view
        seg = chrom.codes[lo:hi].copy()
        if (seg == 4).any():
            return False
        if writes:  # planted bases never land in repeats
            a = min(s for s, _ in writes)
            b = max(s + q.shape[0] for s, q in writes)
            if chrom.soft[a - 5 : b + 5].any():
                return False
        for s, q in writes:
            seg[s - lo : s - lo + q.shape[0]] = q
        intact = [(i.factor, i.start, i.strand) for i in group.intact]
        weak = [(i.factor, i.start, i.end) for i in group.instances if i.kind == "broken"]
        if not _check_segment(self.f, seg, lo, intact, weak):
            return False
        if group.role == "broken":  # the repair must give exactly the restored instance
            pos0, ref, alt, restored = group.restore
            fixed = _apply(seg, pos0 - lo, ref.shape[0], alt)
            if not _check_segment(self.f, fixed, lo, intact + [(restored.factor, restored.start, restored.strand)]):
                return False
        chrom.codes[lo:hi] = seg
        for inst in group.instances:
            f = self.f[inst.factor]
            window = seg[inst.start - lo : inst.end - lo]
            if inst.kind == "broken":
                fwd, rev = f.scan(window)
                inst.score = float(max(fwd.max(), rev.max()))
            else:
                inst.score = f.score(window, inst.strand)
        return True

    # ---------------------------------------------------------------- peaks

    def make_peaks(self) -> None:
        rng = self.rng["peaks"]
        for g in self.groups:
            if not g.peak_tasks:
                continue
            intact = g.intact
            if intact:
                lo, hi = min(i.start for i in intact), max(i.end for i in intact)
                rel = np.mean(
                    [
                        (i.score - self.f[i.factor].threshold)
                        / (self.f[i.factor].max_score - self.f[i.factor].threshold)
                        for i in intact
                    ]
                )
            else:
                lo, hi = g.centre, g.centre + 1
                rel = None
            mid = (lo + hi) // 2
            for task in g.peak_tasks:
                width = int(rng.integers(PEAK_WIDTH[0], PEAK_WIDTH[1] + 1))
                shift = int(np.clip(round(rng.normal(0.0, SUMMIT_SD)), -SUMMIT_MAX_SHIFT, SUMMIT_MAX_SHIFT))
                summit = mid + shift
                start = summit - int(round(width * rng.uniform(*SUMMIT_FRACTION)))
                end = start + width
                if start > lo or end < hi:  # pragma: no cover - geometry keeps sites inside
                    raise RuntimeError("a peak does not contain its site")
                if rel is None:
                    signal = float(np.exp(rng.normal(np.log(6.0), 0.3)))
                    origin = "noise"
                else:
                    boost = 0.3 if len(intact) == 2 else 0.0
                    signal = float(np.exp(rng.normal(np.log(12.0) + 1.0 * rel + boost, 0.3)))
                    origin = "site"
                self.peaks[task].append(
                    self._peak_row(rng, g.chrom, start, end, f"{task}_{origin}_{g.gid[5:]}", signal, summit - start)
                )
        for i, (name, a, b) in enumerate(self.artefact_regions(), start=1):
            for task in TASKS:  # a high-signal pile-up in every task, motif or not
                start = a - int(rng.integers(0, 51))
                end = b + int(rng.integers(0, 51))
                summit = int(rng.integers(a, b)) - start
                signal = float(np.exp(rng.normal(np.log(150.0), 0.2)))
                self.peaks[task].append(self._peak_row(rng, name, start, end, f"{task}_artefact_{i}", signal, summit))
        order = {name: i for i, (name, _) in enumerate(CHROMOSOMES)}
        for task in TASKS:
            self.peaks[task].sort(key=lambda r: (order[r[0]], r[1], r[2], r[3]))

    @staticmethod
    def _peak_row(rng, chrom, start, end, name, signal, summit) -> tuple:
        p_value = max(2.0, 1.8 * signal + rng.normal(0.0, 1.0))
        q_value = max(1.0, p_value - 1.3 - abs(rng.normal(0.0, 0.5)))
        score = int(min(1000, round(20 * signal)))
        return (
            chrom,
            int(start),
            int(end),
            name,
            score,
            ".",
            round(signal, 5),
            round(p_value, 5),
            round(q_value, 5),
            int(summit),
        )

    def artefact_regions(self) -> list[tuple[str, int, int]]:
        return [(name, a, b) for name, _ in CHROMOSOMES for a, b in self.chroms[name].artefacts]

    # ---------------------------------------------------------------- variants

    def make_variants(self) -> None:
        rng = self.rng["variants"]
        by_role: dict[tuple[str, str], list[_Group]] = {}
        for g in self.groups:
            by_role.setdefault((g.role, g.task), []).append(g)
        for task in TASKS:
            role = "composite" if task == COMPOSITE_TASK else "bound"
            pool = [by_role[(role, task)][i] for i in rng.permutation(len(by_role[(role, task)]))]
            k = 0
            plan = [("multi", 1)] if task == MULTIALLELIC_TASK else []
            for kind, n in plan + list(DESTROY_PLAN):
                for _ in range(n):
                    target = ("TAL1", "GATA1")[k % 2] if task == COMPOSITE_TASK else task
                    k += 1
                    for gi, g in enumerate(pool):
                        variant = self._destroy(rng, g, target, kind)
                        if variant is not None:
                            self.variants.append(variant)
                            del pool[gi]
                            break
                    else:
                        raise RuntimeError(f"no {task} site could take a destroying {kind}")
            for g in by_role.get(("broken", task), []) + by_role.get(("slot", task), []):
                self.variants.append(self._create(rng, g))
        self._neutral(rng)
        order = {name: i for i, (name, _) in enumerate(CHROMOSOMES)}
        self.variants.sort(key=lambda v: (order[v.chrom], v.pos0))
        for i, v in enumerate(self.variants, start=1):
            v.vid = f"sim_{i:06d}"
        for a, b in zip(self.variants, self.variants[1:]):
            if a.chrom == b.chrom and a.pos0 + a.ref.shape[0] + 1 > b.pos0:  # pragma: no cover
                raise RuntimeError("planted variants overlap")

    def _segment(self, g: _Group, extra: int = 0) -> tuple[int, int]:
        lo, hi = g.span()
        return lo - _SEG_PAD, hi + _SEG_PAD + extra

    def _destroy(self, rng, g: _Group, target: str, kind: str) -> _Variant | None:
        chrom = self.chroms[g.chrom]
        inst = next(i for i in g.intact if i.factor == target)
        f = self.f[target]
        others = [(i.factor, i.start, i.strand) for i in g.intact if i is not inst]
        lo, hi = self._segment(g, 20)
        seg = chrom.codes[lo:hi]
        s, e = inst.start, inst.end
        site = chrom.codes[s:e]
        t = f.oriented(inst.strand)
        cols = np.arange(f.width)
        cur = t[cols, site]
        drops = cur[:, None] - t[:, :4]  # (position, alt base)
        drops[cols, site] = -np.inf
        key_positions = np.argsort(-drops.max(axis=1), kind="stable")

        def ok(pos0: int, ref_len: int, alt: np.ndarray, span_end: int) -> bool:
            alt_seg = _apply(seg, pos0 - lo, ref_len, alt)
            delta = alt.shape[0] - ref_len
            moved = [(k, st + (delta if st > pos0 else 0), sd) for k, st, sd in others]
            return _check_segment(self.f, alt_seg, lo, moved, [(target, s, span_end)])

        def allele(alt, vkind):
            return _Allele(alt, vkind, "destroy", target, inst.tasks, (s, e))

        if kind in ("snv", "multi"):
            for j in rng.permutation(key_positions[:4]):
                bases = [int(b) for b in np.argsort(-drops[j], kind="stable")[:3] if b != site[j]]
                good = [b for b in bases if ok(s + j, 1, np.array([b], np.uint8), e)]
                need = 2 if kind == "multi" else 1
                if len(good) >= need:
                    alts = [allele(np.array([b], np.uint8), "snv") for b in good[:need]]
                    return _Variant(g.chrom, s + j, site[j : j + 1].copy(), alts)
            return None
        if kind == "mnv":
            best = drops.max(axis=1)
            j = int(np.argmax(best[:-1] + best[1:]))
            alt = np.array([np.argmax(drops[j]), np.argmax(drops[j + 1])], np.uint8)
            if ok(s + j, 2, alt, e):
                return _Variant(g.chrom, s + j, site[j : j + 2].copy(), [allele(alt, "mnv")])
            return None
        if kind == "deletion":
            for _ in range(10):
                k = int(rng.integers(1, min(10, f.width - 1) + 1))
                q = int(rng.choice(key_positions[:3]))
                first, last = max(1, q - k + 1), min(q, f.width - k)
                if first > last:
                    continue
                d = s + int(rng.integers(first, last + 1))  # deleted: [d, d+k), covers position q
                if chrom.codes[d - 1] == chrom.codes[d + k - 1]:
                    continue  # not left-aligned; try another span
                ref = chrom.codes[d - 1 : d + k].copy()
                if ok(d - 1, k + 1, ref[:1], e - k):
                    return _Variant(g.chrom, d - 1, ref, [allele(ref[:1].copy(), "deletion")])
            return None
        if kind == "insertion":
            for _ in range(10):
                k = int(rng.integers(1, 7))
                i = s + int(rng.integers(2, f.width - 1))  # inserted before position i
                extra = rng.integers(0, 4, k).astype(np.uint8)
                if extra[-1] == chrom.codes[i - 1]:
                    continue
                ref = chrom.codes[i - 1 : i].copy()
                alt = np.concatenate([ref, extra])
                if ok(i - 1, 1, alt, e + k):
                    return _Variant(g.chrom, i - 1, ref, [allele(alt, "insertion")])
            return None
        raise ValueError(kind)  # pragma: no cover

    def _create(self, rng, g: _Group) -> _Variant:
        chrom = self.chroms[g.chrom]
        partners = [(i.factor, i.start, i.strand) for i in g.intact]
        lo, hi = self._segment(g, 60)
        seg = chrom.codes[lo:hi]
        if g.role == "broken":
            pos0, ref, alt, restored = g.restore
            assert np.array_equal(chrom.codes[pos0 : pos0 + ref.shape[0]], ref)
            broken = next(i for i in g.instances if i.kind == "broken")
            fixed = _apply(seg, pos0 - lo, ref.shape[0], alt)
            if not _check_segment(self.f, fixed, lo, partners + [(restored.factor, restored.start, restored.strand)]):
                raise RuntimeError("a planted broken instance does not repair")  # pragma: no cover
            allele = _Allele(alt.copy(), g.mode, "create", restored.factor, restored.tasks, (broken.start, broken.end))
            return _Variant(g.chrom, pos0, ref.copy(), [allele])
        # slot: insert a whole instance
        f = self.f[g.target]
        tasks = (
            (g.task,)
            if g.task != COMPOSITE_TASK
            else ((COMPOSITE_TASK,) if g.target == "TAL1" else ("GATA1", COMPOSITE_TASK))
        )
        start, _ = g.restore
        for attempt in range(100):
            seq, strand = self._oriented_draw(rng, g.target)
            i = start + attempt % 3
            if seq[-1] == chrom.codes[i - 1]:
                continue  # keep the insertion left-aligned
            ref = chrom.codes[i - 1 : i].copy()
            alt = np.concatenate([ref, seq])
            alt_seg = _apply(seg, i - 1 - lo, 1, alt)
            moved = [(k, st + (f.width if st >= i else 0), sd) for k, st, sd in partners]
            if _check_segment(self.f, alt_seg, lo, moved + [(g.target, i, strand)]):
                allele = _Allele(alt, "insertion", "create", g.target, tasks, (i, i + f.width))
                return _Variant(g.chrom, i - 1, ref, [allele])
        raise RuntimeError("could not insert a motif instance")  # pragma: no cover

    def _neutral(self, rng) -> None:
        spots = []
        for name, _ in CHROMOSOMES:
            for a, b in self.chroms[name].deserts:
                spots.append((name, a + NEUTRAL_MIN_DISTANCE, b - NEUTRAL_MIN_DISTANCE))
        per = np.full(len(spots), NEUTRAL_SNVS // len(spots))
        per[: NEUTRAL_SNVS - per.sum()] += 1
        for (name, a, b), n in zip(spots, per):
            codes = self.chroms[name].codes
            placed: list[int] = []
            tries = 0
            while len(placed) < n:
                tries += 1
                if tries > 100_000:  # pragma: no cover
                    raise RuntimeError("no room for neutral variants")
                p = int(rng.integers(a, b))
                if codes[p] == 4 or any(abs(p - q) < NEUTRAL_SPACING for q in placed):
                    continue
                alt = np.array([(codes[p] + rng.integers(1, 4)) % 4], np.uint8)
                lo = p - _SEG_PAD
                seg = codes[lo : p + _SEG_PAD + 1]
                if (seg == 4).any():
                    continue
                if not _check_segment(self.f, _apply(seg, p - lo, 1, alt), lo, []):
                    continue
                placed.append(p)
                self.variants.append(_Variant(name, p, codes[p : p + 1].copy(), [_Allele(alt, "snv", "neutral")]))

    # ---------------------------------------------------------------- checks

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

    # ---------------------------------------------------------------- writing

    def write(self, out: Path, motif_file: Path) -> dict:
        out.mkdir(parents=True, exist_ok=True)
        (out / "peaks").mkdir(exist_ok=True)
        self._write_fasta(out / GENOME_NAME)
        for task in TASKS:
            self._write_rows(out / "peaks" / f"{task}.narrowPeak", self.peaks[task])
        self._write_rows(out / "blacklist.bed", self.artefact_regions())
        self._write_rows(out / "motif_sites.bed", self._site_rows())
        self._write_vcf(out / "variants.vcf.gz")
        self._write_truth(out / "variants_truth.tsv")
        self._write_signal(out / "signal" / f"{SIGNAL_TASK}.bw")
        summary = self._summary(out, motif_file)
        with atomic_path(out / "summary.json") as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return summary

    def signal_tracks(self) -> dict[str, np.ndarray]:
        """Per-base signal of the bound SIGNAL_TASK instances, per chromosome (float32)."""
        rng = np.random.default_rng([self.seed, 0x5167])
        offsets = np.arange(-SIGNAL_HALF_WIDTH, SIGNAL_HALF_WIDTH + 1)
        bump = np.exp(-0.5 * (offsets / SIGNAL_SD) ** 2)
        tracks = {name: np.zeros(length, dtype=np.float64) for name, length in CHROMOSOMES}
        for g in self.groups:
            for i in g.instances:
                if i.kind != "bound" or SIGNAL_TASK not in i.tasks:
                    continue
                f = self.f[i.factor]
                strength = (i.score - f.threshold) / (f.max_score - f.threshold)
                height = SIGNAL_SCALE * (1 + 9 * strength) * rng.lognormal(0.0, SIGNAL_NOISE)
                centre = (i.start + i.end) // 2
                at = centre + offsets
                keep = (at >= 0) & (at < len(tracks[g.chrom]))
                tracks[g.chrom][at[keep]] += height * bump[keep]
        return {c: np.round(t, 2).astype(np.float32) for c, t in tracks.items()}

    def _write_signal(self, path: Path) -> None:
        from .signals import write_bigwig

        path.parent.mkdir(exist_ok=True)
        write_bigwig(path, dict(CHROMOSOMES), self.signal_tracks())

    def _write_fasta(self, path: Path) -> None:
        fai = []
        offset = 0
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            for name, length in CHROMOSOMES:
                chrom = self.chroms[name]
                letters = np.where(chrom.soft, mt.CODE_LETTERS_LOWER[chrom.codes], mt.CODE_LETTERS[chrom.codes])
                header = f">{name}\n".encode()
                handle.write(header)
                offset += len(header)
                fai.append(f"{name}\t{length}\t{offset}\t60\t61\n")
                full = length // 60
                body = np.empty((full, 61), dtype=np.uint8)
                body[:, :60] = letters[: full * 60].reshape(full, 60)
                body[:, 60] = ord("\n")
                handle.write(body.tobytes())
                offset += body.size
                rest = letters[full * 60 :]
                if rest.size:
                    handle.write(rest.tobytes() + b"\n")
                    offset += rest.size + 1
        with atomic_path(path.with_name(path.name + ".fai")) as tmp:
            Path(tmp).write_text("".join(fai))

    @staticmethod
    def _write_rows(path: Path, rows) -> None:
        with atomic_path(path) as tmp:
            Path(tmp).write_text("".join("\t".join(str(v) for v in row) + "\n" for row in rows))

    def _site_rows(self) -> list[tuple]:
        order = {name: i for i, (name, _) in enumerate(CHROMOSOMES)}
        rows = []
        for g in self.groups:
            for i in g.instances:
                rows.append(
                    (
                        g.chrom,
                        i.start,
                        i.end,
                        FACTORS[i.factor],
                        f"{i.score:.3f}",
                        i.strand,
                        i.kind,
                        ",".join(i.tasks) or ".",
                        g.gid,
                    )
                )
        rows.sort(key=lambda r: (order[r[0]], r[1], r[2], r[3]))
        return rows

    def _write_vcf(self, path: Path) -> None:
        lines = [
            "##fileformat=VCFv4.2",
            f"##source=deepcis.simulate {__version__} seed={self.seed}",
            f"##reference={GENOME_NAME}",
            *(f"##contig=<ID={name},length={length}>" for name, length in CHROMOSOMES),
            '##INFO=<ID=EFFECT,Number=A,Type=String,Description="Planted effect of the allele on a motif instance: destroy, create or neutral">',
            '##INFO=<ID=KIND,Number=A,Type=String,Description="Variant kind: snv, mnv, insertion or deletion">',
            '##INFO=<ID=MOTIF,Number=A,Type=String,Description="JASPAR ID of the motif instance the allele affects (. for neutral)">',
            '##INFO=<ID=TASKS,Number=A,Type=String,Description="Tasks whose label the allele changes, separated by | (. for none)">',
            '##INFO=<ID=SIGN,Number=A,Type=Integer,Description="Expected sign of the change in those tasks: -1 (destroy), 1 (create), 0 (neutral)">',
            '##INFO=<ID=SITE,Number=A,Type=String,Description="Affected instance as start-end, 0-based half-open (. for neutral); for inserted instances the span in the ALT haplotype">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        ]
        for v in self.variants:
            a = v.alleles
            info = ";".join(
                [
                    "EFFECT=" + ",".join(x.effect for x in a),
                    "KIND=" + ",".join(x.kind for x in a),
                    "MOTIF=" + ",".join(FACTORS[x.factor] if x.factor else "." for x in a),
                    "TASKS=" + ",".join("|".join(x.tasks) or "." for x in a),
                    "SIGN=" + ",".join(str(x.sign) for x in a),
                    "SITE=" + ",".join(f"{x.site[0]}-{x.site[1]}" if x.site else "." for x in a),
                ]
            )
            alts = ",".join(mt.decode(x.alt) for x in a)
            lines.append(f"{v.chrom}\t{v.pos0 + 1}\t{v.vid}\t{mt.decode(v.ref)}\t{alts}\t.\tPASS\t{info}")
        text = "\n".join(lines) + "\n"
        # the index is renamed into place after the data it indexes
        with atomic_path(path.with_name(path.name + ".tbi")) as tbi, atomic_path(path) as gz:
            plain = gz.with_name(gz.name + ".vcf")
            try:
                plain.write_text(text)
                pysam.tabix_compress(str(plain), str(gz), force=True)
            finally:
                plain.unlink(missing_ok=True)
            pysam.tabix_index(str(gz), preset="vcf", force=True, index=str(tbi))

    def _write_truth(self, path: Path) -> None:
        rows = [TRUTH_COLUMNS]
        for v in self.variants:
            for x in v.alleles:
                site = x.site or ("", "")
                rows.append(
                    (
                        v.chrom,
                        v.pos0 + 1,
                        v.vid,
                        mt.decode(v.ref),
                        mt.decode(x.alt),
                        x.kind,
                        x.effect,
                        FACTORS[x.factor] if x.factor else "",
                        ",".join(x.tasks),
                        x.sign,
                        site[0],
                        site[1],
                    )
                )
        self._write_rows(path, rows)

    def _summary(self, out: Path, motif_file: Path) -> dict:
        sites: dict[str, dict[str, int]] = {}
        for g in self.groups:
            for i in g.instances:
                sites.setdefault(i.kind, {}).setdefault(FACTORS[i.factor], 0)
                sites[i.kind][FACTORS[i.factor]] += 1
        by_effect: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        by_task = {t: {"destroy": 0, "create": 0} for t in TASKS}
        for v in self.variants:
            for x in v.alleles:
                by_effect[x.effect] = by_effect.get(x.effect, 0) + 1
                by_kind[x.kind] = by_kind.get(x.kind, 0) + 1
                for t in x.tasks:
                    by_task[t][x.effect] += 1
        origins = {t: {"site": 0, "noise": 0, "artefact": 0} for t in TASKS}
        for t in TASKS:
            for row in self.peaks[t]:
                origins[t][row[3].split("_")[-2]] += 1
        codes = np.concatenate([c.codes for c in self.chroms.values()])
        soft = np.concatenate([c.soft for c in self.chroms.values()])
        acgt = codes < 4
        return {
            "generator": f"deepcis.simulate {__version__}",
            "seed": self.seed,
            "motif_file": motif_file.name,
            "motif_file_sha256": sha256_file(motif_file),
            "chromosomes": {name: length for name, length in CHROMOSOMES},
            "genome": {
                "length": int(codes.shape[0]),
                "n_bases": int((~acgt).sum()),
                "soft_masked_bases": int(soft.sum()),
                "gc_fraction": round(float(np.isin(codes[acgt], (1, 2)).mean()), 4),
                "background_matches_removed": int(self.cleaned),
            },
            "tasks": list(TASKS),
            "motifs": {
                FACTORS[k]: {
                    "name": f.motif.name,
                    "length": f.width,
                    "max_log_odds": round(f.max_score, 4),
                    "match_threshold": round(f.threshold, 4),
                    "weak_level": round(f.weak, 4),
                }
                for k, f in self.f.items()
            },
            "peaks": {t: len(self.peaks[t]) for t in TASKS},
            "peaks_by_origin": origins,
            "sites": sites,
            "blacklist_regions": len(self.artefact_regions()),
            "variants": {
                "records": len(self.variants),
                "alleles": sum(len(v.alleles) for v in self.variants),
                "by_effect": by_effect,
                "by_kind": by_kind,
                "by_task": by_task,
            },
            "files_sha256": {name: sha256_file(out / name) for name in OUTPUT_FILES if name != "summary.json"},
        }


# ----------------------------------------------------------------------------- public API


def simulate_example(out_dir: str | os.PathLike, motif_file: str | os.PathLike, seed: int = 7) -> dict:
    """Write the example data set into ``out_dir`` and return its summary (also ``summary.json``).

    Files: genome.fa (+ .fai), peaks/<TASK>.narrowPeak, blacklist.bed, motif_sites.bed,
    variants.vcf.gz (+ .tbi), variants_truth.tsv, summary.json. Each file is written under a
    temporary name and renamed into place when complete.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out, motif_file = Path(out_dir), Path(motif_file)
    factors = _load_factors(motif_file)  # bad motif files fail before any work
    sim = _Simulator(factors, int(seed))
    log.info("simulating the example genome (seed %d)", seed)
    sim.build_genome()
    sim.clean_background()
    log.info("removed %d chance motif matches from the background", sim.cleaned)
    sim.place_sites()
    log.info("planted %d site groups", len(sim.groups))
    sim.make_peaks()
    sim.make_variants()
    sim.verify()
    summary = sim.write(out, motif_file)
    log.info("peaks per task: %s", summary["peaks"])
    log.info("variant alleles per effect: %s", summary["variants"]["by_effect"])
    return summary
