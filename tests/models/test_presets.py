"""Every built-in preset: its declared data against the built model, configs
that carry their dtype (mixed precision through `.keras`), and listing the
zoo without building a model or importing a framework."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo import registry

from helpers import assert_config_complete, assert_keras_round_trip

FAMILIES = {module.rsplit(".", 1)[1] for module in registry.BUILTIN_FAMILIES}
BUILTIN = [name for name in skeleton_zoo.preset_names() if registry.get_preset(name).family in FAMILIES]
# Ensembles are counted from their streams' declared counts (below); their streams are built here.
DECLARED = [(name, layout) for name in BUILTIN for layout in registry.get_preset(name).parameters
            if not registry.get_preset(name).streams]
ENSEMBLES = [name for name in BUILTIN if registry.get_preset(name).streams]


def _params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


# Parameter counts do not depend on the backend: on JAX (the second CI pass) only each family's
# smallest preset is built, the rest are counted on TensorFlow.
_SMALLEST = {}
for _name, _layout in DECLARED:
    _preset = registry.get_preset(_name)
    _best = _SMALLEST.get(_preset.family)
    if _best is None or _preset.parameters[_layout] < registry.get_preset(_best[0]).parameters[_best[1]]:
        _SMALLEST[_preset.family] = (_name, _layout)


@pytest.mark.parametrize("name, layout", DECLARED, ids=[f"{n}-{l}" for n, l in DECLARED])
def test_declared_parameter_counts_equal_the_built_models(name, layout):
    if keras.backend.backend() == "jax" and (name, layout) not in _SMALLEST.values():
        pytest.skip("counted on TensorFlow (parameter counts do not depend on the backend)")
    preset = registry.get_preset(name)
    options = {} if layout == preset.layout else {"layout": layout}
    model = skeleton_zoo.load(name, **options)
    assert _params(model) == preset.parameters[layout]
    if preset.receptive_field is not None:
        assert model.receptive_field == preset.receptive_field
    if preset.task == "pose_lifting" and preset.clip_frames is not None:
        assert model.clip_frames == preset.clip_frames
    if preset.num_classes is not None:
        assert model.num_classes == preset.num_classes
    assert model.layout.name == layout


@pytest.mark.parametrize("name", ENSEMBLES)
def test_ensemble_counts_are_their_streams_counts(name):
    """An ensemble has exactly its streams' parameters (the fusion adds none;
    tests/models/test_sttr.py and test_pyskl.py build ensembles)."""
    preset = registry.get_preset(name)
    for layout, count in preset.parameters.items():
        streams = [registry.get_preset(stream).parameters[layout] for stream in preset.streams.values()]
        assert count == sum(streams), layout


def test_every_preset_declares_its_data():
    for row in skeleton_zoo.list_models():
        preset = registry.get_preset(row["name"])
        assert preset.task in ("pose_lifting", "action_recognition") and preset.layout and preset.parameters
        assert (preset.receptive_field or preset.clip_frames) if preset.task == "pose_lifting" else preset.clip_frames
        for weights in preset.official_weights:
            assert weights.file and weights.url.startswith(("https://", "hf://")) and weights.licence
    assert registry.get_preset("gast_243").paper[0].value == 44.9


SMALL = {
    "gast_27": {"channels": 8},
    "st_tr_temporal_joint": {"backbone": [(8, 8, 1), (8, 16, 2)], "attention_from": 16, "num_heads": 2,
                             "num_classes": 7},
    "st_tr_2s_joint": {"backbone": [(8, 8, 1), (8, 16, 2)], "attention_from": 16, "num_heads": 2,
                       "num_classes": 7},
}
INPUTS = {"gast_27": (2, 30, 17, 2), "st_tr_temporal_joint": (2, 12, 25, 2, 3), "st_tr_2s_joint": (2, 12, 25, 2, 3)}


@pytest.mark.parametrize("name", list(SMALL))
def test_mixed_precision_round_trips_with_its_policy(name, tmp_path):
    if keras.backend.backend() == "jax" and registry.get_preset(name).streams:
        pytest.skip("an ensemble's policy is its streams' (st_tr_temporal_joint runs on JAX)")
    model = skeleton_zoo.load(name, dtype="mixed_bfloat16", **SMALL[name])
    x = np.random.default_rng(0).normal(size=INPUTS[name]).astype("float32")
    restored = assert_keras_round_trip(model, x, tmp_path)
    assert_config_complete(model, x)
    for m in (model, restored):
        layers = [l for l in m._flatten_layers(include_self=False, recursive=True)
                  if isinstance(l, keras.layers.Dense)]
        assert layers and all(l.dtype_policy.name == "mixed_bfloat16" for l in layers)
        assert all(v.dtype == "float32" for v in m.trainable_variables)  # bfloat16 compute, float32 variables
        assert keras.backend.standardize_dtype(m(x).dtype) == "float32"  # and float32 answers


def test_listing_builds_no_model_and_imports_no_framework():
    code = ("import sys, json\n"
            "from skeleton_zoo.cli import main\n"
            "status = main(['skeleton_zoo', 'list', '--format', 'json', '--layout', 'humaneva15'])\n"
            "heavy = sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules)\n"
            "print(json.dumps({'status': status, 'heavy': heavy}))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *listing, summary = result.stdout.strip().splitlines()
    assert json.loads(summary) == {"status": 0, "heavy": []}
    rows = {row["name"]: row for row in json.loads("\n".join(listing))}
    assert rows["gast_243"]["parameters"] == 7_081_528 and rows["st_tr_spatial_joint"]["parameters"] is None
    assert rows["st_tr_2s_joint"]["streams"] == {"spatial": "st_tr_spatial_joint", "temporal": "st_tr_temporal_joint"}
