"""Rule run_info: resolved config, package versions and sha256 of every input file."""

from deepcis.io_utils import log_to_file
from deepcis.report_tables import write_run_info

log = log_to_file(snakemake.log[0])
inputs = snakemake.params.inputs  # role -> path, the same files as snakemake.input.files
models = dict(zip(snakemake.params.models, snakemake.input.models))
info = write_run_info(dict(snakemake.config), inputs, models, snakemake.output.json, snakemake.output.html)
for role, record in info["inputs"].items():
    log.info("%s %s %s", record["sha256"], role, record["path"])
