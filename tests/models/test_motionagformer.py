"""MotionAGFormer: parity with the official model in every configuration the
fixtures cover (K-NN graph, fixed band, MS-TCN, graph-only, hierarchical,
options), its hidden activations and flip test, the official graph and K-NN
tie rule, float32 against float64, the published parameter counts, the
official `train.py` container, input checks and serialisation."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import layouts, registry
from skeleton_zoo.models import motionagformer
from skeleton_zoo.models.motionagformer import layers as magf_layers

from conftest import FIXTURES
from helpers import assert_config_complete, assert_keras_round_trip

VARIANTS = ["sim_k2", "adj_L1", "tcn", "graphonly_k4", "hier_k4", "opts_L2"]
COUNTS = json.loads((FIXTURES / "motionagformer" / "motionagformer_param_counts.json").read_text())


def load_fixture(variant):
    data = np.load(FIXTURES / "motionagformer" / f"magf_t27_d16_{variant}.npz")
    config = json.loads(str(data["config"]))
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return config, state, {k: data[k] for k in data.files if k != "config" and not k.startswith("state/")}


def fixture_options(config):
    c = config["constructor"]
    assert (c["num_joints"], c["attn_drop"], c["drop"], c["drop_path"]) == (17, 0.0, 0.0, 0.0)
    return {"n_layers": c["n_layers"], "dim_feat": c["dim_feat"], "num_frames": c["n_frames"], "dim_rep": c["dim_rep"],
            "mlp_ratio": c["mlp_ratio"], "act_layer": c["act_layer"], "num_heads": c["num_heads"],
            "qkv_bias": c["qkv_bias"], "qk_scale": c["qkv_scale"], "use_layer_scale": c["use_layer_scale"],
            "layer_scale_init_value": c["layer_scale_init_value"], "use_adaptive_fusion": c["use_adaptive_fusion"],
            "hierarchical": c["hierarchical"], "use_temporal_similarity": c["use_temporal_similarity"],
            "neighbour_num": c["neighbour_num"], "temporal_connection_len": c["temporal_connection_len"],
            "use_tcn": c["use_tcn"], "graph_only": c["graph_only"]}


def run(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.mark.parametrize("variant", VARIANTS)
def test_official_parity(variant):
    config, state, arrays = load_fixture(variant)
    model = skeleton_zoo.load("motionagformer_xs", **fixture_options(config))
    assert _params(model) == config["trainable_params"]
    used = [k for k in config["state_dict_keys"] if not k.endswith("num_batches_tracked")]
    assert motionagformer.load_official_state_dict(model, state) == len(used)
    np.testing.assert_allclose(run(model, arrays["input"]), arrays["output"], rtol=0, atol=1e-4)


def test_hidden_activations_and_the_official_flip_test():
    from skeleton_zoo.datasets.poses import flip_pose

    config, state, arrays = load_fixture("sim_k2")
    model = skeleton_zoo.load("motionagformer_xs", weights=state, **fixture_options(config))
    names = {"embed": "embed", "rep_logit": "rep_logit", "layers.0": "layers_0_fusion", "layers.1": "layers_1_fusion"}
    hidden = [k for k in arrays if k.startswith("hidden/")]
    assert len(hidden) == 8
    for key in hidden:
        official = key[len("hidden/"):]
        layer = names.get(official, official.replace(".", "_"))
        probe = keras.Model(model.input, model.get_layer(layer).output)
        np.testing.assert_allclose(run(probe, arrays["input"][:1]), arrays[key], rtol=0, atol=1e-4, err_msg=key)
    h36m = layouts.get_layout("h36m17")
    np.testing.assert_array_equal(flip_pose(arrays["input"], h36m), arrays["input_flipped"])
    averaged = (run(model, arrays["input"]) + flip_pose(run(model, arrays["input_flipped"]), h36m)) / 2
    averaged[:, :, 0] = 0
    np.testing.assert_allclose(averaged, arrays["output_flip_averaged_root_zeroed"], rtol=0, atol=1e-4)


def test_the_official_graphs():
    from skeleton_zoo.models.motionagformer.layers import (normalize_adjacency, spatial_adjacency,
                                                           temporal_band_adjacency)

    config, _, arrays = load_fixture("sim_k2")
    adj = spatial_adjacency(17)
    np.testing.assert_array_equal(adj, arrays["graph/spatial_adj"])
    assert adj[4, 0] == 1 and adj[0, 4] == 0 and not np.trace(adj)  # not symmetric, no self loops
    np.testing.assert_allclose(keras.ops.convert_to_numpy(normalize_adjacency(adj)), arrays["graph/spatial_norm_adj"],
                               atol=1e-7)
    for variant in ("adj_L1", "opts_L2"):
        config, _, arrays = load_fixture(variant)
        band = temporal_band_adjacency(27, config["constructor"]["temporal_connection_len"])
        np.testing.assert_array_equal(band, arrays["graph/temporal_adj"])
        np.testing.assert_allclose(keras.ops.convert_to_numpy(normalize_adjacency(band)),
                                   arrays["graph/temporal_norm_adj"], atol=1e-7)


def _official_knn_adjacency(features, k):
    """The official rule in numpy: S = x x^T per joint; keep S >= the k-th largest of each row."""
    similarity = np.einsum("btjc,bsjc->bjts", features, features)
    kth = -np.sort(-similarity, axis=-1)[..., k - 1 : k]
    return similarity >= kth, similarity, kth


def test_the_knn_graph_keeps_every_tie_at_the_threshold():
    """Repeated frames tie exactly: all of them join the neighbourhood, as `>=` the k-th largest."""
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, 6, 17, 8)).astype("float32")
    x = base[:, [0, 1, 1, 2, 3, 3, 3, 4, 5]]  # frames 1 and 2 equal, 4, 5 and 6 equal
    mixer = magf_layers.GraphConvMixer(8, "temporal", 9, use_temporal_similarity=True, neighbour_num=2)
    mixer.build(x.shape)
    expected, _, _ = _official_knn_adjacency(x.astype("float64"), 2)
    assert expected.sum(-1).max() > 2  # the data has ties at the threshold
    degrees = expected.sum(-1).astype("float64")  # (B, J, T)
    # Our normalised adjacency, recovered from the mixer with V = identity, U = 0, BN = identity.
    mixer.V.kernel.assign(np.eye(8, dtype="float32"))
    mixer.V.bias.assign(np.zeros(8, "float32"))
    mixer.U.kernel.assign(np.zeros((8, 8), "float32"))
    mixer.batch_norm.moving_variance.assign(np.full(9, 1 - 1e-5, "float32"))
    out = run(mixer, x)
    norm = expected / np.sqrt(degrees[..., :, None] * degrees[..., None, :])
    np.testing.assert_allclose(out, np.maximum(x + np.einsum("bjts,bsjc->btjc", norm, x), 0), atol=1e-4)


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX computes in float64 only with jax_enable_x64")
def test_float32_differs_from_float64_only_through_rounding_level_knn_flips():
    """Smooth motion at the published width makes near-ties common: the
    float32 K-NN graphs differ from float64 ones of the same weights and
    inputs only where the float64 similarity lies within float32 rounding
    (a few ulps, relative) of the row's k-th largest, and those flips alone
    move the output by up to ~1e-1."""
    rng = np.random.default_rng(0)
    options = {"n_layers": 6, "dim_feat": 64, "num_frames": 27, "layer_scale_init_value": 0.5}
    m32 = skeleton_zoo.load("motionagformer_xs", **options)
    m64 = skeleton_zoo.load("motionagformer_xs", dtype="float64", **options)
    m64.set_weights([w.astype("float64") for w in m32.get_weights()])
    phase = np.linspace(0, 1, 27)[:, None, None]
    x = rng.normal(size=(1, 17, 3)) * 0.5 + 0.05 * np.sin(2 * np.pi * phase + rng.normal(size=(17, 3)))[None]
    x[..., 2] = 0.9
    y32, y64 = run(m32, x.astype("float32")), run(m64, x)
    probe = keras.Model(m64.input, [m64.get_layer(f"layers_{i}_graph_spatial").output for i in range(6)])
    flips, worst = 0, 0.0
    for i, features in enumerate(probe(x)):
        features = keras.ops.convert_to_numpy(m64.get_layer(f"layers_{i}_graph_temporal").norm1(features))
        a32, _, _ = _official_knn_adjacency(features.astype("float32"), 2)
        a64, s64, kth64 = _official_knn_adjacency(features, 2)
        changed = a32 != a64
        flips += int(changed.sum())
        if changed.any():
            worst = max(worst, float((np.abs(s64 - kth64) / np.abs(kth64))[changed].max()))
    print(f"float32 vs float64: {flips} K-NN flips, largest relative margin {worst:.2e}, "
          f"max output difference {np.abs(y32 - y64).max():.2e}")
    assert flips > 0  # the comparison exercises near-ties
    assert worst < 1e-6, f"a K-NN decision flipped {worst:.2e} (relative) away from its threshold"
    assert np.isfinite(y32).all() and np.abs(y32 - y64).max() < 0.5


def test_the_train_py_container_loads_without_torch():
    """`{'epoch', 'lr', 'optimizer', 'model' (module.*), 'min_mpjpe', 'wandb_id'}`, zip format, `.pth.tr`."""
    config, _, arrays = load_fixture("sim_k2")
    model = skeleton_zoo.load("motionagformer_xs", weights=FIXTURES / "motionagformer" / "magf_t27_d16_sim_k2.pth.tr",
                              **fixture_options(config))
    np.testing.assert_allclose(run(model, arrays["input"]), arrays["output"], rtol=0, atol=1e-4)


def test_the_presets_declare_the_published_configurations():
    for name, key in (("motionagformer_xs", "xsmall"), ("motionagformer_s", "small"), ("motionagformer_b", "base"),
                      ("motionagformer_l", "large")):
        published = COUNTS[f"h36m/MotionAGFormer-{key}"]
        preset = registry.get_preset(name)
        assert preset.parameters == {"h36m17": published["trainable_params"]}
        assert preset.clip_frames == published["n_frames"]
        assert (preset.config["n_layers"], preset.config["dim_feat"]) == (published["n_layers"], published["dim_feat"])


def test_input_checks_and_the_fixed_clip():
    model = skeleton_zoo.load("motionagformer_xs", n_layers=1, dim_feat=8, dim_rep=8, num_heads=2)
    assert model.fixed_clip and model.clip_frames == 27 and model.input_shape == (None, 27, 17, 3)
    with pytest.raises(ValueError, match=r"expected exactly 27 frames.*found 20"):
        model(np.zeros((1, 20, 17, 3), "float32"))
    with pytest.raises(ValueError, match=r"expected 3 values per joint"):
        model(np.zeros((1, 27, 17, 2), "float32"))
    tcn = skeleton_zoo.load("motionagformer_xs", n_layers=1, dim_feat=8, dim_rep=8, num_heads=2, use_tcn=True)
    assert not tcn.fixed_clip and run(tcn, np.zeros((1, 20, 17, 3), "float32")).shape == (1, 20, 17, 3)


def test_short_sequences_are_stretched_and_mapped_back_as_the_official_demo():
    from skeleton_zoo.evaluation.protocols import predict_sequences
    from skeleton_zoo.tasks.pose_lifting import resample_indices

    indices, back = resample_indices(20, 27)
    np.testing.assert_array_equal(indices, np.floor(np.linspace(0, 20, 27, endpoint=False)).astype(int))
    np.testing.assert_array_equal(indices[back], np.arange(20))
    model = skeleton_zoo.load("motionagformer_xs", n_layers=1, dim_feat=8, dim_rep=8, num_heads=2)
    x = np.random.default_rng(3).normal(size=(47, 17, 3)).astype("float32")
    y = predict_sequences(model, [x], flip=False)[0]
    assert y.shape == (47, 17, 3)
    np.testing.assert_allclose(y[:27], run(model, x[None, :27])[0], atol=1e-5)
    np.testing.assert_allclose(y[27:], run(model, x[27:][indices][None])[0][back], atol=1e-5)


@pytest.mark.parametrize("options", [{}, {"hierarchical": True, "use_tcn": True, "act_layer": "relu"},
                                     {"graph_only": True, "use_adaptive_fusion": False}])
def test_round_trip_and_config(options, tmp_path):
    model = skeleton_zoo.load("motionagformer_xs", n_layers=1, dim_feat=8, dim_rep=8, num_heads=2,
                              dtype="mixed_bfloat16", **options)
    x = np.random.default_rng(0).normal(size=(2, 27, 17, 3)).astype("float32")
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer).__module__.startswith("skeleton_zoo"):
            assert_config_complete(layer)
