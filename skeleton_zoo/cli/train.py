"""Trains a preset with its paper's recipe (`skeleton_zoo.training`):

    python -m skeleton_zoo train --model gast_243 --dataset human36m/cpn_ft_h36m_dbb \\
        --manual_dir ~/data/h36m --out runs/gast_243
    python -m skeleton_zoo train --model st_tr_spatial_joint --dataset ntu_rgbd/xsub60 \\
        --manual_dir ~/data/ntu --out runs/s_tr_xsub60
    python -m skeleton_zoo train --model st_tr_spatial_joint --dataset ntu_rgbd/xsub60 \\
        --precision mixed_float16 --out runs/s_tr_fp16          # GPUs; mixed_bfloat16 for TPUs / AMX

Flags left unset take the family's recipe (`python -m skeleton_zoo list` names
the presets; `skeleton_zoo.registry.Recipe`). Re-running a command resumes
after the last finished epoch. `--strategy multi_worker` reads the cluster
from TF_CONFIG (README: multi-machine).
"""

from __future__ import annotations

import os

from absl import flags

from skeleton_zoo.cli.common import FLAGS, define_dataset_flags, define_model_flags, start
from skeleton_zoo.training.precision import PRECISIONS


def define_flags() -> None:
    define_model_flags(weights_help="Initial weights (official checkpoint or Keras file), to fine-tune.")
    define_dataset_flags("Pose lifting: keep every n-th frame of train and test sequences (the official "
                         "default is 5).")
    flags.DEFINE_integer("epochs", None, "Epochs. Default: the recipe's (GAST-Net 80, ST-TR 120).")
    flags.DEFINE_integer("batch_size", None, "Global batch size. Default: the recipe's (GAST-Net 128, ST-TR 32).")
    flags.DEFINE_float("learning_rate", None, "Initial learning rate. Default: the recipe's (GAST-Net 1e-3, "
                                              "ST-TR 0.1).")
    flags.DEFINE_enum("strategy", "auto", ["auto", "default", "mirrored", "multi_worker"],
                      "auto: MirroredStrategy over all GPUs when more than one is visible; multi_worker: "
                      "MultiWorkerMirroredStrategy from TF_CONFIG.")
    flags.DEFINE_enum("precision", "float32", list(PRECISIONS),
                      "float32, or mixed precision: bfloat16 compute (CPUs with AVX512-BF16 / AMX, TPUs, recent GPUs) "
                      "or float16 compute with loss scaling (GPUs); variables, BatchNorm and the loss stay float32.")
    flags.DEFINE_integer("seed", 0, "Random seed (weights, shuffling, random clips).")
    flags.DEFINE_float("lr_decay", None, "Exponential schedules: learning-rate factor per epoch. Default: the "
                                         "recipe's (GAST-Net 0.95; HumanEva-I: 0.98).")
    flags.DEFINE_bool("flip", True, "Pose lifting: horizontal-flip augmentation.")
    flags.DEFINE_integer("steps_per_epoch", None, "Cap on training steps per epoch (default: the whole split).")
    flags.DEFINE_bool("evaluate", True, "Evaluate on the test split at the end and write metrics.json.")
    flags.DEFINE_bool("overwrite", False, "Replace a run already in --out (default: resume it, continue it to a "
                                          "larger --epochs, or leave a finished one as it is).")


def main(argv) -> int:
    options = start(argv)
    from skeleton_zoo.training import distribute, trainer

    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF work.
    strategy = distribute.make_strategy(FLAGS.strategy)
    config = trainer.TrainConfig(
        model=FLAGS.model, dataset=FLAGS.dataset, out=FLAGS.out or os.path.join("runs", FLAGS.model),
        data_dir=FLAGS.data_dir, manual_dir=FLAGS.manual_dir, epochs=FLAGS.epochs,
        batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, strategy=FLAGS.strategy,
        seed=FLAGS.seed, downsample=FLAGS.downsample, lr_decay=FLAGS.lr_decay, flip=FLAGS.flip,
        actions=tuple(FLAGS.actions) if FLAGS.actions else None,
        options=options, weights=FLAGS.weights, precision=FLAGS.precision,
        steps_per_epoch=FLAGS.steps_per_epoch, evaluate=FLAGS.evaluate, overwrite=FLAGS.overwrite)
    result = trainer.train(config, strategy=strategy)
    if result["status"] == "complete":
        print(result["message"])
    elif "metrics" in result:
        print(f"Metrics written to {os.path.join(config.out, 'metrics.json')}")
    return 0
