"""ST-TR: parity with the official implementation, parameter counts, layers,
DropConnect, two-stream fusion, bones, serialisation and input errors."""

import json

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import STTR, WeightsMismatchError
from skeleton_zoo.models import sttr
from skeleton_zoo.models.sttr import layers as sttr_layers

from conftest import FIXTURES, backend_independent, load_sttr_fixture, requires_tensorflow
from conftest import sttr_fixture_model as _fixture_model
from helpers import assert_config_complete, assert_keras_round_trip, gradients

SMALL = ["sttr_spatial_joint_small", "sttr_temporal_joint_small", "sttr_temporal_agcn_joint_small",
         "sttr_spatial_kinetics_small", "sttr_temporal_kinetics_bone_small"]


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# --- parity ------------------------------------------------------------------
@pytest.mark.parametrize("name", SMALL)
def test_official_parity(name):
    args, state, x, logits = load_sttr_fixture(name)
    model = _fixture_model(args)
    counts = json.loads((FIXTURES / "sttr" / "sttr_param_counts.json").read_text())
    assert _params(model) == counts[f"{name}_without_unused_person_bn"]
    sttr.load_official_state_dict(model, state)
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == logits.shape
    assert np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()
    # Inference is deterministic (DropConnect only in training).
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x, training=False)), y)
    # The per-person stages (inference.empty_persons) compose to the model.
    stages = model.person_stages()
    features = keras.ops.convert_to_numpy(stages.person_features(stages.prepare(x)))
    composed = keras.ops.convert_to_numpy(stages.head(features.reshape(x.shape[0], x.shape[3], -1)))
    assert np.abs(composed - logits).max() <= 1e-4 * np.abs(logits).max()


def test_parity_through_load_and_predict():
    args, state, x, logits = load_sttr_fixture("sttr_temporal_joint_small")
    model = skeleton_zoo.load("st_tr_temporal_joint", weights=state, backbone=args["backbone_config"])
    y = model.predict(x, verbose=0)
    assert np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()


def test_only_person_bn_keys_are_ignored():
    args, state, _, _ = load_sttr_fixture("sttr_spatial_joint_small")
    model = _fixture_model(args)
    bad = dict(state, **{"person_bnx.weight": np.zeros(3)})
    del bad["backbone.3.gcn1.attention_conv.qkv_conv.bias"]
    bad["data_bn.weight"] = np.zeros(10, "float32")
    with pytest.raises(WeightsMismatchError) as info:
        sttr.load_official_state_dict(model, bad)
    message = str(info.value)
    assert "unexpected (1): person_bnx.weight" in message
    assert "missing (1): backbone.3.gcn1.attention_conv.qkv_conv.bias" in message
    assert "data_bn.weight: expected (150,), found (10,)" in message


def test_two_stream_fusion_and_weights():
    spatial = load_sttr_fixture("sttr_spatial_joint_small")
    temporal = load_sttr_fixture("sttr_temporal_joint_small")
    backbone = spatial[0]["backbone_config"]
    weights = {"spatial": spatial[1], "temporal": temporal[1]}
    model = skeleton_zoo.load("st_tr_2s_joint", weights=weights, backbone=backbone)
    # Each stream reproduces its own fixture (the fixtures use different inputs).
    for stream, (_, _, x, logits) in (("spatial", spatial), ("temporal", temporal)):
        y = keras.ops.convert_to_numpy(model.streams[stream](x, training=False))
        assert np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()
    x = spatial[2]
    a = keras.ops.convert_to_numpy(model.streams["spatial"](x, training=False))
    b = keras.ops.convert_to_numpy(model.streams["temporal"](x, training=False))
    np.testing.assert_allclose(model.predict(x, verbose=0), a + b, rtol=1e-6, atol=1e-5)
    soft = skeleton_zoo.load("st_tr_2s_joint", weights=weights, backbone=backbone, fusion="softmax")
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(a) + keras.ops.softmax(b))
    np.testing.assert_allclose(soft.predict(x, verbose=0), expected, atol=1e-5)
    with pytest.raises(WeightsMismatchError, match="'spatial' and 'temporal'"):
        skeleton_zoo.load("st_tr_2s_joint", weights=spatial[1], backbone=backbone)


def test_agcn_training_checkpoint_through_load():
    """The `*-temporal-agcn.pt` format: a zip training checkpoint of a T-TR-agcn."""
    args, _, x, logits = load_sttr_fixture("sttr_temporal_agcn_joint_small")
    model = skeleton_zoo.load("st_tr_temporal_agcn_joint", backbone=args["backbone_config"],
                              weights=FIXTURES / "sttr" / "sttr_temporal_agcn_joint_small.pt")
    assert model.adaptive_graph and isinstance(model.get_layer("stem_graph"), sttr_layers.AdaptiveGraphConv)
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()


def test_kinetics_files_load_with_the_openpose18_layout():
    """`kinetics_*.pt`: OpenPose-18 joints, 400 classes, through the preset with the documented options."""
    args, state, x, logits = load_sttr_fixture("sttr_temporal_kinetics_bone_small")
    note = next(w.note for w in skeleton_zoo.registry.get_preset("st_tr_temporal_bone").official_weights
                if w.file == "kinetics_bones_temporal.pt")
    assert note == "layout='openpose18', num_classes=400"
    model = skeleton_zoo.load("st_tr_temporal_bone", layout="openpose18", num_classes=400,
                              backbone=args["backbone_config"], weights=state)
    y = model.predict(x, verbose=0)
    assert y.shape == (2, 400) and np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()


@backend_independent  # the layer's maths; the fixtures check it on JAX
def test_adaptive_graph_conv_matches_the_official_formula():
    """y = ReLU(BN(sum_k W_k x (softmax_u(a_k . b_k / (I T)) + G_k) + b_k) + down(x))."""
    layer = sttr_layers.AdaptiveGraphConv(8, "openpose18")
    x = _x((2, 5, 18, 3))
    layer(x)
    rng = np.random.default_rng(1)
    layer.set_weights([np.abs(w) + 0.5 if "variance" in v.path else w for v, w in
                       zip(layer.weights, (rng.normal(size=w.shape).astype("float32") for w in layer.weights))])
    w = {name: keras.ops.convert_to_numpy(getattr(layer, name))
         for name in ("kernel", "bias", "graph", "embed_a", "embed_a_bias", "embed_b", "embed_b_bias")}

    def bn(y, layer_bn):
        g, b, m, v = (keras.ops.convert_to_numpy(t) for t in (layer_bn.gamma, layer_bn.beta, layer_bn.moving_mean,
                                                               layer_bn.moving_variance))
        return (y - m) / np.sqrt(v + 1e-5) * g + b

    e, y = 2, 0.0
    for k in range(3):
        a = x @ w["embed_a"][:, k * e:(k + 1) * e] + w["embed_a_bias"][k * e:(k + 1) * e]
        b = x @ w["embed_b"][:, k * e:(k + 1) * e] + w["embed_b_bias"][k * e:(k + 1) * e]
        s = np.einsum("btui,btvi->buv", a, b) / (e * 5)
        s = np.exp(s - s.max(1, keepdims=True))
        graph = s / s.sum(1, keepdims=True) + w["graph"][k]
        y = y + np.einsum("btuc,buv->btvc", x, graph) @ w["kernel"][k * 3:(k + 1) * 3] + w["bias"][k]
    down = bn(x @ keras.ops.convert_to_numpy(layer.down.kernel) + keras.ops.convert_to_numpy(layer.down.bias),
              layer.down_bn)
    expected = np.maximum(bn(y, layer.bn) + down, 0)
    assert (expected > 0).mean() > 0.2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), expected, rtol=1e-4, atol=1e-4)
    # The official models start from the aliased graph A + PA = 2e-6 (see the layer's docstring).
    fresh = sttr_layers.AdaptiveGraphConv(4)
    fresh.build((1, 2, 25, 4))
    assert fresh.down is None and fresh.graph.shape == (3, 25, 25)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(fresh.graph), np.float32(2e-6))


@backend_independent  # parameter counts and structure
def test_two_stream_and_baseline_presets():
    two = skeleton_zoo.load("st_tr_2s_bone", num_classes=120)
    assert _params(two) == 12_125_324 + 6_839_890 + 2 * (120 - 60) * (256 * 2 + 1)
    assert two.output_shape == (None, 120) and two.input_shape == (None, None, 25, 2, 6)
    gcn = skeleton_zoo.load("st_gcn")
    assert not any(isinstance(l, (sttr_layers.SpatialSelfAttention, sttr_layers.TemporalSelfAttention))
                   for b in gcn.layers if isinstance(b, sttr_layers.STTRBlock)
                   for l in (b.spatial_unit, b.temporal_unit))


@pytest.mark.parametrize(
    "layer, count",
    [(sttr_layers.GraphConv(256), 199_763), (sttr_layers.TemporalConv(256), 590_592),
     (sttr_layers.SpatialSelfAttention(256), 177_792), (sttr_layers.TemporalSelfAttention(256), 177_792)],
    ids=["GraphConv", "TemporalConv", "SSA", "TSA"],
)
def test_module_parameter_counts_table_1b(layer, count):
    layer.build((None, None, 25, 256))
    assert _params(layer) == count


# --- layers --------------------------------------------------------------------
def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_spatial_partitions_match_official_construction():
    a = skeleton_zoo.layouts.spatial_partitions(skeleton_zoo.get_layout("ntu25"))
    inward = [(i - 1, j - 1) for i, j in [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7),
              (9, 21), (10, 9), (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17),
              (19, 18), (20, 19), (22, 23), (23, 8), (24, 25), (25, 12)]]

    def edge2mat(links):
        m = np.zeros((25, 25))
        for i, j in links:
            m[j, i] = 1
        return m

    def normalize_digraph(m):
        d = m.sum(0)
        return m @ np.diag(np.where(d > 0, 1 / np.where(d > 0, d, 1), 0))

    expected = np.stack([edge2mat([(i, i) for i in range(25)]), normalize_digraph(edge2mat(inward)),
                         normalize_digraph(edge2mat([(j, i) for i, j in inward]))])
    np.testing.assert_allclose(a, expected, atol=1e-7)


@pytest.mark.parametrize("c_in, training", [(3, False), (6, False), (3, True), (6, True)])
def test_graph_conv_matches_per_partition_formula(c_in, training):
    """Both orders of the unit (aggregate first: C_in < units or training; project first otherwise)."""
    layer = sttr_layers.GraphConv(5)
    x = _x((2, 4, 25, c_in))
    layer(x)
    rng = np.random.default_rng(1)
    layer.set_weights([np.abs(w) if "variance" in v.path else w for v, w in
                       zip(layer.weights, (rng.normal(size=w.shape).astype("float32") for w in layer.weights))])
    kernel, bias, mask = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias, layer.mask))
    a = skeleton_zoo.layouts.spatial_partitions(skeleton_zoo.get_layout("ntu25")) * mask
    pre_bn = sum(np.einsum("btvc,vw->btwc", x, a[k]) @ kernel[k] + bias[k] for k in range(3))
    bn = layer.bn
    mean, variance = (keras.ops.convert_to_numpy(bn.moving_mean), keras.ops.convert_to_numpy(bn.moving_variance))
    if training:
        mean, variance = pre_bn.mean(axis=(0, 1, 2)), pre_bn.var(axis=(0, 1, 2))
    expected = np.maximum(
        (pre_bn - mean) / np.sqrt(variance + 1e-5) * keras.ops.convert_to_numpy(bn.gamma)
        + keras.ops.convert_to_numpy(bn.beta), 0)
    assert np.isfinite(expected).all() and (expected > 0).mean() > 0.2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=training)), expected, rtol=1e-4, atol=1e-4)
    assert np.all(keras.ops.convert_to_numpy(layer.mask) == mask)  # the mask is applied, never updated in place


@pytest.mark.parametrize("drop_connect", [True, False])
def test_joint_by_joint_attention_gradient_equals_autodiff(drop_connect):
    """TSA's own backward pass (`_attend_per_joint`) against autodiff of the batched attention, with the same
    DropConnect mask, including a row whose keys are all dropped."""
    layer = sttr_layers.TemporalSelfAttention(16, num_heads=2)
    q, k, v = _x((2, 5, 2, 7, 3), 1), 3 * _x((2, 5, 2, 7, 3), 2), _x((2, 5, 2, 7, 4), 3)  # (V, B, H, L, d)
    keep = None
    if drop_connect:
        keep = np.random.default_rng(4).uniform(size=(2, 5, 2, 1, 7)) < 0.5
        keep[0, 1, 0] = False
    probe = _x((2, 5, 2, 7, 4), 5)

    def joint_by_joint(q, k, v):
        return keras.ops.sum(layer._attend_per_joint(q, k, v, keep) * probe)

    def batched(q, k, v):
        return keras.ops.sum(keras.ops.matmul(layer._weights(q, k, keep), v) * probe)

    np.testing.assert_allclose(keras.ops.convert_to_numpy(joint_by_joint(q, k, v)),
                               keras.ops.convert_to_numpy(batched(q, k, v)), rtol=1e-5)
    ours, autodiff = gradients(joint_by_joint, [q, k, v]), gradients(batched, [q, k, v])
    for name, a, b in zip("qkv", ours, autodiff):
        assert np.abs(b).max() > 0.1, name
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * np.abs(b).max(), err_msg=name)
    if drop_connect:
        assert np.all(ours[0][0, 1, 0] == 0)  # no gradient reaches the queries of an all-dropped row


def test_temporal_conv_stride_uses_symmetric_padding():
    layer = sttr_layers.TemporalConv(4, kernel_size=9, stride=2)
    for t in (40, 41):
        assert layer(_x((1, t, 25, 3))).shape == (1, (t + 1) // 2, 25, 4)


@pytest.mark.parametrize("cls", [sttr_layers.SpatialSelfAttention, sttr_layers.TemporalSelfAttention])
def test_drop_connect_only_in_training(cls):
    layer = cls(16, num_heads=4, seed=3)
    x = _x((2, 8, 25, 16))
    a, b = keras.ops.convert_to_numpy(layer(x, training=False)), keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_array_equal(a, b)
    c, d = keras.ops.convert_to_numpy(layer(x, training=True)), keras.ops.convert_to_numpy(layer(x, training=True))
    assert not np.allclose(c, d)  # fresh Bernoulli masks each step
    no_drop = cls(16, num_heads=4, drop_connect=False)
    no_drop(x)
    no_drop.set_weights(layer.get_weights())
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(no_drop(x, training=True)), keras.ops.convert_to_numpy(no_drop(x, training=True)))


def test_drop_connect_drops_key_columns_and_renormalises():
    layer = sttr_layers.SpatialSelfAttention(16, num_heads=2, seed=0)
    q, k = _x((3, 5, 2, 25, 2), 1), _x((3, 5, 2, 25, 2), 2)  # (B, T, H, V, d)
    w = keras.ops.convert_to_numpy(layer.attention_weights(q, k, training=True))
    dropped = np.all(w == 0, axis=-2)  # whole key columns, per (sample, frame, head)
    assert dropped.shape == (3, 5, 2, 25)
    assert 0.3 < dropped.mean() < 0.7
    np.testing.assert_allclose(w.sum(-1), 1.0, atol=1e-5)
    plain = keras.ops.convert_to_numpy(layer.attention_weights(q, k, training=False))
    logits = np.einsum("...id,...jd->...ij", q, k)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    np.testing.assert_allclose(plain, expected / expected.sum(-1, keepdims=True), rtol=1e-5, atol=1e-6)


def test_temporal_attention_handles_odd_length_at_stride_2():
    layer = sttr_layers.TemporalSelfAttention(16, stride=2, num_heads=4)
    assert layer(_x((2, 75, 25, 8))).shape == (2, 38, 25, 16)


@requires_tensorflow
def test_attention_has_no_python_loops_over_frames():
    """One graph for any length: no shape-dependent Python loops."""
    import tensorflow as tf

    model = skeleton_zoo.load("st_tr_spatial_joint", backbone=[(16, 16, 1), (16, 128, 2)], num_classes=5)
    fn = tf.function(lambda x: model(x, training=False),
                     input_signature=[tf.TensorSpec((None, None, 25, 2, 3), tf.float32)])
    for b, t in [(1, 10), (3, 33)]:
        y = fn(_x((b, t, 25, 2, 3)))
        assert y.shape == (b, 5)
    assert len(fn._list_all_concrete_functions()) == 1


# --- bones -----------------------------------------------------------------------
def test_bones_match_official_ntu_gen_bones():
    data = np.load(FIXTURES / "ntu" / "bones_slice.npz")
    joints = np.transpose(data["joints"], (0, 2, 3, 4, 1))  # (N, T, V, M, C)
    bones = np.transpose(data["bones"], (0, 2, 3, 4, 1))
    layout = skeleton_zoo.get_layout("ntu25")
    np.testing.assert_allclose(skeleton_zoo.layouts.joints_to_bones(joints, layout, joint_axis=2), bones, atol=1e-6)
    with pytest.raises(ValueError, match="expected 25 joints"):
        skeleton_zoo.layouts.joints_to_bones(joints[:, :, :24], layout, joint_axis=2)
    layer = sttr_layers.JointsToBones(concat_joints=True)
    out = keras.ops.convert_to_numpy(layer(joints))
    np.testing.assert_allclose(out, np.concatenate([joints, bones], -1), atol=1e-6)
    assert np.all(out[:, :, 20, :, 3:] == 0)  # spine shoulder: the (21, 21) pair


# --- serialisation and errors ----------------------------------------------------
@pytest.mark.parametrize("name", ["st_tr_spatial_joint", "st_tr_2s_joint", "st_tr_temporal_agcn_joint"])
def test_keras_file_round_trip(tmp_path, name):
    model = skeleton_zoo.load(name, backbone=[(8, 8, 1), (8, 16, 2)], num_classes=7, attention_from=16,
                              num_heads=2)
    x = _x((2, 12, 25, 2, 3))
    assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)


@pytest.mark.parametrize(
    "cls, kwargs",
    [(sttr_layers.GraphConv, {"units": 6}), (sttr_layers.AdaptiveGraphConv, {"units": 8, "embedding_factor": 2}),
     (sttr_layers.TemporalConv, {"units": 6, "stride": 2, "dropout": 0.1}),
     (sttr_layers.SpatialSelfAttention, {"units": 8, "num_heads": 2, "drop_connect": False}),
     (sttr_layers.TemporalSelfAttention, {"units": 8, "stride": 2, "num_heads": 2, "key_factor": 0.5}),
     (sttr_layers.TemporalSelfAttention, {"units": 8, "stride": 2, "num_heads": 2, "qkv_kernel": 1}),
     (sttr_layers.STTRBlock, {"units": 8, "stride": 2, "spatial": "attention", "num_heads": 2}),
     (sttr_layers.JointsToBones, {"joint_axis": 2})],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_layer_config_is_complete(cls, kwargs):
    layer = cls(**kwargs)
    x = _x((2, 6, 25, 4))
    layer(x)
    assert_config_complete(layer, x)


@pytest.fixture(scope="module")
def small_model():
    return skeleton_zoo.load("st_tr_temporal_joint", backbone=[(8, 8, 1), (8, 16, 2)], attention_from=16,
                             num_heads=2)


@pytest.mark.parametrize(
    "shape, match",
    [((1, 10, 24, 2, 3), "expected 25 joints on axis 2"),
     ((1, 10, 25, 3, 3), "expected 2 persons on axis 3"),
     ((1, 10, 25, 2, 6), "expected 3 channels on axis 4"),
     ((10, 25, 2, 3), r"rank 5 \(batch, frames, 25, 2, 3\)"),
     ((1, 0, 25, 2, 3), "no frames")],
)
def test_bad_input_shapes(small_model, shape, match):
    with pytest.raises(ValueError, match=match):
        small_model(np.zeros(shape, "float32"))


def test_bad_options():
    with pytest.raises(ValueError, match="`stream` must be one of"):
        STTR("both")
    with pytest.raises(ValueError, match=r"`fusion` must be one of"):
        skeleton_zoo.load("st_tr_2s_joint", fusion="max")
    with pytest.raises(TypeError, match="ensemble \\(multi-stream\\) presets only"):
        skeleton_zoo.load("st_gcn", fusion="logits")
    with pytest.raises(ValueError, match="divisible by `num_heads`"):
        sttr_layers.SpatialSelfAttention(20, num_heads=8)
    with pytest.raises(ValueError, match="Did you mean 'st_tr_2s_bone'"):
        skeleton_zoo.load("st_tr_2s_bones")


def test_adaptive_graph_unit_starts_as_the_official_one():
    """unit_agcn's initialisation: the graph branch's BN at gamma 1e-6 (the unit starts as its residual),
    conv_branch_init for conv_d and kaiming fan-out for conv_a / conv_b / down, untruncated."""
    from skeleton_zoo.models.sttr.layers import AdaptiveGraphConv

    unit = AdaptiveGraphConv(128, name="unit")
    unit.build((1, 4, 25, 64))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(unit.bn.gamma), np.full(128, 1e-6, np.float32))
    for weights, std in ((unit.kernel, (2 / (128 * 64 * 3)) ** 0.5), (unit.embed_a, (2 / 32) ** 0.5),
                         (unit.embed_b, (2 / 32) ** 0.5), (unit.down.kernel, (2 / 128) ** 0.5)):
        values = keras.ops.convert_to_numpy(weights)
        assert abs(values.std() / std - 1) < 0.05, (weights.path, values.std(), std)
        assert np.abs(values).max() > 2.5 * std  # not truncated at two deviations
