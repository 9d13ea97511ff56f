"""Rule merge_per_task: a per_task entry's member predictions side by side, and their training records."""

from deepcis.io_utils import log_to_file
from deepcis.per_task import merge_predictions, merged_info

log = log_to_file(snakemake.log[0])
summary = merge_predictions(list(snakemake.input.predictions), snakemake.output.predictions, snakemake.wildcards.model)
merged_info(dict(zip(snakemake.params.members, snakemake.input.infos)), snakemake.output.info, snakemake.wildcards.model)
log.info("%s", summary)
