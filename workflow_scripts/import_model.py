"""Rule import_model: an external Keras model or a PyTorch state dict as a deepcis model folder."""

from pathlib import Path

from deepcis.external import import_model
from deepcis.jobs import start_job

log = start_job(snakemake)
info = import_model(snakemake.params.external, Path(snakemake.output.model).parent, name=snakemake.wildcards.model)
log.info("%s: %s model, %d tasks, %d bp, from %s", snakemake.wildcards.model, info["architecture"], len(info["tasks"]),
         info["window_length"], info["file"])  # fmt: skip
