"""Rule cv_ensemble_ism: ISM of each fold model of a model on the windows its own interpretation
explains (one job, one TensorFlow start); the mean over folds and the spread across folds."""

import pandas as pd

from deepcis.interpret import ensemble_ism
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
windows = pd.read_csv(snakemake.input.windows, sep="\t", dtype={"chrom": str, "task": str})
summary = ensemble_ism(
    list(snakemake.input.models),
    snakemake.input.genome,
    windows,
    snakemake.output.ism,
    snakemake.output.png,
    ism_method=cfg["ism_method"],
    reverse_complement=cfg["reverse_complement"],
    batch_size=cfg["batch_size"],
    plot_windows=cfg["plot_windows"],
)
log.info("%s", summary)
