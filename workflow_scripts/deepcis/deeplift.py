"""DeepLIFT (rescale rule) with dinucleotide-shuffled references, averaged over them (DeepSHAP).

    result = deep_lift_shap(model, x, task=0, n_shuffles=20, seed=0)   # x (N, L, 4) one-hot
    result.hypothetical, result.contributions                           # (N, L, 4) float32
    result.summation_error                                              # (N,) relative

DeepLIFT (Shrikumar et al. 2017) explains f(x) - f(r) for an input x and a reference r by
multipliers m (the "gradient" of the modified backward pass) with sum_i m_i (x_i - r_i) =
f(x) - f(r) exactly ("summation to delta"). The forward pass runs x and r side by side (one
batch of 2 B: pairs (x, r)); the backward pass is the ordinary one except at:

- element-wise nonlinearities (ReLU, sigmoid, GELU, softplus, ... inside Activation layers,
  as the fused activation of Conv/Dense layers, or as layers of their own): the rescale
  rule, multiplier = (y(x) - y(r)) / (z(x) - z(r)) with z the input and y the output, or
  the derivative at x where |z(x) - z(r)| < 1e-6;
- max pooling (local and global): the difference max(y(x), y(r)) - y(r) is routed to the
  position of x's maximum and y(x) - max(y(x), y(r)) to the reference's (the DeepSHAP rule
  of the `shap` package), which also sums to delta exactly.

Every other supported layer is affine at inference (convolutions, dense layers, batch norm
with its moving statistics, dropout and noise layers, average pooling, flatten/reshape,
padding and cropping, add/subtract/concatenate/average, deepcis' TaskMetadata), where the
ordinary gradient is already the DeepLIFT multiplier. The model is walked node by node
(Keras' functional graph, nested models included), so residual towers work.

The decision whether a model can be explained exactly is made by layer type
(`unsupported_layers`): a model with any layer outside these sets (an LSTM, a
MultiHeadAttention, LayerNormalization, a custom layer, a softmax) is explained with
integrated gradients from the same references instead (`attribute_windows` does this with
a warning naming the layer types), and the result says so (`method`).

For one-hot DNA (Shrikumar et al.; tangermeme's `hypothetical_attributions`) the
*hypothetical* contribution of base b at position i against reference r is
m[i, b] - sum_c m[i, c] r[i, c] (the change from r's base to b); the actual contribution is
that at the observed base (0 at an N). Both are averaged over the references (DeepSHAP), so
the actual contributions of a window sum to f(x) - mean_k f(r_k).

Summation check: per window and reference, |sum of contributions - (f(x) - f(r))| /
max(|f(x) - f(r)|, 1e-3) (relative, an absolute 1e-3 scale where the difference is near 0);
the window's error is the largest over its references.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("deepcis.deeplift")

# Affine at inference (the ordinary gradient is the DeepLIFT multiplier), by Keras class name.
LINEAR_LAYERS = frozenset({
    "InputLayer", "Conv1D", "Conv2D", "Dense", "EinsumDense", "BatchNormalization", "Dropout",
    "SpatialDropout1D", "GaussianDropout", "GaussianNoise", "AlphaDropout", "ActivityRegularization",
    "AveragePooling1D", "GlobalAveragePooling1D", "Flatten", "Reshape", "Permute", "ZeroPadding1D",
    "Cropping1D", "UpSampling1D", "RepeatVector", "Add", "Subtract", "Concatenate", "Average", "Identity",
    "TaskMetadata",
})  # fmt: skip
# Element-wise nonlinear layers (rescale rule), by class name.
ELEMENTWISE_LAYERS = frozenset({"Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "TaskActivation"})
MAXPOOL_LAYERS = frozenset({"MaxPooling1D", "GlobalMaxPooling1D"})
# Element-wise activation functions (by Keras name); softmax & co. mix positions: not exact.
ELEMENTWISE_ACTIVATIONS = frozenset({
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "tanh", "softplus", "softsign", "exponential", "mish",
    "log_sigmoid", "threshold_relu",
})  # fmt: skip
CONTAINERS = ("Functional", "Sequential", "Model")
NEAR_ZERO = 1e-6  # |z(x) - z(r)| below this: the derivative at x instead of the secant
ERROR_SCALE = 1e-3  # absolute scale of the relative summation error where f(x) ~ f(r)
METHODS = ("deeplift_shap", "integrated_gradients")


def _kind(layer) -> str:
    return type(layer).__name__


def _activation_name(layer) -> str | None:
    act = getattr(layer, "activation", None)
    return None if act is None else getattr(act, "__name__", str(act))


def _sublayers(model) -> list:
    return [layer for layer in model.layers]


def unsupported_layers(model) -> list[str]:
    """Layer types (class names, with the activation for an unsupported fused one) that
    DeepLIFT cannot handle exactly; empty when the whole model is supported."""
    bad = set()
    for layer in _sublayers(model):
        kind = _kind(layer)
        if kind in CONTAINERS or hasattr(layer, "_run_through_graph"):
            bad.update(unsupported_layers(layer))
        elif kind in ("Conv1D", "Conv2D", "Dense", "EinsumDense", "Activation"):
            name = _activation_name(layer)
            if name is not None and name not in ELEMENTWISE_ACTIVATIONS:
                bad.add(f"{kind}(activation={name})")
        elif kind not in LINEAR_LAYERS | ELEMENTWISE_LAYERS | MAXPOOL_LAYERS:
            bad.add(kind)
    return sorted(bad)


# --------------------------------------------------------------------------------------
# The modified forward pass (TensorFlow)
# --------------------------------------------------------------------------------------


def _halves(t):
    import tensorflow as tf

    return tf.split(t, 2, axis=0)


def _rescale(fn, z):
    """fn(z) on the stacked batch [x half; reference half], with the rescale rule's backward."""
    import tensorflow as tf

    @tf.custom_gradient
    def op(z):
        y = fn(z)

        def grad(dy, variables=None):
            zx, zr = _halves(z)
            yx, yr = _halves(y)
            with tf.GradientTape() as tape:
                tape.watch(zx)
                y_at_x = fn(zx)
            slope_at_x = tape.gradient(y_at_x, zx)  # element-wise fn: the derivative
            dz = zx - zr
            near = tf.abs(dz) < NEAR_ZERO
            m = tf.where(near, slope_at_x, (yx - yr) / tf.where(near, tf.ones_like(dz), dz))
            dz_total = dy * tf.concat([m, m], axis=0)
            if variables:
                return dz_total, [tf.zeros_like(v) for v in variables]
            return dz_total

        return y, grad

    return op(z)


def _maxpool(pool, z):
    """A max pooling with the DeepSHAP backward: x's and r's winners share the difference."""
    import tensorflow as tf

    @tf.custom_gradient
    def op(z):
        y = pool(z)

        def grad(dy, variables=None):
            zx, zr = _halves(z)
            yx, yr = _halves(y)
            dyx, _ = _halves(dy)
            top = tf.maximum(yx, yr)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([zx, zr])
                px, pr = pool(zx), pool(zr)
            gx = tape.gradient(px, zx, output_gradients=dyx * (top - yr))
            gr = tape.gradient(pr, zr, output_gradients=dyx * (yx - top))
            del tape
            dz = zx - zr
            # dz == 0 only where neither winner sits (then gx + gr == 0): see the module doc
            m = (gx + gr) / tf.where(dz == 0, tf.ones_like(dz), dz)
            return tf.concat([m, m], axis=0)

        return y, grad

    return op(z)


def _call(layer, *args, **kwargs):
    if getattr(layer, "_call_has_training_arg", False):
        kwargs["training"] = False
    return layer(*args, **kwargs)


def _linear_part(layer, *args, **kwargs):
    """A Conv/Dense layer without its fused activation."""
    import keras

    act = layer.activation
    layer.activation = keras.activations.linear
    try:
        return _call(layer, *args, **kwargs)
    finally:
        layer.activation = act


def _deeplift_op(layer):
    """The callable that replaces `layer` in the modified forward pass."""
    kind = _kind(layer)
    if kind in CONTAINERS or hasattr(layer, "_run_through_graph"):
        return lambda *args, **kwargs: _run_model(layer, *args)
    if kind in MAXPOOL_LAYERS:
        return lambda z, **kw: _maxpool(lambda t: layer(t), z)
    if kind == "Activation":
        return lambda z, **kw: _rescale(layer.activation, z)
    if kind in ELEMENTWISE_LAYERS:
        return lambda z, **kw: _rescale(lambda t: _call(layer, t), z)
    if kind in ("Conv1D", "Conv2D", "Dense", "EinsumDense") and _activation_name(layer) not in (None, "linear"):
        return lambda *args, **kwargs: _rescale(layer.activation, _linear_part(layer, *args, **kwargs))
    return lambda *args, **kwargs: _call(layer, *args, **kwargs)


def _run_model(model, x):
    """The model's output on x with every layer replaced by its DeepLIFT op."""
    if hasattr(model, "_run_through_graph"):
        return model._run_through_graph(x, operation_fn=_deeplift_op)
    functional = getattr(model, "_functional", None)
    if functional is not None:
        return functional._run_through_graph(x, operation_fn=_deeplift_op)
    y = x
    for layer in model.layers:
        y = _deeplift_op(layer)(y)
    return y


_STEPS: dict = {}  # id(model) -> (model, traced multiplier step)


def _multiplier_step(model):
    import tensorflow as tf

    cached = _STEPS.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]

    @tf.function(reduce_retracing=True)
    def step(xb, rb, task):
        both = tf.concat([xb, rb], axis=0)
        with tf.GradientTape() as tape:
            tape.watch(both)
            out = _run_model(model, both)
            out = tf.reshape(out, (tf.shape(out)[0], -1))
            target = tf.gather(out, task, axis=1)
            tx, tr = _halves(target)
            total = tf.reduce_sum(tx)
        grads = tape.gradient(total, both)
        gx, _ = _halves(grads)
        return gx, tx, tr

    _STEPS[id(model)] = (model, step)
    return step


# --------------------------------------------------------------------------------------
# References, multipliers, contributions
# --------------------------------------------------------------------------------------


def shuffled_references(x: np.ndarray, n_shuffles: int, seed: int, offset: int = 0, keys=None) -> np.ndarray:
    """(N, K, L, 4) dinucleotide shuffles of windows x (N, L, 4); window i's shuffles are seeded
    by (seed, keys[i]) (default offset + i: its row), so they do not depend on how the windows
    are batched."""
    from .attributions import dinucleotide_shuffle

    x = np.asarray(x)
    keys = np.arange(len(x)) + offset if keys is None else np.asarray(keys)
    out = np.zeros((len(x), n_shuffles, *x.shape[1:]), np.float32)
    for i, window in enumerate(x):
        rng = np.random.default_rng([int(seed), int(keys[i])])
        for k in range(n_shuffles):
            out[i, k] = dinucleotide_shuffle(window, rng)
    return out


def hypothetical_contributions(multipliers: np.ndarray, references: np.ndarray) -> np.ndarray:
    """h[..., i, b] = m[..., i, b] - sum_c m[..., i, c] r[..., i, c]: the contribution base b
    would make at position i, against the reference's base there."""
    m = np.asarray(multipliers, np.float32)
    return m - np.sum(m * references, axis=-1, keepdims=True)


def relative_error(total: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """|total - delta| / max(|delta|, ERROR_SCALE)."""
    return np.abs(total - delta) / np.maximum(np.abs(delta), ERROR_SCALE)


def deeplift_multipliers(model, x: np.ndarray, refs: np.ndarray, task: int, batch_size: int = 128):
    """DeepLIFT multipliers of pairs (x[j], refs[j]), both (P, L, 4): (m, f(x), f(r))."""
    import tensorflow as tf

    step = _multiplier_step(model)
    size = max(1, min(batch_size, len(x)))  # one batch shape per call: the last batch is padded, not retraced
    ms, fx, fr = [], [], []
    for lo in range(0, len(x), size):
        xb, rb = x[lo:lo + size], refs[lo:lo + size]
        n = len(xb)
        if n < size:
            xb = np.concatenate([xb, np.repeat(xb[-1:], size - n, axis=0)])
            rb = np.concatenate([rb, np.repeat(rb[-1:], size - n, axis=0)])
        m, a, b = step(tf.constant(xb, tf.float32), tf.constant(rb, tf.float32), tf.constant(task))
        ms.append(m.numpy()[:n])
        fx.append(a.numpy()[:n])
        fr.append(b.numpy()[:n])
    return np.concatenate(ms), np.concatenate(fx), np.concatenate(fr)


def ig_multipliers(model, x: np.ndarray, refs: np.ndarray, task: int, steps: int = 32, batch_size: int = 128):
    """Integrated-gradients multipliers (mean gradient on the straight path, midpoint rule) of
    pairs (x[j], refs[j]): the fallback for layers DeepLIFT cannot handle exactly. The paths of
    several pairs go through the model in one batch."""
    from .attributions import _gradients

    x, refs = np.asarray(x, np.float32), np.asarray(refs, np.float32)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    chunk = max(1, batch_size // steps)
    ms = []
    for lo in range(0, len(x), chunk):
        xb, rb = x[lo:lo + chunk], refs[lo:lo + chunk]
        paths = rb[:, None] + alphas[None, :, None, None] * (xb - rb)[:, None]  # (pairs, steps, L, 4)
        grads, _ = _gradients(model, paths.reshape(-1, *x.shape[1:]), task, batch_size)
        ms.append(grads.reshape(len(xb), steps, *x.shape[1:]).mean(axis=1))
    _, fx = _gradients(model, x, task, batch_size)
    _, fr = _gradients(model, refs, task, batch_size)
    return np.concatenate(ms), fx, fr


@dataclass
class Attributions:
    """DeepSHAP (or fallback) attributions of N windows for one task."""

    method: str  # "deeplift_shap" or "integrated_gradients"
    hypothetical: np.ndarray  # (N, L, 4) float32, mean over references
    contributions: np.ndarray  # (N, L, 4) float32: hypothetical at the observed base
    prediction: np.ndarray  # (N,) f(x)
    reference_prediction: np.ndarray  # (N,) mean_k f(r_k)
    summation_error: np.ndarray  # (N,) largest relative error over the references

    @property
    def max_error(self) -> float:
        return float(self.summation_error.max()) if len(self.summation_error) else 0.0


def deep_lift_shap(model, x: np.ndarray, task: int, n_shuffles: int = 20, seed: int = 0, batch_size: int = 128,
                   method: str = "deeplift_shap", ig_steps: int = 32, offset: int = 0, keys=None) -> Attributions:  # fmt: skip
    """Attributions of windows x (N, L, 4) for output column `task`, averaged over `n_shuffles`
    dinucleotide-shuffled references per window (seeded by `seed` and each window's key, default
    offset + its index); `method="integrated_gradients"` uses IG multipliers from the same
    references (see the module doc)."""
    x = np.asarray(x, np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"DeepLIFT needs one-hot windows of shape (N, L, 4), got {x.shape}")
    if n_shuffles < 1:
        raise ValueError(f"DeepLIFT needs at least one reference per window, got n_shuffles={n_shuffles}")
    if method not in METHODS:
        raise ValueError(f"attribution method {method!r} must be one of {', '.join(METHODS)}")
    n, length = x.shape[0], x.shape[1]
    refs = shuffled_references(x, n_shuffles, seed, offset, keys).reshape(n * n_shuffles, length, 4)
    pairs = np.repeat(x, n_shuffles, axis=0)
    if method == "deeplift_shap":
        m, fx, fr = deeplift_multipliers(model, pairs, refs, task, batch_size)
    else:
        m, fx, fr = ig_multipliers(model, pairs, refs, task, ig_steps, batch_size)
    hyp = hypothetical_contributions(m, refs)
    actual = hyp * pairs
    error = relative_error(actual.sum(axis=(1, 2)), fx - fr).reshape(n, n_shuffles)
    hyp = hyp.reshape(n, n_shuffles, length, 4).mean(axis=1)
    return Attributions(method, hyp.astype(np.float32), (hyp * x).astype(np.float32), fx.reshape(n, n_shuffles)[:, 0],
                        fr.reshape(n, n_shuffles).mean(axis=1), error.max(axis=1))  # fmt: skip


def choose_method(model) -> tuple[str, list[str]]:
    """("deeplift_shap", []) for a fully supported model, else ("integrated_gradients", the
    unsupported layer types)."""
    bad = unsupported_layers(model)
    return ("integrated_gradients", bad) if bad else ("deeplift_shap", [])


class SummationError(ValueError):
    """Attributions whose sum misses the output difference by more than the tolerance."""


def check_summation(result: Attributions, tolerance: float, on_error: str = "warn", what: str = "") -> float:
    """Log the largest summation error; above `tolerance` warn, or raise SummationError when
    `on_error` is "fail"."""
    worst = result.max_error
    log.info("%s%s: largest summation-to-delta error %.2e (relative; tolerance %.0e) over %d windows", what,
             result.method, worst, tolerance, len(result.summation_error))  # fmt: skip
    if worst > tolerance:
        bad = int((result.summation_error > tolerance).sum())
        message = (f"{what}{result.method}: {bad} of {len(result.summation_error)} windows' attributions miss "
                   f"f(x) - f(reference) by more than {tolerance:g} (relative; largest {worst:.2e})")  # fmt: skip
        if on_error == "fail":
            raise SummationError(message)
        log.warning(message)
    return worst
