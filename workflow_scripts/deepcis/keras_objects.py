"""Serializable Keras objects of deepcis: output heads, masked losses, the metadata layer.

They are registered with Keras (package "deepcis"), so a saved `.keras` model loads with
`keras.saving.load_model(path, safe_mode=True)` once this module is imported.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from .models import HEADS, ModelConfigError


def output_head(x, n_tasks: int, head: str = "sigmoid", name: str = "output"):
    """One unit per task. "sigmoid": multi-task binary; "linear"/"softplus": regression.

    Computed in float32 even under a mixed-precision policy.
    """
    if head not in HEADS:
        raise ModelConfigError(f"unknown head {head!r}; available: {', '.join(HEADS)}")
    return layers.Dense(n_tasks, activation=head, dtype="float32", name=name)(x)




# --------------------------------------------------------------------------------------
# Masked losses (NaN label = missing, excluded)
# --------------------------------------------------------------------------------------


def _masked_terms(y_true, y_pred, elementwise):
    """Per-sample sums of the observed element losses and the observed count."""
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    dtype = y_pred.dtype
    y_true = ops.cast(y_true, dtype)
    if len(y_true.shape) == 1:
        y_true = ops.expand_dims(y_true, -1)
    if len(y_pred.shape) == 1:
        y_pred = ops.expand_dims(y_pred, -1)
    observed = ops.logical_not(ops.isnan(y_true))
    # clean labels before the loss so the masked entries' gradients are 0, not NaN
    clean = ops.where(observed, y_true, ops.zeros_like(y_true))
    weight = ops.cast(observed, dtype)
    per_element = elementwise(clean, y_pred) * weight
    per_sample = ops.sum(per_element, axis=-1)
    return per_sample, ops.sum(weight)


def _bce_elements(y_true, y_pred):
    return ops.binary_crossentropy(y_true, y_pred, from_logits=False)


def _weighted_bce(pos_weight):
    """BCE with positives of task t weighted by pos_weight[t] (class balancing)."""
    weight = ops.convert_to_tensor(pos_weight, dtype="float32")

    def elements(y_true, y_pred):
        w = y_true * ops.cast(weight, y_pred.dtype) + (1.0 - y_true)
        return w * ops.binary_crossentropy(y_true, y_pred, from_logits=False)

    return elements


def _se_elements(y_true, y_pred):
    return ops.square(y_pred - y_true)


def _masked_mean(y_true, y_pred, elementwise):
    per_sample, count = _masked_terms(y_true, y_pred, elementwise)
    return ops.sum(per_sample) / ops.maximum(count, 1.0)


@keras.saving.register_keras_serializable(package="deepcis")
def masked_binary_crossentropy(y_true, y_pred):
    """Binary cross-entropy (probabilities) averaged over the non-NaN labels; 0 if none."""
    return _masked_mean(y_true, y_pred, _bce_elements)


@keras.saving.register_keras_serializable(package="deepcis")
def masked_mse(y_true, y_pred):
    """Squared error averaged over the non-NaN labels; 0 if none."""
    return _masked_mean(y_true, y_pred, _se_elements)


class _MaskedLoss(keras.losses.Loss):
    """Mean over the observed (non-NaN) labels of the batch.

    `call` returns per-sample values scaled so that Keras' default
    "sum_over_batch_size" reduction yields the mean over observed entries; this keeps
    Keras' own handling of sample weights and of distribution strategies (division by
    the replica count). An all-missing batch gives 0.
    """

    _elementwise = None

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _elements(self):
        return type(self)._elementwise

    def call(self, y_true, y_pred):
        per_sample, count = _masked_terms(y_true, y_pred, self._elements())
        batch = ops.cast(ops.shape(per_sample)[0], per_sample.dtype)
        return per_sample * (batch / ops.maximum(count, 1.0))


@keras.saving.register_keras_serializable(package="deepcis")
class MaskedBinaryCrossentropy(_MaskedLoss):
    """Masked BCE; `pos_weight` (one per task) up-weights positives for class balance."""

    _elementwise = staticmethod(_bce_elements)

    def __init__(self, name="masked_binary_crossentropy", reduction="sum_over_batch_size",
                 dtype=None, pos_weight=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.pos_weight = None if pos_weight is None else [float(w) for w in pos_weight]

    def _elements(self):
        return _bce_elements if self.pos_weight is None else _weighted_bce(self.pos_weight)

    def get_config(self):
        return super().get_config() | {"pos_weight": self.pos_weight}


@keras.saving.register_keras_serializable(package="deepcis")
class MaskedMeanSquaredError(_MaskedLoss):
    _elementwise = staticmethod(_se_elements)

    def __init__(self, name="masked_mse", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


@keras.saving.register_keras_serializable(package="deepcis")
class TaskMetadata(layers.Layer):
    """Identity layer on the output that carries what scoring needs inside `model.keras`:
    task names (output order), window length and the input encoding."""

    def __init__(self, tasks, window_length, encoding="one-hot ACGT (N = all-zero)", **kwargs):
        super().__init__(**kwargs)
        self.tasks = [str(t) for t in tasks]
        self.window_length = int(window_length)
        self.encoding = str(encoding)

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {
            "tasks": self.tasks, "window_length": self.window_length, "encoding": self.encoding,
        }


def with_metadata(model: keras.Model, tasks, window_length: int) -> keras.Model:
    """Wrap a built model so its output passes through a `TaskMetadata` layer."""
    if len(tasks) != model.output.shape[-1]:
        raise ModelConfigError(f"{len(tasks)} task names for a model with {model.output.shape[-1]} outputs")
    outputs = TaskMetadata(tasks, window_length, name="task_metadata", dtype="float32")(model.output)
    return keras.Model(model.inputs, outputs, name=model.name)


def model_metadata(model: keras.Model) -> dict:
    """Tasks, window length and encoding of a model built with `with_metadata`."""
    for layer in model.layers:
        if isinstance(layer, TaskMetadata):
            return {"tasks": layer.tasks, "window_length": layer.window_length, "encoding": layer.encoding}
    raise ModelConfigError(f"model {model.name!r} carries no deepcis task metadata")


def loss_for_head(head: str) -> keras.losses.Loss:
    """The masked loss that fits a head: BCE for "sigmoid", MSE for regression heads."""
    if head == "sigmoid":
        return MaskedBinaryCrossentropy()
    if head in ("linear", "softplus"):
        return MaskedMeanSquaredError()
    raise ModelConfigError(f"unknown head {head!r}; available: {', '.join(HEADS)}")


def load_model(path) -> keras.Model:
    """Load a deepcis model (`.keras`) in safe mode; this module registers its custom objects."""
    return keras.saving.load_model(path, safe_mode=True)
