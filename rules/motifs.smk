# DeepLIFT/DeepSHAP attributions of the positive test windows and TF-MoDISco motifs from them,
# matched to JASPAR (docs/interpretation.md).


rule deeplift_shap:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/test.h5",
    output:
        h5="results/interpret/{model}/contributions.h5",
        summary=report(
            "results/interpret/{model}/contributions.tsv",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/contributions_table.rst",
        ),
        png=report(
            "results/interpret/{model}/contributions.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/contributions.rst",
        ),
    log:
        "logs/interpret/deeplift_shap.{model}.log",
    benchmark:
        "benchmarks/interpret/deeplift_shap.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        cfg=stable(INTERPRET["deeplift"]),
        tasks=deeplift_tasks,
        seed=config["seed"],
    script:
        "../workflow_scripts/deeplift_shap.py"


rule modisco_motifs:
    input:
        h5="results/interpret/{model}/contributions.h5",
        database=INTERPRET["jaspar"]["file"] or [],
    output:
        patterns=report(
            "results/interpret/{model}/modisco_patterns.tsv",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/modisco_patterns.rst",
        ),
        matches="results/interpret/{model}/modisco_matches.tsv",
        seqlets="results/interpret/{model}/modisco_seqlets.tsv",
        meme="results/interpret/{model}/modisco_motifs.meme",
        png=report(
            "results/interpret/{model}/modisco_patterns.png",
            category="5. Interpretation",
            subcategory="{model}",
            caption="../report/modisco_logos.rst",
        ),
    log:
        "logs/interpret/modisco_motifs.{model}.log",
    benchmark:
        "benchmarks/interpret/modisco_motifs.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: 1
    params:
        cfg=stable(INTERPRET["modisco"]),
        jaspar=stable(INTERPRET["jaspar"]),
    script:
        "../workflow_scripts/modisco_motifs.py"
