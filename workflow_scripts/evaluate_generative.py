"""Rule evaluate_generative: a generator's samples against real held-out windows, real training
windows and the uniform and dinucleotide-shuffled baselines (k-mer spectra, GC, motif matches,
predicted activity)."""

from deepcis.io_utils import atomic_path
from deepcis.jobs import start_job

log = start_job(snakemake)
if snakemake.input.scorer:  # TensorFlow only for the scorer's predictions (seconds of start-up otherwise)
    from deepcis.training import configure_runtime

    configure_runtime(snakemake.threads, snakemake.params.seed)
from deepcis.generative_plots import comparison_figure  # noqa: E402
from deepcis.sequence_metrics import evaluate_generated  # noqa: E402

table, gc = evaluate_generated(
    snakemake.input.samples,
    snakemake.input.train,
    snakemake.input.test,
    snakemake.params.seed,
    motifs_path=snakemake.input.motifs[0] if snakemake.input.motifs else None,
    scorer_path=snakemake.input.scorer[0] if snakemake.input.scorer else None,
)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, sep="\t", index=False, float_format="%.6g")
comparison_figure(table, gc, snakemake.output.figure, title=f"{snakemake.wildcards.model}: generated vs real sequences")
log.info("\n%s", table.to_string())
