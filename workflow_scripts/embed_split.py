"""Rule embed_split: the autoencoder's code of every window of one split (HDF5, row-aligned)."""

from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.embeddings import write_embeddings  # noqa: E402

log.info("%s", write_embeddings(snakemake.input.model, snakemake.input.data, snakemake.output[0]))
