"""The whole pose-lifting path, offline, on a synthetic walk shipped with the
package (`skeleton_zoo.inference.demo`):

    python -m skeleton_zoo demo [--weights 27_frame_model.bin] [--causal_weights ...] [--out_dir demo]
"""

from __future__ import annotations

import os

from absl import flags

from skeleton_zoo.cli.common import FLAGS, check_output_files, check_output_folder, define_overwrite_flag, start


def define_flags() -> None:
    flags.DEFINE_string("weights", None, "gast_27 weights: a file (e.g. 27_frame_model.bin) or a tag (official). "
                                         "Default: the official weights when cached, else random.")
    flags.DEFINE_string("causal_weights", None, "gast_27_causal weights for the streamer, as --weights.")
    flags.DEFINE_string("out_dir", "demo", "Output folder.")
    define_overwrite_flag("demo output in --out_dir")


def main(argv) -> int:
    start(argv)
    from skeleton_zoo.inference.demo import OUTPUTS, run_demo

    check_output_folder("--out_dir", FLAGS.out_dir)
    for name in OUTPUTS:
        check_output_files(FLAGS.overwrite, out_dir=os.path.join(FLAGS.out_dir, name))
    run_demo(FLAGS.out_dir, weights=FLAGS.weights, causal_weights=FLAGS.causal_weights)
    return 0
