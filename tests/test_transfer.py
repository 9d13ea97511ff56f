"""Transfer learning: task subsets and data fractions in the batches, the new head on a
trained body, freezing, the second (unfrozen) stage, the source checks, the config checks,
and the fine-tuned vs from-scratch comparison table and figure."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from _utils import REPO
from _utils import make_split as _make_split

from deepcis.batches import BatchConfig, HDF5Batches
from deepcis.config import check_model_tasks, validate_config
from deepcis.errors import ConfigError, InputError

TINY = {"conv_filters": [8, 8, 8], "kernel_size": 5, "pool_size": 2, "dense_units": 8}
FAST = {"epochs": 2, "batch_size": 32, "reverse_complement": False}


def make_split(path, n, length=100, seed=0, tasks=("ap1", "gata", "ctcf"), split="train"):
    return _make_split(path, n, length=length, seed=seed, tasks=tasks, split=split)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    return make_split(d / "train.h5", 384, seed=1), make_split(d / "valid.h5", 96, seed=2, split="valid")


@pytest.fixture(scope="module")
def source(data, tmp_path_factory):
    """A small deepsea model trained on ap1 and gata (ctcf held back)."""
    from deepcis.training import train_model

    out = tmp_path_factory.mktemp("models") / "source"
    train_model(*data, out, "source", "deepsea", TINY, FAST, seed=3, threads=1, tasks=["ap1", "gata"])
    return out


def _rows(batches, epoch=0):
    xs, ys = zip(*batches.iterate(epoch))
    return np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("in_memory", [True, False])
def test_batches_task_subset_and_fraction(data, in_memory):
    cfg = BatchConfig(batch_size=16, shuffle=False, in_memory_bytes=1 << 30 if in_memory else 0, block_rows=8, seed=5)
    full = HDF5Batches(data[0], cfg)
    x_all, y_all = _rows(full)
    sub = HDF5Batches(data[0], cfg, tasks=["ctcf", "ap1"], fraction=0.25)
    assert sub.tasks == ["ctcf", "ap1"] and sub.n == 96 and sub.in_memory == in_memory
    x, y = _rows(sub)
    rows = [int(np.flatnonzero((x_all == xi).all(axis=(1, 2)))[0]) for xi in x]
    assert rows == sorted(rows) and len(set(rows)) == 96  # a subset, in file order
    assert np.array_equal(y, y_all[rows][:, [2, 0]])
    again = HDF5Batches(data[0], cfg, tasks=["ctcf", "ap1"], fraction=0.25)
    assert np.array_equal(_rows(again)[0], x)  # seeded: the same subset every time
    other_seed = HDF5Batches(data[0], BatchConfig(**(cfg.__dict__ | {"seed": 6})), fraction=0.25)
    assert not np.array_equal(_rows(other_seed)[0], x)
    pos, seen = sub.label_counts()
    assert np.array_equal(pos, y.sum(axis=0)) and np.array_equal(seen, [96, 96])
    with pytest.raises(InputError, match=r"has no task\(s\) \['foxa1'\]"):
        HDF5Batches(data[0], cfg, tasks=["foxa1"])


def _weights(model, kind):
    return {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers
            if type(layer).__name__ == kind}  # fmt: skip


def test_fine_tune_new_head_frozen_convolutions_then_unfrozen(data, source, tmp_path):
    from deepcis.keras_objects import load_model, model_metadata
    from deepcis.training import train_model

    src = load_model(source / "model.keras")
    info = train_model(*data, tmp_path / "ft", "ft", None, None, FAST | {"fraction": 0.5}, seed=3, threads=1,
                       tasks=["ctcf"], transfer={"source": source, "freeze": "convolutions", "learning_rate": 1e-3,
                                                 "unfreeze": {"epochs": 2, "learning_rate": 1e-4}})  # fmt: skip
    model = load_model(tmp_path / "ft" / "model.keras")
    assert model_metadata(model)["tasks"] == ["ctcf"] and model.output.shape[-1] == 1
    saved = json.loads((tmp_path / "ft" / "model.json").read_text())
    t = saved["transfer"]
    assert saved["architecture"] == "deepsea" and saved["hyperparameters"]["conv_filters"] == [8, 8, 8]
    assert t["frozen_layers"] and t["frozen_layers"] == ["conv1", "conv2", "conv3"]
    assert t["source_tasks"] == ["ap1", "gata"] and t["new_tasks"] == ["ctcf"] and t["target_tasks_seen_by_source"] == []
    assert saved["train_fraction"] == 0.5 and saved["batches"]["train_rows"] == 192
    history = pd.read_csv(tmp_path / "ft" / "history.tsv", sep="\t")
    assert history["stage"].tolist() == [1, 1, 2, 2] and history["epoch"].tolist() == [1, 2, 3, 4]
    assert np.allclose(history.loc[history["stage"] == 2, "learning_rate"], 1e-4)
    assert info["epochs_run"] == 4
    # stage 2 trained every layer: the convolutions moved away from the source's
    before, after = _weights(src, "Conv1D"), _weights(model, "Conv1D")
    assert before.keys() == after.keys()
    if saved["best_epoch"] > 2:
        assert any(not np.allclose(a[0], b[0]) for a, b in zip(before.values(), after.values()))


@pytest.mark.parametrize("freeze, frozen_kinds", [("body", {"Conv1D", "Dense"}), (1, {"Conv1D"})])
def test_frozen_layers_keep_the_source_weights(data, source, tmp_path, freeze, frozen_kinds):
    from deepcis.keras_objects import load_model
    from deepcis.training import train_model

    src = load_model(source / "model.keras")
    train_model(*data, tmp_path / "ft", "ft", None, None, FAST, seed=3, threads=1, tasks=["ctcf", "ap1"],
                transfer={"source": str(source), "freeze": freeze, "learning_rate": 1e-2})  # fmt: skip
    model = load_model(tmp_path / "ft" / "model.keras")
    frozen = json.loads((tmp_path / "ft" / "model.json").read_text())["transfer"]["frozen_layers"]
    assert len(frozen) == (4 if freeze == "body" else 1)  # 3 convolutions + hidden dense; or the first layer
    for name in frozen:
        assert type(model.get_layer(name)).__name__ in frozen_kinds
        for a, b in zip(src.get_layer(name).get_weights(), model.get_layer(name).get_weights()):
            assert np.array_equal(a, b), name
    trained = [layer.name for layer in model.layers if layer.weights and layer.name not in frozen]
    assert "output" in trained
    for name in trained:
        if name != "output":
            assert not all(np.array_equal(a, b) for a, b in zip(src.get_layer(name).get_weights(),
                                                                 model.get_layer(name).get_weights()))  # fmt: skip


def test_window_length_mismatch_refused(source, tmp_path):
    from deepcis.training import train_model

    train = make_split(tmp_path / "train.h5", 64, length=80, seed=1)
    valid = make_split(tmp_path / "valid.h5", 32, length=80, seed=2, split="valid")
    with pytest.raises(InputError, match=r"window length 80 differs from the window length 100 of the source model") as e:
        train_model(train, valid, tmp_path / "ft", "ft", None, None, FAST, seed=3, threads=1, tasks=["ctcf"],
                    transfer={"source": source})  # fmt: skip
    assert str(source / "model.keras") in str(e.value) and e.value.path == str(train)
    assert not (tmp_path / "ft" / "model.keras").exists()
    with pytest.raises(InputError, match="source model not found"):
        train_model(train, valid, tmp_path / "ft", "ft", None, None, FAST, seed=3, threads=1,
                    transfer={"source": tmp_path / "nowhere"})  # fmt: skip


def test_transfer_model_predictions_on_full_dataset(data, source, tmp_path):
    """Evaluation handles a model that predicts some of the dataset's tasks."""
    from deepcis.metrics import metrics_from_predictions
    from deepcis.predict import predict_dataset, read_predictions

    predict_dataset(source, data[1], tmp_path / "p.h5", reverse_complement=False)
    p = read_predictions(tmp_path / "p.h5")
    assert p.tasks == ["ap1", "gata"] and p.y_true.shape == (96, 2)
    assert metrics_from_predictions(tmp_path / "p.h5")["task"].tolist() == ["ap1", "gata"]


def _config(models, window_length=600):
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    cfg["prepare"]["window_length"] = window_length
    cfg["prepare"]["deepsea"]["bin_size"] = min(200, window_length)
    cfg["models"] = {"src": {"architecture": "deepsea", "hyperparameters": TINY}} | models
    cfg["variants"]["models"] = None
    cfg.pop("interpret", None)
    return cfg


def test_config_resolves_a_transfer_model():
    cfg = validate_config(_config({
        "ft": {"transfer": {"source": "src", "freeze": 2, "compare_to": "scratch"}, "tasks": ["FOXA1"],
               "train": {"fraction": 0.25}},
        "scratch": {"architecture": "deepsea", "hyperparameters": TINY, "tasks": ["FOXA1"], "train": {"fraction": 0.25}},
    }))  # fmt: skip
    ft = cfg["models"]["ft"]
    assert ft["architecture"] == "deepsea" and ft["hyperparameters"] == cfg["models"]["src"]["hyperparameters"]
    assert ft["transfer"] | {} == {"source": "src", "freeze": 2, "learning_rate": 1e-4, "unfreeze": None, "compare_to": "scratch"}
    assert ft["train"]["fraction"] == 0.25 and cfg["models"]["src"]["train"]["fraction"] == 1.0
    assert validate_config(cfg) == cfg  # idempotent
    check_model_tasks(cfg, ["CTCF", "FOXA1"])
    assert cfg["models"]["src"]["tasks"] == ["CTCF", "FOXA1"]


@pytest.mark.parametrize(
    "models, message",
    [
        ({"ft": {"transfer": {"source": "nope"}}}, r"models.ft.transfer.source: 'nope' is neither a model of this config"),
        ({"a": {"transfer": {"source": "b"}}, "b": {"transfer": {"source": "a"}}}, r"in a cycle \(a -> b -> a\)"),
        ({"ft": {"transfer": {"source": "src"}, "architecture": "danq"}}, r"models.ft.architecture: a transferred model "
                                                                          "takes its architecture from transfer.source"),
        ({"ft": {"transfer": {"source": "src", "freeze": "some"}}}, r"models.ft.transfer.freeze"),
        ({"ft": {"transfer": {"source": "src", "compare_to": "ft"}}}, r"compare_to: 'ft' is not another model"),
        ({"ft": {"hyperparameters": {}}}, r"models.ft: 'architecture' is required \(or transfer.source\)"),
        ({"ft": {"architecture": "deepsea", "train": {"fraction": 0}}}, r"models.ft.train.fraction"),
    ],
)
def test_config_errors(models, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(_config(models))


def test_config_task_errors():
    cfg = validate_config(_config({"ft": {"transfer": {"source": "src", "compare_to": "sc"}, "tasks": ["FOXA1"]},
                                   "sc": {"architecture": "deepsea", "hyperparameters": TINY, "tasks": ["CTCF"]}}))  # fmt: skip
    with pytest.raises(ConfigError, match=r"compare_to: 'sc' trains on \['CTCF'\], 'ft' on \['FOXA1'\]"):
        check_model_tasks(cfg, ["CTCF", "FOXA1"])
    cfg["models"]["sc"]["tasks"] = ["GATA9"]
    with pytest.raises(ConfigError, match=r"models.sc.tasks: \['GATA9'\] are not tasks of the tasks sheet"):
        check_model_tasks(cfg, ["CTCF", "FOXA1"])


def test_config_refuses_a_model_folder_of_another_window_length(source):
    with pytest.raises(ConfigError, match=r"takes windows of 100 bp but prepare.window_length is 600"):
        validate_config(_config({"ft": {"transfer": {"source": str(source)}}}))
    cfg = validate_config(_config({"ft": {"transfer": {"source": str(source)}}}, window_length=100))
    assert cfg["models"]["ft"]["architecture"] == "deepsea"


def test_comparison_table_and_figure(tmp_path):
    from deepcis.transfer import comparison_table, learning_curves_figure

    def info(name, rows):
        return {"name": name, "tasks": ["FOXA1"], "batches": {"train_rows": rows}, "positives_per_task": {"FOXA1": 40},
                "epochs_run": 4, "best_epoch": 3, "best_val_loss": 0.3, "train_seconds": 2.0}  # fmt: skip

    metrics = pd.DataFrame({"task": ["FOXA1"], "auroc": [0.9], "auprc": [0.6], "pearson": [np.nan], "spearman": [np.nan]})
    table = comparison_table({"fine-tuned": {"name": "ft", "info": info("ft", 100), "metrics": metrics},
                              "from scratch": {"name": "sc", "info": info("sc", 100), "metrics": metrics.assign(auroc=0.6)}})  # fmt: skip
    assert table[["role", "model", "task", "auroc"]].values.tolist() == [["fine-tuned", "ft", "FOXA1", 0.9],
                                                                         ["from scratch", "sc", "FOXA1", 0.6]]  # fmt: skip
    h = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [0.6, 0.5, 0.4, 0.35], "val_loss": [0.6, 0.5, 0.45, 0.46],
                      "stage": [1, 1, 2, 2]})  # fmt: skip
    learning_curves_figure({"fine-tuned": h, "from scratch": h.drop(columns="stage")}, table, tmp_path / "c.png", "t")
    assert (tmp_path / "c.png").stat().st_size > 10_000
