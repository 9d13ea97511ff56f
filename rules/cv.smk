# Cross-validation folds (docs/cross-validation.md): the encoded windows split into K folds,
# one training job per (model, fold), per-fold test metrics, their mean and sd, and the report.
from deepcis.cv import check_cv, cv_models, fai_chromosomes, fold_name

try:
    # the fold count against the genome's chromosomes, when its index exists already
    check_cv(config, fai_chromosomes(config["genome"]))
except DeepcisError as error:
    raise WorkflowError(str(error))

CV = config["cv"]
CV_MODELS = cv_models(config)
CV_MODEL_PATTERN = "|".join(CV_MODELS) if CV_MODELS else "(?!)"
CV_FOLDS = [fold_name(k) for k in range(CV["folds"])]
# the folds draw on every split, or (holdout) on train and valid only
CV_SOURCES = ["train", "valid"] if CV["holdout"] else list(SPLITS)
# what decides the fold assignment (not cv.models: adding a model reuses the folds)
CV_ASSIGNMENT = stable({k: CV[k] for k in ("folds", "by", "block_size", "holdout")})


# Fold ensembles: evaluated on the outer test split (holdout), and scoring the VCF.
CV_OUTER_TEST = ["results/encode/test.h5"] if CV["ensemble"] and CV["holdout"] else []
CV_ENSEMBLE_EVAL = CV_MODELS if CV["ensemble"] and CV["holdout"] else []
CV_ENSEMBLE_SCORE = (
    [m for m in CV_MODELS if m in SCORING_MODELS] if CV["ensemble"] and VCF else []
)
# ... and the ensemble's genome tracks and ISM, for models whose tracks or interpretation are made
CV_ENSEMBLE_TRACKS = (
    [m for m in CV_MODELS if m in TRACK_MODELS] if CV["ensemble"] else []
)
CV_ENSEMBLE_ISM = (
    [m for m in CV_MODELS if m in INTERPRET_MODELS] if CV["ensemble"] else []
)
# what rule all asks for (rules/common.smk, final_outputs)
CV_OUTPUTS = (
    [
        "results/cv/folds.tsv",
        "results/cv/per_fold.tsv",
        "results/cv/summary.tsv",
        "results/cv/spread.png",
        "results/report/cv.html",
        *expand("results/cv/{model}/ensemble/comparison.tsv", model=CV_ENSEMBLE_EVAL),
        *expand(
            "results/cv/{model}/ensemble/{file}",
            model=CV_ENSEMBLE_SCORE,
            file=SCORE_FILES.values(),
        ),
        *expand(
            "results/cv/{model}/ensemble/tracks/{file}",
            model=CV_ENSEMBLE_TRACKS,
            file=["bigwig", "tracks.tsv", "tracks.png"],
        ),
        *expand(
            "results/cv/{model}/ensemble/{file}",
            model=CV_ENSEMBLE_ISM,
            file=["ism.h5", "ism.png"],
        ),
        *(["results/cv/paired.tsv"] if len(CV_MODELS) > 1 else []),
    ]
    if CV_MODELS
    else []
)


rule cv_folds:
    input:
        expand("results/encode/{split}.h5", split=CV_SOURCES),
    output:
        assignment="results/cv/folds.tsv",
        summary="results/cv/folds.json",
    log:
        "logs/cv/cv_folds.log",
    benchmark:
        "benchmarks/cv/cv_folds.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        cv=CV_ASSIGNMENT,
        seed=config["seed"],
        sources=CV_SOURCES,
    script:
        "../workflow_scripts/cv_folds.py"


rule cv_fold_data:
    input:
        sources=expand("results/encode/{split}.h5", split=CV_SOURCES),
        assignment="results/cv/folds.tsv",
        summary="results/cv/folds.json",
    output:
        expand("results/cv/data/{{fold}}/{part}.h5", part=SPLITS),
    log:
        "logs/cv/cv_fold_data.{fold}.log",
    benchmark:
        "benchmarks/cv/cv_fold_data.{fold}.tsv"
    wildcard_constraints:
        fold=r"fold\d+",
    conda:
        "../envs/evaluate.yaml"
    params:
        sources=CV_SOURCES,
        folds=CV["folds"],
    script:
        "../workflow_scripts/cv_fold_data.py"


# One fold model: trained, then (TensorFlow loaded, the model in memory) its predictions on
# the fold's test windows and, for a fold ensemble with cv.holdout, on the outer test split.
rule cv_train:
    input:
        train="results/cv/data/{fold}/train.h5",
        valid="results/cv/data/{fold}/valid.h5",
        test="results/cv/data/{fold}/test.h5",
        outer=CV_OUTER_TEST,
        check=overfit_check_input,
    output:
        model="results/cv/{model}/{fold}/model.keras",
        info="results/cv/{model}/{fold}/model.json",
        history="results/cv/{model}/{fold}/history.tsv",
        curves="results/cv/{model}/{fold}/training_curves.png",
        predictions=["results/cv/{model}/{fold}/test.predictions.h5"]
        + (
            ["results/cv/{model}/{fold}/outer_test.predictions.h5"]
            if CV_OUTER_TEST
            else []
        ),
    log:
        "logs/cv/cv_train.{model}.{fold}.log",
    benchmark:
        "benchmarks/cv/cv_train.{model}.{fold}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
        fold=r"fold\d+",
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
        resume_dir=lambda wc: f"results/cv/{wc.model}/{wc.fold}.resume",
        tasks=lambda wc: config["models"][wc.model]["tasks"],
        source=None,
        task_specs=lambda wc: {
            t: TASK_SPECS[t] for t in config["models"][wc.model]["tasks"]
        },
        # the predictions, as rule predict_split makes them
        reverse_complement=config["evaluate"]["reverse_complement"],
        batch_size=config["evaluate"]["batch_size"],
    script:
        "../workflow_scripts/cv_train.py"


rule cv_metrics:
    input:
        "results/cv/{model}/{fold}/test.predictions.h5",
    output:
        "results/cv/{model}/{fold}/test.metrics.tsv",
    log:
        "logs/cv/cv_metrics.{model}.{fold}.log",
    benchmark:
        "benchmarks/cv/cv_metrics.{model}.{fold}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
        fold=r"fold\d+",
    conda:
        "../envs/evaluate.yaml"
    params:
        head=lambda wc: config["models"][wc.model]["train"]["head"],
        kinds=stable(TASK_KINDS),
    script:
        "../workflow_scripts/split_metrics.py"


rule cv_summary:
    input:
        metrics=expand(
            "results/cv/{model}/{fold}/test.metrics.tsv",
            model=CV_MODELS,
            fold=CV_FOLDS,
        ),
        folds="results/cv/folds.json",
    output:
        per_fold=report(
            "results/cv/per_fold.tsv",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_per_fold.rst",
        ),
        summary=report(
            "results/cv/summary.tsv",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_summary.rst",
        ),
        plot=report(
            "results/cv/spread.png",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_spread.rst",
        ),
        html=report(
            "results/report/cv.html",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_table.rst",
        ),
    log:
        "logs/cv/cv_summary.log",
    benchmark:
        "benchmarks/cv/cv_summary.tsv"
    conda:
        "../envs/evaluate.yaml"
    params:
        models=CV_MODELS,
        folds=CV_FOLDS,
    script:
        "../workflow_scripts/cv_summary.py"


# Two or more models on the same folds: the best against each other, fold by fold.
rule cv_compare:
    input:
        "results/cv/per_fold.tsv",
    output:
        report(
            "results/cv/paired.tsv",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_paired.rst",
        ),
    log:
        "logs/cv/cv_compare.log",
    benchmark:
        "benchmarks/cv/cv_compare.tsv"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../workflow_scripts/cv_compare.py"


rule cv_ensemble_eval:
    input:
        expand(
            "results/cv/{{model}}/{fold}/outer_test.predictions.h5",
            fold=CV_FOLDS,
        ),
    output:
        predictions="results/cv/{model}/ensemble/outer_test.predictions.h5",
        comparison=report(
            "results/cv/{model}/ensemble/comparison.tsv",
            category="3. Evaluation",
            subcategory="Cross-validation",
            caption="../report/cv_ensemble.rst",
        ),
    log:
        "logs/cv/cv_ensemble_eval.{model}.log",
    benchmark:
        "benchmarks/cv/cv_ensemble_eval.{model}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
    conda:
        "../envs/evaluate.yaml"
    params:
        folds=CV_FOLDS,
        head=lambda wc: config["models"][wc.model]["train"]["head"],
        kinds=stable(TASK_KINDS),
    script:
        "../workflow_scripts/cv_ensemble_eval.py"


rule cv_ensemble_scores:
    input:
        models=expand("results/cv/{{model}}/{fold}/model.keras", fold=CV_FOLDS),
        genome=config["genome"],
        vcf=SCORING_VCF or [],
        check=check_gate("vcf"),
    output:
        expand("results/cv/{{model}}/ensemble/{file}", file=SCORE_FILES.values()),
    log:
        "logs/cv/cv_ensemble_scores.{model}.log",
    benchmark:
        "benchmarks/cv/cv_ensemble_scores.{model}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
    conda:
        "../envs/score.yaml"
    threads: config["threads"]["score"]
    params:
        scoring=SCORING_SETTINGS,
        matrix_dtype=config["variants"].get("matrix_dtype", "float16"),
        tasks=lambda wc: config["models"][wc.model]["tasks"],
    script:
        "../workflow_scripts/cv_ensemble_scores.py"


# Genome tracks of the ensemble: each fold model tiles the tracks config's regions (one job, one
# TensorFlow start), then per track the mean over folds and the spread (<task>.sd.bw).
rule cv_ensemble_tracks:
    input:
        models=expand("results/cv/{{model}}/{fold}/model.keras", fold=CV_FOLDS),
        genome=config["genome"],
        regions=config["tracks"]["regions"] or [],
        peaks=track_peak_files,
        check=[check_gate("bed")] if config["tracks"]["regions"] else [],
    output:
        bigwigs=directory("results/cv/{model}/ensemble/tracks/bigwig"),
        summary=report(
            "results/cv/{model}/ensemble/tracks/tracks.tsv",
            category="7. Genome tracks",
            subcategory="{model} fold ensemble",
            caption="../report/cv_ensemble_tracks.rst",
        ),
        png=report(
            "results/cv/{model}/ensemble/tracks/tracks.png",
            category="7. Genome tracks",
            subcategory="{model} fold ensemble",
            caption="../report/cv_ensemble_tracks.rst",
        ),
    log:
        "logs/cv/cv_ensemble_tracks.{model}.log",
    benchmark:
        "benchmarks/cv/cv_ensemble_tracks.{model}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["predict"]
    params:
        cfg=stable(config["tracks"]),
        peaks=track_peaks,
        seed=config["seed"],
    script:
        "../workflow_scripts/genome_tracks.py"


# ISM of the ensemble on the windows the model's own interpretation explains (its windows.tsv),
# so the two maps can be set side by side: mean over folds (ism) and spread (ism_sd).
rule cv_ensemble_ism:
    input:
        models=expand("results/cv/{{model}}/{fold}/model.keras", fold=CV_FOLDS),
        genome=INTERPRET_SEQUENCES,
        windows="results/interpret/{model}/windows.tsv",
    output:
        ism="results/cv/{model}/ensemble/ism.h5",
        png=report(
            "results/cv/{model}/ensemble/ism.png",
            category="5. Interpretation",
            subcategory="{model} fold ensemble",
            caption="../report/cv_ensemble_ism.rst",
        ),
    log:
        "logs/cv/cv_ensemble_ism.{model}.log",
    benchmark:
        "benchmarks/cv/cv_ensemble_ism.{model}.tsv"
    wildcard_constraints:
        model=CV_MODEL_PATTERN,
    conda:
        "../envs/interpret.yaml"
    threads: config["threads"]["interpret"]
    params:
        cfg=stable(
            {
                k: INTERPRET[k]
                for k in (
                    "ism_method",
                    "reverse_complement",
                    "batch_size",
                    "plot_windows",
                )
            }
        ),
        seed=config["seed"],
    script:
        "../workflow_scripts/cv_ensemble_ism.py"
