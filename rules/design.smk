# Sequence design: in-silico evolution towards one task, and motif implantation experiments
# (docs/design.md).


rule design_sequences:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/test.h5",
        check_models=design_check_models(),
        motifs=config["design"]["motifs"] or [],
    output:
        fasta="results/design/{model}/designed.fa",
        trajectory="results/design/{model}/trajectory.tsv",
        edits="results/design/{model}/edits.tsv",
        check=report(
            "results/design/{model}/check.tsv",
            category="8. Sequence design",
            subcategory="{model}",
            caption="../report/design_check.rst",
        ),
        figure=report(
            "results/design/{model}/trajectory.png",
            category="8. Sequence design",
            subcategory="{model}",
            caption="../report/design_trajectory.rst",
        ),
    log:
        "logs/design/design_sequences.{model}.log",
    benchmark:
        "benchmarks/design/design_sequences.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        cfg=stable(config["design"]),
        seed=config["seed"],
    script:
        "../workflow_scripts/design_sequences.py"


rule implant_motifs:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/test.h5",
        motifs=config["design"]["motifs"] or [],
    output:
        tsv="results/design/{model}/implant.tsv",
        png=report(
            "results/design/{model}/implant.png",
            category="8. Sequence design",
            subcategory="{model}",
            caption="../report/implant.rst",
        ),
    log:
        "logs/design/implant_motifs.{model}.log",
    benchmark:
        "benchmarks/design/implant_motifs.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        cfg=stable(config["design"]),
        seed=config["seed"],
    script:
        "../workflow_scripts/implant_motifs.py"
