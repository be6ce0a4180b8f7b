"""tf.distribute: choosing the strategy, global-batch BatchNorm, the chief
worker, and the Keras 3 multi-worker workarounds."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

__all__ = ["make_strategy", "is_chief", "synchronize_batch_norm", "multi_worker_workarounds"]


def make_strategy(name: str) -> tf.distribute.Strategy:
    """"auto": MirroredStrategy over all GPUs when more than one is visible,
    else the default strategy; "multi_worker" reads the cluster from TF_CONFIG."""
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi_worker needs the TF_CONFIG environment variable "
                             "(cluster and task); see the README's multi-machine section.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(tf.config.list_logical_devices("GPU")) > 1 \
            else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"--strategy: expected auto, default, mirrored or multi_worker, found '{name}'.")


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def synchronize_batch_norm(model) -> int:
    """Makes every BatchNormalization use global-batch statistics across
    replicas, so N replicas take the step one device takes on the global batch."""
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


def multi_worker_workarounds(model, dataset) -> None:
    """Works around keras-team/keras#20585 (Keras 3 `fit` under
    MultiWorkerMirroredStrategy): `fit` reduces a distributed batch with
    `strategy.reduce`, which fails eagerly (Keras only needs its shapes: give
    it a local batch), and reduces the step's scalar logs with `axis=0`
    (give it shape-(1,) logs, whose mean over replicas is the same number)."""
    batch = next(iter(dataset))
    build = model._maybe_symbolic_build
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: build(data_batch=batch)
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, lambda data, step=step: {
            k: tf.reshape(v, [1]) for k, v in step(data).items()})
