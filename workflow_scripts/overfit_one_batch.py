"""Rule overfit_one_batch: fail loudly if a model cannot memorise one training batch."""

from deepcis.io_utils import write_json
from deepcis.jobs import start_job
from deepcis.training import overfit_one_batch

log = start_job(snakemake)
spec = snakemake.params.spec
result = overfit_one_batch(
    snakemake.input.train,
    spec["architecture"],
    spec["hyperparameters"],
    spec["train"],
    seed=snakemake.params.seed,
    threads=snakemake.threads,
    tasks=snakemake.params.tasks,
    task_specs=snakemake.params.task_specs,
)
log.info("%s", result)
write_json(result | {"model": snakemake.wildcards.model}, snakemake.output[0])
