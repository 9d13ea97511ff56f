"""Rule data_summary: the prepare stage's stats.tsv as HTML tables (windows, positives, drops)."""

from deepcis.io_utils import log_to_file
from deepcis.report_tables import write_data_summary

log = log_to_file(snakemake.log[0])
write_data_summary(snakemake.input[0], snakemake.output[0])
