"""Serializable Keras objects of deepcis: output heads, masked losses, the metadata layer
(and, imported from deepcis.penalties, the published models' L2 penalty and max-norm constraint).

They are registered with Keras (package "deepcis"), so a saved `.keras` model loads with
`keras.saving.load_model(path, safe_mode=True)` once this module is imported.
"""

from __future__ import annotations

from pathlib import Path

import keras
from keras import layers, ops

from . import penalties  # noqa: F401  (registers deepcis' L2 and MaxNorm, so models using them load)
from .errors import ModelConfigError, ModelFileError
from .heads import HEADS


def output_head(x, n_tasks: int, head="sigmoid", name: str = "output"):
    """One unit per task. "sigmoid": multi-task binary; "linear"/"softplus": regression; a list
    of those, one per task: a multi-modal head (a linear `name` layer, then `TaskActivation`).

    Computed in float32 even under a mixed-precision policy.
    """
    if isinstance(head, (list, tuple)):
        if len(head) != n_tasks:
            raise ModelConfigError(f"{len(head)} head activations for {n_tasks} tasks")
        bad = sorted({h for h in head if h not in HEADS})
        if bad:
            raise ModelConfigError(f"unknown head(s) {bad}; available: {', '.join(HEADS)}")
        if len(set(head)) > 1:
            x = layers.Dense(n_tasks, activation="linear", dtype="float32", name=name)(x)
            return TaskActivation(list(head), name=f"{name}_activation", dtype="float32")(x)
        head = head[0]
    if head not in HEADS:
        raise ModelConfigError(f"unknown head {head!r}; available: {', '.join(HEADS)}")
    return layers.Dense(n_tasks, activation=head, dtype="float32", name=name)(x)


@keras.saving.register_keras_serializable(package="deepcis")
class TaskActivation(layers.Layer):
    """Per-task output activation of a multi-modal head: "sigmoid" (binary peak tasks),
    "linear" or "softplus" (signal tasks; softplus keeps Poisson rates positive)."""

    def __init__(self, activations, **kwargs):
        super().__init__(**kwargs)
        self.activations = [str(a) for a in activations]

    def call(self, inputs):
        sigmoid = ops.convert_to_tensor([[a == "sigmoid" for a in self.activations]])
        softplus = ops.convert_to_tensor([[a == "softplus" for a in self.activations]])
        return ops.where(sigmoid, ops.sigmoid(inputs), ops.where(softplus, ops.softplus(inputs), inputs))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {"activations": self.activations}


@keras.saving.register_keras_serializable(package="deepcis")
def threshold_relu(x):
    """Torch's nn.Threshold(0, 1e-6): x where x > 0, else 1e-6; the activation of the original
    (Lua) DeepSEA, so its published weights convert exactly (deepcis.convert)."""
    return ops.where(x > 0, x, ops.cast(1e-6, x.dtype))




@keras.saving.register_keras_serializable(package="deepcis")
class PositionEmbedding(layers.Layer):
    """A learned position embedding: one trained vector per position, added to the input
    (batch, positions, width). The transformer's position encoding (docs/models.md)."""

    def __init__(self, initializer_stddev=0.02, **kwargs):
        super().__init__(**kwargs)
        self.initializer_stddev = float(initializer_stddev)

    def build(self, input_shape):
        positions, width = int(input_shape[-2]), int(input_shape[-1])
        self.embeddings = self.add_weight(
            shape=(positions, width), name="embeddings",
            initializer=keras.initializers.RandomNormal(stddev=self.initializer_stddev),
        )  # fmt: skip

    def call(self, inputs):
        return inputs + ops.cast(self.embeddings, inputs.dtype)[None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return super().get_config() | {"initializer_stddev": self.initializer_stddev}


@keras.saving.register_keras_serializable(package="deepcis")
class Sampling(layers.Layer):
    """The variational autoencoder's code: z = mean + exp(log_var / 2) * eps in training (the
    posterior mean at inference), adding kl_weight x the mean KL divergence per code value of
    N(mean, exp(log_var)) from N(0, 1) to the model's loss."""

    def __init__(self, kl_weight=1e-3, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.kl_weight = float(kl_weight)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        mean, log_var = inputs
        kl = -0.5 * ops.mean(1.0 + log_var - ops.square(mean) - ops.exp(log_var))
        self.add_loss(self.kl_weight * kl)
        if not training:
            return mean
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return super().get_config() | {"kl_weight": self.kl_weight, "seed": self.seed}


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


def _poisson_elements(y_true, y_pred):
    """Poisson deviance / 2 (the negative log-likelihood minus its minimum): rate - y -
    y log(rate / y); >= 0, and 0 where rate = y (rate > 0, from a softplus head)."""
    eps = 1e-7
    return y_pred - y_true - y_true * (ops.log(y_pred + eps) - ops.log(y_true + eps))


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
    """Masked squared error: the mean over the observed (non-NaN) labels of the batch."""

    _elementwise = staticmethod(_se_elements)

    def __init__(self, name="masked_mse", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)


TASK_LOSSES = {"bce": _bce_elements, "mse": _se_elements, "poisson": _poisson_elements}


@keras.saving.register_keras_serializable(package="deepcis")
class MultiModalLoss(keras.losses.Loss):
    """Masked per-task losses of a multi-modal model, summed with weights into one total.

    `task_losses`: one of "bce" (binary peak tasks), "mse", "poisson" (signal tasks) per task;
    `task_weights`: one weight per task. Each modality (tasks sharing a loss) contributes the
    mean over its observed (non-NaN) entries of weight x element loss; the total is the sum
    over modalities, so a modality's weight does not depend on how many tasks it has.
    `pos_weight` (per task, binary tasks only) up-weights positives as in
    MaskedBinaryCrossentropy. Returned per sample, scaled for Keras' default
    "sum_over_batch_size" reduction (as _MaskedLoss).
    """

    def __init__(self, task_losses, task_weights=None, pos_weight=None, name="multimodal_loss",
                 reduction="sum_over_batch_size", dtype=None):  # fmt: skip
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.task_losses = [str(t) for t in task_losses]
        bad = sorted({t for t in self.task_losses if t not in TASK_LOSSES})
        if bad:
            raise ModelConfigError(f"unknown task loss(es) {bad}; available: {', '.join(TASK_LOSSES)}")
        self.task_weights = [1.0] * len(self.task_losses) if task_weights is None else [float(w) for w in task_weights]
        if len(self.task_weights) != len(self.task_losses):
            raise ModelConfigError(f"{len(self.task_weights)} task weights for {len(self.task_losses)} tasks")
        self.pos_weight = None if pos_weight is None else [float(w) for w in pos_weight]

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        dtype = y_pred.dtype
        y_true = ops.cast(ops.convert_to_tensor(y_true), dtype)
        observed = ops.logical_not(ops.isnan(y_true))
        clean = ops.where(observed, y_true, ops.zeros_like(y_true))
        batch = ops.cast(ops.shape(y_pred)[0], dtype)
        total = None
        for kind in dict.fromkeys(self.task_losses):
            member = [k == kind for k in self.task_losses]
            weight = [w if m else 0.0 for w, m in zip(self.task_weights, member)]
            if kind == "bce" and self.pos_weight is not None:
                elements = _weighted_bce(self.pos_weight)(clean, y_pred)
            else:
                elements = TASK_LOSSES[kind](clean, y_pred)
            mask = ops.cast(observed, dtype) * ops.cast(ops.convert_to_tensor([member]), dtype)
            per_sample = ops.sum(elements * mask * ops.cast(ops.convert_to_tensor([weight]), dtype), axis=-1)
            term = per_sample * (batch / ops.maximum(ops.sum(mask), 1.0))
            total = term if total is None else total + term
        return total

    def get_config(self):
        return super().get_config() | {"task_losses": self.task_losses, "task_weights": self.task_weights,
                                       "pos_weight": self.pos_weight}  # fmt: skip


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


def load_model(path, expected_tasks=None) -> keras.Model:
    """Load a deepcis model (`.keras`) in safe mode; this module registers its custom objects.

    A missing, truncated or corrupt file, or one that is not a Keras model, is a
    `ModelFileError` that says which; with `expected_tasks`, so is a model whose tasks differ
    (the difference listed). An imported external model whose model.json records
    `allow_unsafe: true` (Lambda layers the user trusted in the config) loads unsafely, with a
    warning (deepcis.external); any other model with a Lambda layer is refused in safe mode."""
    import zipfile

    from .external import unsafe_allowed

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "model file not found")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(path, f"model file is corrupt or truncated ({path.stat().st_size:,} bytes, not a "
                             "Keras zip archive); delete it and rerun its training job")  # fmt: skip
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ModelFileError(path, f"model file is corrupt ({error}); delete it and rerun its training job") from None
    if bad is not None:
        raise ModelFileError(path, f"model file is corrupt (member {bad} fails its checksum); delete it and rerun "
                             "its training job")  # fmt: skip
    if not {"config.json", "model.weights.h5"} <= names:
        raise ModelFileError(path, f"not a Keras model file (the archive holds {sorted(names)}, not config.json and "
                             "model.weights.h5)")  # fmt: skip
    safe_mode = not unsafe_allowed(path)
    if not safe_mode:
        import logging

        logging.getLogger("deepcis.external").warning("loading %s with safe_mode=False (allow_unsafe: true in its "
                                                      "model.json)", path)  # fmt: skip
    try:
        model = keras.saving.load_model(path, safe_mode=safe_mode)
    except ValueError as error:
        if safe_mode and "safe_mode" in str(error):  # a Lambda layer (arbitrary code) refused
            raise ModelFileError(path, "the model holds a Lambda layer, which runs arbitrary code; safe mode "
                                 "refuses it (an external model can set allow_unsafe: true, "
                                 "docs/external-models.md)") from None  # fmt: skip
        raise ModelFileError(path, f"cannot load the model (ValueError: {str(error)[:300]}); the file is corrupt "
                             "or was saved by an incompatible deepcis/Keras version") from None  # fmt: skip
    except Exception as error:  # Keras raises many types for a file it cannot rebuild
        raise ModelFileError(path, f"cannot load the model ({type(error).__name__}: {str(error)[:300]}); the file "
                             "is corrupt or was saved by an incompatible deepcis/Keras version") from None  # fmt: skip
    if expected_tasks is not None:
        check_model_tasks(model, path, expected_tasks)
    return model


def check_model_tasks(model: keras.Model, path, expected_tasks) -> None:
    """ModelFileError unless the model predicts exactly `expected_tasks`, in that order."""
    tasks = model_metadata(model)["tasks"]
    expected = [str(t) for t in expected_tasks]
    if tasks == expected:
        return
    missing = [t for t in expected if t not in tasks]
    extra = [t for t in tasks if t not in expected]
    parts = [f"missing {missing}" if missing else "", f"not expected {extra}" if extra else ""]
    detail = "; ".join(p for p in parts if p) or f"same tasks in another order: {tasks}"
    raise ModelFileError(path, f"the model predicts tasks {tasks}, the config expects {expected} ({detail}); "
                         "retrain it (snakemake --forcerun train_model) or fix the model's tasks in the config")


def _without_object_ids(obj):
    """A Keras config without its `shared_object_id`s: memory addresses of objects that layers
    share in this process (a dtype policy, a constraint), which differ in every process."""
    if isinstance(obj, dict):
        return {k: _without_object_ids(v) for k, v in obj.items() if k != "shared_object_id"}
    if isinstance(obj, list):
        return [_without_object_ids(v) for v in obj]
    return obj


def save_model(model: keras.Model, path) -> None:
    """`model.save(path)`, then the archive made reproducible: every member dated 1980-01-01,
    metadata.json without its save time, config.json without the process's object ids (each
    shared object is then rebuilt once per use, which is equivalent), so the same weights give
    the same bytes: a resumed training run's model.keras equals an uninterrupted one's."""
    import json
    import zipfile

    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in members:
            if info.filename == "metadata.json":
                data = json.dumps({k: v for k, v in json.loads(data).items() if k != "date_saved"}).encode()
            elif info.filename == "config.json":
                data = json.dumps(_without_object_ids(json.loads(data))).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            archive.writestr(fixed, data)
