"""Rule filter_motifs: first-layer filter PWMs from the test windows, matched to JASPAR."""

from deepcis.interpret import filter_motifs, load_database
from deepcis.jobs import start_job
from deepcis.training import configure_runtime

log = start_job(snakemake)
cfg = snakemake.params.cfg
configure_runtime(snakemake.threads, snakemake.params.seed, deterministic=True)
database = load_database(cfg["jaspar"])
log.info("Tomtom database: %d matrices", len(database))
fcfg = cfg["filters"]
summary = filter_motifs(
    snakemake.input.model,
    snakemake.input.data,
    database,
    snakemake.output.summary,
    snakemake.output.matches,
    snakemake.output.motifs,
    snakemake.output.logos,
    max_windows=fcfg["windows"],
    fraction=fcfg["fraction"],
    min_sites=fcfg["min_sites"],
    max_q=fcfg["max_q"],
    top=fcfg["top"],
    seed=snakemake.params.seed,
    logos=fcfg["logos"],
)
log.info("%s", summary)
