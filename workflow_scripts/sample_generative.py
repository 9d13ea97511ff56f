"""Rule sample_generative: sequences from a trained generator, as FASTA."""

import json

from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.gan import is_conditional, label_rows, sample  # noqa: E402
from deepcis.keras_objects import load_model  # noqa: E402
from deepcis.sequence_metrics import write_fasta  # noqa: E402

info = json.loads(open(snakemake.input.info).read())
generator = load_model(snakemake.input.generator)
n, seed = snakemake.params.n, snakemake.params.seed
# conditional: each sample gets the labels of a training window drawn at random (seeded), so the
# samples follow the training split's mix of bound and unbound windows
labels = label_rows(snakemake.input.train, info["length"], n, seed) if is_conditional(generator) else None
# argmax of the soft one-hots, or drawn from them (hyperparameter `output`, as in training)
x = sample(generator, n, seed, output=info["hyperparameters"].get("output", "soft"), labels=labels)
write_fasta(x, snakemake.output[0], snakemake.wildcards.model)
log.info("%d sequences of %d bp", len(x), x.shape[1])
