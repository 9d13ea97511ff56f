"""Rule run_summary: per model median/mean scores, training time and device; best model per task."""

from deepcis.jobs import start_job
from deepcis.report_tables import write_run_summary

log = start_job(snakemake)
metrics = dict(zip(snakemake.params.evaluated, snakemake.input.metrics))
models = dict(zip(snakemake.params.models, snakemake.input.models))
baseline = {snakemake.params.baseline: snakemake.input.baseline[0]} if snakemake.input.baseline else {}
scan = dict(zip(snakemake.params.evaluated, snakemake.input.scan)) if snakemake.input.scan else None
summary = write_run_summary(metrics, models, baseline, "test", snakemake.output.tsv, snakemake.output.html,
                            snakemake.output.fragment, scan)  # fmt: skip
log.info("\n%s", summary.to_string())
