"""Pieces shared by every model family."""

from __future__ import annotations

import keras
import numpy as np

# PyTorch BatchNorm defaults, used by the official releases: torch's momentum
# 0.1 weighs the new batch, Keras' momentum weighs the running value.
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9


def batch_norm(name, dtype_policy=None, axis=-1):
    """A `BatchNormalization` that matches torch's defaults."""
    return keras.layers.BatchNormalization(
        axis=axis, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name, dtype=dtype_policy
    )


class ShapeCheckedModel(keras.Model):
    """A functional model that validates input shapes before Keras does, so a
    wrong joint count or clip length gets an error that names the model and
    says what was expected. Subclasses define `check_input_shape(shape)` and
    a `get_config` of constructor arguments."""

    def check_input_shape(self, shape) -> None:
        raise NotImplementedError

    def __call__(self, inputs, *args, **kwargs):
        shape = getattr(inputs, "shape", None)
        if shape is None and not isinstance(inputs, (dict, tuple)):
            shape = np.shape(inputs)
        if shape is not None:
            self.check_input_shape(shape)
        return super().__call__(inputs, *args, **kwargs)

    @classmethod
    def from_config(cls, config):
        return cls(**config)
