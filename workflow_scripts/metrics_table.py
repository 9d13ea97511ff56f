"""Rule metrics_table: one model's per-task metrics on every evaluated split, as an HTML table."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_metrics_html

log = start_job(snakemake)
write_metrics_html(snakemake.wildcards.model, dict(zip(snakemake.params.splits, snakemake.input)), snakemake.output[0])
