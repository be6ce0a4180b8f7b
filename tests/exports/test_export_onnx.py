"""ONNX export (export/onnx_export.py): graph interface, dynamic dims, parity
with Keras under ONNX Runtime, opset, atomic writes. Small models, no network."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("tf2onnx")

from export import onnx_export  # noqa: E402
from export.common import build_specs  # noqa: E402
from export.onnx_export import export_onnx, onnx_latency_ms, run_onnx  # noqa: E402

ATOL = 1e-4
STTR_BACKBONE = [[16, 16, 1], [16, 32, 2]]


def _specs():
    specs = build_specs("gast_9", channels=16)
    specs += build_specs("gast_9_causal", channels=16)
    specs += build_specs("st_tr_spatial_joint", backbone=STTR_BACKBONE, num_classes=10)
    return {s.name: s for s in specs}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (spec, path) for every spec, exported once at opset 17."""
    out = tmp_path_factory.mktemp("onnx")
    return {name: (spec, export_onnx(spec, out / f"{name}.onnx"))
            for name, spec in _specs().items()}


NAMES = ["gast_9_sequence", "gast_9_single_frame", "gast_9_causal_sequence",
         "gast_9_causal_single_frame", "st_tr_spatial_joint"]


def _dims(value):
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def _second_input(spec):
    """Another batch size and, where frames are dynamic, another frame count."""
    shape = [3] + list(spec.input_shape[1:])
    if shape[1] is None:
        rf = getattr(spec.model, "receptive_field", None)
        shape[1] = rf + 20 if rf else spec.example_frames + 13
    return np.random.default_rng(7).normal(scale=0.5, size=shape).astype(np.float32)


@pytest.mark.parametrize("name", NAMES)
def test_graph_interface(exported, name):
    spec, path = exported[name]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inits = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in inits]
    assert [v.name for v in inputs] == [spec.input_name]
    assert [v.name for v in model.graph.output] == list(spec.output_names)

    want_in = ["batch" if i == 0 else "frames" if d is None else d
               for i, d in enumerate(spec.input_shape)]
    assert _dims(inputs[0]) == want_in
    joints = spec.input_shape[2]
    if spec.task == "pose_lifting":
        frames_out = ["frames_out"] if spec.variant == "sequence" else []
        assert _dims(model.graph.output[0]) == ["batch", *frames_out, joints, 3]
    else:
        assert spec.input_shape[1] is None  # dynamic frames
        for out in model.graph.output:
            assert _dims(out) == ["batch", 10]
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["preset"] == spec.preset and meta["task"] == spec.task


@pytest.mark.parametrize("name", NAMES)
def test_onnxruntime_matches_keras(exported, name):
    spec, path = exported[name]
    for x in (spec.example_input(), _second_input(spec)):
        got = run_onnx(path, x)
        want = spec.keras_outputs(x)
        assert list(got) == list(spec.output_names)
        for key in spec.output_names:
            assert got[key].shape == want[key].shape, (key, x.shape)
            np.testing.assert_allclose(got[key], want[key], rtol=0, atol=ATOL,
                                       err_msg=f"{name} {key} on {x.shape}")
    if spec.variant == "sequence":
        x = _second_input(spec)
        assert run_onnx(path, x)["poses_3d"].shape[1] == x.shape[1] - spec.model.receptive_field + 1


def test_latency_helper(exported):
    spec, path = exported["gast_9_single_frame"]
    ms = onnx_latency_ms(path, spec.example_input(), repeats=3, warmup=1)
    assert 0 < ms < 10_000
    with pytest.raises(ValueError):
        onnx_latency_ms(path, spec.example_input(), repeats=0)


def test_opset_recorded(exported, tmp_path):
    _, path = exported["st_tr_spatial_joint"]
    opsets = {o.domain: o.version for o in onnx.load(path).opset_import}
    assert opsets[""] == 17
    spec = exported["st_tr_spatial_joint"][0]
    other = export_onnx(spec, tmp_path / "opset13.onnx", opset=13)
    assert {o.domain: o.version for o in onnx.load(other).opset_import}[""] == 13
    x = spec.example_input()
    np.testing.assert_allclose(run_onnx(other, x)["logits"], spec.keras_outputs(x)["logits"],
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("opset", [5, 99, "17", True])
def test_bad_opset(exported, tmp_path, opset):
    spec, _ = exported["gast_9_single_frame"]
    with pytest.raises(ValueError, match="gast_9_single_frame.*opset"):
        export_onnx(spec, tmp_path / "x.onnx", opset=opset)
    assert not list(tmp_path.iterdir())


def test_failed_conversion_leaves_nothing(exported, tmp_path, monkeypatch):
    import tf2onnx

    spec, _ = exported["gast_9_single_frame"]

    def boom(*args, **kwargs):
        raise RuntimeError("unsupported op Foo")

    monkeypatch.setattr(tf2onnx.convert, "from_function", boom)
    with pytest.raises(onnx_export.OnnxExportError,
                       match="gast_9_single_frame.*tf2onnx conversion.*unsupported op Foo"):
        export_onnx(spec, tmp_path / "sub" / "model.onnx")
    assert not (tmp_path / "sub").exists() or not list((tmp_path / "sub").iterdir())


def test_failed_check_keeps_existing_file(exported, tmp_path, monkeypatch):
    spec, _ = exported["st_tr_spatial_joint"]
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous")

    def reject(*args, **kwargs):
        raise onnx.checker.ValidationError("bad graph")

    monkeypatch.setattr(onnx.checker, "check_model", reject)
    with pytest.raises(onnx_export.OnnxExportError, match="st_tr_spatial_joint.*checker.*bad graph"):
        export_onnx(spec, target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_failed_write_leaves_no_temp_file(exported, tmp_path, monkeypatch):
    spec, _ = exported["st_tr_spatial_joint"]

    def fail_save(model, f, *args, **kwargs):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(onnx, "save_model", fail_save)
    with pytest.raises(onnx_export.OnnxExportError, match="st_tr_spatial_joint.*disk full"):
        export_onnx(spec, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


def test_unconverted_ops_are_reported(exported):
    spec, path = exported["gast_9_single_frame"]
    model = onnx.load(path)
    model.graph.node.append(onnx.helper.make_node("ExtractImagePatches", ["a"], ["b"]))
    with pytest.raises(onnx_export.OnnxExportError, match="gast_9_single_frame.*ExtractImagePatches"):
        onnx_export._check_ops(spec, model)
