"""Rule compare_transfer: a fine-tuned model vs its from-scratch twin (table + learning curves)."""

import json

import pandas as pd

from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job
from deepcis.metrics import read_metrics
from deepcis.transfer import comparison_table, learning_curves_figure

log = start_job(snakemake)
inp = snakemake.input
models = {
    "fine-tuned": {"name": snakemake.wildcards.model, "info": json.loads(open(inp.finetuned_info).read()),
                   "metrics": read_metrics(inp.finetuned_metrics)},
    "from scratch": {"name": snakemake.params.scratch, "info": json.loads(open(inp.scratch_info).read()),
                     "metrics": read_metrics(inp.scratch_metrics)},
}  # fmt: skip
table = comparison_table(models)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, sep="\t", index=False, na_rep="NA", float_format="%.6g")
histories = {"fine-tuned": pd.read_csv(inp.finetuned_history, sep="\t"),
             "from scratch": pd.read_csv(inp.scratch_history, sep="\t")}  # fmt: skip
source = models["fine-tuned"]["info"].get("transfer") or {}
title = (f"{snakemake.wildcards.model} (from {source.get('source', '?')}, freeze {source.get('freeze', '?')}) vs "
         f"{snakemake.params.scratch} from scratch; {table['train_rows'].iloc[0]} training windows")  # fmt: skip
learning_curves_figure(histories, table, snakemake.output.curves, title=title)
log.info("\n%s", table.to_string())
