"""Folding BatchNorm into the preceding convolutions (`common.fold_batch_norms`):
same outputs as the official implementations, no BN arithmetic left, and the
export specs fold by default."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import skeleton_zoo
from skeleton_zoo.models import gast, sttr
from export import common as export_common
from skeleton_zoo.models.common import fold_batch_norms

from conftest import gast_fixture_model, load_gast_fixture, load_sttr_fixture, sttr_fixture_model


def _batch_norms(model):
    return [l for l in model._flatten_layers() if isinstance(l, keras.layers.BatchNormalization)]


def _randomise_batch_norms(model, seed=0):
    """Statistics far from the initial (0, 1), so a wrong fold shows."""
    rng = np.random.default_rng(seed)
    for bn in _batch_norms(model):
        bn.gamma.assign(rng.uniform(0.5, 1.5, bn.gamma.shape).astype("float32"))
        bn.beta.assign(rng.normal(0, 0.5, bn.beta.shape).astype("float32"))
        bn.moving_mean.assign(rng.normal(0, 0.5, bn.moving_mean.shape).astype("float32"))
        bn.moving_variance.assign(rng.uniform(0.5, 2.0, bn.moving_variance.shape).astype("float32"))


@pytest.mark.parametrize("variant", ["sequence", "single_frame"])
def test_gast_official_parity_after_folding(variant):
    config, state, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = gast_fixture_model(config, variant)
    gast.load_official_state_dict(model, state)
    # Every BN but the input BN (init_bn) follows a convolution.
    assert fold_batch_norms(model) == len(_batch_norms(model)) - 1
    x_key, y_key = ("input_sequence", "output_sequence") if variant == "sequence" else ("input_window", "output_window")
    y = model(arrays[x_key], training=False).numpy()
    np.testing.assert_allclose(y, arrays[y_key], rtol=0, atol=1e-4)


@pytest.mark.parametrize("name", ["sttr_spatial_joint_small", "sttr_temporal_joint_small"])
def test_sttr_official_parity_after_folding(name):
    args, state, x, logits = load_sttr_fixture(name)
    model = sttr_fixture_model(args)
    sttr.load_official_state_dict(model, state)
    assert fold_batch_norms(model) > 0
    y = model(x, training=False).numpy()
    assert np.abs(y - logits).max() <= 1e-4 * np.abs(logits).max()


@pytest.mark.parametrize("name, shape", [
    ("gast_9", (2, 20, 17, 2)),
    ("st_tr_spatial_joint", (2, 12, 25, 2, 3)),
    ("st_tr_temporal_joint", (2, 12, 25, 2, 3)),
])
def test_folding_keeps_outputs_with_arbitrary_statistics(name, shape):
    model = skeleton_zoo.load(name, **({"channels": 16} if name.startswith("gast") else {}))
    _randomise_batch_norms(model)
    x = np.random.default_rng(1).normal(size=shape).astype("float32")
    before = model(x, training=False).numpy()
    folded = fold_batch_norms(model)
    after = model(x, training=False).numpy()
    assert folded >= 5
    np.testing.assert_allclose(after, before, rtol=0, atol=2e-5 * np.abs(before).max())


def test_folded_graph_has_no_batch_norm_arithmetic():
    model = skeleton_zoo.load("gast_9", channels=16, variant="single_frame")
    _randomise_batch_norms(model)
    spec = tf.TensorSpec((1, 9, 17, 2), tf.float32)

    def muls(m):
        graph = tf.function(lambda x: m(x, training=False)).get_concrete_function(spec).graph
        return sum(op.type == "Rsqrt" for op in graph.get_operations())

    bns = len(_batch_norms(model))
    assert muls(model) == bns  # one rsqrt(var + eps) per BN
    fold_batch_norms(model)
    assert muls(model) == 1  # only the input BN is left


def test_folding_twice_is_refused():
    model = skeleton_zoo.load("gast_9", channels=16)
    fold_batch_norms(model)
    with pytest.raises(ValueError, match="folded already"):
        fold_batch_norms(model)


def test_export_specs_fold_by_default():
    (folded,) = export_common.build_specs("gast_9", variants=("single_frame",), channels=16)
    (plain,) = export_common.build_specs("gast_9", variants=("single_frame",), channels=16,
                                         fold_batch_norm=False)
    assert getattr(folded.model, "_batch_norms_folded", False)
    assert not getattr(plain.model, "_batch_norms_folded", False)


def test_export_refuses_a_fold_that_changes_outputs(monkeypatch):
    def broken_fold(model):  # a wrong scale
        for bn in _batch_norms(model):
            bn.call = lambda inputs, training=None, mask=None: 2.0 * inputs

    monkeypatch.setattr("skeleton_zoo.models.common.fold_batch_norms", broken_fold)
    with pytest.raises(RuntimeError, match="changed the outputs"):
        export_common.build_specs("gast_9", variants=("single_frame",), channels=16)
