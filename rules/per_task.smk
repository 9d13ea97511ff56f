# per_task entries (DeepBind's one model per task): each member <entry>__<task> trains,
# predicts, scores and is interpreted as its own model; for evaluation the entry appears once,
# its members' predictions side by side (docs/models.md).


rule merge_per_task:
    input:
        predictions=lambda wc: expand(
            "results/evaluate/{member}/{split}.predictions.h5",
            member=PER_TASK[wc.model],
            split=wc.split,
        ),
        infos=lambda wc: expand(
            "results/models/{member}/model.json", member=PER_TASK[wc.model]
        ),
    output:
        predictions="results/evaluate/{model}/{split}.predictions.h5",
        info="results/evaluate/{model}/{split}.per_task.json",
    log:
        "logs/evaluate/merge_per_task.{model}.{split}.log",
    benchmark:
        "benchmarks/evaluate/merge_per_task.{model}.{split}.tsv"
    wildcard_constraints:
        model="|".join(PER_TASK) or "(?!)",
        split="|".join(["valid", "test"] + SCAN_SETS),
    conda:
        "../envs/evaluate.yaml"
    params:
        members=lambda wc: PER_TASK[wc.model],
    script:
        "../workflow_scripts/merge_per_task.py"
