# Genome tracks (predictions tiled along regions or chromosomes, one bigWig per task) and
# predictions for the sequences of a FASTA file (docs/tracks.md).


rule genome_tracks:
    input:
        model="results/models/{model}/model.keras",
        genome=config["genome"],
        regions=config["tracks"]["regions"] or [],
        peaks=track_peak_files,
        check=[check_gate("bed")] if config["tracks"]["regions"] else [],
    output:
        bigwigs=directory("results/tracks/{model}/bigwig"),
        summary=report(
            "results/tracks/{model}/tracks.tsv",
            category="7. Genome tracks",
            subcategory="{model}",
            caption="../report/tracks_table.rst",
        ),
        png=report(
            "results/tracks/{model}/tracks.png",
            category="7. Genome tracks",
            subcategory="{model}",
            caption="../report/tracks.rst",
        ),
    log:
        "logs/tracks/genome_tracks.{model}.log",
    benchmark:
        "benchmarks/tracks/genome_tracks.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["predict"]
    params:
        cfg=stable(config["tracks"]),
        peaks=track_peaks,
        seed=config["seed"],
    script:
        "../workflow_scripts/genome_tracks.py"


rule predict_fasta:
    input:
        model="results/models/{model}/model.keras",
        fasta=config["predict_fasta"]["fasta"] or [],
        check=check_gate("fasta"),
    output:
        tsv=report(
            "results/sequences/{model}.predictions.tsv",
            category="7. Genome tracks",
            subcategory="{model}",
            caption="../report/predict_fasta.rst",
        ),
    log:
        "logs/tracks/predict_fasta.{model}.log",
    benchmark:
        "benchmarks/tracks/predict_fasta.{model}.tsv"
    wildcard_constraints:
        model=MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["predict"]
    params:
        cfg=stable(config["predict_fasta"]),
        seed=config["seed"],
    script:
        "../workflow_scripts/predict_fasta.py"
