"""One training step on one device and on a 2-replica MirroredStrategy.

Run as a script (logical devices must be configured before TensorFlow starts,
so it cannot share the pytest process): `python distributed_step.py gast|sttr`.
Prints JSON: the largest difference between the two models' variables after
the step, and the replica count.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import skeleton_zoo  # noqa: E402
from skeleton_zoo import training  # noqa: E402
from skeleton_zoo.evaluation.metrics import MPJPELoss  # noqa: E402

SMALL_BACKBONE = [[16, 16, 1], [16, 32, 2]]


def build(family):
    if family == "gast":
        return skeleton_zoo.load("gast_9", variant="single_frame", channels=16, dropout=0.0)
    return skeleton_zoo.load("st_tr_spatial_joint", backbone=SMALL_BACKBONE, num_classes=10,
                             dropout=0.0, drop_connect=False)


def data(family):
    rng = np.random.default_rng(0)
    if family == "gast":
        return rng.normal(size=(8, 9, 17, 2)).astype("float32"), rng.normal(size=(8, 1, 17, 3)).astype("float32")
    return rng.normal(size=(8, 12, 25, 2, 3)).astype("float32"), rng.integers(0, 10, size=8)


def one_step(strategy, family, initial):
    with strategy.scope():
        model = build(family)
        model.set_weights(initial)
        if strategy.num_replicas_in_sync > 1:
            training.synchronize_batch_norm(model)
        if family == "gast":
            # Plain SGD: Adam's first step is lr * sign(gradient), which turns float noise on
            # gradients that are zero in exact arithmetic (biases before a BatchNorm) into +-lr.
            model.compile(optimizer=keras.optimizers.SGD(0.1), loss=MPJPELoss())
        else:
            model.compile(optimizer=training.SGDWithL2(learning_rate=0.1, momentum=0.9, nesterov=True, l2=1e-4),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = data(family)
    model.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), epochs=1, verbose=0)
    return [np.asarray(w) for w in model.get_weights()], model


if __name__ == "__main__":
    family = sys.argv[1]
    keras.utils.set_random_seed(0)
    initial = build(family).get_weights()
    single, _ = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"), family, initial)
    mirrored, model = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), family, initial)
    changed = max(float(np.abs(a - b).max()) for a, b in zip(single, initial))
    difference = max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored))
    print(json.dumps({"replicas": 2, "difference": difference, "changed": changed}))
