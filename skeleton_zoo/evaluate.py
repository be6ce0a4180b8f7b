"""Evaluates a preset the way its paper does: `python -m skeleton_zoo.evaluate`.

    python -m skeleton_zoo.evaluate --model gast_27 --weights 27_frame_model.bin \\
        --dataset human36m/cpn_ft_h36m_dbb --manual_dir ~/data/h36m
    python -m skeleton_zoo.evaluate --model st_tr_2s_joint --weights s_tr.pt,t_tr.pt \\
        --dataset ntu_rgbd/xsub60 --manual_dir ~/data/ntu

What is computed is described in `skeleton_zoo.evaluation`. Results go to
`--out`: metrics.json, per-action tables (JSON, CSV, markdown) or the
classification report and confusion_matrix.png.
"""

from __future__ import annotations

import json
import os
import sys

from absl import app, flags

from skeleton_zoo import cli

FLAGS = flags.FLAGS
cli.define_dataset_flags("Pose lifting: keep every n-th frame (the official GAST default is 5; 1 evaluates "
                         "every frame).")
flags.adopt_module_key_flags(cli)  # --help lists the shared flags too
flags.DEFINE_string("weights", None, "Weights: official .bin/.pt/.pth, .weights.h5 or .keras; two-stream "
                                     "presets take SPATIAL,TEMPORAL.")
flags.DEFINE_string("split", None, "Split to evaluate. Default: test (HumanEva-I: validation).")
flags.DEFINE_bool("flip", True, "Pose lifting: test-time flip averaging.")
flags.DEFINE_integer("batch_size", 16, "Action recognition: clips per batch.")
flags.mark_flag_as_required("dataset")


def _weights_argument(preset, weights):
    if weights and "spatial" in preset.config:
        parts = weights.split(",")
        if len(parts) != 2:
            raise ValueError(f"--weights: two-stream preset '{preset.name}' takes SPATIAL,TEMPORAL "
                             f"(two files), found '{weights}'.")
        return {"spatial": parts[0], "temporal": parts[1]}
    return weights


def main(argv):
    options = cli.start(argv)
    from skeleton_zoo import pipelines, registry
    from skeleton_zoo.evaluation import evaluate_action_models, evaluate_pose_model

    try:
        preset = registry.get_preset(FLAGS.model)
        weights = _weights_argument(preset, FLAGS.weights)
        builder = pipelines.dataset_info(FLAGS.dataset, FLAGS.data_dir, FLAGS.manual_dir)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    out = FLAGS.out or os.path.join("runs", f"eval-{FLAGS.model}")
    split = FLAGS.split or ("test" if "test" in builder.info.splits else "validation")
    if preset.family == "gast":
        layout = (builder.info.metadata or {}).get("layout_3d")
        model = registry.load(preset.name, weights=weights, **({"layout": layout} if layout else {}), **options)
        sequences = pipelines.load_pose_sequences(FLAGS.dataset, split, downsample=FLAGS.downsample,
                                                  builder=builder, actions=FLAGS.actions)
        result = evaluate_pose_model(model, sequences, flip=FLAGS.flip, out=out)
    else:
        num_classes = builder.info.features["label"].num_classes
        model = registry.load(preset.name, weights=weights, num_classes=num_classes, **options)
        streams = ({"spatial": model.spatial_stream, "temporal": model.temporal_stream}
                   if hasattr(model, "spatial_stream") else {preset.name: model})
        first = next(iter(streams.values()))
        ds = pipelines.load_action_clips(FLAGS.dataset, split, first.in_channels == 6, FLAGS.batch_size,
                                         shuffle=False, builder=builder)
        result = evaluate_action_models(streams, ds, builder, out=out,
                                        fusion=getattr(model, "fusion", "logits"))
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"model": FLAGS.model, "weights": FLAGS.weights, "dataset": FLAGS.dataset,
                   "split": split, **result}, f, indent=1)
    print(f"Results written to {out}")
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
