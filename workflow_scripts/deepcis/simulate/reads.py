"""Simulated aligned reads around known sites: a small coordinate-sorted, indexed BAM.

    write_reads_bam("reads.bam", chrom_sizes, sites, n_reads=20_000, seed=7)

Each read comes from a fragment: with probability `signal_fraction` one centred on a site
(centre jittered by a normal of sd `jitter`), else one placed uniformly (background).
Fragment lengths are normal around `fragment_length`. Single-end reads (`read_length` bp)
are read from the fragment's forward end or, on the reverse strand, ending at its reverse
end, as in ChIP-seq. A fraction of reads gets MAPQ below 10 and a fraction is flagged as
PCR duplicate, so the coverage filters have something to leave out. With `sequences` (base
codes per chromosome, as the example generator holds them) each read carries the genome's bases
and reads over an N are left out, as an aligner would not place them; without, every base is A.
Deterministic in `seed` (an int or a sequence of ints, as numpy's `default_rng` takes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def simulate_fragments(chrom_sizes: dict[str, int], sites, n_reads: int, seed, signal_fraction: float = 0.5,
                       jitter: float = 30.0, fragment_length: int = 200) -> dict[str, np.ndarray]:  # fmt: skip
    """Fragments (chrom index, start, end, reverse, mapq, duplicate) as arrays.

    `sites` is a sequence of (chrom, position) pairs."""
    rng = np.random.default_rng(seed)
    names = list(chrom_sizes)
    sizes = np.array([chrom_sizes[c] for c in names], dtype=np.int64)
    site_chrom = np.array([names.index(c) for c, _ in sites], dtype=np.int64)
    site_pos = np.array([p for _, p in sites], dtype=np.int64)
    from_site = rng.random(n_reads) < signal_fraction if len(sites) else np.zeros(n_reads, bool)
    chrom = np.where(from_site, 0, rng.choice(len(names), n_reads, p=sizes / sizes.sum()))
    centre = rng.random(n_reads) * sizes[chrom]
    picked = rng.integers(0, max(len(sites), 1), n_reads)
    if len(sites):
        chrom = np.where(from_site, site_chrom[picked], chrom)
        centre = np.where(from_site, site_pos[picked] + rng.normal(0, jitter, n_reads), centre)
    length = np.maximum(60, rng.normal(fragment_length, fragment_length / 10, n_reads)).astype(np.int64)
    start = np.clip(np.round(centre - length / 2).astype(np.int64), 0, sizes[chrom] - length)
    return {"chrom": chrom, "start": start, "end": start + length, "reverse": rng.random(n_reads) < 0.5,
            "mapq": np.where(rng.random(n_reads) < 0.1, rng.integers(0, 10, n_reads), 60),
            "duplicate": rng.random(n_reads) < 0.05}  # fmt: skip


def write_reads_bam(path, chrom_sizes: dict[str, int], sites, n_reads: int = 20_000, seed=7, read_length: int = 50,
                    sequences: dict[str, np.ndarray] | None = None, **fragment_options) -> Path:  # fmt: skip
    """Write single-end reads of simulated fragments to a sorted BAM with its .bai index (both
    under temp names, the index renamed into place after the BAM)."""
    import pysam

    from ..io_utils import atomic_path
    from ..motifs import decode

    f = simulate_fragments(chrom_sizes, sites, n_reads, seed, **fragment_options)
    read_start = np.where(f["reverse"], f["end"] - read_length, f["start"])
    order = np.lexsort((read_start, f["chrom"]))
    names = list(chrom_sizes)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in chrom_sizes.items()]}
    path = Path(path)
    with atomic_path(path.with_name(path.name + ".bai")) as bai, atomic_path(path) as tmp:
        with pysam.AlignmentFile(str(tmp), "wb", header=header) as bam:
            number = 0
            for i in order:
                start = int(read_start[i])
                bases = "A" * read_length
                if sequences is not None:
                    bases = decode(sequences[names[f["chrom"][i]]][start : start + read_length])
                    if "N" in bases:
                        continue
                read = pysam.AlignedSegment(bam.header)
                read.query_name = f"r{number}"
                read.reference_id = int(f["chrom"][i])
                read.reference_start = start
                read.cigarstring = f"{read_length}M"
                read.query_sequence = bases
                read.mapping_quality = int(f["mapq"][i])
                read.flag = (0x10 if f["reverse"][i] else 0) | (0x400 if f["duplicate"][i] else 0)
                bam.write(read)
                number += 1
        pysam.index(str(tmp), str(bai))
    return path
