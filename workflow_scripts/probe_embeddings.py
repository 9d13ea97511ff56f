"""Rule probe_embeddings: per-task logistic regression on the autoencoder's embeddings (fit on
train, C chosen on valid, test predicted), next to the same probe on the untrained encoder's
embeddings and the k-mer baseline; writes the probe's predictions files for the evaluation."""

import pandas as pd

from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis import embeddings as emb  # noqa: E402

splits = snakemake.params.splits
tasks = snakemake.params.tasks
# train and valid: at most PROBE_MAX_ROWS windows each (seeded); test: every window
data = {s: emb.read_embeddings(p, None if s == "test" else emb.PROBE_MAX_ROWS, snakemake.params.seed)
        for s, p in zip(splits, snakemake.input.embeddings)}  # fmt: skip
code = data["train"]["code_shape"]
columns = {s: [data[s]["tasks"].index(t) for t in tasks] for s in splits}
labels = {s: data[s]["y"][:, columns[s]] for s in splits}
seed = snakemake.params.seed
hp = snakemake.params.hyperparameters
window_length = int(data["train"]["attrs"]["window_length"])
raw = emb.untrained_embeddings(hp, window_length, seed, dict(zip(splits, snakemake.input.data)),
                               rows={s: data[s]["rows"] for s in splits})  # fmt: skip
codes = {"trained": {s: data[s]["embedding"] for s in splits}, "untrained": raw}
probes = {}
for name, z in codes.items():  # the same steps for both: code words, counts, logistic regression
    codebook = emb.fit_codebook(z["train"], code, seed=seed)
    probes[name] = emb.fit_probe({s: emb.probe_features(z[s], code, codebook) for s in splits}, labels, tasks, seed)
trained, untrained = probes["trained"], probes["untrained"]
attrs = {"predictor": "embedding_probe", "model": snakemake.wildcards.model, "reverse_complement": False}
for split in ("valid", "test"):
    emb.write_probe_predictions(snakemake.output[split], data[split], trained[split], tasks, attrs)
kmer = pd.read_csv(snakemake.input.kmer[0], sep="\t") if snakemake.input.kmer else None
table = emb.probe_table(tasks, labels["test"], trained["test"], untrained["test"], kmer)
table.insert(1, "C_trained", trained["C"])
table.insert(2, "C_untrained", untrained["C"])
emb.write_table(table, snakemake.output.table)
log.info("\n%s", table.to_string())
