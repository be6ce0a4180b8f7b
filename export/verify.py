"""Verification of exported artifacts against the Keras model.

Each artifact runs on the spec's seeded random input (quantised formats: a
batch of `QUANTIZED_BATCH` clips; int8 calibrated on a file: that file's
held-out windows, `export.quantization.split_calibration`); the largest
absolute difference from Keras per output must be within the format's
tolerance: float32 formats within `FP32_TOLERANCE` (absolute); quantised
formats within their mode's relative tolerance
(`export.onnx_export.QUANTIZED_TOLERANCE`,
`export.tflite_export.QUANTIZED_TOLERANCE`) times the largest absolute Keras
value of that output. Latency is the median of repeated calls on a batch of
one after warm-up.

Every row also states its accuracy against float32 Keras (`accuracy`), in
the task's terms:

- pose lifting: the largest absolute coordinate error and the mean per-joint
  position error, in millimetres (receptive-field lifters output root-relative
  metres: x 1000; sequence-to-sequence lifters output MotionBERT's normalised
  units, whose de-normalisation needs each frame's camera and 2.5D factor, so
  their errors stay in those units, under "_normalised" keys);
- action recognition: top-1 agreement (the fraction of clips whose argmax
  equals float32's) and the largest logit difference.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import numpy as np

from skeleton_zoo.utils.files import write_text
from skeleton_zoo.utils.timing import latency_ms

__all__ = ["Check", "FP32_TOLERANCE", "QUANTIZED_BATCH", "MM_PER_METRE", "accuracy", "compare", "check_artifact",
           "latency_ms", "format_table", "write_report"]

FP32_TOLERANCE = 1e-4
# Quantised rows compare 8 clips, not 2: enough for a top-1 agreement.
QUANTIZED_BATCH = 8
MM_PER_METRE = 1000.0
# Row names of quantised formats end with their mode ("onnx_int8", "tflite_float16").
_QUANTIZED_SUFFIXES = ("float16", "int8")


@dataclasses.dataclass
class Check:
    """One verified artifact (a row of the table).

    Attributes:
        max_abs_diff: output name -> largest |artifact - Keras|.
        tolerance: absolute bound (float32 formats), or relative to each
            output's largest absolute Keras value (`relative`).
        bound: output name -> the absolute bound its max_abs_diff must keep.
        accuracy: against float32 Keras, see `accuracy`.
        inputs: what it was compared on, e.g. "seeded random (8 clips)".
    """

    format: str
    variant: str
    file: str
    size_mb: float | None
    max_abs_diff: dict
    tolerance: float
    p50_ms: float | None
    ok: bool
    relative: bool = False
    bound: dict = dataclasses.field(default_factory=dict)
    accuracy: dict = dataclasses.field(default_factory=dict)
    inputs: str = ""

    @property
    def failures(self) -> list:
        return [name for name, diff in self.max_abs_diff.items()
                if not diff <= self.bound.get(name, self.tolerance)]

    def describe_failure(self) -> str:
        """"<format> <variant>: output(s) [...] differ from Keras by D > B ..."."""
        worst = max(self.failures, key=lambda n: self.max_abs_diff[n])
        bound = self.bound.get(worst, self.tolerance)
        how = (f" ({self.tolerance:g} x the output's largest |value|; {_describe_accuracy(self.accuracy)})"
               if self.relative else "")
        return (f"{self.format} {self.variant}: output(s) {self.failures} differ from Keras by "
                f"{self.max_abs_diff[worst]:.3g} > {bound:.1e}{how}")


def _size_mb(path) -> float | None:
    path = pathlib.Path(path)
    if not path.exists():  # the in-memory Keras reference
        return None
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def accuracy(spec, pairs) -> dict:
    """Accuracy of an artifact against float32 Keras, in the task's terms.

    Args:
        spec: the `ExportSpec` (its task and model decide the measures).
        pairs: [(expected, got)], each {output name: array} of one call:
            poses_3d (batch, [frames,] J, 3); logits (batch, classes).

    Returns:
        Pose lifting: {"max_abs_error_mm": {output: float}, "mean_joint_error_mm":
        {output: float}, "clips": int} (sequence-to-sequence lifters:
        "..._normalised" keys, see the module docstring). Action recognition:
        {"top1_agreement": float in [0, 1], "max_logit_diff": float, "clips": int}.
        Other tasks: {}.
    """
    pairs = list(pairs)
    if not pairs:
        return {}
    clips = sum(len(next(iter(expected.values()))) for expected, _ in pairs)
    if spec.task == "pose_lifting":
        from skeleton_zoo.tasks.pose_lifting import clip_frames

        metres = clip_frames(spec.model) is None
        scale, unit = (MM_PER_METRE, "mm") if metres else (1.0, "normalised")
        worst, mean = {}, {}
        for name in spec.output_names:
            errors = [np.asarray(got[name], np.float64) - expected[name] for expected, got in pairs]
            worst[name] = scale * max(float(np.max(np.abs(e))) for e in errors)
            distances = np.concatenate([np.linalg.norm(e, axis=-1).ravel() for e in errors])
            mean[name] = scale * float(np.mean(distances))
        return {f"max_abs_error_{unit}": worst, f"mean_joint_error_{unit}": mean, "clips": clips}
    if spec.task == "action_recognition" and "logits" in spec.output_names:
        agree = sum(int(np.sum(np.argmax(got["logits"], -1) == np.argmax(expected["logits"], -1)))
                    for expected, got in pairs)
        diff = max(float(np.max(np.abs(np.asarray(got["logits"]) - expected["logits"]))) for expected, got in pairs)
        return {"top1_agreement": agree / clips, "max_logit_diff": diff, "clips": clips}
    return {}


def compare(spec, run, inputs) -> tuple[dict, dict, list]:
    """Runs `run` and the Keras model on every input.

    Args:
        spec: the `ExportSpec`.
        run: x -> {output name: array}.
        inputs: arrays of the spec's input shape, e.g. keypoints_2d
            (batch, frames, J, 2); clip lengths may differ where frames are dynamic.

    Returns:
        ({output: max |got - Keras| over every input; inf where an output is
        missing}, `accuracy` over every input, [expected outputs per input]).
    """
    diffs = {name: 0.0 for name in spec.output_names}
    pairs, expected_all = [], []
    for x in inputs:
        expected, got = spec.keras_outputs(x), run(x)
        expected_all.append(expected)
        for name in spec.output_names:
            diff = float(np.max(np.abs(np.asarray(got[name]) - expected[name]))) if name in got else float("inf")
            diffs[name] = max(diffs[name], diff)
        if all(name in got for name in spec.output_names):
            pairs.append((expected, got))
    return diffs, (accuracy(spec, pairs) if len(pairs) == len(expected_all) else {}), expected_all


def check_artifact(spec, format_name: str, path, run, tolerance: float, measure_latency: bool = True,
                   relative: bool | None = None, inputs=None, inputs_label: str | None = None) -> Check:
    """Compares `run(x)` (dict of outputs) with the Keras model.

    Args:
        spec: the `ExportSpec`.
        format_name: the row's format, e.g. "onnx", "tflite_int8".
        path: the artifact (for its size; "(in memory)" for none).
        run: x -> {output name: array}.
        tolerance: for float32 formats an absolute bound; for quantised ones
            a bound relative to each output's largest absolute Keras value.
        measure_latency: time `run` on a batch of one.
        relative: whether `tolerance` is relative (None: when `format_name`
            ends with a quantisation mode, "float16" or "int8").
        inputs: the inputs to compare on (default: [`spec.example_input()`],
            a batch of 2; quantised rows: [`spec.example_input(QUANTIZED_BATCH)`]).
        inputs_label: what `inputs` are, for the report (default: "given"
            with the clip count; "seeded random" for the default inputs).
    """
    if relative is None:
        relative = format_name.endswith(_QUANTIZED_SUFFIXES)
    if inputs is None:
        inputs, inputs_label = [spec.example_input(batch=QUANTIZED_BATCH if relative else 2)], "seeded random"
    clips = sum(len(x) for x in inputs)
    inputs_label = f"{inputs_label or 'given'} ({clips} clips)"
    diffs, stated, expected = compare(spec, run, inputs)
    if relative:
        bound = {name: tolerance * max(float(np.max(np.abs(e[name]))) for e in expected) for name in diffs}
    else:
        bound = {name: tolerance for name in diffs}
    p50 = latency_ms(run, spec.example_input(batch=1)) if measure_latency else None
    size = _size_mb(path)
    check = Check(format_name, spec.variant or "-", str(path), None if size is None else round(size, 2), diffs,
                  tolerance, p50, True, relative=relative, bound=bound, accuracy=stated, inputs=inputs_label)
    check.ok = not check.failures
    return check


def _describe_accuracy(stated: dict) -> str:
    """One table cell, e.g. "max 3.1 mm, mean 0.9 mm" or "top-1 8/8, logits ±0.012"."""
    if "top1_agreement" in stated:
        agree = round(stated["top1_agreement"] * stated["clips"])
        return f"top-1 {agree}/{stated['clips']}, logits ±{stated['max_logit_diff']:.2g}"
    for unit, suffix in (("mm", " mm"), ("normalised", "")):
        if f"max_abs_error_{unit}" in stated:
            worst = max(stated[f"max_abs_error_{unit}"].values())
            mean = max(stated[f"mean_joint_error_{unit}"].values())
            return f"max {worst:.3g}{suffix}, mean {mean:.3g}{suffix}"
    return "-"


def format_table(checks) -> str:
    """Markdown table: format, variant, file, size, max abs diff, tolerance,
    accuracy against float32, p50 latency."""
    lines = ["| format | variant | file | size (MB) | max abs diff | tolerance | vs float32 | p50 (ms, batch 1) | ok |",
             "|---|---|---|---:|---:|---:|---|---:|---|"]
    for c in checks:
        diff = max(c.max_abs_diff.values()) if c.max_abs_diff else float("nan")
        p50 = f"{c.p50_ms:.2f}" if c.p50_ms is not None else "-"
        shown = os.path.join(*pathlib.Path(c.file).parts[-2:]) if os.path.isdir(c.file) else os.path.basename(c.file)
        size = "-" if c.size_mb is None else f"{c.size_mb:.1f}"
        tolerance = f"{c.tolerance:g} rel" if c.relative else f"{c.tolerance:.1e}"
        lines.append(f"| {c.format} | {c.variant} | {shown} | {size} | {diff:.2e} | {tolerance} | "
                     f"{_describe_accuracy(c.accuracy)} | {p50} | {'yes' if c.ok else 'NO'} |")
    return "\n".join(lines)


def write_report(checks, path, extra: dict | None = None) -> pathlib.Path:
    """`export_report.json`: every check plus `extra` (model, versions, ...)."""
    payload = {**(extra or {}), "checks": [dataclasses.asdict(c) for c in checks]}
    return write_text(path, json.dumps(payload, indent=1))
