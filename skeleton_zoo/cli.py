"""Flags and start-up shared by the command lines (train, evaluate, convert)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

from absl import app, flags, logging

FLAGS = flags.FLAGS


def define_dataset_flags(downsample_help: str) -> None:
    """--model, --dataset, --data_dir, --manual_dir, --out, --downsample, --actions, --option."""
    flags.DEFINE_string("model", None, "Preset (python -m skeleton_zoo list).")
    flags.DEFINE_string("dataset", None, "TFDS name, e.g. human36m/cpn_ft_h36m_dbb, humaneva/gt, "
                                         "ntu_rgbd/xsub60.")
    flags.DEFINE_string("data_dir", None, "TFDS data directory (default: TFDS's, ~/tensorflow_datasets).")
    flags.DEFINE_string("manual_dir", None, "Folder with the downloaded raw files, for a dataset not yet "
                                            "prepared.")
    flags.DEFINE_string("out", None, "Output directory. Default: runs/<model> (evaluate: runs/eval-<model>).")
    flags.DEFINE_integer("downsample", 5, downsample_help)
    flags.DEFINE_list("actions", None, "Pose lifting: only actions starting with these prefixes, e.g. "
                                       "Walk,Jog,Box (the papers' HumanEva-I protocol). Default: all.")
    flags.DEFINE_multi_string("option", [], "Preset option KEY=VALUE (Python literal), e.g. dropout=0.5, "
                                            "channels=64. Repeatable.")
    flags.mark_flag_as_required("model")


def start(argv) -> dict:
    """Checks that only flags were given, quiets TFDS's INFO logs unless
    --verbosity was set, and returns the parsed --option overrides."""
    from skeleton_zoo.registry import parse_overrides

    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}; everything is a --flag.")
    if not FLAGS["verbosity"].present:  # TFDS logs every file it opens at INFO
        logging.set_verbosity(logging.WARNING)
    try:
        return parse_overrides(FLAGS.option)
    except ValueError as error:
        raise app.UsageError(str(error))
