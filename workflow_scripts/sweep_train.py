"""Rule sweep_train: train one point of a sweep, then (TensorFlow already loaded) predict the
validation and test splits and write their metrics; a diverged training is recorded as failed."""

from deepcis.jobs import start_job
from deepcis.sweep import train_point

log = start_job(snakemake)
train_point(snakemake, log)
