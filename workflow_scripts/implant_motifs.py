"""Rule implant_motifs: predicted effect of a motif (pair) against spacing and orientation."""

from deepcis.design import implantation_experiment
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
table = implantation_experiment(snakemake.input.model, cfg["implant"], cfg["motifs"], snakemake.input.data,
                                snakemake.output.tsv, snakemake.output.png, snakemake.params.seed,
                                cfg["batch_size"])  # fmt: skip
log.info("\n%s", table.to_string(index=False))
