"""Rule prepare_windows: the prepare chunks -> labelled windows per split, stats, plot."""

from deepcis import plots
from deepcis.genome import Genome
from deepcis.intervals import bedtools_tempdir
from deepcis.io_utils import sha256_file, write_json
from deepcis.jobs import start_job
from deepcis.prepare import write_stats
from deepcis.prepare_chunks import gather_chunks, prepare_chunk
from deepcis.splits import SPLITS

log = start_job(snakemake)
params = snakemake.params
# signal targets (bigWig) and measured-region masks (docs/multimodal.md), added as labels are written
signal = any(row["type"] == "signal" or "measured" in row for row in params.task_rows)
with bedtools_tempdir(getattr(snakemake.resources, "tmpdir", None)) as tmp:
    chunk_paths = list(snakemake.input.chunks)
    if not chunk_paths:  # prepare.chunks 1: the one chunk, built here
        chunk_paths = [tmp / "chunk.0.h5"]
        prepare_chunk(snakemake.input.genome, params.tasks, params.prepare, params.split, params.seed, chunk_paths[0], 0, 1,
                      blacklist_path=snakemake.input.blacklist[0] if snakemake.input.blacklist else None,
                      chromosomes=params.chromosomes, regions=params.regions)  # fmt: skip
    gathered = gather_chunks(
        chunk_paths=chunk_paths,
        genome_path=snakemake.input.genome,
        tasks=params.tasks,
        prepare_cfg=params.prepare,
        split_cfg=params.split,
        seed=params.seed,
        bed_paths=dict(zip(SPLITS, snakemake.output.beds)),
        blacklist_path=snakemake.input.blacklist[0] if snakemake.input.blacklist else None,
        chromosomes=params.chromosomes,
        regions=params.regions,
        task_rows=params.task_rows if signal else None,
    )
for split, bed in zip(SPLITS, snakemake.output.beds):
    log.info("%s: %d windows -> %s", split, int(gathered.stats.query("section == 'windows' and split == @split and item == 'all'")["value"].iloc[0]), bed)  # fmt: skip
write_stats(gathered.stats, snakemake.output.stats)
plots.class_balance(gathered.stats, gathered.tasks, snakemake.output.plot)
with Genome(snakemake.input.genome) as genome:
    sizes = genome.chrom_sizes
write_json(
    {"path": snakemake.input.genome, "sha256": sha256_file(snakemake.input.genome), "chrom_sizes": sizes},
    snakemake.output.genome_info,
)
