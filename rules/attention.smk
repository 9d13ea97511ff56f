# Attention maps of interpreted transformer models on the interpretation windows
# (interpret.windows: top predicted, variants or a BED), one figure per model.


rule attention_maps:
    input:
        model="results/models/{model}/model.keras",
        genome=INTERPRET_SEQUENCES,
        windows="results/interpret/{model}/windows.tsv",
    output:
        maps="results/interpret/{model}/attention.h5",
        figure=report(
            "results/interpret/{model}/attention.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/attention.rst",
        ),
    log:
        "logs/interpret/attention_maps.{model}.log",
    benchmark:
        "benchmarks/interpret/attention_maps.{model}.tsv"
    wildcard_constraints:
        model="|".join(ATTENTION_MODELS) or "(?!)",
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        seed=config["seed"],
        plot_windows=INTERPRET["plot_windows"],
    script:
        "../workflow_scripts/attention_maps.py"
