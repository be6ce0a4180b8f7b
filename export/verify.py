"""Verification of exported artifacts against the Keras model.

Each artifact runs on the spec's seeded random input; the largest absolute
difference from Keras per output must be within the format's tolerance
(fp32: 1e-4; float16 / dynamic int8: `export.tflite_export.QUANTIZED_TOLERANCE`,
relative to the output's scale). Latency is the median of repeated calls on a
batch of one after warm-up.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import numpy as np

from skeleton_zoo.utils.files import write_text
from skeleton_zoo.utils.timing import latency_ms

__all__ = ["Check", "FP32_TOLERANCE", "check_artifact", "latency_ms", "format_table", "write_report"]

FP32_TOLERANCE = 1e-4


@dataclasses.dataclass
class Check:
    """One verified artifact (a row of the table)."""

    format: str
    variant: str
    file: str
    size_mb: float | None
    max_abs_diff: dict  # output name -> float
    tolerance: float
    p50_ms: float | None
    ok: bool

    @property
    def failures(self) -> list:
        return [name for name, diff in self.max_abs_diff.items() if not diff <= self.tolerance]


def _size_mb(path) -> float | None:
    path = pathlib.Path(path)
    if not path.exists():  # the in-memory Keras reference
        return None
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def check_artifact(spec, format_name: str, path, run, tolerance: float, measure_latency: bool = True) -> Check:
    """Compares `run(x)` (dict of outputs) with the Keras model on the spec's input.

    Args:
        tolerance: for fp32 an absolute bound; for quantized formats a bound
            relative to the largest absolute Keras output.
    """
    x = spec.example_input()
    expected = spec.keras_outputs(x)
    got = run(x)
    diffs = {}
    for name in spec.output_names:
        if name not in got:
            diffs[name] = float("inf")
            continue
        diffs[name] = float(np.max(np.abs(np.asarray(got[name]) - expected[name])))
    bound = tolerance
    if format_name.endswith(("float16", "int8")):
        bound = tolerance * max(float(np.max(np.abs(v))) for v in expected.values())
    p50 = latency_ms(run, spec.example_input(batch=1)) if measure_latency else None
    size = _size_mb(path)
    check = Check(format_name, spec.variant or "-", str(path), None if size is None else round(size, 2), diffs,
                  bound, p50, True)
    check.ok = not check.failures
    return check


def format_table(checks) -> str:
    """Markdown table: format, variant, file, size, max abs diff, p50 latency."""
    lines = ["| format | variant | file | size (MB) | max abs diff | tolerance | p50 (ms, batch 1) | ok |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for c in checks:
        diff = max(c.max_abs_diff.values()) if c.max_abs_diff else float("nan")
        p50 = f"{c.p50_ms:.2f}" if c.p50_ms is not None else "-"
        shown = os.path.join(*pathlib.Path(c.file).parts[-2:]) if os.path.isdir(c.file) else os.path.basename(c.file)
        size = "-" if c.size_mb is None else f"{c.size_mb:.1f}"
        lines.append(f"| {c.format} | {c.variant} | {shown} | {size} | "
                     f"{diff:.2e} | {c.tolerance:.1e} | {p50} | {'yes' if c.ok else 'NO'} |")
    return "\n".join(lines)


def write_report(checks, path, extra: dict | None = None) -> pathlib.Path:
    """`export_report.json`: every check plus `extra` (model, versions, ...)."""
    payload = {**(extra or {}), "checks": [dataclasses.asdict(c) for c in checks]}
    return write_text(path, json.dumps(payload, indent=1))
