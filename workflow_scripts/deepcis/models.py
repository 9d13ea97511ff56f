"""Model registry: Keras models for one-hot DNA, built by name from hyperparameters.

Every model takes one-hot DNA of shape (window_length, 4), channels A, C, G, T, float32
(uint8 input is cast by the model's input layer), and outputs one unit per task.

    model = build_model("danq", window_length=1000, n_tasks=919)
    model = build_model("deepsea", 200, 3, {"conv_filters": [16, 16, 16], "dense_units": 8})

Hyperparameters are checked before anything is built (`resolve_hyperparameters`): unknown
keys, wrong types, impossible values and conv/pool stacks that run out of sequence length
raise `ModelConfigError` naming the model and the key. The resolved dict is plain JSON
(per-block values expanded to lists) and rebuilds the same architecture.

No Lambda layers are used, and the masked losses are registered with Keras, so a saved
`.keras` file loads with `keras.saving.load_model(path, safe_mode=True)` once deepcis.keras_objects
has been imported. See docs/models.md for the models, defaults and citations.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import ModelConfigError
from .heads import HEADS

if TYPE_CHECKING:
    import keras

__all__ = [
    "MODELS",
    "ModelSpec",
    "Param",
    "GENERATIVE",
    "available_models",
    "build_model",
    "generative_models",
    "default_hyperparameters",
    "register",
    "resolve_hyperparameters",
]

ALPHABET_SIZE = 4


# --------------------------------------------------------------------------------------
# Hyperparameter schema
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One hyperparameter: default, kind and documentation.

    kind: "int" (>= minimum), "float" (>= 0), "rate" (dropout, 0 <= r < 1), "bool",
    "choice" (one of `choices`), "int_list" (non-empty list of ints >= minimum).
    per: name of an "int_list" key; this value is then one per element of that list
    (plus `per_offset`), given either as a list of that length or as one scalar that is
    repeated. Resolved values of such keys are always lists.
    """

    default: Any
    kind: str
    doc: str
    minimum: int = 1
    choices: tuple = ()
    per: str | None = None
    per_offset: int = 0


@dataclass
class ModelSpec:
    """A registered architecture: builder, hyperparameters with defaults, citation, length plan."""

    name: str
    builder: Callable
    params: dict[str, Param]
    citation: str
    description: str
    # plan(hp) -> list of length-changing steps, checked against the window length
    plan: Callable[[dict], list] | None = None
    defaults_note: str = ""
    # "supervised" (one output per task, trained by deepcis.training) or "generative"
    # (autoencoder, GAN: deepcis.generative trains them; no output head)
    family: str = "supervised"
    # check(hp, window_length, length_left) -> a problem (str naming the key) or None; the
    # checks a per-key schema cannot make (a bottleneck against the input size, ...)
    check: Callable[[dict, int, int], str | None] | None = None


MODELS: dict[str, ModelSpec] = {}
# Generative models (deepcis.autoencoder, deepcis.gan): same hyperparameter checks, own training.
GENERATIVE: dict[str, ModelSpec] = {}
FAMILIES = ("supervised", "generative")


def register(
    name: str,
    *,
    params: dict[str, Param],
    citation: str,
    description: str,
    plan: Callable[[dict], list] | None = None,
    defaults_note: str = "",
    family: str = "supervised",
    check: Callable[[dict, int, int], str | None] | None = None,
):
    """Decorator: register `builder(window_length, n_tasks, hp) -> (inputs, features)`.

    The builder returns the input tensor and the last hidden tensor; `build_model` adds
    the output head. `plan(hp)` lists the steps that shrink the sequence, as tuples
    ("conv", kernel, dilation, key, block) or ("pool", size, stride, key, block), so the
    remaining length is checked before building; `check(hp, window_length, length_left)`
    returns a problem (naming the key) for what the plan cannot see.
    A `family="generative"` model goes into GENERATIVE instead: its builder is the
    generative module's (`build_model` refuses it), its hyperparameters are checked here.
    """
    if family not in FAMILIES:
        raise ValueError(f"model {name!r}: family {family!r} is not one of {FAMILIES}")

    def decorate(builder):
        if name in MODELS or name in GENERATIVE:
            raise ValueError(f"model {name!r} is already registered")
        for key, param in params.items():
            target = params.get(param.per) if param.per is not None else None
            if param.per is not None and (target is None or target.kind != "int_list"):
                raise ValueError(f"model {name!r}: {key!r}.per must name an int_list key")
        registry = MODELS if family == "supervised" else GENERATIVE
        registry[name] = ModelSpec(name, builder, dict(params), citation, description, plan,
                                   defaults_note, family, check)
        return builder

    return decorate


def available_models() -> list[str]:
    """Names of the registered supervised architectures, sorted."""
    return sorted(MODELS)


def generative_models() -> list[str]:
    """Names of the registered generative architectures (autoencoder, GAN), sorted."""
    return sorted(GENERATIVE)


def model_family(name: str) -> str:
    """"supervised" or "generative"; ModelConfigError for an unknown name."""
    return _spec(name).family


def _spec(name: str) -> ModelSpec:
    known = MODELS | GENERATIVE
    if not isinstance(name, str) or name not in known:
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelConfigError(
            f"unknown model {name!r}{hint}; available: {', '.join(sorted(known))}"
        )
    return known[name]


def default_hyperparameters(name: str) -> dict:
    """The model's published defaults, per-block values expanded to lists."""
    spec = _spec(name)
    return _resolve(spec, {})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _check_scalar(spec: ModelSpec, key: str, param: Param, value, where: str = ""):
    def fail(problem):
        raise ModelConfigError(f"model {spec.name!r}: hyperparameter {key!r}={value!r}"
                               f"{where} {problem}")

    kind = "int" if param.kind == "int_list" else param.kind
    if kind == "int":
        if not _is_int(value):
            fail("must be an integer")
        if value < param.minimum:
            fail(f"must be >= {param.minimum}")
        return int(value)
    if kind == "float":
        if not _is_number(value):
            fail("must be a number")
        if value < 0:
            fail("must be >= 0")
        return float(value)
    if kind == "rate":
        if not _is_number(value):
            fail("must be a number")
        if not 0 <= value < 1:
            fail("must be a dropout rate in [0, 1)")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            fail("must be true or false")
        return value
    if kind == "choice":
        if value not in param.choices:
            fail(f"must be one of {', '.join(map(repr, param.choices))}")
        return value
    raise AssertionError(f"unknown parameter kind {param.kind!r}")


def _resolve(spec: ModelSpec, overrides: dict) -> dict:
    merged = {key: param.default for key, param in spec.params.items()}
    merged.update(overrides)
    resolved: dict[str, Any] = {}
    # plain keys first, so the lists that per-block keys follow are already checked
    order = sorted(spec.params, key=lambda k: spec.params[k].per is not None)
    for key in order:
        param = spec.params[key]
        value = merged[key]
        if param.kind == "int_list" or param.per is not None:
            if param.per is not None:
                n = len(resolved[param.per]) + param.per_offset
                if isinstance(value, (list, tuple)):
                    if len(value) != n:
                        raise ModelConfigError(
                            f"model {spec.name!r}: hyperparameter {key!r}={list(value)!r} "
                            f"needs {n} values, one per element of {param.per!r} "
                            f"{'' if not param.per_offset else f'(minus {-param.per_offset}) '}"
                            f"(or one value for all)")
                    values = list(value)
                else:
                    values = [value] * n
            else:
                if not isinstance(value, (list, tuple)) or len(value) == 0:
                    raise ModelConfigError(
                        f"model {spec.name!r}: hyperparameter {key!r}={value!r} must be a "
                        f"non-empty list of integers")
                values = list(value)
            resolved[key] = [
                _check_scalar(spec, key, param, v,
                              f" (element {i + 1})" if isinstance(value, (list, tuple)) else "")
                for i, v in enumerate(values)
            ]
        else:
            resolved[key] = _check_scalar(spec, key, param, value)
    return {key: resolved[key] for key in spec.params}


def _check_lengths(spec: ModelSpec, window_length: int, hp: dict) -> list[int]:
    """Walk the conv/pool plan; return the lengths after each step or raise."""
    if spec.plan is None:
        return [window_length]
    length = window_length
    lengths = []
    last_pool = None  # (key, value) of the step that last shrank the sequence
    for step in spec.plan(hp):
        if step[0] == "conv":
            _, kernel, dilation, key, block = step
            span = dilation * (kernel - 1) + 1
            if length < span:
                if last_pool is None:
                    blame_key, blame_value = key, kernel
                else:
                    blame_key, blame_value = last_pool
                raise ModelConfigError(
                    f"model {spec.name!r}: hyperparameter {blame_key!r}={blame_value!r} "
                    f"leaves no sequence length after conv block {block} "
                    f"(length {length} < kernel {span}); window_length={window_length}")
            length = length - span + 1
        elif step[0] == "pool":
            _, size, stride, key, block = step
            if length < size:
                raise ModelConfigError(
                    f"model {spec.name!r}: hyperparameter {key!r}={size!r} is larger than "
                    f"the sequence length left before pooling in block {block} "
                    f"(length {length} < pool {size}); window_length={window_length}")
            length = (length - size) // stride + 1
            last_pool = (key, size)
        else:
            raise AssertionError(f"unknown plan step {step!r}")
        lengths.append(length)
    return lengths


def resolve_hyperparameters(name: str, window_length: int, n_tasks: int,
                            overrides: dict | None = None) -> dict:
    """Defaults filled in, every value checked, the sequence length checked; or raise."""
    spec = _spec(name)
    if not _is_int(window_length) or window_length < 1:
        raise ModelConfigError(f"model {name!r}: 'window_length'={window_length!r} must be a "
                               f"positive integer")
    if not _is_int(n_tasks) or n_tasks < 1:
        raise ModelConfigError(f"model {name!r}: 'n_tasks'={n_tasks!r} must be a positive "
                               f"integer")
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise ModelConfigError(f"model {name!r}: hyperparameters must be a mapping, got "
                               f"{type(overrides).__name__}")
    for key in overrides:
        if key not in spec.params:
            close = difflib.get_close_matches(str(key), spec.params, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ModelConfigError(
                f"model {name!r}: unknown hyperparameter {key!r}{hint}; known: "
                f"{', '.join(spec.params)}")
    hp = _resolve(spec, overrides)
    lengths = _check_lengths(spec, window_length, hp)
    if spec.check is not None:
        problem = spec.check(hp, window_length, lengths[-1] if lengths else window_length)
        if problem:
            raise ModelConfigError(f"model {name!r}: {problem}; window_length={window_length}")
    return hp


# --------------------------------------------------------------------------------------
# Heads and build_model
# --------------------------------------------------------------------------------------


def build_model(name: str, window_length: int, n_tasks: int,
                hyperparameters: dict | None = None, head: str = "sigmoid") -> keras.Model:
    """Build (not compile) the named model; input (window_length, 4), output (n_tasks,)."""
    spec = _spec(name)
    if spec.family != "supervised":
        raise ModelConfigError(f"model {name!r} is a generative model: it has no output head "
                               f"(deepcis.generative builds and trains it)")
    if head not in HEADS:
        raise ModelConfigError(f"model {name!r}: 'head'={head!r} must be one of "
                               f"{', '.join(HEADS)}")
    hp = resolve_hyperparameters(name, window_length, n_tasks, hyperparameters)
    keras, _ = _keras()
    from .keras_objects import output_head

    inputs, features = spec.builder(window_length, n_tasks, hp)
    outputs = output_head(features, n_tasks, head)
    return keras.Model(inputs, outputs, name=name)


def _keras():
    """Keras, imported on first use: config validation needs the registry, not TensorFlow."""
    import keras
    from keras import layers

    return keras, layers


def _sequence_input(window_length: int):
    keras, _ = _keras()
    return keras.Input(shape=(window_length, ALPHABET_SIZE), dtype="float32", name="sequence")


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

# DeepSEA ------------------------------------------------------------------------------

DEEPSEA_PARAMS = {
    "conv_filters": Param([320, 480, 960], "int_list", "filters per conv block (length = number of blocks)"),
    "kernel_size": Param(8, "int", "conv kernel width, per block", per="conv_filters"),
    "pool_size": Param(4, "int", "max-pool width (= stride) after every conv block but the last",
                       per="conv_filters", per_offset=-1),
    "dropout": Param([0.2, 0.2, 0.5], "rate", "dropout after each conv block", per="conv_filters"),
    "dense_units": Param(925, "int", "units of the hidden dense layer (ReLU)"),
    "l2": Param(5e-7, "float", "L2 penalty on conv and hidden dense kernels (0 = off)"),
    "l1_activity": Param(1e-8, "float", "L1 penalty on the hidden dense layer's output (0 = off)"),
    "max_norm": Param(0.9, "float", "max-norm constraint on conv and hidden dense kernels (0 = off)"),
    # not in the published model; small models on little data escape the initial plateau
    # (predicting base rates for several epochs) much sooner with it (docs/models.md)
    "batch_norm": Param(False, "bool", "batch norm between each conv and its ReLU"),
    # the original (Lua) DeepSEA's nn.Threshold(0, 1e-6): its published weights convert exactly
    # (deepcis.convert, docs/external-models.md)
    "activation": Param("relu", "choice", "activation of the convolutions and the hidden dense layer",
                        choices=("relu", "threshold_relu")),
}


def _deepsea_plan(hp):
    steps = []
    n = len(hp["conv_filters"])
    for i in range(n):
        steps.append(("conv", hp["kernel_size"][i], 1, "kernel_size", i + 1))
        if i < n - 1:
            steps.append(("pool", hp["pool_size"][i], hp["pool_size"][i], "pool_size", i + 1))
    return steps


@register(
    "deepsea",
    params=DEEPSEA_PARAMS,
    plan=_deepsea_plan,
    citation="Zhou J, Troyanskaya OG (2015). Predicting effects of noncoding variants with "
             "deep learning-based sequence model. Nature Methods 12:931-934. "
             "doi:10.1038/nmeth.3547",
    description="Three valid-padded ReLU convolutions (max-pool after the first two), dropout, "
                "one hidden dense layer.",
)
def build_deepsea(window_length, n_tasks, hp):
    keras, layers = _keras()
    if hp["activation"] == "threshold_relu":
        from .keras_objects import threshold_relu as relu
    else:
        relu = "relu"
    from .penalties import L2, MaxNorm  # Keras' L2 and MaxNorm, with fewer passes over the weights

    l2 = L2(hp["l2"]) if hp["l2"] > 0 else None
    conv_norm = MaxNorm(hp["max_norm"], axis=[0, 1]) if hp["max_norm"] > 0 else None
    dense_norm = MaxNorm(hp["max_norm"], axis=0) if hp["max_norm"] > 0 else None
    inputs = _sequence_input(window_length)
    x = inputs
    n = len(hp["conv_filters"])
    for i in range(n):
        b = i + 1
        if hp["batch_norm"]:
            x = layers.Conv1D(hp["conv_filters"][i], hp["kernel_size"][i], use_bias=False,
                              kernel_regularizer=l2, kernel_constraint=conv_norm, name=f"conv{b}")(x)
            x = layers.BatchNormalization(name=f"conv{b}_bn")(x)
            x = layers.Activation(relu, name=f"conv{b}_relu")(x)
        else:
            x = layers.Conv1D(hp["conv_filters"][i], hp["kernel_size"][i], activation=relu,
                              kernel_regularizer=l2, kernel_constraint=conv_norm, name=f"conv{b}")(x)
        if i < n - 1:
            x = layers.MaxPooling1D(hp["pool_size"][i], name=f"pool{b}")(x)
        x = layers.Dropout(hp["dropout"][i], name=f"dropout{b}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hp["dense_units"], activation=relu, kernel_regularizer=l2,
                     kernel_constraint=dense_norm, name="dense1")(x)
    if hp["l1_activity"] > 0:
        # a float32 layer, so the penalty is summed in float32 under mixed precision too
        x = layers.ActivityRegularization(l1=hp["l1_activity"], dtype="float32", name="dense1_l1")(x)
    return inputs, x


# Basset -------------------------------------------------------------------------------

BASSET_PARAMS = {
    "conv_filters": Param([300, 200, 200], "int_list", "filters per conv block"),
    "kernel_size": Param([19, 11, 7], "int", "conv kernel width, per block", per="conv_filters"),
    "pool_size": Param([3, 4, 4], "int", "max-pool width (= stride) after each conv block",
                       per="conv_filters"),
    "padding": Param("valid", "choice", "conv padding", choices=("valid", "same")),
    "batch_norm": Param(True, "bool", "batch norm after each conv and hidden dense layer"),
    "dense_units": Param([1000, 1000], "int_list", "units of the hidden dense layers"),
    "dropout": Param(0.3, "rate", "dropout after each hidden dense layer", per="dense_units"),
}


def _basset_plan(hp):
    steps = []
    for i, (k, p) in enumerate(zip(hp["kernel_size"], hp["pool_size"])):
        if hp["padding"] == "valid":
            steps.append(("conv", k, 1, "kernel_size", i + 1))
        steps.append(("pool", p, p, "pool_size", i + 1))
    return steps


@register(
    "basset",
    params=BASSET_PARAMS,
    plan=_basset_plan,
    citation="Kelley DR, Snoek J, Rinn JL (2016). Basset: learning the regulatory code of the "
             "accessible genome with deep convolutional neural networks. Genome Research "
             "26:990-999. doi:10.1101/gr.200535.115",
    description="Three conv blocks (conv, batch norm, ReLU, max-pool), two hidden dense layers "
                "(batch norm, ReLU, dropout).",
)
def build_basset(window_length, n_tasks, hp):
    keras, layers = _keras()
    bn = hp["batch_norm"]
    inputs = _sequence_input(window_length)
    x = inputs
    for i, (f, k, p) in enumerate(zip(hp["conv_filters"], hp["kernel_size"], hp["pool_size"])):
        b = i + 1
        x = layers.Conv1D(f, k, padding=hp["padding"], use_bias=not bn, name=f"conv{b}")(x)
        if bn:
            x = layers.BatchNormalization(name=f"conv{b}_bn")(x)
        x = layers.Activation("relu", name=f"conv{b}_relu")(x)
        x = layers.MaxPooling1D(p, name=f"pool{b}")(x)
    x = layers.Flatten(name="flatten")(x)
    for i, (units, rate) in enumerate(zip(hp["dense_units"], hp["dropout"])):
        b = i + 1
        x = layers.Dense(units, use_bias=not bn, name=f"dense{b}")(x)
        if bn:
            x = layers.BatchNormalization(name=f"dense{b}_bn")(x)
        x = layers.Activation("relu", name=f"dense{b}_relu")(x)
        x = layers.Dropout(rate, name=f"dropout{b}")(x)
    return inputs, x


# DanQ ---------------------------------------------------------------------------------

DANQ_PARAMS = {
    "conv_filters": Param(320, "int", "filters of the single conv layer (ReLU)"),
    "kernel_size": Param(26, "int", "conv kernel width"),
    "pool_size": Param(13, "int", "max-pool width"),
    "pool_stride": Param(13, "int", "max-pool stride"),
    "conv_dropout": Param(0.2, "rate", "dropout after pooling"),
    "lstm_units": Param(320, "int", "units per direction of the bidirectional LSTM"),
    "lstm_dropout": Param(0.5, "rate", "dropout after the LSTM"),
    "dense_units": Param(925, "int", "units of the hidden dense layer (ReLU)"),
}


@register(
    "danq",
    params=DANQ_PARAMS,
    plan=lambda hp: [("conv", hp["kernel_size"], 1, "kernel_size", 1),
                     ("pool", hp["pool_size"], hp["pool_stride"], "pool_size", 1)],
    citation="Quang D, Xie X (2016). DanQ: a hybrid convolutional and recurrent deep neural "
             "network for quantifying the function of DNA sequences. Nucleic Acids Research "
             "44:e107. doi:10.1093/nar/gkw226",
    description="One ReLU convolution and max-pool, a bidirectional LSTM over the pooled "
                "positions (all time steps kept), flatten, one hidden dense layer.",
)
def build_danq(window_length, n_tasks, hp):
    keras, layers = _keras()
    inputs = _sequence_input(window_length)
    x = layers.Conv1D(hp["conv_filters"], hp["kernel_size"], activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling1D(hp["pool_size"], strides=hp["pool_stride"], name="pool1")(x)
    x = layers.Dropout(hp["conv_dropout"], name="dropout1")(x)
    x = layers.Bidirectional(layers.LSTM(hp["lstm_units"], return_sequences=True),
                             merge_mode="concat", name="bilstm")(x)
    x = layers.Dropout(hp["lstm_dropout"], name="dropout2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hp["dense_units"], activation="relu", name="dense1")(x)
    return inputs, x


# Recurrent baseline -------------------------------------------------------------------

LSTM_PARAMS = {
    "pool_size": Param(1, "int", "max-pool width (= stride) before the LSTM; 1 = none"),
    "lstm_units": Param(64, "int", "LSTM units (per direction)"),
    "bidirectional": Param(True, "bool", "run the LSTM in both directions"),
    "dropout": Param(0.2, "rate", "dropout after the LSTM"),
    "dense_units": Param(64, "int", "units of the hidden dense layer (ReLU)"),
}


@register(
    "lstm",
    params=LSTM_PARAMS,
    plan=lambda hp: ([("pool", hp["pool_size"], hp["pool_size"], "pool_size", 1)]
                     if hp["pool_size"] > 1 else []),
    citation="Recurrent baseline (no single publication): LSTM, Hochreiter S, Schmidhuber J "
             "(1997) Neural Computation 9:1735-1780.",
    description="A (bi)LSTM read directly over the one-hot bases (optionally max-pooled "
                "first); its last states feed one hidden dense layer.",
    defaults_note="deepcis defaults, not from a publication.",
)
def build_lstm(window_length, n_tasks, hp):
    keras, layers = _keras()
    inputs = _sequence_input(window_length)
    x = inputs
    if hp["pool_size"] > 1:
        x = layers.MaxPooling1D(hp["pool_size"], name="pool1")(x)
    rnn = layers.LSTM(hp["lstm_units"], name="lstm")
    x = (layers.Bidirectional(rnn, merge_mode="concat", name="bilstm")(x)
         if hp["bidirectional"] else rnn(x))
    x = layers.Dropout(hp["dropout"], name="dropout1")(x)
    x = layers.Dense(hp["dense_units"], activation="relu", name="dense1")(x)
    return inputs, x


# MLP baseline -------------------------------------------------------------------------

MLP_PARAMS = {
    "dense_units": Param([512, 256], "int_list", "units of the hidden dense layers (ReLU)"),
    "dropout": Param(0.5, "rate", "dropout after each hidden dense layer", per="dense_units"),
}


@register(
    "mlp",
    params=MLP_PARAMS,
    citation="Baseline (no publication): fully connected network on the flattened one-hot "
             "sequence.",
    description="Flattened one-hot sequence -> hidden dense layers with dropout.",
    defaults_note="deepcis defaults, not from a publication.",
)
def build_mlp(window_length, n_tasks, hp):
    keras, layers = _keras()
    inputs = _sequence_input(window_length)
    x = layers.Flatten(name="flatten")(inputs)
    for i, (units, rate) in enumerate(zip(hp["dense_units"], hp["dropout"])):
        x = layers.Dense(units, activation="relu", name=f"dense{i + 1}")(x)
        x = layers.Dropout(rate, name=f"dropout{i + 1}")(x)
    return inputs, x


# Dilated residual tower (Basenji-style) ----------------------------------------------

BASENJI_PARAMS = {
    "stem_filters": Param(128, "int", "filters of the stem conv; also the tower's width"),
    "stem_kernel_size": Param(15, "int", "stem conv kernel width ('same' padding)"),
    "stem_pool_size": Param(4, "int", "max-pool width (= stride) after the stem"),
    "n_blocks": Param(6, "int", "dilated residual blocks in the tower"),
    "block_filters": Param(64, "int", "filters of each block's dilated conv (bottleneck)"),
    "block_kernel_size": Param(3, "int", "kernel width of the dilated convs"),
    "dilation_base": Param(2, "int", "block i (from 0) uses dilation dilation_base**i"),
    "block_dropout": Param(0.3, "rate", "dropout inside each residual block"),
    "global_pool": Param("avg", "choice", "pooling over positions after the tower",
                         choices=("avg", "max")),
    "dense_units": Param(256, "int", "units of the hidden dense layer (GELU)"),
    "dense_dropout": Param(0.3, "rate", "dropout after the hidden dense layer"),
}


@register(
    "basenji_dilated",
    params=BASENJI_PARAMS,
    plan=lambda hp: [("pool", hp["stem_pool_size"], hp["stem_pool_size"], "stem_pool_size", 1)],
    citation="Kelley DR, Reshef YA, Bileschi M, Belanger D, McLean CY, Snoek J (2018). "
             "Sequential regulatory activity prediction across chromosomes with convolutional "
             "neural networks. Genome Research 28:739-750. doi:10.1101/gr.227819.117 "
             "(dilated residual tower; GELU and pre-activation blocks as in Basenji2, "
             "Kelley 2020, PLoS Comput Biol 16:e1008050).",
    description="Stem conv + max-pool, a tower of pre-activation residual blocks (batch norm, "
                "GELU, dilated conv with doubling dilation, batch norm, GELU, 1x1 conv, "
                "dropout, residual add), global pooling, one hidden dense layer.",
    defaults_note="window-scale defaults chosen by deepcis (Basenji itself predicts binned "
                  "coverage over 131 kb); the block design follows the papers.",
)
def build_basenji_dilated(window_length, n_tasks, hp):
    keras, layers = _keras()
    inputs = _sequence_input(window_length)
    x = layers.Conv1D(hp["stem_filters"], hp["stem_kernel_size"], padding="same",
                      use_bias=False, name="conv1")(inputs)
    x = layers.BatchNormalization(name="conv1_bn")(x)
    x = layers.Activation("gelu", name="conv1_gelu")(x)
    x = layers.MaxPooling1D(hp["stem_pool_size"], name="pool1")(x)
    for i in range(hp["n_blocks"]):
        b = i + 1
        y = layers.BatchNormalization(name=f"block{b}_bn1")(x)
        y = layers.Activation("gelu", name=f"block{b}_gelu1")(y)
        y = layers.Conv1D(hp["block_filters"], hp["block_kernel_size"], padding="same",
                          dilation_rate=hp["dilation_base"] ** i, use_bias=False,
                          name=f"block{b}_dilated_conv")(y)
        y = layers.BatchNormalization(name=f"block{b}_bn2")(y)
        y = layers.Activation("gelu", name=f"block{b}_gelu2")(y)
        y = layers.Conv1D(hp["stem_filters"], 1, name=f"block{b}_conv")(y)
        y = layers.Dropout(hp["block_dropout"], name=f"block{b}_dropout")(y)
        x = layers.Add(name=f"block{b}_add")([x, y])
    x = layers.BatchNormalization(name="tower_bn")(x)
    x = layers.Activation("gelu", name="tower_gelu")(x)
    pool = layers.GlobalAveragePooling1D if hp["global_pool"] == "avg" else layers.GlobalMaxPooling1D
    x = pool(name="global_pool")(x)
    x = layers.Dense(hp["dense_units"], activation="gelu", name="dense1")(x)
    x = layers.Dropout(hp["dense_dropout"], name="dropout1")(x)
    return inputs, x


# DeepBind -----------------------------------------------------------------------------

DEEPBIND_PARAMS = {
    "conv_filters": Param(16, "int", "motif detectors of the single conv layer (ReLU)"),
    "kernel_size": Param(24, "int", "motif detector width"),
    "global_pool": Param("max_avg", "choice", "pooling over positions: max, or max and average "
                         "concatenated (max_avg)", choices=("max", "max_avg")),
    "dense_units": Param(32, "int", "units of the hidden dense layer (ReLU); 0 = none",
                         minimum=0),
    "dropout": Param(0.1, "rate", "dropout before the output (after the hidden layer)"),
}


@register(
    "deepbind",
    params=DEEPBIND_PARAMS,
    plan=lambda hp: [("conv", hp["kernel_size"], 1, "kernel_size", 1)],
    citation="Alipanahi B, Delong A, Weirauch MT, Frey BJ (2015). Predicting the sequence "
             "specificities of DNA- and RNA-binding proteins by deep learning. Nature "
             "Biotechnology 33:831-838. doi:10.1038/nbt.3300",
    description="One ReLU convolution (motif detectors), global max (or max + average) "
                "pooling over positions, one small hidden dense layer, dropout.",
)
def build_deepbind(window_length, n_tasks, hp):
    keras, layers = _keras()
    inputs = _sequence_input(window_length)
    x = layers.Conv1D(hp["conv_filters"], hp["kernel_size"], activation="relu", name="conv1")(inputs)
    pooled = layers.GlobalMaxPooling1D(name="global_max")(x)
    if hp["global_pool"] == "max_avg":
        average = layers.GlobalAveragePooling1D(name="global_avg")(x)
        pooled = layers.Concatenate(name="global_pool")([pooled, average])
    x = pooled
    if hp["dense_units"] > 0:
        x = layers.Dense(hp["dense_units"], activation="relu", name="dense1")(x)
    x = layers.Dropout(hp["dropout"], name="dropout1")(x)
    return inputs, x


# Transformer (conv stem + self-attention) ---------------------------------------------

TRANSFORMER_PARAMS = {
    "stem_filters": Param([64, 128], "int_list", "filters of each stem conv block; the last "
                          "is the attention width (d_model)"),
    "stem_kernel_size": Param([15, 5], "int", "stem conv kernel width ('same' padding), per block",
                              per="stem_filters"),
    "stem_pool_size": Param([8, 16], "int", "max-pool width (= stride) after each stem block",
                            per="stem_filters"),
    "stem_residual": Param(False, "bool", "Enformer's residual block after each stem conv, before its "
                           "pool: x + conv1x1(GELU(batch norm(x)))"),
    "first_activation": Param("gelu", "choice", "activation of the first stem conv (after its batch norm): gelu, "
                              "relu or exponential (Koo & Ploenzke 2021: whole-motif first-layer filters)",
                              choices=("gelu", "relu", "exponential")),
    "n_blocks": Param(2, "int", "transformer blocks"),
    "n_heads": Param(4, "int", "attention heads per block"),
    "key_dim": Param(32, "int", "query/key width per head"),
    "ff_units": Param(256, "int", "hidden units of each block's feed-forward layer (GELU)"),
    "dropout": Param(0.1, "rate", "dropout on attention weights and on each residual branch"),
    "position_encoding": Param("learned", "choice", "position encoding added after the stem: "
                               "learned (one trained vector per position) or none",
                               choices=("learned", "none")),
    "global_pool": Param("max", "choice", "pooling over positions after the blocks (max, avg, "
                         "flatten)", choices=("max", "avg", "flatten")),
    "dense_units": Param(64, "int", "units of the hidden dense layer (GELU)"),
    "dense_dropout": Param(0.2, "rate", "dropout after the hidden dense layer"),
}


def _transformer_plan(hp):
    return [("pool", p, p, "stem_pool_size", i + 1) for i, p in enumerate(hp["stem_pool_size"])]


def _transformer_check(hp, window_length, positions):
    if positions < 2:
        return (f"hyperparameter 'stem_pool_size'={hp['stem_pool_size']!r} leaves {positions} "
                f"position(s) for attention (at least 2 needed; the stem pools by "
                f"{math.prod(hp['stem_pool_size'])})")
    return None


@register(
    "transformer",
    params=TRANSFORMER_PARAMS,
    plan=_transformer_plan,
    check=_transformer_check,
    citation="Avsec Z, Agarwal V, Visentin D, et al. (2021). Effective gene expression "
             "prediction from sequence by integrating long-range interactions. Nature Methods "
             "18:1196-1203. doi:10.1038/s41592-021-01252-x (conv stem + pre-norm transformer "
             "blocks); Vaswani A, et al. (2017). Attention is all you need. NeurIPS 30.",
    description="Convolutional stem (conv, batch norm, GELU, max-pool) down to a coarse "
                "resolution, a learned position embedding, pre-norm transformer blocks "
                "(multi-head self-attention, feed-forward, residuals, layer norm), pooling, "
                "one hidden dense layer.",
    defaults_note="window-scale defaults chosen by deepcis (128 bp per attention position, as "
                  "Enformer's; Enformer itself predicts tracks over 196 kb).",
)
def build_transformer(window_length, n_tasks, hp):
    keras, layers = _keras()
    from .keras_objects import PositionEmbedding

    inputs = _sequence_input(window_length)
    x = inputs
    for i, (f, k, p) in enumerate(zip(hp["stem_filters"], hp["stem_kernel_size"], hp["stem_pool_size"])):
        b = i + 1
        x = layers.Conv1D(f, k, padding="same", use_bias=False, name=f"conv{b}")(x)
        x = layers.BatchNormalization(name=f"conv{b}_bn")(x)
        activation = hp["first_activation"] if b == 1 else "gelu"
        x = layers.Activation(activation, name=f"conv{b}_{activation}")(x)
        if hp["stem_residual"]:  # Enformer's stem: a pointwise block added to the conv's output
            y = layers.BatchNormalization(name=f"conv{b}_residual_bn")(x)
            y = layers.Activation("gelu", name=f"conv{b}_residual_gelu")(y)
            y = layers.Conv1D(f, 1, name=f"conv{b}_residual")(y)
            x = layers.Add(name=f"conv{b}_residual_add")([x, y])
        x = layers.MaxPooling1D(p, name=f"pool{b}")(x)
    width = hp["stem_filters"][-1]
    if hp["position_encoding"] == "learned":
        x = PositionEmbedding(name="position_embedding")(x)
    x = layers.Dropout(hp["dropout"], name="embedding_dropout")(x)
    for i in range(hp["n_blocks"]):
        b = i + 1
        y = layers.LayerNormalization(epsilon=1e-5, name=f"block{b}_ln1")(x)
        y = layers.MultiHeadAttention(hp["n_heads"], hp["key_dim"], dropout=hp["dropout"],
                                      name=f"block{b}_attention")(y, y)
        y = layers.Dropout(hp["dropout"], name=f"block{b}_attention_dropout")(y)
        x = layers.Add(name=f"block{b}_attention_add")([x, y])
        y = layers.LayerNormalization(epsilon=1e-5, name=f"block{b}_ln2")(x)
        y = layers.Dense(hp["ff_units"], activation="gelu", name=f"block{b}_ff1")(y)
        y = layers.Dense(width, name=f"block{b}_ff2")(y)
        y = layers.Dropout(hp["dropout"], name=f"block{b}_ff_dropout")(y)
        x = layers.Add(name=f"block{b}_ff_add")([x, y])
    x = layers.LayerNormalization(epsilon=1e-5, name="final_ln")(x)
    if hp["global_pool"] == "flatten":
        x = layers.Flatten(name="flatten")(x)
    else:
        pool = layers.GlobalAveragePooling1D if hp["global_pool"] == "avg" else layers.GlobalMaxPooling1D
        x = pool(name="global_pool")(x)
    x = layers.Dense(hp["dense_units"], activation="gelu", name="dense1")(x)
    x = layers.Dropout(hp["dense_dropout"], name="dropout1")(x)
    return inputs, x


# The generative models register themselves here (their parameters are checked like the
# supervised models'; deepcis.generative trains them).
from . import autoencoder, gan  # noqa: E402, F401
