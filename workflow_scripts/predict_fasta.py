"""Rule predict_fasta: one row of predictions per FASTA sequence (padded or centre-cropped)."""

from deepcis.jobs import start_job
from deepcis.sequences import predict_fasta
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
summary = predict_fasta(snakemake.input.model, snakemake.input.fasta, snakemake.output.tsv, cfg["batch_size"],
                        cfg["reverse_complement"])  # fmt: skip
log.info("%s", summary)
