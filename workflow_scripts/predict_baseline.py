"""Rule predict_baseline: per-window predictions of the k-mer baseline on one split."""

from deepcis.baseline import predict_baseline
from deepcis.io_utils import log_to_file

log = log_to_file(snakemake.log[0])
log.info("%s", predict_baseline(snakemake.input.model, snakemake.input.data, snakemake.output[0]))
