"""Rule evaluate_autoencoder: reconstruction (and denoising) accuracy on the valid and test
splits, and the 2-D projection of the test embeddings coloured by task label."""

from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.autoencoder import evaluate_reconstruction  # noqa: E402
from deepcis.embeddings import projection_figure  # noqa: E402
from deepcis.keras_objects import load_model  # noqa: E402

model = load_model(snakemake.input.model)
hp = snakemake.params.hyperparameters
table = evaluate_reconstruction(model, {"valid": snakemake.input.valid, "test": snakemake.input.test}, hp,
                                snakemake.params.seed)  # fmt: skip
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
log.info("\n%s", table.to_string())
projection_figure(snakemake.input.embeddings, snakemake.output.projection, snakemake.params.tasks,
                  title=f"{snakemake.wildcards.model}: test-split embeddings, PCA", seed=snakemake.params.seed)  # fmt: skip
