"""Rule split_metrics: per-task AUROC/AUPRC (or correlations) from saved predictions."""

from deepcis.jobs import start_job
from deepcis.metrics import head_metrics, write_tsv

log = start_job(snakemake)
# signal tasks of the tasks sheet are regression tasks; a model with a regression head
# (train.head linear/softplus) makes every task one
metrics = head_metrics(snakemake.input[0], snakemake.params.head, snakemake.params.kinds)
write_tsv(metrics, snakemake.output[0])
log.info("\n%s", metrics.to_string())
