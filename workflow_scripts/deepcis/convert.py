"""Published PyTorch weights -> deepcis Keras models (`deepsea`, `basset`), exactly.

    model = convert_state_dict("deepsea_variant_effects.pth", "kipoi_deepsea", tasks, 1000)
    python -m deepcis.convert kipoi_deepsea deepsea.pth --sidecar deepsea.yaml --out deepsea/

Three source architectures (docs/external-models.md says where their files come from):

- `selene_deepsea`: Selene's `models/deepsea.py` (FunctionLab/selene): three Conv1d + ReLU
  (max-pool 4 after the first two), Linear(960 x n, T) + ReLU, Linear(T, T) + sigmoid; input
  (N, 4, L), alphabet ACGT. A state dict saved from Selene's `NonStrandSpecific` wrapper (keys
  `model.*`), from `DataParallel` (`module.*`) or a Selene checkpoint (`{"state_dict": ...}`)
  is read the same way. NonStrandSpecific's "mean" mode, the mean of the probabilities of a
  window and of its reverse complement, is what deepcis' `reverse_complement: true` (every
  stage's default) computes, so the converted model is the single-strand network.
- `kipoi_deepsea`: the original DeepSEA (Zhou & Troyanskaya 2015; Lua Torch) as Kipoi's
  DeepSEA/variantEffects and DeepSEA/predict serve it: Conv2d kernels (1, 8) on (N, 4, 1, L),
  nn.Threshold(0, 1e-6) after each conv and the hidden layer, Linear(50880, 925), Linear(925,
  919) + sigmoid; its weights read the alphabet A G C T (Kipoi reorders ACGT input first).
  The Keras model uses deepcis' `threshold_relu`, so it equals the Torch model, not a ReLU
  approximation of it.
- `kipoi_basset`: Kipoi's Basset (Kelley 2016, Lua Torch): Conv2d kernels (19, 1), (11, 1),
  (7, 1) on (N, 4, L, 1), each + BatchNorm2d + ReLU + max-pool (3, 4, 4); Linear(2000, 1000) +
  BatchNorm1d + ReLU twice (the second 1000 -> 1000), Linear(1000, 164) + sigmoid; ACGT.

What the conversion does: conv kernels (out, in, k) -> Keras (k, in, out), with the input
channels reordered from the source's alphabet to deepcis' A C G T; Linear weights (out, in)
-> (in, out); the Linear after the convolutions reads Torch's channel-major flatten (c x n +
position), Keras flattens position-major (position x C + c), so its rows are permuted; a
conv/linear bias followed by batch norm moves into the moving mean (deepcis' Basset layers
carry no bias before batch norm), and Torch's batch-norm epsilon (1e-5) is kept exactly by
rescaling gamma for Keras' (1e-3).

A state dict whose keys or shapes do not fit (a missing or unexpected key, another task count
or window) is refused naming the first offending key with the expected and the found shape.
Torch is imported only to read the file (`torch.load(..., weights_only=True)`: no pickled code).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

log = logging.getLogger("deepcis.convert")

ACGT = "ACGT"
TORCH_BN_EPSILON = 1e-5
# keys of buffers newer Torch adds to batch norm; they carry no weight
IGNORED_SUFFIXES = ("num_batches_tracked",)


@dataclass(frozen=True)
class Converter:
    """One published Torch architecture: what it is, its alphabet, and its layer mapping."""

    name: str
    architecture: str  # the deepcis architecture it becomes
    alphabet: str  # the order of the source's input channels
    description: str
    expected: Callable  # (n_tasks, window_length) -> {key: shape}, in layer order
    hyperparameters: Callable  # n_tasks -> the deepcis hyperparameters
    weights: Callable  # (state, window_length, alphabet) -> {layer: [arrays]}


# --------------------------------------------------------------------------------------
# Shared weight transformations
# --------------------------------------------------------------------------------------


def conv_kernel(weight: np.ndarray, alphabet: str | None = None) -> np.ndarray:
    """A Torch Conv1d (out, in, k) or a Conv2d kernel with one singleton axis (out, in, 1, k) /
    (out, in, k, 1) as a Keras Conv1D kernel (k, in, out); with `alphabet` (the first layer),
    the input channels reordered from that alphabet to A C G T."""
    w = np.asarray(weight, np.float32)
    if w.ndim == 4:
        w = w.reshape(w.shape[0], w.shape[1], -1)
    kernel = np.ascontiguousarray(w.transpose(2, 1, 0))
    if alphabet is not None:
        kernel = kernel[:, [alphabet.index(base) for base in ACGT], :]
    return kernel


def flatten_dense_kernel(weight: np.ndarray, channels: int, positions: int) -> np.ndarray:
    """A Linear (out, channels x positions) read after Torch's channel-major flatten, as the Keras
    Dense kernel (positions x channels, out) read after Keras' position-major flatten."""
    w = np.asarray(weight, np.float32)
    out = w.shape[0]
    return np.ascontiguousarray(w.reshape(out, channels, positions).transpose(2, 1, 0).reshape(positions * channels, out))


def batch_norm(state: dict, key: str, bias=None) -> list[np.ndarray]:
    """Keras BatchNormalization weights [gamma, beta, moving_mean, moving_variance] equal to a
    Torch batch norm (epsilon 1e-5) applied to a layer output plus `bias` (the preceding layer's
    bias, which deepcis' layer before batch norm does not have)."""
    from keras.layers import BatchNormalization

    keras_epsilon = BatchNormalization().epsilon
    gamma, beta = state[f"{key}.weight"], state[f"{key}.bias"]
    mean, var = state[f"{key}.running_mean"], state[f"{key}.running_var"]
    if bias is not None:
        mean = mean - bias
    # gamma' / sqrt(var + 1e-3) == gamma / sqrt(var + 1e-5): Torch's epsilon, exactly
    scale = np.sqrt((var.astype(np.float64) + keras_epsilon) / (var.astype(np.float64) + TORCH_BN_EPSILON))
    return [(gamma * scale).astype(np.float32), beta.astype(np.float32), mean.astype(np.float32), var.astype(np.float32)]


def _bn_keys(key: str, size: int) -> dict:
    return {f"{key}.{p}": (size,) for p in ("weight", "bias", "running_mean", "running_var")}


# --------------------------------------------------------------------------------------
# DeepSEA (Selene's and the original through Kipoi)
# --------------------------------------------------------------------------------------

DEEPSEA_FILTERS = (320, 480, 960)


def deepsea_positions(window_length: int) -> int:
    """Positions left after DeepSEA's convolutions (kernel 8) and pools (4): 53 at 1000 bp."""
    n = window_length
    for i in range(3):
        n = n - 7
        if i < 2:
            n = n // 4
    return n


def _selene_deepsea_expected(n_tasks: int, window_length: int) -> dict:
    n = deepsea_positions(window_length)
    return {
        "conv_net.0.weight": (320, 4, 8), "conv_net.0.bias": (320,),
        "conv_net.4.weight": (480, 320, 8), "conv_net.4.bias": (480,),
        "conv_net.8.weight": (960, 480, 8), "conv_net.8.bias": (960,),
        "classifier.0.weight": (n_tasks, 960 * n), "classifier.0.bias": (n_tasks,),
        "classifier.2.weight": (n_tasks, n_tasks), "classifier.2.bias": (n_tasks,),
    }  # fmt: skip


def _deepsea_hyperparameters(dense_units: int, activation: str) -> dict:
    # the regularisers act only in training; a converted model is not trained
    return {"conv_filters": list(DEEPSEA_FILTERS), "kernel_size": 8, "pool_size": 4, "dense_units": dense_units,
            "l2": 0.0, "l1_activity": 0.0, "max_norm": 0.0, "batch_norm": False, "activation": activation}  # fmt: skip


def _deepsea_layers(convs: list[str], hidden: str, output: str, state: dict, window_length: int, alphabet: str) -> dict:
    n = deepsea_positions(window_length)
    weights = {}
    for i, key in enumerate(convs):
        weights[f"conv{i + 1}"] = [conv_kernel(state[f"{key}.weight"], alphabet if i == 0 else None),
                                   state[f"{key}.bias"]]  # fmt: skip
    weights["dense1"] = [flatten_dense_kernel(state[f"{hidden}.weight"], DEEPSEA_FILTERS[-1], n), state[f"{hidden}.bias"]]
    weights["output"] = [np.ascontiguousarray(state[f"{output}.weight"].T), state[f"{output}.bias"]]
    return weights


def _selene_deepsea_weights(state: dict, window_length: int, alphabet: str) -> dict:
    return _deepsea_layers(["conv_net.0", "conv_net.4", "conv_net.8"], "classifier.0", "classifier.2", state,
                           window_length, alphabet)  # fmt: skip


KIPOI_DEEPSEA_HIDDEN = 925


def _kipoi_deepsea_expected(n_tasks: int, window_length: int) -> dict:
    n = deepsea_positions(window_length)
    return {
        "0.weight": (320, 4, 1, 8), "0.bias": (320,),
        "4.weight": (480, 320, 1, 8), "4.bias": (480,),
        "8.weight": (960, 480, 1, 8), "8.bias": (960,),
        "12.1.weight": (KIPOI_DEEPSEA_HIDDEN, 960 * n), "12.1.bias": (KIPOI_DEEPSEA_HIDDEN,),
        "14.1.weight": (n_tasks, KIPOI_DEEPSEA_HIDDEN), "14.1.bias": (n_tasks,),
    }  # fmt: skip


def _kipoi_deepsea_weights(state: dict, window_length: int, alphabet: str) -> dict:
    return _deepsea_layers(["0", "4", "8"], "12.1", "14.1", state, window_length, alphabet)


# --------------------------------------------------------------------------------------
# Basset (Kipoi)
# --------------------------------------------------------------------------------------

BASSET_CONVS = ((300, 19, 3), (200, 11, 4), (200, 7, 4))  # filters, kernel, pool
BASSET_DENSE = 1000


def basset_positions(window_length: int) -> int:
    """Positions left after Basset's convolutions and pools: 10 at 600 bp."""
    n = window_length
    for _, kernel, pool in BASSET_CONVS:
        n = (n - kernel + 1) // pool
    return n


def _kipoi_basset_expected(n_tasks: int, window_length: int) -> dict:
    n = basset_positions(window_length)
    keys: dict = {}
    previous = 4
    for (filters, kernel, _), conv, bn in zip(BASSET_CONVS, ("0", "4", "8"), ("1", "5", "9")):
        keys |= {f"{conv}.weight": (filters, previous, kernel, 1), f"{conv}.bias": (filters,)} | _bn_keys(bn, filters)
        previous = filters
    keys |= {"13.1.weight": (BASSET_DENSE, previous * n), "13.1.bias": (BASSET_DENSE,)} | _bn_keys("14", BASSET_DENSE)
    keys |= {"17.1.weight": (BASSET_DENSE, BASSET_DENSE), "17.1.bias": (BASSET_DENSE,)} | _bn_keys("18", BASSET_DENSE)
    keys |= {"21.1.weight": (n_tasks, BASSET_DENSE), "21.1.bias": (n_tasks,)}
    return keys


def _basset_hyperparameters(n_tasks: int) -> dict:
    return {"conv_filters": [c[0] for c in BASSET_CONVS], "kernel_size": [c[1] for c in BASSET_CONVS],
            "pool_size": [c[2] for c in BASSET_CONVS], "padding": "valid", "batch_norm": True,
            "dense_units": [BASSET_DENSE, BASSET_DENSE], "dropout": 0.3}  # fmt: skip


def _kipoi_basset_weights(state: dict, window_length: int, alphabet: str) -> dict:
    n = basset_positions(window_length)
    weights = {}
    for i, (conv, bn) in enumerate((("0", "1"), ("4", "5"), ("8", "9"))):
        weights[f"conv{i + 1}"] = [conv_kernel(state[f"{conv}.weight"], alphabet if i == 0 else None)]
        weights[f"conv{i + 1}_bn"] = batch_norm(state, bn, bias=state[f"{conv}.bias"])
    weights["dense1"] = [flatten_dense_kernel(state["13.1.weight"], BASSET_CONVS[-1][0], n)]
    weights["dense1_bn"] = batch_norm(state, "14", bias=state["13.1.bias"])
    weights["dense2"] = [np.ascontiguousarray(state["17.1.weight"].T)]
    weights["dense2_bn"] = batch_norm(state, "18", bias=state["17.1.bias"])
    weights["output"] = [np.ascontiguousarray(state["21.1.weight"].T), state["21.1.bias"]]
    return weights


CONVERTERS = {
    "selene_deepsea": Converter(
        "selene_deepsea", "deepsea", "ACGT",
        "Selene's DeepSEA (FunctionLab/selene models/deepsea.py; hidden layer of n_tasks units)",
        _selene_deepsea_expected, lambda n_tasks: _deepsea_hyperparameters(n_tasks, "relu"), _selene_deepsea_weights),
    "kipoi_deepsea": Converter(
        "kipoi_deepsea", "deepsea", "AGCT",
        "the original DeepSEA (Zhou & Troyanskaya 2015) as Kipoi's DeepSEA/variantEffects and DeepSEA/predict "
        "serve it (919 tasks, 1000 bp; nn.Threshold(0, 1e-6); alphabet AGCT)",
        _kipoi_deepsea_expected, lambda n_tasks: _deepsea_hyperparameters(KIPOI_DEEPSEA_HIDDEN, "threshold_relu"),
        _kipoi_deepsea_weights),
    "kipoi_basset": Converter(
        "kipoi_basset", "basset", "ACGT",
        "Kipoi's Basset (Kelley et al. 2016; 164 tasks, 600 bp)",
        _kipoi_basset_expected, _basset_hyperparameters, _kipoi_basset_weights),
}  # fmt: skip


def converter(name: str) -> Converter:
    """The converter of that name, or a ValueError listing them."""
    if name not in CONVERTERS:
        raise ValueError(f"unknown converter {name!r}; available: {', '.join(CONVERTERS)}")
    return CONVERTERS[name]


def check_window(name: str, window_length: int) -> None:
    """ValueError if the architecture leaves no position at this window length."""
    positions = deepsea_positions if CONVERTERS[name].architecture == "deepsea" else basset_positions
    if positions(int(window_length)) < 1:
        raise ValueError(f"window_length {window_length} is too short for {name} (its convolutions and pools leave no "
                         "position)")  # fmt: skip


# --------------------------------------------------------------------------------------
# Reading and checking a state dict
# --------------------------------------------------------------------------------------


def load_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of a Torch state dict file as float32 numpy arrays (a Selene checkpoint's
    `state_dict` entry if it is one); read with `weights_only=True`, so no pickled code runs."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "state dict file not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, AttributeError) as error:
        first = str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__
        raise InputError(path, f"cannot read it as a PyTorch state dict with torch.load(weights_only=True) ({first}); "
                         "save the weights alone: torch.save(model.state_dict(), path)") from None  # fmt: skip
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]  # a Selene checkpoint (.pth.tar)
    if not isinstance(obj, dict) or not obj:
        raise InputError(path, f"holds a {type(obj).__name__}, not a state dict (a mapping of parameter names to "
                         "tensors)")  # fmt: skip
    state = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise InputError(path, f"entry {key!r} is a {type(value).__name__}, not a tensor: not a state dict")
        state[str(key)] = value.detach().cpu().numpy()
    return state


def _prefix(keys: list[str], expected: dict) -> str:
    """The prefix a wrapper added to every key (`model.` of NonStrandSpecific, `module.` of
    DataParallel, `1.`/`2.` of Kipoi's Sequential wrappers): the one under which most expected
    keys are found ('' if none)."""
    votes: dict[str, int] = {}
    for key in keys:
        for name in expected:
            if key == name or key.endswith("." + name):
                prefix = key[: len(key) - len(name)]
                votes[prefix] = votes.get(prefix, 0) + 1
    return max(votes, key=lambda p: (votes[p], -len(p))) if votes else ""


def match_state_dict(state: dict, expected: dict, path, what: str) -> dict[str, np.ndarray]:
    """The state dict's tensors under the expected names; InputError naming the first key that is
    missing, unexpected or of another shape, with the expected and the found shape."""
    keys = [k for k in state if not k.endswith(IGNORED_SUFFIXES)]
    prefix = _prefix(keys, expected)
    found = {k[len(prefix):]: state[k] for k in keys if k.startswith(prefix)}
    for name, shape in expected.items():
        if name not in found:
            raise InputError(path, f"missing key {prefix + name!r} (expected shape {tuple(shape)}) of {what}; the file "
                             f"has {len(keys)} keys, the first {keys[:4]}")  # fmt: skip
        if tuple(found[name].shape) != tuple(shape):
            raise InputError(path, f"key {prefix + name!r} has shape {tuple(found[name].shape)}, expected "
                             f"{tuple(shape)} for {what}")  # fmt: skip
    unexpected = [k for k in keys if not (k.startswith(prefix) and k[len(prefix):] in expected)]
    if unexpected:
        key = unexpected[0]
        raise InputError(path, f"unexpected key {key!r} (shape {tuple(state[key].shape)}): not a parameter of {what} "
                         f"({len(unexpected)} unexpected key(s) in all)")  # fmt: skip
    return {name: np.asarray(found[name], np.float32) for name in expected}


# --------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------


def convert_state_dict(path, name: str, tasks: list[str], window_length: int, alphabet: str | None = None,
                       model_name: str | None = None):  # fmt: skip
    """The deepcis Keras model (with its task metadata) equal to the Torch model of converter
    `name` whose state dict is the file `path`; `tasks` name its outputs in order, `alphabet`
    is the order of its input channels (default: the converter's); `model_name` names the Keras
    model (default: the architecture). Returns (model, info) with
    info = {architecture, hyperparameters, converter, alphabet, keys}."""
    spec = converter(name)
    alphabet = (alphabet or spec.alphabet).upper()
    check_window(name, window_length)
    what = (f"{name} with {len(tasks)} task(s) and window_length {int(window_length)} ({spec.description}); the "
            "sidecar's tasks and window_length must fit the file")  # fmt: skip
    expected = spec.expected(len(tasks), int(window_length))
    state = match_state_dict(load_state_dict(path), expected, path, what)
    hp = spec.hyperparameters(len(tasks))
    weights = spec.weights(state, int(window_length), alphabet)
    model = build_converted(spec.architecture, hp, weights, tasks, window_length, name, model_name)
    return model, {
        "architecture": spec.architecture, "hyperparameters": hp, "converter": name, "alphabet": alphabet,
        "keys": len(expected),
    }  # fmt: skip


def build_converted(architecture: str, hp: dict, weights: dict, tasks: list[str], window_length: int, name: str,
                    model_name: str | None = None):  # fmt: skip
    """Build the deepcis architecture, set each layer's weights, add the task metadata."""
    import keras

    from .keras_objects import with_metadata
    from .models import build_model, resolve_hyperparameters

    hp = resolve_hyperparameters(architecture, int(window_length), len(tasks), hp)
    model = build_model(architecture, int(window_length), len(tasks), hp, head="sigmoid")
    for layer_name, arrays in weights.items():
        layer = model.get_layer(layer_name)
        shapes = [tuple(w.shape) for w in layer.get_weights()]
        if shapes != [tuple(a.shape) for a in arrays]:  # a converter bug, not bad input
            raise AssertionError(f"{name}: layer {layer_name} takes {shapes}, got {[a.shape for a in arrays]}")
        layer.set_weights([np.asarray(a, np.float32) for a in arrays])
    model = with_metadata(model, tasks, int(window_length))
    return keras.Model(model.inputs, model.outputs, name=model_name) if model_name else model


def main(argv=None) -> int:
    """`python -m deepcis.convert CONVERTER STATE_DICT --sidecar S --out DIR`: a model folder
    (model.keras + model.json) that every deepcis stage reads."""
    from .errors import DeepcisError
    from .external import import_model

    parser = argparse.ArgumentParser(prog="python -m deepcis.convert", description=main.__doc__)
    parser.add_argument("converter", choices=sorted(CONVERTERS))
    parser.add_argument("state_dict", help="the PyTorch state dict file (.pth, .pt, .pth.tar)")
    parser.add_argument("--sidecar", required=True, help="YAML or JSON: tasks (or tasks_file), window_length, alphabet")
    parser.add_argument("--out", required=True, help="model folder to write (model.keras, model.json)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        info = import_model({"file": args.state_dict, "sidecar": args.sidecar, "converter": args.converter},
                            args.out, name=Path(args.out).name)  # fmt: skip
    except DeepcisError as error:
        print(f"error: {error}")
        return 1
    print(f"wrote {Path(args.out) / 'model.keras'}: {info['architecture']}, {len(info['tasks'])} tasks, "
          f"{info['window_length']} bp")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

