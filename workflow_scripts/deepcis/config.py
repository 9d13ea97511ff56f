"""Configuration and tasks sheet: JSON-schema validation with defaults, plus the checks a
schema cannot express. Every problem is one message naming the key or the sheet row."""

from __future__ import annotations

import copy
import csv
from importlib import resources
from pathlib import Path

import yaml

from .cv import check_cv
from .errors import ConfigError
from .remote import is_url
from .sweep import check_sweep


def _load_schema(name: str) -> dict:
    """A JSON schema shipped with the package (deepcis/schemas/)."""
    return yaml.safe_load(resources.files("deepcis").joinpath("schemas", name).read_text())


def _validator(schema: dict):
    """A draft 2020-12 validator that also fills in `default` values."""
    from jsonschema import Draft202012Validator, validators

    def fill_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from Draft202012Validator.VALIDATORS["properties"](validator, properties, instance, schema)

    cls = validators.extend(Draft202012Validator, {"properties": fill_defaults})
    return cls(schema)


def _key_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _describe(error) -> str:
    if error.validator == "additionalProperties":
        return f"{error.message} (allowed: {', '.join(sorted(error.schema.get('properties', {})))})"
    return error.message


def _refuse_moved_keys(config: dict):
    """Keys of earlier versions that moved: refused with where they went (not silently ignored)."""
    places = [("train", config.get("train"))] + [
        (f"models.{name}.train", spec.get("train"))
        for name, spec in (config.get("models") or {}).items()
        if isinstance(spec, dict)
    ]
    for where, section in places:
        if isinstance(section, dict) and "threads" in section:
            raise ConfigError(
                f"config key {where}.threads: moved to the top-level `threads` section, one key per "
                "stage: threads: {train: N, predict: N, score: N, interpret: N} (config/README.md)"
            )


def _refuse_wrong_shapes(config: dict):
    """Sections given as the wrong kind of YAML value, said plainly (before anything indexes
    into them): `models` as a list instead of a mapping is the usual one."""
    models = config.get("models")
    if isinstance(models, list):
        names = [m.get("name", "?") if isinstance(m, dict) else m for m in models][:3]
        raise ConfigError(
            "config key models: a mapping from model name to its settings is expected, not a list "
            f"(got a list of {len(models)}: {names}). Write it as\n  models:\n    my_model:\n"
            "      architecture: deepsea\n      hyperparameters: {...}"
        )
    for key, value in config.items():
        if key in ("train", "prepare", "split", "encode", "threads", "evaluate", "baseline", "variants", "interpret",
                   "example", "remote", "input_check", "models") and value is not None and not isinstance(value, dict):  # fmt: skip
            raise ConfigError(f"config key {key}: a mapping (key: value lines indented under {key}:) is expected, "
                              f"not {type(value).__name__} {value!r}")  # fmt: skip
    for name, spec in (models or {}).items():
        if spec is not None and not isinstance(spec, dict):
            raise ConfigError(f"config key models.{name}: a mapping (architecture, hyperparameters, ...) is expected, "
                              f"not {type(spec).__name__} {spec!r}")  # fmt: skip


def validate_config(config: dict) -> dict:
    """Return a validated copy of `config` with every default filled in."""
    config = copy.deepcopy(dict(config))
    _refuse_wrong_shapes(config)
    # which training keys each model sets itself (the rest come from the global `train`)
    explicit_train = {
        name: set((spec or {}).get("train") or {}) if isinstance(spec, dict) else set()
        for name, spec in (config.get("models") or {}).items()
    }
    # which keys each model entry sets itself (the family checks refuse the other family's)
    explicit_keys = {
        name: {k for k, v in spec.items() if v not in (None, False)} if isinstance(spec, dict) else set()
        for name, spec in (config.get("models") or {}).items()
    }
    _refuse_moved_keys(config)
    # the hyperparameters each model sets itself: a sweep point varies these (before defaults)
    given_hyperparameters = {
        name: copy.deepcopy(spec.get("hyperparameters") or {}) if isinstance(spec, dict) else {}
        for name, spec in (config.get("models") or {}).items()
    }
    validator = _validator(_load_schema("config.schema.yaml"))
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"config key {_key_path(error)}: {_describe(error)}{more}")
    prepare = config["prepare"]
    if prepare["mode"] == "deepsea" and prepare["deepsea"]["bin_size"] > prepare["window_length"]:
        raise ConfigError(
            f"config key prepare.deepsea.bin_size: {prepare['deepsea']['bin_size']} is larger than "
            f"prepare.window_length {prepare['window_length']}"
        )
    negatives = prepare["negatives"]
    if negatives["flank_min"] > negatives["flank_max"]:
        raise ConfigError("config key prepare.negatives.flank_min: larger than flank_max")
    split = config["split"]
    if split["mode"] == "chromosomes":
        both = set(split["valid"]) & set(split["test"])
        if both:
            raise ConfigError(f"config key split: chromosome(s) {sorted(both)} are in both split.valid and split.test")
    if split["mode"] == "fractions" and split["fractions"]["valid"] + split["fractions"]["test"] >= 1:
        raise ConfigError("config key split.fractions: valid + test must leave a fraction for training")
    _check_models(config, explicit_train, explicit_keys)
    for name, spec in config["models"].items():
        if spec.get("sweep"):
            spec["sweep"]["points"] = check_sweep(name, spec, config, given_hyperparameters[name])
    unknown = [m for m in config["variants"]["models"] or [] if m not in config["models"]]
    if unknown:
        raise ConfigError(f"config key variants.models: {unknown} are not in models ({list(config['models'])})")
    _check_interpret(config)
    _check_model_references(config)
    check_cv(config)  # the fold count against the genome's chromosomes: rules/common.smk
    return config


CONVOLUTION_FREE = ("mlp", "lstm")  # architectures whose first layer is no convolution


def _architecture_of(models: dict, name: str, seen: tuple = ()) -> str | None:
    """The architecture a model entry trains (a per-task member's entry's, a transfer's
    source's); None when the config does not say."""
    spec = models.get(name) or models.get(name.split(PER_TASK_SEPARATOR)[0]) or {}
    source = (spec.get("transfer") or {}).get("source")
    if spec.get("architecture") or not source or source in seen:
        return spec.get("architecture")
    return _architecture_of(models, source, seen + (name,))


def _check_model_references(config: dict):
    """Models named by other models: a transfer source and comparison are supervised models
    trained as one job; a GAN's scorer is a supervised model of this config (one job: a
    per-task entry expands into several, so one of its members is named)."""
    models = config["models"]
    generative = generative_models(config)

    def check_supervised(where: str, other):
        if other in generative:
            raise ConfigError(f"config key {where}: {other!r} is a generative model ({generative[other]}); "
                              "name a supervised model")  # fmt: skip
        if other in models and models[other].get("per_task"):
            raise ConfigError(f"config key {where}: {other!r} is a per_task entry (one model per task, named "
                              f"{other}{PER_TASK_SEPARATOR}<task>); name one of them, or a model trained as one job")  # fmt: skip

    for name, spec in models.items():
        transfer = spec.get("transfer") or {}
        if spec.get("per_task") and transfer:
            raise ConfigError(f"config key models.{name}.per_task: a per_task entry cannot also transfer (transfer "
                              "from one model per task is not supported)")  # fmt: skip
        for key in ("source", "compare_to"):
            if transfer.get(key):
                check_supervised(f"models.{name}.transfer.{key}", transfer[key])
        if (models.get(transfer.get("source")) or {}).get("sweep"):
            raise ConfigError(f"config key models.{name}.transfer.source: {transfer['source']!r} is swept (its "
                              "hyperparameters are chosen when the sweep has run); fine-tune from a model whose "
                              "values are fixed")  # fmt: skip
        scorer = (spec.get("generative") or {}).get("scorer")
        if scorer is not None:
            if scorer not in models and PER_TASK_SEPARATOR not in scorer:
                raise ConfigError(f"config key models.{name}.generative.scorer: {scorer!r} is not a model of this "
                                  f"config ({', '.join(models)})")  # fmt: skip
            check_supervised(f"models.{name}.generative.scorer", scorer)
            architecture = _architecture_of(models, scorer)
            if (spec.get("hyperparameters") or {}).get("scorer_filters") and architecture in CONVOLUTION_FREE:
                raise ConfigError(f"config key models.{name}.hyperparameters.scorer_filters: the scorer {scorer!r} "
                                  f"({architecture}) has no convolution whose filters the critic could read; name a "
                                  "convolutional model")  # fmt: skip
    for section in ("variants", "interpret"):
        for other in config[section].get("models") or []:
            if other in generative:
                raise ConfigError(f"config key {section}.models: {other!r} is a generative model ({generative[other]}); "
                                  f"{section} takes supervised models")  # fmt: skip


# A per_task entry <model> becomes one model per task: <model>__<task>.
PER_TASK_SEPARATOR = "__"


def expand_per_task_models(config: dict) -> dict[str, list[str]]:
    """Replace each `per_task: true` entry by one single-task model per task (named
    <model>__<task>, in the entry's task order, each its own training job), after
    `check_model_tasks` filled the tasks. Model lists that name the entry (variants.models,
    interpret.models, interpret.deeplift.models, tracks.models, predict_fasta.models, cv.models) name its
    members instead. Returns {entry: [member models]}; idempotent
    (an expanded config has no per_task entry left: a second call changes nothing and returns {})."""
    import re

    groups: dict[str, list[str]] = {}
    expanded: dict[str, dict] = {}
    for name, spec in config["models"].items():
        if not spec.get("per_task"):
            expanded[name] = spec
            continue
        members = []
        for task in spec["tasks"]:
            member = f"{name}{PER_TASK_SEPARATOR}{task}"
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", member):
                raise ConfigError(f"config key models.{name}.per_task: task {task!r} makes the model name {member!r}, "
                                  "which has characters a model name cannot have (letters, digits, _ . -)")  # fmt: skip
            if member in config["models"]:
                raise ConfigError(f"config key models.{name}.per_task: its member {member!r} is also a model of its "
                                  "own; rename one")  # fmt: skip
            expanded[member] = copy.deepcopy(spec) | {"tasks": [task], "per_task": False}
            weights = expanded[member].get("train", {}).get("class_weight")
            if isinstance(weights, dict):  # a member weighs its own task only
                expanded[member]["train"]["class_weight"] = {task: weights[task]} if task in weights else "none"
            members.append(member)
        groups[name] = members
    config["models"] = expanded
    sections = [config[key] for key in ("variants", "interpret", "tracks", "predict_fasta", "cv") if key in config]
    if "deeplift" in config.get("interpret", {}):
        sections.append(config["interpret"]["deeplift"])
    for section in sections:
        named = section.get("models")
        if named:
            section["models"] = [m for n in named for m in groups.get(n, [n])]
    for name, spec in config["models"].items():
        scorer = (spec.get("generative") or {}).get("scorer")
        if scorer is not None and scorer not in config["models"]:
            raise ConfigError(f"config key models.{name}.generative.scorer: {scorer!r} is not a model of this config "
                              f"({', '.join(config['models'])})")  # fmt: skip
    return groups


def _check_interpret(config: dict):
    """interpret.models name models of this config; the window source has its input."""
    models = list(config["models"])
    interpret = config["interpret"]
    interpreted = (interpret["models"] or models) if interpret["enabled"] and models else []
    unknown = [m for m in interpreted if m not in models]
    if unknown:
        raise ConfigError(f"config key interpret.models: {unknown} are not models of this config ({models})")
    if interpreted and interpret["windows"] == "bed" and not interpret["bed"]:
        raise ConfigError("config key interpret.windows is 'bed' but interpret.bed is not set")
    scoring = (config["variants"]["models"] or models) if config["variants"]["vcf"] else []
    missing = [m for m in interpreted if m not in scoring]
    if interpreted and interpret["windows"] == "variants" and missing:
        raise ConfigError(f"config key interpret.windows is 'variants' but {missing} score no VCF "
                          "(variants.vcf, variants.models)")


# Keys of a model entry that only one family of models takes (docs/models.md): a generative
# model (autoencoder, gan) has no tasks, output head or transfer source; a supervised one has
# no `generative` block.
SUPERVISED_ONLY_KEYS = ("tasks", "transfer", "per_task", "sweep")
SUPERVISED_ONLY_TRAIN_KEYS = ("head", "class_weight")
GENERATIVE_ONLY_KEYS = ("generative",)
# The `generative` block's keys, by architecture, with their defaults.
GENERATIVE_KEYS = {
    "autoencoder": {},
    "gan": {"samples": 1000, "scorer": None, "motifs": None},
}


def _check_xla(train: dict, key: str):
    if train.get("xla") and train.get("deterministic"):
        raise ConfigError(f"config key {key}.xla: XLA needs {key}.deterministic: false (with TensorFlow's op "
                          "determinism on, Keras compiles without XLA)")  # fmt: skip


def _check_models(config: dict, explicit_train: dict, explicit_keys: dict | None = None):
    """Resolve each model's hyperparameters (no TensorFlow needed) and its training settings;
    refuse keys of the other model family."""
    from .errors import ModelConfigError
    from .external import resolve_external
    from .models import model_family, resolve_hyperparameters

    window_length = config["prepare"]["window_length"]
    models = config["models"]
    explicit_keys = explicit_keys or {}
    trained = [name for name, spec in models.items() if not spec.get("external")]
    if trained and not config["tasks"] and not config["sequence_table"]["train"]:
        raise ConfigError(f"config key tasks: a tasks sheet is required to train model(s) {trained} (or sequence_table.train; only a config whose "
                          "models are all external, models.<name>.external, runs without one)")  # fmt: skip
    _check_xla(config["train"], "train")
    for name, spec in models.items():
        if spec.get("external"):
            # (a config validated before has the global values filled in: those pass)
            if any(spec["train"][k] != config["train"][k] for k in explicit_train.get(name, ())):
                raise ConfigError(f"config key models.{name}.train: an external model is not trained here; leave it out")
            for key in ("per_task", "generative", "sweep"):
                if key in explicit_keys.get(name, set()):
                    raise ConfigError(f"config key models.{name}.{key}: an external model is one imported model "
                                      "with its own tasks; leave it out")  # fmt: skip
            resolve_external(name, spec)  # tasks, architecture and window from the file and its sidecar
        elif spec.get("transfer"):
            # architecture and hyperparameters come from the source (_resolve_transfer); a generative
            # architecture named beside it is refused here
            if spec.get("architecture") in GENERATIVE_KEYS:
                _check_family_keys(name, spec, "generative", explicit_keys.get(name, set()), explicit_train.get(name, set()))
        elif "architecture" not in spec:
            raise ConfigError(f"config key models.{name}: 'architecture' is required (or transfer.source)")
        else:
            try:
                family = model_family(spec["architecture"])
                _check_family_keys(name, spec, family, explicit_keys.get(name, set()), explicit_train.get(name, set()))
                spec["hyperparameters"] = resolve_hyperparameters(spec["architecture"], window_length, 1, spec["hyperparameters"])
            except ModelConfigError as error:
                raise ConfigError(f"config key models.{name}: {error}") from None
            _check_guidance(name, spec)
        spec["train"] = config["train"] | {k: spec["train"][k] for k in explicit_train.get(name, ())}
        _check_xla(spec["train"], f"models.{name}.train")
        if spec.get("architecture") in GENERATIVE_KEYS:  # no output head, no class weights
            for key in SUPERVISED_ONLY_TRAIN_KEYS:
                spec["train"].pop(key, None)
    resolved = set()
    for name in models:
        _resolve_transfer(name, models, window_length, [], resolved)


def _check_guidance(name: str, spec: dict):
    """An activity-guided GAN (hyperparameter guidance > 0) needs labels and a scorer; a critic
    that reads the scorer's filters (scorer_filters) needs a scorer."""
    hp = spec["hyperparameters"]
    if spec["architecture"] != "gan":
        return
    if hp.get("scorer_filters") and not spec["generative"]["scorer"]:
        raise ConfigError(f"config key models.{name}.hyperparameters.scorer_filters: the critic reads the first "
                          f"filters of a scorer: models.{name}.generative.scorer (a supervised model of this "
                          "config)")  # fmt: skip
    if not hp.get("guidance"):
        return
    if hp["condition"] != "labels":
        raise ConfigError(f"config key models.{name}.hyperparameters.guidance: activity guidance needs "
                          "condition: labels (the labels the scorer's predictions are trained towards)")  # fmt: skip
    if not spec["generative"]["scorer"]:
        raise ConfigError(f"config key models.{name}.hyperparameters.guidance: activity guidance needs a "
                          f"scorer: models.{name}.generative.scorer (a supervised model of this config)")  # fmt: skip


def _check_family_keys(name: str, spec: dict, family: str, explicit: set, explicit_train: set):
    """Refuse, naming the key, what the other family of models takes; fill `generative`."""
    architecture = spec["architecture"]
    if family == "generative":
        for key in SUPERVISED_ONLY_KEYS:
            if key in explicit:
                raise ConfigError(f"config key models.{name}.{key}: {architecture!r} is a generative model; "
                                  f"{key!r} is for supervised models only (docs/models.md)")  # fmt: skip
        for key in SUPERVISED_ONLY_TRAIN_KEYS:
            if key in explicit_train:
                raise ConfigError(f"config key models.{name}.train.{key}: {architecture!r} is a generative model; "
                                  f"train.{key} is for supervised models only (docs/models.md)")  # fmt: skip
        allowed = GENERATIVE_KEYS[architecture]
        given = spec.get("generative") or {}
        for key in given:
            if key not in allowed:
                known = ", ".join(allowed) or "none"
                raise ConfigError(f"config key models.{name}.generative.{key}: not a key of a {architecture!r} "
                                  f"model (its keys: {known})")  # fmt: skip
        spec["generative"] = dict(allowed) | dict(given)
        return
    for key in GENERATIVE_ONLY_KEYS:
        if key in explicit:
            raise ConfigError(f"config key models.{name}.{key}: {architecture!r} is a supervised model; "
                              f"{key!r} is for generative models only (autoencoder, gan)")  # fmt: skip


def generative_models(config: dict) -> dict[str, str]:
    """{model name: architecture} of the config's generative models (autoencoder, gan)."""
    from .models import GENERATIVE

    return {m: s["architecture"] for m, s in config["models"].items() if s.get("architecture") in GENERATIVE}


def transfer_source_path(config: dict, name: str) -> str | None:
    """The model folder a model transfers from (None without transfer)."""
    transfer = config["models"][name].get("transfer")
    if not transfer:
        return None
    source = transfer["source"]
    if source in config["models"]:
        return f"results/models/{source}"
    path = Path(source)
    return str(path.parent if path.suffix == ".keras" else path)


def _resolve_transfer(name: str, models: dict, window_length: int, chain: list, resolved: set):
    """Fill a transferred model's architecture and hyperparameters from its source (a model of
    this config, resolved first, or a model folder); refuse cycles and a window-length mismatch.
    Idempotent: a config validated twice keeps the values filled the first time."""
    from .transfer import read_source_info

    spec = models[name]
    transfer = spec.get("transfer")
    if not transfer or name in resolved:
        return
    key = f"config key models.{name}.transfer"
    if name in chain:
        raise ConfigError(f"{key}.source: models transfer from each other in a cycle ({' -> '.join(chain + [name])})")
    source = transfer["source"]
    given = {k: spec[k] for k in ("architecture", "hyperparameters") if spec.get(k)}
    if source in models and (models[source].get("external") or {}).get("file") and not models[source]["external"].get("converter"):
        raise ConfigError(f"{key}.source: {source!r} is an external Keras model, wrapped as it is: its layers are not "
                          "deepcis' own, so no new head can be put on its body")  # fmt: skip
    if source in models:
        _resolve_transfer(source, models, window_length, chain + [name], resolved)
        spec["architecture"] = models[source]["architecture"]
        spec["hyperparameters"] = models[source]["hyperparameters"]
    else:
        path = Path(source)
        file = path if path.suffix == ".keras" else path / "model.keras"
        if not file.is_file():
            raise ConfigError(f"{key}.source: {source!r} is neither a model of this config ({', '.join(models)}) nor a "
                              "model folder with model.keras")  # fmt: skip
        info = read_source_info(path) or {}
        if "window_length" in info and int(info["window_length"]) != int(window_length):
            raise ConfigError(f"{key}.source: the source model {file} takes windows of {int(info['window_length'])} bp "
                              f"but prepare.window_length is {int(window_length)}; a model transfers only to windows "
                              "of its own length")  # fmt: skip
        spec["architecture"] = info.get("architecture", "unknown")
        spec["hyperparameters"] = info.get("hyperparameters", {})
    for k, value in given.items():
        if value != spec[k]:
            raise ConfigError(f"config key models.{name}.{k}: a transferred model takes its {k} from transfer.source "
                              f"({spec[k]!r}); leave it out")  # fmt: skip
    resolved.add(name)
    compare = transfer.get("compare_to")
    if compare is not None and (compare not in models or compare == name):
        raise ConfigError(f"{key}.compare_to: {compare!r} is not another model of this config ({', '.join(models)})")


def check_model_tasks(config: dict, task_names: list[str]):
    """Each model's `tasks` must be tasks of the sheet; a transfer comparison pairs models with
    the same tasks. Fills `tasks` (null = every task of the sheet)."""
    generative = generative_models(config)
    for name, spec in config["models"].items():
        if spec.get("external"):
            continue  # its own tasks, from its sidecar (resolve_external)
        if name in generative:
            continue  # no tasks: unsupervised (the embeddings' features use every binary task)
        wanted = spec.get("tasks")
        if wanted is None:
            spec["tasks"] = list(task_names)
            continue
        unknown = [t for t in wanted if t not in task_names]
        if unknown:
            raise ConfigError(f"config key models.{name}.tasks: {unknown} are not tasks of the tasks sheet ({task_names})")
    for name, spec in config["models"].items():
        weights = (spec.get("train") or {}).get("class_weight")
        if isinstance(weights, dict) and spec.get("tasks") is not None:
            unknown = [t for t in weights if t not in spec["tasks"]]
            if unknown:
                raise ConfigError(f"config key models.{name}.train.class_weight: {unknown} are not tasks of this model "
                                  f"({spec['tasks']}); a mapping in the global train section applies to every model, "
                                  "so name its tasks under models.<name>.train instead")  # fmt: skip
    for name, spec in config["models"].items():
        compare = (spec.get("transfer") or {}).get("compare_to")
        if compare and config["models"][compare]["tasks"] != spec["tasks"]:
            raise ConfigError(f"config key models.{name}.transfer.compare_to: {compare!r} trains on "
                              f"{config['models'][compare]['tasks']}, {name!r} on {spec['tasks']}: "
                              "a comparison needs the same tasks")  # fmt: skip


def load_config_file(path) -> dict:
    """Read a YAML (or JSON) config file; a syntax error is a ConfigError naming the file, the
    line and column, and the problem (Snakemake's own reader says neither)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"config file {path} cannot be read: {error}") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        context = getattr(error, "context", None)
        tabs = " (YAML indents with spaces, never tabs)" if "'\\t'" in str(error) else ""
        raise ConfigError(f"{path}{where}: YAML syntax error: {problem}{f' ({context})' if context else ''}{tabs}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a config file is a mapping of keys (genome:, tasks:, ...), not "
                          f"{type(config).__name__}")  # fmt: skip
    return config


def main(argv=None) -> int:
    """`python -m deepcis.config my.yaml`: check a config file (YAML syntax with file, line and
    column; then every key) without running Snakemake. Paths are read relative to the current
    directory, as the workflow does."""
    import sys

    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m deepcis.config CONFIG.yaml [...]", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            config = validate_config(load_config_file(path))
            tasks = read_tasks(config["tasks"])
            check_model_tasks(config, [t["name"] for t in tasks])
            check_stage_models(config, [t["name"] for t in tasks if t["type"] == "binary"])
            print(f"{path}: valid ({len(tasks)} tasks, {len(config['models'])} models)")
        except ConfigError as error:
            print(f"{path}: {error}", file=sys.stderr)
            status = 1
    return status


def genome_sizes(genome) -> dict[str, int] | None:
    """Contig lengths of a local genome from its .fai index (made as prepare would make it when
    missing); None for a URL or a file that does not exist yet (the example, made by a rule)."""
    if not genome or is_url(genome) or not Path(genome).is_file():
        return None
    fai = Path(f"{genome}.fai")
    if not fai.is_file():
        from .genome import Genome

        with Genome(genome) as g:
            return g.chrom_sizes
    sizes = {}
    with open(fai) as handle:
        for line in handle:
            fields = line.split("\t")
            if len(fields) >= 2:
                sizes[fields[0]] = int(fields[1])
    return sizes


def check_regions(config: dict, sizes: dict[str, int] | None) -> list[tuple[str, int, int]] | None:
    """Config `regions` and `split.regions` against the genome's contigs, at config time: a
    region on a missing contig or beyond a contig's end is refused naming key, region and length.
    Returns the run's regions as (chrom, start, end), or None when the run is not restricted or
    the genome cannot be read yet."""
    from .errors import InputError
    from .peaks import parse_region

    if sizes is None:
        return None
    keys = [("regions", config.get("regions") or [])]
    if config["split"]["mode"] == "regions":
        keys += [(f"split.regions.{s}", config["split"]["regions"].get(s, [])) for s in ("valid", "test")]
    parsed = {}
    for key, regions in keys:
        try:
            parsed[key] = [parse_region(r, sizes, f"config key {key}") for r in regions]
        except InputError as error:
            raise ConfigError(str(error)) from None
    return parsed["regions"] or None


def check_task_peaks(tasks: list[dict], regions: list[tuple[str, int, int]] | None, chromosomes: list[str] | None):
    """Refuse, at config time, a task whose peak file has no peak in the chosen region (config
    `regions`, else the chosen `chromosomes`), naming the task and the region. Each file is read
    only up to its first peak inside; URLs and files not made yet are checked by prepare."""
    from .peaks import first_record_inside

    if not regions and not chromosomes:
        return
    spans = regions or [(c, 0, None) for c in chromosomes]
    where = [f"{c}:{s}-{e}" for c, s, e in regions] if regions else list(chromosomes)
    for task in tasks:
        peaks = task.get("peaks")
        if task.get("type", "binary") != "binary" or not peaks or is_url(peaks) or not Path(peaks).is_file():
            continue
        if not first_record_inside(peaks, spans):
            raise ConfigError(f"task {task['name']!r} has no peak in the chosen region {', '.join(where)} "
                              f"(peak file {peaks})")  # fmt: skip


def check_scan(config: dict, tasks: list[dict]):
    """The scanning evaluation labels DeepSEA bins from peaks: it needs deepsea mode and peak tasks."""
    scan = config["evaluate"]["scan"]["splits"]
    if not scan:
        return
    if config["prepare"]["mode"] != "deepsea":
        raise ConfigError(f"config key evaluate.scan.splits: scanning evaluation labels DeepSEA bins; prepare.mode is "
                          f"{config['prepare']['mode']!r} (use deepsea, or set evaluate.scan.splits: [])")  # fmt: skip
    other = [t["name"] for t in tasks if t.get("type", "binary") != "binary" or "measured" in t]
    if other:
        raise ConfigError(f"config key evaluate.scan.splits: scanning evaluation needs peak (binary) tasks without "
                          f"measured regions; the sheet has {other[:5]}")  # fmt: skip
    autoencoders = [m for m, arch in generative_models(config).items() if arch == "autoencoder"]
    if autoencoders:  # their embedding probe is fitted and evaluated on the split's windows only
        raise ConfigError(f"config key evaluate.scan.splits: autoencoder {autoencoders[0]!r} cannot be scanned (its "
                          f"embedding probe is evaluated on windows only); set evaluate.scan.splits: [] or leave it out")  # fmt: skip


def _task_modality(record: dict, path, line_no: int, base_dir, exists) -> bool:
    """Check and complete the multi-modal columns of a tasks-sheet row (docs/multimodal.md);
    True for a signal task."""
    where = f"{path}, line {line_no}: task {record['name']!r}"
    signal = record.get("type", "binary") == "signal"
    record.setdefault("type", "binary")
    record["weight"] = float(record.get("weight", 1))
    record.setdefault("loss", "mse" if signal else "bce")
    if signal and record["loss"] == "bce":
        raise ConfigError(f"{where}: a signal task takes loss mse or poisson, not bce")
    if not signal and record["loss"] != "bce":
        raise ConfigError(f"{where}: a binary task takes loss bce (mse and poisson are for type signal)")
    if signal and record["peaks"]:
        raise ConfigError(f"{where}: a signal task takes its target from column 'signal'; leave 'peaks' empty")
    if not signal and not record["peaks"]:
        raise ConfigError(f"{where}: no peak file (column 'peaks'; a signal track needs type signal)")
    if not signal and "signal" in record:
        raise ConfigError(f"{where}: column 'signal' is for tasks of type signal")
    if signal and "signal" not in record:
        raise ConfigError(f"{where}: a signal task needs a bigWig in column 'signal'")
    for column in ("signal", "measured"):
        if column in record:
            file = Path(record[column])
            file = file if file.is_absolute() else Path(base_dir) / file
            if not exists(file):
                raise ConfigError(f"{where}: {column} file {record[column]} not found")
            record[column] = str(file)
    return signal


def read_tasks(path, base_dir=".", existing_or_made=None) -> list[dict]:
    """Read and validate the tasks sheet; peak paths are resolved against `base_dir`.

    `existing_or_made(path)` says whether a peak file exists or will be made by the workflow;
    by default the file must exist.
    """
    path = Path(path)
    exists = existing_or_made or (lambda p: Path(p).is_file())
    if not path.is_file():
        raise ConfigError(f"tasks sheet {path} not found")
    validator = _validator(_load_schema("tasks.schema.yaml"))
    with open(path, newline="") as handle:
        rows = [r for r in csv.reader(handle, delimiter="\t")]
    lines = [(i + 1, r) for i, r in enumerate(rows) if r and any(c.strip() for c in r) and not r[0].startswith("#")]
    if not lines:
        raise ConfigError(f"tasks sheet {path} is empty (expected a header line: name, peaks, cell_type, assay)")
    header_line, header = lines[0]
    header = [h.strip() for h in header]
    for column in ("name", "peaks"):
        if column not in header:
            raise ConfigError(f"{path}, line {header_line}: header lacks the column {column!r} (found {header})")
    tasks, seen = [], {}
    for line_no, row in lines[1:]:
        if len(row) != len(header):
            raise ConfigError(f"{path}, line {line_no}: {len(row)} columns, the header has {len(header)}")
        record = {k: v.strip() for k, v in zip(header, row) if v.strip() != "" or k in ("name", "peaks")}
        errors = sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path))
        if errors:
            raise ConfigError(f"{path}, line {line_no}: column {_key_path(errors[0])}: {_describe(errors[0])}")
        if record["name"] in seen:
            raise ConfigError(
                f"{path}, line {line_no}: duplicate task name {record['name']!r} (first on line {seen[record['name']]})"
            )
        seen[record["name"]] = line_no
        if _task_modality(record, path, line_no, base_dir, exists):
            tasks.append(record)  # a signal task: no peaks
            continue
        if is_url(record["peaks"]):  # downloaded by rule fetch_remote (deepcis/remote.py)
            tasks.append(record)
            continue
        peaks = Path(record["peaks"])
        if not peaks.is_absolute():
            peaks = Path(base_dir) / peaks
        if not exists(peaks):
            raise ConfigError(f"{path}, line {line_no}: peak file {record['peaks']} of task {record['name']!r} not found")
        record["peaks"] = str(peaks)
        tasks.append(record)
    if not tasks:
        raise ConfigError(f"tasks sheet {path} lists no task")
    return tasks


def check_stage_models(config: dict, baseline_tasks: list[str] | None = None):
    """The models and tasks named by interpret.deeplift, tracks, predict_fasta and design exist
    (call after check_model_tasks, which fills each model's tasks). `baseline_tasks`: the tasks
    of the k-mer baseline, which design.check_models may name as `kmer_baseline`."""
    from .design import check_design_tasks

    generative = generative_models(config)  # no tasks: explained, tracked and checked by none of these
    models = [m for m in config["models"] if m not in generative]
    model_tasks = {m: list(config["models"][m]["tasks"]) for m in models}
    for key, section in (("interpret.deeplift", config["interpret"]["deeplift"]), ("tracks", config["tracks"]),
                         ("predict_fasta", config["predict_fasta"])):  # fmt: skip
        unknown = [m for m in section["models"] or [] if m not in models]
        if unknown:
            raise ConfigError(f"config key {key}.models: {unknown} are not models of this config ({models})")
    deeplift = config["interpret"]["deeplift"]
    explained = deeplift["models"] or config["interpret"]["models"] or models
    predicted = {t for m in explained for t in model_tasks.get(m, [])}
    unknown = [t for t in deeplift["tasks"] or [] if t not in predicted]
    if deeplift["enabled"] and unknown:
        raise ConfigError(f"config key interpret.deeplift.tasks: {unknown} are predicted by none of the explained "
                          f"models {explained} (their tasks: {sorted(predicted)})")  # fmt: skip
    tracks = config["tracks"]
    if tracks["enabled"] and tracks["attribution_task"]:
        lacking = [m for m in tracks["models"] or models if tracks["attribution_task"] not in model_tasks[m]]
        if lacking:
            raise ConfigError(f"config key tracks.attribution_task: {tracks['attribution_task']!r} is not a task of "
                              f"model(s) {lacking}")  # fmt: skip
    design = config["design"]
    if design["enabled"]:
        if not design["model"] or not design["task"]:
            raise ConfigError("config key design: design.model and design.task must be set when design.enabled is true")
        if (design["motif"] or design["implant"]["enabled"]) and not design["motifs"]:
            raise ConfigError("config key design.motifs: a JASPAR-format motif file is needed for design.motif and "
                              "design.implant")  # fmt: skip
        if design["implant"]["enabled"] and not design["implant"]["a"]:
            raise ConfigError("config key design.implant.a: the motif to implant must be set when design.implant.enabled")
    check_tasks = dict(model_tasks)
    if config["baseline"]["enabled"] and baseline_tasks:
        check_tasks["kmer_baseline"] = list(baseline_tasks)
    try:
        check_design_tasks(design, check_tasks)
    except ConfigError as error:
        raise ConfigError(f"config key {error}") from None


if __name__ == "__main__":
    raise SystemExit(main())
