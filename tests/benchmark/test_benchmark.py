"""`python -m skeleton_zoo benchmark`: the JSON report against its schema, the
FLOP counts (profiler Einsum statistic, analytic GAST-Net count), flag
errors, a failing backend, the jax rows (a KERAS_BACKEND=jax child process)
and a failing jax child, and `--device gpu` (no GPU here: its clean error,
and its backend selection with the GPU simulated). Tiny models only; no
timing assertions."""

import json
import math
import os
import pathlib
import subprocess
import sys

import jsonschema
import numpy as np
import pytest
import tensorflow as tf

import skeleton_zoo
from skeleton_zoo import benchmark
from skeleton_zoo.benchmark import measure
from skeleton_zoo.models.gast.flops import analytic_gast_flops

SCHEMA = json.loads((pathlib.Path(skeleton_zoo.__file__).parent / "data" / "benchmark.schema.json").read_text())
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
SMALL_STTR = {"backbone": [[16, 16, 1], [16, 32, 2]], "num_classes": 10, "attention_from": 32}  # one TSA block
GAST_MEASUREMENTS = ("sequence_throughput", "single_frame_latency")


def _run(*args, code=None):
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "skeleton_zoo.benchmark", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=ENV)


def _check_report(report, expected):
    """Schema-valid and consistent; `expected`: every (model, backend, measurement) measured."""
    jsonschema.validate(report, SCHEMA)
    found = {(r["model"], r["backend"], r["measurement"]) for r in report["results"]}
    assert found == set(expected)
    assert len(report["results"]) == len(found)
    for r in report["results"]:
        assert r["value"] > 0 and r["flops"] > 0 and r["flops_per_output"] > 0
        assert r["p50_ms"] <= r["p90_ms"]
        assert len(r["times_s"]) == (report["settings"]["latency_repeats"] if r["measurement"] == "single_frame_latency"
                                     else report["settings"]["repeats"])
        assert r["median_s"] == pytest.approx(np.median(r["times_s"]), rel=1e-9)
        assert r["gflops_per_s"] == pytest.approx(r["flops"] / r["median_s"] / 1e9, rel=1e-6)
        peak = report["machine"]["peak_gflops_per_s"]
        assert r["fraction_of_peak"] == (pytest.approx(r["gflops_per_s"] / peak, rel=1e-6) if peak else None)
        assert r["fraction_of_gemm"] == pytest.approx(r["gflops_per_s"] / report["machine"]["gemm"]["gflops_per_s"],
                                                      rel=1e-6)
        assert sum(r["flops_by_op"].values()) == r["flops"]
        if r["measurement"] == "training_throughput":
            assert r["backend"] in ("keras", "xla", "jax") and r["flops_method"] == "tf_profiler_training_step_graph"
        else:
            assert r["flops_method"] == "tf_profiler_frozen_forward"
        # Explicit overrides and quick sizes: never compared with the official numbers.
        assert r["official"] is None and r["speedup_vs_official"] is None
    # Every backend runs the same network: one FLOP count per measurement.
    for measurement in {r["measurement"] for r in report["results"]}:
        assert len({r["flops"] for r in report["results"] if r["measurement"] == measurement}) == 1
    assert report["fastest"] == benchmark.report.fastest_backends(report["results"])


def _check_jax_rows(report):
    """The jax rows: labelled jax, timed on the TF rows' input shapes."""
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    jax_rows = [r for r in report["results"] if r["backend"] == "jax"]
    assert jax_rows
    for r in jax_rows:
        assert r["value"] > 0 and min(r["times_s"]) > 0
        assert r["input_shape"] == rows["keras", r["measurement"]]["input_shape"]
    return {r["measurement"]: r for r in jax_rows}


def test_cli_gast_all_backends(tmp_path):
    out = tmp_path / "bench.json"
    result = _run("--models", "gast_9", "--option", "channels=16", "--quick", "--frames", "21", "--repeats", "2",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(out.read_text())
    _check_report(report, {("gast_9", b, m) for b in benchmark.BACKENDS for m in GAST_MEASUREMENTS})
    assert report["errors"] == []
    settings = report["settings"]
    cores = len(os.sched_getaffinity(0))
    assert settings["threads"] == {"tf_intra": cores, "tf_inter": 1, "jax": cores, "onnxruntime": cores,
                                   "tflite": cores}
    assert settings["device"] == "cpu" and report["machine"]["gpus"] is None
    assert (settings["quick"], settings["frames"], settings["warmup"], settings["options"]) == (True, 21, 1,
                                                                                                {"channels": 16})
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    sequence, single = rows["keras", "sequence_throughput"], rows["keras", "single_frame_latency"]
    assert sequence["input_shape"] == [1, 21 + 9 - 1, 17, 2] and single["input_shape"] == [1, 9, 17, 2]
    assert sequence["unit"] == "frames/s" and single["unit"] == "ms"
    assert sequence["flops_per_output"] == pytest.approx(sequence["flops"] / 21)
    assert single["flops_per_output"] == single["flops"] and single["value"] == single["p50_ms"]
    assert report["machine"]["gemm"]["size"] == 2048 and len(report["machine"]["gemm"]["times_s"]) == 5
    assert set(report["machine"]["versions"]) >= {"python", "tensorflow", "keras", "onnxruntime", "ai-edge-litert",
                                                  "tf2onnx", "numpy"}
    assert "| " + " | ".join(benchmark.TABLE_HEADER) + " |" in result.stdout
    assert "Machine:" in result.stdout and "Threads:" in result.stdout
    assert set(_check_jax_rows(report)) == set(GAST_MEASUREMENTS)
    assert sum("| gast_9 | jax |" in line for line in result.stdout.splitlines()) == 2
    assert {(f["model"], f["measurement"]) for f in report["fastest"]} == {("gast_9", m) for m in GAST_MEASUREMENTS}
    assert "Fastest inference backend:" in result.stdout


def test_action_recognition_inference_and_training(tmp_path, monkeypatch):
    # In-process: leave this pytest process's TensorFlow thread pools alone.
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: None)
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: None)
    out = tmp_path / "bench.json"
    backends = ["keras", "xla", "jax", "onnxruntime"]
    report = benchmark.run_benchmark(["st_tr_temporal_joint"], backends, quick=True, out=out, clip_frames=8,
                                     batch=1, repeats=2, overrides=SMALL_STTR, progress=False)
    expected = {("st_tr_temporal_joint", b, "inference_throughput") for b in backends}
    expected |= {("st_tr_temporal_joint", b, "training_throughput") for b in ("keras", "xla", "jax")}
    _check_report(report, expected)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["errors"] == []
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    inference, train = rows["keras", "inference_throughput"], rows["keras", "training_throughput"]
    assert inference["input_shape"] == [1, 8, 25, 2, 3] and inference["unit"] == "clips/s"
    # Forward + backward + update of a training step: about 3x the forward FLOPs.
    assert 2.5 < train["flops"] / inference["flops"] < 4
    # jax: a jitted stateless forward pass and a jitted training step, on the same input.
    jax_rows = _check_jax_rows(report)
    assert set(jax_rows) == {"inference_throughput", "training_throughput"}
    assert jax_rows["training_throughput"]["input_shape"] == train["input_shape"]
    table = benchmark.format_table(report)
    assert table.count("| st_tr_temporal_joint |") == 7 and table.count("| st_tr_temporal_joint | jax |") == 2


def test_analytic_gast_flops_match_the_profiler():
    # Input lengths whose dilated conv outputs are multiples of the dilation:
    # TensorFlow's SpaceToBatchND then computes no padded frames.
    for name, variant, frames in (("gast_9", "sequence", 35), ("gast_9", "single_frame", 9),
                                  ("gast_27_causal", "sequence", 53), ("gast_27", "single_frame", 27)):
        model = skeleton_zoo.load(name, channels=8 if name.startswith("gast_27") else 16, variant=variant)
        function = tf.function(lambda x, m=model: m(x, training=False), autograph=False,
                               input_signature=[tf.TensorSpec((1, frames, 17, 2), tf.float32)])
        counted = benchmark.count_flops(function.get_concrete_function())
        dense = sum(v for k, v in counted["by_op"].items() if k in benchmark.DENSE_OP_TYPES)
        assert counted["by_op"]["Einsum"] > 0  # the registered statistic counts the graph layers
        analytic = analytic_gast_flops(model, frames)
        assert dense == pytest.approx(analytic, rel=0.01), (name, variant)
        assert counted["total"] > dense  # plus the elementwise ops


def test_einsum_and_batch_matmul_flops():
    assert benchmark.einsum_flops("ij,jk->ik", [(2, 3), (3, 4)]) == 2 * 2 * 3 * 4
    assert benchmark.einsum_flops("cij,btjc->btic", [(16, 17, 17), (2, 5, 17, 16)]) == 2 * 16 * 17 * 17 * 2 * 5
    # Broadcast dims are extra subscripts, aligned right; 1 broadcasts.
    assert benchmark.einsum_flops("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 4)]) == 2 * 5 * 4 * 2 * 3 * 4
    assert benchmark.einsum_flops("ij->ji", [(3, 4)]) == 0 and benchmark.einsum_flops("ij->i", [(3, 4)]) == 12
    with pytest.raises(ValueError):
        benchmark.einsum_flops("ij,jk->ik", [(2, 3), (4, 4)])

    spec = [tf.TensorSpec((2, 3, 4), tf.float32), tf.TensorSpec((2, 4, 5), tf.float32)]
    einsum = tf.function(lambda a, b: tf.einsum("bij,bjk->bik", a, b), input_signature=spec)
    counted = benchmark.count_flops(einsum.get_concrete_function())
    assert counted["by_op"] == {"Einsum": 2 * 2 * 3 * 4 * 5} and counted["total"] == 240
    # BatchMatMul with adj_x (as in gradients): K is the second-last dim of a.
    spec = [tf.TensorSpec((2, 4, 3), tf.float32), tf.TensorSpec((2, 4, 5), tf.float32)]
    adjoint = tf.function(lambda a, b: tf.matmul(a, b, adjoint_a=True), input_signature=spec)
    assert benchmark.count_flops(adjoint.get_concrete_function())["total"] == 2 * 4 * (2 * 3 * 5)


@pytest.mark.parametrize("flag,value,names", [("--models", "gast_9,gast_99", ["gast_99", "gast_9", "st_tr_2s_joint"]),
                                              ("--backends", "keras,cuda", ["cuda", "onnxruntime"])])
def test_bad_flags_are_errors(flag, value, names, tmp_path):
    out = tmp_path / "bench.json"
    result = _run(flag, value, "--out", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {flag}:")
    for name in names:
        assert name in line
    assert not out.exists()


FAILING_ONNX = """
import sys
from export import onnx_export
from skeleton_zoo.cli import run_command

def fail(spec, path, opset=17):
    raise onnx_export.OnnxExportError(f"ONNX export of '{spec.name}': simulated failure")

onnx_export.export_onnx = fail
sys.argv = ["benchmark", *sys.argv[1:]]
sys.exit(run_command("benchmark"))
"""


def test_failing_backend_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "bench.json"
    result = _run("--models", "gast_9", "--backends", "onnxruntime,keras", "--option", "channels=16", "--quick",
                  "--frames", "9", "--repeats", "1", "--out", str(out), code=FAILING_ONNX)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(out.read_text())
    _check_report(report, {("gast_9", "keras", m) for m in GAST_MEASUREMENTS})
    assert {(e["model"], e["backend"], e["measurement"]) for e in report["errors"]} == {
        ("gast_9", "onnxruntime", m) for m in GAST_MEASUREMENTS}
    assert all("simulated failure" in e["error"] for e in report["errors"])
    error_rows = [line for line in result.stdout.splitlines() if "| error: export failed" in line]
    assert len(error_rows) == 2 and all("| onnxruntime |" in row for row in error_rows)
    assert math.isclose(report["machine"]["peak_gflops_per_s"], report["machine"]["cpu"]["peak_gflops_per_s"])


def _in_process(monkeypatch):
    """run_benchmark in this process: leave pytest's TensorFlow thread pools alone."""
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: None)
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: None)


@pytest.mark.parametrize("failure", ["bad option", "no worker"])
def test_failing_jax_child_is_recorded_and_the_run_goes_on(failure, tmp_path, monkeypatch):
    _in_process(monkeypatch)
    if failure == "bad option":  # an option only the jax process sees: its model does not build
        job = measure._jax_job
        monkeypatch.setattr(measure, "_jax_job", lambda *a: {**job(*a), "overrides": {"channels": 16, "bogus": 1}})
    else:  # the child process dies without writing its output
        monkeypatch.setattr(measure, "JAX_WORKER", "skeleton_zoo.benchmark._no_such_worker")
    out = tmp_path / "bench.json"
    report = benchmark.run_benchmark(["gast_9"], ["keras", "jax"], quick=True, out=out, frames=9, repeats=1,
                                     overrides={"channels": 16}, progress=False)
    _check_report(report, {("gast_9", "keras", m) for m in GAST_MEASUREMENTS})
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert {(e["model"], e["backend"], e["measurement"]) for e in report["errors"]} == {
        ("gast_9", "jax", m) for m in GAST_MEASUREMENTS}
    expected = "bogus" if failure == "bad option" else "No module named skeleton_zoo.benchmark._no_such_worker"
    assert all(expected in e["error"] for e in report["errors"]), report["errors"]
    table = benchmark.format_table(report)
    assert sum("| gast_9 | jax |" in line and "| error: " in line for line in table.splitlines()) == 2


def test_device_gpu_without_a_gpu_is_a_clean_error(tmp_path):
    out = tmp_path / "bench.json"
    result = _run("--device", "gpu", "--models", "gast_9", "--quick", "--out", str(out))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: --device gpu: TensorFlow sees no GPU")
    assert not out.exists()


def test_plan_backends():
    everything = list(benchmark.BACKENDS)
    assert measure.plan_backends("cpu", everything, []) == (everything, [])
    kept, notes = measure.plan_backends("gpu", everything, ["CPUExecutionProvider"], jax_gpu="no cuda")
    assert kept == ["keras", "xla"] and len(notes) == 3
    assert all(n.startswith("--device gpu: no ") for n in notes) and "no cuda" in notes[0]
    kept, _ = measure.plan_backends("gpu", everything, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert kept == ["keras", "xla", "jax", "onnxruntime"]


def test_device_gpu_path_with_a_simulated_gpu(tmp_path, monkeypatch):
    # TensorFlow places GPU:0 ops on the CPU here (soft placement): the GPU path runs end to end.
    _in_process(monkeypatch)
    gpu = {"device": "GPU:0", "name": "Simulated GPU", "compute_capability": "9.0", "memory_total_mib": 81559}
    monkeypatch.setattr(measure, "configure_device", lambda device: ([gpu], []) if device == "gpu" else (None, []))
    monkeypatch.setattr(measure, "_jax_gpu_devices", lambda: (None, "JAX's default backend is 'cpu'"))
    monkeypatch.setattr(measure, "_onnx_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(measure, "_GPU_GEMM_SIZE", 256)
    out = tmp_path / "bench.json"
    report = benchmark.run_benchmark(["gast_9"], ["keras", "jax", "onnxruntime", "tflite"], quick=True, out=out,
                                     frames=9, repeats=1, overrides={"channels": 16}, progress=False, device="gpu")
    _check_report(report, {("gast_9", "keras", m) for m in GAST_MEASUREMENTS})
    settings, machine = report["settings"], report["machine"]
    assert settings["device"] == "gpu" and settings["backends"] == ["keras"] and settings["gemm_size"] == 256
    assert machine["gpus"] == [gpu] and machine["gemm"]["device"] == "GPU:0"
    # No CPU peak against GPU numbers; the GEMM ceiling is the GPU's.
    assert machine["peak_gflops_per_s"] is None and machine["cpu"]["peak_gflops_per_s"] > 0
    assert all(r["fraction_of_peak"] is None and r["fraction_of_gemm"] > 0 for r in report["results"])
    assert sum(n.startswith("--device gpu: no ") for n in report["notes"]) == 3
    table = benchmark.format_table(report)
    assert "GPUs: GPU:0 Simulated GPU, 80 GiB, compute capability 9.0" in table and "device gpu" in table
