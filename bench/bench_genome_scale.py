"""Genome-scale benchmark of the data stages (issue 15; a benchmark, not a test).

At each `--scales` fraction of hg38 (every chromosome's length times the fraction, hg38's names)
it generates, with vectorised numpy:
- a genome FASTA: GC isochores (segments of ~300 kb with their own GC fraction), soft-masked
  repeats (lowercase runs covering about half the genome), N gaps: telomeres, every
  centromere at its hg38 place, the acrocentric p-arms (chr13-15, 21, 22) and chrY's
  heterochromatin as N, plus small random gaps;
- `--tasks` narrowPeak files (default 919, DeepSEA's count) with ENCODE-like peak counts
  (log-uniform 5k-100k per task at full scale, times the fraction) of which 85-97% sit on a
  shared pool of 1.5 M sites at full scale (popularity skewed, so some are bound by many tasks,
  like TF co-binding in open chromatin), the rest spread at random;
- a blacklist (~900 regions at full scale) and a VCF of 1 M variants at full scale (SNVs and
  10% indels, REF from the genome);
then runs the real workflow (`snakemake --cores N`) to the HDF5 splits (prepare, scattered
into one job per chromosome (`prepare.chunks: 24`), + encode; `--until prepare` stops there),
reads Snakemake's benchmark files and prints, per job: wall-clock, peak RSS, bytes written;
per stage: totals; the size of every intermediate; and, over every scale in the output folder
(runs accumulate), the fitted exponent of cost against genome size (cost ~ size^k) for job
wall-seconds, job CPU-seconds (the steadier measure on a shared machine) and peak RSS.

    nice -n 19 .venv/bin/python bench/bench_genome_scale.py --scales 1/64 --cores 2 --out /tmp/h15-scale

`--score` also runs the workflow's variant scoring (check_inputs' VCF gate, import_model,
score_chunk x `--cores`, gather_scores) on the generated VCF and on a 100 k sample of it
(every k-th record), each in its own working folder, with a small DeepSEA-shaped Keras model
(conv 32/32, 1000 bp, one output per task; seeded random weights: this measures cost, not
science) given to the workflow as an external model; `--until none` skips prepare and encode.
It prints the scoring jobs' CPU time, peak RSS and bytes, and the throughput ratio against
`model.predict` on ready windows measured in the same run (bench_variants.PREDICT_CHILD; CPU
time, one thread each), with the issue's targets: 1 M against 100 k within 10% in peak RSS,
and within 10% of raw predict in throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# hg38 primary chromosomes (UCSC chromInfo) and centromere spans (Mb, rounded, UCSC centromeres)
HG38 = {
    "chr1": 248956422, "chr2": 242193529, "chr3": 198295559, "chr4": 190214555, "chr5": 181538259,
    "chr6": 170805979, "chr7": 159345973, "chr8": 145138636, "chr9": 138394717, "chr10": 133797422,
    "chr11": 135086622, "chr12": 133275309, "chr13": 114364328, "chr14": 107043718, "chr15": 101991189,
    "chr16": 90338345, "chr17": 83257441, "chr18": 80373285, "chr19": 58617616, "chr20": 64444167,
    "chr21": 46709983, "chr22": 50818468, "chrX": 156040895, "chrY": 57227415,
}  # fmt: skip
CENTROMERES = {
    "chr1": (121.7, 125.1), "chr2": (91.8, 96.0), "chr3": (90.5, 93.7), "chr4": (49.7, 51.8), "chr5": (46.5, 50.1),
    "chr6": (58.5, 59.8), "chr7": (58.1, 61.0), "chr8": (44.0, 45.9), "chr9": (43.0, 45.5), "chr10": (39.6, 41.6),
    "chr11": (51.1, 54.4), "chr12": (34.7, 37.2), "chr13": (16.0, 18.1), "chr14": (16.0, 18.2), "chr15": (17.0, 19.7),
    "chr16": (36.3, 38.3), "chr17": (22.7, 26.9), "chr18": (15.4, 20.9), "chr19": (24.4, 27.2), "chr20": (25.6, 30.4),
    "chr21": (10.9, 13.0), "chr22": (12.9, 15.1), "chrX": (58.1, 61.0), "chrY": (10.3, 10.6),
}  # fmt: skip
ACROCENTRIC = ("chr13", "chr14", "chr15", "chr21", "chr22")  # p-arm all N in hg38
CHRY_HETEROCHROMATIN = (26.6, 56.9)
LINE = 60
BLOCK = LINE * (1 << 17)  # bases generated at a time (~7.9 Mb): bounds the generator's memory


def parse_scale(text: str) -> Fraction:
    scale = Fraction(text)
    if not 0 < scale <= 1:
        raise argparse.ArgumentTypeError(f"scale must be in (0, 1]; got {text}")
    return scale


def scale_name(scale: Fraction) -> str:
    return "1" if scale == 1 else f"{scale.numerator}_{scale.denominator}"


# ----------------------------------------------------------------------------------- genome


def chromosome_gaps(name: str, length: int, scale: Fraction, rng) -> np.ndarray:
    """Sorted, merged N gaps (k, 2) of one scaled chromosome."""
    f = length / HG38[name]
    mb = 1e6 * f
    telomere = max(100, int(10_000 * f))
    gaps = [(0, telomere), (length - telomere, length)]
    c0, c1 = CENTROMERES[name]
    gaps.append((0, int(c1 * mb)) if name in ACROCENTRIC else (int(c0 * mb), int(c1 * mb)))
    if name == "chrY":
        gaps.append((int(CHRY_HETEROCHROMATIN[0] * mb), int(CHRY_HETEROCHROMATIN[1] * mb)))
    n_small = rng.poisson(HG38[name] / 10e6)  # about one assembly gap per 10 Mb
    starts = rng.integers(0, length, n_small)
    lengths = np.maximum(100, (rng.lognormal(np.log(50_000), 1.0, n_small) * f).astype(np.int64))
    gaps += list(zip(starts.tolist(), np.minimum(length, starts + lengths).tolist()))
    gaps = sorted(gaps)
    merged = [list(gaps[0])]
    for a, b in gaps[1:]:
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=np.int64)


def _mask(length: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Boolean mask of [0, length) covered by the intervals."""
    delta = np.zeros(length + 1, np.int32)
    np.add.at(delta, np.clip(starts, 0, length), 1)
    np.add.at(delta, np.clip(ends, 0, length), -1)
    return np.cumsum(delta[:-1]) > 0


def write_genome(path: Path, sizes: dict, gaps: dict, rng) -> dict:
    """The FASTA (60 bases per line), generated in blocks; returns each record's sequence offset."""
    letters = np.frombuffer(b"ATCG", np.uint8)
    offsets = {}
    with open(path, "wb") as out:
        for name, length in sizes.items():
            out.write(f">{name}\n".encode())
            offsets[name] = out.tell()
            # isochores: ~300 kb segments, GC from a spread around hg38's 41%
            n_seg = max(1, int(length / 300_000 * 2) + 2)
            seg_ends = np.cumsum(rng.exponential(300_000, n_seg)).astype(np.int64)
            while seg_ends[-1] < length:
                seg_ends = np.concatenate([seg_ends, seg_ends[-1] + np.cumsum(rng.exponential(300_000, n_seg)).astype(np.int64)])
            seg_gc = np.clip(rng.normal(0.41, 0.06, seg_ends.size), 0.3, 0.62).astype(np.float32)
            chrom_gaps = gaps[name]
            for lo in range(0, length, BLOCK):
                hi = min(length, lo + BLOCK)
                n = hi - lo
                pos = np.arange(lo, hi, dtype=np.int64)
                gc = seg_gc[np.searchsorted(seg_ends, pos, side="right")]
                is_gc = rng.random(n, dtype=np.float32) < gc
                seq = letters[is_gc * 2 + rng.integers(0, 2, n, dtype=np.uint8)]
                # soft-masked repeats: runs of mean 300 bp every ~600 bp (about 40-50% lowercase)
                k = int(n / 600 * 1.2) + 10
                r_starts = np.cumsum(rng.exponential(600, k)).astype(np.int64)
                r_starts = r_starts[r_starts < n]
                r_ends = r_starts + rng.exponential(300, r_starts.size).astype(np.int64) + 20
                seq[_mask(n, r_starts, r_ends)] += 32  # lowercase
                inside = (chrom_gaps[:, 1] > lo) & (chrom_gaps[:, 0] < hi)
                for a, b in chrom_gaps[inside]:
                    seq[max(a, lo) - lo : min(b, hi) - lo] = ord("N")
                full = n // LINE * LINE
                lines = np.concatenate([seq[:full].reshape(-1, LINE), np.full((full // LINE, 1), 10, np.uint8)], axis=1)
                out.write(lines.tobytes())
                if full < n:
                    out.write(seq[full:].tobytes() + b"\n")
    return offsets


def fetch(memmap, offset: int, positions: np.ndarray) -> np.ndarray:
    """Bases (uint8) at 0-based `positions` of a record starting at byte `offset` (60 per line)."""
    return memmap[offset + positions + positions // LINE]


class Territory:
    """Uniform positions over the non-gap bases of the whole genome."""

    def __init__(self, sizes: dict, gaps: dict):
        spans = []
        for name, length in sizes.items():
            edges = np.concatenate([[0], gaps[name].ravel(), [length]]).reshape(-1, 2)
            for a, b in edges:
                if b > a:
                    spans.append((name, int(a), int(b)))
        self.names = [s[0] for s in spans]
        self.starts = np.array([s[1] for s in spans], np.int64)
        lengths = np.array([s[2] - s[1] for s in spans], np.int64)
        self.cum = np.concatenate([[0], np.cumsum(lengths)])
        self.order = {name: i for i, name in enumerate(sizes)}

    def sample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """(chromosome index in genome order, 0-based position) of n positions."""
        g = rng.integers(0, self.cum[-1], n)
        span = np.searchsorted(self.cum, g, side="right") - 1
        chrom = np.array([self.order[self.names[s]] for s in range(len(self.names))])[span]
        return chrom, self.starts[span] + g - self.cum[span]


def write_peaks(folder: Path, n_tasks: int, scale: Fraction, sizes: dict, territory: Territory, rng) -> list[int]:
    """NarrowPeak files task_0000 ... with ENCODE-like counts; returns the counts."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(sizes)
    lengths = np.array(list(sizes.values()), np.int64)
    # open-chromatin-like sites most peaks fall on (ENCODE TF peaks concentrate in ~2 M DHS sites)
    n_hot = max(100, int(1_500_000 * scale))
    hot_chrom, hot_pos = territory.sample(n_hot, rng)
    popularity = 1.0 / np.arange(1, n_hot + 1) ** 0.5  # a few hotspots bound by many tasks
    popularity /= popularity.sum()
    counts = []
    for t in range(n_tasks):
        n = max(20, int(np.exp(rng.uniform(np.log(5_000), np.log(100_000))) * scale))
        n_shared = min(n_hot, int(n * rng.uniform(0.85, 0.97)))
        pick = rng.choice(n_hot, n_shared, replace=False, p=popularity)
        chrom_s, summit_s = hot_chrom[pick], hot_pos[pick] + rng.normal(0, 20, n_shared).astype(np.int64)
        chrom_r, summit_r = territory.sample(n - n_shared, rng)
        chrom = np.concatenate([chrom_s, chrom_r])
        summit = np.concatenate([summit_s, summit_r])
        width = np.clip(rng.lognormal(np.log(300), 0.4, n), 100, 2000).astype(np.int64)
        start = np.clip(summit - width // 2, 0, lengths[chrom] - 1)
        end = np.minimum(lengths[chrom], start + width)
        order = np.lexsort((start, chrom))
        chrom, start, end = chrom[order], start[order], end[order]
        signal = np.round(rng.lognormal(2.5, 0.6, n), 3)
        lines = [
            f"{names[c]}\t{s}\t{e}\tpeak{i}\t{min(1000, int(v * 20))}\t.\t{v}\t{v * 3:.3f}\t{v * 2:.3f}\t{(e - s) // 2}\n"
            for i, (c, s, e, v) in enumerate(zip(chrom.tolist(), start.tolist(), end.tolist(), signal.tolist()))
        ]
        with open(folder / f"task_{t:04d}.narrowPeak", "w") as handle:
            handle.writelines(lines)
        counts.append(n)
    return counts


def write_blacklist(path: Path, scale: Fraction, sizes: dict, territory: Territory, rng) -> int:
    names = list(sizes)
    lengths = np.array(list(sizes.values()), np.int64)
    n = max(10, int(900 * scale))
    chrom, start = territory.sample(n, rng)
    end = np.minimum(lengths[chrom], start + np.clip(rng.lognormal(np.log(5_000), 1.0, n), 200, 500_000).astype(np.int64))
    order = np.lexsort((start, chrom))
    with open(path, "w") as handle:
        handle.writelines(f"{names[c]}\t{s}\t{e}\n" for c, s, e in zip(chrom[order].tolist(), start[order].tolist(), end[order].tolist()))
    return n


def write_vcf(path: Path, scale: Fraction, sizes: dict, territory: Territory, genome: Path, offsets: dict, rng) -> int:
    """A sorted VCF of 1 M x scale variants: 90% SNVs, 5% insertions, 5% deletions (1-10 bp)."""
    names = list(sizes)
    memmap = np.memmap(genome, np.uint8, mode="r")
    n = max(100, int(1_000_000 * scale))
    chrom, pos = territory.sample(n, rng)
    lengths = np.array(list(sizes.values()), np.int64)
    pos = np.minimum(pos, lengths[chrom] - 12)
    order = np.lexsort((pos, chrom))
    chrom, pos = chrom[order], pos[order]
    keep = np.concatenate([[True], (np.diff(chrom) != 0) | (np.diff(pos) != 0)])
    chrom, pos = chrom[keep], pos[keep]
    kind = rng.choice(3, len(pos), p=[0.9, 0.05, 0.05])  # SNV, insertion, deletion
    size = rng.integers(1, 11, len(pos))
    starts = np.array([offsets[name] for name in names], np.int64)[chrom]
    spans = pos[:, None] + np.arange(11)[None, :]
    bases = np.char.upper(memmap[starts[:, None] + spans + spans // LINE].view("S1"))  # (n, 11) letters
    ref_len = np.where(kind == 2, size + 1, 1)
    has_n = ((bases == b"N") & (np.arange(11)[None, :] < ref_len[:, None])).any(axis=1)
    code = np.searchsorted(np.array([b"A", b"C", b"G", b"T"]), bases[:, 0])
    snv_alt = np.array([b"A", b"C", b"G", b"T"])[(code + rng.integers(1, 4, len(pos))) % 4]
    inserted = np.array([b"A", b"C", b"G", b"T"])[rng.integers(0, 4, (len(pos), 10))]
    rows = []
    for i in np.flatnonzero(~has_n).tolist():
        ref = bases[i, : ref_len[i]].tobytes().decode()
        alt = (snv_alt[i].decode() if kind[i] == 0 else ref + inserted[i, : size[i]].tobytes().decode() if kind[i] == 1
               else ref[0])  # fmt: skip
        rows.append(f"{names[chrom[i]]}\t{pos[i] + 1}\t.\t{ref}\t{alt}\t.\tPASS\t.\n")
    header = ["##fileformat=VCFv4.2\n"] + [f"##contig=<ID={name},length={length}>\n" for name, length in sizes.items()]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    with open(path, "w") as handle:
        handle.writelines(header + rows)
    return len(rows)


def generate(folder: Path, scale: Fraction, n_tasks: int, seed: int) -> dict:
    """Every input of one scale; returns what was made and how long it took."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {name: int(length * scale) for name, length in HG38.items()}
    gaps = {name: chromosome_gaps(name, length, scale, rng) for name, length in sizes.items()}
    start = time.perf_counter()
    offsets = write_genome(folder / "genome.fa", sizes, gaps, rng)
    genome_s = time.perf_counter() - start
    territory = Territory(sizes, gaps)
    start = time.perf_counter()
    counts = write_peaks(folder / "peaks", n_tasks, scale, sizes, territory, rng)
    peaks_s = time.perf_counter() - start
    n_black = write_blacklist(folder / "blacklist.bed", scale, sizes, territory, rng)
    start = time.perf_counter()
    n_variants = write_vcf(folder / "variants.vcf", scale, sizes, territory, folder / "genome.fa", offsets, rng)
    vcf_s = time.perf_counter() - start
    with open(folder / "tasks.tsv", "w") as handle:
        handle.write("name\tpeaks\n")
        handle.writelines(f"task_{t:04d}\t{folder / 'peaks' / f'task_{t:04d}.narrowPeak'}\n" for t in range(n_tasks))
    n_gap = sum(int((g[:, 1] - g[:, 0]).sum()) for g in gaps.values())
    return {
        "genome_bp": sum(sizes.values()), "gap_bp": n_gap, "tasks": n_tasks, "peaks": int(sum(counts)),
        "peaks_min": int(min(counts)), "peaks_max": int(max(counts)), "blacklist": n_black, "variants": n_variants,
        "generate_s": {"genome": round(genome_s, 1), "peaks": round(peaks_s, 1), "vcf": round(vcf_s, 1)},
    }  # fmt: skip


# ----------------------------------------------------------------------------------- workflow


def write_config(folder: Path, cores: int, chunks: int) -> Path:
    config = {
        "genome": str(folder / "genome.fa"), "tasks": str(folder / "tasks.tsv"),
        "blacklist": str(folder / "blacklist.bed"), "seed": 42,
        "chromosomes": [c for c in HG38 if c != "chrY"],
        "prepare": {"mode": "deepsea", "window_length": 1000, "negatives": {"strategy": "gc_matched", "ratio": 1.0},
                    "chunks": 24},  # one prepare job per chromosome
        "split": {"mode": "chromosomes", "valid": ["chr7"], "test": ["chr8", "chr9"]},
        "encode": {"chunks": chunks, "threads": cores},
        "variants": {"vcf": str(folder / "variants.vcf")},
        "models": {},
    }  # fmt: skip
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


def run_workflow(folder: Path, config: Path, cores: int, until: str = "encode", notemp: bool = False,
                 targets: list[str] | None = None) -> float:  # fmt: skip
    if targets is None and until == "prepare":
        targets = ["results/prepare/stats.tsv"]
    elif targets is None:
        targets = [f"results/encode/{s}.h5" for s in ("train", "valid", "test")]
    command = [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(REPO / "Snakefile"), "--directory",
               str(folder), "--configfile", str(config), "--cores", str(cores), "--quiet", "rules"]  # fmt: skip
    if notemp:  # keep the prepare chunk files, e.g. to rerun the gather alone
        command.append("--notemp")
    print("  $", " ".join(command[2:]), flush=True)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.stdout.write(done.stdout[-4000:] + done.stderr[-8000:])
        raise SystemExit(f"the workflow failed at this scale (see {folder}/logs)")
    return wall


MODEL_CHILD = r"""
import os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras, yaml
from deepcis.models import build_model
keras.utils.set_random_seed(0)
tasks = [line.split("\t")[0] for line in open(sys.argv[1]).read().splitlines()[1:]]
hp = {"conv_filters": [32, 32], "kernel_size": 8, "pool_size": 4, "dropout": 0.1, "dense_units": 32}
build_model("deepsea", 1000, len(tasks), hp).save(sys.argv[2])
with open(sys.argv[3], "w") as handle:
    yaml.safe_dump({"tasks": tasks, "window_length": 1000, "layout": "Lx4", "output": "probabilities",
                    "description": "bench_genome_scale: DeepSEA-shaped, seeded random weights"}, handle)
"""


def sample_vcf(path: Path, out: Path, n: int) -> int:
    """Every k-th record of a VCF, about `n` of them (order kept); the records written."""
    with open(path) as handle:
        lines = handle.readlines()
    header = [line for line in lines if line.startswith("#")]
    records = lines[len(header):]
    step = max(1, len(records) // n)
    chosen = records[::step]
    out.write_text("".join(header + chosen))
    return len(chosen)


def run_scoring(folder: Path, config: Path, args) -> dict:
    """The workflow's variant scoring on the VCF and a 100 k sample of it; cost per job, ratio
    against raw predict."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_variants import PREDICT_CHILD

    inputs = folder / "inputs"
    model, sidecar = inputs / "model.keras", inputs / "model.sidecar.yaml"
    if not model.exists():
        subprocess.run([sys.executable, "-c", MODEL_CHILD, str(inputs / "tasks.tsv"), str(model), str(sidecar)], check=True,
                       capture_output=True)  # fmt: skip
    base = json.loads(config.read_text())
    n_all = sum(1 for line in open(inputs / "variants.vcf") if not line.startswith("#"))
    runs = {}
    vcfs = [("all", inputs / "variants.vcf", n_all)]
    if n_all > 150_000:
        n_sample = sample_vcf(inputs / "variants.vcf", inputs / "variants.sample.vcf", 100_000)
        vcfs.insert(0, ("sample", inputs / "variants.sample.vcf", n_sample))
    one_thread = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    for label, vcf, n in vcfs:
        work = folder / f"score_{label}"
        work.mkdir(exist_ok=True)
        cfg = {**base, "models": {"bench": {"external": {"file": str(model), "sidecar": str(sidecar)}}},
               "variants": {"vcf": str(vcf), "chunks": args.cores, "format": "matrix"},
               "threads": {"train": 1, "predict": 1, "score": 1, "interpret": 1}}  # fmt: skip
        cfg_path = work / "config.json"
        cfg_path.write_text(json.dumps(cfg, indent=1))
        targets = ["results/score/bench/effects.h5", "results/score/bench/annotated.vcf.gz"]
        wall = run_workflow(work, cfg_path, args.cores, targets=targets)
        jobs = read_benchmarks(work)
        chunks = [j for j in jobs if j["job"].startswith("score/score_chunk")]
        n_ref = min(4 * n, 80_000)
        ref = json.loads(subprocess.run([sys.executable, "-c", PREDICT_CHILD.format(model=str(work / "results/models/bench/model.keras"),
                                        n=n_ref, length=1000, batch=256)], capture_output=True, text=True, check=True,
                                        env=one_thread).stdout.strip().splitlines()[-1])  # fmt: skip
        cpu = sum(j["cpu_s"] for j in chunks)
        runs[label] = {"variants": n, "wall_s": round(wall, 1), "jobs": jobs, "sizes": sizes_of(work),
                       "score_cpu_s": cpu, "score_peak_rss_mb": max(j["max_rss_mb"] for j in chunks),
                       "variants_per_cpu_s": n / cpu, "predict_windows_per_cpu_s": ref["windows"] / ref["cpu_seconds"],
                       "ratio_cpu": 4 * n / cpu / (ref["windows"] / ref["cpu_seconds"])}  # fmt: skip
        r = runs[label]
        print(f"  scoring {label}: {n:,} variants, workflow {r['wall_s']} s; score_chunk x {len(chunks)}: {cpu:.1f} CPU-s, "
              f"{r['variants_per_cpu_s']:,.0f} variants per CPU-s, peak RSS {r['score_peak_rss_mb']:,.0f} MB; raw predict "
              f"{r['predict_windows_per_cpu_s']:,.0f} windows per CPU-s; ratio {r['ratio_cpu']:.2f} (target >= 0.9)", flush=True)  # fmt: skip
        for job in jobs:
            print(f"    {job['job']:<42} {job['s']:>8.1f} s {job['cpu_s']:>8.1f} CPU-s {job['max_rss_mb']:>8.0f} MB")
        if not args.keep:
            shutil.rmtree(work / "results", ignore_errors=True)
    if "sample" in runs:
        rss = runs["all"]["score_peak_rss_mb"] / runs["sample"]["score_peak_rss_mb"]
        print(f"  peak RSS of score_chunk, all / 100 k sample: {rss:.3f} (target <= 1.10)")
    return runs


def _number(row: dict, key: str) -> float:
    value = row.get(key, "NA")
    return float(value) if value not in ("NA", "-", "") else float("nan")


def read_benchmarks(folder: Path) -> list[dict]:
    """Snakemake's benchmark TSVs: one row per job (rule, wildcards, s, max_rss MB, io_out MB)."""
    jobs = []
    for path in sorted((folder / "benchmarks").rglob("*.tsv")):
        header, values = path.read_text().splitlines()[:2]
        row = dict(zip(header.split("\t"), values.split("\t")))
        jobs.append({"job": str(path.relative_to(folder / "benchmarks"))[:-4], "stage": path.parent.name,
                     "s": _number(row, "s"), "max_rss_mb": _number(row, "max_rss"),
                     "io_out_mb": _number(row, "io_out"), "cpu_s": _number(row, "cpu_time")})  # fmt: skip
    return jobs


def sizes_of(folder: Path) -> dict:
    """Bytes of every intermediate and output under results/ (temp files gone by then)."""
    found = {}
    for path in sorted((folder / "results").rglob("*")):
        if path.is_file():
            found[str(path.relative_to(folder))] = path.stat().st_size
    return found


def fit_exponent(points: list[tuple[float, float]]) -> float | None:
    """K of cost ~ size^k, least squares on logs; None with fewer than two sizes."""
    points = [(s, c) for s, c in points if s > 0 and c > 0]
    if len({s for s, _ in points}) < 2:
        return None
    x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
    return float(np.polyfit(x, y, 1)[0])


def run_scale(out: Path, scale: Fraction, args) -> dict:
    folder = out / f"scale_{scale_name(scale)}"
    if folder.exists() and not args.keep:
        shutil.rmtree(folder)
    print(f"scale {scale} -> {folder}", flush=True)
    start = time.perf_counter()
    made = generate(folder / "inputs", scale, args.tasks, args.seed)
    made["generate_wall_s"] = round(time.perf_counter() - start, 1)
    print(f"  generated {made['genome_bp'] / 1e6:,.1f} Mb ({made['gap_bp'] / 1e6:,.1f} Mb N), {made['tasks']} tasks, "
          f"{made['peaks']:,} peaks ({made['peaks_min']:,}-{made['peaks_max']:,} per task), {made['variants']:,} variants "
          f"in {made['generate_wall_s']} s", flush=True)  # fmt: skip
    config = write_config(folder / "inputs", args.cores, args.chunks)
    summary = {"scale": str(scale), "made": made, "cores": args.cores, "tasks": args.tasks, "until": args.until}
    if args.until != "none":
        wall = run_workflow(folder, config, args.cores, args.until, args.notemp)
        summary.update(wall_s=round(wall, 1), jobs=read_benchmarks(folder), sizes=sizes_of(folder))
        (folder / "summary.json").write_text(json.dumps(summary, indent=1))  # what fit_all reads
        report(summary)
    if args.score:
        summary["scoring"] = run_scoring(folder, config, args)
        (folder / "scoring.json").write_text(json.dumps(summary, indent=1))
    if not args.keep:  # the inputs and HDF5 files are large; the summaries are what is kept
        for name in ("inputs", "results", ".snakemake", "score_sample", "score_all"):
            shutil.rmtree(folder / name, ignore_errors=True)
    return summary


def report(summary: dict) -> None:
    print(f"  workflow wall-clock {summary['wall_s']} s on {summary['cores']} cores")
    print(f"  {'job':<44} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} {'written MB':>11}")
    for job in summary["jobs"]:
        print(f"  {job['job']:<44} {job['s']:>8.1f} {job['cpu_s']:>8.1f} {job['max_rss_mb']:>12.0f} {job['io_out_mb']:>11.1f}")
    stages = {}
    for job in summary["jobs"]:
        s = stages.setdefault(job["stage"], {"s": 0.0, "rss": 0.0, "io": 0.0})
        s["s"] += job["s"]
        s["rss"] = max(s["rss"], job["max_rss_mb"])
        s["io"] += job["io_out_mb"] if job["io_out_mb"] == job["io_out_mb"] else 0.0
    for name, s in stages.items():
        print(f"  stage {name:<10} job-seconds {s['s']:>8.1f}, largest peak RSS {s['rss']:>7.0f} MB, written {s['io']:>9.1f} MB")
    windows = {k: v for k, v in summary["sizes"].items() if k.startswith(("results/prepare/windows/", "results/encode/"))}
    for path, size in windows.items():
        print(f"  {path:<44} {size / 1e6:>10.1f} MB")


def fit_all(out: Path) -> None:
    summaries = [json.loads(p.read_text()) for p in sorted(out.glob("scale_*/summary.json"))]
    if len(summaries) < 2:
        print("exponent: needs runs at two or more scales in", out)
        return
    print(f"cost vs genome size over {len(summaries)} scales ({', '.join(s['scale'] for s in summaries)}):")
    stages = sorted({j["stage"] for s in summaries for j in s["jobs"]})
    for stage in stages:
        of = [[j for j in s["jobs"] if j["stage"] == stage] for s in summaries]
        size = [s["made"]["genome_bp"] for s in summaries]
        wall = fit_exponent([(g, sum(j["s"] for j in jobs)) for g, jobs in zip(size, of)])
        cpu = fit_exponent([(g, sum(j["cpu_s"] for j in jobs)) for g, jobs in zip(size, of)])
        rss = fit_exponent([(g, max(j["max_rss_mb"] for j in jobs)) for g, jobs in zip(size, of)])
        print(f"  {stage:<10} exponents: job wall-seconds {_k(wall)}, job CPU-seconds {_k(cpu)}, largest peak RSS {_k(rss)}")
    total = [(s["made"]["genome_bp"], s["wall_s"]) for s in summaries]
    print(f"  wall-clock exponent {_k(fit_exponent(total))}")


def _k(exponent: float | None) -> str:
    # None: a cost of 0 at some scale, e.g. a sub-second job whose RSS Snakemake did not sample
    return "n/a" if exponent is None else f"{exponent:.2f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=parse_scale, default=[Fraction(1, 64)], help="fractions of hg38: 1/64 1/16 1/4 1")
    parser.add_argument("--out", type=Path, default=Path("/tmp/deepcis-genome-scale"))
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=4, help="encode.chunks (encode jobs per split)")
    parser.add_argument("--tasks", type=int, default=919)
    parser.add_argument("--until", choices=("none", "prepare", "encode"), default="encode",
                        help="the last data stage run (none: only --score)")
    parser.add_argument("--score", action="store_true", help="run the workflow's variant scoring too (see above)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generate-only", action="store_true", help="write the inputs and stop")
    parser.add_argument("--keep", action="store_true", help="keep inputs and results (default: only summary.json)")
    parser.add_argument("--fit-only", action="store_true", help="print the exponents of the runs already in --out")
    parser.add_argument("--notemp", action="store_true", help="keep temporary files too (the prepare chunk files)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for scale in [] if args.fit_only else args.scales:
        if args.generate_only:
            folder = args.out / f"scale_{scale_name(scale)}" / "inputs"
            print(json.dumps(generate(folder, scale, args.tasks, args.seed)))
            continue
        run_scale(args.out, scale, args)
    if not args.generate_only:
        fit_all(args.out)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
