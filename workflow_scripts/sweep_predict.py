"""Rule sweep_predict: a sweep point's predictions on the validation and test splits, and its
parameter count (one model load for the count; predict_dataset loads it per split)."""

from deepcis.io_utils import write_json
from deepcis.jobs import start_job
from deepcis.keras_objects import load_model
from deepcis.predict import predict_dataset

log = start_job(snakemake)
model = load_model(snakemake.input.model)
write_json({"parameters": int(model.count_params())}, snakemake.output.size)
for split in ("valid", "test"):
    summary = predict_dataset(
        snakemake.input.model,
        getattr(snakemake.input, split),
        getattr(snakemake.output, split),
        batch_size=snakemake.params.batch_size,
        reverse_complement=snakemake.params.reverse_complement,
        threads=snakemake.threads,
    )
    log.info("%s: %s", split, summary)
