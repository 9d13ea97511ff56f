"""Deterministic generator of the bundled example data set (docs/example-data.md).

``simulate_example(out_dir, motif_file, seed)`` writes a 4.4 Mb synthetic genome with a
realistic background (isochores, CpG depletion, soft-masked interspersed and tandem repeats,
N gaps), real JASPAR motifs planted at known places, ChIP-seq-like peaks of five tasks driven
by those motifs, artefact regions (the blacklist), a VCF of variants whose effect on the
motifs (destroy / create / neutral) is known, a CTCF signal track and aligned reads (BAM) that
peak at the bound CTCF sites, and a sequence table cut from the genome. Everything is drawn
from numpy generators seeded by ``seed``: the same seed gives byte-identical files.

Coordinates are 0-based half-open everywhere except VCF POS (1-based).

The ground truth is "motif-complete": after planting, every window of the genome that
scores at least the match threshold (``MATCH_FRACTION`` x the motif's best log-odds) for one
of the five planted motifs overlaps a planted, intact instance of that motif. Background
matches are removed (one base mutated) before planting; each planted instance is redrawn
until it creates no stray match. The generator checks this on the whole genome before
writing anything.

Parts: `params` (every count and setting), `factors` (the planted motifs), `records` (what is
laid out, and the local motif check), `background`, `sites` (sites and peaks), `variants`,
`writers` (the files), `simulator` (the state and the whole-genome check).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from .factors import load_factors
from .simulator import Simulator

__all__ = ["simulate_example"]

log = logging.getLogger(__name__)


def simulate_example(out_dir: str | os.PathLike, motif_file: str | os.PathLike, seed: int = 7) -> dict:
    """Write the example data set into ``out_dir`` and return its summary (also ``summary.json``).

    Files: genome.fa (+ .fai), peaks/<TASK>.narrowPeak, blacklist.bed, motif_sites.bed,
    variants.vcf.gz (+ .tbi), variants_truth.tsv, signal/CTCF.bw, sequence_table.tsv,
    reads/CTCF.bam (+ .bai), summary.json. Each file is written under a temporary name and
    renamed into place when complete.
    """
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out, motif_file = Path(out_dir), Path(motif_file)
    factors = load_factors(motif_file)  # bad motif files fail before any work
    sim = Simulator(factors, int(seed))
    log.info("simulating the example genome (seed %d)", seed)
    sim.build_genome()
    sim.clean_background()
    log.info("removed %d chance motif matches from the background", sim.cleaned)
    sim.place_sites()
    log.info("planted %d site groups", len(sim.groups))
    sim.make_peaks()
    sim.make_variants()
    sim.verify()
    summary = sim.write(out, motif_file)
    log.info("peaks per task: %s", summary["peaks"])
    log.info("variant alleles per effect: %s", summary["variants"]["by_effect"])
    return summary
