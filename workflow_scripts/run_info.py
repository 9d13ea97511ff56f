"""Rule run_info: resolved config, package versions and sha256 of every input file."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_run_info

log = start_job(snakemake)
inputs = snakemake.params.inputs  # role -> path, the same files as snakemake.input.files
models = dict(zip(snakemake.params.models, snakemake.input.models))
info = write_run_info(dict(snakemake.config), inputs, models, snakemake.output.json, snakemake.output.html)
for role, record in info["inputs"].items():
    log.info("%s %s %s", record["sha256"], role, record["path"])
