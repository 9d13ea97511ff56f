"""Variants with a known effect: alleles that destroy or create a motif instance, and neutral SNVs."""

from __future__ import annotations

import numpy as np

from .params import (
    CHROMOSOMES,
    COMPOSITE_TASK,
    DESTROY_PLAN,
    MULTIALLELIC_TASK,
    NEUTRAL_MIN_DISTANCE,
    NEUTRAL_SNVS,
    NEUTRAL_SPACING,
    SEG_PAD,
    TASKS,
)
from .records import Allele, Group, Variant, apply_edit, check_segment


class VariantsMixin:
    """Simulator step: `make_variants`."""

    def make_variants(self) -> None:
        rng = self.rng["variants"]
        by_role: dict[tuple[str, str], list[Group]] = {}
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

    def _segment(self, g: Group, extra: int = 0) -> tuple[int, int]:
        lo, hi = g.span()
        return lo - SEG_PAD, hi + SEG_PAD + extra

    def _destroy(self, rng, g: Group, target: str, kind: str) -> Variant | None:
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
            alt_seg = apply_edit(seg, pos0 - lo, ref_len, alt)
            delta = alt.shape[0] - ref_len
            moved = [(k, st + (delta if st > pos0 else 0), sd) for k, st, sd in others]
            return check_segment(self.f, alt_seg, lo, moved, [(target, s, span_end)])

        def allele(alt, vkind):
            return Allele(alt, vkind, "destroy", target, inst.tasks, (s, e))

        if kind in ("snv", "multi"):
            for j in rng.permutation(key_positions[:4]):
                bases = [int(b) for b in np.argsort(-drops[j], kind="stable")[:3] if b != site[j]]
                good = [b for b in bases if ok(s + j, 1, np.array([b], np.uint8), e)]
                need = 2 if kind == "multi" else 1
                if len(good) >= need:
                    alts = [allele(np.array([b], np.uint8), "snv") for b in good[:need]]
                    return Variant(g.chrom, s + j, site[j : j + 1].copy(), alts)
            return None
        if kind == "mnv":
            best = drops.max(axis=1)
            j = int(np.argmax(best[:-1] + best[1:]))
            alt = np.array([np.argmax(drops[j]), np.argmax(drops[j + 1])], np.uint8)
            if ok(s + j, 2, alt, e):
                return Variant(g.chrom, s + j, site[j : j + 2].copy(), [allele(alt, "mnv")])
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
                    return Variant(g.chrom, d - 1, ref, [allele(ref[:1].copy(), "deletion")])
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
                    return Variant(g.chrom, i - 1, ref, [allele(alt, "insertion")])
            return None
        raise ValueError(kind)  # pragma: no cover

    def _create(self, rng, g: Group) -> Variant:
        chrom = self.chroms[g.chrom]
        partners = [(i.factor, i.start, i.strand) for i in g.intact]
        lo, hi = self._segment(g, 60)
        seg = chrom.codes[lo:hi]
        if g.role == "broken":
            pos0, ref, alt, restored = g.restore
            assert np.array_equal(chrom.codes[pos0 : pos0 + ref.shape[0]], ref)
            broken = next(i for i in g.instances if i.kind == "broken")
            fixed = apply_edit(seg, pos0 - lo, ref.shape[0], alt)
            if not check_segment(self.f, fixed, lo, partners + [(restored.factor, restored.start, restored.strand)]):
                raise RuntimeError("a planted broken instance does not repair")  # pragma: no cover
            allele = Allele(alt.copy(), g.mode, "create", restored.factor, restored.tasks, (broken.start, broken.end))
            return Variant(g.chrom, pos0, ref.copy(), [allele])
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
            alt_seg = apply_edit(seg, i - 1 - lo, 1, alt)
            moved = [(k, st + (f.width if st >= i else 0), sd) for k, st, sd in partners]
            if check_segment(self.f, alt_seg, lo, moved + [(g.target, i, strand)]):
                allele = Allele(alt, "insertion", "create", g.target, tasks, (i, i + f.width))
                return Variant(g.chrom, i - 1, ref, [allele])
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
                lo = p - SEG_PAD
                seg = codes[lo : p + SEG_PAD + 1]
                if (seg == 4).any():
                    continue
                if not check_segment(self.f, apply_edit(seg, p - lo, 1, alt), lo, []):
                    continue
                placed.append(p)
                self.variants.append(Variant(name, p, codes[p : p + 1].copy(), [Allele(alt, "snv", "neutral")]))
