"""DeepLIFT/DeepSHAP: summation to delta on every supported architecture, the rescale rule on a
case worked by hand, the layer-type decision and the integrated-gradients fallback, the
summation check, and the contributions file of the positive test windows."""

import logging

import h5py
import numpy as np
import pytest
from _utils import make_split, randomise_batch_norm

keras = pytest.importorskip("keras")

from deepcis.contributions import explain_positives, read_contributions  # noqa: E402
from deepcis.dataset import read_x  # noqa: E402
from deepcis.deeplift import (  # noqa: E402
    Attributions,
    SummationError,
    check_summation,
    choose_method,
    deep_lift_shap,
    hypothetical_contributions,
    shuffled_references,
    unsupported_layers,
)
from deepcis.keras_objects import with_metadata  # noqa: E402
from deepcis.models import build_model  # noqa: E402


def _windows(n, length, seed=0):
    return np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, (n, length))]


def _mixed_model(length=60):
    """Layers the zoo models do not all use: global max / average pooling, concatenation, and the
    element-wise nonlinearities tanh, softplus, ELU, LeakyReLU, sigmoid."""
    from keras import layers

    inp = keras.Input((length, 4))
    a = layers.Conv1D(6, 5, activation="tanh")(inp)
    a = layers.AveragePooling1D(2)(a)
    a = layers.Conv1D(6, 3, activation="softplus", padding="same")(a)
    b = layers.Conv1D(6, 7, padding="same")(inp)
    b = layers.LeakyReLU(negative_slope=0.1)(b)
    b = layers.MaxPooling1D(3, strides=2)(b)
    b = layers.ELU()(layers.Conv1D(6, 3)(b))
    merged = layers.Concatenate()([layers.GlobalMaxPooling1D()(a), layers.GlobalAveragePooling1D()(b)])
    out = layers.Dense(3, activation="sigmoid")(layers.Dense(8, activation="relu")(merged))
    return keras.Model(inp, out)


SUPPORTED = [
    ("deepsea", 120, {"conv_filters": [6, 6, 6], "kernel_size": [8, 5, 4], "pool_size": [4, 3], "dense_units": 8,
                      "batch_norm": True, "dropout": 0.3}),  # fmt: skip
    ("basset", 121, {"conv_filters": [6, 6, 6], "kernel_size": [7, 4, 3], "pool_size": [3, 2, 2], "dense_units": [8, 8],
                     "padding": "same"}),  # fmt: skip
    ("basenji_dilated", 128, {"stem_filters": 8, "stem_kernel_size": 7, "n_blocks": 2, "block_filters": 4,
                              "dense_units": 8, "global_pool": "max"}),
    ("mlp", 40, None),
    ("mixed", 60, None),
]


@pytest.mark.parametrize("name, length, hp", SUPPORTED)
def test_summation_to_delta_on_every_supported_architecture(name, length, hp):
    keras.utils.set_random_seed(3)
    model = _mixed_model(length) if name == "mixed" else build_model(name, length, 3, hp)
    randomise_batch_norm(model, affine=True)
    assert unsupported_layers(model) == [] and choose_method(model) == ("deeplift_shap", [])
    x = _windows(3, length)
    x[0, 5] = 0  # an N
    result = deep_lift_shap(model, x, task=1, n_shuffles=4, seed=1, batch_size=5)  # batches that split references
    # each pair sums to its own delta; averaged over references the window sums to f(x) - mean f(r)
    assert result.max_error < 1e-3, result.summation_error
    total = result.contributions.sum(axis=(1, 2))
    delta = result.prediction - result.reference_prediction
    assert np.abs(delta).max() > 1e-4  # the model reacts to the shuffles: the check means something
    np.testing.assert_allclose(total, delta, atol=1e-5 + 1e-3 * np.abs(delta).max())
    # the prediction is the model's, in inference mode (dropout off)
    np.testing.assert_allclose(result.prediction, model.predict(x, verbose=0)[:, 1], rtol=1e-5, atol=1e-6)
    assert np.all(result.contributions[0, 5] == 0)  # nothing at an N
    # contributions sit at the observed base; hypothetical ones at every base
    assert np.all(result.contributions[x == 0] == 0)
    np.testing.assert_allclose(result.contributions, result.hypothetical * x)
    # DeepLIFT is not the gradient: on this nonlinear model it differs from IG at the same references
    ig = deep_lift_shap(model, x, task=1, n_shuffles=4, seed=1, method="integrated_gradients", ig_steps=8)
    assert not np.allclose(ig.hypothetical, result.hypothetical, atol=1e-7)


def test_rescale_rule_on_a_case_worked_by_hand():
    """Y = sigmoid(v * relu(w.x + b)) with one reference: the multiplier of x_i is
    w_i * (relu(z) - relu(z')) / (z - z') * v * (sigmoid(u) - sigmoid(u')) / (u - u')."""
    from keras import layers

    length = 12
    inp = keras.Input((length, 4))
    h = layers.Dense(1, activation="relu")(layers.Flatten()(inp))
    model = keras.Model(inp, layers.Dense(1, activation="sigmoid")(h))
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4 * length, 1)).astype("float32")
    model.layers[2].set_weights([w, np.array([0.3], "float32")])
    model.layers[3].set_weights([np.array([[1.7]], "float32"), np.array([-0.2], "float32")])
    x = _windows(1, length, 5)
    refs = shuffled_references(x, 1, seed=2)
    r = refs[0, 0]
    z, z_ref = float(x.ravel() @ w[:, 0] + 0.3), float(r.ravel() @ w[:, 0] + 0.3)
    assert (z > 0) != (z_ref > 0) or z != z_ref
    u, u_ref = 1.7 * max(z, 0) - 0.2, 1.7 * max(z_ref, 0) - 0.2

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    m = w[:, 0].reshape(length, 4) * (max(z, 0) - max(z_ref, 0)) / (z - z_ref) * 1.7 * (sigmoid(u) - sigmoid(u_ref)) / (u - u_ref)
    result = deep_lift_shap(model, x, task=0, n_shuffles=1, seed=2)
    np.testing.assert_allclose(result.hypothetical[0], hypothetical_contributions(m, r), rtol=1e-4, atol=1e-6)


def test_layer_types_decide_the_method_and_lstm_attention_fall_back(tmp_path, caplog):
    from keras import layers

    keras.utils.set_random_seed(4)
    danq = build_model("danq", 80, 2, {"conv_filters": 4, "kernel_size": 7, "pool_size": 5, "lstm_units": 3, "dense_units": 4})
    assert choose_method(danq) == ("integrated_gradients", ["Bidirectional"])
    inp = keras.Input((40, 4))
    h = layers.Conv1D(8, 5, activation="relu")(inp)
    h = layers.LayerNormalization()(layers.MultiHeadAttention(2, 4)(h, h))
    softmax = keras.Model(inp, layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling1D()(h)))
    assert unsupported_layers(softmax) == ["Dense(activation=softmax)", "LayerNormalization", "MultiHeadAttention"]
    # a nested model's layers count too
    outer_in = keras.Input((40, 4))
    nested = keras.Model(outer_in, softmax(outer_in))
    assert "MultiHeadAttention" in unsupported_layers(nested)
    # the stage explains an LSTM model with IG, says so in the log and in the file
    model = with_metadata(danq, ["ap1", "gata"], 80)
    model.save(tmp_path / "model.keras")
    data = make_split(tmp_path / "test.h5", 12, length=80, seed=3, split="test")
    with caplog.at_level(logging.WARNING, logger="deepcis.contributions"):
        table = explain_positives(tmp_path / "model.keras", data, tmp_path / "c.h5", tmp_path / "c.tsv", tmp_path / "c.png",
                                  tasks=["ap1"], n_shuffles=2, ig_steps=16, max_windows=3)  # fmt: skip
    assert "DeepLIFT cannot handle exactly (Bidirectional)" in caplog.text
    assert table["method"].tolist() == ["integrated_gradients"] and table["unsupported_layers"][0] == "Bidirectional"
    assert read_contributions(tmp_path / "c.h5", "ap1")["method"] == "integrated_gradients"


def test_summation_check_warns_or_fails(caplog):
    bad = Attributions("deeplift_shap", np.zeros((2, 5, 4)), np.zeros((2, 5, 4)), np.ones(2), np.zeros(2),
                       np.array([1e-5, 0.02]))  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="deepcis.deeplift"):
        assert check_summation(bad, 1e-3, "warn") == pytest.approx(0.02)
    assert "1 of 2 windows" in caplog.text and "2.00e-02" in caplog.text
    with pytest.raises(SummationError, match="more than 0.001"):
        check_summation(bad, 1e-3, "fail")
    assert check_summation(bad, 0.05, "fail") == pytest.approx(0.02)


def test_references_keep_dinucleotides_and_do_not_depend_on_batching():
    x = _windows(4, 50, 7)
    refs = shuffled_references(x, 3, seed=9)
    for window, shuffles in zip(x, refs):
        codes = np.argmax(window, axis=1)
        want = np.bincount(codes[:-1] * 4 + codes[1:], minlength=16)
        for r in shuffles:
            c = np.argmax(r, axis=1)
            assert np.array_equal(np.bincount(c[:-1] * 4 + c[1:], minlength=16), want)
    np.testing.assert_array_equal(shuffled_references(x[2:], 3, seed=9, offset=2), refs[2:])


def test_contributions_file_holds_every_positive_window_aligned_to_coordinates(tmp_path):
    keras.utils.set_random_seed(5)
    model = with_metadata(build_model("deepsea", 60, 2, {"conv_filters": [4, 4], "kernel_size": 5, "pool_size": 2, "dropout": 0.1,
                                                         "dense_units": 4}), ["ap1", "gata"], 60)  # fmt: skip
    model.save(tmp_path / "model.keras")
    data = make_split(tmp_path / "test.h5", 20, length=60, seed=1, split="test")
    table = explain_positives(tmp_path / "model.keras", data, tmp_path / "c.h5", tmp_path / "c.tsv", tmp_path / "c.png",
                              n_shuffles=3, seed=2, block=4)  # blocks that split the windows
    with h5py.File(data) as f:
        y, starts, x = f["y"][()], f["start"][()], read_x(f)
    for t, task in enumerate(["ap1", "gata"]):
        got = read_contributions(tmp_path / "c.h5", task)
        rows = np.flatnonzero(y[:, t] == 1)
        assert got["method"] == "deeplift_shap" and len(rows) > 0
        np.testing.assert_array_equal(got["start"], starts[rows])
        np.testing.assert_array_equal(got["x"], x[rows])
        assert got["hypothetical"].shape == (len(rows), 60, 4)
        np.testing.assert_allclose(got["contributions"].sum(axis=(1, 2)), got["prediction"] - got["reference_prediction"],
                                   atol=1e-5)  # fmt: skip
    assert (table["windows"] == [(y[:, 0] == 1).sum(), (y[:, 1] == 1).sum()]).all()
    assert (table["max_summation_error"] < 1e-3).all() and (tmp_path / "c.png").stat().st_size > 0
    # the same seed gives the same numbers
    explain_positives(tmp_path / "model.keras", data, tmp_path / "d.h5", tmp_path / "d.tsv", tmp_path / "d.png",
                      n_shuffles=3, seed=2, block=7)  # fmt: skip
    np.testing.assert_allclose(read_contributions(tmp_path / "d.h5", "gata")["hypothetical"],
                               read_contributions(tmp_path / "c.h5", "gata")["hypothetical"], rtol=1e-5, atol=1e-7)  # fmt: skip


def test_positive_rows_of_binary_and_continuous_tasks():
    """Binary: the rows labelled 1 (NaN is missing); continuous (activity, signal): the top tenth
    by measured value, at most max_windows, in file order."""
    from deepcis.contributions import positive_rows

    y = np.array([[1, 0.5], [0, np.nan], [np.nan, 3.0], [1, 0.1], [0, 2.0]] + [[0, 0.0]] * 15, np.float32)
    assert positive_rows(y, 0, None).tolist() == [0, 3] and positive_rows(y, 0, 1).tolist() == [0]
    assert positive_rows(y, 1, None).tolist() == [2, 4]  # 19 finite values: the top 2
    assert positive_rows(y, 1, 1).tolist() == [2]
    assert positive_rows(np.zeros((4, 1), np.float32), 0, None).size == 0
