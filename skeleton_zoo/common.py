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


def linear_fold(bn, layer):
    """A `_batch_norm_folds` entry for a Dense or Conv2D followed by `bn`."""
    return bn, [layer.kernel], layer.bias if layer.use_bias else None


def fold_batch_norms(model) -> int:
    """Folds every inference BatchNorm that follows a linear layer into that
    layer's weights, in place, for export and inference.

    Layers declare their (BatchNorm, kernels, bias) pairs in
    `_batch_norm_folds()`; every kernel has the output channel last. With
    s = gamma / sqrt(var + eps), each kernel becomes kernel * s and the BN
    becomes the bias add `y + beta - mean * s` (folded into the layer's own
    bias when it has one, leaving the BN an identity). The outputs stay the
    same up to float rounding; each BN's multiply and subtract disappear.

    The folded model is for inference only: its BN layers ignore `training`
    and no longer update statistics. Do not fine-tune or save it as a
    training checkpoint.

    Args:
        model: a built Keras model or layer.

    Returns:
        The number of BatchNorm layers folded.

    Raises:
        ValueError: the model was folded already.
    """
    if getattr(model, "_batch_norms_folded", False):
        raise ValueError(f"fold_batch_norms: '{model.name}' is folded already.")
    folded = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for bn, kernels, bias in getattr(layer, "_batch_norm_folds", lambda: [])():
            gamma, beta, mean, variance = (
                np.asarray(w, np.float64) for w in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)
            )
            scale = gamma / np.sqrt(variance + bn.epsilon)
            shift = beta - mean * scale
            for kernel in kernels:
                kernel.assign((np.asarray(kernel, np.float64) * scale).astype(kernel.dtype))
            if bias is not None:
                value = np.asarray(bias, np.float64) * scale
                value.reshape(-1, value.shape[-1])[0] += shift  # summed biases (K, C): once
                bias.assign(value.astype(bias.dtype))
                _replace_call(bn, None)
            else:
                bn.beta.assign(shift.astype(bn.beta.dtype))
                _replace_call(bn, bn.beta)
            folded += 1
    model._batch_norms_folded = True
    return folded


def _replace_call(bn, offset) -> None:
    """Turns a folded BN into `x` (offset None) or `x + offset`."""

    def call(inputs, training=None, mask=None):
        if offset is None:
            return inputs
        return inputs + keras.ops.cast(offset, inputs.dtype)

    bn.call = call
