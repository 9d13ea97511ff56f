"""Rule cv_compare: the best cross-validated model against each other one, on the same folds
(paired differences, Wilcoxon signed-rank and sign tests)."""

import pandas as pd

from deepcis.cv_compare import paired_table
from deepcis.jobs import start_job
from deepcis.metrics import write_tsv

log = start_job(snakemake)
per_fold = pd.read_csv(snakemake.input[0], sep="\t", na_values=["NA"], keep_default_na=False, dtype={"task": str})
table = paired_table(per_fold)
write_tsv(table, snakemake.output[0])
log.info("\n%s", table.to_string(index=False))
