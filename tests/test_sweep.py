"""Hyperparameter sweeps (deepcis.sweep, rules/sweep.smk): expansion and naming, the checks at
config time, selection by validation metric only, a diverged point recorded and skipped, the
table. The end-to-end run (a 4-point sweep with cross-validation, killed and resumed) is in
tests/test_protocols_e2e.py."""

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from deepcis.config import expand_per_task_models, validate_config
from deepcis.errors import ConfigError, InputError, TrainingDivergedError
from deepcis.sweep import (
    check_sweep_metric,
    plan_sweeps,
    point_name,
    read_point_files,
    record_divergence,
    select_point,
    sweep_figure,
    sweep_html,
    sweep_points,
    sweep_table,
)

GRID = {"learning_rate": [0.001, 0.003], "conv_filters": [16, 32]}


def _config(tmp_path, sweep=None, **model):
    """A config with one danq model `m` (swept when `sweep` is given)."""
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\nACGT\n")
    spec = {"architecture": "danq", "hyperparameters": {"conv_filters": 8, "lstm_units": 4, "dense_units": 4}} | model
    if sweep is not None:
        spec["sweep"] = sweep
    return {"genome": str(genome), "tasks": "tasks.tsv", "prepare": {"window_length": 200}, "models": {"m": spec}}


def _points(config):
    return config["models"]["m"]["sweep"]["points"]


def test_grid_expands_to_named_points_with_their_settings(tmp_path):
    config = validate_config(_config(tmp_path, {"parameters": GRID}) | {"train": {"learning_rate": 0.01, "epochs": 3}})
    points = _points(config)
    assert list(points) == ["learning_rate~0.001_conv_filters~16", "learning_rate~0.001_conv_filters~32",
                            "learning_rate~0.003_conv_filters~16", "learning_rate~0.003_conv_filters~32"]  # fmt: skip
    last = points["learning_rate~0.003_conv_filters~32"]
    assert last["train"]["learning_rate"] == 0.003 and last["train"]["epochs"] == 3  # the rest from the model's train
    assert last["hyperparameters"]["conv_filters"] == 32 and last["hyperparameters"]["lstm_units"] == 4
    # the entry itself keeps its own values (its one-batch check runs on them)
    assert config["models"]["m"]["train"]["learning_rate"] == 0.01
    plan = plan_sweeps(config)["m"]
    assert list(plan) == list(points) and "sweep" not in plan[next(iter(plan))]
    assert plan["learning_rate~0.001_conv_filters~32"]["hyperparameters"]["conv_filters"] == 32
    # a prefixed key, a list value, a bool: readable names, the values in their section
    assert point_name({"train.batch_size": 8, "hyperparameters.conv_filters": [8, 16], "x": True, "y": 1e-05}) == (
        "batch_size~8_conv_filters~8-16_x~true_y~1e-05")


def test_points_keep_their_names_when_values_are_added(tmp_path):
    """A point is named after its values: adding one reruns only the new points' jobs."""
    before = set(_points(validate_config(_config(tmp_path, {"parameters": GRID}))))
    wider = {"learning_rate": [0.001, 0.003, 0.01], "conv_filters": [16, 32]}
    after = set(_points(validate_config(_config(tmp_path, {"parameters": wider}))))
    assert before < after and len(after - before) == 2


def test_layer_count_can_be_swept_from_the_given_hyperparameters(tmp_path):
    """Points start from the hyperparameters as written, not the resolved ones: a deepsea
    point with 2 convolutions gets 2 kernel sizes from the scalar the user gave."""
    cfg = _config(tmp_path, {"parameters": {"conv_filters": [[8, 8], [8, 8, 8]]}}, architecture="deepsea",
                  hyperparameters={"conv_filters": [8, 8, 8], "kernel_size": 5, "pool_size": 2, "dense_units": 8,
                                   "dropout": 0.2})  # fmt: skip
    points = _points(validate_config(cfg))
    assert points["conv_filters~8-8"]["hyperparameters"]["kernel_size"] == [5, 5]
    assert points["conv_filters~8-8-8"]["hyperparameters"]["kernel_size"] == [5, 5, 5]


def test_random_sample_follows_its_seed():
    grid = {"a": [1, 2, 3, 4], "b": ["x", "y", "z"]}
    first = sweep_points(grid, 5, seed=1)
    assert first == sweep_points(grid, 5, seed=1) and first != sweep_points(grid, 5, seed=2)
    assert len({point_name(p) for p in first}) == 5  # distinct grid points
    ranges = {"lr": {"min": 1e-4, "max": 1e-2, "log": True}, "units": {"min": 4, "max": 64}, "opt": ["adam", "sgd"]}
    drawn = sweep_points(ranges, 8, seed=3)
    assert len(drawn) == 8 and drawn == sweep_points(ranges, 8, seed=3)
    assert all(1e-4 <= p["lr"] <= 1e-2 and isinstance(p["units"], int) and 4 <= p["units"] <= 64 for p in drawn)
    assert all(p["lr"] == float(f"{p['lr']:.3g}") for p in drawn)  # 3 significant digits
    # log-uniform: about as many draws below 1e-3 as above
    many = sweep_points({"lr": {"min": 1e-4, "max": 1e-2, "log": True}}, 200, seed=0)
    assert 70 < sum(p["lr"] < 1e-3 for p in many) < 130


@pytest.mark.parametrize(
    "sweep, message",
    [
        ({"parameters": {"lr": [0.1]}}, "unknown key 'lr': neither a training key"),
        ({"parameters": {"hyperparameters.learning_rate": [0.1]}}, "'learning_rate' is not a hyperparameters key"),
        ({"parameters": {"learning_rate": []}}, "learning_rate: an empty list"),
        ({"parameters": {"learning_rate": [0.1, 0.1]}}, "appears twice"),
        ({"parameters": {"learning_rate": {"min": 0.1, "max": 0.01}}, "random": 3}, "an empty range: min 0.1 is not below max 0.01"),
        ({"parameters": {"learning_rate": {"min": 0, "max": 0.01, "log": True}}, "random": 3}, "log range needs min > 0"),
        ({"parameters": {"learning_rate": {"min": 0.001, "max": 0.01}}}, "is sampled, not a grid"),
        ({"parameters": {"learning_rate": [1e-4, 1e-3, 1e-2], "conv_filters": [4, 8, 16, 32, 64, 128]}},
         r"the grid has 18 points \(3 learning_rate x 6 conv_filters\), more than max_points 16"),
        ({"parameters": GRID, "random": 20, "max_points": 30}, "20 points drawn from a grid of only 4"),
        ({"parameters": GRID, "max_points": 3}, "the grid has 4 points"),
        ({"parameters": {"learning_rate": [-0.1]}}, r"point learning_rate~-0.1: train.learning_rate"),
        ({"parameters": {"conv_filters": [0]}}, "point conv_filters~0: model 'danq'"),
        ({"parameters": {"head": ["linear"]}}, "train.head cannot be swept"),
        ({"parameters": {"learning_rate": [0.1], "train.learning_rate": [0.2]}}, "named twice"),
        ({"parameters": {"optimizer": ["adam", "a/b"]}}, "not a folder name"),
        ({"parameters": {}}, "should be non-empty"),
        ({"parameters": GRID, "metrics": "auroc"}, "'metrics' was unexpected"),
        ({"parameters": GRID, "metric": "accuracy"}, "sweep.metric"),
    ],
)
def test_sweep_is_checked_at_config_time(tmp_path, sweep, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(_config(tmp_path, sweep))


def test_sweeps_with_other_model_kinds_and_cv(tmp_path):
    swept = {"parameters": GRID}
    cfg = _config(tmp_path, swept)
    cfg["models"]["ft"] = {"transfer": {"source": "m"}}
    with pytest.raises(ConfigError, match="'m' is swept"):
        validate_config(cfg)
    cfg = _config(tmp_path)
    cfg["models"]["ft"] = {"transfer": {"source": "m"}, "sweep": swept}
    with pytest.raises(ConfigError, match="models.ft.sweep: a fine-tuned"):
        validate_config(cfg)
    cfg = _config(tmp_path)
    cfg["models"]["ae"] = {"architecture": "autoencoder", "sweep": swept}
    with pytest.raises(ConfigError, match="models.ae.sweep: 'autoencoder' is a generative model"):
        validate_config(cfg)
    # cross-validation leaves a swept model out, and refuses it by name
    cfg = _config(tmp_path, swept)
    cfg["models"]["plain"] = _config(tmp_path)["models"]["m"]
    assert validate_config(cfg | {"cv": {"folds": 3}})["models"]["m"]["sweep"]
    from deepcis.cv import cv_models

    assert cv_models(validate_config(cfg | {"cv": {"folds": 3}})) == ["plain"]
    with pytest.raises(ConfigError, match="cv.models: 'm' is swept"):
        validate_config(cfg | {"cv": {"folds": 3, "models": ["m"]}})


def test_per_task_members_are_each_swept(tmp_path):
    config = validate_config(_config(tmp_path, {"parameters": {"learning_rate": [0.001, 0.01]}}, per_task=True))
    config["models"]["m"]["tasks"] = ["A", "B"]
    expand_per_task_models(config)
    plans = plan_sweeps(config)
    assert list(plans) == ["m__A", "m__B"]
    assert list(plans["m__B"]) == ["learning_rate~0.001", "learning_rate~0.01"]
    assert plans["m__B"]["learning_rate~0.01"]["tasks"] == ["B"]


def test_metric_must_exist_for_the_model_tasks(tmp_path):
    spec = validate_config(_config(tmp_path, {"parameters": GRID}))["models"]["m"]
    spec["tasks"] = ["sig"]
    with pytest.raises(ConfigError, match="'auroc' is a metric of binary tasks"):
        check_sweep_metric("m", spec, {"sig": "regression"})
    spec["sweep"]["metric"] = "pearson"
    check_sweep_metric("m", spec, {"sig": "regression"})
    spec["sweep"]["metric"] = "loss"
    check_sweep_metric("m", spec, {"sig": "binary"})


def _metrics(auroc, auprc):
    return pd.DataFrame({"task": ["t1", "t2"], "auroc": auroc, "auprc": auprc, "pearson": [np.nan] * 2,
                         "spearman": [np.nan] * 2})  # fmt: skip


VALID = {"p1": _metrics([0.70, 0.72], [0.5, 0.5]), "p2": _metrics([0.80, 0.78], [0.4, 0.4]),
         "p3": _metrics([0.79, np.nan], [0.6, 0.6])}  # fmt: skip
INFOS = {"p1": {"best_val_loss": 0.5, "best_epoch": 2, "epochs_run": 4, "train_seconds": 10.0, "parameters": 100},
         "p2": {"best_val_loss": 0.6, "best_epoch": 3, "epochs_run": 4, "train_seconds": 12.0, "parameters": 200},
         "p3": {"best_val_loss": 0.4, "best_epoch": 1, "epochs_run": 3, "train_seconds": 8.0, "parameters": 300}}  # fmt: skip


def test_selection_uses_the_validation_metric_only():
    winner, scores = select_point(VALID, INFOS, "auroc")
    assert winner == "p2" and scores["p3"] == pytest.approx(0.79)  # an undefined task is skipped
    assert select_point(VALID, INFOS, "auprc")[0] == "p3"
    assert select_point(VALID, INFOS, "loss")[0] == "p3"  # the lowest validation loss
    tie = {"a": _metrics([0.7, 0.7], [0.5, 0.5]), "b": _metrics([0.7, 0.7], [0.5, 0.5])}
    assert select_point(tie, {"a": {}, "b": {}}, "auroc")[0] == "a"  # ties: the first in sweep order
    # the test split cannot sway the choice: the selection takes no test metrics at all, and a
    # table built with any winner test metrics keeps the same winner and validation values
    selection = {"winner": winner, "scores": scores, "metric": "auroc"}
    values = {"p1": {"lr": 0.001}, "p2": {"lr": 0.003}, "p3": {"lr": 0.01}}
    tables = [sweep_table(values, VALID, INFOS, selection, _metrics(test, test)) for test in ([0.99, 0.99], [0.1, 0.1])]
    for table in tables:
        assert table["selected"].tolist() == [False, True, False]
        assert table["test_auroc"].notna().tolist() == [False, True, False]  # the winner's only
    assert tables[0].drop(columns=["test_auroc", "test_auprc"]).equals(tables[1].drop(columns=["test_auroc", "test_auprc"]))
    assert "valid_pearson" not in tables[0] and tables[0].loc[1, "parameters"] == 200
    with pytest.raises(InputError, match="no point has a defined validation auroc"):
        select_point({"a": _metrics([np.nan, np.nan], [0.1, 0.1])}, {"a": {}}, "auroc")


def test_sweep_figure_and_page(tmp_path):
    winner, scores = select_point(VALID, INFOS, "auroc")
    selection = {"winner": winner, "scores": scores, "metric": "auroc"}
    values = {"p1": {"lr": 0.001, "opt": "adam"}, "p2": {"lr": 0.01, "opt": "sgd"}, "p3": {"lr": 0.1, "opt": "adam"}}
    table = sweep_table(values, VALID, INFOS, selection, _metrics([0.9, 0.8], [0.5, 0.5]))
    sweep_figure(table, ["lr", "opt"], "auroc", tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 5000
    html = sweep_html("m", table, ["lr", "opt"], selection)
    assert "selected by validation auroc" in html and html.count('class="best"') == 12  # the winner's row
    assert "0.850" in html  # the winner's test AUROC (mean of 0.9 and 0.8), in its row only


def test_a_diverged_point_is_recorded_and_skipped(tmp_path):
    """What a point whose training diverged leaves (the error rule sweep_train catches; the
    end-to-end test trains a real point at learning rate 1e38, NaN after one step): a record,
    empty files, no resume state; the selection takes another point, the table says which failed."""
    out = tmp_path / "sweep" / "m" / "learning_rate~1e+38"
    (tmp_path / "sweep" / "m" / "learning_rate~1e+38.resume").mkdir(parents=True)
    out.mkdir()
    (out / "model.keras").write_bytes(b"left from a killed run")
    outputs = {"model": "model.keras", "info": "model.json", "history": "history.tsv", "curves": "curves.png",
               "valid_predictions": "v.h5", "test_predictions": "t.h5", "valid_metrics": "v.tsv", "test_metrics": "t.tsv"}  # fmt: skip
    params = SimpleNamespace(spec={"train": {"learning_rate": 1e38}}, resume_dir=f"{out}.resume")
    smk = SimpleNamespace(output=SimpleNamespace(**{k: str(out / v) for k, v in outputs.items()}),
                          wildcards=SimpleNamespace(model="m"), params=params)  # fmt: skip
    error = TrainingDivergedError(f"{out}: training diverged, so no model was saved: the training loss became nan")
    info = record_divergence(smk, error)
    assert info["status"] == "diverged" and "training loss became nan" in info["error"] and info["learning_rate"] == 1e38
    assert json.loads((out / "model.json").read_text()) == info
    assert all((out / v).stat().st_size == 0 for k, v in outputs.items() if k != "info")
    assert not (tmp_path / "sweep" / "m" / "learning_rate~1e+38.resume").exists()
    # the selection and the table: the diverged point has no score and is never chosen
    points = ["learning_rate~1e+38", "learning_rate~0.001"]
    infos = {points[0]: info, points[1]: INFOS["p1"]}
    valid = {points[0]: None, points[1]: VALID["p1"]}
    assert read_point_files(points, [out / "v.tsv", tmp_path / "none.tsv"], "metrics", skip=set(points))[points[0]] is None
    for metric in ("auroc", "loss"):
        winner, scores = select_point(valid, infos, metric)
        assert winner == points[1] and np.isnan(scores[points[0]])
    selection = {"winner": points[1], "scores": scores, "metric": "loss"}
    table = sweep_table({p: {"lr": v} for p, v in zip(points, (1e38, 0.001))}, valid, infos, selection, VALID["p1"])
    assert table["status"].tolist() == ["diverged", "trained"] and table["valid_auroc"].isna().tolist() == [True, False]
    assert "<td>diverged</td>" in sweep_html("m", table, ["lr"], selection)
    with pytest.raises(InputError, match=r"every point of the sweep diverged \(1\)"):
        select_point({points[0]: None}, {points[0]: info}, "auroc")
