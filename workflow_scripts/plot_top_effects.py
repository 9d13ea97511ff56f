"""Rule plot_top_effects: the strongest variant effects of one model."""

from deepcis.jobs import start_job
from deepcis.variant_plots import plot_top_effects

log = start_job(snakemake)
plot_top_effects(snakemake.input[0], snakemake.output[0], n=snakemake.params.n)
log.info("plotted the %d strongest effects", snakemake.params.n)
