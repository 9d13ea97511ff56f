"""Rule bgzip_vcf: rewrite a plain-gzip VCF as bgzip so htslib (pysam, tabix) can read it."""

from deepcis.io_utils import log_to_file
from deepcis.vcf import bgzip_vcf

log = log_to_file(snakemake.log[0])
bgzip_vcf(snakemake.input[0], snakemake.output[0])
log.info("recompressed %s with bgzip -> %s", snakemake.input[0], snakemake.output[0])
