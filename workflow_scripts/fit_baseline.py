"""Rule fit_baseline: the k-mer logistic-regression baseline on the training split."""

from deepcis.baseline import fit_kmer_baseline, save_baseline
from deepcis.dataset import dataset_tasks, open_dataset
from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job

log = start_job(snakemake)
cfg = snakemake.params.baseline
with open_dataset(snakemake.input.train) as f:
    present = dataset_tasks(f)
tasks = [t for t in snakemake.params.tasks if t in present]
if len(tasks) < len(snakemake.params.tasks):  # prepare.min_positives dropped some
    log.info("tasks dropped by prepare (min_positives %s) are not fitted: %s", snakemake.params.min_positives,
             [t for t in snakemake.params.tasks if t not in present])  # fmt: skip
model = fit_kmer_baseline(
    snakemake.input.train,
    snakemake.input.valid,
    ks=cfg["ks"],
    Cs=cfg["Cs"],
    seed=snakemake.params.seed,
    transform=cfg["transform"],
    class_weight=None if cfg["class_weight"] == "none" else cfg["class_weight"],
    solver=cfg["solver"],
    max_train_rows=cfg["max_train_rows"],
    c_patience=cfg["c_patience"],
    n_jobs=snakemake.threads,
    tasks=tasks,
)
save_baseline(model, snakemake.output.model)
with atomic_path(snakemake.output.report) as tmp:
    model.report().to_csv(tmp, sep="\t", index=False, na_rep="NA")
log.info("baseline fitted:\n%s", model.report().to_string())
