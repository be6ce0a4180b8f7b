"""Checks every model family runs: the `.keras` round trip and complete configs."""

import inspect

import keras
import numpy as np


def outputs(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def assert_keras_round_trip(model, x, folder):
    """Saves `model` as `.keras`, reloads it in safe mode, and checks class,
    config and outputs on `x`; returns the reloaded model."""
    path = folder / f"{model.name}.keras"
    model.save(path)
    restored = keras.models.load_model(path, safe_mode=True)
    assert type(restored) is type(model)
    assert restored.get_config() == model.get_config()
    np.testing.assert_array_equal(outputs(restored, x), outputs(model, x))
    return restored


def assert_config_complete(obj, x=None):
    """Every constructor argument of `obj` (a model or layer) is in its
    `get_config`, `dtype` included, and `from_config` rebuilds the same
    config (and, given an input `x`, the same outputs with the same weights)."""
    config = obj.get_config()
    parameters = inspect.signature(type(obj).__init__).parameters
    missing = [name for name, p in parameters.items()
               if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and name not in config]
    assert not missing, f"{type(obj).__name__}.get_config() lacks {missing}"
    assert "dtype" in config, f"{type(obj).__name__}.get_config() lacks the dtype"
    clone = type(obj).from_config(config)
    if x is not None:
        expected = outputs(obj, x)
        outputs(clone, x)  # builds the clone
        clone.set_weights(obj.get_weights())
        np.testing.assert_array_equal(outputs(clone, x), expected)
    assert clone.get_config() == config
    return clone


def gradients(fn, args):
    """Gradients of the scalar fn(*args) with respect to every arg (numpy arrays), on the running backend."""
    if keras.backend.backend() == "jax":
        import jax

        return [np.asarray(g) for g in jax.grad(fn, argnums=tuple(range(len(args))))(*args)]
    import tensorflow as tf

    args = [tf.constant(a) for a in args]
    with tf.GradientTape() as tape:
        tape.watch(args)
        loss = fn(*args)
    return [g.numpy() for g in tape.gradient(loss, args)]
