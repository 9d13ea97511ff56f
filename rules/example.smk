# The bundled example: a synthetic genome with planted JASPAR motifs (docs/example-data.md).
EXAMPLE_TASKS = ["CTCF", "GATA1", "GATA1_TAL1", "FOXA1", "AP1"]


rule simulate_example:
    input:
        # beside the workflow, not in the working directory (also when used as a module)
        motifs=workflow.source_path("../resources/motifs/planted_motifs.jaspar"),
    output:
        genome=f"{EXAMPLE_DIR}/genome.fa",
        peaks=expand(f"{EXAMPLE_DIR}/peaks/{{task}}.narrowPeak", task=EXAMPLE_TASKS),
        blacklist=f"{EXAMPLE_DIR}/blacklist.bed",
        vcf=f"{EXAMPLE_DIR}/variants.vcf.gz",
        truth=f"{EXAMPLE_DIR}/variants_truth.tsv",
        signal=f"{EXAMPLE_DIR}/signal/CTCF.bw",
        sites=f"{EXAMPLE_DIR}/motif_sites.bed",
        seqtable=f"{EXAMPLE_DIR}/sequence_table.tsv",
        reads=f"{EXAMPLE_DIR}/reads/CTCF.bam",
        reads_index=f"{EXAMPLE_DIR}/reads/CTCF.bam.bai",
        summary=f"{EXAMPLE_DIR}/summary.json",
    log:
        "logs/example/simulate_example.log",
    benchmark:
        "benchmarks/example/simulate_example.tsv"
    conda:
        "../envs/example.yaml"
    params:
        seed=config["example"]["seed"],
    script:
        "../workflow_scripts/simulate_example.py"
