"""The timed runs of the benchmark: every backend on every measurement of
every preset, recorded as they finish (`run_benchmark`). See the package
documentation (`skeleton_zoo.benchmark`) for what is measured and how."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from skeleton_zoo.benchmark.flops import FLOPS_FORWARD, FLOPS_TRAINING, count_flops
from skeleton_zoo.benchmark.machine import configure_device, configure_threads, gemm_ceiling, machine_info
from skeleton_zoo.benchmark.report import (
    LATENCY_MEASUREMENTS,
    OFFICIAL_REFERENCE,
    REFERENCE_SIZES,
    REFERENCE_THREADS,
    SCHEMA_VERSION,
    UNITS,
    fastest_backends,
    jsonable,
    write_json,
)
from skeleton_zoo.utils.timing import time_calls

__all__ = ["BACKENDS", "DEFAULT_BACKENDS", "DEFAULT_MODELS", "DEVICES", "MIX_MEASUREMENT", "NTU60_TWO_PERSON_CLASSES",
           "OFFICIAL_BACKEND", "QUANTIZED_BACKENDS", "QUICK_MODELS", "SKIP_EMPTY_BACKEND", "TRAINING_BACKENDS",
           "plan_backends", "run_benchmark"]

# Measured unless --backends says otherwise.
DEFAULT_BACKENDS = ("keras", "xla", "jax", "onnxruntime", "tflite")
# Opt-in: the official PyTorch code in a child process (--official_python), ...
OFFICIAL_BACKEND = "official"
# ... and the low-precision exports: backend -> (format, quantize mode, precision label).
QUANTIZED_BACKENDS = {
    "onnxruntime_int8": ("onnx", "int8", "int8"),
    "onnxruntime_dynamic_int8": ("onnx", "dynamic_int8", "int8 (dynamic)"),
    "tflite_int8": ("tflite", "int8", "int8"),
    "tflite_float16": ("tflite", "float16", "float16"),
}
# ... and action models on a realistic NTU-60 mix of one- and two-person clips, through
# `inference.empty_persons.EmptyPersonSkipper` (and the plain keras model on the same mix).
SKIP_EMPTY_BACKEND = "skip_empty_persons"
MIX_MEASUREMENT = "ntu60_mix_inference_throughput"
NTU60_TWO_PERSON_CLASSES = range(49, 60)  # A050-A060, the 11 mutual actions of NTU-60's 60 classes
_MIX_PASSES = 3  # timed passes over the 60-clip mix (at most --repeats)
BACKENDS = (*DEFAULT_BACKENDS, OFFICIAL_BACKEND, SKIP_EMPTY_BACKEND, *QUANTIZED_BACKENDS)
EXPORTED_BACKENDS = ("onnxruntime", "tflite", *QUANTIZED_BACKENDS)  # timed from the exported files
DEVICES = ("cpu", "gpu")
DEFAULT_MODELS = ("gast_27", "gast_81", "gast_243", "st_tr_spatial_joint", "st_tr_temporal_joint")
# --quick without --models: one model per family and stream, so that exports
# and XLA compilations (most of a run's time) fit in two minutes on 2 cores
# (without the jax rows: their process adds about a minute per model).
QUICK_MODELS = ("gast_27", "st_tr_spatial_joint", "st_tr_temporal_joint")
TRAINING_BACKENDS = ("keras", "xla", "jax", OFFICIAL_BACKEND)
# The jax rows' child process (`_jax_worker`): the Keras backend is fixed per process.
JAX_WORKER = "skeleton_zoo.benchmark._jax_worker"
# The official rows' child script, run by --official_python (`_official_worker`: stdlib, numpy, torch only).
OFFICIAL_WORKER = pathlib.Path(__file__).with_name("_official_worker.py")

# Sizes and repeats; explicit arguments override them.
_DEFAULTS = {
    False: {"frames": 1000, "clip_frames": 300, "batch": 4, "warmup": 2, "repeats": 10,
            "latency_repeats": 50, "gemm_size": 2048, "gemm_repeats": 10},
    # The GEMM stays 2048^2 (about 0.1 s a call): on a 2-core Zen 4 a 1024^2
    # tf.matmul reaches only half the 2048^2 rate, which is no ceiling.
    True: {"frames": 243, "clip_frames": 64, "batch": 4, "warmup": 1, "repeats": 3,
           "latency_repeats": 20, "gemm_size": 2048, "gemm_repeats": 5},
}
# A 2048^2 matmul takes well under a millisecond on a data-centre GPU, less
# than the call's own overhead: its ceiling is measured at 8192^2.
_GPU_GEMM_SIZE = 8192


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
    device: str = "cpu"
    onnx_providers: tuple = ("CPUExecutionProvider",)
    jax_cpus: list | None = None  # CPU ids of the jax child (None: every CPU of this process)
    official_python: str | None = None  # --official_python
    official_sources: dict = dataclasses.field(default_factory=dict)  # --official_source NAME -> DIR
    # (model, measurement) -> {"value", "input_shape"} of the official rows of this run
    same_run: dict = dataclasses.field(default_factory=dict)

    def save(self):
        self.report["fastest"] = fastest_backends(self.report["results"])
        if self.out:
            write_json(self.report, self.out)

    def device_scope(self):
        """TensorFlow's device of the timed keras / xla calls and training steps:
        GPU:0 for --device gpu; on the CPU TensorFlow's default (the GPUs are hidden)."""
        if self.device != "gpu":
            return contextlib.nullcontext()
        import tensorflow as tf

        return tf.device("/GPU:0")

    def error(self, model, backend, measurement, error):
        self.report["errors"].append({"model": model, "backend": backend, "measurement": measurement,
                                      "error": _error_message(error)})
        self.save()

    @contextlib.contextmanager
    def step(self, description):
        self.progress.set_description(description)
        try:
            yield
        finally:
            self.progress.update(1)


def _official_for(ctx: _Context, model, backend, measurement, input_shape) -> tuple:
    """The official figure a row is compared with -> (value or None, source or None).

    "same_run": the official row of this run (same model, measurement and
    input shape); else "reference_constant": `OFFICIAL_REFERENCE` at the
    reference sizes (`ctx.reference_ok`). Official and quantised rows are
    never compared."""
    if backend == OFFICIAL_BACKEND or backend in QUANTIZED_BACKENDS:
        return None, None
    same = ctx.same_run.get((model, measurement))
    if same and same["input_shape"] == [int(d) for d in input_shape]:
        return same["value"], "same_run"
    constant = OFFICIAL_REFERENCE.get(measurement, {}).get(model) if ctx.reference_ok.get(measurement) else None
    return (constant, "reference_constant") if constant else (None, None)


def _speedup(measurement, ours, official) -> float:
    """How many times faster `ours` is than `official` (a latency: lower is faster)."""
    return official / ours if measurement in LATENCY_MEASUREMENTS else ours / official


def _timing_fields(ctx: _Context, measurement, times, work, flops) -> dict:
    """A row's figures from its times (s): value (work / median, or the p50 in
    ms for a latency), median_s, p50_ms, p90_ms, times_s, and with `flops`
    (per call, or None) its GFLOP/s and fractions of the peak and the GEMM
    ceiling."""
    times = [float(t) for t in times]
    median = float(np.median(times))
    p50, p90 = (float(np.percentile(times, q)) * 1e3 for q in (50, 90))
    machine = ctx.report["machine"]
    gflops = flops / median / 1e9 if flops else None
    peak = machine.get("peak_gflops_per_s")
    gemm = (machine.get("gemm") or {}).get("gflops_per_s")
    return {"value": p50 if measurement in LATENCY_MEASUREMENTS else work / median, "median_s": median,
            "p50_ms": p50, "p90_ms": p90, "times_s": times, "gflops_per_s": gflops,
            "fraction_of_peak": gflops / peak if gflops is not None and peak else None,
            "fraction_of_gemm": gflops / gemm if gflops is not None and gemm else None}


def _result(ctx: _Context, model, backend, measurement, times, work, input_shape, flops, outputs,
            precision="float32", accuracy=None) -> dict:
    """Appends one result row and returns it. work: frames or clips per call (latency: 1).

    Args:
        precision: "float32", or the quantised backend's label ("int8", ...).
        accuracy: quantised rows: their accuracy cost against float32 (see
            `_quantized_accuracy`); None otherwise.
    """
    timing = _timing_fields(ctx, measurement, times, work, flops["total"] if flops else None)
    official, source = _official_for(ctx, model, backend, measurement, input_shape)
    speedup = _speedup(measurement, timing["value"], official) if official else None
    row = {
        "model": model, "backend": backend, "measurement": measurement, "unit": UNITS[measurement],
        **timing,
        "input_shape": [int(d) for d in input_shape],
        "flops": flops["total"] if flops else None,
        "flops_per_output": flops["total"] / outputs if flops else None,
        "flops_method": flops["method"] if flops else None,
        "flops_by_op": flops["by_op"] if flops else None,
        "official": official, "speedup_vs_official": speedup, "official_source": source,
        "precision": precision, "accuracy": accuracy,
    }
    ctx.report["results"].append(row)
    ctx.save()
    return row


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


def _onnx_runner(path, threads, providers=("CPUExecutionProvider",)):
    """`run(x)` -> {output name: array} of an ONNX file's session."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
    (inp,) = session.get_inputs()
    names = [o.name for o in session.get_outputs()]
    return lambda x: dict(zip(names, session.run(names, {inp.name: x})))


def _export(ctx, backend, spec, folder):
    """Exports `spec` for `backend` -> `run(x)` (numpy in, {output name: array} out).

    Quantised backends: `export_onnx_quantized` (ONNX Runtime's static QDQ
    int8, calibrated on `export.quantization.calibration_inputs` of the spec:
    seeded random inputs of the measured shape, or dynamic int8), or
    `export_tflite(quantize=...)` (full-integer int8, float16 weights)."""
    if backend in QUANTIZED_BACKENDS:
        fmt, mode, _ = QUANTIZED_BACKENDS[backend]
        if fmt == "onnx":
            from export import onnx_export

            path = onnx_export.export_onnx_quantized(spec, pathlib.Path(folder) / f"{spec.name}_{mode}.onnx",
                                                     mode=mode)
            return _onnx_runner(path, ctx.threads["onnxruntime"], ctx.onnx_providers)
        from export import tflite_export

        path = tflite_export.export_tflite(spec, pathlib.Path(folder) / f"{spec.name}_{mode}.tflite", quantize=mode)
        return tflite_export.tflite_runner(path, ctx.threads["tflite"])
    if backend == "onnxruntime":
        from export import onnx_export

        path = onnx_export.export_onnx(spec, pathlib.Path(folder) / f"{spec.name}.onnx")
        return _onnx_runner(path, ctx.threads["onnxruntime"], ctx.onnx_providers)
    from export import tflite_export

    path = tflite_export.export_tflite(spec, pathlib.Path(folder) / f"{spec.name}.tflite", quantize="none")
    return tflite_export.tflite_runner(path, ctx.threads["tflite"])


def _quantized_accuracy(spec, run, x) -> dict:
    """The accuracy cost of a quantised file against our float32 Keras model
    on the measured input `x` (one more call of each).

    Returns:
        {"max_abs_diff": largest |quantised - float32| over every output,
        "relative": the largest of max |diff| / max |float32| per output (the
        measure `export.quantization.QUANTIZED_TOLERANCE` bounds),
        "max_abs_error_mm", "mean_joint_error_mm": pose lifters in metres
        (`export.verify.accuracy`, largest over the outputs), else None,
        "top1_agreement", "max_logit_diff": classifiers, else None}.
    """
    from export import verify

    expected, got = spec.keras_outputs(x), run(x)
    missing = [name for name in spec.output_names if name not in got]
    if missing:
        raise ValueError(f"the quantised file has no output {', '.join(missing)} (found {sorted(got)})")
    diffs = {name: float(np.max(np.abs(np.asarray(got[name], np.float64) - expected[name])))
             for name in spec.output_names}
    relative = max(diffs[name] / max(float(np.max(np.abs(expected[name]))), 1e-12) for name in diffs)
    stated = verify.accuracy(spec, [(expected, got)])
    return {"max_abs_diff": max(diffs.values()), "relative": relative,
            "max_abs_error_mm": max(stated["max_abs_error_mm"].values()) if "max_abs_error_mm" in stated else None,
            "mean_joint_error_mm": (max(stated["mean_joint_error_mm"].values())
                                    if "mean_joint_error_mm" in stated else None),
            "top1_agreement": stated.get("top1_agreement"), "max_logit_diff": stated.get("max_logit_diff")}


def _inference(ctx, name, jobs, backends, folder, flops):
    """Times every backend (keras, xla and the exported ones) on every job.

    Args:
        jobs: [(measurement, spec, x, work per call, outputs per call)]; the
            spec's input shape has the measured frames fixed.
        flops: measurement -> FLOPs dict (or None), filled in as counted.
    """
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
                    with ctx.device_scope():  # keras / xla trace their tf.function in the first call
                        times = time_calls(run, x, ctx.warmup, repeats)
                except Exception as error:  # noqa: BLE001
                    ctx.error(name, backend, measurement, error)
                    continue
                precision, accuracy = "float32", None
                if backend in QUANTIZED_BACKENDS:
                    precision = QUANTIZED_BACKENDS[backend][2]
                    try:
                        accuracy = _quantized_accuracy(spec, run, x)
                    except Exception as error:  # noqa: BLE001 (a row without its accuracy is no row)
                        ctx.error(name, backend, measurement, f"accuracy against float32: {type(error).__name__}: "
                                                              f"{error}")
                        continue
                if measurement not in flops:
                    flops[measurement] = _flops_or_note(ctx, name, measurement,
                                                        lambda: _forward_flops(spec.model, x.shape))
                _result(ctx, name, backend, measurement, times, work, x.shape, flops[measurement], outputs,
                        precision, accuracy)
        runners.clear()


def _ntu60_mix(ctx, name, preset, jobs, backends):
    """`ntu60_mix_inference_throughput`: 60 clips of the measured shape, one
    per NTU-60 class, the 49 one-person classes' second person zero (as the
    NTU builders pad them), in batches of the measured batch size; timed as
    whole passes over the 60 clips (`_MIX_PASSES`, at most `repeats`, after
    one warm-up call per batch shape). `skip_empty_persons` runs them
    through an `EmptyPersonSkipper` (traced once), `keras` (when asked for)
    through the plain model's `tf.function`; value: 60 / median pass time
    (clips/s). No FLOP count (the skipper does less work than the network
    it answers for); the skipper's person counts and its largest logit
    difference from the plain model on the mix are in the notes."""
    import tensorflow as tf

    from skeleton_zoo.inference.empty_persons import EmptyPersonSkipper, supports

    if preset.task != "action_recognition":
        ctx.report["notes"].append(f"{name}: no {SKIP_EMPTY_BACKEND} rows: a {preset.task.replace('_', ' ')} "
                                   f"model has no person slots.")
        return
    (_, spec, x, _, _), = jobs
    model, batch = spec.model, x.shape[0]
    timed = [b for b in ("keras", SKIP_EMPTY_BACKEND) if b in backends]
    persons = x.shape[3]
    if not supports(model) or persons < 2:
        why = (f"it has {persons} person slot(s)" if persons < 2 else
               f"{type(model).__name__} has no person_stages()")
        for backend in timed:
            with ctx.step(f"{name} {backend}: {MIX_MEASUREMENT}"):
                ctx.error(name, backend, MIX_MEASUREMENT, f"no empty persons to skip: {why}")
        return
    clips = (np.random.default_rng(2).standard_normal((60, *x.shape[1:])) * 0.5).astype(np.float32)
    one_person = [c for c in range(60) if c not in NTU60_TWO_PERSON_CLASSES]
    clips[one_person, :, :, 1:] = 0
    batches = [clips[i:i + batch] for i in range(0, 60, batch)]
    warm = {b.shape: b for b in batches}.values()  # one call per batch shape
    with ctx.device_scope():
        skipper = EmptyPersonSkipper(model, compile=True)
        plain = tf.function(lambda a: model(a, training=False), autograph=False, reduce_retracing=True)
        runs = {"keras": lambda b: plain(b).numpy(), SKIP_EMPTY_BACKEND: skipper}
        skipped = np.concatenate([skipper(b) for b in batches])
        difference = float(np.abs(skipped - np.concatenate([runs["keras"](b) for b in batches])).max())
    computed = skipper.persons_computed - persons * len({b.shape[1] for b in batches})  # less the cache's
    ctx.report["notes"].append(
        f"{name} {MIX_MEASUREMENT}: 60 clips ({len(NTU60_TWO_PERSON_CLASSES)} two-person), batches of {batch}; "
        f"{SKIP_EMPTY_BACKEND} ran {computed} of {60 * persons} persons per pass (the empty ones from its "
        f"cache), its logits within {difference:.2g} of the plain model's.")
    passes = max(1, min(_MIX_PASSES, ctx.repeats))
    for backend in timed:
        with ctx.step(f"{name} {backend}: {MIX_MEASUREMENT}"):
            run = runs[backend]
            try:
                with ctx.device_scope():
                    for b in warm:
                        run(b)
                    times = []
                    for _ in range(passes):
                        start = time.perf_counter()
                        for b in batches:
                            run(b)
                        times.append(time.perf_counter() - start)
            except Exception as error:  # noqa: BLE001
                ctx.error(name, backend, MIX_MEASUREMENT, error)
                continue
            _result(ctx, name, backend, MIX_MEASUREMENT, times, 60, clips.shape, None, 60)


def _training_step(name, preset, backend, overrides, x):
    """One training step of the preset's recipe on a fresh model, as a
    `tf.function` (XLA-compiled for "xla") -> (step(inputs, labels), labels).

    Args:
        x: the input batch, e.g. (batch, clip_frames, V, M, C) float32.
    """
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

    return step, targets


def _training_flops(step) -> dict:
    return dict(count_flops(step.get_concrete_function(), freeze=False), method=FLOPS_TRAINING)


def _training(ctx, name, preset, backend, overrides, x, flops):
    """Times one training step of the preset's recipe on a fresh model; appends the result.

    Args:
        flops: measurement -> FLOPs dict; keras and xla run the same step graph, counted once.
    """
    with ctx.device_scope():  # the fresh model's variables and the step
        step, targets = _training_step(name, preset, backend, overrides, x)
        times = time_calls(lambda x: step(x, targets).numpy(), x, ctx.warmup, ctx.repeats)
    if "training_throughput" not in flops:
        flops["training_throughput"] = _flops_or_note(ctx, name, "training_throughput", lambda: _training_flops(step))
    batch = x.shape[0]
    _result(ctx, name, backend, "training_throughput", times, batch, x.shape, flops["training_throughput"], batch)


def _jax_missing() -> str | None:
    """Why the jax rows cannot run here, or None."""
    if importlib.util.find_spec("jax") is None:
        return "jax is not installed (pip install jax; for --device gpu: jax[cuda12])"
    return None


def _jax_env(device: str) -> dict:
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cuda" if device == "gpu" else "cpu")
    if device == "gpu":
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # TensorFlow's process holds GPU memory too
    return env


def _run_jax_worker(job: dict, folder, device: str) -> dict:
    """Runs `_jax_worker` on `job` in a child process -> its output dict.

    Raises:
        RuntimeError: the child wrote no output; the message has its exit
            status and the last line of its stderr (e.g. the exception).
    """
    folder = pathlib.Path(folder)
    job_path, out_path = folder / "jax_job.json", folder / "jax_out.json"
    out_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps(job))
    result = subprocess.run([sys.executable, "-m", JAX_WORKER, str(job_path), str(out_path)], env=_jax_env(device),
                            capture_output=True, text=True)
    if out_path.exists():
        return json.loads(out_path.read_text())
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    raise RuntimeError(f"the KERAS_BACKEND=jax child process exited with status {result.returncode}"
                       + (f": {lines[-1]}" if lines else " and no output"))


def _jax_job(ctx, name, measurements, sizes, overrides, inputs_path, weights=None) -> dict:
    """The `_jax_worker` job of one model (see its docstring).

    Args:
        weights: {measurement: .weights.h5 path} of the TF rows' models.
    """
    try:
        json.dumps(overrides)
    except TypeError:
        raise ValueError(f"--option: the jax rows need JSON values (they go to the KERAS_BACKEND=jax process); "
                         f"found {overrides!r}") from None
    inference = [m for m in measurements if m != "training_throughput"]
    return {"model": name, "overrides": overrides, "sizes": sizes, "measurements": inference,
            "train": "training_throughput" in measurements, "warmup": ctx.warmup, "repeats": ctx.repeats,
            "latency_repeats": ctx.latency_repeats, "cpus": ctx.jax_cpus, "inputs": str(inputs_path),
            "weights": weights or {}}


def _jax(ctx, name, preset, jobs, sizes, overrides, folder, flops):
    """The jax rows of one model: every measurement in one KERAS_BACKEND=jax
    child process (`_jax_worker`) on the same input arrays as the TF rows,
    with the TF FLOP counts (the same network).

    Args:
        jobs: the task's benchmark jobs (see `_inference`).
        flops: measurement -> FLOPs dict of the TF rows, completed here.
    """
    measurements = _measurements(preset, "jax")
    inputs = {measurement: x for measurement, _, x, _, _ in jobs}
    if "training_throughput" in measurements:
        inputs["training_throughput"] = jobs[0][2]  # as `_training`
    ctx.progress.set_description(f"{name} jax: KERAS_BACKEND=jax process")
    try:
        missing = _jax_missing()
        if missing:
            raise RuntimeError(missing)
        inputs_path = pathlib.Path(folder) / "jax_inputs.npz"
        np.savez(inputs_path, **inputs)
        weights = {}  # the TF rows' (folded) weights: the child runs the same network
        for measurement, spec, *_ in jobs:
            weights[measurement] = str(pathlib.Path(folder) / f"jax_{measurement}.weights.h5")
            spec.model.save_weights(weights[measurement])
        out = _run_jax_worker(_jax_job(ctx, name, measurements, sizes, overrides, inputs_path, weights), folder,
                              ctx.device)
    except Exception as error:  # noqa: BLE001 (recorded for every jax measurement, the run goes on)
        for measurement in measurements:
            with ctx.step(f"{name} jax: {measurement}"):
                ctx.error(name, "jax", measurement, error)
        return
    if out.get("cpus") and out["cpus"] != ctx.threads.get("jax"):
        ctx.report["notes"].append(f"jax: the child process ran on {out['cpus']} CPUs, not the "
                                   f"{ctx.threads.get('jax')} planned.")
        ctx.threads["jax"] = out["cpus"]
    rows, failures, work = _child_results(out, jobs)
    for measurement in measurements:
        with ctx.step(f"{name} jax: {measurement}"):
            row, x = rows.get(measurement), inputs[measurement]
            if row is None:
                ctx.error(name, "jax", measurement, failures.get(measurement, "no result from the jax process"))
                continue
            if tuple(row["input_shape"]) != x.shape:
                ctx.error(name, "jax", measurement, f"the jax process timed input {row['input_shape']}, expected "
                                                    f"the TF rows' {list(x.shape)}")
                continue
            mismatch = _jax_output_mismatch(jobs, measurement, x, row.get("output_sums"), ctx.device)
            if mismatch:
                ctx.error(name, "jax", measurement, mismatch)
                continue
            _child_flops(ctx, name, preset, jobs, overrides, measurement, x, flops)
            batch = x.shape[0]
            work_done, outputs = (batch, batch) if measurement == "training_throughput" else work[measurement]
            _result(ctx, name, "jax", measurement, row["times_s"], work_done, x.shape, flops[measurement], outputs)


def _jax_output_mismatch(jobs, measurement, x, sums, device="cpu") -> str | None:
    """Whether the jax child ran the TF rows' network: its first output's
    [sum, sum of |values|] against the Keras model's on the same input
    (float32 rounding: within 1e-3 of the sum of |values|; 1e-2 on a GPU,
    whose float32 matmuls may run in TF32) -> why not, or None."""
    if sums is None:  # training: a fresh model on both sides
        return None
    from skeleton_zoo.benchmark._jax_worker import output_sums

    spec = next(s for m, s, *_ in jobs if m == measurement)
    expected = output_sums(spec.model(x, training=False))  # the model's own outputs, as the child's
    bound = (1e-2 if device == "gpu" else 1e-3) * max(expected[1], 1e-12)
    if abs(sums[0] - expected[0]) <= bound:
        return None
    return (f"the jax process's outputs differ from the TF rows' (sum {sums[0]:.6g}, expected {expected[0]:.6g} "
            f"within {bound:.2g}): not the same network")


def _child_flops(ctx, name, preset, jobs, overrides, measurement, x, flops) -> None:
    """The TF FLOP count of `measurement` for a child process's row (jax,
    official: the same network), counted here unless a TF row did."""
    if measurement in flops:
        return
    if measurement == "training_throughput":
        count = lambda: _training_flops(_training_step(name, preset, "keras", overrides, x)[0])  # noqa: E731
    else:
        spec = next(s for m, s, *_ in jobs if m == measurement)
        count = lambda: _forward_flops(spec.model, x.shape)  # noqa: E731
    flops[measurement] = _flops_or_note(ctx, name, measurement, count)


def _source_commit(folder) -> str | None:
    """The checked-out commit of an official repository (None: not a git checkout, or no git)."""
    try:
        result = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _child_results(out: dict, jobs) -> tuple:
    """A child process's OUT.json (jax or official) -> ({measurement: its
    result row}, {measurement: its error}, {measurement: (work, outputs) of
    the parent's job})."""
    rows = {r["measurement"]: r for r in out["results"]}
    failures = {e["measurement"]: e["error"] for e in out["errors"]}
    return rows, failures, {measurement: (w, o) for measurement, _, _, w, o in jobs}


def _run_official_worker(job: dict, folder, python: str) -> dict:
    """Runs `OFFICIAL_WORKER` on `job` with the interpreter `python` -> its output dict.

    Raises:
        RuntimeError: the child wrote no output; the message has its exit
            status and the last line of its stderr.
    """
    folder = pathlib.Path(folder)
    job_path, out_path = folder / "official_job.json", folder / "official_out.json"
    out_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps(job))
    try:
        result = subprocess.run([python, str(OFFICIAL_WORKER), str(job_path), str(out_path)], capture_output=True,
                                text=True)
    except OSError as error:
        raise RuntimeError(f"--official_python {python}: cannot run it: {error}") from None
    if out_path.exists():
        return json.loads(out_path.read_text())
    lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
    raise RuntimeError(f"the official child process ({python}) exited with status {result.returncode}"
                       + (f": {lines[-1]}" if lines else " and no output"))


def _official(ctx, name, preset, jobs, overrides, folder, flops, round_index=0):
    """One round of the official rows of a model: the official PyTorch code,
    timed by `_official_worker` under --official_python on the same input
    arrays as the TF rows, at the same threads.

    Round 0 runs before our rows and records the official rows (and
    `ctx.same_run`, which our rows are compared with as they are recorded).
    Round 1 runs after them (`_benchmark_model`): the machine's speed drifts
    over minutes, so the official figure brackets ours. Its times are pooled
    with round 0's (`_pool_official_round`): the official row's value is the
    median of both, `rounds` keeps each round's, and our rows' `official` /
    `speedup_vs_official` are recomputed, with `speedup_range` (against the
    faster and the slower round).

    Args:
        jobs: the task's benchmark jobs (see `_inference`).
        flops: measurement -> FLOPs dict of the TF rows (the same
            architecture), completed here.
        round_index: 0 (before our rows) or 1 (after them).
    """
    from skeleton_zoo.benchmark import _official_worker

    measurements = _measurements(preset, OFFICIAL_BACKEND)
    inputs = {measurement: x for measurement, _, x, _, _ in jobs}
    if "training_throughput" in measurements:
        inputs["training_throughput"] = jobs[0][2]  # as `_training`
    recorded = {r["measurement"]: r for r in ctx.report["results"]
                if r["model"] == name and r["backend"] == OFFICIAL_BACKEND}
    if round_index:  # a failed first round is not repeated
        ctx.progress.update(sum(m not in recorded for m in measurements))
        measurements = [m for m in measurements if m in recorded]
        if not measurements:
            return
    ctx.progress.set_description(f"{name} official: PyTorch process" + (" (again)" if round_index else ""))
    try:
        why = _official_worker.supported(name, preset.family)
        if why:
            raise RuntimeError(why)
        paths = {}
        for measurement in measurements:
            paths[measurement] = str(pathlib.Path(folder) / f"official_{measurement}.npy")
            np.save(paths[measurement], inputs[measurement])
        config = {k: jsonable(v) for k, v in {**preset.config, **overrides}.items()}
        job = {"model": name, "family": preset.family, "config": config,
               "overrides": {k: jsonable(v) for k, v in overrides.items()},
               "num_classes": overrides.get("num_classes", getattr(preset, "num_classes", None)),
               "sources": {k: str(v) for k, v in ctx.official_sources.items()}, "measurements": measurements,
               "warmup": ctx.warmup, "repeats": ctx.repeats, "latency_repeats": ctx.latency_repeats,
               "threads": ctx.threads["tf_intra"], "inputs": paths, "round": round_index}
        out = _run_official_worker(job, folder, ctx.official_python)
    except Exception as error:  # noqa: BLE001 (recorded for every official measurement, the run goes on)
        for measurement in measurements:
            with ctx.step(f"{name} official: {measurement}"):
                if round_index:
                    _official_round_failed(ctx, name, measurement, error)
                else:
                    ctx.error(name, OFFICIAL_BACKEND, measurement, error)
        return
    settings = ctx.report["settings"]["official"]
    settings["versions"] = out.get("versions")
    if out.get("threads"):
        ctx.threads["official"] = out["threads"]
    if out.get("patches") and not round_index:
        ctx.report["notes"].append(f"official {name}: patched in memory (the checkout is untouched): "
                                   + "; ".join(out["patches"]) + ".")
    rows, failures, work = _child_results(out, jobs)
    for measurement in measurements:
        with ctx.step(f"{name} official: {measurement}"):
            row, x = rows.get(measurement), inputs[measurement]
            why = None
            if row is None:
                why = failures.get(measurement, "no result from the official process")
            elif tuple(row["input_shape"]) != x.shape:
                why = f"the official process timed input {row['input_shape']}, expected {list(x.shape)}"
            if why and round_index:
                _official_round_failed(ctx, name, measurement, why)
            elif why:
                ctx.error(name, OFFICIAL_BACKEND, measurement, why)
            elif round_index:
                _pool_official_round(ctx, recorded[measurement], row["times_s"])
            else:
                _child_flops(ctx, name, preset, jobs, overrides, measurement, x, flops)
                batch = x.shape[0]
                work_done, outputs = (batch, batch) if measurement == "training_throughput" else work[measurement]
                result = _result(ctx, name, OFFICIAL_BACKEND, measurement, row["times_s"], work_done, x.shape,
                                 flops[measurement], outputs)
                result["official_parameters"] = row.get("parameters")
                result["rounds"] = [{"value": result["value"], "times_s": result["times_s"]}]
                ctx.save()
                ctx.same_run[name, measurement] = {"value": result["value"], "input_shape": result["input_shape"]}


def _error_message(error) -> str:
    return error if isinstance(error, str) else f"{type(error).__name__}: {error}"


def _official_round_failed(ctx, name, measurement, error):
    ctx.report["notes"].append(f"official {name} {measurement}: the second round (after our rows) failed, so the "
                               f"comparison is with the first round only: {_error_message(error)}")
    ctx.save()


def _pool_official_round(ctx, official_row, times):
    """Adds a second round's `times` to an official row (value, median, p50 /
    p90, GFLOP/s: of the pooled times) and recomputes the comparison of this
    run's rows of the same model and measurement with it."""
    measurement, flops = official_row["measurement"], official_row["flops"]
    work = official_row["value"] * official_row["median_s"]  # clips or frames per call (throughput)
    this_round = _timing_fields(ctx, measurement, times, work, flops)
    official_row["rounds"].append({"value": this_round["value"], "times_s": this_round["times_s"]})
    official_row.update(_timing_fields(ctx, measurement, [t for r in official_row["rounds"] for t in r["times_s"]],
                                       work, flops))
    model = official_row["model"]
    ctx.same_run[model, measurement]["value"] = official_row["value"]
    values = [r["value"] for r in official_row["rounds"]]
    for row in ctx.report["results"]:
        if (row["model"], row["measurement"], row["official_source"]) == (model, measurement, "same_run"):
            row["official"] = official_row["value"]
            row["speedup_vs_official"] = _speedup(measurement, row["value"], official_row["value"])
            row["speedup_range"] = sorted(_speedup(measurement, row["value"], v) for v in values)
    ctx.save()


def _measurements(preset, backend) -> list[str]:
    """What is measured for a preset on a backend: its task's inference
    measurements, plus a training step on keras / xla / jax for single models
    of tasks that train in the benchmark (ensembles train per stream)."""
    from skeleton_zoo.tasks import get_task

    task = get_task(preset.task)
    if backend == SKIP_EMPTY_BACKEND:
        return [MIX_MEASUREMENT] if preset.task == "action_recognition" else []
    measurements = list(task.benchmark_measurements_for(preset))
    if task.benchmark_trains and not preset.streams and backend in TRAINING_BACKENDS:
        measurements.append("training_throughput")
    return measurements


def _planned_steps(preset, backends) -> int:
    """Progress steps: one per measurement, plus one export per spec on an exported backend."""
    from skeleton_zoo.tasks import get_task

    inference = len(get_task(preset.task).benchmark_measurements_for(preset))
    mix = SKIP_EMPTY_BACKEND in backends and "keras" in backends and preset.task == "action_recognition"
    official = len(_measurements(preset, OFFICIAL_BACKEND)) if OFFICIAL_BACKEND in backends else 0  # 2nd round
    return int(mix) + official + sum(len(_measurements(preset, b)) + (inference if b in EXPORTED_BACKENDS else 0)
                                     for b in backends)


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
        flops = {}
        if OFFICIAL_BACKEND in backends:  # first: the other rows are compared with it as they are recorded
            _official(ctx, name, preset, jobs, overrides, folder, flops)
        _inference(ctx, name, jobs, [b for b in backends if b not in ("jax", OFFICIAL_BACKEND, SKIP_EMPTY_BACKEND)],
                   folder, flops)
        if SKIP_EMPTY_BACKEND in backends:
            _ntu60_mix(ctx, name, preset, jobs, backends)
        if preset.streams and task.benchmark_trains and any(b in TRAINING_BACKENDS for b in backends):
            ctx.report["notes"].append(f"{name}: no training_throughput: ensemble presets are trained per "
                                       f"stream ({', '.join(preset.streams.values())}).")
        for backend in backends:
            if backend in ("jax", OFFICIAL_BACKEND) or "training_throughput" not in _measurements(preset, backend):
                continue  # exported files are inference only; jax and official run in their own processes
            with ctx.step(f"{name} {backend}: training_throughput"):
                try:
                    _training(ctx, name, preset, backend, overrides, jobs[0][2], flops)
                except Exception as error:  # noqa: BLE001
                    ctx.error(name, backend, "training_throughput", error)
        if "jax" in backends:
            _jax(ctx, name, preset, jobs, sizes, overrides, folder, flops)
        if OFFICIAL_BACKEND in backends:  # again: the official figure brackets ours in time
            _official(ctx, name, preset, jobs, overrides, folder, flops, round_index=1)


def _check_positive(label, value, minimum=1):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < minimum):
        raise ValueError(f"{label}: expected an integer >= {minimum}, found {value!r}.")


def _validate(models, backends, device):
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
    if device not in DEVICES:
        raise ValueError(f"--device: expected one of {', '.join(DEVICES)}, found {device!r}.")
    if not models:
        raise ValueError("--models: no model given.")
    presets = {}
    for name in models:
        try:
            presets[name] = get_preset(name)
        except ValueError as error:
            raise ValueError(f"--models: '{name}': {error}") from None
    return list(dict.fromkeys(models)), list(dict.fromkeys(backends)), presets


def _validate_official(backends, python, sources) -> tuple[str | None, dict]:
    """--official_python and --official_source -> (interpreter, {NAME: DIR}).

    Raises:
        ValueError: the official backend without an interpreter, an
            interpreter that is not an executable file, or a source that is
            not NAME=DIR with a known NAME and an existing directory.
    """
    from skeleton_zoo.benchmark._official_worker import SOURCES

    names = ", ".join(SOURCES)
    if isinstance(sources, dict):
        sources = [f"{k}={v}" for k, v in sources.items()]
    parsed = {}
    for item in [sources] if isinstance(sources, str) else list(sources or ()):
        name, equals, folder = str(item).partition("=")
        if not equals or name not in SOURCES or not folder:
            raise ValueError(f"--official_source: expected NAME=DIR with NAME one of {names}, found {item!r}.")
        if name in parsed:
            raise ValueError(f"--official_source: expected each NAME once, found {name} twice "
                             f"({parsed[name]}, {folder}).")
        path = pathlib.Path(folder).expanduser()
        if not path.is_dir():
            raise ValueError(f"--official_source {name}={folder}: expected a directory ({SOURCES[name]}), found "
                             + ("a file" if path.exists() else "no such directory") + ".")
        parsed[name] = str(path.resolve())
    if OFFICIAL_BACKEND in backends and not python:
        raise ValueError("--backends official: expected --official_python PATH (a Python interpreter with torch and "
                         "numpy), found none.")
    if python:
        path = pathlib.Path(python).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            found = "a directory" if path.is_dir() else ("a file that is not executable" if path.exists()
                                                         else "no such file")
            raise ValueError(f"--official_python: expected an executable Python interpreter with torch, found "
                             f"{found} ({python}).")
        python = str(path)
    return python, parsed


def _onnx_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def _jax_gpu_devices() -> tuple[list | None, str]:
    """The GPUs JAX sees in a KERAS_BACKEND=jax child -> (devices or None, why not)."""
    missing = _jax_missing()
    if missing:
        return None, missing
    with tempfile.TemporaryDirectory(prefix="skeleton_zoo_bench_") as folder:
        try:
            out = _run_jax_worker({"probe": True}, folder, "gpu")
        except RuntimeError as error:
            return None, str(error)
    if out["backend"] != "gpu":
        return None, f"JAX's default backend is '{out['backend']}' (devices {out['devices']})"
    return out["devices"], ""


def plan_backends(device: str, backends, onnx_providers, jax_gpu: str | None = None) -> tuple[list, list]:
    """The backends that run on `device` -> (backends, notes on those left out).

    On the CPU every backend runs. On a GPU: keras and xla (TensorFlow's
    GPU:0); jax when its child process sees a GPU; onnxruntime only with its
    CUDAExecutionProvider; tflite never (LiteRT has no CUDA execution); the
    quantised and official rows never (CPU measurements).

    Args:
        device: "cpu" or "gpu".
        backends: the requested subset of `BACKENDS`.
        onnx_providers: `onnxruntime.get_available_providers()`.
        jax_gpu: gpu only: None when JAX sees a GPU, else why it does not.
    """
    if device == "cpu":
        return list(backends), []
    kept, notes = [], []
    for backend in backends:
        if backend == "jax" and jax_gpu is not None:
            notes.append(f"--device gpu: no jax rows: JAX sees no GPU ({jax_gpu}).")
        elif backend == "onnxruntime" and "CUDAExecutionProvider" not in onnx_providers:
            notes.append(f"--device gpu: no onnxruntime rows: its CUDAExecutionProvider is not available "
                         f"(providers {list(onnx_providers)}; pip install onnxruntime-gpu).")
        elif backend == "tflite":
            notes.append("--device gpu: no tflite rows: LiteRT runs on the CPU (its GPU delegates are for "
                         "mobile GPUs, not CUDA).")
        elif backend == OFFICIAL_BACKEND or backend in QUANTIZED_BACKENDS:
            notes.append(f"--device gpu: no {backend} rows: they are CPU measurements.")
        else:
            kept.append(backend)
    return kept, notes


def run_benchmark(models=None, backends=DEFAULT_BACKENDS, quick: bool = False, out=None, threads: int = 0,
                  repeats: int | None = None, frames: int | None = None, clip_frames: int | None = None,
                  batch: int | None = None, overrides: dict | None = None, progress: bool = True,
                  warmup: int | None = None, device: str = "cpu", official_python: str | None = None,
                  official_sources=None) -> dict:
    """Measures `models` x `backends` on the CPU (or a GPU); returns the JSON report.

    Args:
        models: preset names (or a comma-separated string) of any task.
            Default `DEFAULT_MODELS` (quick: `QUICK_MODELS`).
        backends: subset of `BACKENDS` (default `DEFAULT_BACKENDS`: "keras",
            "xla", "jax", "onnxruntime", "tflite"; opt-in: "official" and the
            `QUANTIZED_BACKENDS`); jax runs in a KERAS_BACKEND=jax child
            process, official in an `official_python` child.
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
        device: "cpu" (GPUs hidden from TensorFlow) or "gpu": TensorFlow's
            first GPU, JAX's when it sees one, onnxruntime with CUDA when
            available, no tflite (see `plan_backends`); the GEMM ceiling is
            the GPU's and there is no theoretical peak.
        official_python: the interpreter (with torch and numpy) of the
            official backend's child process; required for "official".
        official_sources: "NAME=DIR" strings (or {NAME: DIR}): checkouts of
            the official repositories (`_official_worker.SOURCES`).

    Returns:
        The report: {"schema_version", "machine", "settings", "results",
        "errors", "notes", "fastest"}, as described by
        `skeleton_zoo/data/benchmark.schema.json`. Times in seconds
        (`median_s`, `times_s`) and milliseconds (`p50_ms`, `p90_ms`).

    Raises:
        ValueError: an unknown model, backend or device, a bad size, or a
            bad --official_python / --official_source; the message names the
            command-line flag.
        RuntimeError: `device` "gpu" and TensorFlow sees no GPU. Raised
            before anything is measured or written.
    """
    models, backends, presets = _validate(models or (QUICK_MODELS if quick else DEFAULT_MODELS), backends, device)
    for label, value in (("--repeats", repeats), ("--frames", frames), ("--clip_frames", clip_frames),
                         ("--batch", batch), ("--warmup", warmup)):
        _check_positive(label, value)
    _check_positive("--threads", threads, minimum=0)
    official_python, official_sources = _validate_official(backends, official_python, official_sources)
    overrides = dict(overrides or {})
    defaults = _DEFAULTS[bool(quick)]
    sizes = {"frames": frames or defaults["frames"], "clip_frames": clip_frames or defaults["clip_frames"],
             "batch": batch or defaults["batch"]}
    warmup = warmup or defaults["warmup"]
    latency_repeats = repeats or defaults["latency_repeats"]
    repeats = repeats or defaults["repeats"]

    # Before any TF op: hide the GPUs (cpu) or let TF's memory grow (gpu); no GPU for gpu raises here.
    gpus, notes = configure_device(device)
    providers = _onnx_providers() if device == "gpu" else []
    jax_gpu = None
    if device == "gpu" and "jax" in backends:
        jax_gpu = _jax_gpu_devices()[1] or None
    backends, skipped = plan_backends(device, backends, providers, jax_gpu)
    if not backends:
        raise ValueError(f"--backends: none of the requested backends runs on --device gpu ({' '.join(skipped)})")
    notes += skipped
    thread_counts, thread_notes = configure_threads(threads)
    notes += thread_notes
    if {"xla", "jax"} & set(backends) and os.environ.get("XLA_FLAGS"):
        notes.append(f"XLA_FLAGS={os.environ['XLA_FLAGS']!r} was set (for the jax process and TF's XLA).")
    if OFFICIAL_BACKEND in backends:
        thread_counts["official"] = thread_counts["tf_intra"]  # torch.set_num_threads in the child
        omp = {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "GOMP_", "KMP_", "MKL_"))}
        if omp:
            notes.append(f"official: the PyTorch process inherited {omp} (OpenMP / MKL settings).")
    elif official_python or official_sources:
        notes.append("--official_python / --official_source given without the official backend: unused "
                     "(--backends ...,official).")
    if device == "cpu" and thread_counts["tf_intra"] != REFERENCE_THREADS and OFFICIAL_BACKEND not in backends:
        notes.append(f"The official PyTorch references were measured on {REFERENCE_THREADS} cores; this run "
                     f"used {thread_counts['tf_intra']} threads.")
    # The official figures are CPU figures: compared only on the CPU at their sizes.
    reference = not quick and not overrides and device == "cpu"
    reference_ok = {
        "sequence_throughput": reference and sizes["frames"] == REFERENCE_SIZES["frames"],
        "single_frame_latency": reference,
        "inference_throughput": reference and sizes["clip_frames"] == REFERENCE_SIZES["clip_frames"]
        and sizes["batch"] == REFERENCE_SIZES["batch"],
    }
    reference_ok["training_throughput"] = reference_ok["inference_throughput"]
    machine = machine_info(None, gpus)
    gemm_size = _GPU_GEMM_SIZE if device == "gpu" else defaults["gemm_size"]
    report = {
        "schema_version": SCHEMA_VERSION,
        "machine": machine,
        "settings": {"models": models, "backends": backends, "device": device, "quick": bool(quick),
                     "threads": thread_counts, "repeats": repeats, "latency_repeats": latency_repeats,
                     "warmup": warmup, "frames": sizes["frames"], "clip_frames": sizes["clip_frames"],
                     "batch": sizes["batch"], "options": {k: jsonable(v) for k, v in overrides.items()},
                     "gemm_size": gemm_size,
                     "official": {"python": official_python, "versions": None,
                                  "sources": {k: {"path": v, "commit": _source_commit(v)}
                                              for k, v in official_sources.items()}}
                     if OFFICIAL_BACKEND in backends else None},
        "results": [],
        "errors": [],
        "notes": notes,
        "fastest": [],
    }
    from tqdm import tqdm

    # The jax child runs on the first `threads` CPUs of this process (XLA sizes its pool by them).
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    jax_cpus = cpus[:thread_counts["jax"]] if cpus and thread_counts["jax"] < len(cpus) else None
    total = 1 + sum(_planned_steps(p, backends) for p in presets.values())
    bar = tqdm(total=total, file=sys.stderr, disable=not progress, dynamic_ncols=True, leave=False)
    ctx = _Context(report, out, bar, warmup, repeats, latency_repeats, thread_counts, reference_ok, device,
                   ("CUDAExecutionProvider", "CPUExecutionProvider") if device == "gpu" else ("CPUExecutionProvider",),
                   jax_cpus, official_python, official_sources)
    try:
        with ctx.step(f"GEMM ceiling ({gemm_size}^2 matmul)"):
            try:
                report["machine"]["gemm"] = gemm_ceiling(gemm_size, defaults["gemm_repeats"], warmup,
                                                         device="/GPU:0" if device == "gpu" else None)
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
