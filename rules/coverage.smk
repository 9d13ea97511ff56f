# Coverage bigWigs of signal tasks that name a BAM or fragments file (deepcis/coverage.py):
# the bigWig then feeds prepare_windows like any signal track. The input check (group data)
# has checked the file's contigs against the genome before this runs.


rule reads_coverage:
    input:
        reads=lambda wildcards: READS_TASKS[wildcards.task]["reads"],
        genome=config["genome"],
        check=check_gate("data"),
    output:
        bigwig="results/coverage/{task}.bw",
        summary="results/coverage/{task}.json",
    log:
        "logs/coverage/reads_coverage.{task}.log",
    benchmark:
        "benchmarks/coverage/reads_coverage.{task}.tsv"
    wildcard_constraints:
        task="|".join(re.escape(t) for t in READS_TASKS) or "(?!)",
    conda:
        "../envs/coverage.yaml"
    resources:
        mem_mb=2000,
    params:
        mode=lambda wildcards: READS_TASKS[wildcards.task]["mode"],
        coverage=stable(config["coverage"]),
    script:
        "../workflow_scripts/reads_coverage.py"
