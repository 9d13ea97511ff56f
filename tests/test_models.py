"""Model registry: builds, published structures, masked losses, saving, bad configs."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from deepcis import keras_objects, models  # noqa: E402
from deepcis.errors import ConfigError, ModelConfigError  # noqa: E402
from deepcis.models import build_model  # noqa: E402

# Keras' own model.save() converts TF variables with np.array(); numpy 2.4 warns about it.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

N_TASKS = 3
WINDOW = 200

# Small sizes for every registered model; a newly registered model must be added here.
SMALL = {
    "deepsea": {"conv_filters": [8, 8, 8], "dense_units": 8},
    "basset": {"conv_filters": [8, 8, 8], "kernel_size": [9, 5, 3], "dense_units": [8, 8]},
    "danq": {"conv_filters": 8, "lstm_units": 4, "dense_units": 8},
    "lstm": {"lstm_units": 4, "dense_units": 4, "pool_size": 4},
    "mlp": {"dense_units": [16, 8]},
    "basenji_dilated": {"stem_filters": 8, "block_filters": 4, "n_blocks": 3, "dense_units": 8},
    "deepbind": {"conv_filters": 4, "kernel_size": 9, "dense_units": 4},
    "transformer": {"stem_filters": [8, 16], "stem_pool_size": [4, 8], "n_heads": 2, "key_dim": 4, "ff_units": 16,
                    "dense_units": 8},
}


def one_hot(n, length, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.uint8)[rng.integers(0, 4, size=(n, length))]


def test_registry_lists_models_and_small_presets_cover_them():
    assert set(models.available_models()) >= {
        "deepsea", "basset", "danq", "lstm", "mlp", "basenji_dilated"}
    assert set(models.MODELS) == set(models.available_models())
    assert set(SMALL) == set(models.available_models())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_model_builds_and_predicts(name):
    keras.utils.set_random_seed(1)
    model = build_model(name, WINDOW, N_TASKS, SMALL[name])
    assert model.input_shape == (None, WINDOW, 4)
    assert model.output_shape == (None, N_TASKS)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    x = one_hot(5, WINDOW)  # uint8, cast by the input layer
    y = model(x, training=False).numpy()
    assert y.shape == (5, N_TASKS)
    assert y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.all((y >= 0) & (y <= 1))


@pytest.mark.parametrize("head", ["linear", "softplus"])
def test_regression_heads(head):
    model = build_model("mlp", 50, 2, {"dense_units": [4]}, head=head)
    assert model.get_layer("output").get_config()["activation"] == head
    y = model(one_hot(4, 50), training=False).numpy()
    assert y.shape == (4, 2)
    if head == "softplus":
        assert np.all(y >= 0)


def _convs(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]


def _layers(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


def test_deepsea_published_structure():
    model = build_model("deepsea", 1000, 919)
    convs = _convs(model)
    assert [c.filters for c in convs] == [320, 480, 960]
    assert [c.kernel_size for c in convs] == [(8,), (8,), (8,)]
    assert all(c.padding == "valid" and c.get_config()["activation"] == "relu" for c in convs)
    pools = _layers(model, keras.layers.MaxPooling1D)
    assert [(p.pool_size, p.strides) for p in pools] == [((4,), (4,)), ((4,), (4,))]
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.2, 0.2, 0.5]
    dense = _layers(model, keras.layers.Dense)
    assert [d.units for d in dense] == [925, 919]
    assert dense[0].get_config()["activation"] == "relu"
    assert dense[1].get_config()["activation"] == "sigmoid"
    assert model.get_layer("flatten").output.shape[-1] == 53 * 960
    # the layer order is conv, pool, dropout, conv, pool, dropout, conv, dropout
    kinds = [type(layer).__name__ for layer in model.layers[1:9]]
    assert kinds == ["Conv1D", "MaxPooling1D", "Dropout"] * 2 + ["Conv1D", "Dropout"]


def test_deepsea_batch_norm_option():
    model = build_model("deepsea", 200, 3, {"conv_filters": [8, 8], "dropout": 0.1, "dense_units": 4, "batch_norm": True})
    kinds = [type(layer).__name__ for layer in model.layers[1:10]]
    assert kinds == ["Conv1D", "BatchNormalization", "Activation", "MaxPooling1D", "Dropout",
                     "Conv1D", "BatchNormalization", "Activation", "Dropout"]
    assert all(not c.use_bias and c.get_config()["activation"] == "linear" for c in _convs(model))
    assert model.get_layer("conv1_relu").get_config()["activation"] == "relu"


def test_basset_published_structure():
    model = build_model("basset", 1000, 164)
    convs = _convs(model)
    assert [c.filters for c in convs] == [300, 200, 200]
    assert [c.kernel_size[0] for c in convs] == [19, 11, 7]
    pools = _layers(model, keras.layers.MaxPooling1D)
    assert [p.pool_size[0] for p in pools] == [3, 4, 4]
    assert [p.strides[0] for p in pools] == [3, 4, 4]
    assert len(_layers(model, keras.layers.BatchNormalization)) == 5  # 3 conv + 2 dense
    dense = _layers(model, keras.layers.Dense)
    assert [d.units for d in dense] == [1000, 1000, 164]
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.3, 0.3]
    relus = [layer for layer in _layers(model, keras.layers.Activation)
             if layer.get_config()["activation"] == "relu"]
    assert len(relus) == 5


def test_danq_published_structure():
    model = build_model("danq", 1000, 919)
    (conv,) = _convs(model)
    assert (conv.filters, conv.kernel_size, conv.get_config()["activation"]) == (
        320, (26,), "relu")
    (pool,) = _layers(model, keras.layers.MaxPooling1D)
    assert (pool.pool_size, pool.strides) == ((13,), (13,))
    assert [d.rate for d in _layers(model, keras.layers.Dropout)] == [0.2, 0.5]
    (bilstm,) = _layers(model, keras.layers.Bidirectional)
    assert bilstm.forward_layer.units == 320 and bilstm.backward_layer.units == 320
    assert bilstm.forward_layer.return_sequences
    assert bilstm.output.shape[1:] == (75, 640)
    assert [d.units for d in _layers(model, keras.layers.Dense)] == [925, 919]
    assert model.count_params() > 40_000_000


def test_danq_outputs_follow_batch_permutation():
    keras.utils.set_random_seed(2)
    model = build_model("danq", WINDOW, N_TASKS, SMALL["danq"])
    x = one_hot(8, WINDOW, seed=3).astype(np.float32)
    perm = np.random.default_rng(4).permutation(8)
    y = model(x, training=False).numpy()
    y_perm = model(x[perm], training=False).numpy()
    np.testing.assert_allclose(y_perm, y[perm], rtol=1e-5, atol=1e-6)
    assert not np.allclose(y_perm, y)  # the permutation changes the order of outputs


# Masked losses -----------------------------------------------------------------------

Y_TRUE = np.array([[1, np.nan, 0], [np.nan, np.nan, 1], [0, 1, np.nan]], dtype=np.float32)
Y_PRED = np.array([[0.9, 0.2, 0.3], [0.5, 0.6, 0.7], [0.1, 0.8, 0.4]], dtype=np.float32)


def _reference_bce(y, p):
    obs = ~np.isnan(y)
    y, p = y[obs].astype(np.float64), p[obs].astype(np.float64)
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def _reference_mse(y, p):
    obs = ~np.isnan(y)
    return float(np.mean((y[obs] - p[obs]) ** 2))


LOSSES = [
    (keras_objects.masked_binary_crossentropy, _reference_bce),
    (keras_objects.MaskedBinaryCrossentropy(), _reference_bce),
    (keras_objects.masked_mse, _reference_mse),
    (keras_objects.MaskedMeanSquaredError(), _reference_mse),
]


@pytest.mark.parametrize("loss,reference", LOSSES, ids=["bce_fn", "bce", "mse_fn", "mse"])
def test_masked_loss_ignores_nan_labels(loss, reference):
    value = float(loss(Y_TRUE, Y_PRED))
    assert value == pytest.approx(reference(Y_TRUE, Y_PRED), rel=1e-5)
    obs = ~np.isnan(Y_TRUE)
    subset = float(loss(Y_TRUE[obs][None, :], Y_PRED[obs][None, :]))
    assert value == pytest.approx(subset, rel=1e-5)
    # changing predictions where labels are missing changes nothing
    other = np.where(obs, Y_PRED, 0.01).astype(np.float32)
    assert float(loss(Y_TRUE, other)) == pytest.approx(value, rel=1e-6)


@pytest.mark.parametrize("loss,reference", LOSSES, ids=["bce_fn", "bce", "mse_fn", "mse"])
def test_masked_loss_all_missing_is_zero_with_finite_gradients(loss, reference):
    all_nan = np.full_like(Y_TRUE, np.nan)
    assert float(loss(all_nan, Y_PRED)) == 0.0
    for y in (Y_TRUE, all_nan):
        pred = tf.Variable(Y_PRED)
        with tf.GradientTape() as tape:
            value = loss(y, pred)
        grad = tape.gradient(value, pred).numpy()
        assert np.all(np.isfinite(grad))
        assert np.all(grad[np.isnan(y)] == 0)
        assert np.any(grad != 0) == bool((~np.isnan(y)).any())


def test_loss_for_head():
    assert isinstance(keras_objects.loss_for_head("sigmoid"), keras_objects.MaskedBinaryCrossentropy)
    assert isinstance(keras_objects.loss_for_head("softplus"), keras_objects.MaskedMeanSquaredError)
    with pytest.raises(ModelConfigError):
        keras_objects.loss_for_head("poisson")


# Saving ------------------------------------------------------------------------------


@pytest.mark.parametrize("name,head,loss", [
    ("deepsea", "sigmoid", keras_objects.MaskedBinaryCrossentropy()),
    ("basenji_dilated", "linear", keras_objects.masked_mse),
    ("transformer", "sigmoid", keras_objects.MaskedBinaryCrossentropy()),
])
def test_save_and_load_safe_mode(tmp_path, name, head, loss):
    keras.utils.set_random_seed(5)
    model = build_model(name, WINDOW, N_TASKS, SMALL[name], head=head)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    x = one_hot(16, WINDOW, seed=6)
    y = np.random.default_rng(7).integers(0, 2, size=(16, N_TASKS)).astype(np.float32)
    y[::3, 1] = np.nan
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    if isinstance(loss, keras.losses.Loss):
        assert type(loaded.loss) is type(loss)
    else:
        assert loaded.loss is loss
    # the restored compile state trains on
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)


# Hyperparameters ---------------------------------------------------------------------


def test_defaults_are_fresh_and_resolution_is_idempotent():
    for name in models.available_models():
        defaults = models.default_hyperparameters(name)
        json.dumps(defaults)
        mutated = False
        for value in defaults.values():
            if isinstance(value, list):
                value.append(-1)  # must not leak into the registry
                mutated = True
        assert (models.default_hyperparameters(name) != defaults) == mutated
        hp = models.resolve_hyperparameters(name, 1000, 2, SMALL[name])
        assert models.resolve_hyperparameters(name, 1000, 2, hp) == hp
    hp = models.resolve_hyperparameters("deepsea", 1000, 2, {"kernel_size": 5, "dropout": 0.1})
    assert hp["kernel_size"] == [5, 5, 5] and hp["dropout"] == [0.1] * 3
    assert hp["pool_size"] == [4, 4]


def test_overrides_reach_the_layers():
    model = build_model("basset", 300, 2, {"conv_filters": [4, 6], "kernel_size": 5,
                                           "pool_size": [2, 3], "dense_units": [7],
                                           "dropout": 0.1, "batch_norm": False})
    assert [c.filters for c in _convs(model)] == [4, 6]
    assert [c.kernel_size[0] for c in _convs(model)] == [5, 5]
    assert [p.pool_size[0] for p in _layers(model, keras.layers.MaxPooling1D)] == [2, 3]
    assert [d.units for d in _layers(model, keras.layers.Dense)] == [7, 2]
    assert not _layers(model, keras.layers.BatchNormalization)


@pytest.mark.parametrize("name,window,overrides,words", [
    ("foo", 1000, {}, ["unknown model 'foo'", "available:", "deepsea"]),
    ("deepsea", 1000, {"pool_sizes": 4}, ["'deepsea'", "unknown hyperparameter 'pool_sizes'",
                                          "did you mean 'pool_size'"]),
    ("deepsea", 60, {}, ["'deepsea'", "'pool_size'=4", "after conv block 3",
                         "length 1 < kernel 8"]),
    ("deepsea", 1000, {"pool_size": 40}, ["'deepsea'", "'pool_size'=40", "larger than"]),
    ("danq", 30, {}, ["'danq'", "'pool_size'=13", "length 5 < pool 13"]),
    ("basenji_dilated", 100, {"stem_pool_size": 128}, ["'basenji_dilated'",
                                                       "'stem_pool_size'=128"]),
    ("lstm", 10, {"pool_size": 11}, ["'lstm'", "'pool_size'=11"]),
    ("deepsea", 5, {}, ["'deepsea'", "'kernel_size'=8", "after conv block 1"]),
    ("deepsea", 1000, {"dropout": -0.1}, ["'deepsea'", "'dropout'=-0.1", "[0, 1)"]),
    ("danq", 1000, {"lstm_dropout": -0.5}, ["'danq'", "'lstm_dropout'=-0.5"]),
    ("mlp", 100, {"dropout": [0.1, 1.0]}, ["'mlp'", "'dropout'=1.0", "element 2"]),
    ("basset", 1000, {"kernel_size": [19, 11]}, ["'basset'", "'kernel_size'", "needs 3 values"]),
    ("basset", 1000, {"conv_filters": 300}, ["'basset'", "'conv_filters'", "list"]),
    ("deepsea", 1000, {"dense_units": 0}, ["'deepsea'", "'dense_units'=0", ">= 1"]),
    ("deepsea", 1000, {"dense_units": 9.5}, ["'deepsea'", "'dense_units'", "integer"]),
    ("lstm", 1000, {"bidirectional": "yes"}, ["'lstm'", "'bidirectional'"]),
    ("basenji_dilated", 1000, {"global_pool": "sum"}, ["'basenji_dilated'", "'global_pool'"]),
    ("deepsea", 0, {}, ["'deepsea'", "'window_length'"]),
    ("deepbind", 20, {}, ["'deepbind'", "'kernel_size'=24", "after conv block 1"]),
    ("deepbind", 100, {"global_pool": "avg"}, ["'deepbind'", "'global_pool'", "'max_avg'"]),
    ("transformer", 200, {}, ["'transformer'", "'stem_pool_size'=[8, 16]", "leaves 1 position(s) for attention",
                              "at least 2"]),
    ("transformer", 1000, {"stem_pool_size": [16, 32]}, ["'transformer'", "'stem_pool_size'=[16, 32]",
                                                         "leaves 1 position(s)", "pools by 512"]),
    ("transformer", 1000, {"position_encoding": "rotary"}, ["'transformer'", "'position_encoding'"]),
    ("transformer", 1000, {"stem_kernel_size": [15]}, ["'transformer'", "'stem_kernel_size'", "needs 2 values"]),
])
def test_bad_hyperparameters_are_rejected_before_building(name, window, overrides, words):
    with pytest.raises(ModelConfigError) as info:
        build_model(name, window, 2, overrides)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert isinstance(info.value, ValueError) and isinstance(info.value, ConfigError)
    with pytest.raises(ModelConfigError):
        models.resolve_hyperparameters(name, window, 2, overrides)


def test_bad_head_and_task_count():
    with pytest.raises(ModelConfigError, match="'head'"):
        build_model("mlp", 10, 2, {"dense_units": [4]}, head="relu")
    with pytest.raises(ModelConfigError, match="'n_tasks'"):
        build_model("mlp", 10, 0, {"dense_units": [4]})
    with pytest.raises(ModelConfigError, match="mapping"):
        build_model("mlp", 10, 2, [("dense_units", [4])])


def test_deepbind_and_transformer_structure():
    model = build_model("deepbind", 600, 5)
    conv = model.get_layer("conv1")
    assert conv.filters == 16 and conv.kernel_size == (24,)
    assert {"global_max", "global_avg", "dense1"} <= {layer.name for layer in model.layers}
    assert model.get_layer("dense1").units == 32 and model.output_shape == (None, 5)
    only_max = build_model("deepbind", 600, 1, {"global_pool": "max", "dense_units": 0})
    assert "global_avg" not in [layer.name for layer in only_max.layers]
    assert not _layers(only_max, keras.layers.Dense)[:-1]  # no hidden layer: pooled -> output

    model = build_model("transformer", 1000, 3)
    attention = _layers(model, keras.layers.MultiHeadAttention)
    assert len(attention) == 2 and all(a.num_heads == 4 and a.key_dim == 32 for a in attention)
    # the stem pools 8 x 16 = 128 bp per attention position: 1000 bp -> 7 positions of width 128
    assert model.get_layer("position_embedding").output.shape[1:] == (7, 128)
    assert model.get_layer("conv1").padding == "same"
    assert len(_layers(model, keras.layers.LayerNormalization)) == 2 * 2 + 1
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    none = build_model("transformer", 1000, 3, {"position_encoding": "none"})
    assert "position_embedding" not in [layer.name for layer in none.layers]
    assert "conv1_residual_add" not in [layer.name for layer in model.layers]
    residual = build_model("transformer", 1000, 3, {"stem_residual": True})
    # Enformer's pointwise residual block before each stem pool, at that block's width
    assert [residual.get_layer(f"conv{b}_residual").kernel_size for b in (1, 2)] == [(1,), (1,)]
    assert residual.get_layer("conv2_residual_add").output.shape[1:] == (1000 // 8, 128)
    exponential = build_model("transformer", 1000, 3, {"first_activation": "exponential"})
    # Koo & Ploenzke's exponential activation on the first conv only; the second block keeps GELU
    assert exponential.get_layer("conv1_exponential").activation.__name__ == "exponential"
    assert "conv2_gelu" in [layer.name for layer in exponential.layers]


def test_generative_models_are_checked_but_not_built_here():
    assert set(models.generative_models()) == {"autoencoder", "gan"}
    assert not set(models.generative_models()) & set(models.available_models())
    hp = models.resolve_hyperparameters("autoencoder", 600, 1, {"latent_channels": 4})
    assert hp["conv_filters"] == [64, 64] and hp["kernel_size"] == [9, 9]
    with pytest.raises(ModelConfigError, match="generative"):
        build_model("autoencoder", 600, 1)
    # a bottleneck not smaller than the input (L x 4 values) is refused, naming the key
    with pytest.raises(ModelConfigError, match=r"'bottleneck'=2400 is not smaller than the input \(600 bp x 4"):
        models.resolve_hyperparameters("autoencoder", 600, 1, {"bottleneck": 2400})
    with pytest.raises(ModelConfigError, match="'latent_channels'=16 makes a code of 150 positions"):
        models.resolve_hyperparameters("autoencoder", 600, 1, {"latent_channels": 16})
    with pytest.raises(ModelConfigError, match="'length'=700 is longer than the window"):
        models.resolve_hyperparameters("gan", 600, 1, {"length": 700})
    with pytest.raises(ModelConfigError, match="unknown model 'vae'.*autoencoder"):
        models.resolve_hyperparameters("vae", 600, 1, {})


def test_docs_list_every_model_and_key():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "models.md").read_text()
    for name, spec in (models.MODELS | models.GENERATIVE).items():
        assert f"## {name}\n" in text, name
        section = text.split(f"## {name}\n", 1)[1].split("\n## ", 1)[0]
        for key in spec.params:
            assert f"`{key}`" in section, (name, key)
