"""Rule sweep_table: one row per sweep point (values, validation metrics, training time,
parameter count), the winner's test metrics, the plot and the report page."""

import json

from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job
from deepcis.metrics import read_metrics, write_tsv
from deepcis.report_tables import document
from deepcis.sweep import diverged, read_point_files, sweep_figure, sweep_html, sweep_table

log = start_job(snakemake)
model, points = snakemake.wildcards.model, snakemake.params.points
with open(snakemake.input.selection) as handle:
    selection = json.load(handle)
selection["scores"] = {p: float("nan") if s is None else s for p, s in selection["scores"].items()}
values = snakemake.params.values
keys = [k.rpartition(".")[2] for k in values[points[0]]]
infos = read_point_files(points, snakemake.input.infos, "json")
valid = read_point_files(points, snakemake.input.valid, "metrics", skip={p for p in points if diverged(infos[p])})
winner_test = read_metrics(snakemake.input.test[points.index(selection["winner"])])  # the winner's only
table = sweep_table({p: {k.rpartition(".")[2]: v for k, v in values[p].items()} for p in points}, valid, infos, selection,
                    winner_test)  # fmt: skip
write_tsv(table, snakemake.output.table)
sweep_figure(table, keys, selection["metric"], snakemake.output.plot)
with atomic_path(snakemake.output.html) as tmp:
    tmp.write_text(document(f"Hyperparameter sweep: {model}", sweep_html(model, table, keys, selection)))
log.info("\n%s", table.to_string(index=False))
