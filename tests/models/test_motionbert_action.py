"""MotionBERT action recognition (`ActionNet(version='class')`): parity with
the official model (logits and the pooled features the head reads, full and
short clips), the parameter counts with and without the unused backbone
head, train_action.py's checkpoint container (load and convert), the exact
set of ignored keys, serialisation and input errors."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import WeightsMismatchError, registry
from skeleton_zoo.models import motionbert_action
from skeleton_zoo.models.common import fold_batch_norms
from skeleton_zoo.models.motionbert_action.model import PersonJointFeaturePooling
from skeleton_zoo.models.motionbert_action.official_keys import is_unused_official_key
from skeleton_zoo.tasks.action_recognition import TASK
from skeleton_zoo.weights import assign_official, checkpoint

from conftest import FIXTURES, backend_independent
from helpers import assert_config_complete, assert_keras_round_trip

FOLDER = FIXTURES / "motionbert"
CHECKPOINT = FOLDER / "motionbert_action_small.bin"
COUNTS = json.loads((FOLDER / "motionbert_param_counts.json").read_text())
UNUSED = ("backbone.head.weight", "backbone.head.bias")


def load_fixture():
    data = np.load(FOLDER / "motionbert_action_small.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


CONFIG, STATE, ARRAYS = load_fixture()


def fixture_options(config):
    args, backbone = config["constructor_args"], config["constructor_args"]["backbone"]
    assert (backbone["dim_in"], backbone["num_joints"], backbone["qkv_bias"]) == (3, 17, True)
    assert backbone["qk_scale"] is None
    assert args["version"] == "class" and args["dim_rep"] == backbone["dim_rep"]
    return {"num_classes": args["num_classes"], "dropout_ratio": args["dropout_ratio"],
            "hidden_dim": args["head_hidden_dim_actually_used"], "dim_feat": backbone["dim_feat"],
            "dim_rep": backbone["dim_rep"], "depth": backbone["depth"], "num_heads": backbone["num_heads"],
            "mlp_ratio": backbone["mlp_ratio"], "max_frames": backbone["maxlen"], "att_fuse": backbone["att_fuse"]}


OPTIONS = fixture_options(CONFIG)


def official_input(x):
    """The official (N, M, T, J, C) -> ours (N, T, J, M, C)."""
    return np.transpose(x, (0, 2, 3, 1, 4))


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture(scope="module")
def model():
    """The fixture's configuration with its official weights (from the state dict)."""
    built = skeleton_zoo.load("motionbert_action", **OPTIONS)
    used = [k for k in CONFIG["state_dict_keys"] if not k.endswith("num_batches_tracked") and k not in UNUSED]
    assert motionbert_action.load_official_state_dict(built, STATE) == len(used)
    return built


def test_official_parity_logits_and_pooled_features(model):
    TASK.check_model(model)
    pooled = keras.Model(model.input, model.get_layer(model.feature_layer).output)
    for x, logits, features in (("input", "logits", "pooled"), ("input_short", "logits_short", "pooled_short")):
        ours = official_input(ARRAYS[x])
        np.testing.assert_allclose(run(model, ours), ARRAYS[logits], rtol=0, atol=1e-4)
        np.testing.assert_allclose(run(pooled, ours), ARRAYS[features], rtol=0, atol=1e-4)
    np.testing.assert_allclose(run(model, official_input(ARRAYS["input"])), ARRAYS["logits_f64"], rtol=0, atol=1e-4)
    # Sample 1's second person is zeros: its (non-zero) representation enters the person mean, as officially.
    assert not np.any(ARRAYS["input"][1, 1]) and np.any(ARRAYS["input"][1, 0])
    # The per-person stages (inference.empty_persons: it computes that person once) compose to the model.
    stages, x = model.person_stages(), official_input(ARRAYS["input"])
    features = run(stages.person_features, stages.prepare(x))
    np.testing.assert_allclose(run(stages.head, features.reshape(len(x), 2, -1)), ARRAYS["logits"], rtol=0, atol=1e-4)


def test_parameter_counts_leave_out_the_unused_backbone_head(model):
    dim_rep = OPTIONS["dim_rep"]
    unused = dim_rep * 3 + 3  # backbone.head, Linear(dim_rep, 3)
    assert {k: STATE[k].size for k in UNUSED} == {"backbone.head.weight": dim_rep * 3, "backbone.head.bias": 3}
    assert CONFIG["trainable_params"] == COUNTS["motionbert_action_small"] == 109_411
    assert _params(model) == CONFIG["trainable_params_without_unused_backbone_head"] == 109_411 - unused == 109_216
    # The published model (built in tests/models/test_presets.py): the official count less its Linear(512, 3).
    preset = registry.get_preset("motionbert_action")
    published = COUNTS["motionbert_action_ntu60_xsub"]
    assert preset.parameters == {"h36m17": published - (512 * 3 + 3)} == {
        "h36m17": COUNTS["motionbert_action_ntu60_xsub_without_unused_backbone_head"]}
    assert (preset.clip_frames, preset.num_classes, preset.config["hidden_dim"]) == (243, 60, 2048)


def test_the_train_action_container_loads_without_torch():
    """`{'epoch', 'lr' (2 groups), 'optimizer', 'model' (module.backbone.*, module.head.*), 'best_acc' (a tensor)}`."""
    _, info = checkpoint.load_state_dict(CHECKPOINT)
    assert (info.container, info.stripped_prefix, sorted(info.ignored)) == (
        "model", "module.", ["best_acc", "lr", "optimizer"])
    loaded = skeleton_zoo.load("motionbert_action", weights=str(CHECKPOINT), **OPTIONS)
    np.testing.assert_allclose(run(loaded, official_input(ARRAYS["input"])), ARRAYS["logits"], rtol=0, atol=1e-4)


@backend_independent  # file conversion
def test_the_checkpoint_converts(model, tmp_path):
    from skeleton_zoo.weights.convert import convert_checkpoints

    out = str(tmp_path / "motionbert_action.weights.h5")
    lines = []
    summary = convert_checkpoints([str(CHECKPOINT)], "motionbert_action", out, OPTIONS, echo=lines.append)
    assert summary["parameters"] == 109_216 and "weights under 'model'" in "\n".join(lines)
    model.load_weights(out)  # the same weights as the module's model: its outputs must not move
    np.testing.assert_allclose(run(model, official_input(ARRAYS["input"])), ARRAYS["logits"], rtol=0, atol=1e-4)


def test_only_the_unused_backbone_head_is_ignored(model):
    preset = registry.get_preset("motionbert_action")
    assert registry.resolve(registry.get_family("motionbert_action").ignored_official_keys) is is_unused_official_key
    assert [is_unused_official_key(k) for k in (*UNUSED, "backbone.head.weight.extra", "head.fc1.weight",
                                                "backbone.pre_logits.fc.weight", "head.bn.num_batches_tracked")] == [
        True, True, False, False, False, False]
    without = {k: v for k, v in STATE.items() if k not in UNUSED}
    assert assign_official(model, preset, without) == assign_official(model, preset, STATE) == 116
    with pytest.raises(WeightsMismatchError, match=r"unexpected \(1\): head\.fc3\.weight$"):
        assign_official(model, preset, dict(STATE, **{"head.fc3.weight": np.zeros((60, 32), "float32")}))
    with pytest.raises(WeightsMismatchError, match=r"unexpected \(1\): backbone\.head\.scale$"):
        assign_official(model, preset, dict(STATE, **{"backbone.head.scale": np.ones(3, "float32")}))
    missing = {k: v for k, v in STATE.items() if k != "head.bn.running_var"}
    with pytest.raises(WeightsMismatchError, match=r"missing \(1\): head\.bn\.running_var$"):
        assign_official(model, preset, missing)
    np.testing.assert_allclose(run(model, official_input(ARRAYS["input"])), ARRAYS["logits"], rtol=0, atol=1e-4)


def test_round_trip_config_and_folding(model, tmp_path):
    x = official_input(ARRAYS["input"])
    restored = assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    assert_config_complete(model.get_layer("pool"))
    assert isinstance(model.get_layer("pool"), PersonJointFeaturePooling)
    # Export folds the head's BatchNorm into fc1.
    assert fold_batch_norms(restored) == 1
    np.testing.assert_allclose(run(restored, x), ARRAYS["logits"], rtol=0, atol=1e-4)


def test_input_errors_name_the_model_and_the_expected_shape(model):
    with pytest.raises(ValueError, match=r"expected 17 joints on axis 2"):
        model(np.zeros((1, 9, 16, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected 2 persons on axis 3"):
        model(np.zeros((1, 9, 17, 1, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected 3 channels on axis 4"):
        model(np.zeros((1, 9, 17, 2, 2), "float32"))
    with pytest.raises(ValueError, match=r"expected input of rank 5"):
        model(np.zeros((1, 9, 17, 3), "float32"))
    with pytest.raises(ValueError, match=r"'motionbert_action': expected 1 to 27 frames on axis 1.*found 28"):
        model(np.zeros((1, 28, 17, 2, 3), "float32"))
