"""The train stage: HDF5 splits -> a trained Keras model folder.

`train_model` streams batches from HDF5 (deepcis.batches) into `model.fit` through tf.data,
with early stopping on validation loss, ReduceLROnPlateau-style learning-rate decay,
best-checkpoint saving, per-epoch history and resume: after every epoch the full training
state (model with optimizer state, callback counters, history) is written atomically, and a
rerun with the same configuration continues from the last completed epoch.

Transfer learning (`transfer`, see deepcis.transfer and docs/transfer.md): the model starts
from a trained model's body with a new output head for its own tasks, part of the body
frozen, its own learning rate; an optional second stage unfreezes everything and continues
with a lower rate. `tasks` trains on some of the dataset's tasks; `fraction` (training key)
on a seeded subset of the training windows.

Devices: every visible GPU is used (MirroredStrategy when more than one); without a GPU it
runs on the CPU and says so. `cpu_devices` > 1 splits the CPU into logical devices so the
multi-device path can be exercised without GPUs.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from . import __version__
from .batches import BatchConfig, HDF5Batches
from .errors import ConfigError, InputError, TrainingDivergedError
from .io_utils import atomic_path, canonical_json, package_versions, write_json

log = logging.getLogger(__name__)

TRAIN_DEFAULTS = {
    "epochs": 20,
    "batch_size": 64,
    "learning_rate": 1e-3,
    "optimizer": "adam",
    "early_stopping_patience": 4,
    "lr_plateau_patience": 2,
    "lr_plateau_factor": 0.5,
    "min_learning_rate": 1e-6,
    "reverse_complement": True,
    "shift": 0,
    "class_weight": "none",
    "shuffle_block_rows": 256,
    "shuffle_buffer_blocks": 32,
    "in_memory_max_mb": 2048,
    "devices": "auto",
    "cpu_devices": 1,
    "mixed_precision": False,
    "xla": False,
    "deterministic": True,
    "head": "sigmoid",
    "fraction": 1.0,
    "divergence_factor": 3.0,
    "divergence_epochs": 2,
}
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
# training key mixed_precision -> Keras dtype policy (true = float16, the GPU default; bfloat16
# needs no loss scaling and suits recent GPUs and CPUs with AMX/AVX512-BF16)
PRECISION_POLICIES = {False: "float32", True: "mixed_float16", "float16": "mixed_float16", "bfloat16": "mixed_bfloat16"}


def configure_runtime(threads: int, seed: int, deterministic: bool = True, cpu_devices: int = 1,
                      mixed_precision: bool | str = False) -> None:  # fmt: skip
    """Process-wide TensorFlow settings; must run before TensorFlow touches a device."""
    import keras
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(max(1, int(threads)))
        tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, int(threads))))
        if cpu_devices > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(cpu_devices))
    except RuntimeError as error:  # TensorFlow already ran in this process (a notebook, a test session)
        log.warning("TensorFlow is already initialised in this process; keeping its thread and device settings (%s)", error)
    keras.utils.set_random_seed(int(seed))
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # an earlier run in this process (a notebook, a test session) may have turned it on
        from tensorflow.python.framework import config as tf_config

        if tf_config.is_op_determinism_enabled():
            tf_config.disable_op_determinism()
    keras.mixed_precision.set_global_policy(PRECISION_POLICIES[mixed_precision])


def select_strategy(devices: str = "auto", cpu_devices: int = 1):
    """(strategy, description). GPUs: all of them; else CPU (split if cpu_devices > 1)."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if devices == "gpu" and not gpus:
        log.warning("!" * 72)
        log.warning("GPU training was requested (devices: gpu) but no GPU is visible: training on the CPU.")
        log.warning("Check CUDA_VISIBLE_DEVICES, the driver and the GPU build of TensorFlow (envs/train-gpu.yaml).")
        log.warning("!" * 72)
    if gpus and devices != "cpu":
        names = [d.name for d in gpus]
        strategy = tf.distribute.MirroredStrategy(names) if len(gpus) > 1 else tf.distribute.get_strategy()
        return strategy, {"kind": "GPU", "devices": names, "replicas": len(names)}
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if cpu_devices > 1 and len(cpus) > 1:
        return tf.distribute.MirroredStrategy(cpus), {"kind": "CPU", "devices": cpus, "replicas": len(cpus)}
    log.info("no GPU visible: training on the CPU")
    return tf.distribute.get_strategy(), {"kind": "CPU", "devices": cpus[:1], "replicas": 1}


def resolve_training(overrides: dict | None) -> dict:
    """Training settings: the defaults updated with `overrides`; ConfigError for unknown keys or values."""
    cfg = dict(TRAIN_DEFAULTS)
    unknown = set(overrides or {}) - set(cfg)
    if unknown:
        raise ConfigError(f"unknown training key(s) {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update(overrides or {})
    if cfg["optimizer"] not in OPTIMIZERS:
        raise ConfigError(f"training key optimizer: {cfg['optimizer']!r} is not one of {OPTIMIZERS}")
    _check_class_weight(cfg["class_weight"])
    if not (isinstance(cfg["shift"], int) and cfg["shift"] >= 0):
        raise ConfigError(f"training key shift: {cfg['shift']!r} is not an integer >= 0")
    if cfg["mixed_precision"] not in PRECISION_POLICIES:
        raise ConfigError(f"training key mixed_precision: {cfg['mixed_precision']!r} is not one of false, true, "
                          "float16, bfloat16")  # fmt: skip
    if not 0 < cfg["fraction"] <= 1:
        raise ConfigError(f"training key fraction: {cfg['fraction']!r} is not in (0, 1]")
    return cfg


def _check_class_weight(class_weight):
    """'none', 'balanced', or {task: 'balanced' or a number > 0} (ConfigError otherwise)."""
    if isinstance(class_weight, dict):
        for task, weight in class_weight.items():
            number = isinstance(weight, (int, float)) and not isinstance(weight, bool)
            if not (weight == "balanced" or (number and weight > 0)):
                raise ConfigError(f"training key class_weight.{task}: {weight!r} is not 'balanced' or a number > 0")
    elif class_weight not in ("none", "balanced"):
        raise ConfigError(f"training key class_weight: {class_weight!r} is not 'none', 'balanced' or a mapping "
                          "of task to weight")  # fmt: skip


def positive_weights(class_weight, tasks: list[str], positives, seen, known: list[str] | None = None) -> list[float] | None:
    """Each task's weight of its positives in the loss (None: unweighted). 'balanced' weighs a
    task's positives by its negatives / positives; a mapping weighs the tasks it names (by a
    number, or 'balanced') and leaves the others at 1, so one rare task can be weighted up
    without reweighting the rest. A mapping may name `known` tasks (the data file's) that this
    model does not train (prepare dropped them, or a per-task member); any other is refused."""
    if class_weight == "none":
        return None
    balanced = [float((n - p) / p) if p > 0 else 1.0 for p, n in zip(positives, seen)]
    if class_weight == "balanced":
        return balanced
    unknown = [t for t in class_weight if t not in set(tasks) | set(known or ())]
    if unknown:
        raise ConfigError(f"training key class_weight: {unknown} are not tasks of this model ({tasks})")
    return [float(b if class_weight.get(t) == "balanced" else class_weight.get(t, 1.0)) for t, b in zip(tasks, balanced)]


def resolve_transfer(transfer: dict | None) -> dict | None:
    """Defaults of a `transfer` block: freeze none, learning rate 1e-4, no second stage."""
    if not transfer:
        return None
    from .transfer import check_freeze

    out = {"freeze": "none", "learning_rate": 1e-4, "unfreeze": None} | dict(transfer)
    if "source" not in out:
        raise ConfigError("transfer: no source (a model of this config or a model folder)")
    check_freeze(out["freeze"])
    if out["unfreeze"]:
        out["unfreeze"] = {"learning_rate": 1e-5} | dict(out["unfreeze"])
        if int(out["unfreeze"].get("epochs", 0)) < 1:
            raise ConfigError("transfer.unfreeze.epochs: must be at least 1")
    return out


def _multimodal_specs(tasks: list[str], task_specs: dict | None) -> list[dict] | None:
    """Per-task {type, loss, weight} in output order when the model needs a multi-modal head
    and loss (a signal task, or a task weight other than 1); None for the plain binary model."""
    if not task_specs:
        return None
    missing = [t for t in tasks if t not in task_specs]
    if missing:
        raise ConfigError(f"task_specs lack task(s) {missing}")
    specs = [{"type": "binary", "loss": "bce", "weight": 1.0} | dict(task_specs[t]) for t in tasks]
    if all(s["type"] == "binary" and s["loss"] == "bce" and float(s["weight"]) == 1.0 for s in specs):
        return None
    return [{"task": t, "type": s["type"], "loss": s["loss"], "weight": float(s["weight"])} for t, s in zip(tasks, specs)]


def multimodal_head_and_loss(model, tasks, window_length, specs: list[dict], pos_weight=None):
    """Replace a built model's output head with a per-task one (sigmoid for bce, linear for
    mse, softplus for poisson) and return it with the weighted MultiModalLoss."""
    import keras

    from .heads import LOSS_ACTIVATION
    from .keras_objects import MultiModalLoss, output_head, with_metadata

    features = model.get_layer("output").input
    head = output_head(features, len(tasks), [LOSS_ACTIVATION[s["loss"]] for s in specs], name="output")
    model = with_metadata(keras.Model(model.inputs, head, name=model.name), tasks, window_length)
    loss = MultiModalLoss([s["loss"] for s in specs], [s["weight"] for s in specs], pos_weight=pos_weight)
    return model, loss


def check_compatible(train: HDF5Batches, other: HDF5Batches):
    """InputError unless `other` has the training split's tasks and window length."""
    if other.tasks != train.tasks:
        raise InputError(other.path, f"tasks {other.tasks[:5]}... differ from the training file's {train.tasks[:5]}...")
    if other.window_length != train.window_length:
        raise InputError(other.path, f"window length {other.window_length} differs from the training file's {train.window_length}")


def tf_dataset(batches: HDF5Batches, epoch_of):
    """tf.data over the numpy batches; `epoch_of()` gives the epoch whose order to use.

    The generator yields base codes (a quarter of the bytes of one-hot); `tf.one_hot` expands
    them in the pipeline (code 4, N, is out of its range and so the all-zero row), giving the
    same uint8 (B, L, 4) batches as `HDF5Batches.iterate`.
    """
    import tensorflow as tf

    spec = (
        tf.TensorSpec((None, batches.window_length), tf.uint8),
        tf.TensorSpec((None, len(batches.tasks)), tf.float32),
    )
    ds = tf.data.Dataset.from_generator(lambda: batches.iterate_codes(epoch_of()), output_signature=spec)
    ds = ds.map(lambda codes, y: (tf.one_hot(codes, 4, dtype=tf.uint8), y), num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True)  # fmt: skip
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(batches)))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(2)


def _optimizer(name: str, learning_rate: float):
    import keras

    return {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "sgd": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True),
        "rmsprop": keras.optimizers.RMSprop,
    }[name](learning_rate=learning_rate)


def _make_monitor(out_dir: Path, resume_dir: Path, cfg: dict, fingerprint: str, state: dict):
    import keras

    class TrainingMonitor(keras.callbacks.Callback):
        """Early stopping, LR decay on plateau, best checkpoint, history and resume state."""

        def __init__(self):
            super().__init__()
            self.state = state
            self.epoch_start = 0.0
            self.current_epoch = state["epoch"]

        def on_epoch_begin(self, epoch, logs=None):
            self.current_epoch = epoch
            self.epoch_start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            loss = float((logs or {}).get("loss", np.nan))
            if self.state.get("initial_loss") is None and np.isfinite(loss):
                self.state["initial_loss"] = loss  # the first batch's loss: the untrained model's
            if not np.isfinite(loss):
                self._diverged(f"the training loss became {loss} at epoch {self.current_epoch + 1}, batch {batch + 1}")

        def _diverged(self, what: str):
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            (out_dir / "best.keras").unlink(missing_ok=True)
            raise TrainingDivergedError(
                f"{out_dir}: training diverged, so no model was saved: {what} (learning rate {lr:.3g}; the initial "
                f"loss was {self.state.get('initial_loss')}). Lower train.learning_rate (or the model's own), check the "
                "labels and signal targets for extreme values, or loosen train.divergence_factor / divergence_epochs"
            )

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            s = self.state
            val_loss = float(logs.get("val_loss", np.nan))
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            loss, start, factor = float(logs.get("loss", np.nan)), s.get("initial_loss"), cfg["divergence_factor"]
            if not np.isfinite(loss):
                self._diverged(f"the training loss of epoch {epoch + 1} is {loss}")
            growing = factor is not None and start is not None and loss > factor * start
            s["diverging_epochs"] = s.get("diverging_epochs", 0) + 1 if growing else 0
            if s["diverging_epochs"] >= cfg["divergence_epochs"]:
                self._diverged(f"the training loss ({loss:.4g} at epoch {epoch + 1}) stayed above {factor} x its "
                               f"start ({start:.4g}) for {s['diverging_epochs']} epoch(s)")  # fmt: skip
            seconds = time.perf_counter() - self.epoch_start
            s["history"].append({"epoch": epoch + 1, "loss": float(logs.get("loss", np.nan)), "val_loss": val_loss,
                                 "learning_rate": lr, "seconds": seconds,
                                 "samples_per_second": s["train_rows"] / seconds if seconds > 0 else np.nan,
                                 "stage": int(s.get("stage", 1))})  # fmt: skip
            if np.isfinite(val_loss) and val_loss < s["best_val_loss"] - 1e-6:
                s.update(best_val_loss=val_loss, best_epoch=epoch + 1, wait=0, lr_wait=0)
                save_model_atomic(self.model, out_dir / "best.keras")
            else:
                s["wait"] += 1
                s["lr_wait"] += 1
                if s["lr_wait"] >= cfg["lr_plateau_patience"] and lr > cfg["min_learning_rate"]:
                    new_lr = max(lr * cfg["lr_plateau_factor"], cfg["min_learning_rate"])
                    self.model.optimizer.learning_rate.assign(new_lr)
                    s["lr_wait"] = 0
                    log.info("epoch %d: validation loss did not improve for %d epochs; learning rate %.3g -> %.3g",
                             epoch + 1, cfg["lr_plateau_patience"], lr, new_lr)  # fmt: skip
                if s["wait"] >= cfg["early_stopping_patience"]:
                    log.info("epoch %d: early stopping (best epoch %d, val_loss %.5f)", epoch + 1, s["best_epoch"], s["best_val_loss"])
                    s["stopped_early"] = True
                    self.model.stop_training = True
            s["epoch"] = epoch + 1
            log.info("epoch %d: loss %.5f val_loss %.5f lr %.3g (%.1f s, %.1f samples/s)", epoch + 1,
                     s["history"][-1]["loss"], val_loss, lr, seconds, s["history"][-1]["samples_per_second"])  # fmt: skip
            self._save_resume_state()

        def _save_resume_state(self):
            resume_dir.mkdir(parents=True, exist_ok=True)
            save_model_atomic(self.model, resume_dir / "last.keras")
            write_json(self.state | {"fingerprint": fingerprint, "random_states": random_states(self.model)},
                       resume_dir / "state.json")  # fmt: skip

    return TrainingMonitor()


def _seed_generators(model, create_global: bool = False) -> dict:
    """Every Keras `SeedGenerator` a model draws from while training (dropout, recurrent
    dropout, noise), by layer name and position, plus Keras' global one where it exists."""
    from keras.src.backend.common import global_state
    from keras.src.random.seed_generator import global_seed_generator

    generators = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for i, generator in enumerate(getattr(layer, "_seed_generators", ())):
            generators[f"{layer.name}/{i}"] = generator
    if create_global or global_state.get_global_attribute("global_seed_generator") is not None:
        generators["(global)"] = global_seed_generator()
    return generators


def random_states(model) -> dict:
    """The state of every random generator of `model` (`_seed_generators`). Keras'
    `Layer.save_own_variables` leaves them out of `.keras` files, so a model loaded for resume
    would draw new dropout masks; the resume state saves them beside the model instead."""
    import keras

    return {key: [int(v) for v in keras.ops.convert_to_numpy(g.state.value)] for key, g in _seed_generators(model).items()}


def restore_random_states(model, states: dict) -> None:
    """Put back the generator states saved by `random_states` into the same model, loaded."""
    import keras

    generators = _seed_generators(model, create_global="(global)" in states)
    differ = sorted(set(states) ^ set(generators))
    if differ:
        raise RuntimeError(f"resume state and model differ in their random generators: {differ}")
    for key, value in states.items():
        state = generators[key].state
        state.assign(keras.ops.convert_to_tensor(value, dtype=state.dtype))


def save_model_atomic(model, path: Path):
    """`keras_objects.save_model` (reproducible bytes) to a temp name, renamed into place."""
    from .keras_objects import save_model

    with atomic_path(path, suffix=".keras") as tmp:  # Keras wants the .keras suffix
        save_model(model, tmp)


def _load_resume(resume_dir: Path, fingerprint: str):
    state_path = resume_dir / "state.json"
    if not state_path.is_file() or not (resume_dir / "last.keras").is_file():
        return None
    state = json.loads(state_path.read_text())
    if state.get("fingerprint") != fingerprint:
        log.warning("ignoring resume state in %s: it was made with another configuration or data", resume_dir)
        return None
    return state


def split_batches(train_path, valid_path, cfg: dict, seed: int, tasks: list[str] | None = None):
    """The training loader (shuffled; reverse-complement and shift augmentation as `cfg`, a
    resolved training section, says) and the validation loader (file order, never augmented:
    the centre windows, as evaluation sees them)."""
    batch_cfg = dict(batch_size=cfg["batch_size"], block_rows=cfg["shuffle_block_rows"], buffer_blocks=cfg["shuffle_buffer_blocks"],
                     in_memory_bytes=int(cfg["in_memory_max_mb"] * 2**20), seed=seed)  # fmt: skip
    train = HDF5Batches(train_path, BatchConfig(**batch_cfg, shuffle=True, reverse_complement=cfg["reverse_complement"], shift=cfg["shift"]),
                        tasks=tasks, fraction=cfg["fraction"])  # fmt: skip
    valid = HDF5Batches(valid_path, BatchConfig(**batch_cfg, shuffle=False), tasks=tasks)
    check_compatible(train, valid)
    return train, valid


def train_model(
    train_path,
    valid_path,
    out_dir,
    model_name: str,
    architecture: str,
    hyperparameters: dict | None,
    training: dict | None,
    seed: int,
    threads: int = 2,
    resume_dir=None,
    tasks: list[str] | None = None,
    transfer: dict | None = None,
    task_specs: dict | None = None,
) -> dict:
    """Train one model; writes model.keras, model.json, history.tsv into `out_dir`.

    `tasks`: train on these of the dataset's tasks (default all). `transfer`: {"source": a
    model folder or .keras file, "freeze", "learning_rate", "unfreeze": {"epochs",
    "learning_rate"} or None} (deepcis.transfer); `architecture` and `hyperparameters` are
    then the source's (read from its model.json where not given). `task_specs`: {task: {"type":
    binary|signal, "loss": bce|mse|poisson, "weight"}} from the tasks sheet; with a signal task
    or a weight other than 1 the model gets a multi-modal head and loss (multimodal_head_and_loss).
    """
    cfg = resolve_training(training)
    transfer = resolve_transfer(transfer)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resume_dir = Path(resume_dir) if resume_dir else out_dir.with_name(out_dir.name + ".resume")
    configure_runtime(threads, seed, cfg["deterministic"], cfg["cpu_devices"], cfg["mixed_precision"])
    import keras

    from . import keras_objects, models, penalties

    train, valid = split_batches(train_path, valid_path, cfg, seed, tasks)
    transfer_info = None
    if transfer is not None:
        from . import transfer as transfer_lib
        from .io_utils import sha256_file

        source_file = transfer_lib.source_model_file(transfer["source"])
        source_info = transfer_lib.read_source_info(source_file) or {}
        if source_info:  # checked before the model loads; checked again from the model's own metadata
            transfer_lib.check_source(source_file, source_info["tasks"], source_info["window_length"], train_path,
                                      train.file_tasks, train.window_length, train.tasks)  # fmt: skip
        architecture = architecture or source_info.get("architecture", "unknown")
        hyperparameters = hyperparameters or source_info.get("hyperparameters", {})
        transfer_info = dict(transfer, source=str(transfer["source"]), source_file=str(source_file),
                             source_sha256=sha256_file(source_file))  # fmt: skip
        hp = dict(hyperparameters)
    else:
        hp = models.resolve_hyperparameters(architecture, train.window_length, len(train.tasks), hyperparameters)
    fingerprint = canonical_json({"architecture": architecture, "hp": hp, "training": cfg, "seed": seed, "tasks": train.tasks,
                                  "data": [_data_id(train_path), _data_id(valid_path)], "version": __version__,
                                  "transfer": transfer_info,
                                  "task_specs": _multimodal_specs(train.tasks, task_specs)})  # fmt: skip
    multimodal = _multimodal_specs(train.tasks, task_specs)
    pos, seen = train.label_counts()
    if (pos == 0).any():
        log.warning("task(s) without positives in the training split: %s", [t for t, p in zip(train.tasks, pos) if p == 0])
    pos_weight = positive_weights(cfg["class_weight"], train.tasks, pos, seen, known=train.file_tasks)
    if pos_weight is not None:
        if multimodal is not None:  # signal tasks: no class weight
            pos_weight = [w if s["loss"] == "bce" else 1.0 for w, s in zip(pos_weight, multimodal)]

    strategy, device_info = select_strategy(cfg["devices"], cfg["cpu_devices"])
    log.info("devices: %s %s (%d replica(s)); batches from %s (%s)", device_info["kind"], device_info["devices"],
             device_info["replicas"], train_path, "in memory" if train.in_memory else "streamed from HDF5")  # fmt: skip
    state = _load_resume(resume_dir, fingerprint)
    with strategy.scope():
        if state is not None:
            log.info("resuming after epoch %d from %s", state["epoch"], resume_dir)
            model = keras_objects.load_model(resume_dir / "last.keras")
            restore_random_states(model, state.pop("random_states", {}))
        else:
            if transfer is not None:
                source = keras_objects.load_model(source_file)
                meta = keras_objects.model_metadata(source)
                transfer_info |= transfer_lib.check_source(source_file, meta["tasks"], meta["window_length"], train_path,
                                                           train.file_tasks, train.window_length, train.tasks)  # fmt: skip
                model, frozen = transfer_lib.transfer_model(source, train.tasks, train.window_length, cfg["head"],
                                                            transfer["freeze"])  # fmt: skip
                transfer_info["frozen_layers"] = frozen
                log.info("transfer from %s: body of %d layers, %d frozen (%s); new head for %s", source_file,
                         len(transfer_lib.body_layers(model)), len(frozen), transfer["freeze"], train.tasks)  # fmt: skip
            else:
                model = models.build_model(architecture, train.window_length, len(train.tasks), hp, head=cfg["head"])
                model = keras_objects.with_metadata(model, train.tasks, train.window_length)
            loss = keras_objects.loss_for_head(cfg["head"])
            if pos_weight is not None and cfg["head"] == "sigmoid":
                loss = keras_objects.MaskedBinaryCrossentropy(pos_weight=pos_weight)
            if multimodal is not None:
                model, loss = multimodal_head_and_loss(model, train.tasks, train.window_length, multimodal, pos_weight)
            learning_rate = transfer["learning_rate"] if transfer is not None else cfg["learning_rate"]
            model.compile(optimizer=_optimizer(cfg["optimizer"], learning_rate), loss=loss, jit_compile=bool(cfg["xla"]))
            state = {"epoch": 0, "best_val_loss": float("inf"), "best_epoch": 0, "wait": 0, "lr_wait": 0, "history": [],
                     "stopped_early": False, "stage": 1, "stage2_start": None, "transfer": transfer_info}  # fmt: skip
    penalties.for_xla(model, bool(cfg["xla"]))  # XLA lacks the fused max-norm's kernel
    state["train_rows"] = train.n
    transfer_info = state.get("transfer", transfer_info)
    monitor = _make_monitor(out_dir, resume_dir, cfg, fingerprint, state)

    def fit(epochs):
        model.fit(
            tf_dataset(train, lambda: monitor.current_epoch),
            validation_data=tf_dataset(valid, lambda: 0),
            epochs=epochs,
            initial_epoch=state["epoch"],
            callbacks=[monitor],
            shuffle=False,  # the batches are shuffled by deepcis.batches
            verbose=0,
        )

    if state.get("stage", 1) == 1 and state["epoch"] < cfg["epochs"] and not state["stopped_early"]:
        fit(cfg["epochs"])
    best_path = out_dir / "best.keras"
    unfreeze = (transfer or {}).get("unfreeze")
    if unfreeze and state.get("stage", 1) == 1:
        # stage 2: from the best weights of stage 1, every layer trainable, a lower learning rate
        if best_path.is_file():
            best = keras_objects.load_model(best_path)
            for layer in model.layers:
                layer.set_weights(best.get_layer(layer.name).get_weights())
        transfer_lib.unfreeze_all(model)
        with strategy.scope():
            model.compile(optimizer=_optimizer(cfg["optimizer"], unfreeze["learning_rate"]), loss=model.loss,
                          jit_compile=bool(cfg["xla"]))  # fmt: skip
        state.update(stage=2, stage2_start=state["epoch"], wait=0, lr_wait=0, stopped_early=False)
        log.info("stage 2: every layer trainable, learning rate %.3g, up to %d epochs", unfreeze["learning_rate"],
                 unfreeze["epochs"])  # fmt: skip
    if unfreeze and state["stage"] == 2 and not state["stopped_early"]:
        end = state["stage2_start"] + int(unfreeze["epochs"])
        if state["epoch"] < end:
            fit(end)
    if not best_path.is_file():
        raise TrainingDivergedError(f"{out_dir}: training finished without a finite validation loss, so no model "
                                    "was saved; check the validation split's labels and the learning rate")
    with atomic_path(out_dir / "model.keras") as tmp:
        shutil.copyfile(best_path, tmp)
    history = state["history"]
    with atomic_path(out_dir / "history.tsv") as tmp:
        _write_history(history, tmp)
    info = {
        "name": model_name,
        "architecture": architecture,
        "tasks": train.tasks,
        "window_length": train.window_length,
        "encoding": "one-hot, channels A C G T; N and other IUPAC codes all-zero; uint8 input",
        "head": cfg["head"],
        "hyperparameters": hp,
        "parameters": int(model.count_params()),
        "training": cfg,
        "seed": seed,
        "best_epoch": state["best_epoch"],
        "best_val_loss": state["best_val_loss"],
        "epochs_run": state["epoch"],
        "stopped_early": state["stopped_early"],
        "train_seconds": sum(h["seconds"] for h in history),
        "devices": device_info,
        "batches": {"train": "in memory" if train.in_memory else "streamed", "train_rows": train.n, "valid_rows": valid.n},
        "class_weight_pos": pos_weight,
        "train_fraction": cfg["fraction"],
        "task_specs": multimodal,
        "transfer": transfer_info,
        "positives_per_task": {t: (None if multimodal and multimodal[i]["type"] == "signal" else int(p))
                               for i, (t, p) in enumerate(zip(train.tasks, pos))},  # fmt: skip
        "data": {"train": _data_id(train_path), "valid": _data_id(valid_path)},
        "versions": package_versions(("numpy", "h5py")) | {"tensorflow": _tf_version(), "keras": keras.__version__,
                                                             "deepcis": __version__},  # fmt: skip
    }
    write_json(info, out_dir / "model.json")
    train.close()
    valid.close()
    # the resume state goes before the best checkpoint: a run killed in between resumes after
    # its last epoch and copies that checkpoint again (no epoch left to make it)
    shutil.rmtree(resume_dir, ignore_errors=True)
    best_path.unlink()
    return info


def _tf_version() -> str:
    import tensorflow as tf

    return tf.__version__


def _data_id(path) -> dict:
    """What identifies a dataset file cheaply: its provenance attributes and size."""
    import h5py

    with h5py.File(path, "r", locking=False) as f:
        return {"path": str(path), "rows": int(f["x"].shape[0]), "config_sha256": str(f.attrs.get("config_sha256", "")),
                "genome_sha256": str(f.attrs.get("genome_sha256", "")), "split": str(f.attrs.get("split", ""))} | {
                    k: str(f.attrs[k]) for k in ("cv_fold", "cv_assignment_sha256") if k in f.attrs}  # fmt: skip


def _write_history(history: list[dict], path):
    columns = ["epoch", "loss", "val_loss", "learning_rate", "seconds", "samples_per_second", "stage"]
    with open(path, "w") as handle:
        handle.write("\t".join(columns) + "\n")
        for row in history:
            row = {"stage": 1} | row
            handle.write("\t".join(f"{row[c]:.6g}" if isinstance(row[c], float) else str(row[c]) for c in columns) + "\n")


def overfit_one_batch(
    train_path,
    architecture: str,
    hyperparameters: dict | None,
    training: dict | None,
    seed: int,
    threads: int = 2,
    batch_size: int = 32,
    max_steps: int = 500,
    tasks: list[str] | None = None,
    target_loss: float = 0.05,
    task_specs: dict | None = None,
) -> dict:
    """Train a fresh model on one batch; raise unless the loss falls below `target_loss`.

    The standard check that the model, loss and data pipeline can learn at all, run before
    a long training job. Dropout stays on, as in training.
    """
    cfg = resolve_training(training)
    configure_runtime(threads, seed, cfg["deterministic"], 1, False)
    import keras

    from . import keras_objects, models

    batches = HDF5Batches(train_path, BatchConfig(batch_size=batch_size, shuffle=False, in_memory_bytes=0, seed=seed), tasks=tasks)
    try:
        x, y = next(iter(batches.iterate(0)))
        tasks, window_length = batches.tasks, batches.window_length
    finally:
        batches.close()
    model = models.build_model(architecture, window_length, len(tasks), hyperparameters, head=cfg["head"])
    loss = keras_objects.loss_for_head(cfg["head"])
    multimodal = _multimodal_specs(tasks, task_specs)
    if multimodal is not None:
        model, loss = multimodal_head_and_loss(model, tasks, window_length, multimodal)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=loss)
    first = loss = float(model.train_on_batch(x, y))
    regression = multimodal is not None and any(s["loss"] != "bce" for s in multimodal)
    if regression:
        # signal targets under dropout leave an irreducible squared error that scales with the
        # targets: there, 2% of the initial loss also passes, and so does the loss with dropout
        # off (inference mode, checked every 25 steps)
        target_loss = max(target_loss, 0.02 * first)
    steps = 0
    while steps < max_steps and loss > target_loss:
        loss = float(model.train_on_batch(x, y))
        steps += 1
        if regression and steps % 25 == 0:
            loss = min(loss, float(model.test_on_batch(x, y)))
    result = {"architecture": architecture, "batch_size": int(len(x)), "initial_loss": first, "final_loss": loss,
              "steps": steps, "target_loss": target_loss, "passed": loss <= target_loss}  # fmt: skip
    if not result["passed"]:
        raise RuntimeError(
            f"overfit_one_batch: {architecture} did not fit a single batch of {len(x)} windows: loss {first:.4f} -> "
            f"{loss:.4f} after {steps} steps (target <= {target_loss}). The model, the loss or the data "
            "pipeline is broken, or the model is too small to memorise a batch."
        )
    return result


def train_job(smk) -> dict:
    """Train the model of a training rule (train_model, cv_train, sweep_train) from its
    Snakemake object: inputs train/valid, outputs model/history/curves, params spec, seed,
    resume_dir, tasks, task_specs, source. Returns model.json's record."""
    from . import plots

    spec = smk.params.spec
    info = train_model(
        smk.input.train, smk.input.valid, Path(smk.output.model).parent, model_name=smk.wildcards.model,
        architecture=spec["architecture"], hyperparameters=spec["hyperparameters"], training=spec["train"],
        seed=smk.params.seed, threads=smk.threads, resume_dir=smk.params.resume_dir, tasks=smk.params.tasks,
        task_specs=smk.params.task_specs,
        transfer=(spec["transfer"] | {"source": smk.params.source}) if spec.get("transfer") else None,
    )  # fmt: skip
    plots.training_curves(smk.output.history, smk.wildcards.model, smk.output.curves)
    return info
