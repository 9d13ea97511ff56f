"""Training: outputs, determinism, resume after a kill, multi-device on CPU, sanity check, bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from _utils import make_split

from deepcis.dataset import read_x
from deepcis.errors import InputError

TINY = {"conv_filters": [8, 8, 8], "kernel_size": 5, "pool_size": 2, "dense_units": 8}
FAST = {"epochs": 2, "batch_size": 32, "reverse_complement": False}


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    d = tmp_path_factory.mktemp("splits")
    return make_split(d / "train.h5", 512, seed=1), make_split(d / "valid.h5", 128, seed=2, split="valid")


def run_training(out, train, valid, training=None, architecture="deepsea", hp=None, seed=7):
    from deepcis.training import train_model

    return train_model(train, valid, out, "tiny", architecture, hp or TINY, FAST | (training or {}), seed=seed, threads=1)


def test_outputs_and_model_contract(splits, tmp_path):
    import keras

    from deepcis.keras_objects import model_metadata

    info = run_training(tmp_path / "m", *splits)
    for name in ("model.keras", "model.json", "history.tsv"):
        assert (tmp_path / "m" / name).is_file()
    assert not (tmp_path / "m.resume").exists()
    model = keras.saving.load_model(tmp_path / "m" / "model.keras", safe_mode=True)
    assert model_metadata(model) == {"tasks": ["ap1", "gata"], "window_length": 100, "encoding": "one-hot ACGT (N = all-zero)"}
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["tasks"] == ["ap1", "gata"] and saved["hyperparameters"]["conv_filters"] == [8, 8, 8]
    assert saved["devices"]["kind"] == "CPU" and saved["versions"]["tensorflow"]
    assert info["epochs_run"] == 2
    lines = (tmp_path / "m" / "history.tsv").read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["epoch", "loss", "val_loss"] and len(lines) == 3


def test_learns_planted_motifs(tmp_path):
    import h5py
    import keras
    from sklearn.metrics import roc_auc_score

    train = make_split(tmp_path / "train.h5", 1500, seed=1)
    valid = make_split(tmp_path / "valid.h5", 300, seed=2, split="valid")
    hp = {"conv_filters": [32, 32, 32], "kernel_size": 7, "pool_size": 2, "dense_units": 32, "dropout": [0.1, 0.1, 0.2]}
    run_training(tmp_path / "m", train, valid, training={"epochs": 14, "batch_size": 16, "early_stopping_patience": 14},
                 hp=hp)  # fmt: skip
    model = keras.saving.load_model(tmp_path / "m" / "model.keras", safe_mode=True)
    with h5py.File(valid, "r", locking=False) as f:
        p = model.predict(read_x(f), verbose=0)
        y = f["y"][:]
    assert min(roc_auc_score(y[:, i], p[:, i]) for i in range(2)) > 0.9


def test_same_seed_same_weights_and_history(splits, tmp_path):
    import keras

    run_training(tmp_path / "a", *splits)
    run_training(tmp_path / "b", *splits)
    wa = keras.saving.load_model(tmp_path / "a" / "model.keras").get_weights()
    wb = keras.saving.load_model(tmp_path / "b" / "model.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(wa, wb))
    ha = [line.split("\t")[:3] for line in (tmp_path / "a" / "history.tsv").read_text().splitlines()]
    hb = [line.split("\t")[:3] for line in (tmp_path / "b" / "history.tsv").read_text().splitlines()]
    assert ha == hb


def test_other_tasks_or_window_refused(splits, tmp_path):
    other_tasks = make_split(tmp_path / "v1.h5", 64, tasks=("ap1", "ctcf"), split="valid")
    with pytest.raises(InputError, match="tasks .* differ from the training file"):
        run_training(tmp_path / "m1", splits[0], other_tasks)
    other_length = make_split(tmp_path / "v2.h5", 64, length=80, split="valid")
    with pytest.raises(InputError, match="window length 80 differs from the training file's 100"):
        run_training(tmp_path / "m2", splits[0], other_length)


def test_overfit_one_batch(splits):
    from deepcis.training import overfit_one_batch

    result = overfit_one_batch(splits[0], "deepsea", {"conv_filters": [16, 16, 16], "kernel_size": 5, "pool_size": 2, "dense_units": 32},
                               FAST, seed=1, threads=1)  # fmt: skip
    assert result["passed"] and result["final_loss"] <= 0.05 < result["initial_loss"]
    with pytest.raises(RuntimeError, match="did not fit a single batch"):
        overfit_one_batch(splits[0], "deepsea", TINY, FAST, seed=1, threads=1, max_steps=2, target_loss=1e-6)


CHILD = """
import sys, logging
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from deepcis.training import train_model
info = train_model({train!r}, {valid!r}, {out!r}, "tiny", "deepsea", {hp!r}, {training!r}, seed=3, threads=1)
print("DEVICES", info["devices"])
"""


def _child(out, splits, training):
    code = CHILD.format(train=str(splits[0]), valid=str(splits[1]), out=str(out),
                        hp=TINY, training=FAST | training)  # fmt: skip
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_resume_after_kill_mid_epoch_gives_the_uninterrupted_weights(splits, tmp_path):
    """Killed (SIGKILL) in the middle of an epoch, rerun: it resumes after the last completed epoch and
    ends with the uninterrupted run's model, byte for byte (dropout masks, shuffling and
    reverse-complement augmentation all restored; CPU, deterministic ops)."""
    settings = {"epochs": 3, "batch_size": 4, "early_stopping_patience": 10, "reverse_complement": True}
    reference = _child(tmp_path / "reference", splits, settings)
    _, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err[-3000:]
    out = tmp_path / "m"
    state = tmp_path / "m.resume" / "state.json"
    proc = _child(out, splits, settings)  # 128 steps an epoch: the kill lands inside epoch 2
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not state.is_file():
        time.sleep(0.01)
    assert proc.poll() is None, "training finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(state.read_text())["epoch"] == 1 and not (out / "model.keras").exists()
    proc = _child(out, splits, settings)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err[-3000:]
    assert "resuming after epoch 1" in err and "epoch 1:" not in err.split("resuming")[1]  # done epochs not rerun
    history = (out / "history.tsv").read_text().splitlines()[1:]
    assert [int(line.split("\t")[0]) for line in history] == [1, 2, 3]
    assert (out / "model.keras").read_bytes() == (tmp_path / "reference" / "model.keras").read_bytes()
    losses = [line.split("\t")[1:3] for line in (tmp_path / "reference" / "history.tsv").read_text().splitlines()]
    assert losses == [line.split("\t")[1:3] for line in (out / "history.tsv").read_text().splitlines()]


def test_multi_device_on_logical_cpus(splits, tmp_path):
    proc = _child(tmp_path / "m", splits, {"cpu_devices": 2})
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "'replicas': 2" in out and "CPU:1" in out


def test_gpu_requested_without_gpu_warns(splits, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.WARNING):
        run_training(tmp_path / "m", *splits, training={"devices": "gpu", "epochs": 1})
    assert "GPU training was requested (devices: gpu) but no GPU is visible" in caplog.text


@pytest.mark.parametrize("setting, policy", [(True, "mixed_float16"), ("bfloat16", "mixed_bfloat16")])
def test_mixed_precision_keeps_float32_outputs(splits, tmp_path, setting, policy):
    import h5py
    import keras

    try:
        run_training(tmp_path / "m", *splits, training={"mixed_precision": setting, "epochs": 1})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["training"]["mixed_precision"] == setting
    model = keras.saving.load_model(tmp_path / "m" / "model.keras", safe_mode=True)
    assert any(layer.dtype_policy.name == policy for layer in model.layers)
    with h5py.File(splits[1], "r", locking=False) as f:
        p = model.predict(read_x(f, slice(0, 8)), verbose=0)
    assert p.dtype == np.float32 and np.isfinite(p).all()


def test_mixed_precision_setting_is_checked():
    from deepcis.errors import ConfigError
    from deepcis.training import resolve_training

    assert resolve_training({"mixed_precision": "bfloat16"})["mixed_precision"] == "bfloat16"
    with pytest.raises(ConfigError, match="mixed_precision: 'float8' is not one of false, true, float16, bfloat16"):
        resolve_training({"mixed_precision": "float8"})


def test_deepsea_trains_with_xla(splits, tmp_path):
    """`train.xla: true` (with `deterministic: false`: under op determinism Keras compiles without
    XLA) compiles DeepSEA's step, max-norm included: XLA has no kernel for the fused norm of
    deepcis.penalties, so the constraint takes Keras' formula there."""
    import warnings

    import keras

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        info = run_training(tmp_path / "m", *splits, training={"epochs": 1, "deterministic": False, "xla": True})
    assert not [w for w in caught if "jit_compile" in str(w.message)], "Keras fell back to no XLA"
    assert info["epochs_run"] == 1
    model = keras.saving.load_model(tmp_path / "m" / "model.keras")
    dense = model.get_layer("dense1").kernel.numpy()
    assert np.sqrt((dense**2).sum(axis=0)).max() <= 0.9 + 1e-5  # the max-norm held under XLA


def test_class_weight_per_task(splits, tmp_path):
    """A class_weight mapping weighs the tasks it names ('balanced' = negatives / positives, or a
    number) and leaves the others at 1; a task that is not the data's is refused by name."""
    from deepcis.errors import ConfigError
    from deepcis.training import positive_weights, resolve_training

    positives, seen = np.array([10, 40]), np.array([100, 100])
    assert positive_weights("none", ["a", "b"], positives, seen) is None
    assert positive_weights("balanced", ["a", "b"], positives, seen) == [9.0, 1.5]
    assert positive_weights({"a": "balanced"}, ["a", "b"], positives, seen) == [9.0, 1.0]
    assert positive_weights({"b": 4}, ["a", "b"], positives, seen) == [1.0, 4.0]
    assert positive_weights({"c": 4}, ["a"], positives[:1], seen[:1], known=["a", "c"]) == [1.0]  # the data's, not trained
    with pytest.raises(ConfigError, match=r"class_weight: \['c'\] are not tasks of this model \(\['a', 'b'\]\)"):
        positive_weights({"c": 4}, ["a", "b"], positives, seen)
    with pytest.raises(ConfigError, match=r"class_weight.a: -1 is not 'balanced' or a number > 0"):
        resolve_training({"class_weight": {"a": -1}})
    run_training(tmp_path / "m", *splits, training={"class_weight": {"gata": 2.0}})
    saved = json.loads((tmp_path / "m" / "model.json").read_text())
    assert saved["class_weight_pos"] == [1.0, 2.0]
    with pytest.raises(ConfigError, match=r"\['GATA'\] are not tasks"):
        run_training(tmp_path / "n", *splits, training={"class_weight": {"GATA": 2.0}})
