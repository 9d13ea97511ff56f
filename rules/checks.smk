# The input check (docs/architecture.md, "Input check"): every input file a later stage reads,
# checked by one job per group before the long rules, which wait for its output. The files
# that exist when the workflow is parsed are already checked then (rules/common.smk), so a dry
# run stops on the same errors; these jobs also cover the files the workflow makes (the
# bundled example, local copies of URLs) and write the per-file counts for the report. A check
# reruns when the files or settings it reads change, and so does what waits for it. (Not
# ancient(): Snakemake then skips the other rerun reasons of the jobs behind it, and a changed
# variants.vcf would not rescore.)
rule check_inputs:
    input:
        lambda wc: list(group_spec(config, TASKS, wc.group)["files"].values()),
    output:
        "results/check/{group}.json",
    log:
        "logs/check/check_inputs.{group}.log",
    benchmark:
        "benchmarks/check/check_inputs.{group}.tsv"
    wildcard_constraints:
        group="data|vcf|bed|fasta",
    priority: 100
    # runs where snakemake runs (a cluster's login node), at once, not after a queue wait
    # before everything else; its parse-time twin has usually cached the answer already
    localrule: True
    conda:
        "../envs/check.yaml"
    resources:
        mem_mb=1000,
    params:
        spec=lambda wc: stable(group_spec(config, TASKS, wc.group)),
    script:
        "../workflow_scripts/check_inputs.py"


rule input_check_table:
    input:
        expand("results/check/{group}.json", group=CHECK_GROUPS),
    output:
        report(
            "results/report/input_check.html",
            category="1. Data",
            caption="../report/input_check.rst",
        ),
    log:
        "logs/report/input_check_table.log",
    benchmark:
        "benchmarks/report/input_check_table.tsv"
    conda:
        "../envs/check.yaml"
    script:
        "../workflow_scripts/input_check_table.py"


# A killed job can leave a hidden temp file of its output behind (a full-size HDF5 chunk, say):
# those whose process is gone are removed when a run starts (each writer also removes the old
# temp files of its own output; deepcis.io_utils).
onstart:
    for _path in sweep_stale_temp_files("results"):
        print(f"removed {_path}: a temp file left by a killed job", file=sys.stderr)
