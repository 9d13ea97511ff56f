"""Rule encode_chunk: one chunk of a split's windows -> one-hot HDF5."""

import json

from deepcis.encode import chunk_bounds, count_rows, encode_bed
from deepcis.io_utils import log_to_file

log = log_to_file(snakemake.log[0])
p = snakemake.params
with open(snakemake.input.genome_info) as handle:
    genome_info = json.load(handle)
n_rows = count_rows(snakemake.input.bed)
lo, hi = chunk_bounds(n_rows, int(snakemake.wildcards.chunk), p.n_chunks)
attrs = {
    "genome": snakemake.input.genome,
    "genome_sha256": genome_info["sha256"],
    "label_mode": p.label_mode,
    "split": snakemake.wildcards.split,
    "config_sha256": p.config_sha256,
    "chunk": f"{lo}-{hi}",
}
n = encode_bed(
    snakemake.input.genome,
    snakemake.input.bed,
    snakemake.output[0],
    p.window_length,
    attrs,
    rows=(lo, hi),
    block_rows=p.block_rows,
    workers=snakemake.threads,
)
log.info("encoded rows %d-%d (%d windows) of %s", lo, hi, n, snakemake.input.bed)
