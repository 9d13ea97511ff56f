"""Rule attention_maps: a transformer's attention weights on the interpretation windows."""

import pandas as pd

from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.attention import attention_maps  # noqa: E402

windows = pd.read_csv(snakemake.input.windows, sep="\t")
summary = attention_maps(snakemake.input.model, snakemake.input.genome, windows, snakemake.output.maps,
                         snakemake.output.figure, plot_windows=snakemake.params.plot_windows)  # fmt: skip
log.info("%s", summary)
