"""Rule prepare_sequence_table: sequence tables -> HDF5 splits, stats, class balance."""

from deepcis.io_utils import log_to_file, write_json
from deepcis.seqtable import prepare_sequence_table

log = log_to_file(snakemake.log[0])
params = snakemake.params
counts = prepare_sequence_table(params.sequence_table, params.window_length, params.seed, dict(snakemake.output.items()),
                                params.config_sha256)  # fmt: skip
log.info("sequence table: %s", counts)
write_json(counts, snakemake.output.counts)
