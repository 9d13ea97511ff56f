import pytest
from _utils import REPO

from deepcis.config import read_tasks, validate_config
from deepcis.errors import ConfigError

MINIMAL = {"genome": "g.fa", "tasks": "tasks.tsv"}


def test_defaults_are_filled():
    cfg = validate_config(MINIMAL)
    assert cfg["prepare"]["window_length"] == 1000
    assert cfg["prepare"]["deepsea"] == {"bin_size": 200, "min_fraction": 0.5}
    assert cfg["split"]["valid"] == ["chr7"] and cfg["split"]["test"] == ["chr8", "chr9"]
    assert cfg["prepare"]["negatives"]["strategy"] == "random"
    assert cfg["seed"] == 42 and cfg["blacklist"] is None


def test_input_is_not_modified():
    original = {"genome": "g.fa", "tasks": "t.tsv", "prepare": {}}
    validate_config(original)
    assert original["prepare"] == {}


def test_example_zoo_config_is_the_example_plus_the_zoo():
    """config/example_zoo.yaml repeats config/config.yaml (a --configfile replaces the
    example's config): only the zoo's keys may differ."""
    import yaml

    example = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    zoo = yaml.safe_load((REPO / "config" / "example_zoo.yaml").read_text())
    added = {m: zoo["models"].pop(m) for m in ("deepbind_small", "transformer_small", "ae_small")}
    assert [added[m]["architecture"] for m in added] == ["deepbind", "transformer", "autoencoder"]
    assert zoo["interpret"]["models"] == [*example["interpret"]["models"], "transformer_small"]
    assert zoo["interpret"]["deeplift"].pop("models") == example["interpret"]["models"]
    for cfg in (example, zoo):
        cfg["interpret"].pop("models"), cfg.pop("threads")
    assert zoo == example
    assert validate_config(yaml.safe_load((REPO / "config" / "example_zoo.yaml").read_text()))


def test_bundled_config_is_valid():
    import yaml

    cfg = validate_config(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))
    assert cfg["prepare"]["mode"] == "deepsea"


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"prepare": {"window_length": -5}}, "config key prepare.window_length: -5 is less than the minimum of 1"),
        ({"prepare": {"mode": "selene"}}, "config key prepare.mode: 'selene' is not one of"),
        ({"prepare": {"windowlength": 5}}, "config key prepare: Additional properties are not allowed"),
        ({"seed": "abc"}, "config key seed: 'abc' is not of type 'integer'"),
        ({"prepare": {"window_length": 100, "deepsea": {"bin_size": 200}}}, "bin_size: 200 is larger than"),
        ({"split": {"valid": ["chr1"], "test": ["chr1"]}}, r"\['chr1'\] are in both"),
        ({"split": {"mode": "fractions", "fractions": {"valid": 0.5, "test": 0.5}}}, "must leave a fraction"),
        ({"prepare": {"negatives": {"flank_min": 10, "flank_max": 5}}}, "flank_min: larger than flank_max"),
        ({"variants": {"format": "wide"}}, "config key variants.format: 'wide' is not one of"),
        ({"variants": {"matrix_dtype": "float64"}}, "config key variants.matrix_dtype: 'float64' is not one of"),
    ],
)
def test_bad_config_names_the_key(patch, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(MINIMAL | patch)


def test_variant_effect_format_auto_picks_the_matrix_above_100_tasks():
    from deepcis.effects import effects_files, effects_format

    cfg = validate_config(MINIMAL)["variants"]
    assert cfg["format"] == "auto" and cfg["matrix_dtype"] == "float16"
    assert effects_format(cfg, [3, 100]) == "long" and effects_format(cfg, [3, 919]) == "matrix"
    assert effects_format(cfg | {"format": "both"}, [3]) == "both" and effects_files("both") == ["effects.h5", "effects.tsv.gz"]
    with pytest.raises(ConfigError, match="variants.format: 'wide'"):
        effects_format({"format": "wide"}, [3])


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"interpret": {"models": ["nope"]}}, r"config key interpret.models: \['nope'\] are not models of this config"),
        ({"interpret": {"windows": "bed"}}, "config key interpret.windows is 'bed' but interpret.bed is not set"),
        ({"interpret": {"windows": "variants"}}, r"interpret.windows is 'variants' but \['m1'\] score no VCF"),
    ],
)
def test_bad_interpret_config_names_the_key(patch, message):
    models = {"models": {"m1": {"architecture": "deepsea"}}}
    with pytest.raises(ConfigError, match=message):
        validate_config(MINIMAL | models | patch)


def test_missing_required_key():
    with pytest.raises(ConfigError, match="'genome' is a required property"):
        validate_config({"tasks": "t.tsv"})


def _sheet(tmp_path, text):
    path = tmp_path / "tasks.tsv"
    path.write_text(text)
    (tmp_path / "a.bed").write_text("chr1\t1\t2\n")
    return path


def test_tasks_sheet(tmp_path):
    path = _sheet(tmp_path, "name\tpeaks\tcell_type\nA\ta.bed\tK562\nB\ta.bed\t\n")
    tasks = read_tasks(path, base_dir=tmp_path)
    assert [t["name"] for t in tasks] == ["A", "B"]
    assert tasks[0]["cell_type"] == "K562" and tasks[1]["cell_type"] == ""
    assert tasks[0]["peaks"] == str(tmp_path / "a.bed")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name\tpeaks\nA\ta.bed\nA\ta.bed\n", r"line 3: duplicate task name 'A' \(first on line 2\)"),
        ("name\tpeaks\nA\tmissing.bed\n", "line 2: peak file missing.bed of task 'A' not found"),
        ("name\tfile\nA\ta.bed\n", "line 1: header lacks the column 'peaks'"),
        ("name\tpeaks\nbad name\ta.bed\n", "line 2: column name: 'bad name' does not match"),
        ("name\tpeaks\nA\ta.bed\textra\n", "line 2: 3 columns, the header has 2"),
        ("name\tpeaks\tcolour\nA\ta.bed\tred\n", "line 2: column .*'colour' was unexpected"),
        ("name\tpeaks\n", "lists no task"),
        ("", "is empty"),
    ],
)
def test_bad_tasks_sheet_names_the_row(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        read_tasks(_sheet(tmp_path, text), base_dir=tmp_path)


def test_training_defaults_match_the_library():
    from deepcis.training import TRAIN_DEFAULTS

    assert validate_config(MINIMAL)["train"] == TRAIN_DEFAULTS


def test_model_train_settings_override_only_what_they_name():
    cfg = validate_config(MINIMAL | {"train": {"epochs": 5, "batch_size": 32},
                                     "models": {"m": {"architecture": "mlp", "train": {"epochs": 2}}}})  # fmt: skip
    assert cfg["models"]["m"]["train"]["epochs"] == 2
    assert cfg["models"]["m"]["train"]["batch_size"] == 32
    assert cfg["models"]["m"]["hyperparameters"]["dense_units"] == [512, 256]


@pytest.mark.parametrize(
    "models, message",
    [
        ({"m": {"architecture": "deepseaa"}}, r"config key models.m: unknown model 'deepseaa' \(did you mean 'deepsea'\?\)"),
        ({"m": {"architecture": "deepsea", "hyperparameters": {"pool_size": 64}}},
         "config key models.m: model 'deepsea': hyperparameter 'pool_size'=64"),
        ({"m": {"architecture": "danq", "hyperparameters": {"lstm_unit": 3}}}, "unknown hyperparameter 'lstm_unit'"),
        ({"m": {"architecture": "mlp", "train": {"epoch": 3}}}, "config key models.m.train: Additional properties"),
        ({"bad name": {"architecture": "mlp"}}, "config key models: 'bad name' does not match"),
    ],
)
def test_bad_model_config_names_model_and_key(models, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(MINIMAL | {"models": models})


def test_threads_section_and_the_moved_train_threads_key():
    cfg = validate_config(MINIMAL | {"threads": {"score": 6}})
    assert cfg["threads"] == {"train": 2, "predict": 2, "score": 6, "interpret": 2}
    assert "threads" not in cfg["train"]
    with pytest.raises(ConfigError, match=r"config key train.threads: moved to the top-level `threads` section"):
        validate_config(MINIMAL | {"train": {"threads": 4}})
    with pytest.raises(ConfigError, match=r"config key models.m.train.threads: moved .*threads: \{train: N"):
        validate_config(MINIMAL | {"models": {"m": {"architecture": "mlp", "train": {"threads": 4}}}})


def test_xla_with_op_determinism_is_refused():
    """Keras compiles without XLA (a warning only) while TensorFlow's op determinism is on."""
    with pytest.raises(ConfigError, match=r"config key train.xla: XLA needs train.deterministic: false"):
        validate_config(MINIMAL | {"train": {"xla": True}})
    with pytest.raises(ConfigError, match=r"config key models.m.train.xla: XLA needs models.m.train.deterministic"):
        validate_config(MINIMAL | {"models": {"m": {"architecture": "mlp", "train": {"xla": True}}}})
    assert validate_config(MINIMAL | {"train": {"xla": True, "deterministic": False}})["train"]["xla"]


def _chrx_like(tmp_path):
    """A genome index and a gzip narrowPeak file with peaks at 1.2 Mb and 5 Mb of chrX."""
    import gzip

    genome = tmp_path / "g.fa"
    genome.write_text(">chrX\nACGT\n")
    (tmp_path / "g.fa.fai").write_text("chrX\t7000000\t6\t4\t5\nchrM\t16569\t7000008\t4\t5\n")
    peaks = tmp_path / "A.CTCF.narrowPeak.gz"
    with gzip.open(peaks, "wt") as handle:
        handle.write("chrX\t1200000\t1200300\t.\t0\t.\t1\t-1\t-1\t150\nchrX\t5000000\t5000300\t.\t0\t.\t1\t-1\t-1\t300\n")
    return genome, [{"name": "A.CTCF", "peaks": str(peaks), "type": "binary"}]


def test_regions_and_split_blocks_are_checked_against_the_contigs(tmp_path):
    from deepcis.config import check_regions, genome_sizes

    genome, _ = _chrx_like(tmp_path)
    sizes = genome_sizes(str(genome))
    assert sizes == {"chrX": 7_000_000, "chrM": 16_569}
    cfg = validate_config({"genome": str(genome), "tasks": "t", "regions": ["chrX:1000000-3000000"],
                           "split": {"mode": "regions", "regions": {"valid": ["chrX:1000000-1500000"],
                                                                    "test": ["chrX:6000000-7500000"]}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"config key split.regions.test: region 'chrX:6000000-7500000' is empty or runs "
                                          r"off chrX \(length 7000000\)"):  # fmt: skip
        check_regions(cfg, sizes)
    cfg["split"]["regions"]["test"] = ["chrX:2000000-3000000"]
    assert check_regions(cfg, sizes) == [("chrX", 1_000_000, 3_000_000)]
    cfg["regions"] = ["chrY:0-100"]
    with pytest.raises(ConfigError, match=r"config key regions: region 'chrY:0-100': chromosome 'chrY' is not in the genome"):
        check_regions(cfg, sizes)
    assert genome_sizes(str(tmp_path / "not-made-yet.fa")) is None and genome_sizes("https://x.org/g.fa") is None


def test_a_task_without_peaks_in_the_chosen_region_is_refused(tmp_path):
    from deepcis.config import check_task_peaks

    _, tasks = _chrx_like(tmp_path)
    check_task_peaks(tasks, [("chrX", 1_000_000, 3_000_000)], None)  # the peak at 1.2 Mb
    check_task_peaks(tasks, None, ["chrX"])
    check_task_peaks(tasks, None, None)  # whole genome: prepare checks the chromosome names
    with pytest.raises(ConfigError, match=r"task 'A.CTCF' has no peak in the chosen region chrX:2000000-3000000 "
                                          r"\(peak file .*A.CTCF.narrowPeak.gz\)"):  # fmt: skip
        check_task_peaks(tasks, [("chrX", 2_000_000, 3_000_000)], None)
    with pytest.raises(ConfigError, match=r"task 'A.CTCF' has no peak in the chosen region chrM"):
        check_task_peaks(tasks, None, ["chrM"])


def test_scanning_evaluation_needs_deepsea_bins_and_peak_tasks():
    from deepcis.config import check_scan

    cfg = validate_config(MINIMAL | {"evaluate": {"scan": {"splits": ["test"]}}})
    assert cfg["evaluate"]["scan"] == {"splits": ["test"], "block_bins": 50_000}
    assert validate_config(MINIMAL)["evaluate"]["scan"]["splits"] == []
    check_scan(cfg, [{"name": "a", "type": "binary"}])
    with pytest.raises(ConfigError, match=r"evaluate.scan.splits: .* needs peak \(binary\) tasks .* \['s'\]"):
        check_scan(cfg, [{"name": "a", "type": "binary"}, {"name": "s", "type": "signal"}])
    cfg["prepare"]["mode"] = "basset"
    with pytest.raises(ConfigError, match=r"evaluate.scan.splits: scanning evaluation labels DeepSEA bins"):
        check_scan(cfg, [{"name": "a", "type": "binary"}])
    with pytest.raises(ConfigError, match=r"config key evaluate.scan.splits.0: 'train' is not one of"):
        validate_config(MINIMAL | {"evaluate": {"scan": {"splits": ["train"]}}})
    with pytest.raises(ConfigError, match=r"config key prepare.min_positives: -1 is less than the minimum"):
        validate_config(MINIMAL | {"prepare": {"min_positives": -1}})
    cfg["prepare"]["mode"] = "deepsea"
    cfg["models"] = {"ae": {"architecture": "autoencoder"}}
    with pytest.raises(ConfigError, match=r"evaluate.scan.splits: autoencoder 'ae' cannot be scanned"):
        check_scan(cfg, [{"name": "a", "type": "binary"}])


@pytest.mark.parametrize(
    "models, message",
    [
        ({"ae": {"architecture": "autoencoder", "tasks": ["CTCF"]}},
         r"config key models.ae.tasks: 'autoencoder' is a generative model; 'tasks' is for supervised models only"),
        ({"g": {"architecture": "gan", "transfer": {"source": "x"}}}, r"config key models.g.transfer: 'gan' is a generative"),
        ({"g": {"architecture": "gan", "per_task": True}}, r"config key models.g.per_task: 'gan' is a generative"),
        ({"ae": {"architecture": "autoencoder", "train": {"head": "linear"}}},
         r"config key models.ae.train.head: 'autoencoder' is a generative model; train.head is for supervised"),
        ({"ae": {"architecture": "autoencoder", "train": {"class_weight": "balanced"}}}, r"models.ae.train.class_weight"),
        ({"m": {"architecture": "deepbind", "generative": {"samples": 10}}},
         r"config key models.m.generative: 'deepbind' is a supervised model; 'generative' is for generative models"),
        ({"ae": {"architecture": "autoencoder", "generative": {"samples": 10}}},
         r"config key models.ae.generative.samples: not a key of a 'autoencoder' model \(its keys: none\)"),
        ({"g": {"architecture": "gan", "generative": {"scorer": "nope"}}},
         r"config key models.g.generative.scorer: 'nope' is not a model of this config"),
        ({"g": {"architecture": "gan", "generative": {"scorer": "ae"}}, "ae": {"architecture": "autoencoder"}},
         r"config key models.g.generative.scorer: 'ae' is a generative model \(autoencoder\)"),
        ({"g": {"architecture": "gan", "generative": {"scorer": "db"}}, "db": {"architecture": "deepbind", "per_task": True}},
         r"models.g.generative.scorer: 'db' is a per_task entry .* name one of them"),
        ({"ae": {"architecture": "autoencoder", "hyperparameters": {"bottleneck": 4000}}},
         r"config key models.ae: model 'autoencoder': hyperparameter 'bottleneck'=4000 is not smaller than the input "
         r"\(1000 bp x 4 = 4000 values\)"),
        ({"t": {"architecture": "transformer", "hyperparameters": {"stem_pool_size": [16, 48]}}},
         r"config key models.t: model 'transformer': hyperparameter 'stem_pool_size'=\[16, 48\] leaves 1 position\(s\) "
         r"for attention \(at least 2 needed"),
        ({"ft": {"transfer": {"source": "ae"}}, "ae": {"architecture": "autoencoder"}},
         r"models.ft.transfer.source: 'ae' is a generative model"),
        ({"db": {"per_task": True, "transfer": {"source": "m"}}, "m": {"architecture": "mlp"}},
         r"models.db.per_task: a per_task entry cannot also transfer"),
        ({"x": {"external": {"file": "x.keras", "sidecar": "x.yaml"}, "per_task": True}},
         r"config key models.x.per_task: an external model is one imported model with its own tasks"),
    ],
)
def test_model_families_refuse_each_others_keys(models, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(MINIMAL | {"models": models})


def test_generative_refused_where_supervised_models_go():
    models = {"ae": {"architecture": "autoencoder"}, "m": {"architecture": "mlp"}}
    for section in ("variants", "interpret"):
        extra = {"vcf": "v.vcf"} if section == "variants" else {}
        with pytest.raises(ConfigError, match=rf"config key {section}.models: 'ae' is a generative model"):
            validate_config(MINIMAL | {"models": models, section: {"models": ["ae"], **extra}})


def test_cross_validation_leaves_out_generative_models_and_names_per_task_members():
    from deepcis.config import check_model_tasks, expand_per_task_models
    from deepcis.cv import cv_models

    zoo = {"db": {"architecture": "deepbind", "per_task": True, "tasks": ["B", "A"]}, "m": {"architecture": "mlp"},
           "ae": {"architecture": "autoencoder"}, "g": {"architecture": "gan"}}  # fmt: skip
    cfg = validate_config(MINIMAL | {"models": zoo, "cv": {"folds": 3, "holdout": True}})
    check_model_tasks(cfg, ["A", "B"])
    expand_per_task_models(cfg)
    assert cv_models(cfg) == ["db__B", "db__A", "m"]  # the autoencoder and GAN train by their own rules
    named = validate_config(MINIMAL | {"models": zoo, "cv": {"folds": 3, "holdout": True, "models": ["db", "m"]}})
    check_model_tasks(named, ["A", "B"])
    expand_per_task_models(named)
    assert cv_models(named) == ["db__B", "db__A", "m"]
    with pytest.raises(ConfigError, match=r"config key cv.models: 'ae' is a generative model \(autoencoder\)"):
        validate_config(MINIMAL | {"models": zoo, "cv": {"folds": 3, "holdout": True, "models": ["ae"]}})


def test_per_task_entry_expands_into_one_model_per_task():
    from deepcis.config import check_model_tasks, check_stage_models, expand_per_task_models, generative_models

    cfg = validate_config(MINIMAL | {
        "models": {"db": {"architecture": "deepbind", "per_task": True, "tasks": ["B", "A"]},
                   "m": {"architecture": "mlp"}, "ae": {"architecture": "autoencoder"},
                   "g": {"architecture": "gan", "generative": {"scorer": "db__A"}}},
        "variants": {"vcf": "v.vcf", "models": ["db", "m"]}, "interpret": {"models": ["db"]},
        "tracks": {"models": ["db"]}, "predict_fasta": {"models": ["db"]},
    })  # fmt: skip
    cfg["interpret"]["deeplift"]["models"] = ["m", "db"]
    assert cfg["models"]["g"]["generative"] == {"samples": 1000, "scorer": "db__A", "motifs": None}
    check_model_tasks(cfg, ["A", "B", "C"])
    assert cfg["models"]["ae"]["tasks"] is None and cfg["models"]["m"]["tasks"] == ["A", "B", "C"]
    groups = expand_per_task_models(cfg)
    assert groups == {"db": ["db__B", "db__A"]}
    assert list(cfg["models"]) == ["db__B", "db__A", "m", "ae", "g"]
    assert cfg["models"]["db__A"]["tasks"] == ["A"] and cfg["models"]["db__A"]["architecture"] == "deepbind"
    assert cfg["variants"]["models"] == ["db__B", "db__A", "m"] and cfg["interpret"]["models"] == ["db__B", "db__A"]
    # the stages of issue 18 name the entry's members too; generative models have no tasks there
    assert cfg["interpret"]["deeplift"]["models"] == ["m", "db__B", "db__A"]
    assert cfg["tracks"]["models"] == cfg["predict_fasta"]["models"] == ["db__B", "db__A"]
    check_stage_models(cfg, ["A", "B", "C"])
    assert generative_models(cfg) == {"ae": "autoencoder", "g": "gan"}
    assert validate_config(cfg) == cfg and expand_per_task_models(cfg) == {}  # idempotent
    bad = validate_config(MINIMAL | {"models": {"db": {"architecture": "deepbind", "per_task": True},
                                                "g": {"architecture": "gan", "generative": {"scorer": "db__Z"}}}})  # fmt: skip
    check_model_tasks(bad, ["A", "B"])
    with pytest.raises(ConfigError, match=r"models.g.generative.scorer: 'db__Z' is not a model of this config"):
        expand_per_task_models(bad)
    plus = validate_config(MINIMAL | {"models": {"db": {"architecture": "deepbind", "per_task": True}}})
    check_model_tasks(plus, ["A+B"])
    with pytest.raises(ConfigError, match=r"models.db.per_task: task 'A\+B' makes the model name 'db__A\+B'"):
        expand_per_task_models(plus)


def test_class_weight_per_task_mapping():
    """train.class_weight may weigh named tasks only; typos and bad weights are refused when the
    config is read, and a per-task member keeps its own task's weight."""
    from deepcis.config import check_model_tasks, expand_per_task_models

    weights = {"A": "balanced", "B": 2.5}
    cfg = validate_config(MINIMAL | {"models": {"m": {"architecture": "mlp", "train": {"class_weight": weights}},
                                                "db": {"architecture": "deepbind", "per_task": True,
                                                       "train": {"class_weight": {"B": 3}}}}})  # fmt: skip
    check_model_tasks(cfg, ["A", "B"])
    expand_per_task_models(cfg)
    assert cfg["models"]["m"]["train"]["class_weight"] == weights
    assert cfg["models"]["db__B"]["train"]["class_weight"] == {"B": 3}
    assert cfg["models"]["db__A"]["train"]["class_weight"] == "none"
    typo = validate_config(MINIMAL | {"models": {"m": {"architecture": "mlp", "tasks": ["A"],
                                                       "train": {"class_weight": {"AA": 2}}}}})  # fmt: skip
    with pytest.raises(ConfigError, match=r"models.m.train.class_weight: \['AA'\] are not tasks of this model \(\['A'\]\)"):
        check_model_tasks(typo, ["A", "AA"])
    for bad in ({"A": 0}, {"A": "high"}, {}, "sometimes"):
        with pytest.raises(ConfigError, match=r"class_weight"):
            validate_config(MINIMAL | {"train": {"class_weight": bad}})


def test_activity_guided_gan_needs_labels_and_a_scorer():
    guided = {"architecture": "gan", "hyperparameters": {"guidance": 1.0, "condition": "labels"}}
    models = {"g": guided | {"generative": {"scorer": "m"}}, "m": {"architecture": "mlp"}}
    assert validate_config(MINIMAL | {"models": models})["models"]["g"]["hyperparameters"]["guidance"] == 1.0
    with pytest.raises(ConfigError, match=r"models.g.hyperparameters.guidance: activity guidance needs condition: labels"):
        validate_config(MINIMAL | {"models": {"g": {"architecture": "gan", "hyperparameters": {"guidance": 1.0}}}})
    with pytest.raises(ConfigError, match=r"models.g.hyperparameters.guidance: .* needs a scorer: models.g.generative.scorer"):
        validate_config(MINIMAL | {"models": {"g": guided}})


def test_gan_critic_with_scorer_filters_needs_a_scorer():
    spec = {"architecture": "gan", "hyperparameters": {"scorer_filters": True}}
    models = {"g": spec | {"generative": {"scorer": "m"}}, "m": {"architecture": "deepbind"}}
    assert validate_config(MINIMAL | {"models": models})["models"]["g"]["hyperparameters"]["scorer_filters"] is True
    with pytest.raises(ConfigError, match=r"models.g.hyperparameters.scorer_filters: .* models.g.generative.scorer"):
        validate_config(MINIMAL | {"models": {"g": spec}})
    tuned = {"architecture": "lstm"}, {"transfer": {"source": "base"}}  # a fine-tuned LSTM: still no convolution
    models = {"g": spec | {"generative": {"scorer": "m"}}, "base": tuned[0], "m": tuned[1]}
    with pytest.raises(ConfigError, match=r"scorer_filters: the scorer 'm' \(lstm\) has no convolution"):
        validate_config(MINIMAL | {"models": models})
