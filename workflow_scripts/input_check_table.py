"""Rule input_check_table: the input check's per-file contig counts as an HTML table for the report."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_input_check

log = start_job(snakemake)
write_input_check(list(snakemake.input), snakemake.output[0])
