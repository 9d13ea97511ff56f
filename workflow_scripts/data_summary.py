"""Rule data_summary: the prepare stage's stats.tsv as HTML tables (windows, positives, drops)."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_data_summary

log = start_job(snakemake)
write_data_summary(snakemake.input.stats, snakemake.output[0], snakemake.input.scan)
