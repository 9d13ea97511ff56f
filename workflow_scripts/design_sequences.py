"""Rule design_sequences: in-silico evolution towards one task, checked by independent models."""

from deepcis.design import design_sequences
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
check = design_sequences(
    snakemake.input.model,
    cfg,
    {k: snakemake.output[k] for k in ("fasta", "trajectory", "edits", "check", "figure")},
    dataset_path=snakemake.input.data,
    check_models=dict(zip(cfg["check_models"], snakemake.input.check_models)),
    motifs_file=cfg["motifs"],
    seed=snakemake.params.seed,
    batch_size=cfg["batch_size"],
)
log.info("\n%s", check.to_string(index=False))
