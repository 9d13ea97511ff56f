"""Rule sample_generative: sequences from a trained generator, as FASTA."""

import json

from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.gan import sample  # noqa: E402
from deepcis.keras_objects import load_model  # noqa: E402
from deepcis.sequence_metrics import write_fasta  # noqa: E402

# argmax of the soft one-hots, or drawn from them (hyperparameter `output`, as in training)
output = json.loads(open(snakemake.input.info).read())["hyperparameters"].get("output", "soft")
x = sample(load_model(snakemake.input.generator), snakemake.params.n, snakemake.params.seed, output=output)
write_fasta(x, snakemake.output[0], snakemake.wildcards.model)
log.info("%d sequences of %d bp", len(x), x.shape[1])
