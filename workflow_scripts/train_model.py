"""Rule train_model: train one configured model from the HDF5 splits."""

from pathlib import Path

from deepcis import plots
from deepcis.jobs import start_job
from deepcis.training import train_model

log = start_job(snakemake)
spec = snakemake.params.spec
info = train_model(
    snakemake.input.train,
    snakemake.input.valid,
    Path(snakemake.output.model).parent,
    model_name=snakemake.wildcards.model,
    architecture=spec["architecture"],
    hyperparameters=spec["hyperparameters"],
    training=spec["train"],
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    resume_dir=snakemake.params.resume_dir,
    tasks=snakemake.params.tasks,
    task_specs=snakemake.params.task_specs,
    transfer=(spec["transfer"] | {"source": snakemake.params.source}) if spec.get("transfer") else None,
)
plots.training_curves(snakemake.output.history, snakemake.wildcards.model, snakemake.output.curves)
log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
