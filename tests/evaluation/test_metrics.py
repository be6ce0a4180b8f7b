"""Metrics (numpy and Keras) against VideoPose3D's numbers, and the report helpers."""

import csv
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import FIXTURES

import keras
import tensorflow as tf

from skeleton_zoo.evaluation import metrics as M
from skeleton_zoo.evaluation import reports as R

RTOL = 1e-5


@pytest.fixture(scope="module")
def h36m():
    data = np.load(FIXTURES / "h36m" / "metrics_expected.npz")
    return {k: data[k] for k in data.files}


def _random_rotation(rng):
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


# ---------------------------------------------------------------------------
# numpy metrics
# ---------------------------------------------------------------------------


def test_numpy_metrics_match_videopose3d(h36m):
    pred, target = h36m["pred"], h36m["target"]
    assert pred.shape == target.shape == (4, 30, 17, 3)
    np.testing.assert_allclose(M.mpjpe(pred, target), h36m["mpjpe"], rtol=RTOL)
    np.testing.assert_allclose(
        M.p_mpjpe(pred.reshape(-1, 17, 3), target.reshape(-1, 17, 3)), h36m["p_mpjpe"], rtol=RTOL
    )
    # (..., J, 3) is flattened into frames: the same number.
    np.testing.assert_allclose(M.p_mpjpe(pred, target), h36m["p_mpjpe"], rtol=RTOL)
    np.testing.assert_allclose(M.n_mpjpe(pred, target), h36m["n_mpjpe"], rtol=RTOL)
    np.testing.assert_allclose(M.mpjve(pred[0], target[0]), h36m["mpjve_first_sequence"], rtol=RTOL)
    # The protocols are genuinely different numbers.
    assert h36m["p_mpjpe"] < h36m["n_mpjpe"] < h36m["mpjpe"]


def test_mpjpe_by_hand():
    target = np.zeros((2, 3, 3))
    pred = np.zeros((2, 3, 3))
    pred[0, 0] = [3.0, 4.0, 0.0]  # distance 5
    pred[1, 2] = [0.0, 0.0, 1.0]  # distance 1
    assert M.mpjpe(pred, target) == pytest.approx(6.0 / 6)
    assert M.mpjpe(pred * 1000, target) == pytest.approx(1000.0)  # units follow the inputs


def test_p_mpjpe_is_invariant_to_similarity_transforms_of_the_prediction():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(12, 17, 3))
    pred = target + 0.05 * rng.normal(size=target.shape)
    base = M.p_mpjpe(pred, target)
    assert 0.0 < base < M.mpjpe(pred, target)

    rotation = _random_rotation(rng)
    transformed = 2.7 * pred @ rotation + np.array([0.3, -1.2, 4.0])
    assert M.mpjpe(transformed, target) > 1.0
    assert M.p_mpjpe(transformed, target) == pytest.approx(base, rel=1e-9)
    # A perfect prediction up to a similarity transform has zero error.
    assert M.p_mpjpe(0.4 * target @ rotation - 2.0, target) == pytest.approx(0.0, abs=1e-9)


def test_p_mpjpe_does_not_align_reflections():
    rng = np.random.default_rng(1)
    target = rng.normal(size=(8, 17, 3))
    mirror = np.diag([1.0, 1.0, -1.0])
    mirrored = target @ mirror
    error = M.p_mpjpe(mirrored, target)
    # An improper "rotation" would align the mirror image perfectly; the
    # sign(det R) correction forbids it, so a real error remains ...
    assert error > 0.1
    # ... and the proper alignment found is at least as good as no rotation at all.
    assert error <= M.p_mpjpe(mirrored, mirrored) + M.mpjpe(mirrored, target)
    # ... and it does not depend on where / how large / how rotated the mirror image is.
    rotation = _random_rotation(rng)
    assert M.p_mpjpe(0.5 * mirrored @ rotation + 3.0, target) == pytest.approx(error, rel=1e-9)
    # The Keras metric takes the same sign(det R) branch.
    metric = M.PMPJPE()
    metric.update_state(target.astype(np.float32), (0.5 * mirrored @ rotation + 3.0).astype(np.float32))
    assert float(metric.result()) == pytest.approx(error, rel=1e-5)


def test_p_mpjpe_degenerate_frames_do_not_give_nan():
    rng = np.random.default_rng(2)
    target = rng.normal(size=(1, 17, 3))
    collapsed = np.ones_like(target)  # every joint at one point: best alignment is the centroid
    expected = np.mean(np.linalg.norm(target - target.mean(axis=1, keepdims=True), axis=-1))
    assert M.p_mpjpe(collapsed, target) == pytest.approx(expected)
    assert M.n_mpjpe(np.zeros_like(target), target) == pytest.approx(M.mpjpe(np.zeros_like(target), target))


def test_n_mpjpe_removes_a_global_scale_only():
    rng = np.random.default_rng(3)
    target = rng.normal(size=(5, 17, 3))
    assert M.n_mpjpe(3.0 * target, target) == pytest.approx(0.0, abs=1e-12)
    shifted = target + 1.0
    assert M.n_mpjpe(shifted, target) > 0.1


def test_mpjve_by_hand():
    target = np.zeros((3, 2, 3))
    pred = np.zeros((3, 2, 3))
    pred[1, 0, 0] = 1.0  # joint 0 jumps out and back: velocity errors 1 and 1
    assert M.mpjve(pred, target) == pytest.approx((1 + 0 + 1 + 0) / 4)
    # A constant offset has no velocity error.
    assert M.mpjve(target + 5.0, target) == 0.0


def test_top_k_accuracy_by_hand():
    scores = np.array(
        [
            [0.1, 0.7, 0.2],  # label 1: rank 1
            [0.5, 0.3, 0.2],  # label 1: rank 2
            [0.6, 0.3, 0.1],  # label 2: rank 3
            [0.2, 0.2, 0.6],  # label 0: tied at rank 2 with class 1 -> counts for k = 2
        ]
    )
    labels = np.array([1, 1, 2, 0])
    assert M.top_k_accuracy(scores, labels, 1) == 0.25
    assert M.top_k_accuracy(scores, labels, 2) == 0.75
    assert M.top_k_accuracy(scores, labels, 3) == 1.0
    assert M.top_k_accuracy(np.log(scores), labels, 2) == 0.75  # logits or probabilities


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: M.mpjpe(np.zeros((4, 17, 3)), np.zeros((4, 16, 3))),
         "`predicted` must have the shape of `target` (4, 16, 3); found (4, 17, 3)"),
        (lambda: M.p_mpjpe(np.zeros(3), np.zeros(3)), "`predicted` must have at least 2 dimensions"),
        (lambda: M.mpjve(np.zeros((1, 17, 3)), np.zeros((1, 17, 3))),
         "`target` must have at least 2 frames along axis 0"),
        (lambda: M.top_k_accuracy(np.zeros((2, 3)), [0, 3], 1), "`labels` must lie in [0, 3)"),
        (lambda: M.top_k_accuracy(np.zeros((2, 3)), [0, 1], 4), "`k` must be an integer in [1, 3]; found 4"),
        (lambda: M.top_k_accuracy(np.zeros((2, 3)), [0], 1), "`labels` must have shape (2,)"),
    ],
)
def test_numpy_metrics_validate_shapes(call, message):
    with pytest.raises(ValueError) as error:
        call()
    assert message in str(error.value)


# ---------------------------------------------------------------------------
# Keras metrics and loss
# ---------------------------------------------------------------------------

POSE_METRICS = [(M.MPJPE, M.mpjpe), (M.PMPJPE, M.p_mpjpe), (M.NMPJPE, M.n_mpjpe)]


def _clipwise_mpjve(pred, target):
    """The numpy MPJVE of every clip, weighted by its number of velocity steps."""
    steps = [p.shape[0] - 1 for p in pred]
    values = [M.mpjve(p, t) for p, t in zip(pred, target)]
    return float(np.average(values, weights=steps))


@pytest.mark.parametrize("metric_class, function", POSE_METRICS)
def test_keras_pose_metric_equals_numpy(h36m, metric_class, function):
    pred, target = h36m["pred"], h36m["target"]
    metric = metric_class()
    metric.update_state(target, pred)
    np.testing.assert_allclose(float(metric.result()), function(pred, target), rtol=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    assert float(metric_class(scale=1000.0)(target, pred)) == pytest.approx(1000 * function(pred, target), rel=1e-5)


@pytest.mark.parametrize("metric_class, function", POSE_METRICS)
def test_keras_pose_metric_accumulates_frame_weighted(h36m, metric_class, function):
    pred, target = h36m["pred"], h36m["target"]
    metric = metric_class()
    # Batches of different sizes and clip lengths: frames are what is averaged.
    metric.update_state(target[:1], pred[:1])  # 30 frames
    metric.update_state(target[1:, :10], pred[1:, :10])  # 30 frames
    metric.update_state(target[3, 10:], pred[3, 10:])  # (20, 17, 3): 20 single frames
    frames_p = np.concatenate([pred[0], pred[1:, :10].reshape(-1, 17, 3), pred[3, 10:]])
    frames_t = np.concatenate([target[0], target[1:, :10].reshape(-1, 17, 3), target[3, 10:]])
    expected = function(frames_p, frames_t)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    # Averaging the three batch means would be a different number.
    batch_means = [function(pred[:1], target[:1]), function(pred[1:, :10], target[1:, :10]),
                   function(pred[3, 10:], target[3, 10:])]
    assert abs(np.mean(batch_means) - expected) > 1e-4 * expected


@pytest.mark.parametrize("metric_class, function", POSE_METRICS)
def test_keras_pose_metric_sample_weights(h36m, metric_class, function):
    pred, target = h36m["pred"], h36m["target"]
    # Per-clip weights act like repeating the clip.
    weights = np.array([1.0, 2.0, 0.0, 3.0], np.float32)
    metric = metric_class()
    metric.update_state(target, pred, sample_weight=weights)
    repeats = weights.astype(int)
    expected = function(np.repeat(pred, repeats, axis=0), np.repeat(target, repeats, axis=0))
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    # A (batch, frames) mask keeps exactly the unmasked frames.
    mask = np.ones((4, 30), np.float32)
    mask[1, 12:] = 0
    mask[2] = 0
    metric = metric_class()
    metric.update_state(target, pred, sample_weight=mask)
    keep = mask.astype(bool)
    np.testing.assert_allclose(float(metric.result()), function(pred[keep], target[keep]), rtol=1e-5)


def test_keras_mpjve_equals_numpy(h36m):
    pred, target = h36m["pred"], h36m["target"]
    metric = M.MPJVE()
    metric.update_state(target[:1], pred[:1])
    np.testing.assert_allclose(float(metric.result()), h36m["mpjve_first_sequence"], rtol=1e-5)
    metric.update_state(target[1:, :10], pred[1:, :10])  # 3 clips of 10 frames: 27 steps
    expected = _clipwise_mpjve(list(pred[:1]) + list(pred[1:, :10]), list(target[:1]) + list(target[1:, :10]))
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)

    # Per-clip and per-frame weights.
    metric = M.MPJVE()
    metric.update_state(target, pred, sample_weight=np.array([1.0, 0.0, 2.0, 1.0], np.float32))
    expected = _clipwise_mpjve([pred[0], pred[2], pred[2], pred[3]], [target[0], target[2], target[2], target[3]])
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    mask = np.ones((4, 30), np.float32)
    mask[0, 20:] = 0  # padding: clip 0 has 20 real frames, 19 steps
    metric = M.MPJVE()
    metric.update_state(target, pred, sample_weight=mask)
    expected = _clipwise_mpjve([pred[0, :20], *pred[1:]], [target[0, :20], *target[1:]])
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)

    with pytest.raises(ValueError, match=r"MPJVE: `y_true` must have rank >= 4"):
        M.MPJVE().update_state(target[0], pred[0])


def test_keras_metrics_inside_tf_function(h36m):
    pred, target = h36m["pred"], h36m["target"]
    metrics = [M.MPJPE(), M.PMPJPE(), M.NMPJPE(), M.MPJVE()]
    spec = tf.TensorSpec((None, None, 17, 3), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def update(y_true, y_pred):
        for metric in metrics:
            metric.update_state(y_true, y_pred)

    update(target[:2], pred[:2])
    update(target[2:], pred[2:])
    for metric, function in zip(metrics[:3], [M.mpjpe, M.p_mpjpe, M.n_mpjpe]):
        np.testing.assert_allclose(float(metric.result()), function(pred, target), rtol=1e-5)
    np.testing.assert_allclose(float(metrics[3].result()), _clipwise_mpjve(pred, target), rtol=1e-5)


def test_keras_metrics_and_loss_in_compiled_model_evaluate(h36m):
    pred, target = h36m["pred"], h36m["target"]
    model = keras.Sequential([keras.Input((30, 17, 3)), keras.layers.Rescaling(1.1)])
    model.compile(
        loss=M.MPJPELoss(),
        metrics=[M.MPJPE(scale=1000.0), M.PMPJPE(), M.NMPJPE(), M.MPJVE()],
        jit_compile=False,
    )
    results = model.evaluate(pred, target, batch_size=3, verbose=0, return_dict=True)
    scaled = 1.1 * pred
    np.testing.assert_allclose(results["loss"], M.mpjpe(scaled, target), rtol=1e-5)
    np.testing.assert_allclose(results["mpjpe"], 1000 * M.mpjpe(scaled, target), rtol=1e-5)
    np.testing.assert_allclose(results["p_mpjpe"], M.p_mpjpe(scaled, target), rtol=1e-5)
    np.testing.assert_allclose(results["n_mpjpe"], M.n_mpjpe(pred, target), rtol=1e-5)  # scale-free
    np.testing.assert_allclose(results["mpjve"], _clipwise_mpjve(scaled, target), rtol=1e-5)


def test_mpjpe_loss(h36m):
    pred, target = h36m["pred"], h36m["target"]
    loss = M.MPJPELoss()
    np.testing.assert_allclose(float(loss(target, pred)), M.mpjpe(pred, target), rtol=1e-5)
    # Keras' "sum_over_batch_size": sum of weighted per-frame errors / number of frames.
    weights = np.array([1.0, 0.0, 2.0, 1.0], np.float32)
    per_clip = np.array([M.mpjpe(p, t) for p, t in zip(pred, target)])
    np.testing.assert_allclose(float(loss(target, pred, sample_weight=weights)),
                               np.sum(weights * per_clip) / 4, rtol=1e-5)
    assert float(M.MPJPELoss(reduction="sum")(target, pred)) == pytest.approx(
        M.mpjpe(pred, target) * 120, rel=1e-5)
    with pytest.raises(ValueError, match=r"`y_pred` must have the shape of `y_true` \(4, 30, 17, 3\)"):
        loss(target, pred[..., :2])


def test_top_k_accuracy_metric_equals_numpy():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(64, 60)).astype(np.float32)
    labels = rng.integers(0, 60, size=64)
    for k in (1, 5):
        metric = M.TopKAccuracy(k=k)
        assert metric.name == f"top{k}_accuracy"
        metric.update_state(labels[:40], logits[:40])
        metric.update_state(labels[40:], logits[40:])
        assert float(metric.result()) == pytest.approx(M.top_k_accuracy(logits, labels, k))
    # Ties straddling the k-th place count as hits in both.
    scores = np.array([[0.2, 0.2, 0.6]], np.float32)
    metric = M.TopKAccuracy(k=2)
    metric.update_state(np.array([0]), scores)
    assert float(metric.result()) == M.top_k_accuracy(scores, [0], 2) == 1.0


@pytest.mark.parametrize(
    "obj",
    [M.MPJPE(name="val_mpjpe", scale=1000.0), M.PMPJPE(), M.NMPJPE(dtype="float64"), M.MPJVE(scale=2.0),
     M.TopKAccuracy(k=3), M.MPJPELoss(reduction="sum", name="pose_loss")],
    ids=lambda o: type(o).__name__,
)
def test_serialisation_round_trip(obj, h36m):
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(obj)
    assert serialized["registered_name"] == f"skeleton_zoo>{type(obj).__name__}"
    restored = keras.saving.deserialize_keras_object(json.loads(json.dumps(serialized)))
    assert type(restored) is type(obj) and restored.get_config() == config
    if isinstance(obj, M._FrameWeightedPoseMetric):
        assert restored.scale == obj.scale and restored.name == obj.name
        restored.update_state(h36m["target"], h36m["pred"])
        obj.update_state(h36m["target"], h36m["pred"])
        assert float(restored.result()) == pytest.approx(float(obj.result()), rel=1e-6)


_DISTRIBUTED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    from skeleton_zoo.evaluation import metrics as M
    data = np.load(sys.argv[1])
    pred, target = data["pred"], data["target"]
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        metrics = [M.MPJPE(), M.PMPJPE(), M.NMPJPE(), M.MPJVE(), M.TopKAccuracy(k=2)]
    labels = np.array([0, 1, 2, 1])
    logits = pred[:, 0, :3, 0]
    dataset = tf.data.Dataset.from_tensor_slices((target, pred, labels, logits)).batch(4)
    dataset = strategy.experimental_distribute_dataset(dataset)

    @tf.function
    def step(y_true, y_pred, labels, logits):
        def replica_fn(y_true, y_pred, labels, logits):
            for metric in metrics[:4]:
                metric.update_state(y_true, y_pred)
            metrics[4].update_state(labels, logits)
            return tf.shape(y_true)[0]
        return strategy.experimental_local_results(strategy.run(replica_fn, args=(y_true, y_pred, labels, logits)))

    for batch in dataset:
        per_replica = step(*batch)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "per_replica_batch": [int(x) for x in per_replica],
        "results": [float(m.result()) for m in metrics],
        "top2_numpy": M.top_k_accuracy(logits, labels, 2),
    }))
    """
)


def test_keras_metrics_under_mirrored_strategy(h36m, tmp_path):
    # Logical CPU devices must be configured before TensorFlow initialises its
    # runtime, which other tests in this process already did: run in a child.
    script = tmp_path / "distributed.py"
    script.write_text(_DISTRIBUTED_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    root = str(FIXTURES.parent.parent)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, str(script), str(FIXTURES / "h36m" / "metrics_expected.npz")],
        capture_output=True, text=True, timeout=300, env=env, cwd=root,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    assert out["per_replica_batch"] == [2, 2]  # each replica really saw half of the batch
    pred, target = h36m["pred"], h36m["target"]
    expected = [M.mpjpe(pred, target), M.p_mpjpe(pred, target), M.n_mpjpe(pred, target),
                _clipwise_mpjve(pred, target), out["top2_numpy"]]
    np.testing.assert_allclose(out["results"], expected, rtol=1e-5)


# ---------------------------------------------------------------------------
# Pose-lifting reports
# ---------------------------------------------------------------------------

RECORDS = [
    {"action": "Walking 1", "subject": "S9", "num_frames": 100, "mpjpe": 10.0, "p_mpjpe": 5.0},
    {"action": "Walking", "subject": "S11", "num_frames": 300, "mpjpe": 20.0, "p_mpjpe": 9.0},
    {"action": "WalkDog 1", "subject": "S9", "num_frames": 50, "mpjpe": 40.0, "p_mpjpe": 30.0},
    {"action": "Directions 1", "subject": "S9", "num_frames": 200, "mpjpe": 30.0, "p_mpjpe": 20.0},
    {"action": "Directions", "subject": "S11", "num_frames": 600, "mpjpe": 50.0, "p_mpjpe": 24.0},
]


def test_action_table_groups_and_averages():
    result = R.action_table(RECORDS)
    assert list(result) == ["mpjpe", "p_mpjpe"]
    # Paper column order; "WalkDog" is not "Walking".
    assert list(result["mpjpe"]) == ["Directions", "WalkDog", "Walking", "Avg"]
    # Frame-weighted within an action ...
    assert result["mpjpe"]["Walking"] == pytest.approx((100 * 10 + 300 * 20) / 400)  # 17.5
    assert result["mpjpe"]["Directions"] == pytest.approx((200 * 30 + 600 * 50) / 800)  # 45.0
    assert result["mpjpe"]["WalkDog"] == pytest.approx(40.0)
    # ... and an unweighted mean over actions.
    assert result["mpjpe"]["Avg"] == pytest.approx((17.5 + 45.0 + 40.0) / 3)
    assert result["p_mpjpe"]["Walking"] == pytest.approx((500 + 2700) / 400)  # 8.0
    assert result["p_mpjpe"]["Avg"] == pytest.approx((23.0 + 30.0 + 8.0) / 3)
    assert R.action_name("WalkTogether 2") == "WalkTogether"


def test_action_table_validates_records():
    with pytest.raises(ValueError, match=r"`errors_by_sequence\[1\]` must have the key 'num_frames'"):
        R.action_table([RECORDS[0], {"action": "Walking", "mpjpe": 1.0, "p_mpjpe": 1.0}])
    with pytest.raises(ValueError, match=r"\['mpjpe'\]` must be a finite number"):
        R.action_table([dict(RECORDS[0], mpjpe=float("nan"))])
    with pytest.raises(ValueError, match="must not be empty"):
        R.action_table([])
    with pytest.raises(ValueError, match="num_frames'\\]` must be a positive integer; found 0"):
        R.action_table([dict(RECORDS[0], num_frames=0)])


def test_format_table_markdown():
    text = R.format_table(R.action_table(RECORDS))
    lines = text.strip().splitlines()
    assert lines[0] == "| Metric (mm) | Directions | WalkDog | Walking | Avg |"
    assert lines[1] == "|---|---:|---:|---:|---:|"
    assert lines[2] == "| Protocol #1 (MPJPE) | 45.0 | 40.0 | 17.5 | 34.2 |"
    assert lines[3] == "| Protocol #2 (P-MPJPE) | 23.0 | 30.0 | 8.0 | 20.3 |"
    assert len(lines) == 4


def test_write_json_and_csv(tmp_path):
    result = R.action_table(RECORDS)
    json_path = R.write_json(result, tmp_path / "out" / "h36m.json")
    assert json.loads(json_path.read_text()) == result
    csv_path = R.write_csv(result, tmp_path / "h36m.csv")
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["metric", "Directions", "WalkDog", "Walking", "Avg"]
    assert rows[1][0] == "mpjpe" and float(rows[1][3]) == pytest.approx(17.5)
    assert float(rows[2][4]) == pytest.approx(result["p_mpjpe"]["Avg"], rel=1e-15)


# ---------------------------------------------------------------------------
# Action-recognition reports
# ---------------------------------------------------------------------------

CLASSES = ["drink water", "eat meal", "brush teeth", "brush hair", "drop", "pick up"]
LABELS = np.array([0, 1, 2, 2])
SPATIAL = np.array(
    [
        [5, 1, 0, 0, 0, 0],  # label 0: correct
        [3, 2, 0, 0, 0, 0],  # label 1: rank 2
        [0, 0, 1, 2, 3, 4],  # label 2: rank 4
        [0.1, 0.2, 0, 1, 1.5, 2],  # label 2: rank 6 (top-5 miss)
    ]
)
TEMPORAL = np.array(
    [
        [0, 1, 0, 0, 0, 0],  # label 0: rank 2
        [0, 4, 0, 0, 0, 0],  # label 1: correct
        [0, 0, 5, 0, 0, 0],  # label 2: correct
        [0, 0, 3, 0, 0, 4],  # label 2: rank 2
    ]
)


def test_classification_report_two_streams():
    report = R.classification_report({"spatial": SPATIAL, "temporal": TEMPORAL}, LABELS, CLASSES)
    assert report["top_k"] == [1, 5] and report["primary"] == "fused"
    results = report["results"]
    assert list(results) == ["spatial", "temporal", "fused"]
    assert (results["spatial"]["top1"], results["spatial"]["top5"]) == (0.25, 0.75)
    assert (results["temporal"]["top1"], results["temporal"]["top5"]) == (0.5, 1.0)
    # Fused = sum of logits: [5,2,..], [3,6,..], [0,0,6,2,3,4], [.1,.2,3,1,1.5,6].
    assert (results["fused"]["top1"], results["fused"]["top5"]) == (0.75, 1.0)
    confusion = results["fused"]["confusion_matrix"]
    assert confusion.shape == (6, 6) and confusion.sum() == 4
    assert confusion[0, 0] == 1 and confusion[1, 1] == 1 and confusion[2, 2] == 1 and confusion[2, 5] == 1
    np.testing.assert_array_equal(results["fused"]["per_class_accuracy"][:3], [1.0, 1.0, 0.5])
    assert np.all(np.isnan(results["fused"]["per_class_accuracy"][3:]))  # no samples
    np.testing.assert_array_equal(results["spatial"]["per_class_accuracy"][:3], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(report["class_counts"], [1, 1, 2, 0, 0, 0])


def test_classification_report_fusion_modes():
    # Spatial is confidently class 0 by logit margin but spreads its probability;
    # temporal is sure of class 1: the two fusions disagree.
    spatial = np.array([[10.0, 0.0, 9.9, 9.9, 9.9, 9.9]])
    temporal = np.array([[0.0, 8.0, 0.0, 0.0, 0.0, 0.0]])
    streams = {"spatial": spatial, "temporal": temporal}
    by_logits = R.classification_report(streams, [1], CLASSES, fusion="logits")
    by_softmax = R.classification_report(streams, [1], CLASSES, fusion="softmax")
    assert by_logits["results"]["fused"]["top1"] == 0.0
    assert by_softmax["results"]["fused"]["top1"] == 1.0
    single = R.classification_report({"joint": spatial}, [0], CLASSES)
    assert list(single["results"]) == ["joint"] and single["primary"] == "joint"
    with pytest.raises(ValueError, match="`fusion` must be 'logits' or 'softmax'; found 'mean'"):
        R.classification_report(streams, [1], CLASSES, fusion="mean")
    with pytest.raises(ValueError, match=r"`class_names` must have 6 entries .*found 2"):
        R.classification_report(streams, [1], CLASSES[:2])
    with pytest.raises(ValueError, match=r"`logits_by_stream\['temporal'\]` must have the shape of the first stream"):
        R.classification_report({"spatial": spatial, "temporal": temporal[:, :5]}, [1], CLASSES)


def test_format_classification_and_json(tmp_path):
    report = R.classification_report({"spatial": SPATIAL, "temporal": TEMPORAL}, LABELS, CLASSES)
    text = R.format_classification(report)
    assert "| Stream | Top-1 | Top-5 |" in text
    assert "| spatial | 25.00 | 75.00 |" in text
    assert "| temporal | 50.00 | 100.00 |" in text
    assert "| fused (logits) | 75.00 | 100.00 |" in text
    assert "| # | Class | Samples | spatial | temporal | fused |" in text
    assert "| 2 | brush teeth | 2 | 0.00 | 50.00 | 50.00 |" in text
    assert "| 5 | pick up | 0 | - | - | - |" in text
    loaded = json.loads(R.write_json(report, tmp_path / "ntu.json").read_text())
    assert loaded["results"]["fused"]["confusion_matrix"][2] == [0, 0, 1, 0, 0, 1]
    assert loaded["results"]["fused"]["per_class_accuracy"][3] is None  # NaN -> null
    assert loaded["class_names"] == CLASSES and loaded["top_k"] == [1, 5]


@pytest.mark.parametrize("num_classes", [6, 120])
def test_confusion_matrix_png(tmp_path, num_classes):
    rng = np.random.default_rng(5)
    matrix = rng.integers(0, 20, size=(num_classes, num_classes))
    matrix[np.arange(num_classes), np.arange(num_classes)] += 50
    matrix[-1] = 0  # a class without samples
    names = [f"A{i + 1:03d} action {i}" for i in range(num_classes)]
    path = R.save_confusion_matrix_png(matrix, names, tmp_path / "plots" / "cm.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    with pytest.raises(ValueError, match=r"`matrix` must be a square .* found shape \(2, 3\)"):
        R.save_confusion_matrix_png(np.zeros((2, 3)), None, tmp_path / "bad.png")


def test_motion_loss_equals_motionberts_official_terms():
    """loss_mpjpe + 0.5 n_mpjpe + 20 loss_velocity (lib/model/loss.py), in numpy."""
    from skeleton_zoo.evaluation.metrics import MotionLoss
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo import registry

    rng = np.random.default_rng(0)
    pred, true = rng.normal(size=(2, 2, 5, 17, 3)).astype("float32")

    def mean_norm(a):
        return np.mean(np.linalg.norm(a, axis=-1))

    scale = (np.mean(np.sum(true * pred, axis=3, keepdims=True), axis=2, keepdims=True)
             / np.mean(np.sum(pred ** 2, axis=3, keepdims=True), axis=2, keepdims=True))
    velocity = (pred[:, 1:] - pred[:, :-1]) - (true[:, 1:] - true[:, :-1])
    expected = mean_norm(pred - true) + 0.5 * mean_norm(scale * pred - true) + 20 * mean_norm(velocity)
    loss = MotionLoss(0.5, 20.0)
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(loss(true, pred))), expected, rtol=1e-5)
    assert MotionLoss.from_config(loss.get_config()).get_config() == loss.get_config()
    recipe = registry.get_family("motionagformer").recipe
    assert isinstance(get_task("pose_lifting").loss(recipe), MotionLoss)
    assert type(get_task("pose_lifting").loss(registry.get_family("gast").recipe)).__name__ == "MPJPELoss"
