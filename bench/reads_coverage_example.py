"""Measurement (not a timed test): coverage from simulated reads peaks at the example's planted sites.

Makes the bundled example (deepcis.simulate.simulate_example, seed 7) unless --example names
it, simulates single-end ChIP-seq reads (deepcis.simulate.reads: half of them from fragments
centred on the bound CTCF instances, half uniform background, 10% MAPQ < 10, 5% duplicates),
builds the coverage bigWig with deepcis.coverage (extend to 200 bp, MAPQ >= 30, duplicates
dropped; and Tn5 cut sites) and prints, per mode: how far the coverage maximum within 500 bp of
each bound site lies from the site's centre, and the mean coverage within 100 bp of bound
CTCF sites, of unbound CTCF instances (real motif matches without binding) and of the genome.

    .venv/bin/python bench/reads_coverage_example.py [--example resources/example] [--reads 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyBigWig

from deepcis.coverage import reads_coverage
from deepcis.genome import Genome
from deepcis.simulate import simulate_example
from deepcis.simulate.reads import write_reads_bam

parser = argparse.ArgumentParser()
parser.add_argument("--example", default=None)
parser.add_argument("--reads", type=int, default=200_000)
args = parser.parse_args()
tmp = Path(tempfile.mkdtemp(prefix="reads_coverage_"))
example = Path(args.example) if args.example else tmp / "example"
if not (example / "motif_sites.bed").is_file():
    simulate_example(example, Path(__file__).parents[1] / "resources/motifs/planted_motifs.jaspar", 7)
with Genome(example / "genome.fa") as genome:
    sizes = genome.chrom_sizes
cols = ["chrom", "start", "end", "motif", "score", "strand", "kind", "tasks", "site"]
instances = pd.read_csv(example / "motif_sites.bed", sep="\t", names=cols)
ctcf = instances[instances["motif"] == "MA0139.1"]
centre = (ctcf["start"] + ctcf["end"]) // 2
bound = [(c, int(p)) for c, p, k in zip(ctcf["chrom"], centre, ctcf["kind"]) if k == "bound"]
unbound = [(c, int(p)) for c, p, k in zip(ctcf["chrom"], centre, ctcf["kind"]) if k == "unbound"]
t = time.perf_counter()
bam = write_reads_bam(tmp / "ctcf.bam", sizes, bound, n_reads=args.reads, seed=11)
print(
    f"{len(bound)} bound and {len(unbound)} unbound CTCF instances; {args.reads} reads simulated in {time.perf_counter() - t:.1f} s"
)
for mode in ("extend", "tn5_cut_sites"):
    t = time.perf_counter()
    summary = reads_coverage(bam, tmp / f"{mode}.bw", sizes, mode=mode)
    seconds = time.perf_counter() - t
    with pyBigWig.open(str(tmp / f"{mode}.bw")) as bw:
        tracks = {c: np.nan_to_num(np.array(bw.values(c, 0, n))) for c, n in sizes.items()}
    genome_mean = np.mean(np.concatenate(list(tracks.values())))

    def near(sites, tracks=tracks, half=100):
        return np.mean([tracks[c][max(0, p - half) : p + half].mean() for c, p in sites])

    offsets = np.array([np.argmax(tracks[c][p - 500 : p + 500]) - 500 for c, p in bound if 500 <= p <= sizes[c] - 500])
    print(
        f"{mode}: {summary['counted']:.0f} reads kept, {seconds:.1f} s; coverage within 100 bp: bound {near(bound):.2f}, "
        f"unbound {near(unbound):.3f}, genome mean {genome_mean:.3f} (bound/genome {near(bound) / genome_mean:.1f}x); "
        f"|offset of the maximum| median {np.median(np.abs(offsets)):.0f} bp, 95th percentile {np.percentile(np.abs(offsets), 95):.0f} bp"
    )
