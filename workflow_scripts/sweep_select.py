"""Rule sweep_select: the sweep point with the best validation metric becomes the model
(results/models/<model>/). Its inputs hold no test metrics: the test split cannot sway it."""

from deepcis.io_utils import write_json
from deepcis.jobs import start_job
from deepcis.sweep import diverged, install_winner, read_point_files, select_point, selection_record

log = start_job(snakemake)
model, points, metric = snakemake.wildcards.model, snakemake.params.points, snakemake.params.metric
infos = read_point_files(points, snakemake.input.infos, "json")
valid = read_point_files(points, snakemake.input.valid, "metrics", skip={p for p in points if diverged(infos[p])})
winner, scores = select_point(valid, infos, metric)
record = selection_record(model, winner, scores, snakemake.params.values, metric)
i = points.index(winner)
files = {key: getattr(snakemake.input, name)[i] for key, name in
         (("model", "models"), ("info", "infos"), ("history", "histories"), ("curves", "curves"))}  # fmt: skip
outputs = {key: getattr(snakemake.output, key) for key in ("model", "info", "history", "curves")}
install_winner(model, winner, files, outputs, record)
write_json(record, snakemake.output.selection)
log.info("validation %s per point: %s; selected %s", metric, scores, winner)
