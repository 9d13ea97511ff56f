# Report tables: the run summary (top of the report), provenance (config, versions, input
# checksums) and HTML tables of the data summary, per-model metrics and top variant effects.
# `snakemake --report report.html` collects them with every figure marked report().


rule run_info:
    input:
        files=list(run_info_inputs().values()),
        models=expand(
            "results/models/{model}/model.json", model=MODELS + list(GENERATIVE)
        ),
    output:
        json="results/report/run_info.json",
        html=report(
            "results/report/run_info.html",
            category="0. Summary",
            caption="../report/run_info.rst",
        ),
    log:
        "logs/report/run_info.log",
    benchmark:
        "benchmarks/report/run_info.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        inputs=run_info_inputs(),
        models=MODELS + list(GENERATIVE),
        # it records the whole config: any edit reruns this (cheap) report job, nothing else
        config_sha256=CONFIG_SHA256,
    script:
        "../workflow_scripts/run_info.py"


rule run_summary:
    input:
        metrics=expand("results/evaluate/{model}/test.metrics.tsv", model=EVALUATED),
        scan=expand(
            "results/evaluate/{model}/test_scan.metrics.tsv",
            model=EVALUATED if "test" in SCAN_SPLITS else [],
        ),
        models=list(EVALUATED_INFO.values()),
        baseline=(
            ["benchmarks/evaluate/fit_baseline.tsv"]
            if config["baseline"]["enabled"]
            else []
        ),
    output:
        tsv="results/report/run_summary.tsv",
        html=report(
            "results/report/run_summary.html",
            category="0. Summary",
            caption="../report/run_summary.rst",
        ),
        fragment="results/report/run_summary.fragment.html",
    log:
        "logs/report/run_summary.log",
    benchmark:
        "benchmarks/report/run_summary.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        evaluated=EVALUATED,
        models=list(EVALUATED_INFO),
        baseline=BASELINE,
    script:
        "../workflow_scripts/run_summary.py"


rule data_summary:
    input:
        stats="results/prepare/stats.tsv",
        scan=expand("results/prepare/scan/{split}.stats.tsv", split=SCAN_SPLITS),
    output:
        report(
            "results/report/data_summary.html",
            category="1. Data",
            caption="../report/data_summary.rst",
        ),
    log:
        "logs/report/data_summary.log",
    benchmark:
        "benchmarks/report/data_summary.tsv"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/data_summary.py"


rule metrics_table:
    input:
        expand("results/evaluate/{{model}}/{split}.metrics.tsv", split=SCORED_SETS),
    output:
        report(
            "results/report/evaluate/{model}.metrics.html",
            category="3. Evaluation",
            subcategory="{model}",
            caption="../report/metrics_table.rst",
        ),
    log:
        "logs/report/metrics_table.{model}.log",
    benchmark:
        "benchmarks/report/metrics_table.{model}.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        splits=SCORED_SETS,
    script:
        "../workflow_scripts/metrics_table.py"


rule top_effects_table:
    input:
        f"results/score/{{model}}/{EFFECTS_FILE}",
    output:
        report(
            "results/report/score/{model}.top_effects.html",
            category="4. Variants",
            subcategory="{model}",
            caption="../report/top_effects_table.rst",
        ),
    log:
        "logs/report/top_effects_table.{model}.log",
    benchmark:
        "benchmarks/report/top_effects_table.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/evaluate.yaml"
    params:
        n=config["variants"]["top_n"],
    script:
        "../workflow_scripts/top_effects_table.py"
