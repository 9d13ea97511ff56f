# Hyperparameter sweeps (docs/sweeps.md): one training job per point of models.<m>.sweep, which
# also predicts the validation and test splits; the point with the best validation metric
# becomes results/models/<m>/ (a normal model for every later stage); the sweep table and plot.
from deepcis.sweep import check_sweep_metric

try:
    for _model in SWEEPS:
        check_sweep_metric(_model, config["models"][_model], TASK_KINDS)
except DeepcisError as error:
    raise WorkflowError(str(error))

SWEEP_PATTERN = "|".join(re.escape(m) for m in SWEEPS) if SWEEPS else "(?!)"
# what rule all asks for (rules/common.smk, final_outputs)
SWEEP_OUTPUTS = [
    *expand(
        "results/sweep/{model}/{file}",
        model=SWEEPS,
        file=["selection.json", "sweep.tsv", "sweep.png"],
    ),
    *expand("results/report/sweep/{model}.html", model=SWEEPS),
]


rule sweep_train:
    input:
        train="results/encode/train.h5",
        valid="results/encode/valid.h5",
        test="results/encode/test.h5",
        check=overfit_check_input,
    output:
        model="results/sweep/{model}/{point}/model.keras",
        info="results/sweep/{model}/{point}/model.json",
        history="results/sweep/{model}/{point}/history.tsv",
        curves="results/sweep/{model}/{point}/training_curves.png",
        valid_predictions="results/sweep/{model}/{point}/valid.predictions.h5",
        test_predictions="results/sweep/{model}/{point}/test.predictions.h5",
        valid_metrics="results/sweep/{model}/{point}/valid.metrics.tsv",
        test_metrics="results/sweep/{model}/{point}/test.metrics.tsv",
    log:
        "logs/sweep/sweep_train.{model}.{point}.log",
    benchmark:
        "benchmarks/sweep/sweep_train.{model}.{point}.tsv"
    wildcard_constraints:
        model=SWEEP_PATTERN,
        point=r"[^/]+",
    conda:
        "../envs/train.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=8000,
        gpu=lambda wc: (
            1 if SWEEPS[wc.model][wc.point]["train"]["devices"] == "gpu" else 0
        ),
    params:
        spec=lambda wc: stable(SWEEPS[wc.model][wc.point]),
        seed=config["seed"],
        resume_dir=lambda wc: f"results/sweep/{wc.model}/{wc.point}.resume",
        tasks=lambda wc: MODEL_TASKS[wc.model],
        source=None,
        task_specs=lambda wc: {
            t: TASK_SPECS[t] for t in config["models"][wc.model]["tasks"]
        },
        # the validation and test predictions, as rules predict_split and split_metrics make them
        reverse_complement=config["evaluate"]["reverse_complement"],
        batch_size=config["evaluate"]["batch_size"],
        head=lambda wc: config["models"][wc.model]["train"]["head"],
        kinds=stable(TASK_KINDS),
    script:
        "../workflow_scripts/sweep_train.py"


# The choice: validation metrics and training records only (no test file is an input).
rule sweep_select:
    input:
        valid=sweep_point_files("valid.metrics.tsv"),
        infos=sweep_point_files("model.json"),
        models=sweep_point_files("model.keras"),
        histories=sweep_point_files("history.tsv"),
        curves=sweep_point_files("training_curves.png"),
    output:
        selection="results/sweep/{model}/selection.json",
        model="results/models/{model}/model.keras",
        info="results/models/{model}/model.json",
        history="results/models/{model}/history.tsv",
        curves=report(
            "results/models/{model}/training_curves.png",
            category="2. Training",
            subcategory="{model}",
            caption="../report/sweep_curves.rst",
        ),
    log:
        "logs/sweep/sweep_select.{model}.log",
    benchmark:
        "benchmarks/sweep/sweep_select.{model}.tsv"
    wildcard_constraints:
        model=SWEEP_PATTERN,
    conda:
        "../envs/evaluate.yaml"
    params:
        points=lambda wc: list(SWEEPS[wc.model]),
        values=lambda wc: {
            p: v["values"]
            for p, v in config["models"][wc.model]["sweep"]["points"].items()
        },
        metric=lambda wc: config["models"][wc.model]["sweep"]["metric"],
    script:
        "../workflow_scripts/sweep_select.py"


# The sweep's table and plot: every point's validation metrics, the winner's test metrics.
rule sweep_table:
    input:
        selection="results/sweep/{model}/selection.json",
        valid=sweep_point_files("valid.metrics.tsv"),
        infos=sweep_point_files("model.json"),
        # computed for every point, read for the winner only
        test=sweep_point_files("test.metrics.tsv"),
    output:
        table=report(
            "results/sweep/{model}/sweep.tsv",
            category="2. Training",
            subcategory="Sweeps",
            caption="../report/sweep_table.rst",
        ),
        plot=report(
            "results/sweep/{model}/sweep.png",
            category="2. Training",
            subcategory="Sweeps",
            caption="../report/sweep_plot.rst",
        ),
        html=report(
            "results/report/sweep/{model}.html",
            category="2. Training",
            subcategory="Sweeps",
            caption="../report/sweep_page.rst",
        ),
    log:
        "logs/sweep/sweep_table.{model}.log",
    benchmark:
        "benchmarks/sweep/sweep_table.{model}.tsv"
    wildcard_constraints:
        model=SWEEP_PATTERN,
    conda:
        "../envs/evaluate.yaml"
    params:
        points=lambda wc: list(SWEEPS[wc.model]),
        values=lambda wc: {
            p: v["values"]
            for p, v in config["models"][wc.model]["sweep"]["points"].items()
        },
        metric=lambda wc: config["models"][wc.model]["sweep"]["metric"],
    script:
        "../workflow_scripts/sweep_table.py"
