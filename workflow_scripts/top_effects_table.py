"""Rule top_effects_table: the strongest predicted variant effects of one model, as an HTML table."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_top_effects_html

log = start_job(snakemake)
write_top_effects_html(snakemake.wildcards.model, snakemake.input[0], snakemake.params.n, snakemake.output[0])
