"""Site placement: motif instances planted in groups (bound, composite, unbound, decoy), and the
peaks they drive."""

from __future__ import annotations

import numpy as np

from .. import motifs as mt
from .params import (
    BOUND_SITES,
    CHROMOSOMES,
    COMPOSITE_DISTANCE,
    COMPOSITE_SITES,
    COMPOSITE_TASK,
    CREATE_PLAN,
    DECOY_SITES,
    NOISE_PEAK_FRACTION,
    PEAK_WIDTH,
    SEG_PAD,
    SINGLE_TASKS,
    SITE_N_CLEARANCE,
    SITE_REPEAT_CLEARANCE,
    SITE_SPACING,
    SUMMIT_FRACTION,
    SUMMIT_MAX_SHIFT,
    SUMMIT_SD,
    TASKS,
    UNBOUND_FRACTION,
)
from .records import Chrom, Group, Instance, apply_edit, check_segment


class SitesMixin:
    """Simulator steps: `place_sites`, `make_peaks`, `artefact_regions`."""

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

    def _centre_space(self, chrom: Chrom) -> np.ndarray:
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

    def _place_one(self, rng, chrom: Chrom, ok: np.ndarray, spec: tuple) -> Group:
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

    def _build_group(self, rng, chrom: Chrom, centre: int, spec: tuple) -> Group | None:
        role, task, mode, target = spec
        group = Group(role, task, chrom.name, centre, mode=mode, target=target)
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
                group.instances.append(Instance(key, start, start + seq.shape[0], strand, kind, tasks))
                writes.append((start, seq))
                group.peak_tasks = tasks
            elif role == "composite":
                sa, sb = self._pair_layout(rng, centre, "GATA1", "TAL1")
                for key, start, tasks in (("GATA1", sa, ("GATA1", COMPOSITE_TASK)), ("TAL1", sb, (COMPOSITE_TASK,))):
                    seq, strand = self._oriented_draw(rng, key)
                    group.instances.append(Instance(key, start, start + seq.shape[0], strand, "bound", tasks))
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
                    group.instances.append(Instance(partner, sp, sp + seq.shape[0], strand, kind, tasks))
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
        restored = Instance(key, start, start + f.width, strand, "restored", tasks)
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
        inst = Instance(key, start, start + bad.shape[0], strand, "broken", ())
        return inst, bad, restore

    def _commit_if_clean(self, chrom: Chrom, group: Group, writes) -> bool:
        lo = min([s for s, _ in writes] + [group.centre - 30]) - SEG_PAD
        hi = max([s + q.shape[0] for s, q in writes] + [group.centre + 30]) + SEG_PAD
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
        if not check_segment(self.f, seg, lo, intact, weak):
            return False
        if group.role == "broken":  # the repair must give exactly the restored instance
            pos0, ref, alt, restored = group.restore
            fixed = apply_edit(seg, pos0 - lo, ref.shape[0], alt)
            if not check_segment(self.f, fixed, lo, intact + [(restored.factor, restored.start, restored.strand)]):
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
