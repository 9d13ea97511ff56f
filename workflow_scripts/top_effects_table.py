"""Rule top_effects_table: the strongest predicted variant effects of one model, as an HTML table."""

from deepcis.io_utils import log_to_file
from deepcis.report_tables import write_top_effects_html

log = log_to_file(snakemake.log[0])
write_top_effects_html(snakemake.wildcards.model, snakemake.input[0], snakemake.params.n, snakemake.output[0])
