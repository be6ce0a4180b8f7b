"""`inference.empty_persons.EmptyPersonSkipper`: the official logits of the
ST-TR, PYSKL and MotionBERT action fixtures (whose sample 1 has a zero
second person), the plain model's scores on batches mixing two-person,
one-person (either slot) and empty clips, the cache of the zero person's
features, ensembles, classify's default, and the error for other models."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.inference import classify
from skeleton_zoo.inference.empty_persons import EmptyPersonSkipper, empty_persons, scorer, supports
from skeleton_zoo.models import motionbert_action, pyskl, sttr

from conftest import FIXTURES, load_sttr_fixture, sttr_fixture_model

PYSKL_PRESETS = {"stgcnpp": "stgcn_pp", "ctrgcn": "ctrgcn", "aagcn": "aagcn", "msg3d": "msg3d"}
PYSKL_LAYOUTS = {"nturgb+d": "ntu25", "coco": "coco17"}


def _plain(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _mixed_batch(x, rng):
    """From fixture clips (N, T, V, 2, C): two persons, one person in slot 0,
    one in slot 1 only (slot 0 empty), and an empty clip."""
    two = x[0].copy()
    first = x[0].copy()
    first[:, :, 1] = 0
    second = x[0].copy()
    second[:, :, 0] = 0
    second[:, :, 1] = x[0][:, :, 0] + 0.1 * rng.standard_normal(x[0][:, :, 0].shape).astype(x.dtype)
    return np.stack([two, first, second, np.zeros_like(two)])


def _check_skipper(model, x, official, tolerance, rng, compile=False, short=False):
    """The skipper equals the official outputs on the fixture, the plain model on a mixed batch (and, `short`, on
    a shorter one), and runs the backbone on the non-empty persons only (plus one cache fill of M rows per clip
    length). Eager unless `compile` (tracing the bigger models takes seconds)."""
    skipper = EmptyPersonSkipper(model, compile=compile)
    y = skipper(x)
    assert y.shape == official.shape and y.dtype == np.float32
    assert np.abs(y - official).max() <= tolerance, np.abs(y - official).max()
    m = model.num_persons
    present = int((~empty_persons(x)).sum())
    assert skipper.persons_skipped == x.shape[0] * m - present >= 1
    assert skipper.persons_computed == present + m  # + the zero person of every slot, once
    mixed = _mixed_batch(x, rng)
    computed = skipper.persons_computed
    np.testing.assert_allclose(skipper(mixed), _plain(model, mixed), rtol=0, atol=tolerance)
    assert skipper.persons_computed - computed == 4  # 2 + 1 + 1 + 0: same clip length, the cache is reused
    if short:  # another clip length fills the cache once more (the zero person's features depend on T)
        clips = mixed[:, : x.shape[1] // 2 + 1]
        computed = skipper.persons_computed
        np.testing.assert_allclose(skipper(clips), _plain(model, clips), rtol=0, atol=tolerance)
        assert skipper.persons_computed - computed == 4 + m
    return skipper


@pytest.mark.parametrize("name, compile", [("sttr_spatial_joint_small", False), ("sttr_temporal_joint_small", True),
                                           ("sttr_temporal_agcn_joint_small", False)])
def test_sttr_official_logits(name, compile):
    args, state, x, logits = load_sttr_fixture(name)
    assert not np.any(x[1, :, :, 1]) and np.any(x[0, :, :, 1])
    model = sttr_fixture_model(args)
    sttr.load_official_state_dict(model, state)
    _check_skipper(model, x, logits, 1e-4 * np.abs(logits).max(), np.random.default_rng(0), compile=compile,
                   short=compile)


def _pyskl_fixture(name):
    data = np.load(FIXTURES / "pyskl" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    backbone, head = config["backbone_args"], config["head_args"]
    options = {"layout": PYSKL_LAYOUTS[backbone["graph_cfg"]["layout"]], "num_classes": head["num_classes"]}
    options.update({k: backbone[k] for k in ("base_channels", "num_stages", "inflate_stages", "down_stages",
                                             "num_gcn_scales", "num_g3d_scales") if k in backbone})
    model = skeleton_zoo.load(PYSKL_PRESETS[name.split("_")[0]], **options)
    pyskl.load_official_state_dict(model, {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")})
    return model, data["input"].transpose(0, 2, 3, 1, 4), data["scores"]  # (N, M, T, V, C) -> ours


@pytest.mark.parametrize("name", ["stgcnpp_ntu_small", "ctrgcn_ntu_small", "aagcn_ntu_small", "msg3d_coco_small"])
def test_pyskl_official_scores(name):
    model, x, scores = _pyskl_fixture(name)
    assert model.data_bn_type == ("VC" if name.startswith("stgcnpp") else "MVC")
    _check_skipper(model, x, scores, 1e-4 * max(1.0, np.abs(scores).max()), np.random.default_rng(1))


def test_motionbert_action_official_logits():
    data = np.load(FIXTURES / "motionbert" / "motionbert_action_small.npz")
    config = json.loads(str(data["config"]))
    args, backbone = config["constructor_args"], config["constructor_args"]["backbone"]
    model = skeleton_zoo.load(
        "motionbert_action", num_classes=args["num_classes"], dropout_ratio=args["dropout_ratio"],
        hidden_dim=args["head_hidden_dim_actually_used"], dim_feat=backbone["dim_feat"], dim_rep=backbone["dim_rep"],
        depth=backbone["depth"], num_heads=backbone["num_heads"], mlp_ratio=backbone["mlp_ratio"],
        max_frames=backbone["maxlen"], att_fuse=backbone["att_fuse"])
    motionbert_action.load_official_state_dict(
        model, {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")})
    x = data["input"].transpose(0, 2, 3, 1, 4)
    skipper = _check_skipper(model, x, data["logits"], 1e-4, np.random.default_rng(2))
    np.testing.assert_allclose(skipper(data["input_short"].transpose(0, 2, 3, 1, 4)), data["logits_short"],
                               rtol=0, atol=1e-4)


def test_two_stream_ensemble_and_classify_default():
    spatial, temporal = load_sttr_fixture("sttr_spatial_joint_small"), load_sttr_fixture("sttr_temporal_joint_small")
    model = skeleton_zoo.load("st_tr_2s_joint", weights={"spatial": spatial[1], "temporal": temporal[1]},
                              backbone=spatial[0]["backbone_config"])
    assert supports(model)
    skipper = EmptyPersonSkipper(model, compile=False)
    assert set(skipper.streams) == {"spatial", "temporal"} and skipper.num_classes == model.num_classes
    x = _mixed_batch(spatial[2], np.random.default_rng(3))
    expected = _plain(model, x)
    np.testing.assert_allclose(skipper(x), expected, rtol=0, atol=1e-4 * np.abs(expected).max())
    assert skipper.persons_skipped == 2 * 4  # both streams: slot 1, slot 0 and the empty clip's two
    # classify skips by default (classify_files makes one skipper per call); the opt-out runs the model.
    plain = classify.class_probabilities(model, x, batch_size=3, skip_empty_persons=False)
    np.testing.assert_allclose(classify.class_probabilities(skipper, x, batch_size=3), plain, rtol=0, atol=1e-6)
    assert isinstance(scorer(model), EmptyPersonSkipper)
    assert scorer(model, skip_empty_persons=False) is model
    assert scorer(skipper) is skipper and scorer(skipper, skip_empty_persons=False) is model


def test_models_without_person_stages_are_refused():
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)], name="not_an_action_model")
    assert not supports(other)
    with pytest.raises(ValueError, match=r"`model` must be an action model with `person_stages\(\)`.*"
                                         r"Sequential 'not_an_action_model'"):
        EmptyPersonSkipper(other)
    assert scorer(other) is other


def test_input_errors_name_the_model():
    model = sttr.STTR("temporal", backbone=((8, 8, 1),), num_heads=2, name="tiny")
    skipper = EmptyPersonSkipper(model)
    with pytest.raises(ValueError, match="rank 5"):
        skipper(np.zeros((2, 4, 25, 2)))
    with pytest.raises(ValueError, match="the batch is empty"):
        skipper(np.zeros((0, 4, 25, 2, 3)))
    with pytest.raises(ValueError, match="STTR 'tiny': expected 2 persons on axis 3"):
        skipper(np.zeros((1, 4, 25, 3, 3)))
    with pytest.raises(ValueError, match="`compile` must be True, False or 'auto', found 'yes'"):
        EmptyPersonSkipper(model, compile="yes")
    # A batch without any person still answers (from the cache alone), as the model does.
    x = np.zeros((3, 4, 25, 2, 3), np.float32)
    np.testing.assert_allclose(skipper(x), _plain(model, x), rtol=0, atol=1e-5)
    assert (skipper.persons_computed, skipper.persons_skipped) == (2, 6)
    # "auto" (the default) runs a few steps eagerly, then traces one step for any batch, frames and rows.
    x = np.random.default_rng(4).standard_normal((3, 4, 25, 2, 3)).astype(np.float32)
    x[0, :, :, 1] = 0
    assert not skipper.compiled
    for frames in (4, 4, 5, 4, 6):
        np.testing.assert_allclose(skipper(x[:, :frames]), _plain(model, x[:, :frames]), rtol=0, atol=1e-5)
    assert skipper.compiled == (keras.backend.backend() == "tensorflow")


@pytest.mark.parametrize("flags, expected", [([], True), (["--noskip_empty_persons"], False)])
def test_classify_and_evaluate_commands_pass_the_flag(flags, expected, monkeypatch, tmp_path):
    """`--skip_empty_persons` (default on) reaches classify_files and the evaluation options."""
    from skeleton_zoo.cli.common import run_command
    from skeleton_zoo.tasks.action_recognition import ActionRecognition

    seen = {}
    monkeypatch.setattr(classify, "classify_files", lambda paths, model, **kwargs: seen.update(kwargs) or [])
    assert run_command("classify", ["classify", "a.skeleton", "--model", "st_tr_spatial_joint", *flags]) == 0
    assert seen["skip_empty_persons"] is expected

    def evaluate(self, model, preset, dataset, builder, options, out):
        seen["options"] = options
        return {}

    monkeypatch.setattr(ActionRecognition, "evaluate", evaluate)
    monkeypatch.setattr(ActionRecognition, "build", lambda self, preset, weights, options, builder: None)
    monkeypatch.setattr(ActionRecognition, "check_dataset", lambda self, builder, name: None)
    monkeypatch.setattr("skeleton_zoo.datasets.common.dataset_info", lambda *args: None)
    assert run_command("evaluate", ["evaluate", "--model", "st_tr_spatial_joint", "--dataset", "ntu_rgbd/xsub60",
                                    "--out", str(tmp_path / "eval"), *flags]) == 0
    assert seen["options"].skip_empty_persons is expected
