"""Action-recognition clips from the `ntu_rgbd` TFDS builder, padded as the
official pipeline pads, with the model's input features."""

from __future__ import annotations

from skeleton_zoo.datasets.common import dataset_info, shuffle_map_batch
from skeleton_zoo.layouts import get_layout, skeleton_features

__all__ = ["load_action_clips"]


def load_action_clips(name: str, split: str, features: str, batch_size: int, shuffle: bool = True,
                      seed: int = 0, data_dir=None, manual_dir=None, frames: int = 300,
                      builder=None, drop_remainder: bool = False):
    """NTU clips, padded as the official pipeline pads, as model input.

    Args:
        name: TFDS name, e.g. "ntu_rgbd/xsub60".
        split: "train" or "test".
        features: the model's input features (`layouts.SKELETON_FEATURES`):
            "joint" (3 channels) or "joint+bone" (6: [joints || bones]).
        batch_size: global batch size.
        frames: clip length (official: 300).

    Returns:
        `tf.data.Dataset` of `(skeleton (B, frames, 25, 2, 3 or 6), label (B,))`.
    """
    import tensorflow_datasets as tfds

    from tfds_builders.ntu_rgbd import pad_to_official_length

    builder = builder or dataset_info(name, data_dir, manual_dir)
    ntu25 = get_layout("ntu25")

    def clip(example):
        joints = pad_to_official_length(example, frames)["joints"]  # (frames, 25, 2, 3)
        return skeleton_features(joints, features, ntu25, joint_axis=1), example["label"]

    ds = builder.as_dataset(split=split, shuffle_files=shuffle,
                            read_config=tfds.ReadConfig(shuffle_seed=seed))
    buffer = min(builder.info.splits[split].num_examples, 4096) if shuffle else 0
    return shuffle_map_batch(ds, clip, buffer, seed, batch_size, drop_remainder)
