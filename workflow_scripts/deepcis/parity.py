"""Plain reference models and step timing, for the training/inference parity benchmark.

A *plain reference* has the same layers as a deepcis architecture at the same sizes, but none
of deepcis' extras: no regularisers or constraints, Keras' own (unmasked) binary
cross-entropy, no `TaskMetadata` layer. `bench/bench_train.py` and `bench/bench_predict.py`
time deepcis' models against it in one run; `ablations` switches deepcis' extras off one at a
time, to show where the time goes (docs/benchmarks.md).
"""

from __future__ import annotations

import time

import numpy as np

# The extras of each published model that a plain Keras model of the same layers lacks, as
# hyperparameter overrides that switch them off (only the builders with such keys have them).
EXTRA_SWITCHES = {
    "deepsea": {"l2": {"l2": 0.0}, "l1_activity": {"l1_activity": 0.0}, "max_norm": {"max_norm": 0.0}},
}


def plain_hyperparameters(architecture: str) -> dict:
    """Overrides that build `architecture` without regularisers or constraints."""
    overrides = {}
    for switch in EXTRA_SWITCHES.get(architecture, {}).values():
        overrides |= switch
    return overrides


def build(architecture: str, window_length: int, n_tasks: int, hyperparameters: dict | None = None,
          metadata: bool = True):  # fmt: skip
    """A deepcis model (with its task metadata layer unless `metadata` is False)."""
    from . import keras_objects, models

    model = models.build_model(architecture, window_length, n_tasks, hyperparameters)
    if metadata:
        model = keras_objects.with_metadata(model, [f"t{i}" for i in range(n_tasks)], window_length)
    return model


def compile_model(model, optimizer: str, masked_loss: bool = True, jit_compile: bool = False):
    """Compile as `train_model` does (masked BCE) or with Keras' plain BCE."""
    import keras

    from .keras_objects import loss_for_head
    from .training import _optimizer

    loss = loss_for_head("sigmoid") if masked_loss else keras.losses.BinaryCrossentropy()
    model.compile(optimizer=_optimizer(optimizer, 1e-3), loss=loss, jit_compile=jit_compile)
    return model


def variants(architecture: str, window_length: int, n_tasks: int, optimizer: str, ablate: bool = False,
             hyperparameters: dict | None = None) -> dict:  # fmt: skip
    """{name: compiled model}: "deepcis" (the default recipe), "plain" (the reference) and,
    with `ablate`, deepcis with one extra switched off per entry ("no <extra>")."""
    hp = dict(hyperparameters or {})
    out = {"deepcis": compile_model(build(architecture, window_length, n_tasks, hp), optimizer)}
    if ablate:
        for name, switch in EXTRA_SWITCHES.get(architecture, {}).items():
            out[f"no {name}"] = compile_model(build(architecture, window_length, n_tasks, hp | switch), optimizer)
        out["no masked loss"] = compile_model(build(architecture, window_length, n_tasks, hp), optimizer,
                                              masked_loss=False)  # fmt: skip
        out["no metadata layer"] = compile_model(build(architecture, window_length, n_tasks, hp, metadata=False),
                                                 optimizer)  # fmt: skip
    plain = build(architecture, window_length, n_tasks, hp | plain_hyperparameters(architecture), metadata=False)
    out["plain"] = compile_model(plain, optimizer, masked_loss=False)
    return out


def random_batches(n_batches: int, batch_size: int, window_length: int, n_tasks: int, seed: int = 0):
    """In-memory (x float32 one-hot, y float32 0/1 at 5% positives) batches."""
    rng = np.random.default_rng(seed)
    eye = np.eye(4, dtype=np.float32)
    return [(eye[rng.integers(0, 4, (batch_size, window_length))],
             (rng.random((batch_size, n_tasks)) < 0.05).astype(np.float32)) for _ in range(n_batches)]  # fmt: skip


def write_random_dataset(path, n: int, window_length: int, n_tasks: int, seed: int = 0) -> None:
    """A deepcis HDF5 split of `n` random windows (5% positives), written in blocks."""
    from . import dataset

    rng = np.random.default_rng(seed)
    attrs = {"genome": "bench", "genome_sha256": "-", "label_mode": "deepsea", "split": "train", "config_sha256": "-"}
    with dataset.create_dataset(path, n, window_length, [f"t{i}" for i in range(n_tasks)], attrs) as f:
        for lo in range(0, n, 1024):
            m = min(1024, n - lo)
            x = np.eye(4, dtype=np.uint8)[rng.integers(0, 4, (m, window_length))]
            y = (rng.random((m, n_tasks)) < 0.05).astype(np.uint8)
            dataset.write_rows(f, lo, x, y, ["chr1"] * m, np.arange(lo, lo + m), np.arange(lo, lo + m) + window_length)


def time_steps(models: dict, batches, rounds: int = 3, predict: bool = False) -> dict:
    """{name: best samples/s over `rounds`}, the models timed in turn within each round (so
    drift on a shared machine hits all alike). Each model runs one step first (tracing)."""
    n = sum(len(x) for x, _ in batches)
    for model in models.values():
        x, y = batches[0]
        model.predict_on_batch(x) if predict else model.train_on_batch(x, y)
    best = {name: 0.0 for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            for x, y in batches:
                model.predict_on_batch(x) if predict else model.train_on_batch(x, y)
            best[name] = max(best[name], n / (time.perf_counter() - start))
    return best
