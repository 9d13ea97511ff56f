"""Benchmark of the input check (not a timed test): a VCF of N records and a genome FASTA.

Synthetic data: a random genome (--chromosomes x --chrom-mb, plain FASTA) and a sorted
bgzip VCF of N SNVs whose REF is the genome's base (1% are wrong, so the REF comparison
counts something). Measured in the same run, best of --rounds each:

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

import numpy as np


def write_inputs(folder: Path, n_chrom: int, chrom_len: int, n_records: int, seed: int = 0):
    import pysam

    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", np.uint8)
    genome = folder / "genome.fa"
    seqs = {}
    with open(genome, "wb") as handle:
        for i in range(n_chrom):
            name = f"chr{i + 1}"
            seq = letters[rng.integers(0, 4, chrom_len)]
            seqs[name] = seq
            lines = seq[: chrom_len // 60 * 60].reshape(-1, 60)
            body = np.concatenate([lines, np.full((lines.shape[0], 1), 10, np.uint8)], axis=1).ravel().tobytes()
            tail = seq[chrom_len // 60 * 60 :].tobytes()
            handle.write(f">{name}\n".encode() + body + (tail + b"\n" if tail else b""))
    text = folder / "variants.vcf"
    with open(text, "w") as handle:
        handle.write("##fileformat=VCFv4.2\n")
        handle.writelines(f"##contig=<ID={name},length={chrom_len}>\n" for name in seqs)
        handle.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        per = n_records // n_chrom
        for name, seq in seqs.items():
            pos = np.sort(rng.choice(np.arange(1, chrom_len - 1), per, replace=False))
            ref = seq[pos - 1]
            wrong = rng.random(per) < 0.01
            shown = np.where(wrong, letters[(np.searchsorted(letters, ref) + 1) % 4], ref)
            alt = letters[(np.searchsorted(letters, ref) + 2) % 4]
            handle.writelines(f"{name}\t{p}\trs{k}\t{chr(r)}\t{chr(a)}\t.\tPASS\t.\n"
                              for k, (p, r, a) in enumerate(zip(pos.tolist(), shown.tolist(), alt.tolist())))  # fmt: skip
    vcf = folder / "variants.vcf.gz"
    pysam.tabix_compress(str(text), str(vcf), force=True)
    text.unlink()
    return genome, vcf, {name: chrom_len for name in seqs}


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
