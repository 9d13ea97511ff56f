"""Measurement (not a timed test): coverage of the example's BAM peaks at its planted sites.

Makes the bundled example (deepcis.simulate.simulate_example, seed 7) unless --example names
it, builds the coverage bigWig of its reads/CTCF.bam (deepcis.simulate.reads: single-end
ChIP-seq reads, half from fragments centred on the bound CTCF instances, half uniform
background, 10% MAPQ < 10, 5% duplicates) with deepcis.coverage (extend to 200 bp, MAPQ >= 30,
duplicates dropped; and Tn5 cut sites) and prints, per mode (deepcis.coverage.enrichment_at_sites):
the mean coverage within 100 bp of bound CTCF instances, of unbound CTCF instances (real motif
matches without binding) and of the genome, and how far the coverage maximum within 500 bp of
each bound site lies from the site's centre.

    .venv/bin/python bench/reads_coverage_example.py [--example resources/example]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from deepcis.coverage import enrichment_at_sites, reads_coverage
from deepcis.genome import Genome
from deepcis.simulate import simulate_example

parser = argparse.ArgumentParser()
parser.add_argument("--example", default=None)
args = parser.parse_args()
tmp = Path(tempfile.mkdtemp(prefix="reads_coverage_"))
example = Path(args.example) if args.example else tmp / "example"
if not (example / "reads" / "CTCF.bam").is_file():
    simulate_example(example, Path(__file__).parents[1] / "resources/motifs/planted_motifs.jaspar", 7)
with Genome(example / "genome.fa") as genome:
    sizes = genome.chrom_sizes
cols = ["chrom", "start", "end", "motif", "score", "strand", "kind", "tasks", "site"]
instances = pd.read_csv(example / "motif_sites.bed", sep="\t", names=cols)
ctcf = instances[instances["motif"] == "MA0139.1"]
centre = (ctcf["start"] + ctcf["end"]) // 2
sites = {kind: [(c, int(p)) for c, p, k in zip(ctcf["chrom"], centre, ctcf["kind"]) if k == kind] for kind in ("bound", "unbound")}
print(f"{len(sites['bound'])} bound and {len(sites['unbound'])} unbound CTCF instances; {example / 'reads/CTCF.bam'}")
for mode in ("extend", "tn5_cut_sites"):
    t = time.perf_counter()
    summary = reads_coverage(example / "reads/CTCF.bam", tmp / f"{mode}.bw", sizes, mode=mode)
    seconds = time.perf_counter() - t
    bound, unbound = (enrichment_at_sites(tmp / f"{mode}.bw", sites[kind]) for kind in ("bound", "unbound"))
    print(
        f"{mode}: {summary['counted']:.0f} reads kept, {seconds:.1f} s; coverage within 100 bp: bound {bound['mean_near_sites']:.2f}, "
        f"unbound {unbound['mean_near_sites']:.3f}, genome mean {bound['genome_mean']:.3f} (bound/genome {bound['ratio']:.1f}x, "
        f"unbound/genome {unbound['ratio']:.2f}x); |offset of the maximum| median {bound['offset_median']:.0f} bp, "
        f"95th percentile {bound['offset_p95']:.0f} bp, largest {bound['offset_max']} bp"
    )
