"""Rule cv_train: train one (model, fold), then (TensorFlow already loaded) predict the fold's
test windows and, for a fold ensemble with cv.holdout, the outer test split."""

from deepcis.jobs import start_job
from deepcis.predict import predict_dataset
from deepcis.training import train_job

log = start_job(snakemake)
info = train_job(snakemake)
log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
datasets = [snakemake.input.test, *snakemake.input.outer]
for data, out in zip(datasets, snakemake.output.predictions):
    summary = predict_dataset(
        snakemake.output.model,
        data,
        out,
        batch_size=snakemake.params.batch_size,
        reverse_complement=snakemake.params.reverse_complement,
        threads=snakemake.threads,
    )
    log.info("%s: %s", out, summary)
