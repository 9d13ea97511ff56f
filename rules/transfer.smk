# Transfer learning: a fine-tuned model next to its from-scratch twin (same tasks, same
# training windows): learning curves side by side and a comparison table (docs/transfer.md).


rule compare_transfer:
    input:
        finetuned_info="results/models/{model}/model.json",
        finetuned_history="results/models/{model}/history.tsv",
        finetuned_metrics="results/evaluate/{model}/test.metrics.tsv",
        scratch_info=lambda wc: f"results/models/{TRANSFER_PAIRS[wc.model]}/model.json",
        scratch_history=lambda wc: f"results/models/{TRANSFER_PAIRS[wc.model]}/history.tsv",
        scratch_metrics=lambda wc: f"results/evaluate/{TRANSFER_PAIRS[wc.model]}/test.metrics.tsv",
    output:
        table=report(
            "results/transfer/{model}/comparison.tsv",
            category="6. Transfer learning",
            subcategory="{model}",
            caption="../report/transfer_comparison.rst",
        ),
        curves=report(
            "results/transfer/{model}/learning_curves.png",
            category="6. Transfer learning",
            subcategory="{model}",
            caption="../report/transfer_curves.rst",
        ),
    log:
        "logs/transfer/compare_transfer.{model}.log",
    benchmark:
        "benchmarks/transfer/compare_transfer.{model}.tsv"
    wildcard_constraints:
        model="|".join(TRANSFER_PAIRS) if TRANSFER_PAIRS else "(?!)",
    conda:
        "../envs/evaluate.yaml"
    params:
        scratch=lambda wc: TRANSFER_PAIRS[wc.model],
    script:
        "../workflow_scripts/compare_transfer.py"
