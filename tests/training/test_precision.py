"""Mixed-precision training (`train --precision`): bfloat16 runs on the CPU,
float16 gets loss scaling, checkpoints stay float32, and the attention softmax
survives float16."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.models.sttr.layers import TemporalSelfAttention
from skeleton_zoo.training import precision, trainer as training

from helpers import gradients

SMALL_BACKBONE = [[16, 16, 1], [16, 32, 2]]  # the second block attends in time (T-TR)


@pytest.fixture(scope="module")
def data_dir(h36m_ntu_data_dir):
    return h36m_ntu_data_dir


class _Seen(keras.callbacks.Callback):
    """Keeps the trained model's policy and optimizer for the assertions."""

    def on_train_end(self, logs=None):
        dense = [l for l in self.model._flatten_layers(include_self=False, recursive=True)
                 if isinstance(l, (keras.layers.Dense, keras.layers.Conv2D))]
        self.policies = {l.dtype_policy.name for l in dense}
        self.optimizer = self.model.optimizer
        self.variable_dtypes = {v.dtype for v in self.model.variables if "float" in v.dtype}


def test_mixed_bfloat16_trains_action_recognition_with_float32_checkpoints(data_dir, tmp_path):
    seen = _Seen()
    config = training.TrainConfig(model="st_tr_temporal_joint", dataset="ntu_rgbd/xsub60", data_dir=data_dir,
                                  out=str(tmp_path), epochs=2, batch_size=2, options={"backbone": SMALL_BACKBONE},
                                  precision="mixed_bfloat16", verbose=0, callbacks=[seen])
    result = training.train(config)
    losses = [e["loss"] for e in result["history"]]
    assert len(losses) == 2 and all(np.isfinite(losses))
    assert np.isfinite(result["metrics"]["top1"])
    assert seen.policies == {"mixed_bfloat16"}
    assert not isinstance(seen.optimizer, keras.optimizers.LossScaleOptimizer)  # bfloat16 needs no scaling
    assert seen.variable_dtypes == {"float32"}
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["options"]["dtype"] == "mixed_bfloat16"  # another precision in this folder is another run
    # The checkpoint is float32: it loads into a float32 model, whose outputs are float32 too.
    model = skeleton_zoo.load("st_tr_temporal_joint", weights=str(tmp_path / "last.weights.h5"),
                              backbone=SMALL_BACKBONE, num_classes=60)
    x = np.random.default_rng(0).normal(size=(1, 20, 25, 2, 3)).astype("float32")
    mixed = skeleton_zoo.load("st_tr_temporal_joint", weights=str(tmp_path / "last.weights.h5"),
                              backbone=SMALL_BACKBONE, num_classes=60, dtype="mixed_bfloat16")
    full, half = (keras.ops.convert_to_numpy(m(x)) for m in (model, mixed))
    assert full.dtype == half.dtype == np.float32
    # bfloat16 keeps 8 bits of mantissa: close to float32's logits, not equal.
    assert 0 < np.max(np.abs(full - half)) < 0.1 * np.max(np.abs(full)) + 0.05


def test_mixed_float16_scales_the_loss(data_dir, tmp_path):
    seen = _Seen()
    config = training.TrainConfig(model="gast_9", dataset="human36m/gt", data_dir=data_dir, out=str(tmp_path),
                                  epochs=1, batch_size=32, downsample=1, steps_per_epoch=4, options={"channels": 16},
                                  precision="mixed_float16", evaluate=False, verbose=0, callbacks=[seen])
    result = training.train(config)
    assert np.isfinite(result["history"][0]["loss"])
    assert seen.policies == {"mixed_float16"} and seen.variable_dtypes == {"float32"}
    assert isinstance(seen.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(keras.ops.convert_to_numpy(seen.optimizer.dynamic_scale)) > 1  # the loss really is scaled


def test_a_contradicting_dtype_option_fails_before_a_run_folder_exists(data_dir, tmp_path):
    out = tmp_path / "run"
    config = training.TrainConfig(model="gast_9", dataset="human36m/gt", data_dir=data_dir, out=str(out),
                                  options={"channels": 16, "dtype": "float32"}, precision="mixed_bfloat16")
    with pytest.raises(ValueError, match="--option dtype=float32 contradicts --precision mixed_bfloat16"):
        training.train(config)
    assert not out.exists()
    assert precision.model_options({"dtype": "mixed_float16"}, "mixed_float16") == {"dtype": "mixed_float16"}
    assert precision.model_options({"channels": 8}, "float32") == {"channels": 8}
    with pytest.raises(ValueError, match="--precision: expected one of float32, mixed_bfloat16, mixed_float16"):
        precision.model_options({}, "float64")


def test_the_command_line_names_a_bad_precision(tmp_path):
    result = subprocess.run([sys.executable, "-m", "skeleton_zoo", "train", "--model", "gast_9", "--precision",
                             "half", "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--precision" in result.stderr and "mixed_bfloat16" in result.stderr
    assert not (tmp_path / "run").exists()


def test_temporal_attention_with_every_key_dropped_stays_finite_in_float16():
    """DropConnect renormalises by sum + 1e-8, which float16 rounds to 0: a row whose keys are all dropped
    (likely with 2 keys and 128 rows) would be 0 / 0 without the float32 softmax."""
    layer = TemporalSelfAttention(8, num_heads=2, dtype="mixed_float16", seed=1)
    rng = np.random.default_rng(0)
    q, k = (keras.ops.convert_to_tensor(rng.normal(size=(64, 2, 2, 4)), "float16") for _ in range(2))
    weights = keras.ops.convert_to_numpy(layer.attention_weights(q, k, training=True)).astype("float32")
    assert np.isfinite(weights).all()
    row_sums = weights.sum(-1)
    assert np.any(row_sums == 0) and np.allclose(row_sums[row_sums > 0], 1, atol=2e-3)


def test_joint_by_joint_attention_in_float16_with_nearly_empty_rows():
    """The per-joint attention keeps U = P / (kept mass + 1e-8), whose dropped entries pass float16's range
    when a row keeps almost nothing: its float16 outputs and gradients stay finite and match float32's."""
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 3, 2, 6, 4)).astype("float32") for _ in range(3))  # (V, B, H, L, d)
    k[0, 1, 0, 0] *= 30  # a peaked row, whose peak key is dropped below: kept mass ~ 1e-12
    q[0, 1, 0] = k[0, 1, 0, 0] / 8
    keep = rng.uniform(size=(2, 3, 2, 1, 6)) < 0.5
    keep[0, 1, 0, 0] = [False, True, True, True, True, True]
    keep[1, 2, 1, 0] = False  # every key dropped
    probe = rng.normal(size=(2, 3, 2, 6, 4)).astype("float32")
    results = {}
    for dtype in ("float32", "mixed_float16"):
        layer = TemporalSelfAttention(8, num_heads=2, dtype=dtype)
        compute = layer.compute_dtype

        def loss(q, k, v):
            out = layer._attend_per_joint(*(keras.ops.cast(t, compute) for t in (q, k, v)), keep)
            return keras.ops.sum(keras.ops.cast(out, "float32") * probe)

        results[dtype] = [keras.ops.convert_to_numpy(loss(q, k, v))] + gradients(loss, [q, k, v])
    for ours, reference in zip(results["mixed_float16"], results["float32"]):
        ours = np.asarray(ours, "float32")
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, reference, rtol=0.05, atol=0.02 * np.abs(reference).max())
