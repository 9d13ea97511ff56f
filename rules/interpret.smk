# Interpretation: ISM and gradient attributions on chosen windows, first-layer filter
# motifs matched to JASPAR (docs/interpretation.md).


rule interpret_windows:
    input:
        model="results/models/{model}/model.keras",
        genome=INTERPRET_SEQUENCES,
        windows=interpret_window_inputs,
        check=lambda wc: [check_gate("bed")] if INTERPRET["windows"] == "bed" else [],
    output:
        ism="results/interpret/{model}/ism.h5",
        attributions="results/interpret/{model}/attributions.h5",
        windows="results/interpret/{model}/windows.tsv",
        ism_png=report(
            "results/interpret/{model}/ism.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/ism.rst",
        ),
        attributions_png=report(
            "results/interpret/{model}/attributions.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/attributions.rst",
        ),
    log:
        "logs/interpret/interpret_windows.{model}.log",
    benchmark:
        "benchmarks/interpret/interpret_windows.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        # the interpret keys it reads (not filters, jaspar, deeplift, modisco: other rules')
        cfg=stable(
            {
                k: INTERPRET[k]
                for k in (
                    "windows",
                    "n_per_task",
                    "ism_method",
                    "reverse_complement",
                    "ig_steps",
                    "ig_baseline",
                    "batch_size",
                    "plot_windows",
                )
            }
        ),
        seed=config["seed"],
    script:
        "../workflow_scripts/interpret_windows.py"


rule filter_motifs:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/test.h5",
        database=INTERPRET["jaspar"]["file"] or [],
    output:
        summary="results/interpret/{model}/filters.tsv",
        motifs="results/interpret/{model}/filter_motifs.jaspar",
        matches=report(
            "results/interpret/{model}/filter_matches.tsv",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/filter_matches.rst",
        ),
        logos=report(
            "results/interpret/{model}/filter_logos.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/filter_logos.rst",
        ),
    log:
        "logs/interpret/filter_motifs.{model}.log",
    benchmark:
        "benchmarks/interpret/filter_motifs.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        cfg=stable({k: INTERPRET[k] for k in ("filters", "jaspar")}),
        seed=config["seed"],
    script:
        "../workflow_scripts/filter_motifs.py"
