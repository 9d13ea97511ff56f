"""Rule prepare_scan: every DeepSEA bin of a held-out split -> a windows BED (scanning evaluation)."""

from deepcis import splits
from deepcis.genome import Genome
from deepcis.intervals import bedtools_tempdir
from deepcis.jobs import start_job
from deepcis.prepare import read_windows_header, region_frame, select_chromosomes, write_stats
from deepcis.scan import write_scan_windows

log = start_job(snakemake)
p = snakemake.params
split = snakemake.wildcards.split
with Genome(snakemake.input.genome) as genome:
    chrom_sizes, _ = select_chromosomes(genome.chrom_sizes, p.chromosomes, p.prepare["window_length"],
                                        snakemake.input.genome)  # fmt: skip
territory = splits.split_territories(p.split, chrom_sizes, p.seed)[split]
# the label columns of the split's prepared windows (the tasks prepare kept)
kept = read_windows_header(snakemake.input.windows)[4:]
with bedtools_tempdir(getattr(snakemake.resources, "tmpdir", None)):
    stats = write_scan_windows(
        snakemake.input.genome,
        p.tasks,
        territory,
        p.prepare,
        snakemake.output.bed,
        split,
        blacklist_path=snakemake.input.blacklist[0] if snakemake.input.blacklist else None,
        regions=region_frame(p.regions, chrom_sizes),
        keep_tasks=kept,
        block_bins=p.block_bins,
    )
write_stats(stats, snakemake.output.stats)
log.info("\n%s", stats[stats["section"] == "scan"].to_string(index=False))
