"""Rule interpret_windows: choose windows, then ISM and gradient attributions on them."""

import h5py

from deepcis.genome import Genome
from deepcis.interpret import explain_windows, select_windows
from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
from deepcis.keras_objects import load_model, model_metadata  # noqa: E402

meta = model_metadata(load_model(snakemake.input.model))
sizes = None  # sequence-table inputs: the windows' bases come from the encoded test split, by ID
if not h5py.is_hdf5(snakemake.input.genome):
    with Genome(snakemake.input.genome) as genome:
        sizes = genome.chrom_sizes
source = snakemake.input.windows[0]
windows = select_windows(
    cfg["windows"],
    sizes,
    meta["window_length"],
    meta["tasks"],
    cfg["n_per_task"],
    predictions=source if cfg["windows"] == "top_predicted" else None,
    effects=source if cfg["windows"] == "variants" else None,
    bed=source if cfg["windows"] == "bed" else None,
)
log.info("%d windows from %s", len(windows), source)
summary = explain_windows(
    snakemake.input.model,
    snakemake.input.genome,
    windows,
    snakemake.output.ism,
    snakemake.output.attributions,
    snakemake.output.ism_png,
    snakemake.output.attributions_png,
    ism_method=cfg["ism_method"],
    reverse_complement=cfg["reverse_complement"],
    ig_steps=cfg["ig_steps"],
    ig_baseline=cfg["ig_baseline"],
    seed=snakemake.params.seed,
    batch_size=cfg["batch_size"],
    plot_windows=cfg["plot_windows"],
)
with atomic_path(snakemake.output.windows) as tmp:
    windows.to_csv(tmp, sep="\t", index=False)
log.info("%s", summary)
