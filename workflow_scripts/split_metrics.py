"""Rule split_metrics: per-task AUROC/AUPRC (or correlations) from saved predictions."""

from deepcis.dataset import dataset_tasks
from deepcis.jobs import start_job
from deepcis.metrics import metrics_from_predictions, write_tsv
from deepcis.predict import open_predictions

log = start_job(snakemake)
# signal tasks of the tasks sheet are regression tasks; a model with a regression head
# (train.head linear/softplus) makes every task one
kinds = "regression" if snakemake.params.head != "sigmoid" else snakemake.params.kinds
with open_predictions(snakemake.input[0]) as f:
    tasks = dataset_tasks(f)
if isinstance(kinds, dict):
    kinds = [kinds.get(t, "binary") for t in tasks]
metrics = metrics_from_predictions(snakemake.input[0], kinds=kinds)
write_tsv(metrics, snakemake.output[0])
log.info("\n%s", metrics.to_string())
