"""`python -m skeleton_zoo benchmark`: the JSON report against its schema, the
FLOP counts (profiler Einsum statistic, analytic GAST-Net count), flag
errors, a failing backend, the jax rows (a KERAS_BACKEND=jax child process)
and a failing jax child (and its weights: the TF rows'), `--device gpu` (no GPU
here: its clean error, and its backend selection with the GPU simulated), the
official backend (flag errors, an interpreter without torch, the same-run
comparison with a fake official child, the real child when
SKELETON_ZOO_OFFICIAL_PYTHON and SKELETON_ZOO_GAST_SOURCE / _VIDEOPOSE3D_SOURCE are set) and the
quantised backends. Tiny models only; no timing assertions."""

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
from skeleton_zoo.cli.common import run_command
from skeleton_zoo.models.gast.flops import analytic_gast_flops

SCHEMA = json.loads((pathlib.Path(skeleton_zoo.__file__).parent / "data" / "benchmark.schema.json").read_text())
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
SMALL_STTR = {"backbone": [[16, 16, 1], [16, 32, 2]], "num_classes": 10, "attention_from": 32}  # one TSA block
GAST_MEASUREMENTS = ("sequence_throughput", "single_frame_latency")


def _run(*args):
    return subprocess.run([sys.executable, "-m", "skeleton_zoo.benchmark", *args], capture_output=True, text=True,
                          timeout=600, env=ENV)


def _check_report(report, expected):
    """Schema-valid and consistent; `expected`: every (model, backend, measurement) measured."""
    jsonschema.validate(report, SCHEMA)
    found = {(r["model"], r["backend"], r["measurement"]) for r in report["results"]}
    assert found == set(expected)
    assert len(report["results"]) == len(found)
    for r in report["results"]:
        assert r["p50_ms"] <= r["p90_ms"]
        assert r["median_s"] == pytest.approx(np.median(r["times_s"]), rel=1e-9)
        if r["measurement"] == measure.MIX_MEASUREMENT:  # passes over 60 clips, no FLOP count
            assert r["value"] == pytest.approx(60 / r["median_s"], rel=1e-9) and r["input_shape"][0] == 60
            assert len(r["times_s"]) == min(3, report["settings"]["repeats"])
            assert r["flops"] is None and r["gflops_per_s"] is None and r["official"] is None
            continue
        assert r["value"] > 0 and r["flops"] > 0 and r["flops_per_output"] > 0
        rounds = len(r["rounds"]) if r["backend"] == "official" else 1  # official: before and after ours
        assert len(r["times_s"]) == rounds * (report["settings"]["latency_repeats"]
                                              if r["measurement"] == "single_frame_latency"
                                              else report["settings"]["repeats"])
        assert r["gflops_per_s"] == pytest.approx(r["flops"] / r["median_s"] / 1e9, rel=1e-6)
        peak = report["machine"]["peak_gflops_per_s"]
        assert r["fraction_of_peak"] == (pytest.approx(r["gflops_per_s"] / peak, rel=1e-6) if peak else None)
        assert r["fraction_of_gemm"] == pytest.approx(r["gflops_per_s"] / report["machine"]["gemm"]["gflops_per_s"],
                                                      rel=1e-6)
        assert sum(r["flops_by_op"].values()) == r["flops"]
        if r["measurement"] == "training_throughput":
            assert r["backend"] in ("keras", "xla", "jax", "official")
            assert r["flops_method"] == "tf_profiler_training_step_graph"
        else:
            assert r["flops_method"] == "tf_profiler_frozen_forward"
        # Explicit overrides and quick sizes: never compared with the official constants.
        if r["official_source"] != "same_run":
            assert r["official"] is None and r["speedup_vs_official"] is None and r["official_source"] is None
        assert (r["precision"] == "float32") == (r["accuracy"] is None)
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


# The official child, faked: fixed timings for every measurement of the job, 0.25 s per call (a latency:
# 0.004 s) in the first round, twice that in the second (the machine slowed down). Run as the worker script
# (argv: JOB OUT) or as the interpreter (argv: WORKER JOB OUT).
FAKE_OFFICIAL_WORKER = """
import json, sys
import numpy as np
job = json.load(open(sys.argv[-2]))
results = []
for m in job["measurements"]:
    n = job["latency_repeats"] if m == "single_frame_latency" else job["repeats"]
    t = (0.004 if m == "single_frame_latency" else 0.25) * (1 + job["round"])
    results.append({"measurement": m, "times_s": [t] * n, "input_shape": list(np.load(job["inputs"][m]).shape),
                    "parameters": 123})
json.dump({"versions": {"python": "3", "torch": "fake", "numpy": np.__version__}, "threads": job["threads"],
           "patches": ["fake patch"], "results": results, "errors": []}, open(sys.argv[-1], "w"))
"""


# One command for every backend: the defaults, the official one (its child faked) and the static int8 exports.
CLI_BACKENDS = (*benchmark.DEFAULT_BACKENDS, "official", "onnxruntime_int8", "tflite_int8")


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """(the finished command, its report) of one `python -m skeleton_zoo.benchmark` on gast_9 with every
    backend of `CLI_BACKENDS`; --official-python: a fake interpreter running `FAKE_OFFICIAL_WORKER`."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "fake_official.py").write_text(FAKE_OFFICIAL_WORKER)
    python = folder / "fake_official_python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{folder / "fake_official.py"}" "$@"\n')
    python.chmod(0o755)
    out = folder / "bench.json"
    result = _run("--models", "gast_9", "--option", "channels=16", "--quick", "--frames", "21", "--repeats", "2",
                  "--backends", ",".join(CLI_BACKENDS), "--official-python", str(python),
                  "--official-source", f"gast={folder}", "--out", str(out))
    return result, (json.loads(out.read_text()) if out.exists() else None)


def test_cli_gast_all_backends(cli_run):
    result, report = cli_run
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    _check_report(report, {("gast_9", b, m) for b in CLI_BACKENDS for m in GAST_MEASUREMENTS})
    assert report["errors"] == []
    settings = report["settings"]
    cores = len(os.sched_getaffinity(0))
    assert settings["threads"] == {"tf_intra": cores, "tf_inter": cores, "jax": cores, "onnxruntime": cores,
                                   "tflite": cores, "official": cores}
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
    # The official and quantised rows are never the fastest.
    assert {f["backend"] for f in report["fastest"]} <= set(benchmark.DEFAULT_BACKENDS)
    assert "Fastest inference backend:" in result.stdout


def test_cli_official_rows_are_the_same_run_comparison(cli_run):
    result, report = cli_run
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    official_sequence = rows["official", "sequence_throughput"]
    official_single = rows["official", "single_frame_latency"]
    # Two rounds, before and after ours: the value is of the pooled times, each round's kept.
    assert [r["value"] for r in official_sequence["rounds"]] == pytest.approx([21 / 0.25, 21 / 0.5])
    assert [r["value"] for r in official_single["rounds"]] == pytest.approx([4.0, 8.0])
    assert official_sequence["value"] == pytest.approx(21 / 0.375) and official_single["value"] == pytest.approx(6.0)
    assert official_sequence["times_s"] == [t for r in official_sequence["rounds"] for t in r["times_s"]]
    assert official_sequence["official_parameters"] == 123
    for (backend, measurement), ours in rows.items():
        official = rows["official", measurement]
        if backend == "official" or backend in benchmark.QUANTIZED_BACKENDS:
            assert ours["official"] is None and ours["official_source"] is None
            continue
        assert official["input_shape"] == ours["input_shape"]
        assert ours["official_source"] == "same_run" and ours["official"] == official["value"]
        expected = (official["value"] / ours["value"] if measurement == "single_frame_latency"
                    else ours["value"] / official["value"])
        assert ours["speedup_vs_official"] == pytest.approx(expected, rel=1e-12)
        rounds = [r["value"] for r in official["rounds"]]
        expected_range = sorted(official_value / ours["value"] if measurement == "single_frame_latency"
                                else ours["value"] / official_value for official_value in rounds)
        assert ours["speedup_range"] == pytest.approx(expected_range, rel=1e-12)
        assert expected_range[0] < ours["speedup_vs_official"] < expected_range[1]
    official = report["settings"]["official"]
    assert official["versions"]["torch"] == "fake" and official["python"].endswith("fake_official_python")
    assert list(official["sources"]) == ["gast"]
    assert any(n.startswith("official gast_9: patched in memory") and "fake patch" in n for n in report["notes"])
    assert "official PyTorch without a mark: the official rows of this run" in result.stdout
    assert "ran before and after our rows" in result.stdout
    assert "| gast_9 | official | float32 | sequence_throughput | 56.0 frames/s (84.0, 42.0) |" in result.stdout
    assert "†" not in result.stdout
    # A row compared with a reference constant is marked, with its footnote.
    constant = dict(rows["keras", "sequence_throughput"], official_source="reference_constant")
    table = benchmark.format_table(dict(report, results=[constant]))
    assert f"{constant['speedup_vs_official']:.2f}× †" in table and "† Not measured in this run" in table


def test_cli_quantized_rows_are_labelled(cli_run):
    from export.quantization import QUANTIZED_TOLERANCE

    result, report = cli_run
    quantized = [r for r in report["results"] if r["backend"] in benchmark.QUANTIZED_BACKENDS]
    assert len(quantized) == 4
    for r in quantized:
        _, mode, label = benchmark.QUANTIZED_BACKENDS[r["backend"]]
        accuracy = r["accuracy"]
        assert r["precision"] == label == "int8"
        # The exporter's own bound on the relative error; metres -> mm.
        assert 0 < accuracy["relative"] <= QUANTIZED_TOLERANCE[mode], (r["backend"], accuracy)
        assert accuracy["max_abs_error_mm"] == pytest.approx(1000 * accuracy["max_abs_diff"], rel=1e-9)
        assert 0 < accuracy["mean_joint_error_mm"] and accuracy["top1_agreement"] is None
    lines = result.stdout.splitlines()
    for backend in ("onnxruntime_int8", "tflite_int8"):
        assert sum(f"| gast_9 | {backend} | int8 (max " in line and " mm) |" in line for line in lines) == 2


def test_action_recognition_inference_and_training(tmp_path, monkeypatch):
    # In-process: leave this pytest process's TensorFlow thread pools alone.
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: None)
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: None)
    out = tmp_path / "bench.json"
    backends = ["keras", "xla", "jax", "onnxruntime"]
    report = benchmark.run_benchmark(["st_tr_temporal_joint"], [*backends, "skip_empty_persons"], quick=True,
                                     out=out, clip_frames=8, batch=4, repeats=2, overrides=SMALL_STTR,
                                     progress=False)
    expected = {("st_tr_temporal_joint", b, "inference_throughput") for b in backends}
    expected |= {("st_tr_temporal_joint", b, "training_throughput") for b in ("keras", "xla", "jax")}
    expected |= {("st_tr_temporal_joint", b, measure.MIX_MEASUREMENT) for b in ("keras", "skip_empty_persons")}
    _check_report(report, expected)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert report["errors"] == []
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    inference, train = rows["keras", "inference_throughput"], rows["keras", "training_throughput"]
    assert inference["input_shape"] == [4, 8, 25, 2, 3] and inference["unit"] == "clips/s"
    # The NTU-60 mix: 11 two-person clips of 60; the skipper runs 49 + 22 persons, the plain model 120.
    assert rows["skip_empty_persons", measure.MIX_MEASUREMENT]["input_shape"] == [60, 8, 25, 2, 3]
    (note,) = [n for n in report["notes"] if measure.MIX_MEASUREMENT in n]
    assert "ran 71 of 120 persons" in note
    assert float(note.rsplit("within ", 1)[1].split(" ")[0]) < 1e-4
    # Forward + backward + update of a training step: about 3x the forward FLOPs.
    assert 2.5 < train["flops"] / inference["flops"] < 4
    # jax: a jitted stateless forward pass and a jitted training step, on the same input.
    jax_rows = _check_jax_rows(report)
    assert set(jax_rows) == {"inference_throughput", "training_throughput"}
    assert jax_rows["training_throughput"]["input_shape"] == train["input_shape"]
    table = benchmark.format_table(report)
    assert table.count("| st_tr_temporal_joint |") == 9 and table.count("| st_tr_temporal_joint | jax |") == 2


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
def test_bad_flags_are_errors(flag, value, names, tmp_path, capsys):
    # The command in this process (flag errors come before TensorFlow is configured): no interpreter start-up.
    out = tmp_path / "bench.json"
    assert run_command("benchmark", ["benchmark", flag, value, "--out", str(out)]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: {flag}:")
    for name in names:
        assert name in line
    assert not out.exists()


def _in_process(monkeypatch):
    """run_benchmark in this process: leave pytest's TensorFlow thread pools alone."""
    monkeypatch.setattr(tf.config.threading, "set_intra_op_parallelism_threads", lambda n: None)
    monkeypatch.setattr(tf.config.threading, "set_inter_op_parallelism_threads", lambda n: None)


def test_failing_backend_is_recorded_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    from export import onnx_export

    def fail(spec, path, opset=17):
        raise onnx_export.OnnxExportError(f"ONNX export of '{spec.name}': simulated failure")

    # The command in this process, its ONNX export failing.
    _in_process(monkeypatch)
    monkeypatch.setattr(onnx_export, "export_onnx", fail)
    out = tmp_path / "bench.json"
    code = run_command("benchmark", ["benchmark", "--models", "gast_9", "--backends", "onnxruntime,keras", "--option",
                                     "channels=16", "--quick", "--frames", "9", "--repeats", "1", "--out", str(out)])
    stdout, stderr = capsys.readouterr()
    assert code == 1, stderr
    assert "Traceback" not in stderr
    report = json.loads(out.read_text())
    _check_report(report, {("gast_9", "keras", m) for m in GAST_MEASUREMENTS})
    assert {(e["model"], e["backend"], e["measurement"]) for e in report["errors"]} == {
        ("gast_9", "onnxruntime", m) for m in GAST_MEASUREMENTS}
    assert all("simulated failure" in e["error"] for e in report["errors"])
    error_rows = [line for line in stdout.splitlines() if "| error: export failed" in line]
    assert len(error_rows) == 2 and all("| onnxruntime |" in row for row in error_rows)
    assert math.isclose(report["machine"]["peak_gflops_per_s"], report["machine"]["cpu"]["peak_gflops_per_s"])


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


def test_jax_output_mismatch_is_an_error():
    from skeleton_zoo.benchmark._jax_worker import output_sums

    # The jax child's first output against the TF rows' model on the same input: the same weights pass.
    model = skeleton_zoo.load("gast_9", channels=16, variant="single_frame")
    x = (np.random.default_rng(0).standard_normal((1, 9, 17, 2)) * 0.5).astype(np.float32)
    jobs = [("single_frame_latency", type("Spec", (), {"model": model})(), x, 1, 1)]
    sums = output_sums(model(x, training=False).numpy())
    assert measure._jax_output_mismatch(jobs, "single_frame_latency", x, sums) is None
    assert measure._jax_output_mismatch(jobs, "training_throughput", x, None) is None
    other = skeleton_zoo.load("gast_9", channels=16, variant="single_frame")  # its own random weights
    mismatch = measure._jax_output_mismatch(jobs, "single_frame_latency", x,
                                            output_sums(other(x, training=False).numpy()))
    assert mismatch.startswith("the jax process's outputs differ from the TF rows'")
    assert mismatch.endswith("not the same network")


def test_device_gpu_without_a_gpu_is_a_clean_error(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert run_command("benchmark", ["benchmark", "--device", "gpu", "--models", "gast_9", "--quick", "--out",
                                     str(out)]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: --device gpu: TensorFlow sees no GPU")
    assert not out.exists()


def test_plan_backends():
    everything = list(benchmark.BACKENDS)
    assert measure.plan_backends("cpu", everything, []) == (everything, [])
    kept, notes = measure.plan_backends("gpu", everything, ["CPUExecutionProvider"], jax_gpu="no cuda")
    assert kept == ["keras", "xla", "skip_empty_persons"] and len(notes) == len(everything) - 3  # Keras on GPU:0
    assert all(n.startswith("--device gpu: no ") for n in notes) and "no cuda" in notes[0]
    # The official and quantised rows are CPU measurements, never the fastest, never compared.
    assert set(benchmark.report.UNCOMPARED_BACKENDS) == {"official", *benchmark.QUANTIZED_BACKENDS}
    assert {n.split()[3] for n in notes[3:]} == {"official", *benchmark.QUANTIZED_BACKENDS}
    kept, _ = measure.plan_backends("gpu", everything, ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert kept == ["keras", "xla", "jax", "onnxruntime", "skip_empty_persons"]


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


# The official backend --------------------------------------------------------------------------------------------

def test_official_flag_errors(tmp_path, capsys):
    # The command: one line naming the flag, exit 1, nothing written (--official-python: an alias).
    out = tmp_path / "bench.json"
    missing = tmp_path / "no_such_python"
    assert run_command("benchmark", ["benchmark", "--models", "gast_9", "--backends", "keras,official",
                                     "--official-python", str(missing), "--official_source", f"gast={tmp_path}",
                                     "--out", str(out)]) == 1
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert line == (f"error: --official_python: expected an executable Python interpreter with torch, found no "
                    f"such file ({missing}).")
    assert not out.exists()
    # The other checks in process: they run before anything is measured or written.
    not_executable = tmp_path / "python.txt"
    not_executable.write_text("")
    for kwargs, expected in (
            ({}, "--backends official: expected --official_python PATH (a Python interpreter with torch and numpy), "
                 "found none."),
            ({"official_python": str(missing)}, f"--official_python: expected an executable Python interpreter "
                                                f"with torch, found no such file ({missing})."),
            ({"official_python": str(not_executable)}, "found a file that is not executable"),
            ({"official_python": sys.executable, "official_sources": ["gast"]},
             "--official_source: expected NAME=DIR with NAME one of gast, st_tr, videopose3d, found 'gast'."),
            ({"official_python": sys.executable, "official_sources": [f"pyskl_x={tmp_path}"]}, "found 'pyskl_x="),
            ({"official_python": sys.executable, "official_sources": [f"gast={missing}"]},
             f"--official_source gast={missing}: expected a directory"),
            ({"official_python": sys.executable, "official_sources": [f"gast={tmp_path}", f"gast={tmp_path}"]},
             "expected each NAME once, found gast twice")):
        with pytest.raises(ValueError) as error:
            benchmark.run_benchmark(["gast_9"], ["keras", "official"], quick=True, out=out, progress=False, **kwargs)
        assert expected in str(error.value), str(error.value)
        assert not out.exists()


def _python_without_torch(tmp_path) -> str:
    """This interpreter when it lacks torch, else a wrapper that hides it."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return sys.executable
    wrapper = tmp_path / "python_without_torch"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -c \"import sys; sys.modules['torch'] = None; "
                       f"sys.argv = sys.argv[1:]; exec(open(sys.argv[0]).read(), {{'__name__': '__main__', "
                       f"'__file__': sys.argv[0]}})\" \"$@\"\n")
    wrapper.chmod(0o755)
    return str(wrapper)


def test_official_interpreter_without_torch_gives_error_rows(tmp_path, monkeypatch):
    _in_process(monkeypatch)
    out = tmp_path / "bench.json"
    python = _python_without_torch(tmp_path)
    report = benchmark.run_benchmark(["gast_9"], ["keras", "official"], quick=True, out=out, frames=9, repeats=1,
                                     overrides={"channels": 16}, progress=False, official_python=python,
                                     official_sources={"gast": str(tmp_path)})
    _check_report(report, {("gast_9", "keras", m) for m in GAST_MEASUREMENTS})
    assert {(e["model"], e["backend"], e["measurement"]) for e in report["errors"]} == {
        ("gast_9", "official", m) for m in GAST_MEASUREMENTS}
    assert all("cannot import torch" in e["error"] for e in report["errors"]), report["errors"]
    assert all(r["official"] is None and r["official_source"] is None for r in report["results"])
    assert report["settings"]["official"]["python"] == python
    assert report["settings"]["official"]["sources"]["gast"]["path"] == str(tmp_path.resolve())
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))




def test_official_second_round_failing_keeps_the_first(tmp_path, monkeypatch):
    """The official child fails after our rows: a note, and the comparison stays with the first round."""
    _in_process(monkeypatch)
    worker = tmp_path / "fake_official.py"
    worker.write_text("import json, sys\nif json.load(open(sys.argv[-2]))['round']:\n    sys.exit('slow day')\n"
                      + FAKE_OFFICIAL_WORKER)
    python = tmp_path / "fake_official_python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{worker}" "$@"\n')
    python.chmod(0o755)
    report = benchmark.run_benchmark(["gast_9"], ["keras", "official"], quick=True, frames=9, repeats=1,
                                     overrides={"channels": 16}, progress=False, official_python=str(python),
                                     official_sources={"gast": str(tmp_path)})
    _check_report(report, {("gast_9", b, m) for b in ("keras", "official") for m in GAST_MEASUREMENTS})
    assert report["errors"] == []
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    assert rows["official", "sequence_throughput"]["value"] == pytest.approx(9 / 0.25)
    assert len(rows["official", "sequence_throughput"]["rounds"]) == 1
    for measurement in GAST_MEASUREMENTS:
        ours = rows["keras", measurement]
        assert ours["official"] == rows["official", measurement]["value"] and "speedup_range" not in ours
        assert any(n.startswith(f"official gast_9 {measurement}: the second round") and "slow day" in n
                   for n in report["notes"]), report["notes"]


def test_official_worker_stubs_have_a_spec():
    """A module the official code imports but never uses is stubbed; torch's optimizers then ask
    importlib.util.find_spec for it, which raises on a module without a spec."""
    import importlib.util

    from skeleton_zoo.benchmark import _official_worker

    name = "skeleton_zoo_unimportable_stub"
    sys.modules.pop(name, None)
    try:
        assert _official_worker.stub(name, marker=1)
        assert importlib.util.find_spec(name).name == name and sys.modules[name].marker == 1
    finally:
        sys.modules.pop(name, None)
    assert not _official_worker.stub("json")  # importable: left alone


def test_official_for_prefers_the_same_run_row():
    ctx = measure._Context(report={}, out=None, progress=None, warmup=1, repeats=1, latency_repeats=1, threads={},
                           reference_ok=dict.fromkeys(benchmark.report.UNITS, True))
    constant = benchmark.OFFICIAL_REFERENCE["sequence_throughput"]["gast_27"]
    shape = (1, 1026, 17, 2)
    assert measure._official_for(ctx, "gast_27", "keras", "sequence_throughput", shape) == (constant,
                                                                                           "reference_constant")
    ctx.same_run["gast_27", "sequence_throughput"] = {"value": 1.5, "input_shape": list(shape)}
    assert measure._official_for(ctx, "gast_27", "keras", "sequence_throughput", shape) == (1.5, "same_run")
    # Another input shape: not the same measurement; the constant stays the fallback.
    assert measure._official_for(ctx, "gast_27", "keras", "sequence_throughput", (1, 300, 17, 2))[1] == (
        "reference_constant")
    for backend in ("official", "onnxruntime_int8", "tflite_int8"):
        assert measure._official_for(ctx, "gast_27", backend, "sequence_throughput", shape) == (None, None)
    ctx.reference_ok["sequence_throughput"] = False
    assert measure._official_for(ctx, "gast_81", "xla", "sequence_throughput", shape) == (None, None)
    # The presets the official child has no counterpart of are error rows, named.
    from skeleton_zoo.benchmark._official_worker import supported

    assert supported("gast_27_causal", "gast") is None and supported("st_tr_temporal_joint", "sttr") is None
    assert supported("videopose3d_243", "videopose3d") is None
    why = supported("st_tr_2s_joint", "sttr")
    assert "no official PyTorch counterpart of 'st_tr_2s_joint'" in why and "gast_*" in why and "videopose3d_*" in why


def test_official_family_builders_match_the_registry():
    """Each family's `official_benchmark.py` (loaded by path by the worker): a registered family, covering
    only its own presets, timing exactly what the benchmark measures for them on the official backend."""
    from skeleton_zoo import registry
    from skeleton_zoo.benchmark import _official_worker

    assert set(_official_worker.MODELS) == {"gast", "sttr", "videopose3d"}
    for family, module in _official_worker._FAMILIES.items():
        registry.get_family(family)
        covered = [name for name in registry.preset_names() if module.covers(name)]
        assert covered, family
        for name in covered:
            preset = registry.get_preset(name)
            assert preset.family == family and not preset.streams, name
            assert tuple(measure._measurements(preset, "official")) == module.MEASUREMENTS, name
        assert _official_worker.SOURCES[module.SOURCE] == module.SOURCE_HELP


# The lifters the official child builds, each run when SKELETON_ZOO_OFFICIAL_PYTHON (a Python with torch) and its
# checkout's variable are set: (preset, --official_source NAME, the checkout's variable).
REAL_OFFICIAL_LIFTERS = [("gast_9", "gast", "SKELETON_ZOO_GAST_SOURCE"),
                         ("videopose3d_27", "videopose3d", "SKELETON_ZOO_VIDEOPOSE3D_SOURCE")]


@pytest.mark.parametrize("name,source,variable", REAL_OFFICIAL_LIFTERS, ids=[n for n, _, _ in REAL_OFFICIAL_LIFTERS])
def test_official_real_child_on_a_lifter(name, source, variable, tmp_path, monkeypatch):
    if not (os.environ.get("SKELETON_ZOO_OFFICIAL_PYTHON") and os.environ.get(variable)):
        pytest.skip(f"needs SKELETON_ZOO_OFFICIAL_PYTHON (a Python with torch) and {variable} (a {source} checkout)")
    _in_process(monkeypatch)
    report = benchmark.run_benchmark([name], ["keras", "official"], quick=True, frames=9, repeats=1,
                                     overrides={"channels": 16}, progress=False, threads=1,
                                     official_python=os.environ["SKELETON_ZOO_OFFICIAL_PYTHON"],
                                     official_sources={source: os.environ[variable]})
    _check_report(report, {(name, b, m) for b in ("keras", "official") for m in GAST_MEASUREMENTS})
    assert report["errors"] == []
    assert report["settings"]["threads"]["official"] == report["settings"]["threads"]["tf_intra"]
    rows = {(r["backend"], r["measurement"]): r for r in report["results"]}
    keras = skeleton_zoo.load(name, channels=16)
    # The official model of the same configuration: the same number of trainable weights (BatchNorms unfolded).
    for measurement in GAST_MEASUREMENTS:
        assert rows["official", measurement]["official_parameters"] == sum(
            int(np.prod(w.shape)) for w in keras.trainable_weights)
        assert rows["keras", measurement]["official_source"] == "same_run"


# The quantised backends ----------------------------------------------------------------------------------------

def test_quantized_accuracy_of_a_classifier():
    import types

    logits = np.array([[2.0, 1.0, 0.0], [0.0, 1.0, 0.9], [0.5, 0.0, 0.0]], np.float32)
    spec = types.SimpleNamespace(task="action_recognition", output_names=("logits",), model=None,
                                 keras_outputs=lambda x: {"logits": x})
    shifted = logits + np.array([0.0, 0.0, 0.2], np.float32)  # flips the second clip's top-1 class
    accuracy = measure._quantized_accuracy(spec, lambda x: {"logits": shifted}, logits)
    assert accuracy["top1_agreement"] == pytest.approx(2 / 3)
    assert accuracy["max_logit_diff"] == pytest.approx(0.2) and accuracy["max_abs_diff"] == pytest.approx(0.2)
    assert accuracy["relative"] == pytest.approx(0.2 / 2.0)
    assert accuracy["max_abs_error_mm"] is None and accuracy["mean_joint_error_mm"] is None
    with pytest.raises(ValueError, match="no output logits"):
        measure._quantized_accuracy(spec, lambda x: {"probabilities": shifted}, logits)
