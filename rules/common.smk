# Config validation (before any job runs), the tasks sheet, and input helpers.
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError

from deepcis.config import (
    check_model_tasks,
    check_stage_models,
    check_regions,
    check_scan,
    check_task_peaks,
    expand_per_task_models,
    generative_models,
    genome_sizes,
    read_tasks,
    transfer_source_path,
    validate_config,
)
from deepcis.coverage import plan_reads_tasks
from deepcis.effects import effects_files, effects_format
from deepcis.errors import DeepcisError
from deepcis.external import (
    check_external_stages,
    dataset_models,
    external_files,
    wrapped_models,
)
from deepcis.input_check import check_inputs, group_spec, summary_lines
from deepcis.io_utils import config_sha256, stable, sweep_stale_temp_files
from deepcis.remote import localise_inputs
from deepcis.seqtable import plan_sequence_table
from deepcis.splits import SPLITS
from deepcis.sweep import plan_sweeps
from deepcis.vcf import vcf_compression

try:
    _validated = validate_config(config)
    config.clear()
    config.update(_validated)
    EXAMPLE_DIR = Path(config["example"]["dir"])
    # Files inside the example folder are made by rule simulate_example, so they need not exist yet.
    # No tasks sheet: every model is external (nothing to prepare, encode or train).
    TASKS = (
        read_tasks(
            config["tasks"],
            existing_or_made=lambda p: Path(p).is_file()
            or EXAMPLE_DIR in Path(p).parents,
        )
        if config["tasks"]
        else []
    )
    # Sequence tables (rules/seqtable.smk): the table's columns are the tasks, no genome; the
    # sources are read and checked here (cached as the input check's scans are, and listed by
    # its "data" group), and stages that need a genome refused.
    SEQUENCE_TABLE = bool(config["sequence_table"]["train"])
    if SEQUENCE_TABLE:
        TASKS = plan_sequence_table(config, cache_dir=".snakemake/deepcis")
        config["genome"] = []  # no rule has a genome input
    # Signal tasks naming a BAM or fragments file read a coverage bigWig (rules/coverage.smk);
    # their sort order and index are checked here, their contigs by the input check.
    READS_TASKS = plan_reads_tasks(TASKS)
    # Models that name no tasks train on every task prepare keeps (prepare.min_positives may
    # drop some); those that do are checked against the sheet here.
    MODEL_TASKS = {m: spec.get("tasks") for m, spec in config["models"].items()}
    check_model_tasks(config, [t["name"] for t in TASKS])
    # per_task entries become one model per task: {entry: [<entry>__<task>, ...]}
    PER_TASK = expand_per_task_models(config)
    # each member names its one task
    MODEL_TASKS |= {
        m: config["models"][m]["tasks"] for ms in PER_TASK.values() for m in ms
    }
    # swept models (per_task members included) become one training job per point:
    # {model: {point: spec}} (rules/sweep.smk); the chosen point is the model
    SWEEPS = plan_sweeps(config)
    check_stage_models(config, [t["name"] for t in TASKS if t["type"] == "binary"])
    check_external_stages(config, [t["name"] for t in TASKS])
    # Regions, split blocks and peaks against the genome, before any job runs.
    _regions = check_regions(config, genome_sizes(config["genome"]))
    check_task_peaks(TASKS, _regions, config["chromosomes"])
    check_scan(config, TASKS)
    # http(s) inputs: from here on, their local copies (made by rule fetch_remote)
    REMOTE = localise_inputs(config, TASKS)
    # Every input file that exists is checked now (docs/architecture.md, "Input check"), so a
    # dry run stops on the same errors as a run; results are cached by path, size and mtime
    # under .snakemake/deepcis, so the re-parse in every cluster job costs a stat per file.
    # Files the workflow makes (the example, remote copies) are checked by rule check_inputs.
    INPUT_CHECKS = check_inputs(
        config,
        TASKS,
        cache_dir=".snakemake/deepcis",
        fix_index=not workflow.dryrun,
        skip_missing=True,
    )
except DeepcisError as error:
    raise WorkflowError(str(error))
if INPUT_CHECKS and workflow.is_main_process:
    print("\n".join(summary_lines(INPUT_CHECKS)), file=sys.stderr)

REMOTE_DIR = config["remote"]["dir"].rstrip("/")
REMOTE_PATTERN = "|".join(re.escape(p[len(REMOTE_DIR) + 1 :]) for p in REMOTE) or "(?!)"

TASK_NAMES = [t["name"] for t in TASKS]
TASK_PEAKS = {t["name"]: t["peaks"] for t in TASKS if t["type"] == "binary"}
# Multi-modal tasks (docs/multimodal.md): bigWig signal tracks and measured-region BEDs.
TASK_FILES = [t[c] for t in TASKS for c in ("signal", "measured") if c in t]
TASK_KINDS = {
    t["name"]: "regression" if t["type"] == "signal" else "binary" for t in TASKS
}
TASK_SPECS = {t["name"]: {k: t[k] for k in ("type", "loss", "weight")} for t in TASKS}
# HDF5 labels: uint8 0/1, or float32 (NaN = missing) with signal tasks or measured regions
LABEL_DTYPE = (
    "float32"
    if any(t["type"] == "signal" or "measured" in t for t in TASKS)
    else "uint8"
)
# Provenance: the whole config (rule run_info records it; its hash reruns only report jobs),
# and the part the data stages read (the `config_sha256` attribute of the HDF5 splits), so
# pointing variants.vcf elsewhere does not re-encode or retrain (docs/architecture.md).
CONFIG_SHA256 = config_sha256(config)
# prepare's settings less its job layout (prepare.chunks: the files do not depend on it)
PREPARE_SETTINGS = stable({k: v for k, v in config["prepare"].items() if k != "chunks"})
DATA_CONFIG = stable(
    {k: config[k] for k in ("genome", "blacklist", "chromosomes", "seed", "split")}
    | {"prepare": PREPARE_SETTINGS}
    | {
        "tasks": [
            {
                k: v
                for k, v in t.items()
                if k not in ("cell_type", "assay", "loss", "weight")
            }
            for t in TASKS
        ]
    }
)
DATA_CONFIG_SHA256 = config_sha256(DATA_CONFIG)
# Generative models (autoencoder, gan; rules/generative.smk) train and evaluate their own way.
GENERATIVE = generative_models(config)
AUTOENCODERS = [m for m, a in GENERATIVE.items() if a == "autoencoder"]
GANS = [m for m, a in GENERATIVE.items() if a == "gan"]
# The supervised models, each trained as one job (per_task members included).
MODELS = [m for m in config["models"] if m not in GENERATIVE]
MODEL_PATTERN = "|".join(MODELS) if MODELS else "(?!)"
# External models are imported from a file (rule import_model), not trained (docs/external-models.md).
EXTERNAL = [m for m in MODELS if config["models"][m].get("external")]
TRAINED = [m for m in MODELS if m not in EXTERNAL]
TRAINED_PATTERN = "|".join(TRAINED) if TRAINED else "(?!)"
# trained by rule train_model (a swept model is its chosen point, copied by rule sweep_select)
SINGLE_TRAINED = [m for m in TRAINED if m not in SWEEPS]
SINGLE_TRAINED_PATTERN = "|".join(SINGLE_TRAINED) if SINGLE_TRAINED else "(?!)"
EXTERNAL_PATTERN = "|".join(EXTERNAL) if EXTERNAL else "(?!)"
# The models that read the HDF5 datasets: every trained one, and external ones that predict
# tasks of the sheet at prepare.window_length.
DATASET_MODELS = dataset_models(config, TASK_NAMES)
PER_TASK_MEMBER = {m: entry for entry, members in PER_TASK.items() for m in members}
BASELINE = "kmer_baseline"
# Transferred models with a from-scratch twin: {fine-tuned model: from-scratch model}.
TRANSFER_PAIRS = {
    m: spec["transfer"]["compare_to"]
    for m, spec in config["models"].items()
    if spec.get("transfer") and spec["transfer"]["compare_to"]
}
# Everything evaluated side by side: the models that read the datasets (a per_task entry once,
# its members' predictions side by side), the autoencoders' embedding probes, then the
# classical baseline.
EVALUATED = (
    list(
        dict.fromkeys(PER_TASK_MEMBER.get(m, m) for m in MODELS if m in DATASET_MODELS)
    )
    + AUTOENCODERS
    + ([BASELINE] if config["baseline"]["enabled"] and TASKS else [])
)
# The training record of each evaluated model (a per_task entry: its members' together).
EVALUATED_INFO = {
    m: (
        f"results/evaluate/{m}/test.per_task.json"
        if m in PER_TASK
        else f"results/models/{m}/model.json"
    )
    for m in EVALUATED
    if m != BASELINE
}
EVAL_SPLITS = config["evaluate"]["splits"]
# Scanning evaluation (docs/evaluation.md): every bin of these held-out splits, as the
# pseudo-splits "<split>_scan" that encode, predict and metrics treat like any split.
SCAN_SPLITS = config["evaluate"]["scan"]["splits"]
SCAN_SETS = [f"{s}_scan" for s in SCAN_SPLITS]
SCORED_SETS = EVAL_SPLITS + SCAN_SETS
VCF = config["variants"]["vcf"]
# htslib cannot read plain-gzip VCFs (dbSNP and ENCODE serve many): those are recompressed
# with bgzip once (rule bgzip_vcf); bgzip, BCF and plain-text VCFs are read where they lie.
SCORING_VCF = (
    "results/score/input.vcf.gz"
    if VCF and Path(VCF).is_file() and vcf_compression(VCF) == "gzip"
    else VCF
)
SCORING_MODELS = (config["variants"]["models"] or MODELS) if VCF else []
SCORE_CHUNKS = list(range(config["variants"]["chunks"]))
# The effect files (deepcis.effects): the long table, the alleles x tasks matrix, or both;
# "auto" picks the matrix when a scored model has over 100 tasks. Readers take EFFECTS_FILE
# (the matrix when there is one) and read either form (deepcis.effects.iter_effects).
SCORE_FORMAT = effects_format(
    config["variants"],
    [len(config["models"][m].get("tasks") or []) for m in SCORING_MODELS],
)
SCORE_FILES = {
    {"effects.h5": "h5", "effects.tsv.gz": "tsv"}[name]: name
    for name in effects_files(SCORE_FORMAT)
}
SCORE_CHUNK_FILES = {
    **{kind: name.removeprefix("effects.") for kind, name in SCORE_FILES.items()},
    "vcf": "vcf.gz",
}
EFFECTS_FILE = effects_files(SCORE_FORMAT)[0]
INTERPRET = config["interpret"]
# The bases of the interpretation windows: the genome's, or for sequence-table inputs (no
# genome; windows chosen by sequence ID) the encoded test split's.
INTERPRET_SEQUENCES = config["genome"] or "results/encode/test.h5"
INTERPRET_MODELS = [
    m
    for m in ((INTERPRET["models"] or MODELS) if INTERPRET["enabled"] else [])
    if m in DATASET_MODELS or INTERPRET["windows"] != "top_predicted"
]
# First-layer filter motifs read test windows through deepcis' own first convolution.
FILTER_MODELS = [
    m
    for m in INTERPRET_MODELS
    if m in DATASET_MODELS and m not in wrapped_models(config)
]

# DeepLIFT + MoDISco, genome tracks, FASTA predictions and sequence design (rules/motifs.smk,
# rules/tracks.smk, rules/design.smk).
DEEPLIFT = INTERPRET["deeplift"]
DEEPLIFT_MODELS = [
    m
    for m in (
        (DEEPLIFT["models"] or INTERPRET["models"] or MODELS)
        if DEEPLIFT["enabled"]
        else []
    )
    if m in DATASET_MODELS
]
MODISCO_MODELS = DEEPLIFT_MODELS if INTERPRET["modisco"]["enabled"] else []
TRACK_MODELS = (
    (config["tracks"]["models"] or MODELS) if config["tracks"]["enabled"] else []
)
FASTA_MODELS = (
    (config["predict_fasta"]["models"] or MODELS)
    if config["predict_fasta"]["fasta"]
    else []
)
DESIGN_MODELS = [config["design"]["model"]] if config["design"]["enabled"] else []
IMPLANT_MODELS = DESIGN_MODELS if config["design"]["implant"]["enabled"] else []


def design_check_models():
    """The files of design.check_models: a model of this config, or the k-mer baseline."""
    return [
        (
            f"results/models/{BASELINE}/model.npz"
            if m == BASELINE
            else f"results/models/{m}/model.keras"
        )
        for m in config["design"]["check_models"]
    ]


def deeplift_tasks(wildcards):
    """The tasks a model explains: interpret.deeplift.tasks it predicts, else all of its tasks."""
    own = config["models"][wildcards.model]["tasks"]
    return [t for t in DEEPLIFT["tasks"] or own if t in own]


def track_peaks(wildcards):
    """{task: peak file} of the model's binary tasks: the tracks summary compares the signal
    inside and outside them."""
    own = config["models"][wildcards.model]["tasks"]
    return {t: TASK_PEAKS[t] for t in own if t in TASK_PEAKS}


def track_peak_files(wildcards):
    return list(track_peaks(wildcards).values())


# Interpreted transformers also get attention maps (rules/attention.smk).
ATTENTION_MODELS = [
    m for m in INTERPRET_MODELS if config["models"][m]["architecture"] == "transformer"
]


# The input-check groups (rules/checks.smk): data files, the VCF, the BEDs of interpret and
# tracks, the FASTA of predict_fasta.
CHECK_GROUPS = (
    ["data"]
    + (["vcf"] if VCF else [])
    + (
        ["bed"]
        if (INTERPRET_MODELS and INTERPRET["windows"] == "bed")
        or (TRACK_MODELS and config["tracks"]["regions"])
        else []
    )
    + (["fasta"] if FASTA_MODELS else [])
)


def check_gate(group):
    """The input check a long rule waits for (rules/checks.smk)."""
    return f"results/check/{group}.json"


def transfer_source_input(wildcards):
    """The model file a transferred model starts from (a rule's output for a config model)."""
    source = transfer_source_path(config, wildcards.model)
    return [f"{source}/model.keras"] if source else []


def overfit_check_input(wildcards):
    """The one-batch check of a model trained from scratch (a transferred body is trained)."""
    if config["models"][wildcards.model].get("transfer"):
        return []
    return [f"results/models/{wildcards.model}/overfit_one_batch.json"]


def generated_scorer_input(wildcards):
    """The supervised model a GAN's samples are scored with (generative.scorer), if any."""
    scorer = config["models"][wildcards.model]["generative"]["scorer"]
    return [f"results/models/{scorer}/model.keras"] if scorer else []


def guided_scorer_input(wildcards):
    """The scorer a GAN trains with, if any: an activity-guided GAN's (hyperparameter guidance >
    0) and one whose critic reads the scorer's first filters (scorer_filters)."""
    hp = config["models"][wildcards.model]["hyperparameters"]
    guided = hp["guidance"] or hp["scorer_filters"]
    return generated_scorer_input(wildcards) if guided else []


def generated_motifs_input(wildcards):
    """The JASPAR file whose match rates a GAN's samples are compared on (generative.motifs)."""
    motifs = config["models"][wildcards.model]["generative"]["motifs"]
    return [motifs] if motifs else []


def blacklist_input():
    return [config["blacklist"]] if config["blacklist"] else []


def final_outputs():
    return [
        *(
            [
                "results/prepare/stats.tsv",
                "results/prepare/class_balance.png",
                *expand("results/encode/{split}.h5", split=SPLITS),
            ]
            if TASKS
            else []
        ),
        *expand("results/models/{model}/model.keras", model=MODELS),
        *expand("results/models/{model}/training_curves.png", model=TRAINED),
        *expand(
            "results/evaluate/{model}/{split}.metrics.tsv",
            model=EVALUATED,
            split=SCORED_SETS,
        ),
        *expand("results/prepare/scan/{split}.stats.tsv", split=SCAN_SPLITS),
        *(
            [
                "results/evaluate/summary.tsv",
                "results/evaluate/comparison.png",
                "results/evaluate/roc_test.png",
                "results/evaluate/pr_test.png",
            ]
            if EVALUATED and "test" in EVAL_SPLITS
            else []
        ),
        *(
            ["results/evaluate/vs_baseline.png"]
            if EVALUATED and config["baseline"]["enabled"] and "test" in EVAL_SPLITS
            else []
        ),
        *(
            ["results/evaluate/summary_scan.tsv"]
            if EVALUATED and "test" in SCAN_SPLITS
            else []
        ),
        *(
            expand(
                "results/transfer/{model}/{file}",
                model=TRANSFER_PAIRS,
                file=["comparison.tsv", "learning_curves.png"],
            )
            if "test" in EVAL_SPLITS
            else []
        ),
        *expand(
            "results/score/{model}/{file}",
            model=SCORING_MODELS,
            file=[*SCORE_FILES.values(), "annotated.vcf.gz", "top_effects.png"],
        ),
        *expand(
            "results/interpret/{model}/{file}",
            model=INTERPRET_MODELS,
            file=["ism.h5", "ism.png", "attributions.h5", "attributions.png"],
        ),
        *expand(
            "results/interpret/{model}/{file}",
            model=FILTER_MODELS,
            file=["filter_matches.tsv", "filter_logos.png"],
        ),
        *stage_outputs_motifs_tracks_design(),
        *CV_OUTPUTS,  # rules/cv.smk
        *SWEEP_OUTPUTS,  # rules/sweep.smk
        *report_outputs(),
    ]


def stage_outputs_motifs_tracks_design():
    """DeepLIFT + MoDISco, genome tracks, FASTA predictions, sequence design."""
    return [
        *expand(
            "results/interpret/{model}/{file}",
            model=DEEPLIFT_MODELS,
            file=["contributions.h5", "contributions.tsv", "contributions.png"],
        ),
        *expand(
            "results/interpret/{model}/{file}",
            model=MODISCO_MODELS,
            file=[
                "modisco_patterns.tsv",
                "modisco_motifs.meme",
                "modisco_patterns.png",
            ],
        ),
        *expand(
            "results/tracks/{model}/{file}",
            model=TRACK_MODELS,
            file=["bigwig", "tracks.tsv", "tracks.png"],
        ),
        *expand("results/sequences/{model}.predictions.tsv", model=FASTA_MODELS),
        *expand(
            "results/design/{model}/{file}",
            model=DESIGN_MODELS,
            file=["designed.fa", "check.tsv", "trajectory.png"],
        ),
        *expand(
            "results/design/{model}/{file}",
            model=IMPLANT_MODELS,
            file=["implant.tsv", "implant.png"],
        ),
        *expand("results/interpret/{model}/attention.png", model=ATTENTION_MODELS),
        *generative_outputs(),
    ]


def generative_outputs():
    """Autoencoders: model, embeddings of every split, reconstruction, projection, probe;
    GANs: generator, samples and their comparison with real and baseline sequences."""
    return [
        *expand(
            "results/models/{model}/{file}",
            model=AUTOENCODERS,
            file=["model.keras", "training_curves.png"],
        ),
        *expand("results/embed/{model}/{split}.h5", model=AUTOENCODERS, split=SPLITS),
        *expand(
            "results/embed/{model}/{file}",
            model=AUTOENCODERS,
            file=["reconstruction.tsv", "projection.png", "probe.tsv"],
        ),
        *expand(
            "results/models/{model}/{file}",
            model=GANS,
            file=["generator.keras", "training_curves.png"],
        ),
        *expand(
            "results/generate/{model}/{file}",
            model=GANS,
            file=["samples.fa", "metrics.tsv", "comparison.png"],
        ),
    ]


def report_outputs():
    """The report's tables (rules/report.smk): summary and provenance, inputs, data, metrics,
    variants."""
    return [
        "results/report/run_info.html",
        "results/report/input_check.html",
        *(["results/report/data_summary.html"] if TASKS else []),
        *(
            ["results/report/run_summary.html"]
            if EVALUATED and "test" in EVAL_SPLITS
            else []
        ),
        *expand(
            "results/report/evaluate/{model}.metrics.html",
            model=EVALUATED if EVAL_SPLITS else [],
        ),
        *expand("results/report/score/{model}.top_effects.html", model=SCORING_MODELS),
    ]


def run_info_inputs():
    """Every input file of the run by role: genome, tasks sheet, each task's files (peaks,
    signal, measured regions), blacklist, VCF."""
    inputs = {"genome": config["genome"]} if config["genome"] else {}
    for part in ("train", "test"):
        for i, source in enumerate(config["sequence_table"][part] or []):
            inputs[f"sequence_table:{part}:{i}"] = (
                source if isinstance(source, str) else source["path"]
            )
    if config["tasks"]:
        inputs["tasks_sheet"] = config["tasks"]
    for task in TASKS:
        for column in ("peaks", "signal", "reads", "measured"):
            if task.get(column):
                inputs[f"{column}:{task['name']}"] = task[column]
    if config["blacklist"]:
        inputs["blacklist"] = config["blacklist"]
    if VCF:
        inputs["vcf"] = VCF
    for model in EXTERNAL:
        for i, path in enumerate(external_files(config["models"][model])):
            inputs[f"model:{model}:{('file', 'sidecar', 'tasks_file')[min(i, 2)]}"] = (
                path
            )
    return inputs


def interpret_window_inputs(wildcards):
    """The file the windows come from: predictions, variant effects or the user's BED."""
    source = INTERPRET["windows"]
    if source == "top_predicted":
        return [f"results/evaluate/{wildcards.model}/test.predictions.h5"]
    if source == "variants":
        return [f"results/score/{wildcards.model}/{EFFECTS_FILE}"]
    return [INTERPRET["bed"]]


def sweep_point_files(file):
    """An input function: `file` of every point of the model's sweep."""
    return lambda wc: expand(
        "results/sweep/{model}/{point}/{file}",
        model=wc.model,
        point=SWEEPS[wc.model],
        file=file,
    )


def without_sweep(spec):
    """A model entry without its `sweep` block (the settings its own jobs run with)."""
    return {k: v for k, v in spec.items() if k != "sweep"}
