"""deepcis.penalties: the published models' L2 penalty and max-norm constraint, fused, do
Keras' own math (issue 16: the step must cost what the recipe needs and no more)."""

import numpy as np


def test_fused_l2_gradient_is_keras_own_bit_for_bit_and_max_norm_to_rounding():
    import keras
    import tensorflow as tf

    from deepcis import penalties

    rng = np.random.default_rng(0)
    w = tf.Variable(rng.normal(0, 0.1, (300, 40)).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        ours, theirs = penalties.L2(5e-3)(w), keras.regularizers.L2(5e-3)(w)
    np.testing.assert_allclose(float(ours), float(theirs), rtol=1e-6)
    assert np.array_equal(tape.gradient(ours, w).numpy(), tape.gradient(theirs, w).numpy())
    for axis, shape in ((0, (300, 40)), ([0, 1], (8, 4, 20))):  # dense and conv kernels
        kernel = rng.normal(0, 0.3, shape).astype("float32")
        ours = penalties.MaxNorm(0.9, axis=axis)(kernel).numpy()
        np.testing.assert_allclose(ours, keras.constraints.MaxNorm(0.9, axis=axis)(kernel).numpy(), atol=1e-7)
        assert np.sqrt((ours**2).sum(axis=tuple(np.atleast_1d(axis)))).max() <= 0.9 + 1e-6


def test_deepsea_with_fused_penalties_trains_to_keras_weights_and_reloads(tmp_path):
    """A few Adam steps of the fused model and of the same model with Keras' L2 and MaxNorm
    (the step before the fix) end at the same weights; without the L2 they would not."""
    import keras

    from deepcis import keras_objects, parity, penalties

    keras.utils.set_random_seed(0)
    hp = {"conv_filters": [8, 8, 8], "dense_units": 16, "dropout": [0.0, 0.0, 0.0], "l2": 1e-2, "max_norm": 0.5}
    fused = parity.build("deepsea", 200, 3, hp)
    before = parity.with_keras_penalties(parity.build("deepsea", 200, 3, hp))
    no_l2 = parity.build("deepsea", 200, 3, hp | {"l2": 0.0})
    assert type(fused.get_layer("dense1").kernel.regularizer) is penalties.L2
    assert type(before.get_layer("dense1").kernel.regularizer) is keras.regularizers.L2
    assert type(before.get_layer("conv1").kernel.constraint) is keras.constraints.MaxNorm
    for model in (before, no_l2):
        model.set_weights(fused.get_weights())
    for model in (fused, before, no_l2):
        parity.compile_model(model, "adam")
    for x, y in parity.random_batches(3, 8, 200, 3):
        loss, loss_before = fused.train_on_batch(x, y), before.train_on_batch(x, y)
        no_l2.train_on_batch(x, y)
        np.testing.assert_allclose(loss, loss_before, rtol=1e-6)
    weights = fused.get_weights()
    for ours, theirs in zip(weights, before.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert max(np.abs(a - b).max() for a, b in zip(weights, no_l2.get_weights())) > 1e-4
    dense = fused.get_layer("dense1").kernel.numpy()
    assert np.sqrt((dense**2).sum(axis=0)).max() <= 0.5 + 1e-6  # the constraint holds
    path = tmp_path / "deepsea.keras"
    fused.save(path)
    loaded = keras_objects.load_model(path)
    conv = loaded.get_layer("conv1").kernel
    assert type(conv.regularizer) is penalties.L2 and conv.regularizer.l2 == 1e-2
    assert type(conv.constraint) is penalties.MaxNorm and list(conv.constraint.axis) == [0, 1]
    for ours, theirs in zip(weights, loaded.get_weights()):
        assert np.array_equal(ours, theirs)
