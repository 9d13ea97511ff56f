"""Rule cv_folds: every encoded window's cross-validation fold (a TSV) and its summary (JSON)."""

from deepcis.cv import assign_folds, assignment_summary, read_windows, write_assignment
from deepcis.io_utils import write_json
from deepcis.jobs import start_job

log = start_job(snakemake)
cv = snakemake.params.cv
windows = read_windows(dict(zip(snakemake.params.sources, snakemake.input)))
windows["fold"] = assign_folds(windows, cv, snakemake.params.seed)
write_assignment(windows, snakemake.output.assignment)
summary = assignment_summary(windows, cv["folds"], cv, snakemake.output.assignment)
write_json(summary, snakemake.output.summary)
for fold in summary["folds"]:
    log.info("%s: %d windows on %s; parts %s", fold["fold"], fold["windows"], ",".join(fold["chromosomes"]), fold["parts"])
