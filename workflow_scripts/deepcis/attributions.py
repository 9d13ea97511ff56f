"""Gradient attributions of a model's output for one task: saliency, gradient x input, IG.

    a = attribute(model, x, task=0, method="integrated_gradients")   # x (N, L, 4) -> (N, L, 4)

All maps are of the model's output for one task (a probability for a sigmoid head):

- ``saliency``: the gradient d f_t / d x at the window (Simonyan et al. 2014), every base;
- ``grad_x_input``: gradient times the one-hot input, so only the observed base of each
  position is non-zero (Shrikumar et al. 2016);
- ``integrated_gradients``: (x - x') times the mean gradient along the straight path from
  the baseline x' to x (Sundararajan et al. 2017), approximated with `steps` midpoints
  (Riemann midpoint rule). Completeness: the map sums to about f(x) - f(x'); the gap
  shrinks with more steps (tests/test_interpret.py checks it).

Baselines for IG (`baseline=`): ``"uniform"`` (default: 0.25 at every base, the
expectation of a random base, so no base is favoured), ``"zeros"`` (the all-zero input,
what an all-N window encodes to), or ``"shuffle"``: `n_shuffles` dinucleotide-preserving
shuffles of the window (deepcis.attributions.dinucleotide_shuffle), IG averaged over them.
"""

from __future__ import annotations

import numpy as np

METHODS = ("saliency", "grad_x_input", "integrated_gradients")
BASELINES = ("uniform", "zeros", "shuffle")
_GRAD_FUNCTIONS: dict = {}  # id(model) -> (model, traced gradient step)


def _gradients(model, x: np.ndarray, task: int, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """D f_task / d x for a batch (N, L, 4), and f_task(x)."""
    import tensorflow as tf

    fn = _GRAD_FUNCTIONS.get(id(model))
    if fn is None or fn[0] is not model:
        @tf.function(reduce_retracing=True)
        def step(xb, t):
            with tf.GradientTape() as tape:
                tape.watch(xb)
                y = tf.gather(model(xb, training=False), t, axis=1)
            return tape.gradient(y, xb), y

        fn = _GRAD_FUNCTIONS[id(model)] = (model, step)
    grads, outs = [], []
    for lo in range(0, len(x), batch_size):
        g, y = fn[1](tf.convert_to_tensor(x[lo:lo + batch_size], dtype=tf.float32), tf.constant(task))
        grads.append(g.numpy())
        outs.append(y.numpy())
    return np.concatenate(grads).astype(np.float32), np.concatenate(outs).astype(np.float32)


def dinucleotide_shuffle(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A shuffle of a one-hot window (L, 4) that keeps its dinucleotide counts exactly.

    Altschul-Erickson: a random Eulerian path over the dinucleotide graph whose last
    edges out of every base form a random arborescence into the last base. Positions
    without a base (N) are kept where they are and the bases between them are shuffled
    as one sequence.
    """
    x = np.asarray(x)
    has_base = x.sum(axis=1) > 0
    seq = np.argmax(x[has_base], axis=1)
    if len(seq) < 3:
        return x.copy()
    # edges from each base, in order
    edges = {b: list(seq[1:][seq[:-1] == b]) for b in range(4)}
    last = seq[-1]
    while True:
        # random last edge out of every base except the last, forming a tree into `last`
        last_edge = {}
        for b in range(4):
            if b != last and edges[b]:
                last_edge[b] = edges[b][rng.integers(len(edges[b]))]
        ok = True
        for b in last_edge:  # every base must reach `last` following last edges
            seen, v = set(), b
            while v != last:
                if v in seen or v not in last_edge:
                    ok = False
                    break
                seen.add(v)
                v = last_edge[v]
            if not ok:
                break
        if ok:
            break
    order = {}
    for b in range(4):
        rest = list(edges[b])
        if b in last_edge:
            rest.remove(last_edge[b])
        rng.shuffle(rest)
        order[b] = rest + ([last_edge[b]] if b in last_edge else [])
    out_seq = [seq[0]]
    pointer = {b: 0 for b in range(4)}
    for _ in range(len(seq) - 1):
        v = out_seq[-1]
        out_seq.append(order[v][pointer[v]])
        pointer[v] += 1
    out = np.zeros_like(x)
    out[np.nonzero(has_base)[0], np.asarray(out_seq)] = 1
    return out


def baseline_for(x: np.ndarray, baseline: str, rng: np.random.Generator | None = None,
                 n_shuffles: int = 8) -> np.ndarray:
    """Baselines for one window (L, 4): (K, L, 4), K = 1 except for "shuffle"."""
    if baseline == "uniform":
        return np.full((1, *x.shape), 0.25, np.float32)
    if baseline == "zeros":
        return np.zeros((1, *x.shape), np.float32)
    if baseline == "shuffle":
        rng = rng if rng is not None else np.random.default_rng(0)
        return np.stack([dinucleotide_shuffle(x, rng) for _ in range(n_shuffles)]).astype(np.float32)
    raise ValueError(f"IG baseline {baseline!r} must be one of {', '.join(BASELINES)}")


def integrated_gradients(model, x: np.ndarray, task: int, baseline: str = "uniform", steps: int = 32,
                         seed: int = 0, n_shuffles: int = 8, batch_size: int = 128) -> np.ndarray:
    """IG maps (N, L, 4) of windows x (N, L, 4) for one task (see the module doc)."""
    if steps < 1:
        raise ValueError(f"integrated gradients needs steps >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    out = np.zeros(x.shape, np.float32)
    for n, window in enumerate(np.asarray(x, np.float32)):
        bases = baseline_for(window, baseline, rng, n_shuffles)
        for base in bases:
            path = base[None] + alphas[:, None, None] * (window - base)[None]
            grads, _ = _gradients(model, path, task, batch_size)
            out[n] += (window - base) * grads.mean(axis=0)
        out[n] /= len(bases)
    return out


def attribute(model, x: np.ndarray, task: int, method: str = "integrated_gradients", **kwargs) -> np.ndarray:
    """Attribution maps (N, L, 4) of windows x (N, L, 4) for output column `task`."""
    x = np.asarray(x, np.float32)
    if x.ndim != 3 or x.shape[-1] != 4:
        raise ValueError(f"attributions need one-hot windows of shape (N, L, 4), got {x.shape}")
    want = model.inputs[0].shape[1]
    if want is not None and x.shape[1] != want:
        raise ValueError(f"window length {x.shape[1]} does not match the model's input length {want}")
    if not 0 <= task < model.outputs[0].shape[-1]:
        raise ValueError(f"task index {task} is outside the model's {model.outputs[0].shape[-1]} outputs")
    if method == "saliency":
        return _gradients(model, x, task)[0]
    if method == "grad_x_input":
        return _gradients(model, x, task)[0] * x
    if method == "integrated_gradients":
        return integrated_gradients(model, x, task, **kwargs)
    raise ValueError(f"attribution method {method!r} must be one of {', '.join(METHODS)}")


def predict_task(model, x: np.ndarray, task: int) -> np.ndarray:
    """f_task for windows (N, L, 4) (used to check IG completeness)."""
    return _gradients(model, np.asarray(x, np.float32), task)[1]
