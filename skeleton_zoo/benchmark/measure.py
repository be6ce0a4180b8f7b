"""The timed runs of the benchmark: every backend on every measurement of
every preset, recorded as they finish (`run_benchmark`). See the package
documentation (`skeleton_zoo.benchmark`) for what is measured and how."""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import sys
import tempfile

import numpy as np

from skeleton_zoo.benchmark.flops import FLOPS_FORWARD, FLOPS_TRAINING, count_flops
from skeleton_zoo.benchmark.machine import configure_threads, gemm_ceiling, machine_info
from skeleton_zoo.benchmark.report import (
    LATENCY_MEASUREMENTS,
    OFFICIAL_REFERENCE,
    REFERENCE_SIZES,
    REFERENCE_THREADS,
    SCHEMA_VERSION,
    UNITS,
    jsonable,
    write_json,
)
from skeleton_zoo.utils.timing import time_calls

__all__ = ["BACKENDS", "DEFAULT_MODELS", "QUICK_MODELS", "TRAINING_BACKENDS", "run_benchmark"]

BACKENDS = ("keras", "xla", "onnxruntime", "tflite")
DEFAULT_MODELS = ("gast_27", "gast_81", "gast_243", "st_tr_spatial_joint", "st_tr_temporal_joint")
# --quick without --models: one model per family and stream, so that exports
# and XLA compilations (most of a run's time) fit in two minutes on 2 cores.
QUICK_MODELS = ("gast_27", "st_tr_spatial_joint", "st_tr_temporal_joint")
TRAINING_BACKENDS = ("keras", "xla")

# Sizes and repeats; explicit arguments override them.
_DEFAULTS = {
    False: {"frames": 1000, "clip_frames": 300, "batch": 4, "warmup": 2, "repeats": 10,
            "latency_repeats": 50, "gemm_size": 2048, "gemm_repeats": 10},
    # The GEMM stays 2048^2 (about 0.1 s a call): on a 2-core Zen 4 a 1024^2
    # tf.matmul reaches only half the 2048^2 rate, which is no ceiling.
    True: {"frames": 243, "clip_frames": 64, "batch": 4, "warmup": 1, "repeats": 3,
           "latency_repeats": 20, "gemm_size": 2048, "gemm_repeats": 5},
}


@dataclasses.dataclass
class _Context:
    report: dict
    out: str | None
    progress: object
    warmup: int
    repeats: int
    latency_repeats: int
    threads: dict
    reference_ok: dict  # measurement -> bool: sizes equal the official ones

    def save(self):
        if self.out:
            write_json(self.report, self.out)

    def error(self, model, backend, measurement, error):
        message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.report["errors"].append({"model": model, "backend": backend, "measurement": measurement,
                                      "error": message})
        self.save()

    @contextlib.contextmanager
    def step(self, description):
        self.progress.set_description(description)
        try:
            yield
        finally:
            self.progress.update(1)


def _result(ctx: _Context, model, backend, measurement, times, work, input_shape, flops, outputs):
    """Appends one result row. work: frames or clips per call (latency: 1)."""
    times = [float(t) for t in times]
    median = float(np.median(times))
    p50, p90 = (float(np.percentile(times, q)) * 1e3 for q in (50, 90))
    latency = measurement in LATENCY_MEASUREMENTS
    value = p50 if latency else work / median
    machine = ctx.report["machine"]
    gflops = flops["total"] / median / 1e9 if flops else None
    peak = machine.get("peak_gflops_per_s")
    gemm = (machine.get("gemm") or {}).get("gflops_per_s")
    official = OFFICIAL_REFERENCE.get(measurement, {}).get(model) if ctx.reference_ok[measurement] else None
    speedup = None
    if official:
        speedup = official / value if latency else value / official
    ctx.report["results"].append({
        "model": model, "backend": backend, "measurement": measurement, "unit": UNITS[measurement],
        "value": value, "median_s": median, "p50_ms": p50, "p90_ms": p90, "times_s": times,
        "input_shape": [int(d) for d in input_shape],
        "flops": flops["total"] if flops else None,
        "flops_per_output": flops["total"] / outputs if flops else None,
        "flops_method": flops["method"] if flops else None,
        "flops_by_op": flops["by_op"] if flops else None,
        "gflops_per_s": gflops,
        "fraction_of_peak": gflops / peak if gflops is not None and peak else None,
        "fraction_of_gemm": gflops / gemm if gflops is not None and gemm else None,
        "official": official, "speedup_vs_official": speedup,
    })
    ctx.save()


def _forward_function(model, shape, jit_compile):
    import tensorflow as tf

    return tf.function(lambda x: model(x, training=False), jit_compile=jit_compile, autograph=False,
                       input_signature=[tf.TensorSpec(shape, tf.float32)])


def _forward_flops(model, shape) -> dict:
    concrete = _forward_function(model, shape, False).get_concrete_function()
    return dict(count_flops(concrete, freeze=True), method=FLOPS_FORWARD)


def _flops_or_note(ctx, name, measurement, count):
    """count() -> flops dict; a failure leaves the FLOPs unknown (None) with a note."""
    try:
        return count()
    except Exception as error:  # noqa: BLE001
        ctx.report["notes"].append(f"{name} {measurement}: FLOPs not counted: {type(error).__name__}: {error}")
        return None


def _onnx_runner(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    return lambda x: session.run(None, {inp.name: x})


def _export(ctx, backend, spec, folder):
    """Exports `spec` for `backend` -> `run(x)` (numpy in, numpy out)."""
    if backend == "onnxruntime":
        from export import onnx_export

        path = onnx_export.export_onnx(spec, pathlib.Path(folder) / f"{spec.name}.onnx")
        return _onnx_runner(path, ctx.threads["onnxruntime"])
    from export import tflite_export

    path = tflite_export.export_tflite(spec, pathlib.Path(folder) / f"{spec.name}.tflite", quantize="none")
    return tflite_export.tflite_runner(path, ctx.threads["tflite"])


def _inference(ctx, name, jobs, backends, folder):
    """Times every backend on every job.

    Args:
        jobs: [(measurement, spec, x, work per call, outputs per call)]; the
            spec's input shape has the measured frames fixed.
    """
    flops = {}
    for backend in backends:
        runners = {}
        for measurement, spec, x, work, outputs in jobs:
            if backend in ("keras", "xla"):
                function = _forward_function(spec.model, x.shape, backend == "xla")
                runners[measurement] = lambda x, f=function: f(x).numpy()
                continue
            with ctx.step(f"{name} {backend}: export {spec.name}"):
                try:
                    runners[measurement] = _export(ctx, backend, spec, folder)
                except Exception as error:  # noqa: BLE001 (recorded, the run goes on)
                    runners[measurement] = error
        for measurement, spec, x, work, outputs in jobs:
            with ctx.step(f"{name} {backend}: {measurement}"):
                run = runners[measurement]
                if isinstance(run, Exception):
                    ctx.error(name, backend, measurement, f"export failed: {type(run).__name__}: {run}")
                    continue
                try:
                    repeats = ctx.latency_repeats if measurement in LATENCY_MEASUREMENTS else ctx.repeats
                    times = time_calls(run, x, ctx.warmup, repeats)
                except Exception as error:  # noqa: BLE001
                    ctx.error(name, backend, measurement, error)
                    continue
                if measurement not in flops:
                    flops[measurement] = _flops_or_note(ctx, name, measurement,
                                                        lambda: _forward_flops(spec.model, x.shape))
                _result(ctx, name, backend, measurement, times, work, x.shape, flops[measurement], outputs)
        runners.clear()


def _training(ctx, name, preset, backend, overrides, x):
    """Times one training step of the preset's recipe on a fresh model; appends the result."""
    import tensorflow as tf

    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.training import recipes

    task = get_task(preset.task)
    recipe = task.recipe(preset)
    model = registry.load(name, **overrides)
    optimizer = recipes.make_optimizer(recipe, recipe.learning_rate)
    optimizer.build(model.trainable_variables)
    loss_fn = task.loss()
    targets = task.random_targets(model, x.shape[0], np.random.default_rng(1))

    @tf.function(jit_compile=backend == "xla", autograph=False,
                 input_signature=[tf.TensorSpec(x.shape, tf.float32), tf.TensorSpec(targets.shape, targets.dtype)])
    def step(inputs, labels):
        with tf.GradientTape() as tape:
            loss = loss_fn(labels, model(inputs, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    times = time_calls(lambda x: step(x, targets).numpy(), x, ctx.warmup, ctx.repeats)
    flops = _flops_or_note(ctx, name, "training_throughput", lambda: dict(
        count_flops(step.get_concrete_function(), freeze=False), method=FLOPS_TRAINING))
    batch = x.shape[0]
    _result(ctx, name, backend, "training_throughput", times, batch, x.shape, flops, batch)


def _measurements(preset, backend) -> list[str]:
    """What is measured for a preset on a backend: its task's inference
    measurements, plus a training step on keras / xla for single models of
    tasks that train in the benchmark (ensembles train per stream)."""
    from skeleton_zoo.tasks import get_task

    task = get_task(preset.task)
    measurements = list(task.benchmark_measurements_for(preset))
    if task.benchmark_trains and not preset.streams and backend in TRAINING_BACKENDS:
        measurements.append("training_throughput")
    return measurements


def _planned_steps(preset, backends) -> int:
    """Progress steps: one per measurement, plus one export per spec on an exported backend."""
    from skeleton_zoo.tasks import get_task

    inference = len(get_task(preset.task).benchmark_measurements_for(preset))
    return sum(len(_measurements(preset, b)) + (inference if b not in ("keras", "xla") else 0) for b in backends)


def _build_specs_or_record(ctx, name, preset, backends, **kwargs):
    """`export.common.build_specs(name, **kwargs)`, or None after recording
    the failure for every planned measurement of the model."""
    from export import common

    try:
        return common.build_specs(name, **kwargs)
    except Exception as error:  # noqa: BLE001
        for backend in backends:
            for measurement in _measurements(preset, backend):
                ctx.error(name, backend, measurement, error)
        ctx.progress.update(_planned_steps(preset, backends))
        return None


def _benchmark_model(ctx, name, preset, backends, sizes, overrides):
    from skeleton_zoo.tasks import get_task

    task = get_task(preset.task)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="skeleton_zoo_bench_") as folder:
        specs = _build_specs_or_record(ctx, name, preset, backends, **task.benchmark_spec_options(sizes, preset),
                                       **overrides)
        if specs is None:
            return
        jobs = task.benchmark_jobs(specs, sizes, rng)
        _inference(ctx, name, jobs, backends, folder)
        if preset.streams and task.benchmark_trains and any(b in TRAINING_BACKENDS for b in backends):
            ctx.report["notes"].append(f"{name}: no training_throughput: ensemble presets are trained per "
                                       f"stream ({', '.join(preset.streams.values())}).")
        for backend in backends:
            if "training_throughput" not in _measurements(preset, backend):
                continue  # exported files are inference only
            with ctx.step(f"{name} {backend}: training_throughput"):
                try:
                    _training(ctx, name, preset, backend, overrides, jobs[0][2])
                except Exception as error:  # noqa: BLE001
                    ctx.error(name, backend, "training_throughput", error)


def _check_positive(label, value, minimum=1):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < minimum):
        raise ValueError(f"{label}: expected an integer >= {minimum}, found {value!r}.")


def _validate(models, backends):
    from skeleton_zoo.registry import get_preset

    if isinstance(models, str):
        models = [m for m in models.split(",") if m]
    if isinstance(backends, str):
        backends = [b for b in backends.split(",") if b]
    models, backends = list(models), list(backends)
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        found = ", ".join(f"'{b}'" for b in unknown) if unknown else "none"
        raise ValueError(f"--backends: unknown backend(s) {found}; expected a comma-separated subset of "
                         f"{', '.join(BACKENDS)}.")
    if not models:
        raise ValueError("--models: no model given.")
    presets = {}
    for name in models:
        try:
            presets[name] = get_preset(name)
        except ValueError as error:
            raise ValueError(f"--models: '{name}': {error}") from None
    return list(dict.fromkeys(models)), list(dict.fromkeys(backends)), presets


def run_benchmark(models=None, backends=BACKENDS, quick: bool = False, out=None, threads: int = 0,
                  repeats: int | None = None, frames: int | None = None, clip_frames: int | None = None,
                  batch: int | None = None, overrides: dict | None = None, progress: bool = True,
                  warmup: int | None = None) -> dict:
    """Measures `models` x `backends` on the CPU; returns the JSON report.

    Args:
        models: preset names (or a comma-separated string) of any task.
            Default `DEFAULT_MODELS` (quick: `QUICK_MODELS`).
        backends: subset of `BACKENDS` ("keras", "xla", "onnxruntime", "tflite").
        quick: smaller sizes and fewer repeats (see `_DEFAULTS`); explicit
            arguments override them.
        out: JSON file, rewritten atomically after every measurement (None: not written).
        threads: CPU threads of every runtime; 0 = every CPU of the process.
        repeats: timed calls per measurement (default: throughput and
            training 10, latency 50; quick 3 / 20). Given, it applies to all.
        frames: pose lifting: output frames of the sequence measurement
            (input frames + receptive field - 1). Default 1000 (quick 243).
        clip_frames: action recognition: frames T of each clip. Default 300 (quick 64).
        batch: action recognition: clips per call, input
            (batch, clip_frames, V, M, C). Default 4.
        overrides: preset options for `skeleton_zoo.load` / `build_specs`
            (e.g. {"channels": 16}), applied to every model.
        progress: show a progress bar on stderr.
        warmup: untimed calls before each measurement (>= 1). Default 2 (quick 1).

    Returns:
        The report: {"schema_version", "machine", "settings", "results",
        "errors", "notes"}, as described by
        `skeleton_zoo/data/benchmark.schema.json`. Times in seconds
        (`median_s`, `times_s`) and milliseconds (`p50_ms`, `p90_ms`).

    Raises:
        ValueError: an unknown model or backend, or a bad size; the message
            names the command-line flag.
    """
    models, backends, presets = _validate(models or (QUICK_MODELS if quick else DEFAULT_MODELS), backends)
    for label, value in (("--repeats", repeats), ("--frames", frames), ("--clip_frames", clip_frames),
                         ("--batch", batch), ("--warmup", warmup)):
        _check_positive(label, value)
    _check_positive("--threads", threads, minimum=0)
    overrides = dict(overrides or {})
    defaults = _DEFAULTS[bool(quick)]
    sizes = {"frames": frames or defaults["frames"], "clip_frames": clip_frames or defaults["clip_frames"],
             "batch": batch or defaults["batch"]}
    warmup = warmup or defaults["warmup"]
    latency_repeats = repeats or defaults["latency_repeats"]
    repeats = repeats or defaults["repeats"]

    thread_counts, notes = configure_threads(threads)
    if thread_counts["tf_intra"] != REFERENCE_THREADS:
        notes.append(f"The official PyTorch references were measured on {REFERENCE_THREADS} cores; this run "
                     f"used {thread_counts['tf_intra']} threads.")
    reference = not quick and not overrides
    reference_ok = {
        "sequence_throughput": reference and sizes["frames"] == REFERENCE_SIZES["frames"],
        "single_frame_latency": reference,
        "inference_throughput": reference and sizes["clip_frames"] == REFERENCE_SIZES["clip_frames"]
        and sizes["batch"] == REFERENCE_SIZES["batch"],
    }
    reference_ok["training_throughput"] = reference_ok["inference_throughput"]
    report = {
        "schema_version": SCHEMA_VERSION,
        "machine": machine_info(None),
        "settings": {"models": models, "backends": backends, "quick": bool(quick), "threads": thread_counts,
                     "repeats": repeats, "latency_repeats": latency_repeats, "warmup": warmup,
                     "frames": sizes["frames"], "clip_frames": sizes["clip_frames"], "batch": sizes["batch"],
                     "options": {k: jsonable(v) for k, v in overrides.items()},
                     "gemm_size": defaults["gemm_size"]},
        "results": [],
        "errors": [],
        "notes": notes,
    }
    from tqdm import tqdm

    total = 1 + sum(_planned_steps(p, backends) for p in presets.values())
    bar = tqdm(total=total, file=sys.stderr, disable=not progress, dynamic_ncols=True, leave=False)
    ctx = _Context(report, out, bar, warmup, repeats, latency_repeats, thread_counts, reference_ok)
    try:
        with ctx.step(f"GEMM ceiling ({defaults['gemm_size']}^2 matmul)"):
            try:
                report["machine"]["gemm"] = gemm_ceiling(defaults["gemm_size"], defaults["gemm_repeats"], warmup)
            except Exception as error:  # noqa: BLE001
                ctx.error("-", "keras", "gemm", error)
        ctx.save()
        for name in models:
            ctx.progress.set_description(f"{name}: building")
            _benchmark_model(ctx, name, presets[name], backends, sizes, overrides)
    finally:
        bar.close()
    ctx.save()
    return report
