"""Trains a preset with its paper's recipe: `python -m skeleton_zoo.train`.

    python -m skeleton_zoo.train --model gast_243 --dataset human36m/cpn_ft_h36m_dbb \\
        --manual_dir ~/data/h36m --out runs/gast_243
    python -m skeleton_zoo.train --model st_tr_spatial_joint --dataset ntu_rgbd/xsub60 \\
        --manual_dir ~/data/ntu --out runs/s_tr_xsub60

Flags left unset take the family's recipe (`skeleton_zoo.training.RECIPES`).
Re-running a command resumes after the last finished epoch. `--strategy
multi_worker` reads the cluster from TF_CONFIG (README: multi-machine).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags

from skeleton_zoo import cli

FLAGS = flags.FLAGS
cli.define_dataset_flags("GAST-Net: keep every n-th frame of train and test sequences (the official "
                         "default is 5).")
flags.adopt_module_key_flags(cli)  # --help lists the shared flags too
flags.DEFINE_integer("epochs", None, "Epochs. Default: recipe (GAST-Net 80, ST-TR 120).")
flags.DEFINE_integer("batch_size", None, "Global batch size. Default: recipe (GAST-Net 128, ST-TR 32).")
flags.DEFINE_float("learning_rate", None, "Initial learning rate. Default: recipe (GAST-Net 1e-3, ST-TR 0.1).")
flags.DEFINE_enum("strategy", "auto", ["auto", "default", "mirrored", "multi_worker"],
                  "auto: MirroredStrategy over all GPUs when more than one is visible; multi_worker: "
                  "MultiWorkerMirroredStrategy from TF_CONFIG.")
flags.DEFINE_integer("seed", 0, "Random seed (weights, shuffling).")
flags.DEFINE_float("lr_decay", 0.95, "GAST-Net: learning-rate factor per epoch (HumanEva-I: 0.98).")
flags.DEFINE_bool("flip", True, "GAST-Net: horizontal-flip augmentation.")
flags.DEFINE_string("weights", None, "Initial weights (official checkpoint or Keras file), to fine-tune.")
flags.DEFINE_integer("steps_per_epoch", None, "Cap on training steps per epoch (default: the whole split).")
flags.DEFINE_bool("evaluate", True, "Evaluate on the test split at the end and write metrics.json.")


def main(argv):
    options = cli.start(argv)
    from skeleton_zoo import training

    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF work.
    try:
        strategy = training.make_strategy(FLAGS.strategy)
    except ValueError as error:
        raise app.UsageError(str(error))
    config = training.TrainConfig(
        model=FLAGS.model, dataset=FLAGS.dataset, out=FLAGS.out or os.path.join("runs", FLAGS.model),
        data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir, epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, strategy=FLAGS.strategy,
        seed=FLAGS.seed, downsample=FLAGS.downsample, lr_decay=FLAGS.lr_decay, flip=FLAGS.flip,
        actions=tuple(FLAGS.actions) if FLAGS.actions else None,
        options=options, weights=FLAGS.weights,
        steps_per_epoch=FLAGS.steps_per_epoch, evaluate=FLAGS.evaluate)
    try:
        result = training.train(config, strategy=strategy)
    except training.NaNLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if "metrics" in result:
        print(f"Metrics written to {os.path.join(config.out, 'metrics.json')}")
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
