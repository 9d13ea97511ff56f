"""Rule prepare_chunk: one chunk of chromosomes' filtered positive windows and labels."""

from deepcis.intervals import bedtools_tempdir
from deepcis.jobs import start_job
from deepcis.prepare_chunks import prepare_chunk

log = start_job(snakemake)
params = snakemake.params
with bedtools_tempdir(getattr(snakemake.resources, "tmpdir", None)):
    n = prepare_chunk(
        genome_path=snakemake.input.genome,
        tasks=params.tasks,
        prepare_cfg=params.prepare,
        split_cfg=params.split,
        seed=params.seed,
        out_path=snakemake.output[0],
        chunk=int(snakemake.wildcards.chunk),
        n_chunks=params.n_chunks,
        blacklist_path=snakemake.input.blacklist[0] if snakemake.input.blacklist else None,
        chromosomes=params.chromosomes,
        regions=params.regions,
    )
log.info("chunk %s: %d positive windows -> %s", snakemake.wildcards.chunk, n, snakemake.output[0])
