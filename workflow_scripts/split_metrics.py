"""Rule split_metrics: per-task AUROC/AUPRC (or correlations) from saved predictions."""

from deepcis.io_utils import log_to_file
from deepcis.metrics import metrics_from_predictions, write_tsv

log = log_to_file(snakemake.log[0])
kind = "binary" if snakemake.params.head == "sigmoid" else "regression"
metrics = metrics_from_predictions(snakemake.input[0], kinds=kind)
write_tsv(metrics, snakemake.output[0])
log.info("\n%s", metrics.to_string())
