"""VideoPose3D: parity with the official `TemporalModel` / `TemporalModelOptimized1f`,
the published parameter counts, the official checkpoint containers, variants,
causality and serialisation."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.models import videopose3d
from skeleton_zoo.models.videopose3d.model import VideoPose3D

from conftest import FIXTURES, requires_tensorflow
from helpers import assert_config_complete, assert_keras_round_trip

NAMES = ["vp3d_h36m17_w333_c16", "vp3d_h36m17_w333_c16_causal", "vp3d_h36m17_w3333_c8_causal",
         "vp3d_h36m17_w33333_c8", "vp3d_traj17_w333_c16"]
COUNTS = json.loads((FIXTURES / "videopose3d" / "vp3d_param_counts.json").read_text())


def load_fixture(name):
    data = np.load(FIXTURES / "videopose3d" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


def fixture_model(config, variant):
    out = None if config["num_joints_out"] == config["num_joints_in"] else config["num_joints_out"]
    return VideoPose3D(config["filter_widths"], channels=config["channels"], num_joints_out=out, variant=variant,
                       causal=config["causal"], in_features=config["in_features"])


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("variant, x_key, y_key", [("sequence", "input_sequence", "output_sequence"),
                                                   ("single_frame", "input_window", "output_window")])
def test_official_parity(name, variant, x_key, y_key):
    config, state, arrays = load_fixture(name)
    model = fixture_model(config, variant)
    assert model.receptive_field == config["receptive_field"]
    assert model.causal_shift == config["run_py_causal_shift"]
    assert _params(model) == config["trainable_params"] == COUNTS[name]
    assert videopose3d.load_official_state_dict(model, state) == len(config["state_dict_keys"]) - sum(
        k.endswith("num_batches_tracked") for k in config["state_dict_keys"])
    y = keras.ops.convert_to_numpy(model(arrays[x_key], training=False))
    assert y.shape == arrays[y_key].shape
    np.testing.assert_allclose(y, arrays[y_key], rtol=0, atol=1e-4)


@pytest.mark.parametrize("name, layout, key", [
    ("videopose3d_27", "h36m17", "h36m_rf27_ch1024"), ("videopose3d_81", "h36m17", "h36m_rf81_ch1024"),
    ("videopose3d_243", "h36m17", "h36m_rf243_ch1024"), ("videopose3d_27", "humaneva15", "humaneva15_rf27_ch1024")])
def test_published_parameter_counts(name, layout, key):
    assert _params(skeleton_zoo.load(name, layout=layout)) == COUNTS[key]


@pytest.mark.parametrize("container", ["vp3d_h36m17_w333_c16.legacy.bin", "vp3d_h36m17_w333_c16_semi.zip.bin"])
def test_official_containers_load_without_torch(container):
    """The released files (legacy format, `model_pos`) and run.py's current
    semi-supervised container (zip, `model_pos` + `model_traj`): the pose model."""
    _, _, arrays = load_fixture("vp3d_h36m17_w333_c16")
    model = skeleton_zoo.load("videopose3d_27", weights=FIXTURES / "videopose3d" / container, channels=16)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(arrays["input_sequence"], training=False)),
                               arrays["output_sequence"], rtol=0, atol=1e-4)


def test_the_trajectory_model_loads_from_model_traj():
    """run.py's semi-supervised container holds `model_traj`: a one-joint model reads it, a pose model
    `model_pos`; a container without it says so."""
    _, _, arrays = load_fixture("vp3d_traj17_w333_c16")
    semi = FIXTURES / "videopose3d" / "vp3d_h36m17_w333_c16_semi.zip.bin"
    trajectory = skeleton_zoo.load("videopose3d_27", weights=semi, channels=16, num_joints_out=1)
    assert trajectory.official_container == "model_traj"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(trajectory(arrays["input_sequence"], training=False)),
                               arrays["output_sequence"], rtol=0, atol=1e-4)
    from skeleton_zoo.weights.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match=r"legacy\.bin.*no 'model_traj' weights"):
        skeleton_zoo.load("videopose3d_27", weights=FIXTURES / "videopose3d" / "vp3d_h36m17_w333_c16.legacy.bin",
                          channels=16, num_joints_out=1)


@requires_tensorflow
def test_the_causal_preset_streams_frame_by_frame_as_offline():
    from skeleton_zoo import PoseStreamer
    from skeleton_zoo.evaluation.protocols import predict_sequences

    streamer = PoseStreamer("videopose3d_243_causal", channels=8, jit_compile=False)
    assert streamer.receptive_field == 243 and streamer.model.variant == "single_frame"
    clip = np.random.default_rng(0).normal(size=(6, 17, 2)).astype("float32")
    offline = predict_sequences(streamer.model, [clip], flip=False)[0]  # its dilated twin, edge-padded
    np.testing.assert_allclose(streamer.push_many(clip), offline, atol=1e-4)


def test_round_trip_config_and_the_single_frame_twin(tmp_path):
    model = skeleton_zoo.load("videopose3d_27", channels=8, dtype="mixed_bfloat16")
    x = np.random.default_rng(0).normal(size=(2, 30, 17, 2)).astype("float32")
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    from skeleton_zoo.tasks.pose_lifting import with_variant

    twin = with_variant(model, "single_frame")
    window = x[:, :27]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(twin(window, training=False)),
                               keras.ops.convert_to_numpy(model(window, training=False)), atol=2e-2)
