"""A model family is a plug-in: two toy families (`toy_lifter.py`,
`toy_classifier.py`, registered through the public API only) go through
every pipeline: load, `.keras` round trip, train, evaluate, export with
verification, lift and classify, with the command lines seeing them through
$SKELETON_ZOO_PLUGINS. Also: ensembles as a task-level construct."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import registry

import toy_classifier  # noqa: F401  (registers the family)
import toy_lifter  # noqa: F401  (registers the family)
from conftest import H36M_DUMMY, NTU_DUMMY, ntu_skeleton_files
from helpers import assert_config_complete, assert_keras_round_trip

HERE = pathlib.Path(__file__).parent
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", SKELETON_ZOO_PLUGINS="toy_lifter,toy_classifier",
           PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))


def _run(*args):
    result = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """The builders' dummy datasets, prepared once."""
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401

    folder = tmp_path_factory.mktemp("tfds")
    for name, manual in (("human36m/gt", H36M_DUMMY), ("ntu_rgbd/xsub60", NTU_DUMMY)):
        tfds.builder(name, data_dir=str(folder)).download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
    return str(folder)


@pytest.mark.parametrize("name, shape", [("toy_mlp_lifter", (2, 5, 17, 2)), ("toy_mean_pool", (2, 7, 25, 2, 3))])
def test_load_and_keras_round_trip(name, shape, tmp_path):
    model = skeleton_zoo.load(name)
    preset = registry.get_preset(name)
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == preset.parameters[preset.layout]
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)


def test_listed_with_the_built_in_presets():
    rows = {row["name"]: row for row in skeleton_zoo.list_models()}
    assert rows["toy_mlp_lifter"]["task"] == "pose_lifting" and rows["toy_mean_pool"]["parameters"] == 1_084
    listing = _run("-m", "skeleton_zoo", "list", "--family", "toy_lifter").stdout
    assert "toy_mlp_lifter" in listing and "gast_27" not in listing


def test_lifter_trains_evaluates_exports_and_lifts(data_dir, tmp_path):
    run, weights = tmp_path / "run", tmp_path / "run" / "best.weights.h5"
    _run("-m", "skeleton_zoo.train", "--model", "toy_mlp_lifter", "--dataset", "human36m/gt", "--data_dir", data_dir,
         "--downsample", "1", "--out", run)
    history = json.loads((run / "history.json").read_text())
    assert len(history) == 1 and np.isfinite(history[0]["loss"])  # the family's recipe: one epoch
    assert json.loads((run / "metrics.json").read_text())["mpjpe"] > 0
    _run("-m", "skeleton_zoo.evaluate", "--model", "toy_mlp_lifter", "--weights", weights, "--dataset",
         "human36m/gt", "--data_dir", data_dir, "--downsample", "1", "--out", tmp_path / "eval")
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["split"] == "test"
    _run("-m", "export", "--model", "toy_mlp_lifter", "--weights", weights, "--format", "all", "--out",
         tmp_path / "exported")
    report = json.loads((tmp_path / "exported" / "export_report.json").read_text())
    assert {(c["format"], c["variant"]) for c in report["checks"]} >= {
        (f, v) for f in ("saved_model", "onnx", "tflite") for v in ("sequence", "single_frame")}
    assert all(c["ok"] for c in report["checks"])
    keypoints = np.random.default_rng(0).uniform(100, 600, size=(12, 17, 2)).astype("float32")
    np.savez(tmp_path / "clip.npz", keypoints=keypoints, width=640, height=480)
    _run("-m", "skeleton_zoo.lift", tmp_path / "clip.npz", "--model", "toy_mlp_lifter", "--weights", weights,
         "--out", tmp_path / "poses.npz")
    with np.load(tmp_path / "poses.npz") as poses:
        assert poses["poses_3d"].shape == (1, 12, 17, 3) and np.isfinite(poses["poses_3d"]).all()


def test_classifier_trains_evaluates_exports_and_classifies(data_dir, tmp_path):
    run, weights = tmp_path / "run", tmp_path / "run" / "last.weights.h5"
    _run("-m", "skeleton_zoo.train", "--model", "toy_mean_pool", "--dataset", "ntu_rgbd/xsub60", "--data_dir",
         data_dir, "--out", run)
    assert set(json.loads((run / "metrics.json").read_text())) == {"top1", "top5", "streams"}
    _run("-m", "skeleton_zoo.evaluate", "--model", "toy_mean_pool", "--weights", weights, "--dataset",
         "ntu_rgbd/xsub60", "--data_dir", data_dir, "--out", tmp_path / "eval")
    assert (tmp_path / "eval" / "confusion_matrix.png").exists()
    _run("-m", "export", "--model", "toy_mean_pool", "--weights", weights, "--format", "all", "--out",
         tmp_path / "exported")
    report = json.loads((tmp_path / "exported" / "export_report.json").read_text())
    assert {c["format"] for c in report["checks"]} == {"keras", "saved_model", "onnx", "tflite"}
    assert all(c["ok"] for c in report["checks"])
    files = ntu_skeleton_files()[:2]
    result = _run("-m", "skeleton_zoo.classify", *files, "--model", "toy_mean_pool", "--weights", weights, "--json")
    results = json.loads(result.stdout)
    assert [r["file"] for r in results] == [str(f) for f in files]
    assert all(len(r["top"]) == 5 and 0 < r["top"][0]["probability"] <= 1 for r in results)


def test_an_ensemble_of_plug_in_streams(tmp_path):
    """Ensembles are generic: a preset of two toy streams fuses their logits or probabilities."""
    import keras

    registry.register_preset(registry.Preset(
        name="toy_two_stream", family="toy_classifier", description="two toy streams",
        streams={"first": "toy_mean_pool", "second": "toy_mean_pool"}, fusion="logits", layout="ntu25",
        clip_frames=300, num_classes=60, parameters={"ntu25": 2 * 1_084}))
    model = skeleton_zoo.load("toy_two_stream", num_classes=5)
    x = np.random.default_rng(0).normal(size=(3, 6, 25, 2, 3)).astype("float32")
    a, b = (keras.ops.convert_to_numpy(model.streams[s](x)) for s in ("first", "second"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), a + b, rtol=1e-5, atol=1e-6)
    soft = skeleton_zoo.load("toy_two_stream", num_classes=5, fusion="softmax")
    soft.set_weights(model.get_weights())
    probabilities = keras.ops.convert_to_numpy(soft.to_probabilities(soft(x)))
    expected = (keras.ops.convert_to_numpy(keras.ops.softmax(a)) + keras.ops.convert_to_numpy(keras.ops.softmax(b))) / 2
    np.testing.assert_allclose(probabilities, expected, rtol=1e-5, atol=1e-6)
    assert_keras_round_trip(model, x, tmp_path)
    with pytest.raises(ValueError, match="FIRST,SECOND"):
        from skeleton_zoo.weights import parse_weights_argument

        parse_weights_argument(registry.get_preset("toy_two_stream"), "a.weights.h5")


def test_a_model_without_its_tasks_attributes_is_refused_at_load():
    import keras

    def build(preset, **overrides):
        inputs = keras.Input((None, 17, 2))
        return keras.Model(inputs, keras.layers.Dense(3)(inputs), name=preset.name)

    registry.register_family(
        registry.Family(name="toy_incomplete", title="Incomplete", task="pose_lifting", build=build),
        presets=[registry.Preset(name="toy_incomplete_lifter", family="toy_incomplete",
                                 description="lacks the lifter attributes", layout="h36m17",
                                 receptive_field=1, parameters={"h36m17": 9})])
    with pytest.raises(TypeError, match=r"is not a pose_lifting model: it lacks \['layout', 'receptive_field', "
                                        r"'causal'\]"):
        skeleton_zoo.load("toy_incomplete_lifter")
    with pytest.raises(ValueError, match="`task` must be one of"):
        registry.register_family(registry.Family(name="toy_bad", title="Bad", task="segmentation", build=build))
