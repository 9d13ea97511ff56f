"""Metrics (against hand-computed values, NA rules, NaN masking) and evaluation plots."""

import math

import numpy as np
import pandas as pd
import pytest

from deepcis import eval_plots, metrics
from deepcis.predict import Predictions

NAN = np.nan


def test_binary_metrics_by_hand():
    # positives 0.35 and 0.8, negatives 0.1 and 0.4: 3 of 4 pairs ranked right -> AUROC 0.75;
    # ranked 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = 1/2 * 1 + 1/2 * 2/3
    y = np.array([[0], [0], [1], [1]], dtype=np.uint8)
    p = np.array([[0.1], [0.4], [0.35], [0.8]])
    m = metrics.task_metrics(y, p, ["t"])
    assert list(m.columns) == metrics.COLUMNS
    row = m.iloc[0]
    assert row["kind"] == "binary" and row["n"] == 4 and row["positives"] == 2 and row["negatives"] == 2
    assert row["auroc"] == pytest.approx(0.75)
    assert row["auprc"] == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert math.isnan(row["pearson"]) and row["note"] == ""


def test_ties_and_perfect_ranking():
    y = np.array([[0, 0], [1, 1], [0, 0], [1, 1]], dtype=float)
    p = np.array([[0.5, 0.1], [0.5, 0.9], [0.5, 0.2], [0.5, 0.8]])
    m = metrics.task_metrics(y, p, ["tied", "perfect"])
    assert m["auroc"].tolist() == pytest.approx([0.5, 1.0])
    assert m.loc[1, "auprc"] == pytest.approx(1.0)
    assert m.loc[0, "auprc"] == pytest.approx(0.5)  # all tied: precision = positive rate


def test_nan_labels_masked_per_task():
    y = np.array([[0, 1], [0, NAN], [1, 0], [1, NAN], [NAN, 1], [NAN, 0]])
    p = np.array([[0.1, 0.9], [0.4, 0.0], [0.35, 0.2], [0.8, 1.0], [0.0, 0.7], [1.0, 0.3]])
    m = metrics.task_metrics(y, p, ["a", "b"])
    assert m["n"].tolist() == [4, 4]
    assert m.loc[0, "auroc"] == pytest.approx(0.75)  # the rows with NaN labels would change it
    assert m.loc[1, "auroc"] == pytest.approx(1.0)
    assert m.loc[1, "positives"] == 2 and m.loc[1, "negatives"] == 2


def test_na_tasks_with_reasons():
    y = np.array([[0, 1, NAN, 1], [0, 1, NAN, 0], [0, 1, NAN, 1]])
    p = np.array([[0.1, 0.2, 0.3, NAN], [0.2, 0.3, 0.4, 0.5], [0.3, 0.4, 0.5, 0.6]])
    m = metrics.task_metrics(y, p, ["no_pos", "no_neg", "all_nan", "nan_pred"])
    assert m[["auroc", "auprc"]].isna().all().all()
    assert m.loc[0, "note"] == "no positives among 3 labelled windows"
    assert m.loc[1, "note"] == "no negatives among 3 labelled windows"
    assert m.loc[2, "note"] == "no labelled windows (all labels missing)"
    assert m.loc[2, "n"] == 0 and m.loc[2, "positives"] == 0
    assert m.loc[3, "note"] == "1 non-finite predictions"


def test_regression_pearson_spearman_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0, NAN])
    p = np.array([1.0, 9.0, 4.0, 16.0, 100.0])
    m = metrics.task_metrics(y, p, ["r"], kinds="regression")
    row = m.iloc[0]
    # centred y (-1.5, -0.5, 0.5, 1.5), p (-6.5, 1.5, -3.5, 8.5): r = 20 / sqrt(5 * 129)
    assert row["pearson"] == pytest.approx(20 / math.sqrt(645))
    assert row["spearman"] == pytest.approx(0.8)  # ranks (1, 3, 2, 4) vs (1, 2, 3, 4)
    assert row["n"] == 4 and pd.isna(row["positives"]) and math.isnan(row["auroc"])
    flat = metrics.task_metrics(np.ones((3, 2)), np.array([[1, 1.0], [2, 1], [3, 1]]), ["c", "d"], kinds="regression")
    assert flat["note"].tolist() == ["constant targets", "constant targets"]
    const = metrics.task_metrics(np.array([[1.0], [2.0]]), np.array([[3.0], [3.0]]), ["e"], kinds={"e": "regression"})
    assert const.loc[0, "note"] == "constant predictions"


def test_mixed_kinds_and_bad_input():
    y = np.array([[0, 0.5], [1, 1.5], [0, 2.5]])
    p = np.array([[0.2, 1.0], [0.9, 2.0], [0.1, 3.0]])
    m = metrics.task_metrics(y, p, ["bin", "reg"], kinds={"reg": "regression"})
    assert m["kind"].tolist() == ["binary", "regression"]
    assert m.loc[0, "auroc"] == 1.0 and m.loc[1, "pearson"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="labels other than 0 and 1 .*kind 'regression'"):
        metrics.task_metrics(y, p, ["bin", "reg"])
    with pytest.raises(ValueError, match="unknown task kind"):
        metrics.task_metrics(y, p, ["a", "b"], kinds="poisson")
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.task_metrics(y, p[:, :1], ["a", "b"])


def test_summary_and_tsv_round_trip(tmp_path):
    y = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0], [1, 1, 1]], dtype=float)
    good = metrics.task_metrics(y, np.array([[0.1, 0.5, 0.2], [0.9, 0.5, 0.6], [0.2, 0.5, 0.7], [0.8, 0.5, 0.8]]), ["a", "b", "c"])
    bad = metrics.task_metrics(y, np.array([[0.9, 0.5, 0.2], [0.1, 0.5, 0.1], [0.8, 0.5, 0.3], [0.2, 0.5, 0.4]]), ["a", "b", "c"])
    s = metrics.summarise({"good": good, "bad": bad})
    assert list(s.columns) == metrics.SUMMARY_COLUMNS
    assert s["tasks"].tolist() == [3, 3] and s["evaluated"].tolist() == [2, 2] and s["na"].tolist() == [1, 1]
    assert s.loc[0, "median_auroc"] == pytest.approx((1.0 + 0.75) / 2)
    assert s.loc[1, "mean_auroc"] == pytest.approx((0.0 + 0.5) / 2)
    assert math.isnan(s.loc[0, "median_pearson"])
    metrics.write_tsv(good, tmp_path / "m.tsv")
    text = (tmp_path / "m.tsv").read_text()
    assert "\tNA\t" in text and "no negatives among 4 labelled windows" in text
    back = metrics.read_metrics(tmp_path / "m.tsv")
    pd.testing.assert_frame_equal(back, good, check_exact=False, rtol=1e-5)


def test_curve_points():
    y = np.array([0, 0, 1, 1, NAN])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.99])
    fpr, tpr = metrics.roc_points(y, s)
    assert fpr[0] == 0 and tpr[-1] == 1 and fpr[-1] == 1
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    recall, precision = metrics.pr_points(y, s)
    assert recall[0] == 1 and recall[-1] == 0 and precision[0] == pytest.approx(0.5)
    assert metrics.roc_points([1, 1, NAN], [0.1, 0.2, 0.3]) is None and metrics.pr_points([NAN], [0.1]) is None
    x, yy = metrics.thin_curve(np.arange(10_000.0), np.arange(10_000.0), max_points=100)
    assert len(x) == 100 and x[0] == 0 and x[-1] == 9999


def _predictions(n_tasks, seed, quality=1.5, n=300):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_tasks)) < 0.3).astype(np.float32)
    y[rng.random((n, n_tasks)) < 0.05] = np.nan
    y[:, -1] = 0  # one task without positives: an NA panel
    p = 1 / (1 + np.exp(-(quality * np.nan_to_num(y) + rng.normal(size=y.shape))))
    coords = pd.DataFrame({"chrom": ["chr1"] * n, "start": np.arange(n) * 100, "end": np.arange(n) * 100 + 100})
    return Predictions([f"task{i}" for i in range(n_tasks)], y, p.astype(np.float32), coords)


@pytest.mark.parametrize("kind", ["roc", "pr"])
def test_curve_figures_written(tmp_path, kind):
    a, b = _predictions(4, 1), _predictions(4, 2, quality=0.5)
    eval_plots.curves_figure({"cnn": a, "kmer": b}, tmp_path / "small.png", kind=kind)
    many = _predictions(30, 3)
    eval_plots.curves_figure({"cnn": many}, tmp_path / "many.png", kind=kind, max_panels=9)
    for name in ("small.png", "many.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    assert not list(tmp_path.glob(".*tmp"))


def test_regression_panel_written(tmp_path):
    p = _predictions(3, 4)
    p.y_true[:, 1] = np.random.default_rng(0).normal(size=len(p))
    eval_plots.curves_figure({"m": p}, tmp_path / "r.png", kinds={"task1": "regression"})
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_comparison_and_summary_figures(tmp_path):
    ms = {}
    for i, name in enumerate(["cnn", "danq", "kmer"]):
        p = _predictions(12, 10 + i, quality=1.0 + i)
        ms[name] = metrics.task_metrics(p.y_true, p.y_pred, p.tasks)
    eval_plots.comparison_figure({k: ms[k] for k in ("cnn", "kmer")}, tmp_path / "pair.png")
    eval_plots.comparison_figure(ms, tmp_path / "boxes.png")
    eval_plots.summary_table(metrics.summarise(ms), tmp_path / "summary.png", title="test split")
    for name in ("pair.png", "boxes.png", "summary.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 10_000
