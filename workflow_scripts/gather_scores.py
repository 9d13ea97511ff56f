"""Rule gather_scores: concatenate a model's scored chunks in input order; index the VCF."""

from deepcis.jobs import start_job
from deepcis.variants import gather_scores

log = start_job(snakemake)
gather_scores(list(snakemake.input.tsv), list(snakemake.input.vcf), snakemake.output.tsv, snakemake.output.vcf)
log.info("gathered %d chunks -> %s, %s", len(snakemake.input.tsv), snakemake.output.tsv, snakemake.output.vcf)
