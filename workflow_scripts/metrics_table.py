"""Rule metrics_table: one model's per-task metrics on every evaluated split, as an HTML table."""

from deepcis.io_utils import log_to_file
from deepcis.report_tables import write_metrics_html

log = log_to_file(snakemake.log[0])
write_metrics_html(snakemake.wildcards.model, dict(zip(snakemake.params.splits, snakemake.input)), snakemake.output[0])
