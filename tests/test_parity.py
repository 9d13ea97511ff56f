"""deepcis.parity (plain reference models, step timing) and the throughput benchmarks' smoke
paths: bench_train, bench_predict, bench_device and gpu_check.sh's no-GPU fallback."""

import os
import subprocess
import sys

import numpy as np
from _utils import REPO

BENCH = REPO / "bench"


def _import_bench(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plain_reference_has_the_layers_without_the_extras():
    from deepcis import parity

    hp = {"conv_filters": [8, 8, 8], "dense_units": 16}
    models = parity.variants("deepsea", 200, 3, "adam", ablate=True, add_one=True, keras_penalties=True, hyperparameters=hp)
    assert set(models) == {"deepcis", "no l2", "no l1_activity", "no max_norm", "no masked loss", "no metadata layer", "plain",
                           "+ l2", "+ l1_activity", "+ max_norm", "+ masked loss", "+ metadata layer",
                           "deepcis [Keras' penalties]", "+ l2 [Keras' penalties]", "+ max_norm [Keras' penalties]"}  # fmt: skip
    # each "+ extra" is the plain model with that one extra, at deepcis' value
    one_l2, one_norm = models["+ l2"].get_layer("dense1").kernel, models["+ max_norm"].get_layer("dense1").kernel
    assert one_l2.regularizer.l2 == 5e-7 and one_l2.constraint is None
    assert one_norm.constraint.max_value == 0.9 and one_norm.regularizer is None
    assert type(models["+ masked loss"].loss).__name__ == "MaskedBinaryCrossentropy"
    assert models["+ metadata layer"].layers[-1].name == "task_metadata" and models["plain"].layers[-1].name != "task_metadata"
    assert type(models["deepcis [Keras' penalties]"].get_layer("conv1").kernel.regularizer).__module__.startswith("keras")
    deepcis, plain = models["deepcis"], models["plain"]
    assert deepcis.count_params() == plain.count_params()
    assert [type(layer).__name__ for layer in deepcis.layers if type(layer).__name__ != "ActivityRegularization"][:-1] == \
        [type(layer).__name__ for layer in plain.layers]  # fmt: skip
    conv = deepcis.get_layer("conv1")
    assert conv.kernel_constraint is not None and conv.kernel_regularizer is not None
    plain_conv = plain.get_layer("conv1")
    assert plain_conv.kernel_constraint is None and plain_conv.kernel_regularizer is None
    assert type(plain.loss).__name__ == "BinaryCrossentropy" and type(deepcis.loss).__name__ == "MaskedBinaryCrossentropy"
    # basset and danq have no such extras: their plain reference differs only in loss and metadata
    assert parity.plain_hyperparameters("basset") == {} and parity.plain_hyperparameters("danq") == {}


def test_time_steps_times_every_model_and_predicts_too():
    from deepcis import parity

    models = parity.variants("basset", 200, 3, "sgd", hyperparameters={"conv_filters": [4, 4, 4], "dense_units": [8, 8]})
    batches = parity.random_batches(2, 16, 200, 3)
    assert batches[0][0].shape == (16, 200, 4) and batches[0][0].sum(axis=-1).min() == 1
    for predict in (False, True):
        rates = parity.time_steps(models, batches, rounds=1, predict=predict)
        assert set(rates) == {"deepcis", "plain"} and all(np.isfinite(r) and r > 0 for r in rates.values())


def test_bench_train_prints_the_parity_ratios(capsys):
    _import_bench("bench_train").main(["--models", "danq", "--length", "200", "--tasks", "3", "--batches", "2",
                                       "--batch-size", "8", "--rounds", "2", "--threads", "1", "--add-one"])  # fmt: skip
    out = capsys.readouterr().out
    assert "plain Keras reference" in out and "bare / plain" in out and "real / bare" in out and "per cpu-s" in out
    assert "plain + masked loss" in out and "plain + metadata layer" in out and "x plain (wall)" in out


def test_bench_predict_covers_every_inference_path(capsys):
    _import_bench("bench_predict").main(["--models", "danq", "--length", "200", "--tasks", "3", "--windows", "8",
                                         "--batch-size", "8", "--rounds", "1", "--ism", "1", "--threads", "1"])  # fmt: skip
    out = capsys.readouterr().out
    for path in ("plain predict_on_batch", "predict_windows", "variant scoring", "naive ISM", "fast ISM"):
        assert path in out


def test_bench_device_measures_the_cpu_when_allowed(tmp_path, capsys):
    import json

    out_json = tmp_path / "device.json"
    _import_bench("bench_device").main(["--allow-cpu", "--models", "danq", "--length", "200", "--tasks", "3",
                                        "--batches", "2", "--batch-size", "8", "--precisions", "float32",
                                        "mixed bfloat16", "--xla", "off", "--json", str(out_json)])  # fmt: skip
    numbers = json.loads(out_json.read_text())
    assert numbers["device"] == "CPU" and numbers["loader"] > 0
    assert set(numbers["models"]["danq"]["train_step"]) == {"float32|xla=off", "mixed bfloat16|xla=off"}
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"  # restored for the rest of the session


def test_gpu_check_without_a_gpu_says_so_and_skips(tmp_path):
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OUT=str(tmp_path / "out"), PYTHON=sys.executable)
    result = subprocess.run(["bash", str(BENCH / "gpu_check.sh")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "no GPU found" in result.stdout and "skipping the GPU checks" in result.stdout
    assert not (tmp_path / "out").exists()

