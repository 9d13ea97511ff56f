"""Rule prepare_sequence_table: sequence tables -> HDF5 splits, stats, class balance."""

from deepcis.io_utils import write_json
from deepcis.jobs import start_job
from deepcis.seqtable import prepare_sequence_table

log = start_job(snakemake)
settings = snakemake.params.settings
counts = prepare_sequence_table(settings["sequence_table"], settings["window_length"], settings["seed"],
                                dict(snakemake.output.items()), snakemake.params.config_sha256)  # fmt: skip
log.info("sequence table: %s", counts)
write_json(counts, snakemake.output.counts)
