"""What the generator lays out (instances, site groups, chromosomes, variant alleles) and the
local check that a stretch of sequence holds exactly the expected motifs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .factors import Factors


@dataclass
class Instance:
    """A planted motif instance: factor, span, strand, kind and the tasks it drives."""

    factor: str
    start: int
    end: int
    strand: str
    kind: str  # bound / unbound / decoy / broken
    tasks: tuple[str, ...] = ()
    score: float = 0.0


@dataclass
class Group:
    """Everything planted around one site centre (a site, a composite, a slot or a noise peak)."""

    role: str
    task: str
    chrom: str
    centre: int
    instances: list[Instance] = field(default_factory=list)
    peak_tasks: tuple[str, ...] = ()
    restore: tuple | None = None  # broken groups: (pos0, ref codes, alt codes, restored instance)
    target: str = ""  # factor that a create variant makes or a composite destroy hits
    mode: str = ""  # variant kind planned for broken groups
    gid: str = ""

    @property
    def intact(self) -> list[Instance]:
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
class Chrom:
    """A chromosome in the making: base codes, soft-mask, artefact and desert regions."""

    name: str
    length: int
    codes: np.ndarray
    soft: np.ndarray
    artefacts: list[tuple[int, int]] = field(default_factory=list)
    deserts: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class Allele:
    """An ALT allele and its known effect on a motif instance."""

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
class Variant:
    """A VCF record of the example: REF and its ALT alleles."""

    chrom: str
    pos0: int  # 0-based start of REF
    ref: np.ndarray
    alleles: list[Allele]
    vid: str = ""


def apply_edit(codes: np.ndarray, pos0: int, ref_len: int, alt: np.ndarray) -> np.ndarray:
    """`codes` with the `ref_len` bases at `pos0` replaced by `alt`."""
    return np.concatenate([codes[:pos0], alt, codes[pos0 + ref_len :]])


def check_segment(
    factors: Factors,
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
