"""Bring your own model: an external Keras model (.keras or legacy .h5) or a published PyTorch
state dict, described by a sidecar, imported as a deepcis model folder that every downstream
stage reads unchanged (docs/external-models.md).

    sidecar = read_sidecar("colleague.yaml")              # tasks, window, alphabet, layout, output
    info = import_model({"file": "colleague.h5", "sidecar": "colleague.yaml"}, "results/models/colleague")

The sidecar (YAML or JSON):

    tasks: [HepG2.CTCF, K562.GATA1]   # output names in order (or tasks_file: one name per line)
    window_length: 1000               # bp the model reads
    alphabet: ACGT                    # order of its input channels (any order of A, C, G, T)
    layout: Lx4                       # (window, 4) channels last; 4xL: (4, window)
    output: probabilities             # or logits (deepcis adds the sigmoid)

The imported Keras model is wrapped: deepcis' input (window, 4) in A C G T -> a fixed 4 x 4
permutation (a frozen Dense layer, exact on one-hot input) to the model's alphabet -> a
Permute for the 4xL layout -> the model itself (a nested model) -> a sigmoid for logits ->
the TaskMetadata layer. Standard Keras layers only, so the file saves and loads with
`safe_mode=True` (unless the model itself holds Lambda layers and `allow_unsafe` is set).
A PyTorch state dict is converted into deepcis' own architecture instead (deepcis.convert).

What can be checked without TensorFlow (the sidecar, the files, a .keras/.h5 file's input
shape, output width and Lambda layers, read from its saved config) is checked when the
workflow is parsed (`resolve_external`); the import job checks the rest on the loaded model.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from .errors import ConfigError, InputError

log = logging.getLogger("deepcis.external")

ACGT = "ACGT"
LAYOUTS = ("Lx4", "4xL")
OUTPUTS = ("probabilities", "logits")
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
SIDECAR_KEYS = ("tasks", "tasks_file", "window_length", "alphabet", "layout", "output", "description")
# a task name becomes a file name (one bigWig per task) and a TSV value
_BAD_TASK = re.compile(r"[\s/\\\x00-\x1f]")


@dataclass(frozen=True)
class Sidecar:
    """What deepcis needs to know about an external model, read from its sidecar file."""

    path: str
    tasks: list[str]
    window_length: int
    alphabet: str = ACGT
    layout: str = "Lx4"
    output: str = "probabilities"
    description: str = ""
    files: list[str] = field(default_factory=list)  # the sidecar and its tasks_file


def _converter(name):
    from .convert import CONVERTERS

    if name not in CONVERTERS:
        raise ConfigError(f"unknown converter {name!r}; available: {', '.join(CONVERTERS)}")
    return CONVERTERS[name]


def check_alphabet(alphabet, where) -> str:
    """The alphabet in upper case if it orders the four bases A, C, G, T; else an error."""
    text = str(alphabet).strip().upper()
    if len(text) != 4 or sorted(text) != sorted(ACGT):
        raise InputError(where, f"alphabet {alphabet!r} is not an order of the four bases A, C, G, T (e.g. ACGT, "
                         "AGCT)")  # fmt: skip
    return text


def _read_tasks_file(path: Path, where) -> list[str]:
    if not path.is_file():
        raise InputError(where, f"tasks_file {path} not found")
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def read_sidecar(path, converter: str | None = None) -> Sidecar:
    """Read and check a sidecar (YAML or JSON). With `converter` (a PyTorch state dict), the
    layout and output are the converter's and may not be given; the alphabet defaults to it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "sidecar file not found")
    try:
        data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise InputError(path, f"not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}") from None
    if not isinstance(data, dict):
        raise InputError(path, f"must be a mapping with keys {', '.join(SIDECAR_KEYS)}")
    unknown = [k for k in data if k not in SIDECAR_KEYS]
    if unknown:
        raise InputError(path, f"unknown key(s) {unknown}; known: {', '.join(SIDECAR_KEYS)}")
    files = [str(path)]
    if ("tasks" in data) == ("tasks_file" in data):
        raise InputError(path, "give the output task names either as tasks (a list) or as tasks_file (a file with one "
                         "name per line), not both or neither")  # fmt: skip
    if "tasks_file" in data:
        tasks_path = Path(str(data["tasks_file"]))
        tasks_path = tasks_path if tasks_path.is_absolute() else path.parent / tasks_path
        tasks = _read_tasks_file(tasks_path, path)
        files.append(str(tasks_path))
        where = str(tasks_path)
    else:
        tasks = data["tasks"]
        if not isinstance(tasks, list):
            raise InputError(path, f"tasks must be a list of names, got {type(tasks).__name__}")
        where = str(path)
    tasks = [str(t) for t in tasks]
    if not tasks:
        raise InputError(where, "names no task")
    bad = [t for t in tasks if not t or _BAD_TASK.search(t)]
    if bad:
        raise InputError(where, f"task name {bad[0]!r} is empty or holds whitespace, '/' or '\\' (a task name is also "
                         "a file name)")  # fmt: skip
    seen: dict[str, int] = {}
    for i, t in enumerate(tasks):
        if t in seen:
            raise InputError(where, f"task name {t!r} appears twice (outputs {seen[t] + 1} and {i + 1}); names must be "
                             "unique")  # fmt: skip
        seen[t] = i
    window = data.get("window_length")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InputError(path, f"window_length must be a positive integer (the bp the model reads), got {window!r}")
    if converter is not None:
        given = [k for k in ("layout", "output") if k in data]
        if given:
            raise InputError(path, f"{given[0]} is fixed by the converter {converter!r}; leave it out")
        alphabet = check_alphabet(data.get("alphabet", _converter(converter).alphabet), path)
        return Sidecar(str(path), tasks, window, alphabet, description=str(data.get("description", "")), files=files)
    alphabet = check_alphabet(data.get("alphabet", ACGT), path)
    layout = str(data.get("layout", "Lx4")).replace(" ", "")
    layout = {"lx4": "Lx4", "4xl": "4xL"}.get(layout.lower(), layout)
    if layout not in LAYOUTS:
        raise InputError(path, f"layout {data['layout']!r} is not one of {', '.join(LAYOUTS)} (Lx4: input (window, 4), "
                         "channels last; 4xL: (4, window))")  # fmt: skip
    output = str(data.get("output", "probabilities"))
    if output not in OUTPUTS:
        raise InputError(path, f"output {output!r} is not one of {', '.join(OUTPUTS)}")
    return Sidecar(str(path), tasks, window, alphabet, layout, output, str(data.get("description", "")), files)


# --------------------------------------------------------------------------------------
# A Keras file's saved config, read without TensorFlow
# --------------------------------------------------------------------------------------


@dataclass
class KerasPeek:
    """What a .keras/.h5 file's saved model config says (None where it does not say)."""

    input_shape: tuple | None
    output_units: int | None
    lambdas: list[str]


def _saved_config(path: Path) -> dict:
    if path.suffix == ".keras":
        try:
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("config.json"))
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, OSError) as error:
            raise InputError(path, f"not a Keras model file (.keras: a zip archive with config.json): {error}") from None
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            text = f.attrs.get("model_config")
    except OSError as error:
        raise InputError(path, f"not an HDF5 file: {error}") from None
    if text is None:
        raise InputError(path, "an HDF5 file without a model_config attribute: weights only, not a whole Keras "
                         "model (save it with model.save(path))")  # fmt: skip
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def _lambda_layers(obj) -> list[str]:
    found = []
    if isinstance(obj, dict):
        if obj.get("class_name") == "Lambda":
            found.append(str((obj.get("config") or {}).get("name", "lambda")))
        for value in obj.values():
            found += _lambda_layers(value)
    elif isinstance(obj, list):
        for value in obj:
            found += _lambda_layers(value)
    return found


def _shape_of(layer_config: dict):
    for key in ("batch_shape", "batch_input_shape"):
        if layer_config.get(key) is not None:
            return tuple(layer_config[key])
    return None


def peek_keras_file(path) -> KerasPeek:
    """Input shape (with the batch axis), output units of a final Dense layer and the Lambda
    layers of a .keras or .h5 file, from its saved config; no TensorFlow."""
    path = Path(path)
    cfg = _saved_config(path)
    inner = cfg.get("config") or {}
    layers = inner.get("layers") or []
    lambdas = _lambda_layers(cfg)
    input_shape = output_units = None
    if isinstance(layers, list) and layers:
        inputs = [lay for lay in layers if isinstance(lay, dict) and lay.get("class_name") == "InputLayer"]
        if len(inputs) == 1:
            input_shape = _shape_of(inputs[0].get("config") or {})
        elif not inputs:  # a Keras 2 Sequential: the first layer carries the input shape
            input_shape = _shape_of(layers[0].get("config") or {}) or (
                tuple(inner["build_input_shape"]) if inner.get("build_input_shape") else None)  # fmt: skip
        last = layers[-1]
        outputs = inner.get("output_layers")
        if outputs:  # functional: [[name, node, tensor], ...] or [name, node, tensor]
            names = [o[0] for o in outputs] if isinstance(outputs[0], list) else [outputs[0]]
            matches = [lay for lay in layers if isinstance(lay, dict) and (lay.get("config") or {}).get("name") in names]
            last = matches[0] if len(names) == 1 and len(matches) == 1 else None
        if isinstance(last, dict) and last.get("class_name") == "Dense":
            output_units = int((last.get("config") or {}).get("units"))
    return KerasPeek(input_shape, output_units, lambdas)


def _expected_input(sidecar: Sidecar) -> tuple:
    return (sidecar.window_length, 4) if sidecar.layout == "Lx4" else (4, sidecar.window_length)


def check_input_shape(shape, sidecar: Sidecar, file) -> None:
    """InputError unless an input shape (batch axis first) fits the sidecar's window and layout."""
    shape = tuple(shape)
    want = _expected_input(sidecar)
    fits = len(shape) == 3 and all(s is None or int(s) == w for s, w in zip(shape[1:], want))
    if fits:
        return
    hint = ""
    other = (sidecar.window_length, 4) if sidecar.layout == "4xL" else (4, sidecar.window_length)
    if len(shape) == 3 and tuple(shape[1:]) == other:
        hint = f"; the shape fits layout {'Lx4' if sidecar.layout == '4xL' else '4xL'}"
    elif len(shape) == 3 and 4 in shape[1:]:
        length = shape[1] if shape[2] == 4 else shape[2]
        hint = f"; the model reads windows of {length} bp"
    raise InputError(file, f"input shape {shape} does not fit the sidecar {sidecar.path} (window_length "
                     f"{sidecar.window_length}, layout {sidecar.layout}: expects (None, {want[0]}, {want[1]})){hint}")


def check_output_width(width, sidecar: Sidecar, file) -> None:
    """InputError unless the model's outputs per window equal the sidecar's task count."""
    if int(width) != len(sidecar.tasks):
        raise InputError(file, f"the model has {int(width)} outputs per window but the sidecar {sidecar.path} names "
                         f"{len(sidecar.tasks)} task(s): one name per output, in order")  # fmt: skip


def _refuse_lambdas(lambdas: list[str], file, key: str) -> None:
    if lambdas:
        raise InputError(file, f"holds Lambda layer(s) {lambdas[:5]}: Python code that Keras would run while loading, "
                         f"so deepcis loads models with safe_mode=True and refuses it. If you trust the file, set {key}: "
                         "true (or rebuild the model with standard or registered layers)")  # fmt: skip


# --------------------------------------------------------------------------------------
# Config: an external model entry, checked and resolved when the workflow is parsed
# --------------------------------------------------------------------------------------


def _missing(key: str, path, origin) -> ConfigError:
    hint = f" {origin.strip()}" if origin else ""
    return ConfigError(f"config key {key}: {path} not found.{hint}")


def resolve_external(name: str, spec: dict) -> dict:
    """Check a model entry with `external` and fill what downstream rules read: `tasks` (the
    sidecar's), `architecture` (`external`, or the converter's) and `hyperparameters`."""
    ext = spec["external"]
    key = f"models.{name}.external"
    if spec.get("transfer"):
        raise ConfigError(f"config key models.{name}.transfer: an external model is not trained here; leave it out")
    file, sidecar_path = Path(ext["file"]), Path(ext["sidecar"])
    if not file.is_file():
        raise _missing(f"{key}.file", file, ext.get("origin"))
    if not sidecar_path.is_file():
        raise _missing(f"{key}.sidecar", sidecar_path, ext.get("origin"))
    conv = ext.get("converter")
    try:
        sidecar = read_sidecar(sidecar_path, conv)
        if conv:
            from .convert import check_window

            spec_conv = _converter(conv)
            try:
                check_window(conv, sidecar.window_length)
            except ValueError as error:
                raise InputError(sidecar.path, str(error)) from None
            if ext.get("allow_unsafe"):
                raise ConfigError(f"config key {key}.allow_unsafe: a PyTorch state dict is read with "
                                  "weights_only=True whatever it says; leave allow_unsafe out")  # fmt: skip
            architecture, hp = spec_conv.architecture, spec_conv.hyperparameters(len(sidecar.tasks))
        else:
            if file.suffix.lower() not in KERAS_SUFFIXES:
                raise ConfigError(f"config key {key}.file: {file} is not a Keras model file ({', '.join(KERAS_SUFFIXES)}); "
                                  "a PyTorch state dict needs external.converter (selene_deepsea, kipoi_deepsea, "
                                  "kipoi_basset)")  # fmt: skip
            peek = peek_keras_file(file)
            if not ext.get("allow_unsafe"):
                _refuse_lambdas(peek.lambdas, file, f"{key}.allow_unsafe")
            if peek.input_shape is not None:
                check_input_shape(peek.input_shape, sidecar, file)
            if peek.output_units is not None:
                check_output_width(peek.output_units, sidecar, file)
            architecture, hp = "external", {}
    except InputError as error:
        raise ConfigError(f"config key {key}: {error}") from None
    filled = {"architecture": architecture, "tasks": list(sidecar.tasks), "hyperparameters": hp}
    for k, value in filled.items():  # set by the user, or by an earlier validation of this config
        if spec.get(k) and spec[k] != value:
            raise ConfigError(f"config key models.{name}.{k}: an external model takes its {k} from its file and "
                              "sidecar; leave it out")  # fmt: skip
    spec.update(filled)
    return spec


def external_window(spec: dict) -> int:
    """The window length of an external model entry (its sidecar's)."""
    ext = spec["external"]
    return read_sidecar(ext["sidecar"], ext.get("converter")).window_length


def external_files(spec: dict) -> list[str]:
    """The files an external model is imported from: the model file, its sidecar (and tasks_file)."""
    ext = spec["external"]
    files = [ext["file"], ext["sidecar"]]
    try:
        sidecar = read_sidecar(ext["sidecar"], ext.get("converter"))
        files += sidecar.files[1:]
    except InputError:
        pass
    return files


def dataset_models(config: dict, task_names: list[str]) -> list[str]:
    """The models that can read the HDF5 datasets (evaluation, DeepLIFT, filter motifs, design):
    every trained model, and each external model whose tasks are tasks of the sheet and whose
    window is prepare.window_length."""
    window = config["prepare"]["window_length"]
    usable = []
    for name, spec in config["models"].items():
        if not spec.get("external"):
            usable.append(name)
        elif task_names and set(spec["tasks"]) <= set(task_names) and external_window(spec) == int(window):
            usable.append(name)
    return usable


def wrapped_models(config: dict) -> list[str]:
    """External Keras models (wrapped as they are, not converted): no first-layer convolution of
    deepcis' own for filter motifs."""
    return [m for m, spec in config["models"].items() if spec.get("external") and not spec["external"].get("converter")]


def check_external_stages(config: dict, task_names: list[str]) -> None:
    """ConfigError where a stage that reads the HDF5 datasets names a model that cannot read them
    (an external model whose tasks are not tasks of the sheet or whose window is not
    prepare.window_length, or any model when there is no tasks sheet)."""
    usable = set(dataset_models(config, task_names))
    models = list(config["models"])
    why = ("there is no tasks sheet, so no HDF5 dataset" if not task_names else
           f"its tasks are not all tasks of the sheet or its window is not prepare.window_length "
           f"({config['prepare']['window_length']})")  # fmt: skip
    interpret = config["interpret"]
    named = [("interpret.deeplift.models", interpret["deeplift"]["models"] if interpret["deeplift"]["enabled"] else None),
             ("design.model", [config["design"]["model"]] if config["design"]["enabled"] and config["design"]["model"] else None)]  # fmt: skip
    if interpret["enabled"] and interpret["windows"] == "top_predicted":
        named.append(("interpret.models (windows: top_predicted reads test predictions)", interpret["models"]))
    for key, listed in named:
        bad = [m for m in listed or [] if m in models and m not in usable]
        if bad:
            raise ConfigError(f"config key {key}: model(s) {bad} cannot read the HDF5 datasets: {why} "
                              "(docs/external-models.md)")  # fmt: skip


# --------------------------------------------------------------------------------------
# The import job (TensorFlow)
# --------------------------------------------------------------------------------------


def alphabet_matrix(alphabet: str) -> np.ndarray:
    """P (4, 4) with (x @ P)[..., i] = x[..., ACGT.index(alphabet[i])]: A C G T channels in the
    model's alphabet order."""
    matrix = np.zeros((4, 4), np.float32)
    for i, base in enumerate(alphabet):
        matrix[ACGT.index(base), i] = 1.0
    return matrix


def to_model_input(x: np.ndarray, sidecar: Sidecar) -> np.ndarray:
    """One-hot windows of deepcis (N, L, 4; A C G T) as the external model reads them."""
    out = np.asarray(x, np.float32) @ alphabet_matrix(sidecar.alphabet)
    return out if sidecar.layout == "Lx4" else np.ascontiguousarray(out.transpose(0, 2, 1))


def wrap_keras_model(model, sidecar: Sidecar, name: str):
    """The external model behind deepcis' input and output conventions (module docstring)."""
    import keras
    from keras import layers

    from .keras_objects import with_metadata

    inputs = keras.Input(shape=(sidecar.window_length, 4), dtype="float32", name="sequence")
    x = inputs
    if sidecar.alphabet != ACGT:
        order = layers.Dense(4, use_bias=False, trainable=False, name=f"alphabet_{sidecar.alphabet}")
        x = order(x)
        order.set_weights([alphabet_matrix(sidecar.alphabet)])
    if sidecar.layout == "4xL":
        x = layers.Permute((2, 1), name="channels_first")(x)
    x = model(x)
    if sidecar.output == "logits":
        x = layers.Activation("sigmoid", dtype="float32", name="sigmoid")(x)
    wrapped = keras.Model(inputs, x, name=name)
    return with_metadata(wrapped, sidecar.tasks, sidecar.window_length)


def load_external_keras(file, allow_unsafe: bool = False, key: str = "allow_unsafe"):
    """Load a .keras/.h5 model (not compiled) in safe mode, or unsafe with a warning."""
    import keras

    file = Path(file)
    if not file.is_file():
        raise InputError(file, "model file not found")
    peek = peek_keras_file(file)
    if allow_unsafe:
        message = (f"WARNING: loading {file} with safe_mode=False (allow_unsafe: true): its Lambda layer(s) "
                   f"{peek.lambdas or '(none)'} run Python code stored in the file")  # fmt: skip
        log.warning(message)
        print(message, file=sys.stderr)
    else:
        _refuse_lambdas(peek.lambdas, file, key)
    try:
        return keras.saving.load_model(file, safe_mode=not allow_unsafe, compile=False)
    except Exception as error:  # Keras raises many types for a file it cannot rebuild
        text = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise InputError(file, f"Keras cannot load it ({type(error).__name__}: {text}); a custom layer must be "
                         "registered with Keras, or the model saved with standard layers") from None  # fmt: skip


def _self_check(wrapped, model, sidecar: Sidecar, file) -> dict:
    """The wrapped model on random one-hot windows equals the external model on the same windows
    in its own alphabet and layout; probabilities lie in [0, 1]."""
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (4, sidecar.window_length))]
    got = np.asarray(wrapped.predict_on_batch(x), np.float64)
    raw = np.asarray(model.predict_on_batch(to_model_input(x, sidecar)), np.float64)
    want = 1 / (1 + np.exp(-raw)) if sidecar.output == "logits" else raw
    if not np.allclose(got, want, rtol=1e-5, atol=1e-6):  # the wrapper's own wiring
        raise AssertionError(f"wrapped model differs from {file} by {np.abs(got - want).max():.3g}")
    if sidecar.output == "probabilities" and (raw.min() < -1e-6 or raw.max() > 1 + 1e-6):
        raise InputError(file, f"the sidecar {sidecar.path} says output: probabilities, but on random windows the model "
                         f"outputs values from {raw.min():.4g} to {raw.max():.4g}; set output: logits if it ends without a "
                         "sigmoid")  # fmt: skip
    return {"random_windows": len(x), "output_min": float(raw.min()), "output_max": float(raw.max())}


def _save_keras(model, path: Path) -> None:
    import os

    from .io_utils import atomic_path
    from .keras_objects import save_model

    with atomic_path(path) as tmp:
        keras_tmp = tmp.with_name(tmp.name + ".keras")  # Keras wants the .keras suffix
        try:
            save_model(model, keras_tmp)  # the same import gives the same bytes
            os.replace(keras_tmp, tmp)
        finally:
            keras_tmp.unlink(missing_ok=True)


def import_model(ext: dict, out_dir, name: str | None = None) -> dict:
    """Write `out_dir`/model.keras (+ model.json) from an external model entry {file, sidecar,
    converter (a PyTorch state dict), allow_unsafe}; returns model.json's content."""
    import keras

    from . import __version__
    from .io_utils import package_versions, sha256_file, write_json

    out_dir = Path(out_dir)
    name = name or out_dir.name
    file = Path(ext["file"])
    conv = ext.get("converter")
    sidecar = read_sidecar(ext["sidecar"], conv)
    info = {"name": name, "source": "external", "file": str(file), "sidecar": sidecar.path, "tasks": sidecar.tasks,
            "window_length": sidecar.window_length, "alphabet": sidecar.alphabet,
            "encoding": "one-hot, channels A C G T; N and other IUPAC codes all-zero; uint8 input",
            "head": "sigmoid", "allow_unsafe": bool(ext.get("allow_unsafe")), "description": sidecar.description}  # fmt: skip
    if conv:
        from .convert import convert_state_dict

        log.info("converting %s (%s) for %d tasks, %d bp", file, conv, len(sidecar.tasks), sidecar.window_length)
        wrapped, converted = convert_state_dict(file, conv, sidecar.tasks, sidecar.window_length, sidecar.alphabet,
                                                model_name=name)  # fmt: skip
        info |= {"architecture": converted["architecture"], "hyperparameters": converted["hyperparameters"],
                 "converter": conv, "strand": "single strand; deepcis' reverse_complement: true averages both "
                 "strands as Selene's NonStrandSpecific(mode='mean')"}  # fmt: skip
    else:
        model = load_external_keras(file, bool(ext.get("allow_unsafe")), f"models.{name}.external.allow_unsafe")
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise InputError(file, f"has {len(model.inputs)} input(s) and {len(model.outputs)} output(s); deepcis wraps "
                             "a model with one sequence input and one output of one value per task")  # fmt: skip
        check_input_shape(model.inputs[0].shape, sidecar, file)
        out_shape = tuple(model.outputs[0].shape)
        if len(out_shape) != 2:
            raise InputError(file, f"output shape {out_shape}: deepcis needs (None, tasks), one value per task")
        check_output_width(out_shape[-1], sidecar, file)
        wrapped = wrap_keras_model(model, sidecar, name)
        info |= {"architecture": "external", "hyperparameters": {}, "layout": sidecar.layout, "output": sidecar.output,
                 "self_check": _self_check(wrapped, model, sidecar, file), "parameters": int(model.count_params())}  # fmt: skip
    info |= {"file_sha256": sha256_file(file), "sidecar_sha256": sha256_file(sidecar.path),
             "versions": package_versions(("numpy", "h5py")) | {"keras": keras.__version__, "deepcis": __version__}}  # fmt: skip
    _save_keras(wrapped, out_dir / "model.keras")
    write_json(info, out_dir / "model.json")
    return info


def unsafe_allowed(model_file) -> bool:
    """Whether the model folder's model.json records `allow_unsafe: true` (an imported model with
    Lambda layers the user trusted): `keras_objects.load_model` then loads it unsafely."""
    info = Path(model_file).parent / "model.json"
    if not info.is_file():
        return False
    try:
        return json.loads(info.read_text()).get("allow_unsafe") is True
    except (json.JSONDecodeError, OSError, AttributeError):
        return False
