"""Rule train_model: train one configured model from the HDF5 splits."""

from deepcis.jobs import start_job
from deepcis.training import train_job

log = start_job(snakemake)
info = train_job(snakemake)
log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
