"""Rule cv_ensemble_eval: the mean of a model's fold models on the outer test split, and its
metrics against each fold model and the mean single fold."""

from deepcis.ensemble import ensemble_comparison, mean_predictions
from deepcis.jobs import start_job
from deepcis.metrics import write_tsv
from deepcis.predict import read_predictions

log = start_job(snakemake)
members = dict(zip(snakemake.params.folds, snakemake.input))
log.info("%s", mean_predictions(list(members.values()), snakemake.output.predictions))
# a regression head makes every task a regression task (as rule split_metrics)
kinds = "regression" if snakemake.params.head != "sigmoid" else snakemake.params.kinds
if isinstance(kinds, dict):
    kinds = [kinds.get(t, "binary") for t in read_predictions(snakemake.output.predictions).tasks]
table = ensemble_comparison(members, snakemake.output.predictions, kinds=kinds)
write_tsv(table, snakemake.output.comparison)
log.info("\n%s", table[table["task"] == "overall"].to_string(index=False))
