"""Rule cv_summary: per-fold test metrics of every cross-validated model, their mean and sd
across folds, the spread plot and the report's HTML tables."""

import json

from deepcis.cv import fold_metrics_table, fold_spread
from deepcis.cv_report import spread_figure, write_cv_html
from deepcis.jobs import start_job
from deepcis.metrics import read_metrics, write_tsv

log = start_job(snakemake)
keys = [(m, f) for m in snakemake.params.models for f in snakemake.params.folds]
tables = {key: read_metrics(path) for key, path in zip(keys, snakemake.input.metrics)}
per_fold = fold_metrics_table(tables)
spread = fold_spread(per_fold)
write_tsv(per_fold, snakemake.output.per_fold)
write_tsv(spread, snakemake.output.summary)
spread_figure(per_fold, snakemake.output.plot)
with open(snakemake.input.folds) as handle:
    folds = json.load(handle)
write_cv_html(per_fold, spread, folds, snakemake.output.html)
log.info("\n%s", spread[spread["task"] == "overall"].to_string(index=False))
