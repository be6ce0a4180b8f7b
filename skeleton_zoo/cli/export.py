"""SavedModel (TF Serving), ONNX and TFLite exports, verified (`export.exporter`):

    python -m export --format onnx                  # gast_243, both variants, into exported/
    python -m export --model gast_27_causal --format all --weights 27_frame_model_causal.bin
    python -m export --model st_tr_2s_joint --format saved_model --frames 300
    python -m export --model gast_27 --format onnx --quantize int8 --calibration keypoints.npz

(`python -m skeleton_zoo export ...` is the same command.) Every artifact is
run on a seeded random input and compared with the Keras model; the table
(format, variant, file, size, max abs diff, p50 latency) is printed and
written to `<out>/export_report.json`. A failed verification exits with
status 1 and names the output that differs. Quantised files (`--quantize`,
see `export.quantization`) are compared with the float32 model, with their
error stated per output (lifting: mm; classifiers: top-1 agreement and
logit difference).
"""

from __future__ import annotations

from absl import flags

from skeleton_zoo.cli.common import FLAGS, check_output_folder, define_model_flags, define_overwrite_flag, start


def define_flags() -> None:
    define_model_flags("gast_243", model_help="Preset to export (python -m skeleton_zoo list).")
    flags.DEFINE_enum("format", "all", ["saved_model", "onnx", "tflite", "all"], "What to export.")
    flags.DEFINE_enum("variant", "both", ["sequence", "single_frame", "both"],
                      "Pose lifting: the dilated sequence network, the strided single-frame network, or both.")
    flags.DEFINE_integer("frames", None, "Classifiers: fixed clip length (default: dynamic).")
    flags.DEFINE_enum("quantize", "none", ["none", "float16", "dynamic_int8", "int8"],
                      "none: float32. float16: TFLite float16 weights. dynamic_int8: int8 weights, activations "
                      "quantised per call (ONNX, TFLite). int8: static int8 weights and activations, calibrated "
                      "(ONNX QDQ, TFLite full-integer). With --format all, the formats that take the mode are "
                      "quantised, the others stay float32.")
    flags.DEFINE_string("calibration", None, "--quantize int8: a .npy / .npz file of representative inputs in the "
                                             "model's input normalisation, e.g. keypoints_2d (N, frames, J, 2) or "
                                             "skeleton (N, frames, J, persons, channels) (default: seeded random "
                                             "inputs).")
    flags.DEFINE_integer("opset", 17, "ONNX opset.")
    flags.DEFINE_integer("version", None, "SavedModel version number (default: the next free one; an "
                                          "existing version is never overwritten).")
    flags.DEFINE_string("out", "exported", "Output folder.")
    flags.DEFINE_bool("verify", True, "Compare every artifact with the Keras model and time it.")
    flags.DEFINE_bool("fold_batch_norm", True, "Fold BatchNorms into the preceding convolutions (checked "
                                               "against the unfolded model).")
    define_overwrite_flag("ONNX / TFLite file in --out (SavedModel versions are never replaced)")


def main(argv) -> int:
    options = start(argv)
    from export.exporter import FORMATS, export_preset
    from export.quantization import check_quantize
    from skeleton_zoo import registry

    registry.get_preset(FLAGS.model)  # an unknown name lists the choices before TensorFlow loads
    check_output_folder("--out", FLAGS.out)
    formats = FORMATS if FLAGS.format == "all" else (FLAGS.format,)
    check_quantize(formats, FLAGS.quantize, FLAGS.calibration)
    variants = None if FLAGS.variant == "both" else (FLAGS.variant,)
    export_preset(FLAGS.model, formats, FLAGS.out, weights=FLAGS.weights, variants=variants, frames=FLAGS.frames,
                  quantize=FLAGS.quantize, opset=FLAGS.opset, version=FLAGS.version, verify=FLAGS.verify,
                  fold_batch_norm=FLAGS.fold_batch_norm, overwrite=FLAGS.overwrite, calibration=FLAGS.calibration,
                  **options)
    return 0
