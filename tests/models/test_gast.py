"""GAST-Net: parity with the official implementation, variants, serialisation,
dynamic shapes and input errors."""

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import GASTNet, SkeletonLayout, WeightsMismatchError
from skeleton_zoo.models import gast
from skeleton_zoo.models.gast import layers as gast_layers

from conftest import gast_fixture_model as _fixture_model
from conftest import backend_independent, load_gast_fixture, requires_tensorflow
from helpers import assert_config_complete, assert_keras_round_trip

FIXTURES = [
    "gast_h36m17_w333_c16",
    "gast_h36m17_w333_c16_causal",
    "gast_humaneva15_w33_c16",
    "gast_h36m17_w33333_c8",
]


def _trainable_params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# --- parity with the official release ----------------------------------------
@pytest.mark.parametrize("name", FIXTURES)
@pytest.mark.parametrize(
    "variant, x_key, y_key",
    [("sequence", "input_sequence", "output_sequence"), ("single_frame", "input_window", "output_window")],
)
def test_official_parity(name, variant, x_key, y_key):
    config, state, arrays = load_gast_fixture(name)
    model = _fixture_model(config, variant)
    assert model.receptive_field == config["receptive_field"]
    assert _trainable_params(model) == config["trainable_params"]
    gast.load_official_state_dict(model, state)
    y = keras.ops.convert_to_numpy(model(arrays[x_key], training=False))
    assert y.shape == arrays[y_key].shape
    np.testing.assert_allclose(y, arrays[y_key], rtol=0, atol=1e-4)


def test_parity_through_load_with_preset_overrides():
    config, state, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", weights=state, channels=16, dropout=0.25)
    np.testing.assert_allclose(
        model.predict(arrays["input_sequence"], verbose=0), arrays["output_sequence"], rtol=0, atol=1e-4
    )


def test_official_weights_change_every_output():
    """Guards the parity test: a wrongly mapped tensor must show."""
    config, state, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = _fixture_model(config, "sequence")
    broken = dict(state)
    key = "layers_graph_conv.1.global_graph_layer.attentions.2.C_k"
    broken[key] = broken[key].T.copy()
    gast.load_official_state_dict(model, broken)
    y = keras.ops.convert_to_numpy(model(arrays["input_sequence"], training=False))
    assert np.abs(y - arrays["output_sequence"]).max() > 1e-3


# --- parameter counts of the published configurations --------------------------
@pytest.mark.parametrize("rf", [9, 27, 81, 243])
@pytest.mark.parametrize("joints, layout", [(17, "h36m17"), (15, "humaneva15")])
def test_published_parameter_counts(rf, joints, layout, gast_param_counts):
    model = skeleton_zoo.load(f"gast_{rf}", layout=layout)
    assert _trainable_params(model) == gast_param_counts[f"rf{rf}_joints{joints}"]


def test_list_models_reports_presets():
    rows = {row["name"]: row for row in skeleton_zoo.list_models(family="gast")}
    assert set(rows) == {f"gast_{rf}{c}" for rf in (9, 27, 81, 243) for c in ("", "_causal")}
    assert rows["gast_243"]["receptive_field"] == 243
    assert rows["gast_9"]["parameters"] == 1_617_164


# --- the two variants share one definition -------------------------------------
@pytest.mark.parametrize("causal", [False, True])
def test_single_frame_matches_sequence_on_every_window(causal):
    layout = SkeletonLayout.from_parents([-1, 0, 1, 0, 3, 0, 5], [1, 2], [3, 4], name="toy7")
    seq = GASTNet((3, 3, 3), 8, layout, "sequence", causal=causal)
    one = GASTNet((3, 3, 3), 8, layout, "single_frame", causal=causal)
    rng = np.random.default_rng(0)
    # Random weights everywhere (BN statistics and C_k included) so nothing is trivially zero.
    seq.set_weights([rng.normal(0, 0.3, w.shape) + (1.0 if "variance" in w.path else 0.0)
                     for w in seq.weights])
    assert [w.path for w in seq.weights] == [w.path for w in one.weights]
    one.set_weights(seq.get_weights())
    x = rng.normal(size=(2, 35, 7, 2)).astype("float32")
    y_seq = keras.ops.convert_to_numpy(seq(x, training=False))
    assert y_seq.shape == (2, 35 - 26, 7, 3)
    windows = np.stack([x[:, t:t + 27] for t in range(y_seq.shape[1])], axis=1).reshape(-1, 27, 7, 2)
    y_one = keras.ops.convert_to_numpy(one(windows, training=False)).reshape(2, -1, 7, 3)
    np.testing.assert_allclose(y_one, y_seq, rtol=0, atol=1e-5)


def test_weights_file_loads_into_the_other_variant(tmp_path):
    config, state, arrays = load_gast_fixture("gast_h36m17_w333_c16_causal")
    seq = skeleton_zoo.load("gast_27_causal", weights=state, channels=16)
    path = tmp_path / "gast.weights.h5"
    seq.save_weights(path)
    one = skeleton_zoo.load("gast_27_causal", weights=str(path), channels=16, variant="single_frame")
    np.testing.assert_allclose(one.predict(arrays["input_window"], verbose=0), arrays["output_window"], atol=1e-4)
    assert one.causal_shift == 13 and seq.causal_shift == 13
    assert skeleton_zoo.load("gast_27").causal_shift == 0


# --- serialisation -----------------------------------------------------------
@pytest.mark.parametrize("variant", ["sequence", "single_frame"])
def test_keras_file_round_trip_safe_mode(tmp_path, variant):
    config, state, arrays = load_gast_fixture("gast_humaneva15_w33_c16")
    model = _fixture_model(config, variant)
    gast.load_official_state_dict(model, state)
    x = arrays["input_sequence" if variant == "sequence" else "input_window"]
    assert isinstance(assert_keras_round_trip(model, x, tmp_path), GASTNet)
    assert_config_complete(model, x)


def _layer_cases():
    layout = skeleton_zoo.get_layout("humaneva15")
    return [
        (gast_layers.SemanticGraphConv, {"units": 6, "adjacency": skeleton_zoo.layouts.kinematic_adjacency(layout)}, 4),
        (gast_layers.LocalGraphAttention, {"units": 8, "layout": layout, "dropout": 0.1}, 8),
        (gast_layers.GlobalGraphAttention, {"channels": 8, "num_heads": 2, "dropout": 0.1}, 8),
        (gast_layers.GraphAttentionBlock, {"channels": 8, "layout": "humaneva15", "dropout": 0.2}, 8),
        (gast_layers.TemporalBlock, {"channels": 8, "width": 3, "dilation": 3, "causal": True}, 8),
    ]


@pytest.mark.parametrize("cls, kwargs, channels", _layer_cases(), ids=lambda c: getattr(c, "__name__", ""))
def test_layer_config_is_complete(cls, kwargs, channels):
    layer = cls(**kwargs)
    x = np.random.default_rng(1).normal(size=(2, 9, 15, channels)).astype("float32")
    layer(x)
    assert_config_complete(layer, x)
    assert keras.saving.get_registered_name(cls) == f"skeleton_zoo>{cls.__name__}"


# --- dynamic shapes ------------------------------------------------------------
@requires_tensorflow
def test_dynamic_batch_and_frames_in_tf_function():
    import tensorflow as tf

    config, state, arrays = load_gast_fixture("gast_humaneva15_w33_c16")
    model = _fixture_model(config, "sequence")
    gast.load_official_state_dict(model, state)
    fn = tf.function(lambda x: model(x, training=False),
                     input_signature=[tf.TensorSpec((None, None, 15, 2), tf.float32)])
    x = arrays["input_sequence"]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(fn(x)), arrays["output_sequence"], atol=1e-4)
    for batch, frames in [(1, 9), (3, 40), (5, 10)]:
        clip = np.random.default_rng(batch).normal(size=(batch, frames, 15, 2)).astype("float32")
        y = keras.ops.convert_to_numpy(fn(clip))
        assert y.shape == (batch, frames - 8, 15, 3)
        np.testing.assert_allclose(y, keras.ops.convert_to_numpy(model(clip, training=False)), atol=1e-5)
    assert len(fn._list_all_concrete_functions()) == 1  # one trace for every shape


@backend_independent  # the layout graphs are numpy; parity on JAX is checked above
def test_custom_layout_builds_and_runs():
    # The official code raises KeyError for joint counts other than 15/16/17/19.
    layout = SkeletonLayout.from_parents([-1, 0, 1, 0, 3, 0, 5, 6], [1, 2], [3, 4])
    model = skeleton_zoo.load("gast_9", layout=layout, channels=8)
    assert model(np.zeros((1, 12, 8, 2), "float32")).shape == (1, 4, 8, 3)
    for name in ("coco17", "ntu25", "h36m16", "h36m19"):
        joints = skeleton_zoo.get_layout(name).num_joints
        m = skeleton_zoo.load("gast_9", layout=name, channels=8)
        assert m(np.zeros((1, 9, joints, 2), "float32")).shape == (1, 1, joints, 3)


def test_training_mode_runs_and_updates_batch_norm():
    model = skeleton_zoo.load("gast_9", channels=8, layout="humaneva15")
    model.compile(optimizer="adam", loss="mse")
    before = keras.ops.convert_to_numpy(model.get_layer("init_bn").moving_mean).copy()
    x = np.random.default_rng(0).normal(3.0, 1.0, size=(4, 11, 15, 2)).astype("float32")
    model.fit(x, np.zeros((4, 3, 15, 3), "float32"), epochs=1, verbose=0)
    after = keras.ops.convert_to_numpy(model.get_layer("init_bn").moving_mean)
    np.testing.assert_allclose(after, 0.9 * before + 0.1 * x.reshape(-1, 2).mean(0), rtol=1e-4)


# --- bad input -------------------------------------------------------------------
@pytest.fixture(scope="module")
def gast_27():
    return skeleton_zoo.load("gast_27", channels=8)


def test_wrong_joint_count(gast_27):
    with pytest.raises(ValueError, match=r"expected 17 joints \(layout 'h36m17'\).*found 15 joints"):
        gast_27(np.zeros((1, 30, 15, 2), "float32"))


def test_wrong_coordinate_count(gast_27):
    with pytest.raises(ValueError, match="expected 2 coordinates per joint.*found 3"):
        gast_27(np.zeros((1, 30, 17, 3), "float32"))


def test_wrong_rank(gast_27):
    with pytest.raises(ValueError, match=r"rank 4 \(batch, frames, 17, 2\).*\(30, 17, 2\)"):
        gast_27(np.zeros((30, 17, 2), "float32"))


def test_sequence_shorter_than_receptive_field(gast_27):
    with pytest.raises(ValueError, match="26 frames long, shorter than the receptive field of 27"):
        gast_27.predict(np.zeros((1, 26, 17, 2), "float32"), verbose=0)


def test_single_frame_input_must_be_one_receptive_field():
    model = skeleton_zoo.load("gast_27", channels=8, variant="single_frame")
    with pytest.raises(ValueError, match="exactly one receptive field of 27 frames, found 28"):
        model(np.zeros((1, 28, 17, 2), "float32"))


def test_unknown_preset_lists_names_and_closest():
    with pytest.raises(ValueError, match=r"Unknown model 'gast_234'\. Did you mean 'gast_243'\?.*gast_9"):
        skeleton_zoo.load("gast_234")


def test_unknown_option_and_variant():
    with pytest.raises(TypeError, match=r"unexpected option\(s\) \['widths'\]"):
        skeleton_zoo.load("gast_9", widths=(3,))
    with pytest.raises(ValueError, match="`variant` must be one of"):
        skeleton_zoo.load("gast_9", variant="streaming")


def test_layout_that_is_not_a_tree():
    with pytest.raises(ValueError, match="does not form a tree"):
        skeleton_zoo.load("gast_9", layout=SkeletonLayout.from_parents([-1, 2, 1]))


def test_weights_mismatch_lists_missing_unexpected_and_mismatched():
    config, state, _ = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", channels=16)
    before = [w.copy() for w in model.get_weights()]
    bad = dict(state)
    del bad["shrink.weight"]
    bad["extra.weight"] = np.zeros(3)
    bad["expand_bn.weight"] = np.zeros(5)
    with pytest.raises(WeightsMismatchError) as info:
        gast.load_official_state_dict(model, bad)
    message = str(info.value)
    assert "'gast_27'" in message and "a state-dict mapping" in message
    assert "missing (1): shrink.weight" in message
    assert "unexpected (1): extra.weight" in message
    assert "expand_bn.weight: expected (16,), found (5,)" in message
    for a, b in zip(before, model.get_weights()):  # nothing was half-loaded
        np.testing.assert_array_equal(a, b)


def test_weights_for_another_configuration_are_refused():
    _, state, _ = load_gast_fixture("gast_humaneva15_w33_c16")
    with pytest.raises(WeightsMismatchError, match="shape mismatch"):
        skeleton_zoo.load("gast_9", weights=state, channels=16)  # 17 joints vs 15


def test_missing_weights_file():
    with pytest.raises(FileNotFoundError, match="nope.weights.h5"):
        skeleton_zoo.load("gast_9", weights="nope.weights.h5")
