"""Rule deeplift_shap: DeepLIFT/DeepSHAP attributions of the positive test windows per task."""

from deepcis.contributions import explain_positives
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
summary = explain_positives(
    snakemake.input.model,
    snakemake.input.data,
    snakemake.output.h5,
    snakemake.output.summary,
    snakemake.output.png,
    tasks=snakemake.params.tasks,
    n_shuffles=cfg["n_shuffles"],
    seed=snakemake.params.seed,
    batch_size=cfg["batch_size"],
    tolerance=cfg["tolerance"],
    ig_tolerance=cfg["ig_tolerance"],
    on_error=cfg["on_error"],
    ig_steps=cfg["ig_steps"],
    max_windows=cfg["max_windows"],
)
log.info("\n%s", summary.to_string(index=False))
