"""`models.common.BatchNorm`: Keras' BatchNormalization with its training gradient written out; every family's
BatchNorm is one. Same outputs, moving statistics and gradients as Keras' own layer."""

import keras
import numpy as np
import pytest

from skeleton_zoo.models.common import BatchNorm, batch_norm

from helpers import gradients


def _pair(axis, shape, **kwargs):
    ours, theirs = BatchNorm(axis=axis, momentum=0.9, epsilon=1e-5, **kwargs), keras.layers.BatchNormalization(
        axis=axis, momentum=0.9, epsilon=1e-5, **kwargs)
    for layer in (ours, theirs):
        layer.build(shape)
    rng = np.random.default_rng(7)
    weights = [rng.uniform(0.5, 2, size=w.shape).astype("float32") for w in theirs.get_weights()]
    for layer in (ours, theirs):
        layer.set_weights(weights)
    return ours, theirs


@pytest.mark.parametrize("axis, shape", [(-1, (4, 6, 5, 3)), (1, (3, 4, 7))])
def test_training_step_equals_keras(axis, shape):
    """Outputs, input / gamma / beta gradients and moving statistics; a large mean (50, std 2), where an
    uncentred sum(dy x) - m sum(dy) would lose digits."""
    rng = np.random.default_rng(0)
    x = (50 + 2 * rng.normal(size=shape)).astype("float32")
    probe = rng.normal(size=shape).astype("float32")
    ours, theirs = _pair(axis, shape)
    results = {}
    for name, layer in (("ours", ours), ("keras", theirs)):
        stats = [keras.ops.convert_to_numpy(w) for w in layer.non_trainable_variables]

        def loss(x, gamma, beta, layer=layer, stats=stats):
            y, _ = layer.stateless_call([gamma, beta], stats, x, training=True)
            return keras.ops.sum(y * probe)

        y, updated = layer.stateless_call(layer.trainable_variables, stats, x, training=True)
        grads = gradients(loss, [x, *(keras.ops.convert_to_numpy(w) for w in layer.trainable_variables)])
        results[name] = [keras.ops.convert_to_numpy(t) for t in (y, *grads, *updated)]
    for what, a, b in zip(("y", "dx", "dgamma", "dbeta", "moving_mean", "moving_variance"), *results.values()):
        assert np.abs(b).max() > 1e-3, what
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5 * np.abs(b).max(), err_msg=what)


def test_other_paths_are_keras_own():
    """Inference and synchronized statistics (TensorFlow only) take Keras' path; the factory gives torch's
    defaults."""
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    ours, theirs = _pair(-1, x.shape, synchronized=keras.backend.backend() == "tensorflow")
    for training in (False, True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(x, training=training)),
                                   keras.ops.convert_to_numpy(theirs(x, training=training)), rtol=1e-6, atol=1e-6)
    layer = batch_norm("bn")
    assert isinstance(layer, BatchNorm) and (layer.momentum, layer.epsilon) == (0.9, 1e-5)
