"""Rule score_chunk: score one chunk of the VCF's records with one model."""

from deepcis.jobs import start_job
from deepcis.training import configure_runtime
from deepcis.variants import score_variants

log = start_job(snakemake)
cfg = snakemake.params.scoring
configure_runtime(snakemake.threads, cfg["seed"], deterministic=True)
summary = score_variants(
    snakemake.input.model,
    snakemake.input.genome,
    snakemake.input.vcf,
    snakemake.output.get("tsv"),  # variants.format: the long table, the matrix or both
    snakemake.output.vcf,
    batch_size=cfg["batch_size"],
    reverse_complement=cfg["reverse_complement"],
    ref_mismatch=cfg["ref_mismatch"],
    chunk=(int(snakemake.wildcards.chunk), snakemake.params.n_chunks),
    background=cfg["background"] or None,
    seed=cfg["seed"],
    index=False,
    expected_tasks=snakemake.params.tasks,  # a model trained on other tasks is refused, listing the difference
    out_h5=snakemake.output.get("h5"),
    matrix_dtype=snakemake.params.matrix_dtype,
)
log.info("%s", summary)
