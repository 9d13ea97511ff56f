"""Benchmark of the input check (not a timed test): a VCF of N records and a genome FASTA.

Synthetic data (bench_variants' writers): a random genome (--chromosomes x --chrom-mb, plain
FASTA) and a sorted bgzip VCF of N SNVs whose REF is the genome's base. Measured in the same
run, best of --rounds each:

- VCF: `deepcis.input_check.check_vcf` (every record through htslib, sort order, duplicates,
  contigs, REF against the genome) vs the reference: a bare pysam loop over the same file
  reading CHROM, POS, REF and ALT (the least any htslib-based check does). Ratio = check
  seconds / reference seconds.
- Genome: `deepcis.genome.scan_fasta` (nucleotide codes, names, lengths) vs reading the file
  with Python's `read` into memory. Ratio likewise.

    .venv/bin/python bench/bench_input_check.py --records 1000000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def write_inputs(folder: Path, n_chrom: int, chrom_len: int, n_records: int, seed: int = 0):
    """The genome and the sorted bgzip VCF of bench_variants (REFs from the genome)."""
    from bench_variants import write_genome, write_vcf

    genome = folder / "genome.fa"
    seqs = write_genome(genome, n_chrom, chrom_len, seed)
    vcf = folder / "variants.vcf.gz"
    write_vcf(vcf, seqs, n_records, margin=10, seed=seed + 1)
    return genome, vcf, {name: len(seq) for name, seq in seqs.items()}


def bare_pysam(vcf) -> int:
    import pysam

    pysam.set_verbosity(0)
    n = 0
    with pysam.VariantFile(str(vcf)) as handle:
        for record in handle:
            _ = record.chrom, record.pos, record.ref, record.alts
            n += 1
    return n


def best(call, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chromosomes", type=int, default=2)
    parser.add_argument("--chrom-mb", type=float, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tmp", default=None, help="folder for the synthetic files")
    args = parser.parse_args()

    from deepcis.genome import Genome, scan_fasta
    from deepcis.input_check import check_vcf

    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(tmp)
        genome, vcf, sizes = write_inputs(folder, args.chromosomes, int(args.chrom_mb * 1e6), args.records)
        Genome(genome).close()  # the .fai, as a run has it
        rows = []
        ref_s, n = best(lambda: bare_pysam(vcf), args.rounds)
        check_s, check = best(lambda: check_vcf(vcf, genome, sizes, 0.5), args.rounds)
        rows.append({"input": f"VCF, {n:,} records ({vcf.stat().st_size / 2**20:.0f} MiB bgzip)",
                     "check_s": round(check_s, 2), "reference_s": round(ref_s, 2), "ratio": round(check_s / ref_s, 2),
                     "records_per_s": int(n / check_s), "notes": check.notes})  # fmt: skip
        read_s, _ = best(lambda: len(genome.read_bytes()), args.rounds)
        scan_s, scan = best(lambda: scan_fasta(genome), args.rounds)
        rows.append({"input": f"genome FASTA, {sum(scan.lengths) / 1e6:.0f} Mb", "check_s": round(scan_s, 2),
                     "reference_s": round(read_s, 2), "ratio": round(scan_s / read_s, 2),
                     "mb_per_s": int(genome.stat().st_size / 2**20 / scan_s)})  # fmt: skip
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
