"""Multi-modal tasks: bigWig targets, measured-region masks, float HDF5 labels, the tasks
sheet's signal columns, per-modality masked losses with weights, a multi-modal model
trained end to end, and regression metrics next to binary ones."""

import numpy as np
import pandas as pd
import pytest

from deepcis import dataset
from deepcis.config import read_tasks
from deepcis.errors import ConfigError, InputError
from deepcis.signals import (
    TaskTargets,
    add_task_targets,
    measured_mask,
    read_measured,
    window_signal,
    write_bigwig,
)

SIZES = {"chrA": 5000, "chrB": 3000}


@pytest.fixture(scope="module")
def bigwig(tmp_path_factory):
    rng = np.random.default_rng(0)
    tracks = {c: np.round(rng.gamma(0.5, 4.0, n) * (rng.random(n) < 0.3), 2) for c, n in SIZES.items()}
    path = tmp_path_factory.mktemp("bw") / "s.bw"
    write_bigwig(path, SIZES, tracks)
    return path, tracks


def test_window_signal_matches_numpy(bigwig):
    path, tracks = bigwig
    chrom = ["chrA", "chrB", "chrA", "chrA"]
    start = np.array([0, 100, 4000, 1234])
    end = start + 600
    got_mean = window_signal(path, chrom, start, end, 200, "mean", "none", span=700)  # several spans
    got_sum = window_signal(path, chrom, start, end, 200, "sum", "log1p")
    for i, (c, s) in enumerate(zip(chrom, start)):
        ref = tracks[c][s + 200 : s + 400]
        assert got_mean[i] == pytest.approx(ref.mean(), rel=1e-5)
        assert got_sum[i] == pytest.approx(np.log1p(ref.sum()), rel=1e-5)
    assert np.isnan(window_signal(path, ["chrZ"], [0], [600], 200))[0]  # not measured there


def test_bigwig_checks(bigwig, tmp_path):
    from deepcis.signals import check_bigwig

    path, _ = bigwig
    assert check_bigwig(path, SIZES) == []
    assert "chrC" in check_bigwig(path, SIZES | {"chrC": 100})[0]
    with pytest.raises(InputError, match="chromosome chrA is 5000 bp long in the bigWig but 4000 bp in the genome"):
        check_bigwig(path, {"chrA": 4000})
    (tmp_path / "x.bw").write_text("not a bigwig")
    with pytest.raises(InputError, match="not a bigWig file"):
        check_bigwig(tmp_path / "x.bw", SIZES)
    with pytest.raises(InputError, match="bigWig file not found"):
        check_bigwig(tmp_path / "none.bw", SIZES)


def test_measured_regions_and_targets(bigwig, tmp_path):
    path, tracks = bigwig
    (tmp_path / "m.bed").write_text("chrA\t0\t1000\nchrA\t900\t2000\n")
    measured = read_measured(tmp_path / "m.bed", SIZES)
    assert measured["chrA"].tolist() == [[0, 2000]]
    windows = pd.DataFrame({"chrom": ["chrA", "chrA", "chrB"], "start": [0, 1800, 0], "end": [600, 2400, 600],
                            "name": "peak", "split": "train", "ctcf": np.array([1, 0, 1], np.uint8)})  # fmt: skip
    assert measured_mask(measured, windows["chrom"], windows["start"], windows["end"], 200).tolist() == [True, False, False]
    rows = [{"name": "ctcf", "type": "binary", "measured": str(tmp_path / "m.bed")},
            {"name": "sig", "type": "signal", "signal": str(path), "aggregate": "mean", "transform": "log1p"}]  # fmt: skip
    out, tasks, warnings = add_task_targets(windows, rows, SIZES, 200)
    assert tasks == ["ctcf", "sig"] and warnings == [] and out.columns[-2:].tolist() == tasks
    assert out["ctcf"].dtype == np.float32 and np.isnan(out["ctcf"]).tolist() == [False, True, True]
    assert out["sig"].iloc[1] == pytest.approx(np.log1p(tracks["chrA"][2000:2200].mean()), rel=1e-5)
    # the gather applies them block by block: same frame; "no label" only when no block had one
    targets = TaskTargets(rows, SIZES, 200)
    parts = [targets.apply(windows.iloc[:1]), targets.apply(windows.iloc[1:])]
    pd.testing.assert_frame_equal(pd.concat(parts), out)
    assert targets.unlabelled() == []
    targets = TaskTargets(rows, SIZES, 200)
    targets.apply(windows.iloc[1:])  # both windows outside ctcf's measured regions
    assert [w.split(":")[0] for w in targets.unlabelled()] == ["task ctcf"]


def test_encode_float_labels_keep_nan(tmp_path):
    from _utils import write_fasta

    from deepcis.encode import encode_bed
    from deepcis.prepare import write_windows_bed

    rng = np.random.default_rng(1)
    write_fasta(tmp_path / "g.fa", {"chrA": "".join(rng.choice(list("ACGT"), 3000))})
    windows = pd.DataFrame({"chrom": "chrA", "start": [0, 600, 1200], "end": [600, 1200, 1800], "name": "peak",
                            "split": "train", "a": np.array([1, np.nan, 0], np.float32),
                            "s": np.array([0.25, 3.5, np.nan], np.float32)})  # fmt: skip
    write_windows_bed(windows, ["a", "s"], "train", tmp_path / "w.bed")
    attrs = {"genome": "g", "genome_sha256": "0", "label_mode": "deepsea", "split": "train", "config_sha256": "0"}
    encode_bed(tmp_path / "g.fa", tmp_path / "w.bed", tmp_path / "d.h5", 600, attrs, label_dtype="float32")
    with dataset.open_dataset(tmp_path / "d.h5") as f:
        y = f["y"][()]
    assert y.dtype == np.float32
    assert np.array_equal(y, windows[["a", "s"]].to_numpy(np.float32), equal_nan=True)
    with pytest.raises(InputError, match="labels must be 0 or 1"):
        encode_bed(tmp_path / "g.fa", tmp_path / "w.bed", tmp_path / "e.h5", 600, attrs)  # uint8 refuses NaN


def _sheet(tmp_path, rows):
    (tmp_path / "p.bed").write_text("chrA\t10\t20\n")
    (tmp_path / "s.bw").write_bytes(b"")
    text = "name\tpeaks\ttype\tsignal\tloss\tweight\n" + "".join("\t".join(r) + "\n" for r in rows)
    (tmp_path / "t.tsv").write_text(text)
    return tmp_path / "t.tsv"


def test_tasks_sheet_signal_columns(tmp_path):
    sheet = _sheet(tmp_path, [["a", "p.bed", "", "", "", ""], ["s", "", "signal", "s.bw", "poisson", "0.5"]])
    a, s = read_tasks(sheet, base_dir=tmp_path)
    assert a | {} == {"name": "a", "peaks": str(tmp_path / "p.bed"), "type": "binary", "loss": "bce", "weight": 1.0,
                      "cell_type": "", "assay": "", "aggregate": "mean", "transform": "log1p"}  # fmt: skip
    assert s["type"] == "signal" and s["signal"] == str(tmp_path / "s.bw") and s["loss"] == "poisson" and s["weight"] == 0.5
    assert s["aggregate"] == "mean" and s["transform"] == "log1p"


@pytest.mark.parametrize(
    "row, message",
    [
        (["s", "p.bed", "signal", "s.bw", "", ""], "a signal task takes its target from column 'signal'"),
        (["s", "", "signal", "", "", ""], "a signal task needs a bigWig in column 'signal'"),
        (["s", "", "signal", "s.bw", "bce", ""], "a signal task takes loss mse or poisson"),
        (["s", "", "signal", "missing.bw", "", ""], "signal file missing.bw not found"),
        (["a", "p.bed", "", "", "mse", ""], "a binary task takes loss bce"),
        (["a", "p.bed", "", "", "", "heavy"], "column weight"),
        (["a", "", "", "", "", ""], "no peak file"),
    ],
)
def test_tasks_sheet_errors(tmp_path, row, message):
    with pytest.raises(ConfigError, match=message) as error:
        read_tasks(_sheet(tmp_path, [row]), base_dir=tmp_path)
    assert "line 2" in str(error.value)


def test_multimodal_loss_masks_and_weights():
    import keras

    from deepcis.keras_objects import MultiModalLoss

    y_true = np.array([[1, 0.5, 2.0], [np.nan, 1.5, np.nan], [0, np.nan, 1.0]], np.float32)
    y_pred = np.array([[0.8, 0.7, 1.5], [0.3, 1.0, 9.0], [0.1, 5.0, 0.5]], np.float32)
    loss = MultiModalLoss(["bce", "mse", "poisson"], [1.0, 2.0, 0.5])
    got = float(loss(y_true, y_pred))
    bce = -(np.log(0.8) + np.log(0.9)) / 2
    mse = 2.0 * ((0.7 - 0.5) ** 2 + (1.0 - 1.5) ** 2) / 2
    pois = 0.5 * ((1.5 - 2 - 2 * np.log(1.5 / 2)) + (0.5 - 1 - np.log(0.5))) / 2
    assert got == pytest.approx(bce + mse + pois, rel=1e-4)
    # the masked entries do not reach the gradients
    import tensorflow as tf

    pred = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(y_true, pred)
    grad = tape.gradient(value, pred).numpy()
    assert np.isfinite(grad).all() and grad[1, 0] == 0 and grad[1, 2] == 0 and grad[2, 1] == 0
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert float(again(y_true, y_pred)) == pytest.approx(got)


MOTIF = "TGACTCAGCA"


def _split(path, n, seed, split):
    """Binary task `site` (motif planted) and signal task `dose` (log1p of the copy number x 3)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, 100))
    copies = rng.integers(0, 4, n)
    m = np.array(["ACGT".index(c) for c in MOTIF])
    for row in range(n):
        for k in range(copies[row]):
            codes[row, 5 + 30 * k : 5 + 30 * k + len(m)] = m
    y = np.stack([(copies > 0).astype(np.float32), np.log1p(3.0 * copies).astype(np.float32)], axis=1)
    y[rng.random(n) < 0.2, 1] = np.nan  # the signal is not measured everywhere
    attrs = {"genome": "synthetic", "genome_sha256": "0", "label_mode": "deepsea", "split": split, "config_sha256": "0"}
    with dataset.create_dataset(path, n, 100, ["site", "dose"], attrs, label_dtype=np.float32) as f:
        dataset.write_rows(f, 0, np.eye(4, dtype=np.uint8)[codes], y, ["chr1"] * n, np.arange(n) * 100, np.arange(n) * 100 + 100)
    return path


def test_multimodal_model_trains_and_is_evaluated_per_kind(tmp_path):
    from deepcis.keras_objects import load_model
    from deepcis.metrics import metrics_from_predictions
    from deepcis.predict import predict_dataset
    from deepcis.training import overfit_one_batch, train_model

    train, valid = _split(tmp_path / "train.h5", 384, 1, "train"), _split(tmp_path / "valid.h5", 128, 2, "valid")
    hp = {"conv_filters": [16, 16], "kernel_size": 7, "pool_size": 2, "dense_units": 32, "dropout": [0.0, 0.1]}
    specs = {"site": {"type": "binary", "loss": "bce", "weight": 1.0}, "dose": {"type": "signal", "loss": "mse", "weight": 2.0}}
    training = {"epochs": 5, "batch_size": 32, "learning_rate": 0.003, "early_stopping_patience": 8}
    assert overfit_one_batch(train, "deepsea", hp, training, seed=1, threads=1, task_specs=specs)["passed"]
    info = train_model(train, valid, tmp_path / "m", "mm", "deepsea", hp, training, seed=1, threads=1, task_specs=specs)
    assert [s["loss"] for s in info["task_specs"]] == ["bce", "mse"] and info["task_specs"][1]["weight"] == 2.0
    model = load_model(tmp_path / "m" / "model.keras")
    assert [layer.name for layer in model.layers][-2:] == ["output_activation", "task_metadata"]
    from deepcis.variants import _output_is_sigmoid, effect_scores

    sigmoid = _output_is_sigmoid(model)  # variant scores: logit_diff for the binary task only
    assert sigmoid.tolist() == [True, False]
    scores = effect_scores(np.array([[0.2, 1.5]]), np.array([[0.6, 2.5]]), sigmoid)
    assert np.isfinite(scores["logit_diff"][0, 0]) and np.isnan(scores["logit_diff"][0, 1])
    assert scores["diff"][0].tolist() == pytest.approx([0.4, 1.0])
    predict_dataset(tmp_path / "m", valid, tmp_path / "p.h5", reverse_complement=False)
    metrics = metrics_from_predictions(tmp_path / "p.h5", kinds=["binary", "regression"]).set_index("task")
    assert metrics.loc["site", "auroc"] > 0.9 and np.isnan(metrics.loc["site", "pearson"])
    assert metrics.loc["dose", "pearson"] > 0.7 and metrics.loc["dose", "spearman"] > 0.6
    assert np.isnan(metrics.loc["dose", "auroc"]) and metrics.loc["dose", "n"] < 128  # NaN targets left out
