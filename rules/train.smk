# Training: one job per trained model of config["models"], after a one-batch sanity check
# (a transferred model instead waits for its source model; docs/transfer.md).


rule overfit_one_batch:
    input:
        train="results/encode/train.h5",
    output:
        "results/models/{model}/overfit_one_batch.json",
    log:
        "logs/train/overfit_one_batch.{model}.log",
    benchmark:
        "benchmarks/train/overfit_one_batch.{model}.tsv"
    wildcard_constraints:
        model=TRAINED_PATTERN,
    conda:
        "../envs/train.yaml"
    threads: config["threads"]["train"]
    params:
        # (not a swept model's sweep: adding a point reruns no check)
        spec=lambda wc: stable(without_sweep(config["models"][wc.model])),
        seed=config["seed"],
        tasks=lambda wc: MODEL_TASKS[wc.model],
        task_specs=lambda wc: {
            t: TASK_SPECS[t] for t in config["models"][wc.model]["tasks"]
        },
    script:
        "../workflow_scripts/overfit_one_batch.py"


rule train_model:
    input:
        train="results/encode/train.h5",
        valid="results/encode/valid.h5",
        check=overfit_check_input,
        source=transfer_source_input,
    output:
        model="results/models/{model}/model.keras",
        info="results/models/{model}/model.json",
        history="results/models/{model}/history.tsv",
        curves=report(
            "results/models/{model}/training_curves.png",
            category="2. Training",
            subcategory="{model}",
            caption="../report/training_curves.rst",
        ),
    log:
        "logs/train/train_model.{model}.log",
    benchmark:
        "benchmarks/train/train_model.{model}.tsv"
    wildcard_constraints:
        model=SINGLE_TRAINED_PATTERN,
    conda:
        "../envs/train.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=8000,
        gpu=lambda wc: (
            1 if config["models"][wc.model]["train"]["devices"] == "gpu" else 0
        ),
    params:
        spec=lambda wc: stable(config["models"][wc.model]),
        seed=config["seed"],
        resume_dir=lambda wc: f"results/models/{wc.model}.resume",
        tasks=lambda wc: MODEL_TASKS[wc.model],
        source=lambda wc: transfer_source_path(config, wc.model),
        task_specs=lambda wc: {
            t: TASK_SPECS[t] for t in config["models"][wc.model]["tasks"]
        },
    script:
        "../workflow_scripts/train_model.py"
