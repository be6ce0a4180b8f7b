"""CPU inference and training speed of the zoo: `python -m skeleton_zoo.benchmark`.

    python -m skeleton_zoo.benchmark                           # every default model and backend
    python -m skeleton_zoo.benchmark --quick --out quick.json  # smaller sizes, fewer repeats
    python -m skeleton_zoo.benchmark --models gast_9 --backends keras,onnxruntime --option channels=16

Backends (all on the CPU, randomly initialised weights, float32):

- `keras`: the model call `model(x, training=False)` in `tf.function(jit_compile=False)`;
- `xla`: the same with `jit_compile=True` (XLA's CPU backend);
- `onnxruntime`: the file written by `export.onnx_export.export_onnx`, run by an
  `onnxruntime.InferenceSession` (CPUExecutionProvider);
- `tflite`: the float32 file written by `export.tflite_export.export_tflite`,
  run by LiteRT (`export.tflite_export.tflite_runner`).

The exported files come from the same `export.common.ExportSpec` (hence the
same Keras model and weights, as `build_specs` prepares them for export) as
the keras/xla measurements, with the clip length fixed to the measured one. Inputs are seeded random numpy arrays
(`np.random.default_rng(0)`). Every timed call goes from a numpy input to
numpy outputs; `warmup` calls (XLA compilation, TFLite tensor allocation, ...)
are run first and not timed. The median of the repeated calls is reported,
with its p50 / p90 in milliseconds and every time in `times_s`.

Measurements:

- pose lifting (GAST-Net presets):
  - `sequence_throughput`: the dilated "sequence" network on one clip of
    `frames + receptive_field - 1` input frames (the keypoints edge-padded by
    (rf - 1) / 2 frames each side, as `skeleton_zoo.lift` does), which gives
    `frames` output poses; batch 1. Value: frames / median seconds (frames/s).
  - `single_frame_latency`: the strided "single_frame" network on one
    receptive field, input (1, rf, J, 2) -> one pose. Value: p50 latency (ms).
- action recognition (ST-TR presets): input (batch, clip_frames, V, M, C)
  (V joints, M persons, C channels of the model).
  - `inference_throughput`: value batch / median seconds (clips/s).
  - `training_throughput` (keras and xla only): one full training step in a
    `tf.function(jit_compile=False/True)` on a freshly built model: forward
    with training=True, `SparseCategoricalCrossentropy(from_logits=True)` on
    random labels, `tape.gradient` and `optimizer.apply` of the ST-TR recipe
    optimizer (`SGDWithL2`, lr 0.1, momentum 0.9 Nesterov, L2 1e-4). Value:
    batch / median seconds (clips/s). Two-stream presets are trained per
    stream, so they have no training measurement.

FLOPs (`flops`, for the whole timed call) are counted by the TensorFlow
profiler (`tf.compat.v1.profiler.profile` with `float_operation()` options)
on the graph of the measured `tf.function`, traced at the measured input shape:

- inference (`flops_method` "tf_profiler_frozen_forward"): the forward graph
  with its variables frozen to constants
  (`convert_variables_to_constants_v2`). The same count is reported for all
  four backends (they run the same network);
- training (`flops_method` "tf_profiler_training_step_graph"): the training
  step's own graph, not frozen: forward, loss, gradients and optimizer update.

The profiler has no statistic for `Einsum` (GAST-Net's graph layers use
`keras.ops.einsum`); `register_einsum_flops` adds one: 2 x the product of the
sizes of all distinct subscripts of a two-operand einsum (broadcast `...`
dimensions count as extra subscripts). Elementwise ops count one FLOP per
output element, as the profiler's own registry does. `flops_per_output` is
per output frame (sequence), per call (single frame) or per clip (ST-TR);
`gflops_per_s` = flops / median seconds / 1e9. `analytic_gast_flops` counts
the convolutions, matmuls and einsums of a GAST-Net from its configuration,
as a cross-check of the profiler count.

Machine peak (`machine.peak_gflops_per_s`, the formula is in `peak_formula`):

    peak GFLOP/s = cores x clock GHz x (effective SIMD bits / 32) float32 lanes
                   x 2 (FMA: multiply + add) x 2 (FMA units per core)

cores: the CPUs this process may run on (`os.sched_getaffinity`); SIMD width:
512 bits with avx512f, 256 with avx2 / avx, 128 with sse; AMD family 25
(0x19, Zen 3 / Zen 4) executes AVX-512 as two 256-bit halves, so its
effective width is 256 bits; the FMA factor is 1 without the fma flag; clock:
`/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq` when present, else
the "cpu MHz" of /proc/cpuinfo (often the nominal clock: turbo clocks make
`fraction_of_peak` exceed 1). The practical ceiling `machine.gemm` is the
median GFLOP/s of a float32 N x N `tf.matmul` (2 N^3 FLOPs; N = 2048, 10
repeats, quick 5) in a `tf.function`; `fraction_of_gemm` is relative to it.

Threads: `--threads` (0: every CPU of the process) sets TensorFlow's intra-op
pool (inter-op: 1, before any TF op runs), ONNX Runtime's
`intra_op_num_threads` (inter-op 1) and LiteRT's `num_threads`; the counts in
effect are recorded in `settings.threads`.

Output: a progress bar on stderr, a markdown table on stdout and the JSON
report (`skeleton_zoo/data/benchmark.schema.json`) written atomically to
`--out` after every measurement. A failing backend is recorded in `errors`
and the run continues; the exit status is 1 when anything failed.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

import contextlib
import dataclasses
import datetime
import io
import json
import math
import pathlib
import platform
import tempfile

import numpy as np

__all__ = [
    "BACKENDS",
    "DEFAULT_MODELS",
    "QUICK_MODELS",
    "OFFICIAL_REFERENCE",
    "REFERENCE_SIZES",
    "SCHEMA_VERSION",
    "analytic_gast_flops",
    "count_flops",
    "cpu_info",
    "einsum_flops",
    "format_table",
    "gemm_ceiling",
    "machine_info",
    "register_einsum_flops",
    "run",
    "run_benchmark",
]

SCHEMA_VERSION = 1
BACKENDS = ("keras", "xla", "onnxruntime", "tflite")
DEFAULT_MODELS = ("gast_27", "gast_81", "gast_243", "st_tr_spatial_joint", "st_tr_temporal_joint")
# --quick without --models: one model per family and stream, so that exports
# and XLA compilations (most of a run's time) fit in two minutes on 2 cores.
QUICK_MODELS = ("gast_27", "st_tr_spatial_joint", "st_tr_temporal_joint")
TRAINING_BACKENDS = ("keras", "xla")

# The official PyTorch implementations on 2 CPU cores, at `REFERENCE_SIZES`:
# measurement -> preset -> value in the measurement's unit.
OFFICIAL_REFERENCE = {
    "sequence_throughput": {"gast_27": 239.0, "gast_81": 210.0, "gast_243": 209.0},  # frames/s
    "single_frame_latency": {"gast_27": 12.0, "gast_81": 15.0, "gast_243": 23.8},  # ms
    "inference_throughput": {"st_tr_spatial_joint": 4.3, "st_tr_temporal_joint": 6.7},  # clips/s
    "training_throughput": {"st_tr_spatial_joint": 1.42, "st_tr_temporal_joint": 0.73},  # clips/s
}
REFERENCE_SIZES = {"frames": 1000, "clip_frames": 300, "batch": 4}
REFERENCE_THREADS = 2

UNITS = {"sequence_throughput": "frames/s", "single_frame_latency": "ms",
         "inference_throughput": "clips/s", "training_throughput": "clips/s"}
LATENCY_MEASUREMENTS = ("single_frame_latency",)

# Sizes and repeats; explicit arguments override them.
_DEFAULTS = {
    False: {"frames": 1000, "clip_frames": 300, "batch": 4, "warmup": 2, "repeats": 10,
            "latency_repeats": 50, "gemm_size": 2048, "gemm_repeats": 10},
    # The GEMM stays 2048^2 (about 0.1 s a call): on a 2-core Zen 4 a 1024^2
    # tf.matmul reaches only half the 2048^2 rate, which is no ceiling.
    True: {"frames": 243, "clip_frames": 64, "batch": 4, "warmup": 1, "repeats": 3,
           "latency_repeats": 20, "gemm_size": 2048, "gemm_repeats": 5},
}

FLOPS_FORWARD = "tf_profiler_frozen_forward"
FLOPS_TRAINING = "tf_profiler_training_step_graph"
# Op types the analytic GAST-Net count covers (the rest are elementwise).
DENSE_OP_TYPES = ("Conv2D", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum")


# --------------------------------------------------------------------------- FLOPs


def einsum_flops(equation: str, shapes) -> int:
    """FLOPs of one `Einsum` op: 2 x the product of the sizes of all distinct
    subscripts of a two-operand einsum (one multiply and one add per term of
    the sum).

    Broadcast dimensions (`...`) count as extra subscripts, aligned from the
    right as in numpy; a size-1 dimension broadcasts against any size. A
    one-operand einsum (transpose, diagonal, reduction) costs one add per
    input element when it sums a subscript away, else nothing.

    Args:
        equation: e.g. "btvc,ckd->btvkd" (implicit output allowed).
        shapes: one fully known shape (sequence of int) per operand.

    Returns:
        The FLOP count, e.g. einsum_flops("ij,jk->ik", [(2, 3), (3, 4)]) == 48.

    Raises:
        ValueError: unknown dimensions, or shapes that do not fit the equation.
    """
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum '{equation}': {len(terms)} operand(s) in the equation, "
                         f"{len(shapes)} shape(s) given.")
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        shape = list(shape)
        if any(d is None for d in shape):
            raise ValueError(f"einsum '{equation}': incomplete shape {shape}.")
        if "..." in term:
            left, right = term.split("...")
            broadcast = len(shape) - len(left) - len(right)
            if broadcast < 0:
                raise ValueError(f"einsum '{equation}': shape {shape} has too few dimensions for '{term}'.")
            labels = list(left) + [f"...{broadcast - 1 - i}" for i in range(broadcast)] + list(right)
        else:
            labels = list(term)
        if len(labels) != len(shape):
            raise ValueError(f"einsum '{equation}': shape {shape} does not fit '{term}'.")
        for label, dim in zip(labels, shape):
            dim = int(dim)
            known = sizes.get(label)
            if known is None or known == 1:
                sizes[label] = dim
            elif dim not in (1, known):
                raise ValueError(f"einsum '{equation}': subscript '{label}' is {known} and {dim}.")
            counts[label] = counts.get(label, 0) + 1
    product = math.prod(sizes.values())
    if len(terms) == 1:
        kept = set(output) if arrow else {k for k, n in counts.items() if n == 1}
        summed = {k for k in sizes if not k.startswith("...") and k not in kept}
        return product if summed else 0
    return 2 * product


def _tensor_shape(graph, name: str):
    name = name.lstrip("^")
    return graph.get_tensor_by_name(name if ":" in name else f"{name}:0").shape


def _einsum_statistic(graph, node):
    from tensorflow.python.framework import ops

    equation = node.attr["equation"].s.decode()
    shapes = []
    for name in node.input:
        if name.startswith("^"):  # control dependency
            continue
        shape = _tensor_shape(graph, name)
        if shape.rank is None or not shape.is_fully_defined():
            raise ValueError(f"Einsum '{node.name}': incomplete input shape {shape}.")
        shapes.append(shape.as_list())
    return ops.OpStats("flops", einsum_flops(equation, shapes))


def register_einsum_flops() -> None:
    """Registers `einsum_flops` as TensorFlow's "flops" statistic of the
    `Einsum` op (read by `tf.compat.v1.profiler`). Idempotent."""
    from tensorflow.python.framework import ops

    try:
        ops.RegisterStatistics("Einsum", "flops")(_einsum_statistic)
    except KeyError:  # registered already (a second call, or TensorFlow added one)
        pass


def count_flops(function, freeze: bool = True) -> dict:
    """FLOPs of a traced graph, by the TensorFlow profiler.

    Args:
        function: a `ConcreteFunction` traced with fully known input shapes.
        freeze: profile the graph with its variables frozen to constants
            (`convert_variables_to_constants_v2`): inference. False profiles
            the function's own graph (a training step updates its variables).

    Returns:
        {"total": FLOPs, "by_op": {op type: FLOPs}}; ops the profiler cannot
        count (no statistic, or unknown shapes) count 0. BatchMatMul ops with
        `adj_x` set are recounted (`_batch_matmul_flops`).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    register_einsum_flops()
    if freeze:
        function = convert_variables_to_constants_v2(function)
    graph = function.graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the profiler's own deprecation warnings
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # "N ops no flops stats due to incomplete shapes."
            profile = tf.compat.v1.profiler.profile(graph, cmd="scope", options=options)
    finally:
        logger.setLevel(level)
    by_op: dict[str, int] = {}
    total = int(profile.total_float_ops)
    stack = [profile]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if not node.float_ops:
            continue
        try:
            op = graph.get_operation_by_name(node.name)
        except (KeyError, ValueError):
            by_op["unknown"] = by_op.get("unknown", 0) + int(node.float_ops)
            continue
        flops = int(node.float_ops)
        if op.type.startswith("BatchMatMul") and op.get_attr("adj_x"):
            corrected = _batch_matmul_flops(op)
            total += corrected - flops
            flops = corrected
        by_op[op.type] = by_op.get(op.type, 0) + flops
    return {"total": total, "by_op": by_op}


def _batch_matmul_flops(op) -> int:
    """2 x K x output elements of a BatchMatMul* op. TensorFlow's registered
    statistic reads the contraction size K through a `transpose_a` attribute
    these ops do not have (theirs is `adj_x`), so it takes the wrong
    dimension for adj_x=True (the gradient graphs' x^T dy)."""
    a_shape = op.inputs[0].shape
    k = int(a_shape[-2] if op.get_attr("adj_x") else a_shape[-1])
    return 2 * k * int(np.prod(op.outputs[0].shape.as_list(), dtype=np.int64))


def _gast_layer_macs(model, frames: int) -> dict:
    """Multiply-accumulates of every conv / matmul / einsum of a GASTNet on
    one clip of `frames` input frames, by layer name."""
    from skeleton_zoo.gast.layers import GraphAttentionBlock, TemporalBlock

    v = model.layout.num_joints
    widths = model.filter_widths
    sequence = model.variant == "sequence"

    def conv_out(t, width, dilation):
        return t - (width - 1) * dilation if sequence else (t - width) // width + 1

    macs = {}
    t = conv_out(frames, widths[0], 1)
    macs["expand_conv"] = t * v * widths[0] * model.in_features * model.channels
    channels = model.channels
    for layer in model.layers:
        if isinstance(layer, TemporalBlock):
            t = conv_out(t, layer.width, layer.dilation)
            c = layer.channels
            macs[f"{layer.name}/temporal_conv"] = t * v * layer.width * c * c
            macs[f"{layer.name}/pointwise_conv"] = t * v * c * c
        elif isinstance(layer, GraphAttentionBlock):
            c, k = layer.channels, layer.num_heads
            rows = t * v  # (frame, joint) positions
            name = layer.name
            # Local graph: two semantic graph convs (x W0, x W1 and the
            # neighbour einsum over V x V per channel), then cat_conv 2C -> C.
            macs[f"{name}/local_graph/graph_convs"] = 2 * (2 * rows * c * c + t * v * v * c)
            macs[f"{name}/local_graph/cat_conv"] = rows * 2 * c * c
            # Global graph: g / theta / phi projections C -> K x d, the row and
            # column score einsums (K x d each per joint), attention x g
            # (K x V x V x d), cat_conv C -> C.
            macs[f"{name}/global_graph/projections"] = 3 * rows * c * c
            macs[f"{name}/global_graph/scores"] = 2 * rows * c
            macs[f"{name}/global_graph/attention"] = t * k * v * v * (c // k)
            macs[f"{name}/global_graph/cat_conv"] = rows * c * c
            macs[f"{name}/cat_conv"] = rows * 3 * c * 2 * c
            channels = 2 * c
    macs["shrink"] = t * v * channels * 3
    return macs


def analytic_gast_flops(model, frames: int | None = None, batch: int = 1) -> int:
    """FLOPs (2 x multiply-accumulates) of the Conv2D / Dense / einsum layers
    of a GASTNet, from its configuration alone.

    Per GraphAttentionBlock of C input channels on T frames of V joints:
    local graph 2 x (2 T V C^2 + T V^2 C) + 2 T V C^2; global graph
    3 T V C^2 (projections) + 2 T V C (scores) + T V^2 C (attention x g) +
    T V C^2; block fusion 6 T V C^2. Per TemporalBlock of width w:
    w T V C^2 + T V C^2. Plus the expand conv (w0 x in_features x C per
    position) and shrink (2^n C x 3). Elementwise ops (batch norm, softmax,
    activations, residuals) are not counted.

    The sequence variant's dilated convolutions run as SpaceToBatchND +
    Conv2D in TensorFlow, which computes up to `dilation - 1` padded frames
    more than the true count given here when the output length is not a
    multiple of the dilation.

    Args:
        model: a `skeleton_zoo.GASTNet`.
        frames: input frames T: sequence variant any T >= receptive field
            (gives T - rf + 1 poses); single_frame one receptive field (the
            default).
        batch: clips per call.

    Returns:
        FLOPs of one call on input (batch, frames, J, in_features).
    """
    frames = model.receptive_field if frames is None else int(frames)
    if frames < model.receptive_field:
        raise ValueError(f"analytic_gast_flops: {frames} frames is shorter than the receptive field "
                         f"({model.receptive_field}).")
    return 2 * batch * sum(_gast_layer_macs(model, frames).values())


# --------------------------------------------------------------------------- machine


def _cpuinfo() -> dict:
    """First processor's "key: value" lines of /proc/cpuinfo ({} elsewhere)."""
    info = {}
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return info
    for line in text.splitlines():
        if not line.strip():
            if info:
                break
            continue
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
    return info


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_info() -> dict:
    """The CPU and its theoretical float32 peak (see the module docstring).

    Returns:
        {"model", "vendor", "family", "cores", "simd", "simd_bits",
        "effective_simd_bits", "fma", "fma_units", "clock_ghz",
        "clock_source", "peak_gflops_per_s", "peak_formula"}.
    """
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    vendor = info.get("vendor_id") or info.get("CPU implementer") or platform.machine()
    model = info.get("model name") or platform.processor() or platform.machine() or "unknown"
    try:
        family = int(info["cpu family"])
    except (KeyError, ValueError):
        family = None
    if "avx512f" in flags:
        simd, bits = "AVX-512", 512
    elif "avx2" in flags or "avx" in flags:
        simd, bits = ("AVX2" if "avx2" in flags else "AVX"), 256
    elif "sse" in flags or "sse2" in flags:
        simd, bits = "SSE", 128
    elif "asimd" in flags:
        simd, bits = "NEON", 128
    else:
        simd, bits = "scalar", 32
    effective = bits
    if bits == 512 and vendor == "AuthenticAMD" and family == 0x19:
        effective = 256  # Zen 3 / Zen 4: AVX-512 as two 256-bit halves
    fma = "fma" in flags or "asimd" in flags
    clock_ghz, source = None, None
    max_freq = pathlib.Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
    try:
        clock_ghz = int(max_freq.read_text().strip()) / 1e6  # kHz
        source = str(max_freq)
    except (OSError, ValueError):
        try:
            clock_ghz = float(info["cpu MHz"]) / 1e3
            source = "/proc/cpuinfo cpu MHz"
        except (KeyError, ValueError):
            pass
    cores = _cores()
    lanes = effective // 32
    fma_factor, fma_units = (2 if fma else 1), 2
    if clock_ghz:
        peak = cores * clock_ghz * lanes * fma_factor * fma_units
        formula = (f"{cores} cores x {clock_ghz:.3g} GHz x ({effective} bit / 32 bit = {lanes} lanes) x "
                   f"{fma_factor} ({'FMA' if fma else 'no FMA'}) x {fma_units} FMA units = {peak:.1f} GFLOP/s")
    else:
        peak, formula = None, "unknown: no clock frequency found"
    return {"model": model, "vendor": vendor, "family": family, "cores": cores, "simd": simd,
            "simd_bits": bits, "effective_simd_bits": effective, "fma": fma, "fma_units": fma_units,
            "clock_ghz": clock_ghz, "clock_source": source, "peak_gflops_per_s": peak,
            "peak_formula": formula}


def _versions() -> dict:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "onnxruntime", "ai-edge-litert", "tf2onnx", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _time_calls(run, x, warmup: int, repeats: int) -> list[float]:
    from export.verify import time_calls

    return time_calls(run, x, warmup, repeats)


def gemm_ceiling(size: int = 2048, repeats: int = 10, warmup: int = 2) -> dict:
    """Practical float32 ceiling: a size x size `tf.matmul` in a `tf.function`.

    The function returns the sum of the product (size^2 adds, not counted),
    so the timed call fetches a scalar. FLOPs: 2 size^3.

    Returns:
        {"size", "flops", "median_s", "gflops_per_s", "times_s"}.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
    b = tf.constant(rng.standard_normal((size, size), dtype=np.float32))
    spec = tf.TensorSpec((size, size), tf.float32)
    function = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)), input_signature=[spec, spec],
                           autograph=False)
    times = _time_calls(lambda _: function(a, b).numpy(), None, warmup, repeats)
    median = float(np.median(times))
    flops = 2 * size**3
    return {"size": size, "flops": flops, "median_s": median, "gflops_per_s": flops / median / 1e9,
            "times_s": times}


def machine_info(gemm: dict | None = None) -> dict:
    """CPU, peak, GEMM ceiling (`gemm_ceiling()`'s dict, or None), library
    versions, OS and date."""
    cpu = cpu_info()
    return {"cpu": cpu, "peak_gflops_per_s": cpu["peak_gflops_per_s"], "peak_formula": cpu["peak_formula"],
            "gemm": gemm, "versions": _versions(), "os": platform.platform(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


# --------------------------------------------------------------------------- threads


def _configure_threads(threads: int) -> tuple[dict, list]:
    """Sets TensorFlow's thread pools (before any TF op runs); returns the
    counts in effect for every runtime and notes."""
    import tensorflow as tf

    cores = _cores()
    n = threads or cores
    notes = []
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError as error:  # TensorFlow already ran ops in this process
        notes.append(f"TensorFlow thread pools were already initialised ({error}); TF runs with the "
                     f"counts shown.")
    # 0 means TensorFlow's default: one thread per schedulable CPU.
    intra = tf.config.threading.get_intra_op_parallelism_threads() or cores
    inter = tf.config.threading.get_inter_op_parallelism_threads() or cores
    return {"tf_intra": intra, "tf_inter": inter, "onnxruntime": n, "tflite": n}, notes


# --------------------------------------------------------------------------- measurements


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
            _write_json(self.report, self.out)

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


def _write_json(report: dict, out) -> None:
    """Writes `report` to `out` atomically (temporary file, then rename)."""
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(report, f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, out)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise


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
                    times = _time_calls(run, x, ctx.warmup, repeats)
                except Exception as error:  # noqa: BLE001
                    ctx.error(name, backend, measurement, error)
                    continue
                if measurement not in flops:
                    flops[measurement] = _flops_or_note(ctx, name, measurement,
                                                        lambda: _forward_flops(spec.model, x.shape))
                _result(ctx, name, backend, measurement, times, work, x.shape, flops[measurement], outputs)
        runners.clear()


def _training(ctx, name, backend, overrides, x):
    """Times one ST-TR training step on a fresh model; appends the result."""
    import keras
    import tensorflow as tf

    import skeleton_zoo
    from skeleton_zoo import training

    model = skeleton_zoo.load(name, **overrides)
    optimizer = training.SGDWithL2(l2=training.STTR_WEIGHT_DECAY, learning_rate=0.1,
                                   momentum=training.STTR_MOMENTUM, nesterov=True)
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    labels = np.random.default_rng(1).integers(0, model.num_classes, size=x.shape[0]).astype(np.int32)

    @tf.function(jit_compile=backend == "xla", autograph=False,
                 input_signature=[tf.TensorSpec(x.shape, tf.float32), tf.TensorSpec(labels.shape, tf.int32)])
    def step(inputs, targets):
        with tf.GradientTape() as tape:
            loss = loss_fn(targets, model(inputs, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(grads, model.trainable_variables)
        return loss

    times = _time_calls(lambda x: step(x, labels).numpy(), x, ctx.warmup, ctx.repeats)
    flops = _flops_or_note(ctx, name, "training_throughput", lambda: dict(
        count_flops(step.get_concrete_function(), freeze=False), method=FLOPS_TRAINING))
    batch = x.shape[0]
    _result(ctx, name, backend, "training_throughput", times, batch, x.shape, flops, batch)


def _planned_steps(task, two_stream, backends) -> int:
    steps = 0
    for backend in backends:
        exported = backend not in ("keras", "xla")
        if task == "pose_lifting":
            steps += 4 if exported else 2
        else:
            steps += 2 if exported else (1 if two_stream else 2)
    return steps


def _measurements(task, two_stream, backend) -> list[str]:
    if task == "pose_lifting":
        return ["sequence_throughput", "single_frame_latency"]
    if backend in TRAINING_BACKENDS and not two_stream:
        return ["inference_throughput", "training_throughput"]
    return ["inference_throughput"]


def _build_specs_or_record(ctx, name, preset, two_stream, backends, **kwargs):
    """`export.common.build_specs(name, **kwargs)`, or None after recording
    the failure for every planned measurement of the model."""
    from export import common

    try:
        return common.build_specs(name, **kwargs)
    except Exception as error:  # noqa: BLE001
        for backend in backends:
            for measurement in _measurements(preset.task, two_stream, backend):
                ctx.error(name, backend, measurement, error)
        ctx.progress.update(_planned_steps(preset.task, two_stream, backends))
        return None


def _benchmark_model(ctx, name, preset, backends, sizes, overrides):

    two_stream = "spatial" in preset.config
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory(prefix="skeleton_zoo_bench_") as folder:
        if preset.task == "pose_lifting":
            specs = _build_specs_or_record(ctx, name, preset, two_stream, backends,
                                           variants=("sequence", "single_frame"), **overrides)
            if specs is None:
                return
            sequence, single = specs
            model = sequence.model
            rf, joints, features = model.receptive_field, model.layout.num_joints, model.in_features
            frames = sizes["frames"]
            keypoints = (rng.standard_normal((1, frames, joints, features)) * 0.5).astype(np.float32)
            pad, shift = (rf - 1) // 2, model.causal_shift
            x_sequence = np.pad(keypoints, ((0, 0), (pad + shift, pad - shift), (0, 0), (0, 0)), mode="edge")
            x_single = (rng.standard_normal((1, rf, joints, features)) * 0.5).astype(np.float32)
            sequence = dataclasses.replace(sequence, input_shape=(None, x_sequence.shape[1], joints, features))
            jobs = [("sequence_throughput", sequence, x_sequence, frames, frames),
                    ("single_frame_latency", single, x_single, 1, 1)]
            _inference(ctx, name, jobs, backends, folder)
            return
        specs = _build_specs_or_record(ctx, name, preset, two_stream, backends, frames=sizes["clip_frames"],
                                       **overrides)
        if specs is None:
            return
        (spec,) = specs
        first = getattr(spec.model, "spatial_stream", spec.model)
        batch = sizes["batch"]
        shape = (batch, sizes["clip_frames"], first.layout.num_joints, first.num_persons, first.in_channels)
        x = (rng.standard_normal(shape) * 0.5).astype(np.float32)
        _inference(ctx, name, [("inference_throughput", spec, x, batch, batch)], backends, folder)
        if two_stream:
            if any(b in TRAINING_BACKENDS for b in backends):
                ctx.report["notes"].append(f"{name}: no training_throughput: two-stream presets are trained "
                                           f"per stream (st_tr_spatial_* / st_tr_temporal_*).")
            return
        for backend in backends:
            if backend not in TRAINING_BACKENDS:
                continue  # exported files are inference only
            with ctx.step(f"{name} {backend}: training_throughput"):
                try:
                    _training(ctx, name, backend, overrides, x)
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
        if presets[name].task not in ("pose_lifting", "action_recognition"):
            raise ValueError(f"--models: '{name}' is a {presets[name].task} model; expected pose_lifting "
                             f"or action_recognition.")
    return list(dict.fromkeys(models)), list(dict.fromkeys(backends)), presets


def run_benchmark(models=None, backends=BACKENDS, quick: bool = False, out=None, threads: int = 0,
                  repeats: int | None = None, frames: int | None = None, clip_frames: int | None = None,
                  batch: int | None = None, overrides: dict | None = None, progress: bool = True,
                  warmup: int | None = None) -> dict:
    """Measures `models` x `backends` on the CPU; returns the JSON report.

    Args:
        models: preset names (or a comma-separated string): pose lifting
            (GAST-Net) and action recognition (ST-TR) presets. Default
            `DEFAULT_MODELS` (quick: `QUICK_MODELS`).
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

    thread_counts, notes = _configure_threads(threads)
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
                     "options": {k: _jsonable(v) for k, v in overrides.items()},
                     "gemm_size": defaults["gemm_size"]},
        "results": [],
        "errors": [],
        "notes": notes,
    }
    from tqdm import tqdm

    total = 1 + sum(_planned_steps(p.task, "spatial" in p.config, backends) for p in presets.values())
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


def _jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


# --------------------------------------------------------------------------- table


def _num(value) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


TABLE_HEADER = ("model", "backend", "measurement", "value (unit)", "p50 / p90 ms",
                f"official PyTorch ({REFERENCE_THREADS} cores)", "× official", "GFLOP per output", "GFLOP/s",
                "% of peak")


def format_table(report: dict) -> str:
    """The report as a markdown table (one row per result or error), followed
    by the machine, threads and notes."""
    rows = []
    for r in report["results"]:
        official = f"{_num(r['official'])} {r['unit']}" if r.get("official") else "-"
        speedup = f"{r['speedup_vs_official']:.2f}×" if r.get("speedup_vs_official") else "-"
        per_output = _num(r["flops_per_output"] / 1e9) if r.get("flops_per_output") is not None else "-"
        peak = f"{100 * r['fraction_of_peak']:.1f}%" if r.get("fraction_of_peak") is not None else "-"
        rows.append((r["model"], r["backend"], r["measurement"], f"{_num(r['value'])} {r['unit']}",
                     f"{r['p50_ms']:.2f} / {r['p90_ms']:.2f}", official, speedup, per_output,
                     _num(r.get("gflops_per_s")), peak))
    for e in report["errors"]:
        message = " ".join(str(e["error"]).split())
        message = message if len(message) <= 100 else message[:97] + "..."
        rows.append((e["model"], e["backend"], e["measurement"], f"error: {message}".replace("|", "/"),
                     *("-",) * 6))
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "|".join("---" for _ in TABLE_HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    machine, settings = report["machine"], report["settings"]
    cpu = machine["cpu"]
    simd = cpu["simd"] + (f" (executed as {cpu['effective_simd_bits']}-bit halves)"
                          if cpu["effective_simd_bits"] != cpu["simd_bits"] else "")
    gemm = machine.get("gemm")
    gemm_text = (f"{gemm['gflops_per_s']:.1f} GFLOP/s (float32 {gemm['size']}x{gemm['size']} tf.matmul)"
                 if gemm else "not measured")
    lines.append(f"Machine: {cpu['model']} ({cpu['vendor']}, family {cpu['family']}), {cpu['cores']} cores, "
                 f"{simd}{', FMA' if cpu['fma'] else ''}; peak {machine['peak_formula']} "
                 f"(clock: {cpu['clock_source']}); GEMM ceiling {gemm_text}.")
    t = settings["threads"]
    lines.append(f"Threads: TensorFlow intra-op {t['tf_intra']}, inter-op {t['tf_inter']}; onnxruntime "
                 f"intra-op {t['onnxruntime']}, inter-op 1; LiteRT {t['tflite']}.")
    lines.append(f"Settings: {'quick, ' if settings['quick'] else ''}frames {settings['frames']}, clip_frames "
                 f"{settings['clip_frames']}, batch {settings['batch']}, warm-up {settings['warmup']}, repeats "
                 f"{settings['repeats']} (latency {settings['latency_repeats']})"
                 + (f", options {settings['options']}" if settings["options"] else "") + ".")
    if not any(r.get("official") for r in report["results"]):
        lines.append(f"Official references are shown only at their sizes (frames {REFERENCE_SIZES['frames']}; "
                     f"{REFERENCE_SIZES['clip_frames']}-frame clips, batch {REFERENCE_SIZES['batch']}), without "
                     f"--quick or --option.")
    over = [r for r in report["results"] if (r.get("fraction_of_peak") or 0) > 1]
    if over:
        note = (f"the GEMM ceiling is {100 * gemm['gflops_per_s'] / machine['peak_gflops_per_s']:.0f}% of it"
                if gemm and machine.get("peak_gflops_per_s") else "")
        lines.append(f"Note: % of peak exceeds 100% in {len(over)} row(s): the peak uses the clock "
                     f"{cpu['clock_ghz']:.3g} GHz from {cpu['clock_source']}, below the turbo clock the cores "
                     f"actually run at" + (f" ({note})" if note else "") + ".")
    for note in report.get("notes", []):
        lines.append(f"Note: {note}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line


def _define_flags():
    """Defined when the command runs, not on import, so that importing this
    module next to other command lines does not redefine their flags."""
    from absl import flags

    flags.DEFINE_list("models", None, "Presets (python -m skeleton_zoo list): GAST-Net pose lifting and ST-TR "
                                      f"action recognition. Default: {','.join(DEFAULT_MODELS)} "
                                      f"(quick: {','.join(QUICK_MODELS)}).")
    flags.DEFINE_list("backends", list(BACKENDS), f"Subset of {', '.join(BACKENDS)}.")
    flags.DEFINE_bool("quick", False, "Smaller sizes and fewer repeats (GAST 243 output frames, 64-frame "
                                      "clips, 3 repeats, 20 latency repeats, 1 warm-up).")
    flags.DEFINE_string("out", "bench.json", "JSON report, rewritten after every measurement.")
    flags.DEFINE_integer("threads", 0, "CPU threads of TensorFlow (intra-op), ONNX Runtime and LiteRT; "
                                       "0: every CPU of the process.")
    flags.DEFINE_integer("repeats", None, "Timed calls per measurement. Default: 10, latency 50 "
                                          "(quick: 3 / 20).")
    flags.DEFINE_integer("warmup", None, "Untimed calls before each measurement. Default 2 (quick 1).")
    flags.DEFINE_integer("frames", None, "Pose lifting: output frames of the sequence measurement. "
                                         "Default 1000 (quick 243).")
    flags.DEFINE_integer("clip_frames", None, "Action recognition: frames per clip. Default 300 (quick 64).")
    flags.DEFINE_integer("batch", None, "Action recognition: clips per call. Default 4.")
    flags.DEFINE_multi_string("option", [], "Preset option KEY=VALUE (Python literal), e.g. channels=16. "
                                            "Repeatable; applies to every model.")


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        print(f"error: unexpected arguments {argv[1:]}; everything is a --flag.", file=sys.stderr)
        return 1
    if not FLAGS["verbosity"].present:  # the exporters log every SavedModel they write at INFO
        from absl import logging

        logging.set_verbosity(logging.WARNING)
    try:
        unknown = [b for b in FLAGS.backends if b not in BACKENDS]
        if unknown or not FLAGS.backends:  # before importing TensorFlow
            _validate([], FLAGS.backends)
        from skeleton_zoo.registry import parse_overrides

        import skeleton_zoo  # noqa: F401  (registers the presets)

        overrides = parse_overrides(FLAGS.option)
        report = run_benchmark(FLAGS.models, FLAGS.backends, quick=FLAGS.quick, out=FLAGS.out or None,
                               threads=FLAGS.threads, repeats=FLAGS.repeats, frames=FLAGS.frames,
                               clip_frames=FLAGS.clip_frames, batch=FLAGS.batch, overrides=overrides,
                               warmup=FLAGS.warmup)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(format_table(report))
    if FLAGS.out:
        print(f"\nReport written to {FLAGS.out}")
    for e in report["errors"]:
        print(f"error: {e['model']} {e['backend']} {e['measurement']}: {e['error']}", file=sys.stderr)
    return 1 if report["errors"] else 0


def run():
    from absl import app

    _define_flags()
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
