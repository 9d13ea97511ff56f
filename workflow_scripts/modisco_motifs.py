"""Rule modisco_motifs: TF-MoDISco patterns from the DeepLIFT attributions, matched to JASPAR."""

from deepcis.interpret import load_database
from deepcis.jobs import start_job
from deepcis.modisco import discover_motifs

log = start_job(snakemake)
cfg = snakemake.params.cfg
database = load_database(snakemake.params.jaspar)
log.info("Tomtom database: %d matrices", len(database))
table = discover_motifs(
    snakemake.input.h5,
    database,
    snakemake.output.patterns,
    snakemake.output.matches,
    snakemake.output.seqlets,
    snakemake.output.meme,
    snakemake.output.png,
    max_q=cfg["max_q"],
    top=cfg["top"],
    trim_threshold=cfg["trim_threshold"],
    logos=cfg["logos"],
    **{k: cfg[k] for k in ("sliding_window_size", "flank_size", "max_seqlets", "min_metacluster_size",
                           "final_min_cluster_size", "n_leiden_runs", "target_seqlet_fdr")},
)  # fmt: skip
log.info("\n%s", table.to_string(index=False))
