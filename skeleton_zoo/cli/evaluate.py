"""Evaluates a preset the way its paper does (through its task, `skeleton_zoo.tasks`):

    python -m skeleton_zoo evaluate --model gast_27 --weights 27_frame_model.bin \\
        --dataset human36m/cpn_ft_h36m_dbb --manual_dir ~/data/h36m
    python -m skeleton_zoo evaluate --model st_tr_2s_joint --weights s_tr.pt,t_tr.pt \\
        --dataset ntu_rgbd/xsub60 --manual_dir ~/data/ntu

Results go to `--out`: metrics.json, and per-action tables (JSON, CSV,
markdown) or the classification report and confusion_matrix.png
(`skeleton_zoo.evaluation`).
"""

from __future__ import annotations

import json
import os
import sys

from absl import flags

from skeleton_zoo.cli.common import (FLAGS, check_output_files, check_output_folder, define_dataset_flags,
                                     define_model_flags, define_overwrite_flag, preset_weights, start)


def define_flags() -> None:
    define_model_flags()
    define_dataset_flags("Pose lifting: keep every n-th frame (the official GAST default is 5; 1 evaluates "
                         "every frame).")
    flags.mark_flag_as_required("dataset")
    flags.DEFINE_string("split", None, "Split to evaluate. Default: test (HumanEva-I: validation).")
    flags.DEFINE_bool("flip", True, "Pose lifting: test-time flip averaging.")
    flags.DEFINE_integer("batch_size", 16, "Action recognition: clips per batch.", lower_bound=1)
    flags.DEFINE_bool("skip_empty_persons", True, "Action recognition: run all-zero (padding) persons once per "
                                                  "clip length (the same scores up to float rounding); "
                                                  "--noskip_empty_persons runs the plain model.")
    define_overwrite_flag("evaluation in --out")


def main(argv) -> int:
    options = start(argv)
    from skeleton_zoo.datasets.common import dataset_info
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.tasks.base import EvaluationOptions
    from skeleton_zoo.utils.files import write_text

    preset, weights = preset_weights(FLAGS.model, FLAGS.weights)
    if FLAGS.downsample < 1:
        raise ValueError(f"--downsample: expected a positive integer, found {FLAGS.downsample}.")
    out = FLAGS.out or os.path.join("runs", f"eval-{FLAGS.model}")
    check_output_folder("--out", out)
    check_output_files(FLAGS.overwrite, out=os.path.join(out, "metrics.json"))
    if weights is None:
        print(f"warning: no --weights: '{FLAGS.model}' is randomly initialised, its scores are meaningless.",
              file=sys.stderr)
    builder = dataset_info(FLAGS.dataset, FLAGS.data_dir, FLAGS.manual_dir)
    task = get_task(preset.task)
    task.check_dataset(builder, FLAGS.dataset)
    model = task.build(preset, weights, options, builder)
    evaluation = EvaluationOptions(split=FLAGS.split, downsample=FLAGS.downsample,
                                   actions=tuple(FLAGS.actions) if FLAGS.actions else None, flip=FLAGS.flip,
                                   batch_size=FLAGS.batch_size, skip_empty_persons=FLAGS.skip_empty_persons)
    result = task.evaluate(model, preset, FLAGS.dataset, builder, evaluation, out)
    write_text(os.path.join(out, "metrics.json"), json.dumps(
        {"model": FLAGS.model, "weights": FLAGS.weights, "dataset": FLAGS.dataset, **result}, indent=1))
    print(f"Results written to {out}")
    return 0
