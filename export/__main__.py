"""`python -m export`: SavedModel (TF Serving), ONNX and TFLite, verified.

    python -m export --format onnx                  # gast_243, both variants, into exported/
    python -m export --model gast_27_causal --format all --weights 27_frame_model_causal.bin
    python -m export --model st_tr_2s_joint --format saved_model --frames 300

Every artifact is run on a seeded random input and compared with the Keras
model; the table (format, variant, file, size, max abs diff, p50 latency) is
printed and written to `<out>/export_report.json`. A failed verification
exits with status 1 and names the output that differs.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

from absl import app, flags

FLAGS = flags.FLAGS


def _define_flags():
    """Defined when the command runs, not on import, so that importing this
    module next to other command lines does not redefine their flags."""
    flags.DEFINE_string("model", "gast_243", "Preset to export (python -m skeleton_zoo list).")
    flags.DEFINE_string("weights", None, "Weights: official .bin/.pt/.pth, .weights.h5 or .keras; two-stream "
                                         "presets take SPATIAL,TEMPORAL. Default: random initialisation.")
    flags.DEFINE_enum("format", "all", ["saved_model", "onnx", "tflite", "all"], "What to export.")
    flags.DEFINE_enum("variant", "both", ["sequence", "single_frame", "both"],
                      "Pose lifting: the dilated sequence network, the strided single-frame network, or both.")
    flags.DEFINE_integer("frames", None, "Classifiers: fixed clip length (default: dynamic).")
    flags.DEFINE_enum("quantize", "none", ["none", "float16", "dynamic_int8"], "TFLite weight quantisation.")
    flags.DEFINE_integer("opset", 17, "ONNX opset.")
    flags.DEFINE_integer("version", None, "SavedModel version number (default: the next free one; an "
                                          "existing version is never overwritten).")
    flags.DEFINE_string("out", "exported", "Output folder.")
    flags.DEFINE_bool("verify", True, "Compare every artifact with the Keras model and time it.")
    flags.DEFINE_bool("fold_batch_norm", True, "Fold BatchNorms into the preceding convolutions (checked "
                                               "against the unfolded model).")
    flags.DEFINE_multi_string("option", [], "Preset option KEY=VALUE (Python literal), e.g. channels=64.")


FORMATS = ("saved_model", "onnx", "tflite")


def export(model, formats, out, weights=None, variants=("sequence", "single_frame"), frames=None,
           quantize="none", opset=17, version=None, verify=True, echo=print, fold_batch_norm=True, **overrides):
    """Exports a preset to `formats` under `out`; returns (checks, artifacts).

    Raises:
        export.tflite_export.UnsupportedOpError: an op TFLite builtins cannot run.
        RuntimeError: a verification failed (the message names the output).
    """
    import pathlib

    from export import common, verify as verification
    from skeleton_zoo.registry import get_preset

    get_preset(model)  # unknown names list the choices
    weights = _weights_argument(model, weights)
    specs = common.build_specs(model, weights=weights, variants=variants, frames=frames,
                               fold_batch_norm=fold_batch_norm, **overrides)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
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
            echo(f"ONNX: {spec.name} (opset {opset}) ...")
            path = onnx_export.export_onnx(spec, out / f"{spec.name}.onnx", opset=opset)
            artifacts.append(str(path))
            if verify:
                session = onnx_export.load_session(path)
                run = (lambda x, s=session: onnx_export.run_onnx(s, x))
                checks.append(verification.check_artifact(spec, "onnx", path, run, verification.FP32_TOLERANCE))
    if "tflite" in formats:
        from export import tflite_export

        for spec in specs:
            suffix = "" if quantize == "none" else f"_{quantize}"
            echo(f"TFLite: {spec.name}{suffix} ...")
            path = tflite_export.export_tflite(spec, out / f"{spec.name}{suffix}.tflite", quantize=quantize)
            artifacts.append(str(path))
            if verify:
                name = "tflite" if quantize == "none" else f"tflite_{quantize.replace('dynamic_', '')}"
                tolerance = (verification.FP32_TOLERANCE if quantize == "none"
                             else tflite_export.QUANTIZED_TOLERANCE[quantize])
                checks.append(verification.check_artifact(spec, name, path, tflite_export.tflite_runner(path),
                                                           tolerance))
    if verify:
        echo(verification.format_table(checks))
        verification.write_report(checks, out / "export_report.json",
                                  {"model": model, "weights": str(weights) if weights else None,
                                   "artifacts": artifacts})
        failed = [c for c in checks if not c.ok]
        if failed:
            raise RuntimeError("verification failed: " + "; ".join(
                f"{c.format} {c.variant}: output(s) {c.failures} differ from Keras by "
                f"{max(c.max_abs_diff[n] for n in c.failures):.3g} > {c.tolerance:.1e}" for c in failed))
    return checks, artifacts


def _keras_row(spec, verification):
    run = spec.tf_function()
    return verification.check_artifact(spec, "keras", "(in memory)",
                                       lambda x: {k: v.numpy() for k, v in run(x).items()},
                                       verification.FP32_TOLERANCE)


def _weights_argument(model, weights):
    from skeleton_zoo.registry import get_preset

    if weights and "," in weights and "spatial" in get_preset(model).config:
        spatial, temporal = weights.split(",")
        return {"spatial": spatial, "temporal": temporal}
    return weights


def main(argv):
    from skeleton_zoo import cli
    from skeleton_zoo.registry import get_preset

    overrides = cli.start(argv)
    try:
        get_preset(FLAGS.model)
    except ValueError as error:
        raise app.UsageError(str(error))
    formats = FORMATS if FLAGS.format == "all" else (FLAGS.format,)
    variants = ("sequence", "single_frame") if FLAGS.variant == "both" else (FLAGS.variant,)
    try:
        export(FLAGS.model, formats, FLAGS.out, weights=FLAGS.weights, variants=variants, frames=FLAGS.frames,
               quantize=FLAGS.quantize, opset=FLAGS.opset, version=FLAGS.version, verify=FLAGS.verify,
               fold_batch_norm=FLAGS.fold_batch_norm, **overrides)
    except (RuntimeError, ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run():
    _define_flags()
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
