"""Rule encode_chunk: one chunk of a split's windows -> HDF5 (x as base codes or one-hot)."""

import json

from deepcis.encode import encode_bed
from deepcis.jobs import start_job

log = start_job(snakemake)
p = snakemake.params.settings
with open(snakemake.input.genome_info) as handle:
    genome_info = json.load(handle)
chunk = (int(snakemake.wildcards.chunk), snakemake.params.n_chunks)
attrs = {
    "genome": snakemake.input.genome,
    "genome_sha256": genome_info["sha256"],
    "label_mode": p["label_mode"],
    "split": snakemake.wildcards.split,
    "config_sha256": p["config_sha256"],
    "chunk": f"{chunk[0]} of {chunk[1]}",
}
n = encode_bed(
    snakemake.input.genome,
    snakemake.input.bed,
    snakemake.output[0],
    p["window_length"],
    attrs,
    chunk=chunk,
    block_rows=p["block_rows"],
    workers=snakemake.threads,
    label_dtype=p["label_dtype"],
    x_encoding=p["x_encoding"],
    flank=p.get("flank", 0),
)
log.info("encoded chunk %d of %d (%d windows) of %s", chunk[0], chunk[1], n, snakemake.input.bed)
