"""Rule bgzip_vcf: rewrite a plain-gzip VCF as bgzip so htslib (pysam, tabix) can read it."""

from deepcis.jobs import start_job
from deepcis.vcf import bgzip_vcf

log = start_job(snakemake)
bgzip_vcf(snakemake.input[0], snakemake.output[0])
log.info("recompressed %s with bgzip -> %s", snakemake.input[0], snakemake.output[0])
