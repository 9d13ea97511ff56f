"""Rule plot_vs_baseline: per-task AUROC / AUPRC of each model against the k-mer baseline."""

from deepcis import eval_plots
from deepcis.jobs import start_job
from deepcis.metrics import read_metrics

log = start_job(snakemake)
p = snakemake.params
evaluated = [*p.models, p.baseline]
tables = {"test windows": dict(zip(evaluated, map(read_metrics, snakemake.input.windows)))}
if snakemake.input.scan:
    tables["test scanning"] = dict(zip(evaluated, map(read_metrics, snakemake.input.scan)))
eval_plots.versus_baseline_figure(tables, p.baseline, snakemake.output[0])
