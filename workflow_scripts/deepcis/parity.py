"""Plain reference models and step timing, for the training/inference parity benchmark.

A *plain reference* has the same layers as a deepcis architecture at the same sizes, but none
of deepcis' extras: no regularisers or constraints, Keras' own (unmasked) binary
cross-entropy, no `TaskMetadata` layer. `bench/bench_train.py` and `bench/bench_predict.py`
time deepcis' models against it in one run; `variants` switches deepcis' extras off one at a
time (ablate) or adds them to the plain model one at a time (add_one), to show where the time
goes (docs/benchmarks.md).
"""

from __future__ import annotations

import time

import numpy as np

# The extras of each published model that a plain Keras model of the same layers lacks, as
# hyperparameter overrides that switch them off (only the builders with such keys have them).
EXTRA_SWITCHES = {
    "deepsea": {"l2": {"l2": 0.0}, "l1_activity": {"l1_activity": 0.0}, "max_norm": {"max_norm": 0.0}},
}

# The extras computed by deepcis.penalties (the rest are layers or losses of their own).
PENALTY_EXTRAS = ("l2", "max_norm")


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


def with_keras_penalties(model):
    """`model` with each deepcis L2 / MaxNorm (deepcis.penalties) swapped for Keras' own of
    the same settings: deepcis' step as it was before those were fused (issue 16)."""
    import keras

    from . import penalties

    for variable in model.trainable_variables:
        if isinstance(variable.regularizer, penalties.L2):
            variable.regularizer = keras.regularizers.L2(variable.regularizer.l2)
        if isinstance(variable.constraint, penalties.MaxNorm):
            variable.constraint = keras.constraints.MaxNorm(variable.constraint.max_value, variable.constraint.axis)
    return model


def compile_model(model, optimizer: str, masked_loss: bool = True, jit_compile: bool = False):
    """Compile as `train_model` does (masked BCE) or with Keras' plain BCE."""
    import keras

    from .keras_objects import loss_for_head
    from .penalties import for_xla
    from .training import _optimizer

    loss = loss_for_head("sigmoid") if masked_loss else keras.losses.BinaryCrossentropy()
    for_xla(model, jit_compile)
    model.compile(optimizer=_optimizer(optimizer, 1e-3), loss=loss, jit_compile=jit_compile)
    return model


def variants(architecture: str, window_length: int, n_tasks: int, optimizer: str, ablate: bool = False,
             hyperparameters: dict | None = None, add_one: bool = False, keras_penalties: bool = False,
             xla: bool = False) -> dict:  # fmt: skip
    """{name: compiled model}: "deepcis" (the default recipe) and "plain" (the reference).

    `ablate` adds deepcis with one extra switched off per entry ("no <extra>"); `add_one` adds
    the plain model with one extra switched on per entry ("+ <extra>"), the extra at deepcis'
    value (the architecture's default or `hyperparameters`'). Extras: the architecture's own
    (EXTRA_SWITCHES), the masked loss and the metadata layer. `keras_penalties` adds, where the
    architecture has L2 / max-norm, deepcis (and with `add_one` each such "+ <extra>") with
    Keras' own L2 and MaxNorm instead of deepcis.penalties' ("... [Keras' penalties]"): the
    step before and after issue 16's fix, in one run. `xla` adds deepcis and the plain model
    compiled with XLA (`train.xla`): "deepcis [XLA]", "plain [XLA]".
    """
    hp = dict(hyperparameters or {})
    off = plain_hyperparameters(architecture)

    def make(hp_, masked_loss=True, metadata=True, keras_ones=False, jit_compile=False):
        model = build(architecture, window_length, n_tasks, hp_, metadata=metadata)
        return compile_model(with_keras_penalties(model) if keras_ones else model, optimizer, masked_loss=masked_loss,
                             jit_compile=jit_compile)  # fmt: skip

    switches = EXTRA_SWITCHES.get(architecture, {})
    swappable = {name for name in switches if name in PENALTY_EXTRAS}
    out = {"deepcis": make(hp)}
    if keras_penalties and swappable:
        out["deepcis [Keras' penalties]"] = make(hp, keras_ones=True)
    if ablate:
        for name, switch in switches.items():
            out[f"no {name}"] = make(hp | switch)
        out["no masked loss"] = make(hp, masked_loss=False)
        out["no metadata layer"] = make(hp, metadata=False)
    if add_one:
        for name, switch in switches.items():
            one = hp | {k: v for k, v in off.items() if k not in switch}
            out[f"+ {name}"] = make(one, False, False)
            if keras_penalties and name in swappable:
                out[f"+ {name} [Keras' penalties]"] = make(one, False, False, keras_ones=True)
        out["+ masked loss"] = make(hp | off, masked_loss=True, metadata=False)
        out["+ metadata layer"] = make(hp | off, masked_loss=False, metadata=True)
    if xla:
        out["deepcis [XLA]"] = make(hp, jit_compile=True)
        out["plain [XLA]"] = make(hp | off, masked_loss=False, metadata=False, jit_compile=True)
    out["plain"] = make(hp | off, masked_loss=False, metadata=False)
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


def time_steps(models: dict, batches, rounds: int = 3, predict: bool = False, warm_up: bool = True) -> dict:
    """{name: best samples/s over `rounds`} (wall clock); see `time_steps_clocks`."""
    return {name: rates["wall"] for name, rates in time_steps_clocks(models, batches, rounds, predict, warm_up).items()}


def time_steps_clocks(models: dict, batches, rounds: int = 3, predict: bool = False, warm_up: bool = True) -> dict:
    """{name: {"wall": best samples/s, "cpu": best samples per CPU-second}} over `rounds`.

    The models are timed in turn within each round, in reverse order every other round (ABC
    CBA ...), so drift on a shared machine hits all alike. "cpu" counts the CPU time of this
    process (all its threads): on a machine loaded by other jobs it moves far less than the wall
    clock, since time spent waiting for a core is not counted. With `warm_up`, each model first
    runs one untimed step (tracing).
    """
    n = sum(len(x) for x, _ in batches)
    if warm_up:
        for model in models.values():
            x, y = batches[0]
            model.predict_on_batch(x) if predict else model.train_on_batch(x, y)
    best = {name: {"wall": 0.0, "cpu": 0.0} for name in models}
    for round_ in range(rounds):
        for name in list(models) if round_ % 2 == 0 else list(models)[::-1]:
            model = models[name]
            wall, cpu = time.perf_counter(), time.process_time()
            for x, y in batches:
                model.predict_on_batch(x) if predict else model.train_on_batch(x, y)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            best[name]["wall"] = max(best[name]["wall"], n / wall)
            best[name]["cpu"] = max(best[name]["cpu"], n / max(cpu, 1e-9))
    return best
