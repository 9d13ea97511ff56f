"""Rule gather_scores: concatenate a model's scored chunks in input order; index the VCF."""

from deepcis.jobs import start_job
from deepcis.variants import gather_scores

log = start_job(snakemake)
out, parts = snakemake.output, snakemake.input
gather_scores(
    list(parts.get("tsv", [])),
    list(parts.vcf),
    out.get("tsv"),
    out.vcf,
    h5_parts=list(parts.get("h5", [])),
    out_h5=out.get("h5"),
)
log.info("gathered %d chunks -> %s", len(parts.vcf), ", ".join(map(str, out)))
