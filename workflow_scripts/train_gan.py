"""Rule train_gan: train one configured WGAN-GP on the training split's windows."""

from pathlib import Path

from deepcis.gan import train_gan
from deepcis.generative_plots import gan_curves
from deepcis.jobs import start_job

log = start_job(snakemake)
spec = snakemake.params.spec
info = train_gan(
    snakemake.input.train,
    snakemake.input.valid,
    Path(snakemake.output.generator).parent,
    model_name=snakemake.wildcards.model,
    hyperparameters=spec["hyperparameters"],
    training=spec["train"],
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    scorer_path=snakemake.input.scorer[0] if snakemake.input.scorer else None,
)
gan_curves(snakemake.output.history, snakemake.wildcards.model, snakemake.output.curves)
log.info("%d epochs, %d generator steps, %.0f s", info["epochs_run"], info["generator_steps"], info["train_seconds"])
