"""Rule gather_split: concatenate a split's encoded chunks, in order, into one HDF5 file."""

from deepcis.dataset import concatenate
from deepcis.jobs import start_job

log = start_job(snakemake)
n = concatenate(list(snakemake.input.chunks), snakemake.output[0], x_encoding=snakemake.params.settings["x_encoding"])
log.info("gathered %d chunks, %d windows -> %s", len(snakemake.input.chunks), n, snakemake.output[0])
