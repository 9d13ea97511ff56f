"""Rule genome_tracks: predictions tiled along regions or chromosomes, one bigWig per task."""

from deepcis.jobs import start_job
from deepcis.tracks import genome_tracks
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
table = genome_tracks(
    snakemake.input.model,
    snakemake.input.genome,
    snakemake.params.cfg,
    snakemake.output.bigwigs,
    snakemake.output.summary,
    snakemake.output.png,
    peaks=snakemake.params.peaks,
    seed=snakemake.params.seed,
)
log.info("\n%s", table.to_string(index=False))
