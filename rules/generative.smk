# Generative models (docs/models.md): autoencoders (embeddings of every split, reconstruction,
# a 2-D projection, a linear probe of the embeddings next to the untrained encoder's) and
# WGAN-GP generators (samples, and their k-mer, GC, motif and activity statistics next to real
# windows and two baselines).

AE_PATTERN = "|".join(AUTOENCODERS) or "(?!)"
GAN_PATTERN = "|".join(GANS) or "(?!)"
# Each rule's params hold only the config keys its script reads (a change elsewhere in the
# model's entry reruns nothing), key order made stable (issue 13).


rule train_autoencoder:
    input:
        train="results/encode/train.h5",
        valid="results/encode/valid.h5",
    output:
        model="results/models/{model}/model.keras",
        info="results/models/{model}/model.json",
        history="results/models/{model}/history.tsv",
        curves=report(
            "results/models/{model}/training_curves.png",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/autoencoder_curves.rst",
        ),
    log:
        "logs/generative/train_autoencoder.{model}.log",
    benchmark:
        "benchmarks/generative/train_autoencoder.{model}.tsv"
    wildcard_constraints:
        model=AE_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=8000,
    params:
        spec=lambda wc: stable(
            {k: config["models"][wc.model][k] for k in ("hyperparameters", "train")}
        ),
        seed=config["seed"],
        resume_dir=lambda wc: f"results/models/{wc.model}.resume",
    script:
        "../workflow_scripts/train_autoencoder.py"


rule embed_split:
    input:
        model="results/models/{model}/model.keras",
        data="results/encode/{split}.h5",
    output:
        "results/embed/{model}/{split}.h5",
    log:
        "logs/generative/embed_split.{model}.{split}.log",
    benchmark:
        "benchmarks/generative/embed_split.{model}.{split}.tsv"
    wildcard_constraints:
        model=AE_PATTERN,
        split="|".join(SPLITS),
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["predict"]
    params:
        seed=config["seed"],
    script:
        "../workflow_scripts/embed_split.py"


rule evaluate_autoencoder:
    input:
        model="results/models/{model}/model.keras",
        valid="results/encode/valid.h5",
        test="results/encode/test.h5",
        embeddings="results/embed/{model}/test.h5",
    output:
        table=report(
            "results/embed/{model}/reconstruction.tsv",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/reconstruction.rst",
        ),
        projection=report(
            "results/embed/{model}/projection.png",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/projection.rst",
        ),
    log:
        "logs/generative/evaluate_autoencoder.{model}.log",
    benchmark:
        "benchmarks/generative/evaluate_autoencoder.{model}.tsv"
    wildcard_constraints:
        model=AE_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["predict"]
    params:
        hyperparameters=lambda wc: stable(config["models"][wc.model]["hyperparameters"]),
        seed=config["seed"],
        tasks=[t for t in TASK_NAMES if TASK_KINDS[t] == "binary"],
    script:
        "../workflow_scripts/evaluate_autoencoder.py"


rule probe_embeddings:
    input:
        embeddings=expand("results/embed/{{model}}/{split}.h5", split=SPLITS),
        data=expand("results/encode/{split}.h5", split=SPLITS),
        kmer=(
            [f"results/evaluate/{BASELINE}/test.metrics.tsv"]
            if config["baseline"]["enabled"]
            else []
        ),
    output:
        valid="results/evaluate/{model}/valid.predictions.h5",
        test="results/evaluate/{model}/test.predictions.h5",
        table=report(
            "results/embed/{model}/probe.tsv",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/probe.rst",
        ),
    log:
        "logs/generative/probe_embeddings.{model}.log",
    benchmark:
        "benchmarks/generative/probe_embeddings.{model}.tsv"
    wildcard_constraints:
        model=AE_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["predict"]
    params:
        hyperparameters=lambda wc: stable(config["models"][wc.model]["hyperparameters"]),
        seed=config["seed"],
        splits=SPLITS,
        tasks=[t for t in TASK_NAMES if TASK_KINDS[t] == "binary"],
    script:
        "../workflow_scripts/probe_embeddings.py"


rule train_gan:
    input:
        train="results/encode/train.h5",
        valid="results/encode/valid.h5",
        scorer=guided_scorer_input,
    output:
        generator="results/models/{model}/generator.keras",
        critic="results/models/{model}/critic.keras",
        info="results/models/{model}/model.json",
        history="results/models/{model}/history.tsv",
        curves=report(
            "results/models/{model}/training_curves.png",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/gan_curves.rst",
        ),
    log:
        "logs/generative/train_gan.{model}.log",
    benchmark:
        "benchmarks/generative/train_gan.{model}.tsv"
    wildcard_constraints:
        model=GAN_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["train"]
    resources:
        mem_mb=8000,
    params:
        spec=lambda wc: stable(
            {k: config["models"][wc.model][k] for k in ("hyperparameters", "train")}
        ),
        seed=config["seed"],
    script:
        "../workflow_scripts/train_gan.py"


rule sample_generative:
    input:
        generator="results/models/{model}/generator.keras",
        info="results/models/{model}/model.json",
        # a conditional GAN (condition: labels) is sampled with the training split's label rows
        train="results/encode/train.h5",
    output:
        "results/generate/{model}/samples.fa",
    log:
        "logs/generative/sample_generative.{model}.log",
    benchmark:
        "benchmarks/generative/sample_generative.{model}.tsv"
    wildcard_constraints:
        model=GAN_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["predict"]
    params:
        n=lambda wc: config["models"][wc.model]["generative"]["samples"],
        seed=config["seed"],
    script:
        "../workflow_scripts/sample_generative.py"


rule evaluate_generative:
    input:
        samples="results/generate/{model}/samples.fa",
        train="results/encode/train.h5",
        test="results/encode/test.h5",
        scorer=generated_scorer_input,
        motifs=generated_motifs_input,
    output:
        table=report(
            "results/generate/{model}/metrics.tsv",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/generated_metrics.rst",
        ),
        figure=report(
            "results/generate/{model}/comparison.png",
            category="9. Generative models",
            subcategory="{model}",
            caption="../report/generated_comparison.rst",
        ),
    log:
        "logs/generative/evaluate_generative.{model}.log",
    benchmark:
        "benchmarks/generative/evaluate_generative.{model}.tsv"
    wildcard_constraints:
        model=GAN_PATTERN,
    conda:
        "../envs/generative.yaml"
    threads: config["threads"]["predict"]
    params:
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate_generative.py"
