"""Rule prepare_windows: genome + peaks -> labelled windows per split, stats, plot."""

from deepcis import plots
from deepcis.genome import Genome
from deepcis.intervals import bedtools_tempdir
from deepcis.io_utils import sha256_file, write_json
from deepcis.jobs import start_job
from deepcis.prepare import prepare_windows, write_stats, write_windows_bed
from deepcis.splits import SPLITS

log = start_job(snakemake)
params = snakemake.params
with bedtools_tempdir(getattr(snakemake.resources, "tmpdir", None)):
    prepared = prepare_windows(
        genome_path=snakemake.input.genome,
        tasks=params.tasks,
        prepare_cfg=params.prepare,
        split_cfg=params.split,
        seed=params.seed,
        blacklist_path=snakemake.input.blacklist[0] if snakemake.input.blacklist else None,
        chromosomes=params.chromosomes,
        regions=params.regions,
    )
windows, tasks = prepared.windows, prepared.tasks
if any(row["type"] == "signal" or "measured" in row for row in params.task_rows):
    # signal targets (bigWig) and measured-region masks (docs/multimodal.md)
    from deepcis.signals import add_task_targets

    with Genome(snakemake.input.genome) as genome:
        chrom_sizes = genome.chrom_sizes
    windows, tasks, warnings = add_task_targets(windows, params.task_rows, chrom_sizes,
                                                int(params.prepare["deepsea"]["bin_size"]))  # fmt: skip
    for message in warnings:
        log.warning(message)
for split, bed in zip(SPLITS, snakemake.output.beds):
    n = write_windows_bed(windows, tasks, split, bed)
    log.info("%s: %d windows -> %s", split, n, bed)
write_stats(prepared.stats, snakemake.output.stats)
plots.class_balance(prepared.stats, prepared.tasks, snakemake.output.plot)
with Genome(snakemake.input.genome) as genome:
    sizes = genome.chrom_sizes
write_json(
    {"path": snakemake.input.genome, "sha256": sha256_file(snakemake.input.genome), "chrom_sizes": sizes},
    snakemake.output.genome_info,
)
