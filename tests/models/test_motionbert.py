"""MotionBERT (DSTformer): parity with the official `DSTformer` (outputs,
representations, short clips, the official flip test), the published
parameter counts, the official `train.py` container, input checks and
serialisation."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import layouts
from skeleton_zoo.models import motionbert
from skeleton_zoo.models.motionbert.model import DSTformer

from conftest import FIXTURES
from helpers import assert_config_complete, assert_keras_round_trip

COUNTS = json.loads((FIXTURES / "motionbert" / "motionbert_param_counts.json").read_text())


def load_fixture(name):
    data = np.load(FIXTURES / "motionbert" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


def fixture_options(config):
    args = config["constructor_args"]
    assert (args["dim_in"], args["dim_out"], args["num_joints"], args["qkv_bias"]) == (3, 3, 17, True)
    assert args["qk_scale"] is None and config["layer_norm_eps"] == 1e-6
    return {"dim_feat": args["dim_feat"], "dim_rep": args["dim_rep"], "depth": args["depth"],
            "num_heads": args["num_heads"], "mlp_ratio": args["mlp_ratio"], "max_frames": args["maxlen"],
            "att_fuse": args["att_fuse"]}


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


@pytest.mark.parametrize("name", ["motionbert_dst_small", "motionbert_dst_tiny_nofuse"])
def test_official_parity(name):
    config, state, arrays = load_fixture(name)
    model = skeleton_zoo.load("motionbert", **fixture_options(config))
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == config["trainable_params"] == COUNTS[name]
    assert motionbert.load_official_state_dict(model, state) == len(config["state_dict_keys"])
    representation = model.representation_model()
    for x, y, rep in (("input", "output", "representation"), ("input_short", "output_short", "representation_short")):
        assert arrays[x].shape[1] <= model.clip_frames
        np.testing.assert_allclose(run(model, arrays[x]), arrays[y], rtol=0, atol=1e-4)
        np.testing.assert_allclose(run(representation, arrays[x]), arrays[rep], rtol=0, atol=1e-4)
        np.testing.assert_allclose(run(model, arrays[x]), arrays[f"{y}_f64"], rtol=0, atol=1e-4)


def test_the_official_flip_test():
    from skeleton_zoo.datasets.poses import flip_pose

    config, state, arrays = load_fixture("motionbert_dst_small")
    h36m = layouts.get_layout("h36m17")
    flips = config["flip_joints"]
    assert [h36m.mirror_permutation()[j] for j in flips["left"]] == flips["right"]
    np.testing.assert_array_equal(flip_pose(arrays["input"], h36m), arrays["input_flip"])
    model = skeleton_zoo.load("motionbert", weights=state, **fixture_options(config))
    averaged = (run(model, arrays["input"]) + flip_pose(run(model, arrays["input_flip"]), h36m)) / 2
    np.testing.assert_allclose(averaged, arrays["output_flip_avg"], rtol=0, atol=1e-4)


def test_the_train_py_container_loads_without_torch():
    """`{'epoch', 'lr', 'optimizer', 'model_pos' (module.*), 'min_loss' (numpy.float64)}`."""
    config, _, arrays = load_fixture("motionbert_dst_small")
    model = skeleton_zoo.load("motionbert", weights=FIXTURES / "motionbert" / "motionbert_dst_small.bin",
                              **fixture_options(config))
    np.testing.assert_allclose(run(model, arrays["input"]), arrays["output"], rtol=0, atol=1e-4)


def test_a_container_of_another_size_names_the_differences():
    config, _, _ = load_fixture("motionbert_dst_tiny_nofuse")
    with pytest.raises(skeleton_zoo.WeightsMismatchError,
                       match=r"motionbert_dst_small\.bin.*\n  unexpected \(52\).*\n  shape mismatch"):
        skeleton_zoo.load("motionbert", weights=FIXTURES / "motionbert" / "motionbert_dst_small.bin",
                          **fixture_options(config))


def test_the_presets_declare_the_published_configurations():
    """The counts of the published models (built in tests/models/test_presets.py) and their clip."""
    from skeleton_zoo import registry

    for name in ("motionbert", "motionbert_lite"):
        preset = registry.get_preset(name)
        assert preset.parameters == {"h36m17": COUNTS[name]} and preset.clip_frames == 243


def test_input_checks_name_the_model_and_the_expected_shape():
    model = DSTformer(dim_feat=8, dim_rep=8, depth=1, num_heads=2, max_frames=9)
    with pytest.raises(ValueError, match=r"expected 1 to 9 frames.*found 10"):
        model(np.zeros((1, 10, 17, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected 3 values per joint.*found 2"):
        model(np.zeros((1, 9, 17, 2), "float32"))
    with pytest.raises(ValueError, match=r"expected 17 joints"):
        model(np.zeros((1, 9, 16, 3), "float32"))


def test_round_trip_and_config(tmp_path):
    model = skeleton_zoo.load("motionbert", dim_feat=8, dim_rep=8, depth=1, num_heads=2, max_frames=9,
                              dtype="mixed_bfloat16")
    x = np.random.default_rng(0).normal(size=(2, 7, 17, 3)).astype("float32")
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer).__module__.startswith("skeleton_zoo"):
            assert_config_complete(layer)
