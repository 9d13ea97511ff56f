"""Rules genome_tracks and cv_ensemble_tracks: predictions tiled along regions or chromosomes,
one bigWig per task; for a fold ensemble (input `models`) each fold model's tracks, then per
track the mean over folds and the spread across folds."""

from deepcis.jobs import start_job
from deepcis.tracks import ensemble_tracks, genome_tracks
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
ensemble = hasattr(snakemake.input, "models")
table = (ensemble_tracks if ensemble else genome_tracks)(
    list(snakemake.input.models) if ensemble else snakemake.input.model,
    snakemake.input.genome,
    snakemake.params.cfg,
    snakemake.output.bigwigs,
    snakemake.output.summary,
    snakemake.output.png,
    peaks=snakemake.params.peaks,
    seed=snakemake.params.seed,
)
log.info("\n%s", table.to_string(index=False))
