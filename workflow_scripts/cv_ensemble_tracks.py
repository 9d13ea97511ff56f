"""Rule cv_ensemble_tracks: the genome tracks of each fold model of a model (one job, one
TensorFlow start), then per track the mean over folds and the spread across folds."""

from deepcis.jobs import start_job
from deepcis.tracks import ensemble_tracks
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
table = ensemble_tracks(
    list(snakemake.input.models),
    snakemake.input.genome,
    snakemake.params.cfg,
    snakemake.output.bigwigs,
    snakemake.output.summary,
    snakemake.output.png,
    peaks=snakemake.params.peaks,
    seed=snakemake.params.seed,
)
log.info("\n%s", table.to_string(index=False))
