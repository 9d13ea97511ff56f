# Variant effect scoring: the VCF's records scatter into chunks per model and gather in order.

# What scoring reads from the config (the VCF itself is an input). The chunks are temp() files,
# gone after the gather, and Snakemake can only compare a job's params and inputs with its
# last run while its outputs exist: so rule gather_scores carries them too, and a changed
# VCF or setting reruns the chunks through it.
SCORING_SETTINGS = stable(
    {
        k: config["variants"][k]
        for k in ("batch_size", "reverse_complement", "ref_mismatch", "background")
    }
    | {"seed": config["seed"]}
)


rule bgzip_vcf:
    input:
        VCF or [],
    output:
        "results/score/input.vcf.gz",
    log:
        "logs/score/bgzip_vcf.log",
    benchmark:
        "benchmarks/score/bgzip_vcf.tsv"
    conda:
        "../envs/score.yaml"
    script:
        "../workflow_scripts/bgzip_vcf.py"


rule score_chunk:
    input:
        model="results/models/{model}/model.keras",
        genome=config["genome"],
        vcf=SCORING_VCF or [],
        check=check_gate("vcf"),
    output:
        # variants.format (rules/common.smk, SCORE_FORMAT): the long table, the matrix or both
        **{
            kind: temp(f"results/score/{{model}}/chunks/{{chunk}}.{ext}")
            for kind, ext in SCORE_CHUNK_FILES.items()
        },
    log:
        "logs/score/score_chunk.{model}.{chunk}.log",
    benchmark:
        "benchmarks/score/score_chunk.{model}.{chunk}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
        chunk=r"\d+",
    conda:
        "../envs/score.yaml"
    threads: config["threads"]["score"]
    params:
        scoring=SCORING_SETTINGS,
        matrix_dtype=config["variants"].get("matrix_dtype", "float16"),
        n_chunks=len(SCORE_CHUNKS),
        tasks=lambda wc: config["models"][wc.model]["tasks"],
    script:
        "../workflow_scripts/score_chunk.py"


rule gather_scores:
    input:
        **{
            kind: expand(
                f"results/score/{{{{model}}}}/chunks/{{chunk}}.{ext}",
                chunk=SCORE_CHUNKS,
            )
            for kind, ext in SCORE_CHUNK_FILES.items()
        },
        # the chunks' own inputs and params (see SCORING_SETTINGS)
        scored_vcf=SCORING_VCF or [],
        model="results/models/{model}/model.keras",
    output:
        **{
            kind: f"results/score/{{model}}/{name}"
            for kind, name in SCORE_FILES.items()
        },
        vcf="results/score/{model}/annotated.vcf.gz",
        tbi="results/score/{model}/annotated.vcf.gz.tbi",
    log:
        "logs/score/gather_scores.{model}.log",
    benchmark:
        "benchmarks/score/gather_scores.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/score.yaml"
    params:
        scoring=SCORING_SETTINGS,
        tasks=lambda wc: config["models"][wc.model]["tasks"],
    script:
        "../workflow_scripts/gather_scores.py"


rule plot_top_effects:
    input:
        f"results/score/{{model}}/{EFFECTS_FILE}",
    output:
        report(
            "results/score/{model}/top_effects.png",
            category="4. Variants",
            subcategory="{model}",
            caption="../report/top_effects.rst",
        ),
    log:
        "logs/score/plot_top_effects.{model}.log",
    benchmark:
        "benchmarks/score/plot_top_effects.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/score.yaml"
    params:
        n=config["variants"]["top_n"],
    script:
        "../workflow_scripts/plot_top_effects.py"
