"""Rule compare_scan: the summary table of the scanning evaluation of the test split."""

from deepcis.io_utils import log_to_file
from deepcis.metrics import read_metrics, summarise, write_tsv

log = log_to_file(snakemake.log[0])
metrics = {m: read_metrics(p) for m, p in zip(snakemake.params.models, snakemake.input)}
summary = summarise(metrics)
write_tsv(summary, snakemake.output[0])
log.info("\n%s", summary.to_string())
