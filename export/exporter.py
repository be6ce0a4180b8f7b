"""Exports a preset to every format, verified: what `python -m export` runs.

    checks, artifacts = export_preset("gast_243", ["onnx"], "exported")
"""

from __future__ import annotations

__all__ = ["FORMATS", "export_preset"]

FORMATS = ("saved_model", "onnx", "tflite")


def export_preset(model, formats, out, weights=None, variants=None, frames=None,
                  quantize="none", opset=17, version=None, verify=True, echo=print, fold_batch_norm=True,
                  overwrite=False, calibration=None, **overrides):
    """Exports a preset to `formats` under `out`; returns (checks, artifacts).

    Args:
        model: preset name.
        formats: subset of `FORMATS`.
        out: output folder.
        weights: as `skeleton_zoo.load` (ensembles: one file per stream, a
            mapping, or "A,B" in stream order).
        variants: pose lifting: which variants (default: all of the task's).
        frames: classifiers: fixed clip length (None: dynamic).
        quantize: "none" (float32), "float16" (TFLite), "dynamic_int8" or
            "int8" (ONNX, TFLite); see `export.quantization`. The formats that
            take the mode are quantised, the others stay float32; the files
            get the mode as a suffix, e.g. `gast_243_sequence_int8.onnx`.
        calibration: "int8" only: a .npy / .npz file of representative inputs
            (None: seeded random ones); see `export.quantization.calibration_inputs`.
        opset: ONNX opset. version: SavedModel version (None: the next free one).
        verify: run every artifact against the Keras model, time it, and write
            `<out>/export_report.json`.
        fold_batch_norm: fold BatchNorms into the preceding layers first.
        overwrite: replace existing ONNX / TFLite files (SavedModel versions
            are never replaced: a new one is added; `export_report.json`
            describes the last export).
        **overrides: preset options.

    Raises:
        ValueError: a bad version, a `quantize` that none of `formats` takes,
            `calibration` with a mode that uses none, or calibration inputs
            of the wrong shape. FileExistsError: an output exists (without
            `overwrite`), checked before anything is written.
        export.tflite_export.UnsupportedOpError: an op TFLite builtins cannot run.
        RuntimeError: a verification failed (the message names the output).
    """
    import pathlib

    from export import common, quantization, verify as verification
    from skeleton_zoo.registry import get_preset
    from skeleton_zoo.utils.files import make_folder
    from skeleton_zoo.weights import parse_weights_argument

    from export.saved_model import check_version

    preset = get_preset(model)  # unknown names list the choices
    check_version(version)
    quantization.check_quantize(formats, quantize, calibration)
    if isinstance(weights, str):
        weights = parse_weights_argument(preset, weights)
    specs = common.build_specs(model, weights=weights, variants=variants, frames=frames,
                               fold_batch_norm=fold_batch_norm, **overrides)
    # A calibration file: every other window calibrates, the others verify
    # (checked here, before any work).
    calibrate, held_out = {}, {}
    for spec in specs if calibration is not None else ():
        calibrate[spec.name], held_out[spec.name] = quantization.split_calibration(spec, calibration)
    out = pathlib.Path(out)
    mode = {f: quantize if quantize in quantization.FORMAT_MODES[f] else "none" for f in FORMATS}
    suffix = {f: "" if m == "none" else f"_{m}" for f, m in mode.items()}
    planned = [out / f"{spec.name}{suffix['onnx']}.onnx" for spec in specs if "onnx" in formats]
    planned += [out / f"{spec.name}{suffix['tflite']}.tflite" for spec in specs if "tflite" in formats]
    existing = [str(p) for p in planned if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"--out '{out}' holds {', '.join(existing)} already; pass --overwrite to replace "
                              f"them (or choose another --out).")
    make_folder(out, "--out")
    checks, artifacts = [], []
    if verify:  # the reference rows: the Keras model itself, for latency
        checks += [_keras_row(spec, verification) for spec in specs]
    if "saved_model" in formats:
        from export import saved_model

        echo(f"SavedModel: {model} ...")
        path = saved_model.export_saved_model(specs, out, version=version)
        saved_model.write_models_config(out)
        artifacts.append(str(path))
        if verify:
            import tensorflow as tf

            loaded = tf.saved_model.load(str(path))
            for spec in specs:
                signature = loaded.signatures[saved_model.signature_name(spec)]
                run = (lambda x, s=signature, n=spec.input_name:
                       {k: v.numpy() for k, v in s(**{n: tf.constant(x)}).items()})
                checks.append(verification.check_artifact(spec, "saved_model", path, run,
                                                           verification.FP32_TOLERANCE))
    if "onnx" in formats:
        from export import onnx_export

        for spec in specs:
            path = out / f"{spec.name}{suffix['onnx']}.onnx"
            if mode["onnx"] == "none":
                echo(f"ONNX: {spec.name} (opset {opset}) ...")
                path = onnx_export.export_onnx(spec, path, opset=opset)
            else:
                echo(f"ONNX: {spec.name} (opset {opset}, {mode['onnx']}) ...")
                path = onnx_export.export_onnx_quantized(spec, path, mode["onnx"], calibrate.get(spec.name),
                                                         opset=opset)
            artifacts.append(str(path))
            if verify:
                session = onnx_export.load_session(path)
                run = (lambda x, s=session: onnx_export.run_onnx(s, x))
                checks.append(_check(spec, "onnx", mode["onnx"], path, run, onnx_export, verification,
                                     held_out.get(spec.name), calibration))
    if "tflite" in formats:
        from export import tflite_export

        for spec in specs:
            echo(f"TFLite: {spec.name}{suffix['tflite']} ...")
            path = tflite_export.export_tflite(spec, out / f"{spec.name}{suffix['tflite']}.tflite",
                                               quantize=mode["tflite"], calibration=calibrate.get(spec.name))
            artifacts.append(str(path))
            if verify:
                checks.append(_check(spec, "tflite", mode["tflite"], path, tflite_export.tflite_runner(path),
                                     tflite_export, verification, held_out.get(spec.name), calibration))
    if verify:
        echo(verification.format_table(checks))
        verification.write_report(checks, out / "export_report.json",
                                  {"model": model, "weights": str(weights) if weights else None,
                                   "quantize": quantize, "calibration": str(calibration) if calibration else None,
                                   "artifacts": artifacts})
        failed = [c for c in checks if not c.ok]
        if failed:
            raise RuntimeError("verification failed: " + "; ".join(c.describe_failure() for c in failed))
    return checks, artifacts


def _check(spec, format_name, mode, path, run, module, verification, held_out=None, calibration=None):
    """The verification row of one file: float32 within FP32_TOLERANCE,
    quantised ("<format>_<mode>") within the module's QUANTIZED_TOLERANCE;
    int8 calibrated on a file: on that file's held-out windows."""
    if mode == "none":
        return verification.check_artifact(spec, format_name, path, run, verification.FP32_TOLERANCE)
    inputs = held_out if mode == "int8" else None
    label = f"held-out windows of '{calibration}'" if inputs is not None else None
    return verification.check_artifact(spec, f"{format_name}_{mode}", path, run, module.QUANTIZED_TOLERANCE[mode],
                                       relative=True, inputs=inputs, inputs_label=label)


def _keras_row(spec, verification):
    run = spec.tf_function()
    return verification.check_artifact(spec, "keras", "(in memory)",
                                       lambda x: {k: v.numpy() for k, v in run(x).items()},
                                       verification.FP32_TOLERANCE)
