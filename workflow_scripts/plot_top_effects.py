"""Rule plot_top_effects: the strongest variant effects of one model."""

from deepcis.io_utils import log_to_file
from deepcis.variant_plots import plot_top_effects

log = log_to_file(snakemake.log[0])
plot_top_effects(snakemake.input[0], snakemake.output[0], n=snakemake.params.n)
log.info("plotted the %d strongest effects", snakemake.params.n)
