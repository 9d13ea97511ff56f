"""Rule cv_predict: a fold model's predictions on its fold's test windows and, for a fold
ensemble with cv.holdout, on the outer test split (one model load for both)."""

from deepcis.jobs import start_job
from deepcis.predict import predict_dataset

log = start_job(snakemake)
datasets = [snakemake.input.data, *snakemake.input.outer]
for data, out in zip(datasets, snakemake.output):
    summary = predict_dataset(
        snakemake.input.model,
        data,
        out,
        batch_size=snakemake.params.batch_size,
        reverse_complement=snakemake.params.reverse_complement,
        threads=snakemake.threads,
    )
    log.info("%s: %s", out, summary)
