"""TFLite (LiteRT) export of an `ExportSpec`, TFLite builtin ops only.

The converter runs with `target_spec.supported_ops = [TFLITE_BUILTINS]` and
never with `SELECT_TF_OPS`: an exported file runs on the plain LiteRT runtime
(no Flex delegate, no custom ops). A model needing any other op fails here, at
export time, with `UnsupportedOpError` naming the TF op(s) and where they come
from, not later on a phone.

The file carries one SignatureDef, `serving_default`, whose input key is
`spec.input_name` and whose output keys are `spec.output_names`. Dynamic
dimensions (batch; frames where `spec.input_shape[1]` is None) stay dynamic
(shape signature -1): `run_tflite` resizes the input to each call's shape.

Quantization (`quantize=`):
- "none": float32.
- "float16": float16 weights (`Optimize.DEFAULT` + `supported_types=[float16]`);
  CPU kernels dequantize them to float32 at load, so activations stay float32.
- "dynamic_int8": dynamic-range quantization (`Optimize.DEFAULT` alone): int8
  weights of the larger constant tensors, activations quantized on the fly
  inside the matmul / conv kernels, float32 everywhere else.
- "int8": full-integer (static) post-training quantization: `Optimize.DEFAULT`
  with a `representative_dataset` (`export.quantization.calibration_inputs`)
  and `TFLITE_BUILTINS_INT8` only, so every op runs an int8 kernel (an op
  without one fails the export); the input and output stay float32 (one
  QUANTIZE / DEQUANTIZE at the ends), so `run_tflite` runs the file unchanged.

Accuracy of the quantized files is checked against `QUANTIZED_TOLERANCE`.
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
import time

import numpy as np

from export import quantization
from skeleton_zoo.utils.files import atomic_write

__all__ = [
    "QUANTIZE_MODES",
    "QUANTIZED_TOLERANCE",
    "SIGNATURE_KEY",
    "UnsupportedOpError",
    "convert_tflite",
    "export_tflite",
    "quantization_error",
    "run_tflite",
    "tflite_runner",
    "tflite_signature",
]

QUANTIZE_MODES = ("none", "float16", "dynamic_int8", "int8")
SIGNATURE_KEY = "serving_default"

# The bounds of `export.verify` on the quantised files: one table for every format
# (`export.quantization.QUANTIZED_TOLERANCE`, with the measurements behind it), this format's modes.
QUANTIZED_TOLERANCE = {mode: quantization.QUANTIZED_TOLERANCE[mode] for mode in QUANTIZE_MODES if mode != "none"}

_LIBRARIES = ("tensorflow", "keras", "tf_keras", "absl", "_pytest", "pluggy", "pytest")
_DOCS = "https://ai.google.dev/edge/litert/models/ops_compatibility"


class UnsupportedOpError(ValueError):
    """The model needs ops that are not TFLite builtins (Flex / Select TF or custom ops).

    Attributes:
        ops: TF op names, e.g. ("tf.MatrixInverse",).
        nodes: graph node names of the offending ops (Keras layer paths), when known.
    """

    def __init__(self, message, ops=(), nodes=()):
        super().__init__(message)
        self.ops = tuple(ops)
        self.nodes = tuple(nodes)


def _spec_label(spec) -> str:
    name = getattr(spec, "name", None) or getattr(getattr(spec, "model", None), "name", None)
    return f"'{name}'" if name else "the model"


def _user_frame(location) -> str | None:
    """"file:line" of the innermost frame of a converter error location
    outside TensorFlow / Keras / pytest: the model code that created the op."""
    calls = list(location.call)
    # The op's own traceback (outermost first) runs up to the next named call
    # (the function call sites that lead to it follow).
    end = next((i for i, c in enumerate(calls) if i and c.name), len(calls))
    frames = [c.source for c in calls[:end] if c.HasField("source") and c.source.filename]
    for source in reversed(frames):  # innermost first
        name = source.filename.replace("\\", "/")
        if name.startswith("<") or any(f"/{lib}/" in name for lib in _LIBRARIES):
            continue
        return f"{source.filename}:{source.line}"
    return None


def _offending_ops(error):
    """[(op, node or None, source or None, kind)] from a converter error.

    Uses the structured `ConverterError.errors` when present, else parses the
    error text ("'tf.X' op is neither a custom op nor a flex op",
    "TF Select ops: X, Y", "Custom ops: X", "FlexX").
    """
    found = []
    for data in getattr(error, "errors", None) or []:
        code = data.ErrorCode.Name(data.error_code) if data.error_code else ""
        if code not in ("ERROR_NEEDS_FLEX_OPS", "ERROR_NEEDS_CUSTOM_OPS") and \
                "neither a custom op nor a flex op" not in data.error_message:
            continue
        op = data.operator.name or "unknown op"
        node = next((c.name.split("@")[0] for c in data.location.call if c.name), None)
        kind = "custom op" if code == "ERROR_NEEDS_CUSTOM_OPS" else "Flex (Select TF) op"
        found.append((op, node, _user_frame(data.location), kind))
    if found:
        return found
    text = str(error)
    names = re.findall(r"'(tf\.\w+)' op is neither a custom op nor a flex op", text)
    for pattern in (r"TF Select ops: ([^\n]+)", r"Custom ops: ([^\n]+)"):
        for match in re.findall(pattern, text):
            names += ["tf." + n.strip() for n in match.split(",") if n.strip()]
    names += ["tf." + n for n in re.findall(r"\bFlex(\w+)", text)]
    return [(n, None, None, "non-builtin op") for n in dict.fromkeys(names)]


def _unsupported_op_error(spec, error) -> UnsupportedOpError | None:
    ops = _offending_ops(error)
    if not ops:
        return None
    names = list(dict.fromkeys(op for op, *_ in ops))
    lines = []
    for op, node, source, kind in ops:
        where = ", ".join(w for w in (f"node '{node}'" if node else None, f"created at {source}" if source else None) if w)
        lines.append(f"  - {op} ({kind})" + (f": {where}" if where else ""))
    message = (
        f"TFLite export of {_spec_label(spec)}: {len(names)} TF op(s) are not TFLite builtins: "
        f"{', '.join(names)}.\n" + "\n".join(dict.fromkeys(lines)) + "\n"
        "These exports use builtin ops only (no SELECT_TF_OPS / Flex delegate, no custom ops). "
        "Rewrite the layer(s) above with ops that lower to builtins (matmul, einsum, conv, "
        "reshape/transpose, gather, elementwise maths; see " + _DOCS + "), or deploy this model "
        "as a SavedModel or ONNX instead."
    )
    return UnsupportedOpError(message, ops=names, nodes=[n for _, n, _, _ in ops if n])


def convert_tflite(spec, quantize: str = "none", calibration=None) -> bytes:
    """The TFLite flatbuffer of `spec` (builtin ops only).

    Args:
        spec: an `ExportSpec`, or any object with `tf_function()` (a
            `tf.function` with its input signature, returning a dict keyed by
            the output names), `input_name`, `output_names` and `name`
            ("int8" also needs `input_shape` and `example_input`, or
            `calibration`).
        quantize: one of `QUANTIZE_MODES`.
        calibration: "int8" only: the representative inputs, as
            `export.quantization.calibration_inputs` takes them (None: seeded
            random inputs of the spec's shape).

    Raises:
        ValueError: unknown `quantize`, or calibration inputs with another
            mode or of the wrong shape.
        UnsupportedOpError: an op is not a TFLite builtin.
        RuntimeError: the converted file lost the spec's signature names, or
            kept its weights as resource variables; "int8": an op has no
            int8 kernel.
    """
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize: expected one of {list(QUANTIZE_MODES)}, found {quantize!r}.")
    if calibration is not None and quantize != "int8":
        raise ValueError(f"calibration: quantize={quantize!r} uses no calibration inputs, "
                         f"found {type(calibration).__name__}.")
    import tensorflow as tf

    from export import quantization

    inputs = quantization.calibration_inputs(spec, calibration) if quantize == "int8" else None

    function = spec.tf_function()
    concrete = function.get_concrete_function()
    # With a trackable owner the converter goes through a SavedModel and
    # emits a `serving_default` SignatureDef keyed by the input TensorSpec
    # name and the output dict keys. The owner tracks the function's captured
    # tf.Variables themselves: tracking the Keras model instead leaves every
    # weight as a VAR_HANDLE / READ_VARIABLE resource that LiteRT never
    # initializes (NaN outputs), rather than a frozen constant.
    owner = tf.Module()
    owner.captured_variables = list(concrete.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], owner)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.allow_custom_ops = False
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        # The calibrator runs the float model on each input (resized to its
        # shape) and records every tensor's range.
        converter.representative_dataset = lambda: ([x] for x in inputs)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    try:
        content = converter.convert()
    except Exception as error:  # ConverterError, or a plain one from older paths
        unsupported = _unsupported_op_error(spec, error)
        if unsupported is not None:
            raise unsupported from error
        if quantize == "int8":
            raise RuntimeError(f"TFLite int8 export of {_spec_label(spec)}: full-integer quantization "
                               f"failed (an op without an int8 kernel?); --quantize dynamic_int8 keeps "
                               f"float32 activations. Converter: {str(error).strip()[-2000:]}") from error
        raise
    _check_converted(spec, content)
    return content


def tflite_signature(model) -> dict:
    """{"inputs": [...], "outputs": [...]} of the `serving_default` signature
    of a TFLite file path or flatbuffer bytes ({} when it has none)."""
    signatures = _interpreter(model).get_signature_list()
    return dict(signatures.get(SIGNATURE_KEY, {}))


def _check_converted(spec, content):
    """The file has the spec's signature names and its weights as constants."""
    interpreter = _interpreter(content)
    _check_signature(spec, dict(interpreter.get_signature_list().get(SIGNATURE_KEY, {})))
    variable_ops = {d["op_name"] for d in interpreter._get_ops_details()} & {"VAR_HANDLE", "READ_VARIABLE"}
    if variable_ops:
        raise RuntimeError(
            f"TFLite export of {_spec_label(spec)}: the file reads its weights from resource "
            f"variables ({', '.join(sorted(variable_ops))}) instead of constants; LiteRT would "
            f"run it on uninitialized weights."
        )


def _check_signature(spec, signature):
    want_inputs, want_outputs = [spec.input_name], sorted(spec.output_names)
    if sorted(signature.get("inputs", [])) != want_inputs or sorted(signature.get("outputs", [])) != want_outputs:
        raise RuntimeError(
            f"TFLite export of {_spec_label(spec)}: signature '{SIGNATURE_KEY}' has inputs "
            f"{signature.get('inputs')} and outputs {signature.get('outputs')}; expected "
            f"{want_inputs} and {list(spec.output_names)}."
        )


def export_tflite(spec, path, quantize: str = "none", calibration=None) -> pathlib.Path:
    """Writes `spec` as a TFLite file (builtin ops only), atomically.

    Args:
        spec: an `ExportSpec`.
        path: output file, e.g. "out/gast_243_sequence.tflite"; parent folders
            are created. The file appears complete or not at all.
        quantize: "none" (float32), "float16" (float16 weights),
            "dynamic_int8" (dynamic-range int8) or "int8" (full-integer int8,
            float32 input and output).
        calibration: "int8" only: representative inputs (None: seeded random
            ones); see `export.quantization.calibration_inputs`.

    Returns:
        The path written.

    Raises:
        UnsupportedOpError: the model needs a Flex / Select TF or custom op;
            nothing is written.
    """
    path = pathlib.Path(path)
    content = convert_tflite(spec, quantize, calibration)
    with atomic_write(path, "wb") as f:
        f.write(content)
    return path


def _interpreter(model, num_threads=None):
    from ai_edge_litert.interpreter import Interpreter

    if isinstance(model, (bytes, bytearray)):
        return Interpreter(model_content=bytes(model), num_threads=num_threads)
    return Interpreter(model_path=str(model), num_threads=num_threads)


def tflite_runner(path, num_threads: int | None = None):
    """Loads a TFLite file once -> `run(x) -> {output name: array}`.

    For repeated calls (latency measurements) on one file; `run_tflite` loads
    the file at every call.
    """
    interpreter = _interpreter(path, num_threads)
    signatures = interpreter.get_signature_list()
    if SIGNATURE_KEY not in signatures:
        raise ValueError(f"{path}: no '{SIGNATURE_KEY}' signature (found {list(signatures)}); "
                         f"was it written by export_tflite?")
    runner = interpreter.get_signature_runner(SIGNATURE_KEY)
    (input_name,) = signatures[SIGNATURE_KEY]["inputs"]
    detail = runner.get_input_details()[input_name]
    expected = [int(d) for d in detail["shape_signature"]]
    label = path if isinstance(path, (str, os.PathLike)) else "TFLite model"

    def run(x) -> dict:
        x = np.ascontiguousarray(x, dtype=detail["dtype"])
        if x.ndim != len(expected) or any(e != -1 and e != s for e, s in zip(expected, x.shape)):
            raise ValueError(
                f"{label}: input '{input_name}' takes shape "
                f"{tuple(None if e == -1 else e for e in expected)} (None: any size), found {x.shape}."
            )
        # The signature runner resizes the input (and re-plans) when the shape changes.
        outputs = runner(**{input_name: x})
        return {name: np.array(value) for name, value in outputs.items()}

    return run


def run_tflite(path, x, num_threads: int | None = None) -> dict:
    """Runs a TFLite file's `serving_default` signature with LiteRT.

    Args:
        path: the .tflite file (or its bytes).
        x: the input array; dynamic dimensions take any size (the input is
            resized to `x.shape`), fixed ones must match.
        num_threads: LiteRT CPU threads (None: LiteRT's default).

    Returns:
        {output name: array}, e.g. {"poses_3d": ...} or {"logits": ..., "probabilities": ...}.

    Raises:
        ValueError: `x` does not fit the input's fixed dimensions, or the file
            has no `serving_default` signature.
    """
    return tflite_runner(path, num_threads)(x)


def quantization_error(expected: dict, got: dict) -> dict:
    """{output: max |got - expected| / max |expected|}, the measure bounded by
    `QUANTIZED_TOLERANCE`."""
    return {
        name: float(np.max(np.abs(np.asarray(got[name]) - want)) / max(float(np.max(np.abs(want))), 1e-12))
        for name, want in expected.items()
    }


def _main(argv=None):
    """Measures conversion time and errors: python -m export.tflite_export PRESET [OPTIONS as JSON]."""
    import argparse
    import json

    from export.common import build_specs

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("preset")
    parser.add_argument("--overrides", default="{}", help="preset options as JSON")
    parser.add_argument("--out", default=None, help="folder for the .tflite files (default: a temp folder)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="tflite_"))
    for spec in build_specs(args.preset, **json.loads(args.overrides)):
        x = spec.example_input()
        expected = spec.keras_outputs(x)
        for mode in QUANTIZE_MODES:
            start = time.perf_counter()
            path = export_tflite(spec, out / f"{spec.name}_{mode}.tflite", quantize=mode)
            seconds = time.perf_counter() - start
            got = run_tflite(path, x)
            abs_err = {k: float(np.max(np.abs(got[k] - v))) for k, v in expected.items()}
            print(json.dumps({"spec": spec.name, "quantize": mode, "convert_s": round(seconds, 2),
                              "size_mb": round(path.stat().st_size / 1e6, 3), "max_abs": abs_err,
                              "rel": quantization_error(expected, got)}), flush=True)


if __name__ == "__main__":
    _main()
