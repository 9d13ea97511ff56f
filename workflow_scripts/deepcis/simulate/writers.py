"""The example's files: FASTA (+ index), peaks, blacklist, motif sites, VCF (+ index), truth
table, signal track, sequence table, reads BAM (+ index) and summary, each written to a temp
name and renamed into place."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pysam

from .. import __version__
from .. import motifs as mt
from ..io_utils import atomic_path, sha256_file
from .params import (
    CHROMOSOMES,
    FACTORS,
    GENOME_NAME,
    OUTPUT_FILES,
    READS_COUNT,
    READS_FILES,
    SIGNAL_HALF_WIDTH,
    SIGNAL_NOISE,
    SIGNAL_SCALE,
    SIGNAL_SD,
    SIGNAL_TASK,
    TABLE_ACTIVITY_NOISE,
    TABLE_BACKGROUND,
    TABLE_HARD,
    TABLE_LENGTH,
    TABLE_PER_TASK,
    TASKS,
    TRUTH_COLUMNS,
)


class WritersMixin:
    """Simulator step: `write` (and `signal_tracks`)."""

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
        self._write_sequence_table(out / "sequence_table.tsv")
        self._write_reads(out / READS_FILES[0])
        summary = self._summary(out, motif_file)
        with atomic_path(out / "summary.json") as tmp:
            Path(tmp).write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return summary

    def signal_sites(self) -> list[tuple]:
        """(chrom, centre, instance) of the bound SIGNAL_TASK instances, in planting order: where
        the signal track and the simulated reads peak."""
        return [
            (g.chrom, (i.start + i.end) // 2, i)
            for g in self.groups
            for i in g.instances
            if i.kind == "bound" and SIGNAL_TASK in i.tasks
        ]

    def signal_tracks(self) -> dict[str, np.ndarray]:
        """Per-base signal of the bound SIGNAL_TASK instances, per chromosome (float32)."""
        rng = np.random.default_rng([self.seed, 0x5167])
        offsets = np.arange(-SIGNAL_HALF_WIDTH, SIGNAL_HALF_WIDTH + 1)
        bump = np.exp(-0.5 * (offsets / SIGNAL_SD) ** 2)
        tracks = {name: np.zeros(length, dtype=np.float64) for name, length in CHROMOSOMES}
        for chrom, centre, i in self.signal_sites():
            height = SIGNAL_SCALE * (1 + 9 * self._strength(i)) * rng.lognormal(0.0, SIGNAL_NOISE)
            at = centre + offsets
            keep = (at >= 0) & (at < len(tracks[chrom]))
            tracks[chrom][at[keep]] += height * bump[keep]
        return {c: np.round(t, 2).astype(np.float32) for c, t in tracks.items()}

    def _strength(self, instance) -> float:
        """A planted instance's relative motif strength: (score - threshold) / (max - threshold)."""
        f = self.f[instance.factor]
        return (instance.score - f.threshold) / (f.max_score - f.threshold)

    def sequence_table(self) -> list[tuple]:
        """Rows (id, sequence, one 0/1 label per task, activity) of the example's sequence table:
        windows of TABLE_LENGTH bp, labelled from every planted instance they hold whole."""
        rng = np.random.default_rng([self.seed, 0x7AB1E])
        half = TABLE_LENGTH // 2
        by_chrom: dict[str, list] = {}
        for g in self.groups:
            by_chrom.setdefault(g.chrom, []).extend(g.intact)
        spans = {c: np.array([(i.start, i.end) for i in xs], dtype=np.int64).reshape(-1, 2) for c, xs in by_chrom.items()}
        picks: list[tuple[str, int]] = []
        for task in TASKS:
            centred = [g for g in self.groups if g.task == task and g.role in ("bound", "composite")]
            chosen = rng.choice(len(centred), min(TABLE_PER_TASK, len(centred)), replace=False) if centred else []
            picks += [(centred[k].chrom, centred[k].centre) for k in sorted(chosen)]
        hard = [g for g in self.groups if g.role in ("unbound", "decoy")]
        picks += [(hard[k].chrom, hard[k].centre) for k in sorted(rng.choice(len(hard), min(TABLE_HARD, len(hard)), replace=False))]
        names, lengths = [n for n, _ in CHROMOSOMES], np.array([n for _, n in CHROMOSOMES], dtype=np.float64)
        background = 0
        while background < TABLE_BACKGROUND:
            chrom = names[rng.choice(len(names), p=lengths / lengths.sum())]
            centre = int(rng.integers(half, self.chroms[chrom].length - half))
            s = spans.get(chrom, np.zeros((0, 2), np.int64))
            if not ((s[:, 0] < centre + half) & (s[:, 1] > centre - half)).any():
                picks.append((chrom, centre))
                background += 1
        rows = []
        for chrom, centre in picks:
            start, end = centre - half, centre + half
            codes = self.chroms[chrom].codes[start:end]
            if start < 0 or end > self.chroms[chrom].length or (codes > 3).any():
                continue  # no N in the table's sequences
            held = [i for i in by_chrom.get(chrom, []) if i.start >= start and i.end <= end and i.kind == "bound"]
            labels = [int(any(task in i.tasks for i in held)) for task in TASKS]
            activity = sum(1 + self._strength(i) for i in held)
            activity += rng.normal(0.0, TABLE_ACTIVITY_NOISE)
            rows.append((f"{chrom}:{start}-{end}", mt.decode(codes), *labels, f"{activity:.4f}"))
        return list(dict((r[0], r) for r in rows).values())  # a window picked twice is kept once

    def _write_sequence_table(self, path: Path) -> None:
        header = ("id", "sequence", *TASKS, "activity")
        self._write_rows(path, [header, *self.sequence_table()])

    def _write_reads(self, path: Path) -> None:
        from .reads import write_reads_bam

        sites = [(chrom, centre) for chrom, centre, _ in self.signal_sites()]
        codes = {name: self.chroms[name].codes for name, _ in CHROMOSOMES}
        write_reads_bam(path, dict(CHROMOSOMES), sites, n_reads=READS_COUNT, seed=[self.seed, 0xBA5], sequences=codes)

    def _write_signal(self, path: Path) -> None:
        from ..signals import write_bigwig

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
