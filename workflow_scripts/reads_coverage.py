"""Rule reads_coverage: a BAM or fragments file -> the coverage bigWig of a signal task."""

from deepcis.coverage import reads_coverage
from deepcis.genome import Genome
from deepcis.io_utils import write_json
from deepcis.jobs import start_job

log = start_job(snakemake)
with Genome(snakemake.input.genome) as genome:
    sizes = genome.chrom_sizes
summary = reads_coverage(snakemake.input.reads, snakemake.output.bigwig, sizes, mode=snakemake.params.mode,
                         **snakemake.params.coverage)  # fmt: skip
for contig in summary["contigs_not_in_genome"]:
    log.info("%s: contig %s is not in the genome; its reads are left out", snakemake.input.reads, contig)
log.info("%s: %s, %g counted, scale %g", snakemake.input.reads, summary["mode"], summary["counted"], summary["scale"])
write_json(summary, snakemake.output.summary)
