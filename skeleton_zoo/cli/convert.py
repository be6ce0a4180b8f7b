"""Converts official PyTorch checkpoints to Keras weights, without PyTorch
(`skeleton_zoo.weights.convert`):

    python -m skeleton_zoo convert 27_frame_model.bin --model gast_27 --out gast_27.weights.h5
    python -m skeleton_zoo convert 27_frame_model_toe.bin --model gast_27 --layout h36m19
    python -m skeleton_zoo convert S.pt T.pt --model st_tr_2s_joint      # one file per stream, in order
    python -m skeleton_zoo convert --model st_tr_2s_joint --weights ntu60_xsub   # by name: downloaded once

The written file is reloaded and checked against the converted model before
it takes its name; an existing `--out` is kept unless `--overwrite`.
"""

from __future__ import annotations

from absl import app, flags

from skeleton_zoo.cli.common import FLAGS, check_output_files, define_option_flag, define_overwrite_flag, start


def define_flags() -> None:
    flags.DEFINE_string("model", None, "Preset the checkpoint belongs to (see `python -m skeleton_zoo list`).")
    flags.DEFINE_string("out", None, "Output file, `.weights.h5` (weights) or `.keras` (whole model). "
                                     "Default: <model>.weights.h5 in the current folder.")
    flags.DEFINE_string("layout", None, "Skeleton layout, when not the preset's (e.g. h36m19 for "
                                        "27_frame_model_toe.bin).")
    flags.DEFINE_string("weights", None, "A weights tag of the preset (`python -m skeleton_zoo list`), or "
                                         "'official': its files are downloaded, verified and cached, instead of "
                                         "checkpoint files given on the command line.")
    define_option_flag()
    define_overwrite_flag("--out file")
    flags.mark_flag_as_required("model")


def main(argv) -> int:
    overrides = start(argv, positional=True)
    checkpoints = argv[1:]
    if not checkpoints and FLAGS.weights is None:
        raise app.UsageError("expected the checkpoint file(s) to convert, or --weights TAG. Examples: "
                             "python -m skeleton_zoo convert 27_frame_model.bin --model gast_27; "
                             "python -m skeleton_zoo convert --model gast_27 --weights official")
    if FLAGS.layout:
        overrides["layout"] = FLAGS.layout
    from skeleton_zoo.weights.convert import convert_checkpoints

    out = FLAGS.out or f"{FLAGS.model}.weights.h5"
    check_output_files(FLAGS.overwrite, out=out)
    convert_checkpoints(checkpoints, FLAGS.model, out, overrides, overwrite=FLAGS.overwrite, tag=FLAGS.weights)
    return 0
