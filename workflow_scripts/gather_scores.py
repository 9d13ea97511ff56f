"""Rule gather_scores: concatenate a model's scored chunks in input order; index the VCF."""

from deepcis.io_utils import log_to_file
from deepcis.variants import gather_scores

log = log_to_file(snakemake.log[0])
gather_scores(list(snakemake.input.tsv), list(snakemake.input.vcf), snakemake.output.tsv, snakemake.output.vcf)
log.info("gathered %d chunks -> %s, %s", len(snakemake.input.tsv), snakemake.output.tsv, snakemake.output.vcf)
