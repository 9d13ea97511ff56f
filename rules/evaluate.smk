# Evaluation on held-out splits: predictions saved per window, metrics from predictions,
# a k-mer baseline on the same split, and the cross-model comparison.


rule predict_split:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/{split}.h5",
    output:
        "results/evaluate/{model}/{split}.predictions.h5",
    log:
        "logs/evaluate/predict_split.{model}.{split}.log",
    benchmark:
        "benchmarks/evaluate/predict_split.{model}.{split}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
        split="|".join(["valid", "test"] + SCAN_SETS),
    conda:
        "../envs/train.yaml"
    threads: config["threads"]["predict"]
    params:
        reverse_complement=config["evaluate"]["reverse_complement"],
        batch_size=config["evaluate"]["batch_size"],
    script:
        "../workflow_scripts/predict_split.py"


rule fit_baseline:
    input:
        train="results/encode/train.h5",
        valid="results/encode/valid.h5",
    output:
        model=f"results/models/{BASELINE}/model.npz",
        report=f"results/models/{BASELINE}/report.tsv",
    log:
        "logs/evaluate/fit_baseline.log",
    benchmark:
        "benchmarks/evaluate/fit_baseline.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: 2
    params:
        baseline=stable(config["baseline"]),
        seed=config["seed"],
        tasks=[t for t in TASK_NAMES if TASK_KINDS[t] == "binary"],
        min_positives=config["prepare"]["min_positives"],
    script:
        "../workflow_scripts/fit_baseline.py"


rule predict_baseline:
    input:
        model=f"results/models/{BASELINE}/model.npz",
        data="results/encode/{split}.h5",
    output:
        f"results/evaluate/{BASELINE}/{{split}}.predictions.h5",
    log:
        f"logs/evaluate/predict_baseline.{{split}}.log",
    benchmark:
        f"benchmarks/evaluate/predict_baseline.{{split}}.tsv"
    wildcard_constraints:
        split="|".join(["valid", "test"] + SCAN_SETS),
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/predict_baseline.py"


rule split_metrics:
    input:
        "results/evaluate/{model}/{split}.predictions.h5",
    output:
        "results/evaluate/{model}/{split}.metrics.tsv",
    log:
        "logs/evaluate/split_metrics.{model}.{split}.log",
    benchmark:
        "benchmarks/evaluate/split_metrics.{model}.{split}.tsv"
    wildcard_constraints:
        split="|".join(["valid", "test"] + SCAN_SETS),
    conda:
        "../envs/evaluate.yaml"
    params:
        head=lambda wc: (
            config["models"][wc.model]["train"].get("head", "sigmoid")
            if wc.model in config["models"]
            else "sigmoid"
        ),
        kinds=stable(TASK_KINDS),
    script:
        "../workflow_scripts/split_metrics.py"


rule compare_models:
    input:
        metrics=expand("results/evaluate/{model}/test.metrics.tsv", model=EVALUATED),
        predictions=expand(
            "results/evaluate/{model}/test.predictions.h5", model=EVALUATED
        ),
    output:
        summary=report(
            "results/evaluate/summary.tsv",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/summary.rst",
        ),
        comparison=report(
            "results/evaluate/comparison.png",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/comparison.rst",
        ),
        roc=report(
            "results/evaluate/roc_test.png",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/roc.rst",
        ),
        pr=report(
            "results/evaluate/pr_test.png",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/pr.rst",
        ),
    log:
        "logs/evaluate/compare_models.log",
    benchmark:
        "benchmarks/evaluate/compare_models.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        models=EVALUATED,
        kinds=stable(TASK_KINDS),
    script:
        "../workflow_scripts/compare_models.py"


rule compare_scan:
    input:
        expand("results/evaluate/{model}/test_scan.metrics.tsv", model=EVALUATED),
    output:
        report(
            "results/evaluate/summary_scan.tsv",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/summary_scan.rst",
        ),
    log:
        "logs/evaluate/compare_scan.log",
    benchmark:
        "benchmarks/evaluate/compare_scan.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        models=EVALUATED,
    script:
        "../workflow_scripts/compare_scan.py"


rule plot_vs_baseline:
    input:
        windows=expand("results/evaluate/{model}/test.metrics.tsv", model=EVALUATED),
        scan=expand(
            "results/evaluate/{model}/test_scan.metrics.tsv",
            model=EVALUATED if "test" in SCAN_SPLITS else [],
        ),
    output:
        report(
            "results/evaluate/vs_baseline.png",
            category="3. Evaluation",
            subcategory="All models",
            caption="../report/vs_baseline.rst",
        ),
    log:
        "logs/evaluate/plot_vs_baseline.log",
    benchmark:
        "benchmarks/evaluate/plot_vs_baseline.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        models=MODELS,
        baseline=BASELINE,
    script:
        "../workflow_scripts/plot_vs_baseline.py"
