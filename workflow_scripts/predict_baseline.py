"""Rule predict_baseline: per-window predictions of the k-mer baseline on one split."""

from deepcis.baseline import predict_baseline
from deepcis.jobs import start_job

log = start_job(snakemake)
log.info("%s", predict_baseline(snakemake.input.model, snakemake.input.data, snakemake.output[0]))
