"""CPU (or GPU) inference and training speed of the zoo: `python -m skeleton_zoo benchmark`
(also `python -m skeleton_zoo.benchmark`).

    python -m skeleton_zoo benchmark                           # every default model and backend
    python -m skeleton_zoo benchmark --quick --out quick.json  # smaller sizes, fewer repeats
    python -m skeleton_zoo benchmark --models gast_9 --backends keras,onnxruntime --option channels=16
    python -m skeleton_zoo benchmark --device gpu              # keras / xla / jax on TensorFlow's first GPU
    python -m skeleton_zoo benchmark --models gast_27 --backends keras,official \
        --official_python ~/torch/bin/python --official_source gast=~/GAST-Net-3DPoseEstimation
    python -m skeleton_zoo benchmark --models gast_27 --backends onnxruntime,onnxruntime_int8,tflite_int8

Modules: `machine` (CPU, peak, GEMM ceiling, GPUs, threads), `flops`
(profiler counts), `measure` (the timed runs, `run_benchmark`), `report`
(JSON, table, official references, fastest backends), `_jax_worker` (the
jax rows' child process), `_official_worker` (the official rows' child
process). What a preset is measured on comes from its task
(`Task.benchmark_jobs`).

Backends (randomly initialised weights; on the CPU unless `--device gpu`).
By default (`DEFAULT_BACKENDS`), float32:

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

Opt-in (name them in `--backends`):

- `official`: the official PyTorch implementation, timed in a child process
  of the same run (`_official_worker`, run as a script by `--official_python`,
  an interpreter with torch and numpy; it imports nothing else of ours) from
  an untouched checkout of the official repository (`--official_source
  NAME=DIR`, repeatable: `gast` GAST-Net, `videopose3d` VideoPose3D, `st_tr`
  ST-TR), on the same input arrays, at the same thread count
  (`torch.set_num_threads(threads)`, interop 1). Each family's official
  model is built by the `official_benchmark.py` of its folder, which the
  child loads by path. What a CPU run of the official code needs (ST-TR's
  `.cuda()` calls and in-place dropout, unused imports) is patched in memory
  and listed in `notes`. GAST-Net (`gast_*`) and VideoPose3D
  (`videopose3d_*`): `sequence_throughput` with the layer-by-layer model on
  the same padded clip, `single_frame_latency` with the strided one on one
  receptive field; ST-TR (`st_tr_spatial_joint`, `st_tr_temporal_joint`,
  `st_tr_temporal_agcn_joint`): inference in eval mode under `no_grad`, and
  a training step (forward, cross-entropy, backward, SGD Nesterov momentum
  0.9, lr 0.1, weight decay 1e-4); the clips are transposed to its
  (N, C, T, V, M) layout before the timing. Only `--option`s with an
  official counterpart are passed (GAST-Net, VideoPose3D: `filter_widths`,
  `channels`, `causal`); another preset or option is an `errors` row and the
  run goes on, as is an interpreter without torch or a missing checkout. The
  official code runs twice for each model, before and after our rows, as the
  machine's speed drifts over minutes: the official row's value is the
  median of both rounds' times (`rounds` keeps each), and the other rows'
  `official` / `speedup_vs_official` come from it (`official_source`
  "same_run"), at any size, with `speedup_range` against the faster and the
  slower round (a failed second round is a note; the first round stands). Without a same-run row (no `official` backend, or it failed),
  the constants `report.OFFICIAL_REFERENCE` (measured on 2 cores on other days
  at `REFERENCE_SIZES`, without `--quick` or `--option`) are the fallback,
  `official_source` "reference_constant", marked † in the table: the machine's
  speed varies from day to day, so such a ratio is indicative only. PyTorch's
  OpenMP threads spin while waiting: on a machine shared with other work its
  times degrade far more than TensorFlow's (`OMP_WAIT_POLICY` and the like
  are inherited by the child, and noted);
- quantised exports, inference only: `onnxruntime_int8` (static QDQ int8,
  `export.onnx_export.export_onnx_quantized(mode="int8")`, calibrated on
  seeded random inputs of the measured shape), `onnxruntime_dynamic_int8`
  (`mode="dynamic_int8"`), `tflite_int8` (full-integer,
  `export_tflite(quantize="int8")`) and `tflite_float16` (float16 weights).
  Each row carries its `precision` and its `accuracy` against our float32
  Keras model on the measured input (`measure._quantized_accuracy`: the
  largest absolute and relative difference, and for lifters in metres the
  largest coordinate error and mean joint error in mm, for classifiers the
  top-1 agreement and largest logit difference). They are never the
  `fastest` and never compared with the official code;
- `skip_empty_persons` (action models, opt-in): the measurement
  `ntu60_mix_inference_throughput` on a realistic NTU-60 mix: 60 clips of
  the measured shape, one per class, the 49 one-person classes' second
  person all zero (A050-A060, the 11 mutual actions, have two), in batches
  of the measured size, run through `inference.empty_persons.
  EmptyPersonSkipper` (traced once; the empty persons' features from its
  cache); with `keras` also requested, the plain model's `tf.function` on
  the same mix is timed as that measurement's keras row. Timed as whole
  passes over the 60 clips (at most 3, and at most `repeats`) after one
  warm-up call per batch shape; value: 60 / median pass (clips/s); no FLOP
  count (the skipper does less work than the network it answers for). The
  notes give the persons the skipper ran per pass and its largest logit
  difference from the plain model on the mix.

The exported files come from the same `export.common.ExportSpec` (hence the
same Keras model and weights, as `build_specs` prepares them for export) as
the keras/xla measurements, with the clip length fixed to the measured one.
The jax process builds the same preset with the same options through
`build_specs` (BatchNorms folded as for the TF rows), loads the TF rows'
weights (`save_weights` to the run's temporary folder, `load_weights` in the
child) and times the parent's input arrays; its first output is checked
against the Keras model's (sums within 1e-3; on a GPU 1e-2), a mismatch is
an error. Inputs are seeded random numpy arrays (`np.random.default_rng(0)`).
Every timed call goes from a numpy input to numpy outputs; `warmup` calls
(XLA compilation, TFLite tensor allocation, JAX tracing and compilation,
...) are run first and not timed. The median of the repeated calls is reported, with
its p50 / p90 in milliseconds and every time in `times_s`. A jax or official
process that fails (jax or torch not installed, a model that does not build
or trace) is recorded in `errors` for each of its measurements, as any
failing backend.

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
  - `training_throughput` (keras, xla, jax and official): one full training step in a
    `tf.function(jit_compile=False/True)` on a freshly built model: forward
    with training=True, `SparseCategoricalCrossentropy(from_logits=True)` on
    random labels, `tape.gradient` and `optimizer.apply` of the preset's recipe
    optimizer at its learning rate (ST-TR: `SGDWithL2`, lr 0.1, momentum 0.9
    Nesterov, L2 1e-4). jax: the same step jitted, gradients by
    `jax.value_and_grad` of the stateless forward and loss, then
    `optimizer.stateless_apply` of the same optimizer; the state carries from
    call to call. Every training row starts from its own fresh random
    initialisation. Value: batch / median seconds (clips/s). Ensemble
    presets are trained per stream, so they have no training measurement.
    Pose lifters are not trained in the benchmark.

FLOPs (`flops`, for the whole timed call) are counted by the TensorFlow
profiler (`tf.compat.v1.profiler.profile` with `float_operation()` options)
on the graph of the measured `tf.function`, traced at the measured input shape:

- inference (`flops_method` "tf_profiler_frozen_forward"): the forward graph
  with its variables frozen to constants
  (`convert_variables_to_constants_v2`). The same count is reported for every
  backend, jax, official and the quantised ones included (the same network;
  for int8 a float32-equivalent count);
- training (`flops_method` "tf_profiler_training_step_graph"): the training
  step's own graph, not frozen: forward, loss, gradients and optimizer update
  (the jax and official rows reuse it: the same step).

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
and inter-op pools (before any TF op runs: TensorFlow's default for every
core, as the zoo's commands run), ONNX Runtime's
`intra_op_num_threads` (inter-op 1) and LiteRT's `num_threads`, and pins the
jax process to that many of this process's CPUs (`sched_setaffinity`: XLA
sizes its CPU thread pool by the schedulable CPUs and has no thread-count
flag) and PyTorch's intra-op threads of the official process (interop 1);
the counts in effect (for jax: the CPUs the child reports; official: its
`torch.get_num_threads()`) are recorded in `settings.threads`.

Devices (`--device`): "cpu" (default) hides the GPUs from TensorFlow, so the
benchmark is a CPU benchmark on any machine. "gpu" fails at once (exit status
1, nothing written) when TensorFlow sees no GPU; otherwise keras and xla run
on TensorFlow's GPU:0 (memory growth on), jax on JAX's first GPU when its
process sees one (`JAX_PLATFORMS=cuda`), onnxruntime only with its
CUDAExecutionProvider and tflite, official and the quantised backends never
(`measure.plan_backends`; what is left out is in `notes`). The GPUs (name, compute capability, memory from
nvidia-smi) are in `machine.gpus`; the GEMM ceiling is an 8192 x 8192
`tf.matmul` on GPU:0, `machine.peak_gflops_per_s` is null (no CPU peak against
GPU numbers) and there are no official (CPU) comparisons. Throughputs are of
one GPU.

Output: a progress bar on stderr, a markdown table on stdout and the JSON
report (`skeleton_zoo/data/benchmark.schema.json`) written atomically to
`--out` after every measurement (schema version 3: `official_source`,
`precision`, `accuracy`, `settings.official`). `fastest` lists the fastest of
our float32 backends on every model's inference measurement. A failing
backend is recorded in `errors` and the run continues; the exit status is 1
when anything failed. Flag errors (an unknown backend, `official` without
`--official_python`, an `--official_source` that is not NAME=DIR of a known
NAME and an existing directory, ...) name the flag, what was expected and
what was found; the exit status is 1 and nothing is written.
"""

from skeleton_zoo.benchmark.flops import DENSE_OP_TYPES, count_flops, einsum_flops, register_einsum_flops
from skeleton_zoo.benchmark.machine import cpu_info, gemm_ceiling, gpu_info, machine_info
from skeleton_zoo.benchmark.measure import (
    BACKENDS,
    DEFAULT_BACKENDS,
    DEFAULT_MODELS,
    DEVICES,
    OFFICIAL_BACKEND,
    QUANTIZED_BACKENDS,
    QUICK_MODELS,
    run_benchmark,
)
from skeleton_zoo.benchmark.report import (
    OFFICIAL_REFERENCE,
    REFERENCE_SIZES,
    SCHEMA_VERSION,
    TABLE_HEADER,
    fastest_backends,
    format_table,
)

__all__ = [
    "BACKENDS", "DEFAULT_BACKENDS", "DEFAULT_MODELS", "DENSE_OP_TYPES", "DEVICES", "OFFICIAL_BACKEND",
    "OFFICIAL_REFERENCE", "QUANTIZED_BACKENDS", "QUICK_MODELS",
    "REFERENCE_SIZES", "SCHEMA_VERSION", "TABLE_HEADER", "count_flops", "cpu_info", "einsum_flops",
    "fastest_backends", "format_table", "gemm_ceiling", "gpu_info", "machine_info", "register_einsum_flops",
    "run_benchmark",
]
