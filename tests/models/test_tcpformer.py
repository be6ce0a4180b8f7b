"""TCPFormer: parity with the official `MemoryInducedTransformer` (outputs,
hidden activations of both block kinds and the pose queries, the flip test),
its quirks (unsaved chunk scales, swapped branch names, memory blocks that do
nothing without layer scale), the published parameter counts, the official
`train.py` container, input checks and serialisation."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import layouts, registry
from skeleton_zoo.models import tcpformer

from conftest import FIXTURES
from helpers import assert_config_complete, assert_keras_round_trip

NAMES = ["tcpf_t27_d16_ls0.25", "tcpf_t81_d16_ls1e-5", "tcpf_t9_d16_opts"]
COUNTS = json.loads((FIXTURES / "tcpformer" / "tcpformer_param_counts.json").read_text())
SMALL = {"n_layers": 1, "dim_feat": 8, "dim_rep": 8, "num_heads": 2, "num_frames": 9}


def load_fixture(name):
    data = np.load(FIXTURES / "tcpformer" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


def fixture_options(config):
    c = config["constructor"]
    assert (c["num_joints"], c["attn_drop"], c["drop"], c["drop_path"], c["hierarchical"]) == (17, 0.0, 0.0, 0.0, False)
    return {"n_layers": c["n_layers"], "dim_feat": c["dim_feat"], "num_frames": c["n_frames"], "dim_rep": c["dim_rep"],
            "mlp_ratio": c["mlp_ratio"], "act_layer": c["act_layer"], "num_heads": c["num_heads"],
            "qkv_bias": c["qkv_bias"], "qk_scale": c["qkv_scale"], "use_layer_scale": c["use_layer_scale"],
            "layer_scale_init_value": c["layer_scale_init_value"]}


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("name", NAMES)
def test_official_parity(name):
    config, state, arrays = load_fixture(name)
    model = skeleton_zoo.load("tcpformer_81", **fixture_options(config))
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == config["trainable_params"]
    assert model.get_layer("pose_queries").num_queries == config["center_frames"]
    assert tcpformer.load_official_state_dict(model, state) == len(config["state_dict_keys"])
    # The memory blocks' unsaved chunk scales are the configured init value.
    scales = [v for k, v in arrays.items() if k.startswith("nonpersistent/")]
    assert len(scales) == 6 * config["constructor"]["n_layers"]
    assert all(np.all(s == model.get_layer("temporal_layers_0_local").local_scale) for s in scales)
    np.testing.assert_allclose(run(model, arrays["input"]), arrays["output"], rtol=0, atol=1e-4)


def test_hidden_activations_and_the_official_flip_test():
    from skeleton_zoo.datasets.poses import flip_pose

    config, state, arrays = load_fixture("tcpf_t27_d16_ls0.25")
    model = skeleton_zoo.load("tcpformer_81", weights=state, **fixture_options(config))
    outputs = {}
    for i in range(2):
        cross = model.get_layer(f"temporal_layers_{i}_cross")
        outputs.update({
            f"layers.{i}": model.get_layer(f"layers_{i}_fusion").output,
            f"temporal_layers.{i}.after_local": model.get_layer(f"temporal_layers_{i}_local").output,
            f"temporal_layers.{i}": cross.output[0], f"temporal_layers.{i}.pose_query": cross.output[1],
            f"temporal_layers.{i}.pose_query_in": cross.input[1],
        })
    outputs.update({"embed": model.get_layer("embed").output, "rep_logit": model.get_layer("rep_logit").output,
                    "layers.0.att_temporal": model.get_layer("layers_0_att_temporal").output,
                    "layers.0.graph_temporal": model.get_layer("layers_0_graph_temporal").output})
    hidden = [k[len("hidden/"):] for k in arrays if k.startswith("hidden/")]
    assert sorted(hidden) == sorted(outputs)
    probe = keras.Model(model.input, [outputs[k] for k in hidden])
    for key, value in zip(hidden, probe(arrays["input"][:1])):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(value), arrays[f"hidden/{key}"], rtol=0, atol=1e-4,
                                   err_msg=key)
    h36m = layouts.get_layout("h36m17")
    np.testing.assert_array_equal(flip_pose(arrays["input"], h36m), arrays["input_flipped"])
    averaged = (run(model, arrays["input"]) + flip_pose(run(model, arrays["input_flipped"]), h36m)) / 2
    averaged[:, :, 0] = 0
    np.testing.assert_allclose(averaged, arrays["output_flip_averaged_root_zeroed"], rtol=0, atol=1e-4)


def test_without_layer_scale_the_memory_blocks_do_nothing_as_the_official_ones():
    model = skeleton_zoo.load("tcpformer_81", use_layer_scale=False, **SMALL)
    x = np.random.default_rng(0).normal(size=(2, 9, 17, 8)).astype("float32")
    q = np.random.default_rng(1).normal(size=(2, 3, 17, 8)).astype("float32")
    cross = model.get_layer("temporal_layers_0_cross")
    out_x, out_q = cross(x, q)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out_x), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out_q), q)


def test_the_train_py_container_loads_without_torch():
    config, _, arrays = load_fixture("tcpf_t27_d16_ls0.25")
    model = skeleton_zoo.load("tcpformer_81", weights=FIXTURES / "tcpformer" / "tcpf_t27_d16_ls0.25.pth.tr",
                              **fixture_options(config))
    np.testing.assert_allclose(run(model, arrays["input"]), arrays["output"], rtol=0, atol=1e-4)


def test_the_presets_declare_the_published_configurations():
    for frames in (243, 81):
        published = COUNTS[f"h36m/TCPFormer_h36m_{frames}"]
        preset = registry.get_preset(f"tcpformer_{frames}")
        assert preset.parameters == {"h36m17": published["trainable_params"]} and preset.clip_frames == frames
        assert (preset.config["n_layers"], preset.config["dim_feat"]) == (published["n_layers"], published["dim_feat"])


def test_input_checks():
    model = skeleton_zoo.load("tcpformer_81", **SMALL)
    assert model.fixed_clip and model.clip_frames == 9
    with pytest.raises(ValueError, match=r"expected exactly 9 frames.*found 12"):
        model(np.zeros((1, 12, 17, 3), "float32"))
    with pytest.raises(ValueError, match="divisible by 3"):
        skeleton_zoo.load("tcpformer_81", **{**SMALL, "num_frames": 10})


def test_round_trip_and_config(tmp_path):
    model = skeleton_zoo.load("tcpformer_81", dtype="mixed_bfloat16", **SMALL)
    x = np.random.default_rng(0).normal(size=(2, 9, 17, 3)).astype("float32")
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer).__module__.startswith("skeleton_zoo"):
            assert_config_complete(layer)
