"""Rule sweep_train: train one point of a sweep, then (TensorFlow already loaded) predict the
validation and test splits and write their metrics."""

from deepcis.jobs import start_job
from deepcis.metrics import head_metrics, write_tsv
from deepcis.predict import predict_dataset
from deepcis.training import train_job

log = start_job(snakemake)
info = train_job(snakemake)
log.info("best epoch %d of %d, val_loss %.5f", info["best_epoch"], info["epochs_run"], info["best_val_loss"])
for split in ("valid", "test"):
    predictions = getattr(snakemake.output, f"{split}_predictions")
    predict_dataset(snakemake.output.model, getattr(snakemake.input, split), predictions,
                    batch_size=snakemake.params.batch_size, reverse_complement=snakemake.params.reverse_complement,
                    threads=snakemake.threads)  # fmt: skip
    metrics = head_metrics(predictions, snakemake.params.head, snakemake.params.kinds)
    write_tsv(metrics, getattr(snakemake.output, f"{split}_metrics"))
    log.info("%s:\n%s", split, metrics.to_string())
