"""ONNX export of an `ExportSpec` (tf2onnx), and ONNX Runtime inference.

The conversion follows Keras' own ONNX export path for the TensorFlow backend
(`keras.src.export.onnx.export_onnx`): the entry point is traced as a
`tf.function` with an input signature and handed to
`tf2onnx.convert.from_function`. `tf2onnx.convert.from_keras` is not used: it
does not work with Keras 3 models. Calling `model.export(format="onnx")`
itself is not an option either, as it exports `model.call` only, without the
spec's named outputs (single-frame slice, softmax probabilities).

After conversion the graph is normalised to the spec's interface:

- one input named `spec.input_name`, float32, dims from `spec.input_shape`:
  batch is the symbolic dim "batch", a dynamic frames dim is "frames";
- outputs named `spec.output_names`, in that order, float32, with static dims
  from TensorFlow's shape inference, batch "batch" and a dynamic output frames
  dim "frames_out" (pose lifting, variant "sequence":
  frames_out = frames - receptive_field + 1).

Shapes per task (see `export.common`):

- pose lifting, "sequence": keypoints_2d (batch, frames, J, 2)
  -> poses_3d (batch, frames_out, J, 3);
- pose lifting, "single_frame": keypoints_2d (batch, rf, J, 2)
  -> poses_3d (batch, J, 3);
- action recognition: skeleton (batch, frames, J, persons, channels)
  -> logits, probabilities (batch, classes).

int8 files (`export_onnx_quantized`, ONNX Runtime's quantisation tool) keep
this interface, float32 in and out: "int8" is static QDQ quantisation
(8-bit activations calibrated on representative inputs, per-channel int8
weights, a float output head), "dynamic_int8" quantises the weights and, per call, the
activations of MatMul / Conv only. Both are checked against
`QUANTIZED_TOLERANCE` by `export.verify`.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile

import numpy as np

from export import quantization
from skeleton_zoo.utils.files import atomic_path
from skeleton_zoo.utils.timing import latency_ms

__all__ = ["DEFAULT_OPSET", "QUANTIZE_MODES", "QUANTIZED_TOLERANCE", "export_onnx", "export_onnx_quantized",
           "load_session", "run_onnx", "onnx_latency_ms"]

DEFAULT_OPSET = 17
QUANTIZE_MODES = ("int8", "dynamic_int8")

# The bounds of `export.verify` on the quantised files: one table for every format
# (`export.quantization.QUANTIZED_TOLERANCE`, with the measurements behind it), this format's modes.
QUANTIZED_TOLERANCE = {mode: quantization.QUANTIZED_TOLERANCE[mode] for mode in QUANTIZE_MODES}

BATCH_DIM = "batch"
FRAMES_DIM = "frames"
FRAMES_OUT_DIM = "frames_out"


class OnnxExportError(RuntimeError):
    """An ONNX export failed; the message names the spec and the failing step."""


def _describe(spec) -> str:
    return f"ONNX export of '{spec.name}' (preset '{spec.preset}')"


def _check_opset(spec, opset) -> int:
    from tf2onnx import constants

    supported = sorted(constants.OPSET_TO_IR_VERSION)
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) \
            or not 7 <= opset <= supported[-1]:
        raise ValueError(f"{_describe(spec)}: opset must be an integer in "
                         f"[7, {supported[-1]}] (tf2onnx), found {opset!r}.")
    return int(opset)


def _rename_value(graph, old: str, new: str) -> None:
    """Renames tensor `old` to `new` everywhere in `graph` (node inputs/outputs,
    graph inputs/outputs, value_info)."""
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == old:
                node.input[i] = new
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = new
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        if value.name == old:
            value.name = new


def _set_dims(value, dims) -> None:
    """Sets the shape of a graph input/output: ints are static, strings symbolic."""
    shape = value.type.tensor_type.shape
    del shape.dim[:]
    for d in dims:
        dim = shape.dim.add()
        if isinstance(d, str):
            dim.dim_param = d
        else:
            dim.dim_value = int(d)


def _output_dims(spec, name: str, tf_shape) -> list:
    """ONNX dims of output `name` from its TensorFlow static shape."""
    dims = []
    for i, d in enumerate(tf_shape.as_list()):
        if d is not None:
            dims.append(d)
        elif i == 0:
            dims.append(BATCH_DIM)
        elif i == 1 and spec.input_shape[1] is None:
            dims.append(FRAMES_OUT_DIM)
        else:
            dims.append(f"{name}_dim_{i}")
    return dims


def _normalise_interface(spec, model, tf_outputs: dict) -> None:
    """Names and shapes the graph inputs/outputs as the spec declares them.

    Args:
        tf_outputs: output name -> `tf.TensorShape`, in tf.nest flattening
            order (the order tf2onnx emits the graph outputs in).
    """
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise OnnxExportError(f"{_describe(spec)}: expected 1 graph input, "
                              f"found {[v.name for v in inputs]}.")
    if inputs[0].name != spec.input_name:  # e.g. "keypoints_2d:0"
        _rename_value(graph, inputs[0].name, spec.input_name)
    _set_dims(inputs[0], [BATCH_DIM if i == 0 else FRAMES_DIM if d is None else d
                          for i, d in enumerate(spec.input_shape)])

    flat_names = list(tf_outputs)
    if len(graph.output) != len(flat_names) or set(flat_names) != set(spec.output_names):
        raise OnnxExportError(
            f"{_describe(spec)}: graph outputs {[v.name for v in graph.output]} do not "
            f"match the entry point's outputs {flat_names} / spec {list(spec.output_names)}.")
    for value, name in zip(list(graph.output), flat_names):
        if value.name != name:  # e.g. "Identity:0"
            _rename_value(graph, value.name, name)
    by_name = {v.name: v for v in graph.output}
    ordered = [by_name[n] for n in spec.output_names]
    for value in ordered:
        _set_dims(value, _output_dims(spec, value.name, tf_outputs[value.name]))
    ordered = [type(v).FromString(v.SerializeToString()) for v in ordered]
    del graph.output[:]
    graph.output.extend(ordered)
    # Stale value_info for the interface tensors would contradict the new dims.
    interface = {spec.input_name, *spec.output_names}
    keep = [v for v in graph.value_info if v.name not in interface]
    del graph.value_info[:]
    graph.value_info.extend(keep)


def _check_ops(spec, model) -> None:
    """tf2onnx converts with continue_on_error: TF ops it cannot convert stay
    in the graph under their TF names. Fail with their names instead."""
    import onnx

    opsets = {o.domain: o.version for o in model.opset_import}
    unknown = sorted({f"{n.domain + '::' if n.domain else ''}{n.op_type}" for n in model.graph.node
                      if not onnx.defs.has(n.op_type, n.domain)
                      and n.domain in ("", "ai.onnx")})
    if unknown:
        raise OnnxExportError(
            f"{_describe(spec)}: tf2onnx could not convert these TensorFlow ops at opset "
            f"{opsets.get('', '?')}: {unknown}.")


@contextlib.contextmanager
def _fast_optimizer():
    """tf2onnx deep-copies the whole graph before each of its optimizer
    passes, to fall back to the unoptimised graph when a pass fails: about
    40% of a GAST-Net conversion. Setting TF2ONNX_CATCH_ERRORS (any value;
    tf2onnx 1.17 reads any value as false) turns the copies off; `export_onnx`
    converts again with them when a pass fails."""
    name = "TF2ONNX_CATCH_ERRORS"
    previous = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def export_onnx(spec, path, opset: int = DEFAULT_OPSET) -> pathlib.Path:
    """Exports `spec` to an ONNX file.

    The spec's `tf.function` (input `spec.input_name`, shape `spec.input_shape`)
    is converted with `tf2onnx.convert.from_function`, the graph interface is
    renamed/reshaped to the spec (see the module docstring), the model is
    validated with `onnx.checker.check_model(full_check=True)` and written
    atomically: to a temporary file in the target folder, then renamed, so a
    failed export leaves no file behind (an existing file is kept).

    Args:
        spec: `export.common.ExportSpec`.
        path: output file (parent folders are created).
        opset: ONNX opset of the default domain (tf2onnx supports up to 18).

    Returns:
        The path written.

    Raises:
        ValueError: an unsupported opset.
        OnnxExportError: conversion, renaming or validation failed; the message
            names the spec and the step.
    """
    import tensorflow as tf
    import tf2onnx

    opset = _check_opset(spec, opset)
    path = pathlib.Path(path)
    signature = [tf.TensorSpec(spec.input_shape, tf.float32, name=spec.input_name)]
    try:
        function = spec.tf_function()
        concrete = function.get_concrete_function(*signature)
        structured = concrete.structured_outputs
        # tf2onnx emits the outputs in flattening order (dicts: sorted keys).
        tf_outputs = {name: structured[name].shape for name in tf.nest.flatten(
            {k: k for k in structured})}
    except Exception as e:
        raise OnnxExportError(f"{_describe(spec)}: tracing the tf.function with input "
                              f"{spec.input_name} {spec.input_shape} failed: {e}") from e
    try:
        try:
            with _fast_optimizer():
                model, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
        except Exception:  # an optimizer pass failed: convert again with tf2onnx's fallbacks
            model, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
    except Exception as e:
        raise OnnxExportError(f"{_describe(spec)}: tf2onnx conversion at opset {opset} "
                              f"failed: {type(e).__name__}: {e}") from e

    _check_ops(spec, model)
    _normalise_interface(spec, model, tf_outputs)
    model.graph.name = spec.name
    model.doc_string = (f"skeleton_zoo {spec.task} '{spec.name}': input {spec.input_name} "
                        f"{spec.input_shape}, outputs {list(spec.output_names)}.")
    metadata = {"preset": spec.preset, "task": spec.task, "variant": spec.variant or "",
                "input_name": spec.input_name, "output_names": ",".join(spec.output_names)}
    receptive_field = getattr(spec.model, "receptive_field", None)
    if receptive_field is not None:
        metadata["receptive_field"] = str(receptive_field)
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    return _check_and_save(spec, model, path, "converted", full_check=True)


def _check_and_save(spec, model, path, what: str, full_check: bool = False):
    """Runs `onnx.checker` on `model`, then writes it to `path` atomically."""
    import onnx

    try:
        onnx.checker.check_model(model, full_check=full_check)
    except Exception as e:
        raise OnnxExportError(f"{_describe(spec)}: onnx.checker rejected the {what} model: {e}") from e
    try:
        with atomic_path(path) as tmp:
            onnx.save_model(model, str(tmp))
    except Exception as e:
        raise OnnxExportError(f"{_describe(spec)}: writing '{path}' failed: {e}") from e
    return path


class _CalibrationReader:
    """`onnxruntime.quantization.CalibrationDataReader` over a list of inputs."""

    def __init__(self, input_name: str, inputs):
        self._feeds = iter([{input_name: np.asarray(x, dtype=np.float32)} for x in inputs])

    def get_next(self):
        return next(self._feeds, None)


_COMPUTE_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _output_head(model, depth: int = 12) -> list:
    """Names of the nodes from each graph output back to its last Conv /
    MatMul / Gemm (through reshapes, slices, bias adds, softmax), following
    each node's first input that a node produces; none for an output without
    such a node within `depth` nodes."""
    producer = {name: node for node in model.graph.node for name in node.output}
    head = []
    for output in model.graph.output:
        path, name = [], output.name
        while name in producer and len(path) < depth:
            node = producer[name]
            path.append(node.name)
            if node.op_type in _COMPUTE_OPS:
                head += [n for n in path if n not in head]
                break
            name = next((i for i in node.input if i in producer), None)
    return head


def _interface(model) -> list:
    """[(name, dims)] of the graph inputs and outputs, to check that
    quantisation kept the interface."""
    initializers = {t.name for t in model.graph.initializer}
    values = [v for v in model.graph.input if v.name not in initializers] + list(model.graph.output)
    return [(v.name, [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]) for v in values]


def export_onnx_quantized(spec, path, mode: str = "int8", calibration=None, opset: int = DEFAULT_OPSET,
                          float32_path=None, reduce_range: bool | None = None) -> pathlib.Path:
    """Writes an int8 ONNX file of `spec` with ONNX Runtime's quantisation tool, atomically.

    The float32 model (`export_onnx`, into a temporary folder, or
    `float32_path`) goes through `quant_pre_process` (ONNX shape inference
    and ONNX Runtime's basic graph optimisations; its symbolic shape
    inference is skipped, as it needs sympy and the graph's shapes are
    already inferred) and then:

    - "int8": `quantize_static`, QDQ format: 8-bit activations (uint8 on
      x86, int8 elsewhere) with ranges from MinMax calibration on
      `export.quantization.calibration_inputs`, int8 per-channel weights
      (calibration keeps each tensor's min and max per input, not the
      activations, so memory stays small); ONNX Runtime fuses the QuantizeLinear /
      DequantizeLinear pairs into integer kernels (QLinearConv,
      QLinearMatMul, ...) when it loads the file. The output head (the
      last Conv / MatMul of each output and what follows it) stays float:
      quantised, it clips every output beyond the calibrated range (gast_27
      on Human3.6M test subjects, calibrated on training subjects: largest
      error 149 mm, 41 mm with a float head).
    - "dynamic_int8": `quantize_dynamic`: int8 per-channel weights of
      MatMul / Conv / Gemm, their activations quantised on every call.

    Weights use 7 bits (`reduce_range`) where this CPU lacks VNNI
    (`export.quantization.reduce_range_default`); pass `reduce_range` for a
    file meant for another CPU. The input and output names, dims and float32
    dtypes stay those of `export_onnx` (so `run_onnx` runs either file); the
    metadata gains "quantization", "reduce_range" and "calibration".

    Args:
        spec: `export.common.ExportSpec`.
        path: output file, e.g. "out/gast_243_sequence_int8.onnx" (parent
            folders are created). A failed export leaves no file behind.
        mode: "int8" (static) or "dynamic_int8".
        calibration: "int8" only: None (seeded random inputs), a .npy / .npz
            file, or arrays of clips; see `export.quantization.calibration_inputs`.
        opset: ONNX opset of the float32 model (13 or more: per-channel
            quantisation needs the `axis` of QuantizeLinear).
        float32_path: an existing `export_onnx` file of `spec` to quantise
            instead of exporting one.
        reduce_range: 7-bit weights (None: this CPU's default).

    Returns:
        The path written.

    Raises:
        ValueError: an unknown `mode`, calibration inputs with "dynamic_int8",
            or calibration inputs of the wrong shape.
        OnnxExportError: conversion, pre-processing or quantisation failed;
            the message names the spec and the step.
    """
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from export import quantization

    if mode not in QUANTIZE_MODES:
        raise ValueError(f"{_describe(spec)}: mode: expected one of {list(QUANTIZE_MODES)}, found {mode!r}.")
    if mode != "int8" and calibration is not None:
        raise ValueError(f"{_describe(spec)}: calibration: mode {mode!r} uses no calibration inputs, "
                         f"found {type(calibration).__name__}.")
    path = pathlib.Path(path)
    reduce_range = quantization.reduce_range_default() if reduce_range is None else bool(reduce_range)
    # Shapes are checked (and a file read) before the slow conversion.
    inputs = quantization.calibration_inputs(spec, calibration) if mode == "int8" else None
    with tempfile.TemporaryDirectory(prefix="skeleton_zoo_quantize_") as folder:
        folder = pathlib.Path(folder)
        source = pathlib.Path(float32_path) if float32_path is not None else \
            export_onnx(spec, folder / f"{spec.name}.onnx", opset=opset)
        prepared, quantized = folder / "prepared.onnx", folder / "quantized.onnx"
        try:
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        except Exception as e:
            raise OnnxExportError(f"{_describe(spec)}: ONNX Runtime's pre-processing of '{source}' for "
                                  f"quantisation failed: {type(e).__name__}: {e}") from e
        try:
            if mode == "int8":
                # x86 multiplies uint8 activations by int8 weights (vpmaddubsw,
                # VNNI's vpdpbusd): U8S8 ran 2.5x faster than S8S8 on AVX2
                # (gast_27 single frame). ARM's dot products take int8 x int8.
                activations = QuantType.QUInt8 if quantization.is_x86() else QuantType.QInt8
                quantize_static(str(prepared), str(quantized), _CalibrationReader(spec.input_name, inputs),
                                quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=reduce_range,
                                activation_type=activations, weight_type=QuantType.QInt8,
                                nodes_to_exclude=_output_head(onnx.load(str(prepared))))
            else:
                quantize_dynamic(str(prepared), str(quantized), per_channel=True, reduce_range=reduce_range,
                                 weight_type=QuantType.QInt8)
        except Exception as e:
            raise OnnxExportError(f"{_describe(spec)}: ONNX Runtime {mode} quantisation failed: "
                                  f"{type(e).__name__}: {e}") from e
        model, original = onnx.load(str(quantized)), onnx.load(str(source), load_external_data=False)
    if _interface(model) != _interface(original):
        raise OnnxExportError(f"{_describe(spec)}: {mode} quantisation changed the interface from "
                              f"{_interface(original)} to {_interface(model)}.")
    metadata = {p.key: p.value for p in original.metadata_props}
    metadata.update(quantization=mode, reduce_range=str(reduce_range).lower(),
                    calibration=quantization.describe_calibration(calibration, inputs))
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    model.graph.name, model.doc_string = original.graph.name, original.doc_string + f" Quantised: {mode}."
    return _check_and_save(spec, model, path, mode)


def load_session(path):
    """An `onnxruntime.InferenceSession` on the CPU for the ONNX file `path`."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(path, x) -> dict:
    """Runs an exported model with ONNX Runtime (CPUExecutionProvider).

    Args:
        path: ONNX file, or an `onnxruntime.InferenceSession`.
        x: the input, e.g. keypoints_2d (batch, frames, J, 2) or skeleton
            (batch, frames, J, persons, channels); cast to float32.

    Returns:
        Output name -> array, e.g. {"poses_3d": (batch, frames_out, J, 3)} or
        {"logits": (batch, classes), "probabilities": (batch, classes)}.
    """
    session = path if hasattr(path, "get_inputs") else load_session(path)
    (inp,) = session.get_inputs()
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {inp.name: np.asarray(x, dtype=np.float32)})
    return dict(zip(names, values))


def onnx_latency_ms(path, x, repeats: int = 20, warmup: int = 3) -> float:
    """Median (p50) wall-clock latency in milliseconds of `run_onnx` on `x`,
    after `warmup` untimed runs, on one CPU session."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, found {repeats}.")
    session = path if hasattr(path, "get_inputs") else load_session(path)
    return latency_ms(lambda inputs: run_onnx(session, inputs), x, repeats=repeats, warmup=warmup)
