"""Sequence-to-sequence lifters (MotionBERT) through the pose-lifting
pipelines: clips of the model's length with the official short last clip,
the detection confidence as the third channel, `lift`, export and the
benchmark's spec."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.datasets.poses import flip_pose
from skeleton_zoo.evaluation.protocols import predict_sequences
from skeleton_zoo.inference import lift
from skeleton_zoo.tasks import get_task
from skeleton_zoo.tasks.pose_lifting import clip_frames, clip_slices, with_confidence

TINY = {"dim_feat": 16, "dim_rep": 16, "depth": 1, "num_heads": 2, "max_frames": 9}
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


@pytest.fixture(scope="module")
def model():
    return skeleton_zoo.load("motionbert", **TINY)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x[None], training=False))[0]


def test_clip_slices_are_consecutive_with_a_short_last_clip():
    assert clip_slices(20, 9) == [slice(0, 9), slice(9, 18), slice(18, 20)]
    assert clip_slices(9, 9) == [slice(0, 9)] and clip_slices(3, 9) == [slice(0, 3)]
    with pytest.raises(ValueError, match="at least one frame"):
        clip_slices(0, 9)


def test_confidence_is_appended_only_for_models_that_take_it(model):
    x = np.random.default_rng(0).normal(size=(4, 17, 2)).astype("float32")
    scores = np.full((4, 17), 0.25, "float32")
    np.testing.assert_array_equal(with_confidence(x, model, scores)[..., 2], scores)
    np.testing.assert_array_equal(with_confidence(x, model)[..., 2], np.ones((4, 17)))
    assert with_confidence(x, skeleton_zoo.load("gast_9", channels=8)) is not None
    assert with_confidence(x, skeleton_zoo.load("gast_9", channels=8)).shape == (4, 17, 2)
    with pytest.raises(ValueError, match="takes 3 values per joint"):
        with_confidence(np.zeros((4, 17, 4)), model)


def test_whole_sequences_run_in_clips_with_the_official_flip(model):
    assert clip_frames(model) == 9 and model.receptive_field == 9
    x = np.random.default_rng(1).normal(size=(20, 17, 3)).astype("float32")
    plain = predict_sequences(model, [x], flip=False)[0]
    expected = np.concatenate([run(model, x[s]) for s in clip_slices(20, 9)])
    np.testing.assert_allclose(plain, expected, atol=1e-5)
    flipped = predict_sequences(model, [x], flip=True)[0]
    layout = model.layout
    expected = np.concatenate([(run(model, x[s]) + flip_pose(run(model, flip_pose(x[s], layout)), layout)) / 2
                               for s in clip_slices(20, 9)])
    np.testing.assert_allclose(flipped, expected, atol=1e-5)
    # (T, J, 2) keypoints get confidence 1
    np.testing.assert_allclose(predict_sequences(model, [x[..., :2]], flip=False)[0],
                               predict_sequences(model, [with_confidence(x[..., :2], model)], flip=False)[0])


def test_lift_feeds_the_detection_scores(model, tmp_path):
    rng = np.random.default_rng(2)
    clip = rng.uniform(200, 800, size=(1, 13, 17, 2)).astype("float32")
    results = []
    for score in (0.9, 0.5):
        np.savez(tmp_path / "k.npz", keypoints=clip, scores=np.full((1, 13, 17), score, "float32"),
                 width=1280, height=720)
        results.append(lift.lift_file(tmp_path / "k.npz", model=model))
    assert results[0]["poses_3d"].shape == (1, 13, 17, 3) and results[0]["keypoints_2d"].shape == (1, 13, 17, 2)
    assert np.abs(results[0]["poses_3d"] - results[1]["poses_3d"]).max() > 1e-4  # the confidence is an input


EXPORTED = {"motionbert": TINY,
            "motionagformer_xs": {"n_layers": 1, "dim_feat": 8, "dim_rep": 8, "num_heads": 2, "num_frames": 9},
            "tcpformer_81": {"n_layers": 1, "dim_feat": 8, "dim_rep": 8, "num_heads": 2, "num_frames": 9}}


@pytest.mark.parametrize("name", list(EXPORTED))
def test_export_has_the_fixed_clip_and_only_the_sequence_variant(name, tmp_path):
    """Every format, verified against Keras (MotionAGFormer's K-NN top-k, TCPFormer's pose queries too)."""
    from export.common import build_specs

    (spec,) = build_specs(name, **EXPORTED[name])
    assert spec.variant == "sequence" and spec.input_shape == (None, 9, 17, 3)
    with pytest.raises(ValueError, match="exports only the 'sequence' variant"):
        build_specs(name, variants=("single_frame",), **EXPORTED[name])
    options = [a for k, v in EXPORTED[name].items() for a in ("--option", f"{k}={v}")]
    result = subprocess.run([sys.executable, "-m", "export", "--model", name, *options, "--format", "all",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=900, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ") and "sequence" in line]
    assert {row.split("|")[1].strip() for row in rows} == {"keras", "saved_model", "onnx", "tflite"}
    assert all(row.rstrip(" |").endswith("yes") for row in rows)
    assert (tmp_path / f"{name}_sequence.onnx").exists() and (tmp_path / f"{name}_sequence.tflite").exists()


def test_the_benchmark_measures_clip_throughput_only():
    from skeleton_zoo import registry

    task, preset = get_task("pose_lifting"), registry.get_preset("motionbert")
    assert task.benchmark_measurements_for(preset) == ("sequence_throughput",)
    assert task.benchmark_spec_options({}, preset) == {"variants": ("sequence",)}
    from export.common import build_specs

    specs = build_specs("motionbert", **TINY)
    (job,) = task.benchmark_jobs(specs, {"frames": 100}, np.random.default_rng(0))
    assert job[0] == "sequence_throughput" and job[2].shape == (1, 9, 17, 3) and job[3] == 9


def test_alphapose_input_lifts_with_motionbert_in_the_wild_defaults(tmp_path):
    """Halpe-26 -> H36M-17 and crop_scale over the whole track (infer_wild's default), confidence channel."""
    from skeleton_zoo.formats.camera import crop_scale, pixels_from_normalized, normalize_pixels
    from skeleton_zoo.formats.keypoints import halpe26_to_h36m17

    rng = np.random.default_rng(5)
    halpe = np.concatenate([rng.uniform(100, 600, size=(12, 26, 2)), rng.uniform(0.5, 1, size=(12, 26, 1))], -1)
    entries = [{"image_id": f"{t}.jpg", "keypoints": halpe[t].reshape(-1).tolist(), "idx": 3} for t in range(12)]
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps(entries))
    result = lift.lift_file(path, model="motionbert", options=TINY, flip=False, min_score=0.0)
    assert result["normalization"] == "crop" and result["poses_3d"].shape == (1, 12, 17, 3)
    h36m = halpe26_to_h36m17(halpe)
    expected_input = crop_scale(h36m).astype("float32")
    model = skeleton_zoo.load("motionbert", **TINY)  # one model for the explicit normalisations
    crop = lift.lift_file(path, model=model, flip=False, min_score=0.0, normalization="crop")
    np.testing.assert_allclose(crop["poses_3d"][0], predict_sequences(model, [expected_input], flip=False)[0],
                               atol=1e-5)
    pixel = lift.lift_file(path, model=model, flip=False, min_score=0.0, normalization="pixel", width=640,
                           height=480)
    x = h36m.copy()
    x[..., :2] = normalize_pixels(h36m[..., :2], 640, 480)
    expected = pixels_from_normalized(predict_sequences(model, [x.astype("float32")], flip=False)[0], 640, 480)
    np.testing.assert_allclose(pixel["poses_3d"][0], expected, rtol=1e-5, atol=1e-3)
