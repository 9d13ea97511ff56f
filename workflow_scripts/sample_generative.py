"""Rule sample_generative: sequences from a trained generator, as FASTA."""

from deepcis.io_utils import log_to_file
from deepcis.training import configure_runtime

log = log_to_file(snakemake.log[0])
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.gan import sample  # noqa: E402
from deepcis.keras_objects import load_model  # noqa: E402
from deepcis.sequence_metrics import write_fasta  # noqa: E402

x = sample(load_model(snakemake.input.generator), snakemake.params.n, snakemake.params.seed)
write_fasta(x, snakemake.output[0], snakemake.wildcards.model)
log.info("%d sequences of %d bp", len(x), x.shape[1])
