"""In-silico mutagenesis (ISM): the change in a model's output for every position x base.

    delta = ism(model, x)          # x (L, 4) one-hot; delta (L, 4, T), float32
    delta[i, b, t] = f_t(x with base b at position i) - f_t(x)

Entries of the window's own base are 0 (for an N position, all four bases are tried).
`f` is the model's output (probabilities for a sigmoid head). With
`reverse_complement=True`, `f` is the mean of the forward and reverse-complement
predictions, as in the variant scores: the mutant (i, b) of x is the mutant
(L-1-i, 3-b) of its reverse complement, so the two ISM maps are averaged after flipping.

Two implementations that give the same numbers (to float tolerance, tests/test_interpret.py):

- `naive_ism`: every mutant window through the whole model (3 L forward passes);
- `fast_ism` (default): the model's leading chain of *local* layers (Conv1D with valid or
  same padding, max/average pooling with valid padding, batch norm, activations,
  dropout, activity regularisation; see `LOCAL_LAYERS`) is computed once on the
  reference window and cached level by level. For each mutant only the positions that a
  single-base change can reach are recomputed, level by level: at each layer the
  affected output range (propagated through kernels, dilations and pooling strides) is
  computed from a window of the previous level made of the cached reference plus the
  previous level's recomputed patch (a convolution whose changed input is narrower than its
  affected output is updated as reference pre-activation + change x kernel, it is linear
  before its activation). After the local chain the patch is spliced into
  the cached activations and the rest of the model runs on them; when that rest starts
  with Flatten -> Dense, the Dense layer's pre-activation is updated by the patch's
  difference only (it is linear), so only the layers after it run on the full width.

Models whose layers are not a single chain (e.g. residual towers) have no fast path:
`fast_ism` raises `ValueError` and `ism(..., method="auto")` falls back to the naive
path (with a log line).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from . import genome

log = logging.getLogger("deepcis.ism")

LOCAL_LAYERS = ("Conv1D", "MaxPooling1D", "AveragePooling1D", "BatchNormalization", "Activation",
                "Dropout", "ActivityRegularization", "SpatialDropout1D", "GaussianNoise", "GaussianDropout")
_IDENTITY_AT_INFERENCE = ("Dropout", "ActivityRegularization", "SpatialDropout1D", "GaussianNoise",
                          "GaussianDropout")


def mutations(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, bases) of every single-base change of a one-hot window (L, 4)."""
    pos, base = np.nonzero(np.asarray(x) < 0.5)
    return pos.astype(np.int64), base.astype(np.int64)


def _mutants(x: np.ndarray, pos: np.ndarray, base: np.ndarray) -> np.ndarray:
    out = np.repeat(x[None].astype(np.float32), len(pos), axis=0)
    out[np.arange(len(pos)), pos, :] = 0
    out[np.arange(len(pos)), pos, base] = 1
    return out


def _predict(model, x: np.ndarray, batch_size: int) -> np.ndarray:
    """Inference through Keras' compiled predict step (a traced graph, not eager calls)."""
    out = [np.asarray(model.predict_on_batch(x[i:i + batch_size]), dtype=np.float32)
           for i in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.outputs[0].shape[-1]), np.float32)


def _check_window(model, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    want = model.inputs[0].shape[1]
    if x.ndim != 2 or x.shape[1] != 4:
        raise ValueError(f"ISM needs one one-hot window of shape (L, 4), got {x.shape}")
    if want is not None and x.shape[0] != want:
        raise ValueError(f"window length {x.shape[0]} does not match the model's input length {want}")
    return x


def naive_ism(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """ISM by predicting every mutant window with the whole model; (L, 4, T) float32."""
    x = _check_window(model, x)
    pos, base = mutations(x)
    ref = _predict(model, x[None], 1)[0]
    out = np.zeros((x.shape[0], 4, ref.shape[-1]), np.float32)
    for lo in range(0, len(pos), batch_size):
        p, b = pos[lo:lo + batch_size], base[lo:lo + batch_size]
        out[p, b] = _predict(model, _mutants(x, p, b), batch_size) - ref
    return out


# --------------------------------------------------------------------------------------
# The fast path
# --------------------------------------------------------------------------------------


@dataclass
class _Step:
    """One local layer: how an output position depends on the previous level.

    Output j reads previous-level positions [j*stride - pad_left, j*stride - pad_left + span)
    (with zeros outside the previous level for 'same' padding).
    """

    layer: object
    kind: str  # "conv", "pool" or "pointwise"
    span: int = 1
    stride: int = 1
    pad_left: int = 0
    pad_right: int = 0


def _layer_kind(layer) -> str:
    return type(layer).__name__


def _as_int(v):
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _local_step(layer) -> _Step | None:
    kind = _layer_kind(layer)
    if kind not in LOCAL_LAYERS:
        return None
    if kind == "Conv1D":
        if _as_int(layer.strides) != 1 or layer.padding not in ("valid", "same") or layer.groups != 1:
            return None
        span = _as_int(layer.dilation_rate) * (_as_int(layer.kernel_size) - 1) + 1
        pad = span - 1 if layer.padding == "same" else 0
        return _Step(layer, "conv", span, 1, pad // 2, pad - pad // 2)
    if kind in ("MaxPooling1D", "AveragePooling1D"):
        if layer.padding != "valid":
            return None
        return _Step(layer, "pool", _as_int(layer.pool_size), _as_int(layer.strides))
    return _Step(layer, "pointwise")


def _chain(model) -> list:
    """The model's layers in order if they form one chain input -> output, else raise."""
    layers = [layer for layer in model.layers if _layer_kind(layer) != "InputLayer"]
    previous = model.inputs[0]
    for layer in layers:
        inbound = layer.input
        if isinstance(inbound, (list, tuple)) or inbound is not previous:
            raise ValueError(f"fast ISM needs a model whose layers form one chain; layer {layer.name!r} "
                             f"({_layer_kind(layer)}) breaks it")
        previous = layer.output
    return layers


class FastISM:
    """Reusable fast-ISM engine for one model (build once, call per window)."""

    def __init__(self, model):
        import keras

        self.model = model
        layers = _chain(model)
        steps = []
        for layer in layers:
            step = _local_step(layer)
            if step is None:
                break
            steps.append(step)
        if not any(s.kind == "conv" for s in steps):
            raise ValueError(f"model {model.name!r} does not start with a convolution: no fast ISM path")
        # do not end the local chain on a pooling step whose window is wider than its output
        self.steps = steps
        rest = layers[len(steps):]
        self.length = int(model.inputs[0].shape[1])
        self.levels = [self.length]
        for s in steps:
            n = self.levels[-1] + s.pad_left + s.pad_right
            self.levels.append(n if s.kind == "pointwise" else (n - s.span) // s.stride + 1)
        # the dense shortcut: Flatten -> Dense (linear before its activation)
        self.dense = None
        if len(rest) >= 2 and _layer_kind(rest[0]) == "Flatten" and _layer_kind(rest[1]) == "Dense":
            self.dense = rest[1]
            rest = rest[2:]
            width = int(self.dense.kernel.shape[-1])
            inp = keras.Input(shape=(width,), dtype="float32")
        else:
            c = int(layers[len(steps) - 1].output.shape[-1])
            inp = keras.Input(shape=(self.levels[-1], c), dtype="float32")
        y = inp
        for layer in rest:
            y = layer(y)
        self.suffix = keras.Model(inp, y, name=f"{model.name}_ism_suffix")
        self._plan_cache: dict = {}

    # ---- geometry ----

    def _plan(self):
        """Per level: the start (per input position) and width of the recomputed patch."""
        if "plan" in self._plan_cache:
            return self._plan_cache["plan"]
        L = self.length
        pos = np.arange(L)
        lo, hi = pos.copy(), pos + 1  # affected range at level 0, half-open
        plan = []
        for step, n_out in zip(self.steps, self.levels[1:]):
            if step.kind == "pointwise":
                plan.append(None)
                continue
            # previous-level coordinate q (padded: q + pad_left) feeds outputs j with
            # j*stride <= q + pad_left <= j*stride + span - 1
            a, b = lo + step.pad_left, hi - 1 + step.pad_left
            lo = np.maximum(0, -((step.span - 1 - a) // step.stride))  # ceil((a - span + 1) / stride)
            hi = np.minimum(n_out, b // step.stride + 1)
            if np.any(hi <= lo):  # a position no output reads (trailing bases dropped by pooling)
                hi = np.maximum(hi, lo)
            width = int(np.max(hi - lo)) if len(lo) else 1
            width = max(1, min(width, n_out))
            start = np.clip(lo, 0, n_out - width)
            plan.append((start.astype(np.int64), width))
        self._plan_cache["plan"] = plan
        return plan

    # ---- layer application on windows ----

    def _apply(self, step: _Step, x):
        import keras
        from keras import ops

        layer = step.layer
        kind = _layer_kind(layer)
        if step.kind == "conv":
            y = ops.conv(x, layer.kernel, strides=1, padding="valid",
                         dilation_rate=_as_int(layer.dilation_rate))
            if layer.use_bias:
                y = y + layer.bias
            return layer.activation(y) if layer.activation is not None else y
        if step.kind == "pool":
            pool = ops.max_pool if kind == "MaxPooling1D" else ops.average_pool
            return pool(x, step.span, step.stride, padding="valid")
        if kind in _IDENTITY_AT_INFERENCE:
            return x
        del keras
        return layer(x, training=False)

    def _pre_activation(self, step: _Step, x):
        from keras import ops

        layer = step.layer
        y = ops.conv(x, layer.kernel, strides=1, padding="valid", dilation_rate=_as_int(layer.dilation_rate))
        return y + layer.bias if layer.use_bias else y

    def reference(self, x: np.ndarray) -> list[np.ndarray]:
        """Cached activations of the local chain on the reference window, level by level
        (and, in self._pre, each convolution's output before its activation)."""
        acts = [x[None].astype(np.float32)]
        self._pre = {}
        for k, step in enumerate(self.steps):
            prev = acts[-1]
            if step.pad_left or step.pad_right:
                prev = np.pad(prev, ((0, 0), (step.pad_left, step.pad_right), (0, 0)))
            if step.kind == "conv":
                pre = np.asarray(self._pre_activation(step, prev), dtype=np.float32)
                self._pre[k] = pre[0]
                act = step.layer.activation
                acts.append(np.asarray(act(pre), np.float32) if act is not None else pre)
            else:
                acts.append(np.asarray(self._apply(step, prev), dtype=np.float32))
        return [a[0] for a in acts]

    def _conv_delta(self, k: int, step: _Step, acts, patch, start, width, new_start, new_width):
        """A convolution's patch from the change of its input only (it is linear before the
        activation): reference pre-activation + sum over changed inputs x taps."""
        import tensorflow as tf

        layer = step.layer
        n = len(start)
        kernel = self._plan_cache.get(("kernel", k))
        if kernel is None:
            w = np.asarray(layer.kernel, np.float32)  # (taps, C_in, C_out)
            kernel = self._plan_cache[("kernel", k)] = tf.constant(
                np.ascontiguousarray(w.transpose(1, 0, 2).reshape(w.shape[1], -1)))
        taps, c_out = int(layer.kernel.shape[0]), int(layer.kernel.shape[2])
        dilation = _as_int(layer.dilation_rate)
        prev = acts[k]
        idx = start[:, None] + np.arange(width)[None, :]
        delta = (patch - prev[idx]).reshape(n * width, -1)
        contrib = tf.linalg.matmul(delta, kernel).numpy().reshape(n, width, taps, c_out)
        pre_ref = self._pre[k]
        out = pre_ref[new_start[:, None] + np.arange(new_width)[None, :]]  # (n, new_width, C_out)
        rows = np.arange(n)
        for w in range(width):
            for t in range(taps):
                rel = start + w + step.pad_left - t * dilation - new_start
                ok = (rel >= 0) & (rel < new_width)
                out[rows[ok], rel[ok]] += contrib[ok, w, t]
        act = layer.activation
        return np.asarray(act(out), np.float32) if act is not None else out

    def _patches(self, acts, pos, base):
        """Recompute, for mutants (pos, base), the affected window of every level."""
        plan = self._plan()
        n = len(pos)
        patch = np.zeros((n, 1, 4), np.float32)
        patch[np.arange(n), 0, base] = 1
        start, width = pos.copy(), 1
        for k, (step, geo) in enumerate(zip(self.steps, plan)):
            if geo is None:  # pointwise: same positions
                patch = np.asarray(self._apply(step, patch), dtype=np.float32)
                continue
            new_start, new_width = geo[0][pos], geo[1]
            if step.kind == "conv" and width < new_width:  # fewer changed inputs than outputs
                patch = self._conv_delta(k, step, acts, patch, start, width, new_start, new_width)
                start, width = new_start, new_width
                continue
            prev = acts[k]
            if step.pad_left or step.pad_right:
                prev = np.pad(prev, ((step.pad_left, step.pad_right), (0, 0)))
            in_width = (new_width - 1) * step.stride + step.span
            in_start = new_start * step.stride  # padded coordinates of the previous level
            idx = in_start[:, None] + np.arange(in_width)[None, :]
            window = prev[idx]  # (n, in_width, C) from the cached reference
            # overwrite with the previous level's patch where they overlap
            rel = idx - step.pad_left - start[:, None]
            inside = (rel >= 0) & (rel < width)
            rows, cols = np.nonzero(inside)
            window[rows, cols] = patch[rows, rel[rows, cols]]
            patch = np.asarray(self._apply(step, window), dtype=np.float32)
            start, width = new_start, new_width
        return patch, start, width

    def __call__(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        x = _check_window(self.model, x)
        acts = self.reference(x)
        ref_out = self._suffix(acts[-1][None], None, None, None)[0]
        pos, base = mutations(x)
        out = np.zeros((x.shape[0], 4, ref_out.shape[-1]), np.float32)
        for lo in range(0, len(pos), batch_size):
            p, b = pos[lo:lo + batch_size], base[lo:lo + batch_size]
            patch, start, width = self._patches(acts, p, b)
            out[p, b] = self._suffix(acts[-1], patch, start, width) - ref_out
        return out

    def _suffix(self, ref_last, patch, start, width) -> np.ndarray:
        if patch is None:
            full = ref_last
            if self.dense is None:
                return _predict(self.suffix, full, len(full))
            h = full.reshape(full.shape[0], -1) @ np.asarray(self.dense.kernel)
            return self._after_dense(h)
        n = len(start)
        idx = start[:, None] + np.arange(width)[None, :]
        if self.dense is None:
            full = np.repeat(ref_last[None], n, axis=0)
            full[np.arange(n)[:, None], idx] = patch
            return _predict(self.suffix, full, len(full))
        # linear update of the Dense layer: only the patched positions change its input
        c = ref_last.shape[-1]
        kernel = self._dense_kernel(c)  # (L_n, C, U)
        if not hasattr(self, "_ref_dense"):
            raise AssertionError("reference pass must run first")
        import tensorflow as tf

        diff = (patch - ref_last[idx]).reshape(n, -1)  # (n, width * C)
        h = np.repeat(self._ref_dense[None], n, axis=0)
        for s in np.unique(start):  # mutants sharing a start share the kernel rows
            rows = np.nonzero(start == s)[0]
            # TensorFlow's matmul: numpy's OpenBLAS threads competing with TensorFlow's made
            # this step 6x slower on 2 cores
            h[rows] += tf.linalg.matmul(diff[rows], tf.reshape(kernel[s:s + width], (width * c, -1))).numpy()
        return self._after_dense(h, save_reference=False)

    def _dense_kernel(self, c):
        if "kernel" not in self._plan_cache:
            import tensorflow as tf

            k = np.asarray(self.dense.kernel, np.float32)
            self._plan_cache["kernel"] = tf.constant(k.reshape(self.levels[-1], c, k.shape[-1]))
        return self._plan_cache["kernel"]

    def _after_dense(self, h, save_reference=True):
        if save_reference:  # reference pass: remember the pre-activation
            self._ref_dense = h[0].copy()
        if self.dense.use_bias:
            h = h + np.asarray(self.dense.bias, np.float32)
        h = np.asarray(self.dense.activation(h), np.float32) if self.dense.activation is not None else h
        return _predict(self.suffix, h.astype(np.float32), len(h))


def fast_ism(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """ISM recomputing only what each single-base change reaches; equals `naive_ism`."""
    return FastISM(model)(x, batch_size)


def ism(model, x: np.ndarray, method: str = "auto", reverse_complement: bool = False,
        batch_size: int = 256, engine: FastISM | None = None) -> np.ndarray:
    """ISM of one window (L, 4) -> (L, 4, T); method "fast", "naive" or "auto" (fast if possible)."""
    if method not in ("auto", "fast", "naive"):
        raise ValueError(f"ISM method {method!r} must be 'auto', 'fast' or 'naive'")
    if method != "naive" and engine is None:
        try:
            engine = FastISM(model)
        except ValueError as error:
            if method == "fast":
                raise
            log.info("no fast ISM path (%s); using naive ISM", error)
    run = engine if (engine is not None and method != "naive") else (lambda w, bs: naive_ism(model, w, bs))
    x = np.asarray(x, dtype=np.float32)
    out = run(x, batch_size)
    if reverse_complement:
        rc = run(np.ascontiguousarray(genome.reverse_complement(x)), batch_size)
        # the map (L, 4, T) of the reverse complement: flip positions and bases (axes 0 and 1;
        # genome.reverse_complement flips the last two, which here are bases and tasks)
        out = (out + rc[::-1, ::-1]) / np.float32(2)
    return out
