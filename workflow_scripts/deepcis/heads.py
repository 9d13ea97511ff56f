"""Output heads by name (no Keras): the activations a model's output layer may use.

Shared by the model registry (`models`, which checks a config's head without TensorFlow)
and the Keras objects that build heads and losses (`keras_objects`).
"""

# "sigmoid": multi-task binary (masked BCE); "linear" / "softplus": regression (masked MSE)
HEADS = ("sigmoid", "linear", "softplus")

# The activation each task loss of a multi-modal head goes with.
LOSS_ACTIVATION = {"bce": "sigmoid", "mse": "linear", "poisson": "softplus"}
