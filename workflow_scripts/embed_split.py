"""Rule embed_split: the autoencoder's code of every window of one split (HDF5, row-aligned)."""

from deepcis.io_utils import log_to_file
from deepcis.training import configure_runtime

log = log_to_file(snakemake.log[0])
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.embeddings import write_embeddings  # noqa: E402

log.info("%s", write_embeddings(snakemake.input.model, snakemake.input.data, snakemake.output[0]))
