"""Rule predict_split: per-window predictions of a trained model on one split."""

from deepcis.jobs import start_job
from deepcis.predict import predict_dataset

log = start_job(snakemake)
summary = predict_dataset(
    snakemake.input.model,
    snakemake.input.data,
    snakemake.output[0],
    batch_size=snakemake.params.batch_size,
    reverse_complement=snakemake.params.reverse_complement,
    threads=snakemake.threads,
)
log.info("%s", summary)
