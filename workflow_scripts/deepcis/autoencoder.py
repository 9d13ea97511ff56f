"""Convolutional autoencoder of one-hot DNA (optionally variational, optionally denoising).

    model = build_autoencoder(600, resolve_hyperparameters("autoencoder", 600, 1, {}))
    info = train_autoencoder(train_h5, valid_h5, out_dir, "ae", hp, training, seed=42)
    accuracy = reconstruction_accuracy(model, x)        # argmax == input base, N rows left out
    z = embed(model, x)                                  # (N, bottleneck size) float32

Encoder: conv blocks (conv with 'same' padding, ReLU, max-pool), then a 1x1 conv to
`latent_channels`: a positional code of ceil(L / prod(pool_size)) positions (the input is
zero-padded to a multiple of the pooling). With `bottleneck` > 0 a dense layer of that many
units follows (a vector code). The code is the embedding (layer `embedding`; for the
variational model the posterior mean). Decoder: the mirror image (dense back to the
positional code, upsampling + conv blocks), a 1x1 conv with a per-position softmax over
A, C, G, T, cropped back to L. The loss is the categorical cross-entropy of the input
bases (an N row, all zero, contributes nothing); a variational model adds `kl_weight` x the
KL divergence of its Gaussian posterior from N(0, 1) per code value (the `Sampling` layer).

Denoising (`denoise`: substitute | mask): training inputs are corrupted at `noise_rate` of
their positions (a random other base, or an all-zero row), and the target is the clean
window; evaluation reports the fraction of corrupted bases restored (docs/models.md).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from .models import Param, register

log = logging.getLogger("deepcis.autoencoder")

DENOISE_MODES = ("none", "substitute", "mask")

AUTOENCODER_PARAMS = {
    "conv_filters": Param([64, 64], "int_list", "filters of each encoder conv block (the decoder mirrors them)"),
    "kernel_size": Param(9, "int", "conv kernel width ('same' padding), per block", per="conv_filters"),
    "pool_size": Param(2, "int", "max-pool width (= stride) after each encoder block; upsampling in the decoder",
                       per="conv_filters"),
    "latent_channels": Param(8, "int", "channels of the positional code (1x1 conv after the last block)"),
    "bottleneck": Param(0, "int", "0: the positional code is the bottleneck (positions x latent_channels values); "
                        "N > 0: a dense code of N units after it", minimum=0),
    "variational": Param(False, "bool", "variational autoencoder: Gaussian code, KL term, samples in training"),
    "kl_weight": Param(0.001, "float", "weight of the KL term per code value (variational only)"),
    "denoise": Param("none", "choice", "train on corrupted inputs: none, substitute (a random other base), "
                     "mask (an all-zero row)", choices=DENOISE_MODES),
    "noise_rate": Param(0.1, "rate", "fraction of positions corrupted in denoise mode"),
}  # fmt: skip


def code_shape(window_length: int, hp: dict) -> tuple[int, ...]:
    """Shape of one window's code: (positions, latent_channels), or (bottleneck,)."""
    if hp["bottleneck"] > 0:
        return (int(hp["bottleneck"]),)
    return (math.ceil(window_length / math.prod(hp["pool_size"])), int(hp["latent_channels"]))


def _check(hp, window_length, _length_left):
    size = math.prod(code_shape(window_length, hp))
    inputs = window_length * 4
    if size >= inputs:
        if hp["bottleneck"] > 0:
            return (f"hyperparameter 'bottleneck'={hp['bottleneck']} is not smaller than the input "
                    f"({window_length} bp x 4 = {inputs} values)")
        positions = code_shape(window_length, hp)[0]
        return (f"hyperparameter 'latent_channels'={hp['latent_channels']} makes a code of {positions} positions x "
                f"{hp['latent_channels']} = {size} values, not smaller than the input ({window_length} bp x 4 = "
                f"{inputs} values); pool more (pool_size) or use fewer channels")  # fmt: skip
    if math.prod(hp["pool_size"]) > window_length:
        return (f"hyperparameter 'pool_size'={hp['pool_size']} pools by {math.prod(hp['pool_size'])}, more than the "
                "window")  # fmt: skip
    return None


@register(
    "autoencoder",
    params=AUTOENCODER_PARAMS,
    check=_check,
    family="generative",
    citation="Convolutional autoencoder (Hinton GE, Salakhutdinov RR (2006) Science 313:504-507); variational: "
             "Kingma DP, Welling M (2014) Auto-encoding variational Bayes, ICLR; denoising: Vincent P et al. (2008) "
             "ICML. For DNA, e.g. the reviews of Eraslan G et al. (2019) Nat Rev Genet 20:389-403.",
    description="Conv encoder (conv, ReLU, max-pool) to a positional or dense code, mirrored decoder (upsampling, "
                "conv) to a per-position softmax over A, C, G, T.",
    defaults_note="deepcis defaults (no single publication), sized so the code reconstructs >= 95% of the example's "
                  "bases.",
)
def build_autoencoder(window_length: int, hp: dict):
    """The autoencoder (input (L, 4) -> per-position base probabilities (L, 4))."""
    import keras
    from keras import layers

    from .keras_objects import Sampling

    inputs = keras.Input(shape=(window_length, 4), dtype="float32", name="sequence")
    total = math.prod(hp["pool_size"])
    padded = math.ceil(window_length / total) * total
    x = inputs
    if padded > window_length:
        pad = padded - window_length
        x = layers.ZeroPadding1D((pad // 2, pad - pad // 2), name="pad")(x)
    for i, (f, k, p) in enumerate(zip(hp["conv_filters"], hp["kernel_size"], hp["pool_size"])):
        b = i + 1
        x = layers.Conv1D(f, k, padding="same", activation="relu", name=f"conv{b}")(x)
        x = layers.MaxPooling1D(p, name=f"pool{b}")(x)
    positions = padded // total
    code_name = "embedding"
    if hp["bottleneck"] > 0:
        x = layers.Conv1D(hp["latent_channels"], 1, activation="relu", name="latent_conv")(x)
        x = layers.Flatten(name="latent_flatten")(x)
        dense = lambda name: layers.Dense(hp["bottleneck"], name=name)  # noqa: E731
    else:
        dense = lambda name: layers.Conv1D(hp["latent_channels"], 1, name=name)  # noqa: E731
    if hp["variational"]:
        mean = dense(code_name)(x)
        log_var = dense("embedding_log_var")(x)
        z = Sampling(kl_weight=hp["kl_weight"], name="sampling")([mean, log_var])
    else:
        z = dense(code_name)(x)
    x = z
    if hp["bottleneck"] > 0:
        x = layers.Dense(positions * hp["latent_channels"], activation="relu", name="decoder_dense")(x)
        x = layers.Reshape((positions, hp["latent_channels"]), name="decoder_reshape")(x)
    blocks = list(zip(hp["conv_filters"], hp["kernel_size"], hp["pool_size"]))[::-1]
    for i, (f, k, p) in enumerate(blocks):
        b = i + 1
        x = layers.UpSampling1D(p, name=f"decoder_upsample{b}")(x)
        x = layers.Conv1D(f, k, padding="same", activation="relu", name=f"decoder_conv{b}")(x)
    x = layers.Conv1D(4, 1, name="decoder_bases")(x)
    if padded > window_length:
        pad = padded - window_length
        x = layers.Cropping1D((pad // 2, pad - pad // 2), name="crop")(x)
    outputs = layers.Activation("softmax", dtype="float32", name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


def encoder(model):
    """The encoder of a (loaded) autoencoder: sequence -> code (the posterior mean if variational)."""
    import keras

    return keras.Model(model.inputs, model.get_layer("embedding").output, name="encoder")


def embed(model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Codes of windows x (N, L, 4) under an autoencoder, flattened to (N, code size), float32."""
    enc = encoder(model)
    out = []
    for lo in range(0, len(x), batch_size):
        z = np.asarray(enc.predict_on_batch(np.asarray(x[lo : lo + batch_size], np.float32)), np.float32)
        out.append(z.reshape(len(z), -1))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


# --------------------------------------------------------------------------------------
# Corruption (denoise mode) and accuracy
# --------------------------------------------------------------------------------------


def corrupt(x: np.ndarray, mode: str, rate: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(corrupted copy of one-hot x (N, L, 4), mask of corrupted positions (N, L)). Only
    positions with a base are corrupted: `substitute` puts a random other base there,
    `mask` an all-zero row."""
    if mode not in DENOISE_MODES or mode == "none":
        raise ValueError(f"corruption mode {mode!r} must be 'substitute' or 'mask'")
    x = np.array(x, copy=True)
    has_base = x.max(axis=-1) > 0
    hit = (rng.random(x.shape[:2]) < rate) & has_base
    rows, cols = np.nonzero(hit)
    if mode == "mask":
        x[rows, cols] = 0
    else:
        old = x[rows, cols].argmax(axis=-1)
        new = (old + rng.integers(1, 4, size=len(old))) % 4  # never the same base
        x[rows, cols] = 0
        x[rows, cols, new] = 1
    return x, hit


def _base_matches(model, x_in: np.ndarray, x_true: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(N, L) bool: the argmax of the reconstruction of x_in equals the base of x_true."""
    out = np.zeros(x_true.shape[:2], bool)
    for lo in range(0, len(x_in), batch_size):
        p = np.asarray(model.predict_on_batch(np.asarray(x_in[lo : lo + batch_size], np.float32)))
        out[lo : lo + batch_size] = p.argmax(axis=-1) == np.asarray(x_true[lo : lo + batch_size]).argmax(axis=-1)
    return out


def reconstruction_accuracy(model, x: np.ndarray, batch_size: int = 256) -> float:
    """Fraction of bases (N rows left out) whose reconstruction's argmax is the input base."""
    has_base = np.asarray(x).max(axis=-1) > 0
    right = _base_matches(model, x, x, batch_size)
    return float(right[has_base].mean()) if has_base.any() else float("nan")


def denoise_accuracy(model, x: np.ndarray, mode: str, rate: float, seed: int, batch_size: int = 256) -> dict:
    """Corrupt x (seeded), reconstruct, and count: `restored` (corrupted bases whose original
    base is the argmax), `kept` (uncorrupted bases reconstructed as themselves), and the
    same-input reference `copy_restored` (0 for substitute: copying the input restores
    nothing; for mask: 0.25, a guess)."""
    x_bad, hit = corrupt(x, mode, rate, np.random.default_rng(seed))
    right = _base_matches(model, x_bad, x, batch_size)
    has_base = np.asarray(x).max(axis=-1) > 0
    return {"mode": mode, "rate": float(rate), "corrupted": int(hit.sum()),
            "restored": float(right[hit].mean()) if hit.any() else float("nan"),
            "kept": float(right[has_base & ~hit].mean()) if (has_base & ~hit).any() else float("nan"),
            "copy_restored": 0.0 if mode == "substitute" else 0.25}  # fmt: skip


def evaluate_reconstruction(model, datasets: dict, hp: dict, seed: int, batch_size: int = 256,
                            block_rows: int = 4096):  # fmt: skip
    """One row per split: windows, bases, reconstruction accuracy; in denoise mode also the
    corrupted bases (seeded) and the fractions restored and kept (as denoise_accuracy),
    streamed `block_rows` windows at a time."""
    import pandas as pd

    from .dataset import XReader, open_dataset

    rows = []
    for i, (split, path) in enumerate(datasets.items()):
        bases = right = corrupted = restored = kept = kept_of = 0
        rng = np.random.default_rng(seed + i)
        with open_dataset(path) as f:
            n = XReader(f).shape[0]
            for lo in range(0, n, block_rows):  # memory bounded by the block, not the split
                x = XReader(f)[lo : lo + block_rows]
                has_base = x.max(axis=-1) > 0
                bases += int(has_base.sum())
                right += int(_base_matches(model, x, x, batch_size)[has_base].sum())
                if hp["denoise"] != "none":
                    x_bad, hit = corrupt(x, hp["denoise"], hp["noise_rate"], rng)
                    ok = _base_matches(model, x_bad, x, batch_size)
                    corrupted += int(hit.sum())
                    restored += int(ok[hit].sum())
                    kept += int(ok[has_base & ~hit].sum())
                    kept_of += int((has_base & ~hit).sum())
        row = {"split": split, "windows": int(n), "bases": bases,
               "reconstruction_accuracy": right / bases if bases else float("nan")}  # fmt: skip
        if hp["denoise"] != "none":
            row |= {"denoise": hp["denoise"], "noise_rate": float(hp["noise_rate"]), "corrupted_bases": corrupted,
                    "restored": restored / corrupted if corrupted else float("nan"),
                    "kept": kept / kept_of if kept_of else float("nan"),
                    "copy_restored": 0.0 if hp["denoise"] == "substitute" else 0.25}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


def _pairs(batches, epoch: int, hp: dict, seed: int):
    """(input, target) batches of one epoch: the target is the clean window; the input is
    corrupted in denoise mode (seeded by seed and epoch, so a rerun sees the same noise)."""
    rng = np.random.default_rng([seed, epoch, 17])
    for x, _ in batches.iterate(epoch):
        target = x.astype(np.float32)
        if hp["denoise"] == "none":
            yield target, target
        else:
            yield corrupt(x, hp["denoise"], hp["noise_rate"], rng)[0].astype(np.float32), target


def _dataset(batches, epoch_of, hp: dict, seed: int):
    import tensorflow as tf

    spec = tf.TensorSpec((None, batches.window_length, 4), tf.float32)
    ds = tf.data.Dataset.from_generator(lambda: _pairs(batches, epoch_of(), hp, seed), output_signature=(spec, spec))
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(batches)))
    return ds.prefetch(2)


def train_autoencoder(train_path, valid_path, out_dir, model_name: str, hyperparameters: dict | None,
                      training: dict | None, seed: int, threads: int = 2, resume_dir=None) -> dict:  # fmt: skip
    """Train the autoencoder on a split's windows (labels unused); early stopping, learning-rate
    decay, best checkpoint and resume as for supervised models (deepcis.training). Writes
    model.keras, history.tsv and model.json (with the valid reconstruction accuracy)."""
    import shutil

    from . import __version__
    from .batches import BatchConfig, HDF5Batches
    from .io_utils import atomic_path, canonical_json, package_versions, write_json
    from .models import resolve_hyperparameters
    from .training import (
        _data_id,
        _load_resume,
        _make_monitor,
        _optimizer,
        _tf_version,
        _write_history,
        configure_runtime,
        resolve_training,
        select_strategy,
    )

    cfg = resolve_training(training)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    resume_dir = Path(resume_dir) if resume_dir else out_dir.with_name(out_dir.name + ".resume")
    configure_runtime(threads, seed, cfg["deterministic"], 1, False)
    import keras

    from . import keras_objects

    batch_cfg = dict(batch_size=cfg["batch_size"], block_rows=cfg["shuffle_block_rows"],
                     buffer_blocks=cfg["shuffle_buffer_blocks"], in_memory_bytes=int(cfg["in_memory_max_mb"] * 2**20),
                     seed=seed)  # fmt: skip
    train = HDF5Batches(train_path, BatchConfig(**batch_cfg, shuffle=True, reverse_complement=cfg["reverse_complement"]),
                        fraction=cfg["fraction"])  # fmt: skip
    valid = HDF5Batches(valid_path, BatchConfig(**batch_cfg, shuffle=False))
    hp = resolve_hyperparameters("autoencoder", train.window_length, 1, hyperparameters)
    fingerprint = canonical_json({"architecture": "autoencoder", "hp": hp, "training": cfg, "seed": seed,
                                  "data": [_data_id(train_path), _data_id(valid_path)], "version": __version__})  # fmt: skip
    strategy, device_info = select_strategy(cfg["devices"], 1)
    state = _load_resume(resume_dir, fingerprint)
    with strategy.scope():
        if state is not None:
            log.info("resuming after epoch %d from %s", state["epoch"], resume_dir)
            model = keras_objects.load_model(resume_dir / "last.keras")
        else:
            model = build_autoencoder(train.window_length, hp)
            model.compile(optimizer=_optimizer(cfg["optimizer"], cfg["learning_rate"]),
                          loss=keras.losses.CategoricalCrossentropy(), jit_compile=bool(cfg["xla"]))  # fmt: skip
            state = {"epoch": 0, "best_val_loss": float("inf"), "best_epoch": 0, "wait": 0, "lr_wait": 0, "history": [],
                     "stopped_early": False, "stage": 1}  # fmt: skip
    state["train_rows"] = train.n
    monitor = _make_monitor(out_dir, resume_dir, cfg, fingerprint, state)
    if state["epoch"] < cfg["epochs"] and not state["stopped_early"]:
        model.fit(_dataset(train, lambda: monitor.current_epoch, hp, seed),
                  validation_data=_dataset(valid, lambda: 0, hp, seed + 1), epochs=cfg["epochs"],
                  initial_epoch=state["epoch"], callbacks=[monitor], shuffle=False, verbose=0)  # fmt: skip
    best_path = out_dir / "best.keras"
    if not best_path.is_file():
        raise RuntimeError("training finished without a finite validation loss; no model saved")
    with atomic_path(out_dir / "model.keras") as tmp:
        shutil.copyfile(best_path, tmp)
    best_path.unlink()
    with atomic_path(out_dir / "history.tsv") as tmp:
        _write_history(state["history"], tmp)
    history = state["history"]
    info = {
        "name": model_name, "architecture": "autoencoder", "family": "generative", "window_length": train.window_length,
        "encoding": "one-hot, channels A C G T; N and other IUPAC codes all-zero; uint8 input",
        "hyperparameters": hp, "code_shape": list(code_shape(train.window_length, hp)), "training": cfg, "seed": seed,
        "best_epoch": state["best_epoch"], "best_val_loss": state["best_val_loss"], "epochs_run": state["epoch"],
        "stopped_early": state["stopped_early"], "train_seconds": sum(h["seconds"] for h in history),
        "devices": device_info, "batches": {"train_rows": train.n, "valid_rows": valid.n},
        "data": {"train": _data_id(train_path), "valid": _data_id(valid_path)},
        "versions": package_versions(("numpy", "h5py")) | {"tensorflow": _tf_version(), "keras": keras.__version__,
                                                             "deepcis": __version__},
    }  # fmt: skip
    write_json(info, out_dir / "model.json")
    train.close()
    valid.close()
    shutil.rmtree(resume_dir, ignore_errors=True)
    return info
