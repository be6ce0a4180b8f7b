"""Lifts 2D keypoints from a detector to 3D poses (`skeleton_zoo.inference.lift`):

    python -m skeleton_zoo lift keypoints.json --model gast_27 --weights 27_frame_model.bin \\
        --width 1920 --height 1080 --out poses.npz --render poses.gif

    python -m skeleton_zoo lift alphapose-results.json --model motionbert --weights best_epoch.bin

Inputs (detected from content; `--format` forces one): GAST-Net keypoints
JSON, a COCO or AlphaPose (Halpe-26) results JSON list, an OpenPose folder,
`.npy` / `.npz` arrays (`skeleton_zoo.formats.keypoint_files`). Output npz
(or .json): `poses_3d` (people, T, 17, 3) in the model's units (root-relative
metres for the Human3.6M-trained lifters with `--normalization screen`;
pixels with `pixel`), `keypoints_2d` (people, T, 17, 2) pixels as lifted,
`filled` (people, T, 17) bool.
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from skeleton_zoo.cli.common import FLAGS, check_output_files, define_model_flags, define_overwrite_flag, start
from skeleton_zoo.formats.keypoint_files import FORMATS


def define_flags() -> None:
    define_model_flags("gast_27", model_help="Pose-lifting preset with the h36m17 layout.",
                       weights_help="Weights: a tag of the preset (e.g. official, h36m_cpn), downloaded once and "
                                    "cached, or a file (official .bin, .weights.h5, .keras). Default: random "
                                    "(warned).")
    flags.DEFINE_string("out", "poses.npz", "Output: .npz, or .json.")
    flags.DEFINE_string("render", None, "Also render a picture: .gif, .mp4 or .png.")
    flags.DEFINE_float("width", None, "Image width in pixels (when the file does not say).")
    flags.DEFINE_float("height", None, "Image height in pixels.")
    flags.DEFINE_float("min_score", 0.3, "Joints below this confidence are interpolated in time.")
    flags.DEFINE_bool("flip", True, "Test-time flip averaging.")
    flags.DEFINE_enum("format", None, list(FORMATS), "Input format (default: detected).")
    flags.DEFINE_enum("normalization", None, ["screen", "crop", "pixel"],
                      "2D normalisation: screen (x / w * 2 - [1, h / w]), crop (MotionBERT's box around the "
                      "person), pixel (MotionBERT's --pixel). Default: the model family's in-the-wild code's.")
    define_overwrite_flag("--out / --render file")


def main(argv) -> int:
    options = start(argv, positional=True)
    if len(argv) != 2:
        raise app.UsageError("expected one input file or OpenPose folder, e.g. python -m skeleton_zoo lift "
                             "keypoints.json --width 1920 --height 1080")
    from skeleton_zoo.inference import lift

    check_output_files(FLAGS.overwrite, out=FLAGS.out, render=FLAGS.render)  # before the model runs
    if FLAGS.weights is None:
        print("warning: no --weights: the model is randomly initialised, the poses are meaningless.",
              file=sys.stderr)
    result = lift.lift_file(argv[1], FLAGS.model, FLAGS.weights, width=FLAGS.width, height=FLAGS.height,
                            min_score=FLAGS.min_score, flip=FLAGS.flip, fmt=FLAGS.format, options=options,
                            normalization=FLAGS.normalization)
    if FLAGS.render:  # first: a failed picture leaves no pose file behind
        from skeleton_zoo.inference import viz

        if FLAGS.render.endswith(".png"):
            viz.render_frame(result["poses_3d"][0, 0], "h36m17", FLAGS.render,
                             keypoints_2d=result["keypoints_2d"][0, 0])
        else:
            viz.render_animation(result["poses_3d"], "h36m17", FLAGS.render, keypoints_2d=result["keypoints_2d"][0])
    try:
        lift.save_result(result, FLAGS.out)
    except BaseException:
        if FLAGS.render and os.path.exists(FLAGS.render):
            os.remove(FLAGS.render)
        raise
    people, frames = result["poses_3d"].shape[:2]
    print(f"Lifted {people} person(s) x {frames} frames; filled {int(result['filled'].sum())} missing or "
          f"low-confidence joints by interpolation. Wrote {FLAGS.out}" + (f" and {FLAGS.render}" if FLAGS.render else ""))
    return 0
