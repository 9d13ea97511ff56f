"""Rule score_chunk: score one chunk of the VCF's records with one model."""

from deepcis.io_utils import log_to_file
from deepcis.training import configure_runtime
from deepcis.variants import score_variants

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
summary = score_variants(
    snakemake.input.model,
    snakemake.input.genome,
    snakemake.input.vcf,
    snakemake.output.tsv,
    snakemake.output.vcf,
    batch_size=cfg["batch_size"],
    reverse_complement=cfg["reverse_complement"],
    ref_mismatch=cfg["ref_mismatch"],
    chunk=(int(snakemake.wildcards.chunk), snakemake.params.n_chunks),
    background=cfg["background"] or None,
    seed=snakemake.params.seed,
    index=False,
)
log.info("%s", summary)
