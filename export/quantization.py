"""Low-precision variants of the exports: which format takes which mode, the
calibration inputs of static int8, and the CPU features that decide how.

Modes (`--quantize`), each verified against the float32 Keras model
(`export.verify`) within its relative tolerance `QUANTIZED_TOLERANCE` (one
table for every format; `export.onnx_export.QUANTIZED_TOLERANCE` and
`export.tflite_export.QUANTIZED_TOLERANCE` are its rows for their modes):

- "none": float32.
- "float16" (TFLite): float16 weights, float32 arithmetic.
- "dynamic_int8" (ONNX, TFLite): int8 weights; activations quantised on the
  fly, per call, inside the matmul / conv kernels; float32 elsewhere.
- "int8" (ONNX, TFLite): static post-training quantisation: int8 weights
  and 8-bit activations whose ranges were measured once on calibration
  inputs (`calibration_inputs`); float32 input and output. Values beyond a
  calibrated range clip: TFLite's full-integer model clips its outputs there
  too, ONNX keeps its output head in float (`export_onnx_quantized`).

bfloat16 is not offered: it was built on a CPU without avx512_bf16 /
amx_bf16 (`has_bf16`), where TensorFlow's `bfloat16` dtype policy runs
emulated (gast_27 single frame: 57 ms against 50 ms in float32) and neither
ONNX Runtime's CPU provider nor LiteRT has bf16 kernels; a bf16 variant
needs such a CPU to be verified on.

Calibration inputs (static int8 only): by default `CALIBRATION_SAMPLES`
seeded random inputs of the spec's shape (`spec.example_input`, seeds that
the verification input does not use), so an export needs no data; better,
real inputs from a file (`--calibration FILE`, see `load_calibration`),
cut or edge-padded to the spec's frames (`calibration_inputs`). With a file,
`python -m export` calibrates on every other window and verifies on the
others (`split_calibration`): a model calibrated on real data clips the
seeded random verification input, which spans a wider range.
"""

from __future__ import annotations

import os
import pathlib
import platform

import numpy as np

from skeleton_zoo.benchmark.machine import cpu_flags

__all__ = ["MODES", "FORMAT_MODES", "QUANTIZED_TOLERANCE", "CALIBRATED_MODES", "CALIBRATION_SAMPLES",
           "check_quantize", "calibration_inputs", "split_calibration", "describe_calibration", "load_calibration",
           "cpu_flags", "has_vnni", "has_bf16", "is_x86", "reduce_range_default"]

MODES = ("none", "float16", "dynamic_int8", "int8")
FORMAT_MODES = {
    "saved_model": ("none",),
    "onnx": ("none", "dynamic_int8", "int8"),
    "tflite": ("none", "float16", "dynamic_int8", "int8"),
}
# Bounds on the largest absolute difference from the Keras output, relative to the largest absolute
# Keras value of that output (per output; for classifiers, logits and probabilities each against their
# own scale), on `spec.example_input(batch=8)` (`export.verify`), per mode, for every format.
#
# ONNX Runtime (randomly initialised full-size models: gast_27: 3 initialisations, both variants;
# gast_243, S-TR and T-TR joint: 1-2; AVX2 without VNNI, 7-bit weights; int8 calibrated on the seeded
# inputs):
#   dynamic_int8: 3.3e-2 .. 6.3e-2 (GAST-Net), 1.0e-2 .. 3.1e-2 (ST-TR);
#   int8:         5.5e-2 .. 8.5e-2 (gast_27; gast_243 6e-2), 1.0e-2 .. 4.6e-2 (S-TR; T-TR 1.4e-2).
#   On real inputs (gast_27 calibrated on Human3.6M training subjects, run on test subjects) int8
#   reaches 1e-1. The small test models reach 0.1 (int8).
# TFLite (3 initialisations x 3 input seeds each: gast_27 and gast_243, both variants; S-TR and T-TR
# joint):
#   float16:      2e-4 .. 1.7e-3 (GAST-Net), up to 3.2e-3 (T-TR logits);
#   dynamic_int8: 1.4e-2 .. 6.1e-2 (GAST-Net, worst gast_243 sequence), 5e-3 .. 4.5e-2 (ST-TR);
#   int8 (full-integer; gast_27: 3 initialisations, gast_243, S-TR, T-TR: 1-2; 8 clips): 3.5e-2 ..
#   6.4e-2 (GAST-Net), 1.3e-2 .. 4.4e-2 (ST-TR); the small test models reach 0.16. Its outputs clip at
#   the calibrated range: gast_27 calibrated on Human3.6M training subjects reaches 0.28 on test
#   subjects (ONNX int8, whose output head stays float: 0.1). The small test models stay below
#   1.1e-3 / 2.1e-2 otherwise.
# The bounds leave 2.4-3x headroom over the worst full-size measurement (int8: 3.5-5x on seeded inputs,
# 1.25x on that real TFLite case); a file with wrong or uninitialised weights is off by 100% or more.
QUANTIZED_TOLERANCE = {"float16": 1e-2, "dynamic_int8": 0.15, "int8": 0.35}
# Static int8 only: the other modes need no calibration inputs.
CALIBRATED_MODES = ("int8",)
CALIBRATION_SAMPLES = 16
# Seeds of the default calibration inputs: from 1, as the verification input
# (`spec.example_input()`) uses seed 0 and must stay unseen by calibration.
_FIRST_CALIBRATION_SEED = 1

_VNNI_FLAGS = ("avx512_vnni", "avx_vnni")
_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def check_quantize(formats, quantize: str, calibration=None) -> None:
    """A bad `--quantize` / `--format` / `--calibration` combination fails
    here, before any work, in one line naming the flag.

    With several formats (`--format all`), each format that takes the mode is
    quantised and the others stay float32; a single format must take it.

    Args:
        formats: export formats, e.g. ("onnx",) or ("saved_model", "onnx", "tflite").
        quantize: one of `MODES`.
        calibration: the `--calibration` file (or inputs), or None.

    Raises:
        ValueError: an unknown mode, a format that cannot take it, or
            calibration inputs for a mode that uses none.
    """
    if quantize not in MODES:
        raise ValueError(f"--quantize: expected one of {list(MODES)}, found {quantize!r}.")
    formats = tuple(formats)
    takes = [f for f in formats if quantize in FORMAT_MODES[f]]
    if not takes:
        choices = " or ".join(FORMAT_MODES[formats[0]]) if len(formats) == 1 else "none"
        where = [f for f in FORMAT_MODES if quantize in FORMAT_MODES[f]]
        raise ValueError(f"--quantize: --format {','.join(formats)} takes {choices}, found {quantize!r} "
                         f"({quantize} is for --format {' or '.join(where)}).")
    if calibration is not None and quantize not in CALIBRATED_MODES:
        raise ValueError(f"--calibration: only --quantize {' or '.join(CALIBRATED_MODES)} (static) uses "
                         f"calibration inputs, found --quantize {quantize}.")
    if isinstance(calibration, (str, os.PathLike)) and not os.path.isfile(calibration):
        raise ValueError(f"--calibration: expected a .npy or .npz file, found "
                         f"{'a folder' if os.path.isdir(calibration) else 'no file'} at '{calibration}'.")


def load_calibration(path, input_name: str) -> np.ndarray:
    """The calibration array of a `--calibration` file.

    Args:
        path: a .npy file, or a .npz file holding the array under the
            entry point's input name (e.g. "keypoints_2d", "skeleton") or as
            its only array. The array is a batch of clips, e.g. keypoints_2d
            (N, frames, J, 2) or skeleton (N, frames, J, persons, channels),
            in the model's input normalisation, or one clip without N.
        input_name: `spec.input_name`.

    Returns:
        The array, float32.

    Raises:
        ValueError: not a .npy / .npz file, or no such array in it.
    """
    path = pathlib.Path(path)
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise ValueError(f"--calibration '{path}': expected a .npy or .npz file of float arrays, "
                         f"found one numpy cannot read ({error}).") from None
    if isinstance(data, np.ndarray):
        return data.astype(np.float32)
    with data:
        names = list(data.files)
        if input_name in names:
            return data[input_name].astype(np.float32)
        if len(names) == 1:
            return data[names[0]].astype(np.float32)
    raise ValueError(f"--calibration '{path}': expected an array '{input_name}' (or a single array), "
                     f"found {names}.")


def _fit_frames(clip: np.ndarray, frames: int | None, min_frames: int, count: int) -> list:
    """Windows of `frames` frames (None: the whole clip) of one (T, ...) clip,
    edge-padded to at least `min_frames` / `frames` as `lift` pads sequences."""
    need = frames or min_frames
    if clip.shape[0] < need:
        before = (need - clip.shape[0]) // 2
        pad = [(before, need - clip.shape[0] - before)] + [(0, 0)] * (clip.ndim - 1)
        clip = np.pad(clip, pad, mode="edge")
    if frames is None:
        return [clip]
    starts = np.unique(np.linspace(0, clip.shape[0] - frames, num=count).round().astype(int))
    return [clip[s:s + frames] for s in starts]


def _windows(spec, calibration, count: int) -> list:
    """Every window (frames, ...) of the calibration clips that the spec takes
    (see `calibration_inputs`), clip by clip."""
    label = f"'{calibration}'" if isinstance(calibration, (str, os.PathLike)) else "inputs"
    if isinstance(calibration, (str, os.PathLike)):
        calibration = load_calibration(calibration, spec.input_name)
    arrays = [np.asarray(a, dtype=np.float32) for a in
              (calibration if isinstance(calibration, (list, tuple)) else [calibration])]
    trailing = tuple(spec.input_shape[2:])
    clips = []
    for array in arrays:
        if array.ndim == len(trailing) + 1:
            array = array[None]
        if array.ndim != len(trailing) + 2 or array.shape[2:] != trailing:
            expected = ", ".join(map(str, trailing))
            raise ValueError(f"--calibration {label}: '{spec.name}' takes {spec.input_name} clips of shape "
                             f"(N, frames, {expected}) or (frames, {expected}), found {array.shape}.")
        clips += list(array)
    if not clips:
        raise ValueError(f"--calibration {label}: expected at least one clip, found none.")
    min_frames = getattr(spec.model, "receptive_field", 1) if spec.task == "pose_lifting" else 1
    return [w for clip in clips for w in _fit_frames(clip, spec.input_shape[1], min_frames, count)]


def _evenly(items: list, count: int) -> list:
    """At most `count` of `items`, evenly spaced, in order."""
    chosen = np.unique(np.linspace(0, len(items) - 1, num=min(count, len(items))).round().astype(int))
    return [items[i] for i in chosen]


def calibration_inputs(spec, calibration=None, count: int = CALIBRATION_SAMPLES) -> list:
    """Representative inputs for static int8 calibration, one clip per call.

    Args:
        spec: an `ExportSpec`.
        calibration: None (seeded random inputs, `spec.example_input(batch=1,
            seed=1..count)`), a file (`load_calibration`), an array of clips
            (N, frames, *spec.input_shape[2:]) or one clip (frames, ...), or a
            list of clips / arrays of clips (clip lengths may differ). A fixed
            frames dimension (single-frame lifters, `--frames`) takes windows
            of that length from longer clips; shorter clips, and clips shorter
            than a lifter's receptive field, are edge-padded.
        count: the most inputs to return (evenly spaced over the clips).

    Returns:
        A list of float32 arrays of shape (1, frames, ...), frames fixed where
        the spec fixes it.

    Raises:
        ValueError: clips whose trailing dimensions are not the spec's.
    """
    if calibration is None:
        return [spec.example_input(batch=1, seed=_FIRST_CALIBRATION_SEED + i) for i in range(count)]
    return [w[None] for w in _evenly(_windows(spec, calibration, count), count)]


def split_calibration(spec, calibration, count: int = CALIBRATION_SAMPLES, verify: int = 8) -> tuple:
    """Real calibration clips, split for `python -m export`: every other window
    calibrates, the others verify (the seeded random verification input lies
    outside the range a model calibrated on real data has measured, so it
    would fail there for no fault of the file).

    Args:
        spec: an `ExportSpec`.
        calibration: a file or clips, as `calibration_inputs` takes them.
        count: the most calibration windows.
        verify: the most verification windows.

    Returns:
        (calibration windows: a list of (1, frames, ...) arrays to pass on as
        `calibration`, verification inputs: a list of batches (n, frames, ...),
        one per window shape).

    Raises:
        ValueError: fewer than 2 windows, or clips of the wrong shape.
    """
    windows = _windows(spec, calibration, count)
    if len(windows) < 2:
        raise ValueError(f"--calibration '{calibration}': expected at least 2 clips for '{spec.name}' (every "
                         f"other one calibrates, the others verify), found {len(windows)}.")
    held_out = _evenly(windows[1::2], verify)
    shapes = list(dict.fromkeys(w.shape for w in held_out))
    batches = [np.stack([w for w in held_out if w.shape == shape]) for shape in shapes]
    return [w[None] for w in _evenly(windows[0::2], count)], batches


def describe_calibration(calibration, inputs) -> str:
    """Where the calibration inputs came from, for metadata and reports, e.g.
    "16 seeded random inputs" or "12 clips of 'h36m.npz'" ("" without any)."""
    if inputs is None:
        return ""
    if calibration is None:
        return f"{len(inputs)} seeded random inputs"
    if isinstance(calibration, (str, os.PathLike)):
        return f"{len(inputs)} clips of '{calibration}'"
    return f"{len(inputs)} given clips"


def has_vnni() -> bool:
    """This CPU has 8-bit dot-product instructions (AVX512-VNNI or AVX-VNNI)."""
    return bool(cpu_flags() & set(_VNNI_FLAGS))


def has_bf16() -> bool:
    """This CPU has bfloat16 arithmetic instructions (AVX512-BF16 or AMX-BF16)."""
    return bool(cpu_flags() & set(_BF16_FLAGS))


def is_x86() -> bool:
    """This machine is x86 (its 8-bit multiply-adds take uint8 x int8)."""
    return platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def reduce_range_default() -> bool:
    """ONNX Runtime's `reduce_range` (7-bit weights) for this CPU: needed on
    x86-64 without VNNI, whose 8-bit multiply-add (vpmaddubsw) saturates its
    16-bit sums with full 8-bit ranges; not with VNNI, nor on ARM."""
    return is_x86() and not has_vnni()


def _main(argv=None):
    """Measures every low-precision variant of a preset against float32 (for the
    tolerances and the README): python -m export.quantization PRESET [--overrides JSON].

    Prints one JSON line per (init, spec, format, mode): file size, export
    seconds, p50 latency at batch 1, the error relative to each output's
    scale, and the accuracy of `export.verify.accuracy`, on
    `spec.example_input(batch=8)` (or --inputs FILE, a .npy / .npz as --calibration).
    """
    import argparse
    import json
    import tempfile
    import time

    import keras

    from export import onnx_export, tflite_export, verify
    from export.common import build_specs

    parser = argparse.ArgumentParser(description=_main.__doc__)
    parser.add_argument("preset")
    parser.add_argument("--overrides", default="{}", help="preset options as JSON")
    parser.add_argument("--inits", type=int, default=1, help="random initialisations (seeds 0, 1, ...)")
    parser.add_argument("--formats", default="onnx,tflite")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--calibration", default=None, help="a .npy / .npz file (default: seeded random inputs)")
    parser.add_argument("--inputs", default=None, help="compare on these clips (a .npy / .npz file)")
    parser.add_argument("--out", default=None, help="folder for the files (default: a temp folder)")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="quantized_"))
    print(json.dumps({"cpu_vnni": has_vnni(), "cpu_bf16": has_bf16(), "reduce_range": reduce_range_default()}))
    for init in range(args.inits):
        keras.utils.set_random_seed(init)
        for spec in build_specs(args.preset, **json.loads(args.overrides)):
            inputs = None
            if args.inputs:
                inputs = [np.concatenate(calibration_inputs(spec, args.inputs, count=64))]
            float32_onnx = None
            for fmt in args.formats.split(","):
                for mode in args.modes.split(","):
                    if mode not in FORMAT_MODES[fmt]:
                        continue
                    calibration = args.calibration if mode == "int8" else None
                    suffix = "" if mode == "none" else f"_{mode}"
                    path = out / f"{spec.name}{suffix}.{fmt}"
                    start = time.perf_counter()
                    if fmt == "onnx" and mode == "none":
                        float32_onnx = onnx_export.export_onnx(spec, path)
                    elif fmt == "onnx":
                        if float32_onnx is None:  # one float32 conversion for both modes
                            float32_onnx = onnx_export.export_onnx(spec, out / f"{spec.name}.onnx")
                            start = time.perf_counter()
                        onnx_export.export_onnx_quantized(spec, path, mode, calibration, float32_path=float32_onnx)
                    else:
                        tflite_export.export_tflite(spec, path, mode, calibration)
                    seconds = time.perf_counter() - start
                    if fmt == "onnx":
                        session = onnx_export.load_session(path)
                        run = (lambda x, s=session: onnx_export.run_onnx(s, x))
                    else:
                        run = tflite_export.tflite_runner(path)
                    check = verify.check_artifact(spec, f"{fmt}{suffix}", path, run, 1.0, relative=True,
                                                  inputs=inputs)
                    print(json.dumps({"init": init, "spec": spec.name, "format": fmt, "mode": mode,
                                      "export_s": round(seconds, 2), "size_mb": check.size_mb,
                                      "p50_ms": round(check.p50_ms, 3),
                                      "relative": {k: round(v / check.bound[k], 5) for k, v in
                                                   check.max_abs_diff.items()},
                                      "accuracy": check.accuracy}), flush=True)


if __name__ == "__main__":
    _main()
