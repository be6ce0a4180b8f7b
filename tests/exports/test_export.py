"""`python -m export`: SavedModel for TF Serving (signatures, names, warmup,
versions, models.config), the command line and its verification table."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from export import common, saved_model

SMALL_STTR = {"backbone": [[16, 16, 1], [16, 32, 2]], "num_classes": 10}
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "export", *args], capture_output=True, text=True,
                          timeout=900, env=ENV)


@pytest.fixture(scope="module")
def gast_specs():
    return common.build_specs("gast_9_causal", channels=16)


@pytest.mark.parametrize("model,overrides", [("gast_9", {"channels": 16}), ("gast_9_causal", {"channels": 16}),
                                             ("st_tr_spatial_joint", SMALL_STTR)])
def test_saved_model_signatures_and_serving_equal_keras(model, overrides, tmp_path):
    specs = common.build_specs(model, **overrides)
    path = saved_model.export_saved_model(specs, tmp_path)
    assert path == tmp_path / model / "1" and (path / "saved_model.pb").exists() and (path / "variables").is_dir()
    loaded = tf.saved_model.load(str(path))
    expected_signatures = {"serving_default", "single_frame"} if specs[0].task == "pose_lifting" else {"serving_default"}
    assert set(loaded.signatures) == expected_signatures
    for spec in specs:
        signature = loaded.signatures[saved_model.signature_name(spec)]
        _, inputs = signature.structured_input_signature
        assert list(inputs) == [spec.input_name]
        assert tuple(inputs[spec.input_name].shape) == spec.input_shape
        assert sorted(signature.structured_outputs) == sorted(spec.output_names)
        for batch in (1, 3):
            x = spec.example_input(batch=batch, seed=batch)
            served = saved_model.run_saved_model(path, spec, x)
            for name, value in spec.keras_outputs(x).items():
                np.testing.assert_allclose(served[name], value, atol=1e-4, rtol=0)
    if specs[0].task == "pose_lifting":
        sequence, single = specs
        assert loaded.signatures["serving_default"](keypoints_2d=sequence.example_input())["poses_3d"].shape[1] == 8 + 1
        assert single.input_shape[1] == sequence.model.receptive_field


def test_action_recognition_outputs_logits_and_probabilities(tmp_path):
    spec, = common.build_specs("st_tr_spatial_joint", frames=20, **SMALL_STTR)
    assert spec.input_shape == (None, 20, 25, 2, 3)
    path = saved_model.export_saved_model([spec], tmp_path)
    out = saved_model.run_saved_model(path, spec, spec.example_input())
    np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out["probabilities"], tf.nn.softmax(out["logits"]).numpy(), atol=1e-6)


def test_warmup_requests_parse_as_prediction_logs(gast_specs, tmp_path):
    path = saved_model.export_saved_model(gast_specs, tmp_path)
    logs = saved_model.read_warmup_requests(path)
    assert [log.predict_log.request.model_spec.signature_name for log in logs] == ["serving_default", "single_frame"]
    for log, spec in zip(logs, gast_specs):
        request = log.predict_log.request
        assert request.model_spec.name == "gast_9_causal"
        shape = tf.make_ndarray(request.inputs["keypoints_2d"]).shape
        assert shape[0] == 1 and shape[2:] == (17, 2)


def test_versions_are_never_overwritten_and_models_config_lists_them(gast_specs, tmp_path):
    first = saved_model.export_saved_model(gast_specs, tmp_path)
    marker = first / "keep-me"
    marker.write_text("x")
    second = saved_model.export_saved_model(gast_specs, tmp_path)
    assert (first.name, second.name) == ("1", "2") and marker.exists()
    with pytest.raises(FileExistsError, match="--version 2: .* exists already"):
        saved_model.export_saved_model(gast_specs, tmp_path, version=2)
    assert not [p for p in (tmp_path / "gast_9_causal").iterdir() if p.name.startswith(".")]  # no half-written folder
    config = saved_model.write_models_config(tmp_path).read_text()
    assert 'name: "gast_9_causal"' in config and f'base_path: "{(tmp_path / "gast_9_causal").resolve()}"' in config
    assert 'model_platform: "tensorflow"' in config


def test_unknown_model_and_format_list_the_choices(capfd):
    """In this process (`python -m export` is this command of `skeleton_zoo.cli`); the tests below run it as
    its own process."""
    from skeleton_zoo.cli import main

    assert main(["skeleton_zoo", "export", "--model", "gast_99"]) != 0
    stderr = capfd.readouterr().err
    assert "Did you mean 'gast_9'?" in stderr and "gast_243" in stderr
    assert main(["skeleton_zoo", "export", "--format", "pb"]) != 0
    assert "saved_model|onnx|tflite|all" in capfd.readouterr().err


def test_command_line_exports_verifies_and_reports(tmp_path):
    result = _run("--model", "gast_9", "--option", "channels=16", "--format", "saved_model", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| saved_model | single_frame | gast_9/1 |" in result.stdout
    report = json.loads((tmp_path / "export_report.json").read_text())
    assert report["model"] == "gast_9"
    assert {(c["format"], c["variant"]) for c in report["checks"]} >= {("saved_model", "sequence"),
                                                                       ("saved_model", "single_frame")}
    assert all(c["ok"] and max(c["max_abs_diff"].values()) <= 1e-4 for c in report["checks"])
    result = _run("--model", "gast_9", "--option", "channels=16", "--format", "saved_model", "--out", str(tmp_path))
    assert result.returncode == 0 and (tmp_path / "gast_9" / "2").is_dir()


def test_command_line_all_formats_small_model(tmp_path):
    result = _run("--model", "gast_9_causal", "--option", "channels=16", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "export_report.json").read_text())
    formats = {(c["format"], c["variant"]) for c in report["checks"]}
    for fmt in ("keras", "saved_model", "onnx", "tflite"):
        assert {(fmt, "sequence"), (fmt, "single_frame")} <= formats
    assert all(c["ok"] for c in report["checks"])
    for name in ("gast_9_causal_sequence.onnx", "gast_9_causal_single_frame.tflite", "models.config"):
        assert (tmp_path / name).exists(), name


def test_failed_verification_names_the_output(monkeypatch, tmp_path):
    from export import onnx_export, verify
    from export.exporter import export_preset
    spec = common.build_specs("gast_9", channels=16, variants=("single_frame",))[0]
    wrong = lambda x: {"poses_3d": spec.keras_outputs(x)["poses_3d"] + 1e-3}  # noqa: E731
    check = verify.check_artifact(spec, "onnx", tmp_path, wrong, verify.FP32_TOLERANCE, measure_latency=False)
    assert not check.ok and check.failures == ["poses_3d"]

    real_run = onnx_export.run_onnx
    monkeypatch.setattr(onnx_export, "run_onnx", lambda session, x: {
        k: v + 1e-2 for k, v in real_run(session, x).items()})
    with pytest.raises(RuntimeError, match=r"onnx single_frame: output\(s\) \['poses_3d'\] differ from Keras by 0\.01"):
        export_preset("gast_9", ("onnx",), tmp_path, variants=("single_frame",), echo=lambda _: None, channels=16)
    assert json.loads((tmp_path / "export_report.json").read_text())["checks"][-1]["ok"] is False


def test_probabilities_of_an_ensemble_that_fuses_probabilities():
    """fusion="softmax" outputs summed stream probabilities; the exported
    `probabilities` are their mean, not a second softmax."""
    backbone = [[8, 8, 1], [8, 16, 2]]
    for fusion in ("softmax", "logits"):
        (spec,) = common.build_specs("st_tr_2s_joint", frames=12, fold_batch_norm=False, fusion=fusion,
                                     backbone=backbone, attention_from=16, num_heads=2, num_classes=7)
        x = spec.example_input()
        out = spec.keras_outputs(x)
        np.testing.assert_allclose(out["probabilities"].sum(-1), 1.0, rtol=1e-5)
        if fusion == "softmax":
            np.testing.assert_allclose(out["probabilities"], out["logits"] / 2, rtol=1e-6)
        else:
            e = np.exp(out["logits"] - out["logits"].max(-1, keepdims=True))
            np.testing.assert_allclose(out["probabilities"], e / e.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)
