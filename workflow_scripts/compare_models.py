"""Rule compare_models: summary table, per-task comparison and ROC/PR curves on the test split."""

from deepcis import eval_plots
from deepcis.jobs import start_job
from deepcis.metrics import read_metrics, summarise, write_tsv

log = start_job(snakemake)
models = snakemake.params.models
metrics = {m: read_metrics(p) for m, p in zip(models, snakemake.input.metrics)}
summary = summarise(metrics)
write_tsv(summary, snakemake.output.summary)
eval_plots.comparison_figure(metrics, snakemake.output.comparison, title="Test split: per-task AUROC and AUPRC")
predictions = dict(zip(models, snakemake.input.predictions))
kinds = snakemake.params.kinds  # signal tasks: observed vs predicted scatter panels
eval_plots.curves_figure(predictions, snakemake.output.roc, kind="roc", title="Test split: ROC curves", kinds=kinds)
eval_plots.curves_figure(predictions, snakemake.output.pr, kind="pr", title="Test split: precision-recall curves",
                         kinds=kinds)  # fmt: skip
log.info("\n%s", summary.to_string())
