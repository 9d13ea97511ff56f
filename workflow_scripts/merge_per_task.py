"""Rule merge_per_task: a per_task entry's member predictions side by side, and their training records."""

from deepcis.jobs import start_job
from deepcis.per_task import merge_predictions, merged_info

log = start_job(snakemake)
summary = merge_predictions(list(snakemake.input.predictions), snakemake.output.predictions, snakemake.wildcards.model)
merged_info(dict(zip(snakemake.params.members, snakemake.input.infos)), snakemake.output.info, snakemake.wildcards.model)
log.info("%s", summary)
