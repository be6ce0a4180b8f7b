"""CPU (or GPU) inference and training speed of the zoo: `python -m skeleton_zoo benchmark`
(also `python -m skeleton_zoo.benchmark`).

    python -m skeleton_zoo benchmark                           # every default model and backend
    python -m skeleton_zoo benchmark --quick --out quick.json  # smaller sizes, fewer repeats
    python -m skeleton_zoo benchmark --models gast_9 --backends keras,onnxruntime --option channels=16
    python -m skeleton_zoo benchmark --device gpu              # keras / xla / jax on TensorFlow's first GPU

Modules: `machine` (CPU, peak, GEMM ceiling, GPUs, threads), `flops`
(profiler counts), `measure` (the timed runs, `run_benchmark`), `report`
(JSON, table, official references, fastest backends), `_jax_worker` (the
jax rows' child process). What a preset is measured on comes from its task
(`Task.benchmark_jobs`).

Backends (randomly initialised weights, float32; on the CPU unless `--device gpu`):

- `keras`: the model call `model(x, training=False)` in `tf.function(jit_compile=False)`;
- `xla`: the same with `jit_compile=True` (XLA's CPU backend);
- `jax`: the same model under Keras' JAX backend, in a child process started
  with `KERAS_BACKEND=jax` (the Keras backend is fixed per process):
  `jax.jit` of `model.stateless_call(trainable, non_trainable, x,
  training=False)` (see `_jax_worker`);
- `onnxruntime`: the file written by `export.onnx_export.export_onnx`, run by an
  `onnxruntime.InferenceSession` (CPUExecutionProvider);
- `tflite`: the float32 file written by `export.tflite_export.export_tflite`,
  run by LiteRT (`export.tflite_export.tflite_runner`).

The exported files come from the same `export.common.ExportSpec` (hence the
same Keras model and weights, as `build_specs` prepares them for export) as
the keras/xla measurements, with the clip length fixed to the measured one.
The jax process builds the same preset with the same options through
`build_specs` (BatchNorms folded as for the TF rows; its own random weights)
and times the parent's input arrays. Inputs are seeded random numpy arrays
(`np.random.default_rng(0)`). Every timed call goes from a numpy input to
numpy outputs; `warmup` calls (XLA compilation, TFLite tensor allocation,
JAX tracing and compilation, ...) are run first and not timed. The median of
the repeated calls is reported, with its p50 / p90 in milliseconds and every
time in `times_s`. A jax process that fails (jax not installed, a model that
does not build or trace under JAX) is recorded in `errors` for each of its
measurements, as any failing backend.

Measurements:

- pose lifting:
  - `sequence_throughput`: the dilated "sequence" network on one clip of
    `frames + receptive_field - 1` input frames (the keypoints edge-padded by
    (rf - 1) / 2 frames each side, as `skeleton_zoo.inference.lift` does), which gives
    `frames` output poses; batch 1. Value: frames / median seconds (frames/s).
  - `single_frame_latency`: the strided "single_frame" network on one
    receptive field, input (1, rf, J, 2) -> one pose. Value: p50 latency (ms).
- action recognition: input (batch, clip_frames, V, M, C)
  (V joints, M persons, C channels of the model).
  - `inference_throughput`: value batch / median seconds (clips/s).
  - `training_throughput` (keras, xla and jax): one full training step in a
    `tf.function(jit_compile=False/True)` on a freshly built model: forward
    with training=True, `SparseCategoricalCrossentropy(from_logits=True)` on
    random labels, `tape.gradient` and `optimizer.apply` of the preset's recipe
    optimizer at its learning rate (ST-TR: `SGDWithL2`, lr 0.1, momentum 0.9
    Nesterov, L2 1e-4). jax: the same step jitted, gradients by
    `jax.value_and_grad` of the stateless forward and loss, then
    `optimizer.stateless_apply` of the same optimizer; the state carries from
    call to call. Value: batch / median seconds (clips/s). Ensemble
    presets are trained per stream, so they have no training measurement.
    Pose lifters are not trained in the benchmark.

FLOPs (`flops`, for the whole timed call) are counted by the TensorFlow
profiler (`tf.compat.v1.profiler.profile` with `float_operation()` options)
on the graph of the measured `tf.function`, traced at the measured input shape:

- inference (`flops_method` "tf_profiler_frozen_forward"): the forward graph
  with its variables frozen to constants
  (`convert_variables_to_constants_v2`). The same count is reported for every
  backend, jax included (they run the same network);
- training (`flops_method` "tf_profiler_training_step_graph"): the training
  step's own graph, not frozen: forward, loss, gradients and optimizer update
  (the jax row reuses it: the same step).

The profiler has no statistic for `Einsum` (GAST-Net's graph layers use
`keras.ops.einsum`); `register_einsum_flops` adds one: 2 x the product of the
sizes of all distinct subscripts of a two-operand einsum (broadcast `...`
dimensions count as extra subscripts). Elementwise ops count one FLOP per
output element, as the profiler's own registry does. `flops_per_output` is
per output frame (sequence), per call (single frame) or per clip;
`gflops_per_s` = flops / median seconds / 1e9.
`skeleton_zoo.models.gast.flops.analytic_gast_flops` counts the
convolutions, matmuls and einsums of a GAST-Net from its configuration, as a
cross-check of the profiler count.

Machine peak (`machine.peak_gflops_per_s`, its formula in `peak_formula`):
cores x clock x SIMD lanes x FMA, as `skeleton_zoo.benchmark.machine`
describes. The practical ceiling `machine.gemm` is the median GFLOP/s of a
float32 N x N `tf.matmul` (N = 2048, 10 repeats, quick 5);
`fraction_of_gemm` is relative to it.

Threads: `--threads` (0: every CPU of the process) sets TensorFlow's intra-op
pool (inter-op: 1, before any TF op runs), ONNX Runtime's
`intra_op_num_threads` (inter-op 1) and LiteRT's `num_threads`, and pins the
jax process to that many of this process's CPUs (`sched_setaffinity`: XLA
sizes its CPU thread pool by the schedulable CPUs and has no thread-count
flag); the counts in effect (for jax: the CPUs the child reports) are
recorded in `settings.threads`.

Devices (`--device`): "cpu" (default) hides the GPUs from TensorFlow, so the
benchmark is a CPU benchmark on any machine. "gpu" fails at once (exit status
1, nothing written) when TensorFlow sees no GPU; otherwise keras and xla run
on TensorFlow's GPU:0 (memory growth on), jax on JAX's first GPU when its
process sees one (`JAX_PLATFORMS=cuda`), onnxruntime only with its
CUDAExecutionProvider and tflite never (`measure.plan_backends`; what is left
out is in `notes`). The GPUs (name, compute capability, memory from
nvidia-smi) are in `machine.gpus`; the GEMM ceiling is an 8192 x 8192
`tf.matmul` on GPU:0, `machine.peak_gflops_per_s` is null (no CPU peak against
GPU numbers) and there are no official (CPU) comparisons. Throughputs are of
one GPU.

Output: a progress bar on stderr, a markdown table on stdout and the JSON
report (`skeleton_zoo/data/benchmark.schema.json`) written atomically to
`--out` after every measurement. `fastest` lists the fastest backend of every
model's inference measurement. A failing backend is recorded in `errors` and
the run continues; the exit status is 1 when anything failed.
"""

from skeleton_zoo.benchmark.flops import DENSE_OP_TYPES, count_flops, einsum_flops, register_einsum_flops
from skeleton_zoo.benchmark.machine import cpu_info, gemm_ceiling, gpu_info, machine_info
from skeleton_zoo.benchmark.measure import BACKENDS, DEFAULT_MODELS, DEVICES, QUICK_MODELS, run_benchmark
from skeleton_zoo.benchmark.report import (
    OFFICIAL_REFERENCE,
    REFERENCE_SIZES,
    SCHEMA_VERSION,
    TABLE_HEADER,
    fastest_backends,
    format_table,
)

__all__ = [
    "BACKENDS", "DEFAULT_MODELS", "DENSE_OP_TYPES", "DEVICES", "OFFICIAL_REFERENCE", "QUICK_MODELS",
    "REFERENCE_SIZES", "SCHEMA_VERSION", "TABLE_HEADER", "count_flops", "cpu_info", "einsum_flops",
    "fastest_backends", "format_table", "gemm_ceiling", "gpu_info", "machine_info", "register_einsum_flops",
    "run_benchmark",
]
