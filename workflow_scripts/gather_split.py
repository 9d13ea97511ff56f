"""Rule gather_split: concatenate a split's encoded chunks, in order, into one HDF5 file."""

from deepcis.dataset import concatenate
from deepcis.io_utils import log_to_file

log = log_to_file(snakemake.log[0])
n = concatenate(list(snakemake.input), snakemake.output[0])
log.info("gathered %d chunks, %d windows -> %s", len(snakemake.input), n, snakemake.output[0])
