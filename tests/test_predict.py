"""Predictions of a Keras model: contract checks, reverse-complement averaging, the file."""

import numpy as np
import pandas as pd
import pytest
from _utils import make_split

from deepcis import dataset
from deepcis.errors import InputError
from deepcis.io_utils import sha256_file
from deepcis.metrics import metrics_from_predictions, task_metrics
from deepcis.predict import predict_dataset, read_predictions

LENGTH = 100


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained (random, strand-asymmetric) model with deepcis metadata, in a model folder."""
    import keras

    from deepcis.keras_objects import with_metadata

    keras.utils.set_random_seed(3)
    inputs = keras.Input((LENGTH, 4), name="sequence")
    h = keras.layers.Conv1D(4, 5, activation="relu")(inputs)
    h = keras.layers.GlobalMaxPooling1D()(h)
    outputs = keras.layers.Dense(2, activation="sigmoid")(h)
    model = with_metadata(keras.Model(inputs, outputs), ["ap1", "gata"], LENGTH)
    folder = tmp_path_factory.mktemp("model")
    model.save(folder / "model.keras")
    return folder, model


@pytest.fixture(scope="module")
def test_split(tmp_path_factory):
    return make_split(tmp_path_factory.mktemp("data") / "test.h5", 130, seed=5, split="test")


def read_x_y(path):
    with dataset.open_dataset(path) as f:
        return dataset.read_x(f), f["y"][()], f["start"][()]


def test_predictions_file_round_trip(tiny_model, test_split, tmp_path):
    folder, model = tiny_model
    info = predict_dataset(folder, test_split, tmp_path / "pred.h5", reverse_complement=False, block_rows=48)
    assert info == {"windows": 130, "tasks": 2, "reverse_complement": False}
    p = read_predictions(tmp_path / "pred.h5")
    x, y, start = read_x_y(test_split)
    assert p.tasks == ["ap1", "gata"] and len(p) == 130
    assert p.y_true.dtype == np.float32 and p.y_pred.dtype == np.float32 and p.y_pred.shape == (130, 2)
    assert np.array_equal(p.y_true, y.astype(np.float32))
    assert p.coordinates["chrom"].tolist() == ["chr1"] * 130 and np.array_equal(p.coordinates["start"], start)
    assert np.array_equal(p.coordinates["end"] - p.coordinates["start"], np.full(130, LENGTH))
    assert np.allclose(p.y_pred, model.predict(x.astype(np.float32), verbose=0), atol=1e-6)
    assert p.attrs["model_sha256"] == sha256_file(folder / "model.keras")
    assert p.attrs["predictor"] == "keras" and p.attrs["split"] == "test" and p.attrs["reverse_complement"] is False
    assert p.attrs["dataset"] == str(test_split) and p.attrs["model"] == str(folder) and p.attrs["window_length"] == LENGTH
    assert not list(tmp_path.glob(".*tmp"))
    by_task = metrics_from_predictions(tmp_path / "pred.h5", task_block=1)
    pd.testing.assert_frame_equal(by_task, task_metrics(p.y_true, p.y_pred, p.tasks))


def test_reverse_complement_average(tiny_model, test_split, tmp_path):
    folder, model = tiny_model
    predict_dataset(folder / "model.keras", test_split, tmp_path / "rc.h5", block_rows=48, batch_size=32)
    p = read_predictions(tmp_path / "rc.h5")
    x = read_x_y(test_split)[0].astype(np.float32)
    forward = model.predict(x, verbose=0)
    reverse = model.predict(x[:, ::-1, ::-1], verbose=0)
    assert not np.allclose(forward, reverse, atol=1e-4)  # the model is not strand-symmetric
    assert np.allclose(p.y_pred, (forward + reverse) / 2, atol=1e-6)
    assert p.attrs["reverse_complement"] is True


def test_missing_labels_kept(tiny_model, tmp_path):
    x, y, _ = read_x_y(make_split(tmp_path / "src.h5", 20, seed=6))
    y = y.astype(np.float32)
    y[::3, 1] = np.nan
    attrs = {"genome": "g", "genome_sha256": "0", "label_mode": "deepsea", "split": "valid", "config_sha256": "0"}
    with dataset.create_dataset(tmp_path / "nan.h5", 20, LENGTH, ["ap1", "gata"], attrs, label_dtype=np.float32) as f:
        dataset.write_rows(f, 0, x, y, ["chr2"] * 20, np.arange(20) * LENGTH, np.arange(20) * LENGTH + LENGTH)
    predict_dataset(tiny_model[0], tmp_path / "nan.h5", tmp_path / "p.h5")
    p = read_predictions(tmp_path / "p.h5")
    assert np.array_equal(np.isnan(p.y_true), np.isnan(y)) and np.isfinite(p.y_pred).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tasks": ("ap1", "ctcf")}, r"lacks the model's task\(s\) \['gata'\]"),
        ({"length": 80}, "window length 80 differs from the model's window length 100"),
    ],
)
def test_mismatched_dataset_refused(tiny_model, tmp_path, kwargs, message):
    other = make_split(tmp_path / "other.h5", 16, **kwargs)
    with pytest.raises(InputError, match=message) as error:
        predict_dataset(tiny_model[0], other, tmp_path / "out.h5")
    assert error.value.path == str(other)
    assert not (tmp_path / "out.h5").exists()


def test_dataset_with_more_or_reordered_tasks(tiny_model, tmp_path):
    """A model predicting some of a dataset's tasks (a task subset, a transferred model): the
    predictions file holds the model's tasks, in its order, with the matching label columns."""
    data = make_split(tmp_path / "more.h5", 24, tasks=("gata", "ctcf", "ap1"))
    predict_dataset(tiny_model[0], data, tmp_path / "p.h5", reverse_complement=False)
    p = read_predictions(tmp_path / "p.h5")
    _, y, _ = read_x_y(data)
    assert p.tasks == ["ap1", "gata"]
    assert np.array_equal(p.y_true, y[:, [2, 0]].astype(np.float32))


def test_bad_paths(tiny_model, test_split, tmp_path):
    with pytest.raises(InputError, match="model file not found"):
        predict_dataset(tmp_path / "nowhere", test_split, tmp_path / "out.h5")
    with pytest.raises(InputError, match="HDF5 dataset not found"):
        predict_dataset(tiny_model[0], tmp_path / "missing.h5", tmp_path / "out.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(InputError, match="not a readable HDF5 file"):
        read_predictions(tmp_path / "junk.h5")
