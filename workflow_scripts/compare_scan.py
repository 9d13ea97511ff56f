"""Rule compare_scan: the summary table of the scanning evaluation of the test split."""

from deepcis.jobs import start_job
from deepcis.metrics import read_metrics, summarise, write_tsv

log = start_job(snakemake)
metrics = {m: read_metrics(p) for m, p in zip(snakemake.params.models, snakemake.input)}
summary = summarise(metrics)
write_tsv(summary, snakemake.output[0])
log.info("\n%s", summary.to_string())
