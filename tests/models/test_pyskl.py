"""PYSKL GCNs (ST-GCN++, CTR-GCN, AAGCN, MS-G3D): parity with the official
code on both layouts (class scores and backbone features), the graph buffers,
the published parameter counts, the mmcv checkpoint container (load and
convert), the exact set of ignored keys, PYSKL's graphs, serialisation and
input errors."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import WeightsMismatchError
from skeleton_zoo.formats.pyskl import clip_probabilities
from skeleton_zoo.models import pyskl
from skeleton_zoo.models.pyskl import layers as pyskl_layers

from conftest import FIXTURES, backend_independent
from helpers import assert_config_complete, assert_keras_round_trip

COUNTS = json.loads((FIXTURES / "pyskl" / "pyskl_param_counts.json").read_text())
LAYOUTS = {"nturgb+d": "ntu25", "coco": "coco17"}
PRESETS = {"stgcnpp": "stgcn_pp", "ctrgcn": "ctrgcn", "aagcn": "aagcn", "msg3d": "msg3d"}
FIXTURE_NAMES = ["stgcnpp_ntu_small", "stgcnpp_coco_small", "ctrgcn_ntu_small", "ctrgcn_coco_small",
                 "aagcn_ntu_small", "aagcn_coco_small", "msg3d_coco_small"]


def load_fixture(name):
    data = np.load(FIXTURES / "pyskl" / f"{name}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


def fixture_options(config):
    backbone, head = config["backbone_args"], config["head_args"]
    assert backbone["in_channels"] == 3 and backbone.get("ch_ratio", 2) == 2
    options = {"layout": LAYOUTS[backbone["graph_cfg"]["layout"]], "num_classes": head["num_classes"]}
    options.update({k: backbone[k] for k in ("base_channels", "num_stages", "inflate_stages", "down_stages",
                                             "num_gcn_scales", "num_g3d_scales") if k in backbone})
    return options


def fixture_model(name, config, **kwargs):
    return skeleton_zoo.load(PRESETS[name.split("_")[0]], **fixture_options(config), **kwargs)


def official_input(x):
    """PYSKL's (N, M, T, V, C) -> ours (N, T, V, M, C)."""
    return x.transpose(0, 2, 3, 1, 4)


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def _close(ours, official):
    """The fixtures ask for a tolerance relative to the output scale."""
    assert ours.shape == official.shape
    assert np.abs(ours - official).max() <= 1e-4 * max(1.0, np.abs(official).max())


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_official_parity_scores_and_features(name):
    config, state, arrays = load_fixture(name)
    model = fixture_model(name, config)
    assert _params(model) == config["trainable_params"] == COUNTS[name]
    unused = set(config.get("unused_state_keys", []))
    used = [k for k in config["state_dict_keys"] if not k.endswith("num_batches_tracked") and k not in unused]
    assert pyskl.load_official_state_dict(model, state) == len(used)
    x = official_input(arrays["input"])
    scores = run(model, x)
    _close(scores, arrays["scores"])
    # forward_test: the two samples as two clips of one video, softmax per clip, mean over clips.
    np.testing.assert_allclose(clip_probabilities(scores)[None], arrays["test_prob"], rtol=0, atol=1e-6)
    # Backbone output (N * M, T', V, C) against the official (N, M, C, T', V).
    features = run(keras.Model(model.input, model.get_layer(model.feature_layer).output), x)
    n, m = arrays["features"].shape[:2]
    _close(features.reshape(n, m, *features.shape[1:]).transpose(0, 1, 4, 2, 3), arrays["features"])
    # The zero second person of sample 1 still contributes its (non-zero) features to the mean, as officially.
    assert not np.any(arrays["input"][1, 1]) and np.abs(arrays["features"][1, 1]).max() > 0
    # The per-person stages (inference.empty_persons: it computes that person once) compose to the model.
    stages = model.person_stages()
    features = run(stages.person_features, stages.prepare(x))
    _close(run(stages.head, features.reshape(n, m, -1)), arrays["scores"])


@pytest.mark.parametrize("name", ["ctrgcn_ntu_small", "aagcn_coco_small", "msg3d_coco_small"])
def test_graph_buffers_equal_the_official_ones(name):
    """The fixtures keep every graph-derived buffer at its official value:
    our graphs, computed from PYSKL's edge lists, must equal them."""
    config, state, _ = load_fixture(name)
    model = fixture_model(name, config)
    if name.startswith("msg3d"):  # MS-G3D keeps the (V, V) binary adjacency
        expected = pyskl.pyskl_graph(model.layout.name, "binary_adj")[0]
    else:
        expected = pyskl.pyskl_graph(model.layout.name, "spatial")
    np.testing.assert_allclose(state["backbone.A"], expected, rtol=0, atol=1e-7)
    if name.startswith("msg3d"):  # the fixed multi-scale graphs of every pathway, before any weights are loaded
        layers = {f"backbone.sgcn{s}.0.A": model.get_layer(f"sgcn_{s}_graph") for s in (1, 2, 3)}
        for s in (1, 2, 3):
            for i, window in enumerate((3, 5)):
                layers[f"backbone.gcn3d{s}.gcn3d.{i}.gcn3d.1.A"] = model.get_layer(f"g3d_{s}_window_{window}").gcn
        for key, layer in layers.items():
            np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.graph), state[key], rtol=0, atol=1e-6,
                                       err_msg=key)


@backend_independent  # parameter counts; 60 classes on both layouts: tests/models/test_presets.py
@pytest.mark.parametrize("preset, layout, key", [("ctrgcn", "ntu25", "ctrgcn_ntu_120cls"),
                                                 ("msg3d", "coco17", "msg3d_coco_120cls")])
def test_published_parameter_counts_at_120_classes(preset, layout, key):
    assert _params(skeleton_zoo.load(preset, layout=layout, num_classes=120)) == COUNTS[key]


@backend_independent  # the reader and converter (numpy); JAX parity: test_official_parity_scores_and_features
def test_mmcv_checkpoint_loads_and_converts(tmp_path):
    from skeleton_zoo.weights.convert import convert_checkpoints as convert

    config, _, arrays = load_fixture("stgcnpp_ntu_small")
    options = fixture_options(config)
    path = FIXTURES / "pyskl" / "stgcnpp_ntu_small.pth"
    x = official_input(arrays["input"])
    _close(run(skeleton_zoo.load("stgcn_pp", weights=str(path), **options), x), arrays["scores"])
    lines = []
    out = str(tmp_path / "stgcnpp.weights.h5")
    summary = convert([str(path)], "stgcn_pp", out, options, echo=lines.append)
    assert summary["parameters"] == 25_025
    assert "'state_dict'" in "\n".join(lines) or "state_dict" in "\n".join(lines)
    _close(run(skeleton_zoo.load("stgcn_pp", weights=out, **options), x), arrays["scores"])


def test_only_batch_norm_counters_are_ignored():
    config, state, _ = load_fixture("stgcnpp_ntu_small")
    model = skeleton_zoo.load("stgcn_pp", **fixture_options(config))
    bad = dict(state, **{"backbone.gcn.0.gcn.PA": np.ones((3, 25, 25), "float32")})
    del bad["backbone.gcn.2.residual.conv.bias"]
    bad["backbone.data_bn.weight"] = np.zeros(10, "float32")
    with pytest.raises(WeightsMismatchError) as info:
        pyskl.load_official_state_dict(model, bad)
    message = str(info.value)
    assert "unexpected (1): backbone.gcn.0.gcn.PA" in message
    assert "missing (1): backbone.gcn.2.residual.conv.bias" in message
    assert "backbone.data_bn.weight: expected (75,), found (10,)" in message


def test_pyskl_graphs_are_its_own_edge_lists():
    from skeleton_zoo import layouts

    ntu = pyskl.pyskl_graph("ntu25")
    assert ntu.shape == (3, 25, 25)
    np.testing.assert_array_equal(ntu[0], np.eye(25))
    # Inward columns sum to 1 for every joint with a parent; the root (spine_shoulder, 20) has none.
    np.testing.assert_allclose(ntu[1].sum(axis=0), [0.0 if j == 20 else 1.0 for j in range(25)])
    # PYSKL joins both hand tips / thumbs to the hand (ST-GCN chains the tip to the thumb).
    assert ntu[1][7, 21] == ntu[1][7, 22] == 1.0 and ntu[1][22, 21] == 0.0
    assert not np.array_equal(ntu, layouts.spatial_partitions(layouts.get_layout("ntu25")))
    coco = pyskl.pyskl_graph("coco17")
    np.testing.assert_array_equal(coco, layouts.spatial_partitions(layouts.get_layout("coco17")))
    binary = pyskl.pyskl_graph("coco17", "binary_adj")
    assert binary.shape == (1, 17, 17) and binary.sum() == 32 and np.array_equal(binary[0], binary[0].T)
    with pytest.raises(ValueError, match="`layout` must be one of"):
        pyskl.pyskl_graph("h36m17")


def test_strided_dilated_convolution_keeps_torch_windows():
    layer = pyskl_layers.DilatedTemporalConv(4, kernel_size=3, stride=2, dilation=3, use_bn=False)
    x = np.random.default_rng(0).standard_normal((2, 11, 5, 3)).astype("float32")
    y = run(layer, x)
    assert y.shape == (2, 6, 5, 4)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.conv.kernel, layer.conv.bias))
    padded = np.pad(x, ((0, 0), (3, 3), (0, 0), (0, 0)))
    expected = sum(np.einsum("btvc,co->btvo", padded[:, j * 3:j * 3 + 11:2], kernel[j, 0]) for j in range(3))
    np.testing.assert_allclose(y, expected + bias, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", ["stgcnpp_coco_small", "ctrgcn_ntu_small", "aagcn_ntu_small",
                                  "msg3d_coco_small"])
def test_serialisation_and_config(name, tmp_path):
    config, state, arrays = load_fixture(name)
    model = fixture_model(name, config, weights=state)
    x = official_input(arrays["input"])
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model)
    if model.backbone == "msg3d":
        layers = [model.get_layer("g3d_2_window_5"), model.get_layer("g3d_2_window_5").gcn,
                  model.get_layer("sgcn_2_temporal_1")]
    else:
        layers = [model.get_layer("block_2"), model.get_layer("block_2").gcn, model.get_layer("block_2").tcn]
    for layer in layers:
        assert_config_complete(layer)


def test_input_errors():
    model = skeleton_zoo.load("stgcn_pp", layout="coco17", base_channels=8, num_stages=3)
    with pytest.raises(ValueError, match=r"expected 17 joints on axis 2"):
        model(np.zeros((1, 10, 25, 2, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected 2 persons on axis 3"):
        model(np.zeros((1, 10, 17, 1, 3), "float32"))
    with pytest.raises(ValueError, match="PYSKL's graphs"):
        skeleton_zoo.load("stgcn_pp", layout="h36m17")
    with pytest.raises(ValueError, match="`adaptive` must be one of"):
        pyskl_layers.SpatialGraphConv(8, adaptive="learned")
    with pytest.raises(ValueError, match="`backbone` must be one of"):
        pyskl.GCNRecognizer(backbone="stgcn++")


@backend_independent  # export runs on TensorFlow
def test_channelwise_topology_model_exports_to_onnx(tmp_path):
    """CTR-GCN's frame-mean projections once broke tf2onnx's shape inference (a rank-3 matmul after the mean)."""
    import os
    import subprocess
    import sys

    options = ["--option", "num_classes=12", "--option", "base_channels=8", "--option", "num_stages=3",
               "--option", "layout='coco17'"]
    result = subprocess.run([sys.executable, "-m", "export", "--model", "ctrgcn", *options, "--format", "onnx",
                             "--out", str(tmp_path)], capture_output=True, text=True, timeout=900,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    row = next(line for line in result.stdout.splitlines() if line.startswith("| onnx"))
    assert row.rstrip(" |").endswith("yes") and (tmp_path / "ctrgcn.onnx").exists()
