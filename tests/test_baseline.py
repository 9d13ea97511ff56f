"""The k-mer baseline: features against a naive count, learning planted motifs, save/load."""

import numpy as np
import pytest
from _utils import make_split

from deepcis import baseline, dataset
from deepcis.errors import InputError
from deepcis.metrics import metrics_from_predictions
from deepcis.predict import read_predictions

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def one_hot(seqs):
    return np.array([[[int(c == b) for b in "ACGT"] for c in s.upper()] for s in seqs], dtype=np.uint8)


def naive_counts(seq, ks):
    """Count every k-mer without an N; a k-mer and its reverse complement share a key."""
    counts = {}
    for k in ks:
        for i in range(len(seq) - k + 1):
            kmer = seq[i : i + k]
            if "N" in kmer:
                continue
            key = min(kmer, kmer[::-1].translate(COMPLEMENT))
            counts[key] = counts.get(key, 0) + 1
    return counts


def test_feature_names_are_canonical():
    names = baseline.kmer_names((1, 2, 3))
    assert names[:2] == ["A", "C"]  # T = rc(A), G = rc(C)
    assert names[2:12] == ["AA", "AC", "AG", "AT", "CA", "CC", "CG", "GA", "GC", "TA"]
    assert len(names) == len(set(names)) == 2 + 10 + 32
    assert baseline.n_features() == 2 + 10 + 32 + 136 + 512 + 2080
    for name in baseline.kmer_names((4, 5)):
        assert name <= name[::-1].translate(COMPLEMENT)


def test_counts_equal_naive_python_count():
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGTN"), p=[0.24, 0.24, 0.24, 0.24, 0.04], size=40)) for _ in range(25)]
    seqs += ["NNNNNNNNNN" + "ACGT" * 7 + "NN", "A" * 40]
    ks = (1, 2, 3, 4, 5, 6)
    names = baseline.kmer_names(ks)
    counts = baseline.kmer_counts(one_hot(seqs), ks)
    assert counts.shape == (len(seqs), len(names))
    for row, seq in zip(counts, seqs):
        expected = naive_counts(seq, ks)
        got = {name: int(c) for name, c in zip(names, row) if c}
        assert got == expected


def test_reverse_complement_and_n_handling():
    ks = (2, 3)
    names = baseline.kmer_names(ks)
    fwd = "AACGTTTGCA"
    rc = fwd[::-1].translate(COMPLEMENT)
    c = baseline.kmer_counts(one_hot([fwd, rc]), ks)
    assert np.array_equal(c[0], c[1])  # both strands counted: a window and its reverse complement agree
    c = baseline.kmer_counts(one_hot(["AAC", "GTT", "aac"]), ks)
    assert np.array_equal(c[0], c[1]) and np.array_equal(c[0], c[2]) and c[0][names.index("AAC")] == 1  # GTT = AAC
    c = baseline.kmer_counts(one_hot(["AANAA"]), ks)[0]
    assert c.sum() == 2 and c[names.index("AA")] == 2  # only the 2-mers AA, AA; no 3-mer avoids the N
    # a row that is not exactly one-hot breaks k-mers like an N
    x = one_hot(["AAAA"])
    x[0, 1] = [1, 1, 0, 0]
    assert baseline.kmer_counts(x, (1, 2))[0].tolist()[:2] == [3, 0] and baseline.kmer_counts(x, (2,)).sum() == 1
    # ks order is kept; windows shorter than k give zeros
    assert baseline.kmer_counts(one_hot(["ACG"]), (3, 1, 5)).sum() == 1 + 3


def test_frequency_and_log1p_transforms():
    x = one_hot(["ACGTACGTAC"])
    counts = baseline.kmer_counts(x, (1, 2)).astype(np.float32)
    freq = baseline.kmer_features(x, (1, 2))
    assert freq[0, :2].sum() == pytest.approx(1.0) and freq[0, 2:].sum() == pytest.approx(1.0)  # per k, 10 and 9 positions
    assert np.allclose(baseline.kmer_features(x, (1, 2), "log1p"), np.log1p(counts))
    with pytest.raises(ValueError, match="unknown transform"):
        baseline.kmer_features(x, (1,), "tfidf")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted")
    return (make_split(d / "train.h5", 800, seed=1), make_split(d / "valid.h5", 200, seed=2, split="valid"),
            make_split(d / "test.h5", 300, seed=3, split="test"))  # fmt: skip


def test_learns_planted_kmers_and_round_trips(planted, tmp_path):
    train, valid, test = planted
    model = baseline.fit_kmer_baseline(train, valid, ks=(3, 4, 5, 6), Cs=(0.01, 0.1), seed=0)
    assert model.tasks == ["ap1", "gata"] and model.coef.shape == (2, baseline.n_features((3, 4, 5, 6)))
    assert set(model.C) <= {0.01, 0.1} and (model.valid_auroc > 0.9).all() and model.notes == ["", ""]
    baseline.predict_baseline(model, test, tmp_path / "pred.h5")
    m = metrics_from_predictions(tmp_path / "pred.h5")
    assert (m["auroc"] > 0.9).all(), m
    baseline.save_baseline(model, tmp_path / "kmer.npz")
    loaded = baseline.load_baseline(tmp_path / "kmer.npz")
    assert loaded.ks == (3, 4, 5, 6) and loaded.tasks == model.tasks and np.array_equal(loaded.C, model.C)
    baseline.predict_baseline(tmp_path / "kmer.npz", test, tmp_path / "pred2.h5")
    a, b = read_predictions(tmp_path / "pred.h5"), read_predictions(tmp_path / "pred2.h5")
    assert np.allclose(a.y_pred, b.y_pred, atol=1e-6)
    assert b.attrs["predictor"] == "kmer_baseline" and len(b.attrs["model_sha256"]) == 64 and b.attrs["split"] == "test"
    report = loaded.report()
    assert list(report.columns) == ["task", "C", "valid_auroc", "train_n", "train_positives", "note"]
    # fully deterministic given the seed
    again = baseline.fit_kmer_baseline(train, valid, ks=(3, 4, 5, 6), Cs=(0.01, 0.1), seed=0)
    assert np.allclose(again.coef, model.coef)


def test_one_class_task_gets_constant_prediction(tmp_path):
    def split(path, n, seed, name):
        make_split(path, n, seed=seed, split=name)
        with dataset.open_dataset(path) as f:
            x, y = dataset.read_x(f), f["y"][()].astype(np.float32)
        y[:, 1] = 0  # gata: no positives at all
        y[: n // 4, 0] = np.nan  # ap1: a quarter unlabelled
        attrs = {"genome": "synthetic", "genome_sha256": "0", "label_mode": "deepsea", "split": name, "config_sha256": "0"}
        with dataset.create_dataset(path, n, 100, ["ap1", "gata"], attrs, label_dtype=np.float32) as f:
            dataset.write_rows(f, 0, x, y, ["chr1"] * n, np.arange(n) * 100, np.arange(n) * 100 + 100)
        return path

    train, valid = split(tmp_path / "t.h5", 300, 1, "train"), split(tmp_path / "v.h5", 100, 2, "valid")
    model = baseline.fit_kmer_baseline(train, valid, ks=(4, 5), Cs=(0.1,), seed=0)
    assert model.constant[1] == 0.0 and np.isnan(model.C[1]) and "one class only" in model.notes[1]
    assert model.info["train_n"] == [225, 300]
    assert model.notes[0] == "" and model.C[0] == 0.1
    baseline.predict_baseline(model, valid, tmp_path / "p.h5")
    p = read_predictions(tmp_path / "p.h5")
    assert np.all(p.y_pred[:, 1] == 0.0) and np.isnan(p.y_true[:25, 0]).all()
    m = metrics_from_predictions(tmp_path / "p.h5")
    assert m.loc[1, "note"].startswith("no positives") and m.loc[0, "auroc"] > 0.8


def test_mismatched_inputs_refused(planted, tmp_path):
    train, valid, _ = planted
    other = make_split(tmp_path / "o.h5", 50, tasks=("ap1", "ctcf"), split="valid")
    with pytest.raises(InputError, match=r"tasks \['ap1', 'ctcf'\] differ from the training file's"):
        baseline.fit_kmer_baseline(train, other, ks=(2,))
    model = baseline.fit_kmer_baseline(train, valid, ks=(2,), Cs=(1.0,))
    short = make_split(tmp_path / "s.h5", 50, length=80, split="test")
    with pytest.raises(InputError, match="window length 80 differs from the model's window length 100"):
        baseline.predict_baseline(model, short, tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()
    with pytest.raises(InputError, match="not a deepcis k-mer baseline file"):
        (tmp_path / "bad.npz").write_bytes(b"nonsense")
        baseline.load_baseline(tmp_path / "bad.npz")


def test_c_path_stops_past_the_validation_peak():
    """C goes up the grid with warm starts and stops once validation AUROC stops improving;
    the whole grid (c_patience None) fits every C; c_patience below 1 is refused."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 40)).astype(np.float32)
    y = (x[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)
    xv = rng.normal(size=(200, 40)).astype(np.float32)
    yv = (xv[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    Cs = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    fits = []

    from sklearn.linear_model import LogisticRegression

    original = LogisticRegression.fit

    def counting_fit(self, *args, **kwargs):  # the real fit, recording the C of each call
        fits.append(self.C)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LogisticRegression, "fit", counting_fit)
        path = baseline._fit_one(x, y, xv, yv, Cs, 0, "lbfgs", None, 1000, c_patience=1)
        stopped = list(fits)
        fits.clear()
        whole = baseline._fit_one(x, y, xv, yv, Cs, 0, "lbfgs", None, 1000, c_patience=None)
    assert fits == list(Cs) and stopped == list(Cs[: len(stopped)]) and len(stopped) < len(Cs)
    assert path[2] == whole[2] and path[3] == pytest.approx(whole[3], abs=1e-3)
    assert path[2] == stopped[-2]  # the last C fitted is the first past the peak
    with pytest.raises(ValueError, match="c_patience"):
        baseline.fit_kmer_baseline("unused.h5", "unused.h5", c_patience=0)
