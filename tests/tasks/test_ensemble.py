"""Multi-stream ensembles: streams on their own input features (PYSKL's j / b /
jm / bm), weighted fusion, serialisation, and PYSKL's test protocol through
`evaluate` on the `pyskl_skeleton` builder."""

import json

import keras
import numpy as np
import pytest
import tensorflow_datasets as tfds

import skeleton_zoo
from skeleton_zoo import registry
from skeleton_zoo.formats import pyskl
from skeleton_zoo.tasks.action_recognition import TASK
from skeleton_zoo.tasks.base import EvaluationOptions
from skeleton_zoo.tasks.ensemble import Ensemble

from helpers import assert_keras_round_trip

# A small ST-GCN++ (PYSKL's test configuration, 2 stages).
SMALL = {"base_channels": 8, "num_stages": 2, "inflate_stages": (2,), "down_stages": (2,)}


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.fixture(scope="module")
def four_streams():
    return skeleton_zoo.load("stgcn_pp_4s", num_classes=5, **SMALL)


def test_four_stream_preset_fuses_weighted_probabilities(four_streams, tmp_path):
    model = four_streams
    assert list(model.streams) == ["j", "b", "jm", "bm"]
    assert {n: m.input_features for n, m in model.streams.items()} == {s: s for s in pyskl.STREAMS}
    assert model.input_features == "j+b+jm+bm" and model.in_channels == 12
    assert model.stream_weights == pyskl.STREAM_WEIGHTS and model.fusion == "softmax"
    assert model.input_shape == (None, None, 25, 2, 12)
    x = _x((2, 8, 25, 2, 12))
    fused = keras.ops.convert_to_numpy(model(x, training=False))
    # Each stream reads its own three channels; PYSKL's fuse_streams weights them 2:2:1:1.
    probabilities = {name: keras.ops.convert_to_numpy(keras.ops.softmax(stream(x[..., 3 * i:3 * i + 3],
                                                                               training=False)))
                     for i, (name, stream) in enumerate(model.streams.items())}
    np.testing.assert_allclose(fused, pyskl.fuse_streams(probabilities), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model.to_probabilities(fused)).sum(-1), 1.0, atol=1e-5)
    restored = assert_keras_round_trip(model, x, tmp_path)
    assert restored.stream_weights == model.stream_weights and restored.input_features == "j+b+jm+bm"


def test_streams_with_the_same_features_share_the_input():
    model = skeleton_zoo.load("st_tr_2s_joint", backbone=[(8, 8, 1), (8, 16, 2)], num_classes=7,
                              attention_from=16, num_heads=2)
    assert model.input_features == "joint" and model.in_channels == 3
    assert model.stream_weights == {"spatial": 1.0, "temporal": 1.0}


def test_ensemble_errors(four_streams):
    with pytest.raises(ValueError, match="expected 12 channels on the last axis \\(features j\\+b\\+jm\\+bm\\)"):
        four_streams(np.zeros((1, 8, 25, 2, 3), "float32"))
    with pytest.raises(ValueError, match="`stream_weights` names \\['x'\\], which are not streams"):
        Ensemble(dict(four_streams.streams), stream_weights={"x": 1.0})
    with pytest.raises(ValueError, match="`stream_weights` names \\['x'\\], which are not among its streams"):
        registry.register_preset(registry.Preset(
            name="bad_ensemble", family="pyskl", description="", layout="ntu25", clip_frames=100,
            parameters={}, streams={"j": "stgcn_pp"}, stream_weights={"x": 1.0}))


def test_pyskl_protocol_through_evaluate(tmp_path):
    """`evaluate` on PYSKL's annotation file: per video, 10 clips of 100 frames of each stream,
    softmax averaged over the clips, streams fused 2:2:1:1; top-1 / top-5 per stream and fused."""
    from tfds_builders.pyskl_skeleton import pyskl_skeleton

    builder = pyskl_skeleton.PysklSkeleton(config="ntu60_3d_xsub", data_dir=str(tmp_path / "data"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
        manual_dir=str(pyskl_skeleton._HERE / "dummy_data")))
    model = skeleton_zoo.load("stgcn_pp_4s", num_classes=60, **SMALL)
    preset = registry.get_preset("stgcn_pp_4s")
    result = TASK.evaluate(model, preset, "pyskl_skeleton/ntu60_3d_xsub", builder,
                           EvaluationOptions(batch_size=32), str(tmp_path / "out"))
    assert result["protocol"] == "pyskl" and result["split"] == "test"

    # The same numbers by hand from the official pipeline's pieces.
    videos = list(builder.as_dataset(split="test", shuffle_files=False).as_numpy_iterator())
    labels = np.array([v["label"] for v in videos])
    probabilities = {}
    for name, stream in model.streams.items():
        # the file's float16 (widened exactly by the builder), which PreNormalize3D computes in
        clips = np.stack([pyskl.test_clips(np.transpose(v["joints"], (2, 0, 1, 3)).astype(np.float16), name,
                                           "ntu25")[0] for v in videos])  # (videos, 10, 100, 25, 2, 3)
        logits = stream.predict(clips.reshape(-1, *clips.shape[2:]), verbose=0)
        probabilities[name] = pyskl.clip_probabilities(logits.reshape(len(videos), 10, -1))
    fused = pyskl.fuse_streams(probabilities)
    for name, scores in (*probabilities.items(), ("fused", fused)):
        assert result["streams"][name]["top1"] == pytest.approx(np.mean(scores.argmax(-1) == labels))
        top5 = np.mean([label in np.argsort(-s)[:5] for s, label in zip(scores, labels)])
        assert result["streams"][name]["top5"] == pytest.approx(top5)
    assert result["top1"] == result["streams"]["fused"]["top1"]
    report = json.loads((tmp_path / "out" / "classification.json").read_text())
    assert report["num_samples"] == len(videos) and report["weights"] == pyskl.STREAM_WEIGHTS
    assert "fused (logits, weights 2:2:1:1)" in (tmp_path / "out" / "classification.md").read_text()
