"""Rule train_autoencoder: train one configured autoencoder on the training split's windows."""

from pathlib import Path

from deepcis import plots
from deepcis.autoencoder import train_autoencoder
from deepcis.jobs import start_job

log = start_job(snakemake)
spec = snakemake.params.spec
info = train_autoencoder(
    snakemake.input.train,
    snakemake.input.valid,
    Path(snakemake.output.model).parent,
    model_name=snakemake.wildcards.model,
    hyperparameters=spec["hyperparameters"],
    training=spec["train"],
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    resume_dir=snakemake.params.resume_dir,
)
plots.training_curves(snakemake.output.history, snakemake.wildcards.model, snakemake.output.curves)
log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
