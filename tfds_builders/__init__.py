"""TFDS builders for NTU RGB+D 60/120 (the raw `.skeleton` files, or PYSKL's
annotation pickles: `pyskl_skeleton`), Kinetics-Skeleton (`kinetics_skeleton`,
the published OpenPose JSON files), Human3.6M (VideoPose3D's and MotionBERT's
preprocessing) and HumanEva-I.

Importing this package registers the builders with `tensorflow_datasets`:

    import tensorflow_datasets as tfds
    import tfds_builders  # noqa: F401

    ds = tfds.load(
        "ntu_rgbd/xsub60", split="train",
        download_and_prepare_kwargs={
            "download_config": tfds.download.DownloadConfig(manual_dir="~/data/ntu")},
    )

The raw data needs registration with each dataset's authors, so every builder
reads files the user downloaded into `manual_dir`; its
`MANUAL_DOWNLOAD_INSTRUCTIONS` say which. `tfds build tfds_builders/ntu_rgbd
--manual_dir=...` works too.
"""

from tfds_builders.human36m.human36m import Human36m
from tfds_builders.human36m_motionbert.human36m_motionbert import Human36mMotionbert
from tfds_builders.humaneva.humaneva import Humaneva
from tfds_builders.kinetics_skeleton.kinetics_skeleton import KineticsSkeleton
from tfds_builders.ntu_rgbd.ntu_rgbd import NtuRgbd
from tfds_builders.pyskl_skeleton.pyskl_skeleton import PysklSkeleton

__all__ = ["Human36m", "Human36mMotionbert", "Humaneva", "KineticsSkeleton", "NtuRgbd", "PysklSkeleton"]
