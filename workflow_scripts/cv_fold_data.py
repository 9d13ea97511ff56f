"""Rule cv_fold_data: the train, valid and test HDF5 datasets of one cross-validation fold."""

import json

from deepcis.cv import PARTS, read_assignment, write_fold_dataset
from deepcis.jobs import start_job

log = start_job(snakemake)
k = int(snakemake.wildcards.fold.removeprefix("fold"))
n_folds = snakemake.params.folds
assignment = read_assignment(snakemake.input.assignment)
sources = dict(zip(snakemake.params.sources, snakemake.input.sources))
# provenance: each fold dataset names the assignment it was cut by (its sha256), which the
# training job then records in model.json
with open(snakemake.input.summary) as handle:
    attrs = {"cv_assignment_sha256": json.load(handle)["assignment_sha256"]}
for part, out in zip(PARTS, snakemake.output):
    n = write_fold_dataset(sources, assignment, k, n_folds, part, out, attrs)
    log.info("%s %s: %d windows", snakemake.wildcards.fold, part, n)
