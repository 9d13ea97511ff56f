"""Weight penalties and constraints of the published models, at the cost they must have.

`L2` and `MaxNorm` compute what `keras.regularizers.L2` and `keras.constraints.MaxNorm` do,
with fewer passes over the weights on TensorFlow (DeepSEA's hidden dense kernel alone holds
47 M of its 52.8 M weights, so every pass over it is felt in each step; docs/benchmarks.md):

- `L2`: l2 * sum(w^2) as one fused reduction (`tf.nn.l2_loss`, no squared copy of the
  weights). Its gradient is one multiply, 2 * l2 * w, bit for bit Keras' (l2 * (2 * w): a
  product by 2 is exact); only the penalty's value may differ in the last bits (summation
  order). Keras' version builds w^2, and its gradient a broadcast and two multiplies.
- `MaxNorm`: the norms by one fused reduction (`tf.math.reduce_euclidean_norm`) instead of
  w^2 then a sum; the same rescaling. Equal to Keras' up to float rounding of the norms.

XLA (`train.xla`) has no kernel for the fused Euclidean norm: `for_xla(model, True)` makes a
model's `MaxNorm`s use Keras' formula, which XLA fuses itself. Other backends fall back to
Keras' formulas. Both are registered (package "deepcis") and
subclass Keras' own, so saved models load once deepcis.keras_objects is imported.
"""

from __future__ import annotations

import keras
from keras import ops


def _tensorflow():
    if keras.backend.backend() != "tensorflow":
        return None
    import tensorflow as tf

    return tf


@keras.saving.register_keras_serializable(package="deepcis")
class L2(keras.regularizers.L2):
    """`keras.regularizers.L2` (penalty l2 * sum(w^2)) computed by one fused reduction."""

    def __call__(self, x):
        tf = _tensorflow()
        if tf is None:
            return super().__call__(x)
        x = ops.convert_to_tensor(x)
        return ops.cast(2.0 * self.l2, x.dtype) * tf.nn.l2_loss(x)


@keras.saving.register_keras_serializable(package="deepcis")
class MaxNorm(keras.constraints.MaxNorm):
    """`keras.constraints.MaxNorm` with the norms computed by one fused reduction."""

    fused_norm = True  # False under XLA (for_xla)

    def __call__(self, w):
        tf = _tensorflow()
        if tf is None or not self.fused_norm:
            return super().__call__(w)
        w = ops.convert_to_tensor(w)
        norms = tf.math.reduce_euclidean_norm(w, axis=self.axis, keepdims=True)
        desired = ops.clip(norms, 0, self.max_value)
        return w * (desired / (keras.backend.epsilon() + norms))


def for_xla(model, xla: bool):
    """Set `model`'s max-norm constraints for a train step compiled with XLA (`xla`) or not:
    call before the step is traced (the first `fit` / `train_on_batch`)."""
    for variable in model.trainable_variables:
        if isinstance(getattr(variable, "constraint", None), MaxNorm):
            variable.constraint.fused_norm = not xla
