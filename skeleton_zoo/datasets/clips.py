"""Action-recognition clips from the `ntu_rgbd` and `kinetics_skeleton` TFDS
builders, padded as the official pipeline pads, with the model's input features."""

from __future__ import annotations

from skeleton_zoo.datasets.common import dataset_info, shuffle_map_batch
from skeleton_zoo.layouts import get_layout, skeleton_features

__all__ = ["load_action_clips"]


def load_action_clips(name: str, split: str, features: str, batch_size: int, shuffle: bool = True,
                      seed: int = 0, data_dir=None, manual_dir=None, frames: int = 300,
                      builder=None, drop_remainder: bool = False):
    """NTU or Kinetics-Skeleton clips, padded as the official pipeline pads, as model input.

    Args:
        name: TFDS name, e.g. "ntu_rgbd/xsub60" or "kinetics_skeleton".
        split: "train" or "test" ("validation" for Kinetics).
        features: the model's input features (`layouts.skeleton_features`):
            "joint" (3 channels), "joint+bone" (6: [joints || bones]), ...
        batch_size: global batch size.
        frames: clip length (official: 300).

    Returns:
        `tf.data.Dataset` of `(skeleton (B, frames, V, 2, 3 per part), label (B,))`, V = 25
        (NTU) or 18 (Kinetics).
    """
    import tensorflow_datasets as tfds

    from tfds_builders import kinetics_skeleton, ntu_rgbd

    builder = builder or dataset_info(name, data_dir, manual_dir)
    # the builder -> its skeleton layout and how its examples become official-length clips
    pipelines = {"ntu_rgbd": ("ntu25", ntu_rgbd.pad_to_official_length),
                 "kinetics_skeleton": ("openpose18", kinetics_skeleton.pad_to_official_length)}
    if builder.name not in pipelines:
        raise ValueError(f"--dataset '{name}': ST-TR-style clips are made from {sorted(pipelines)}, not "
                         f"'{builder.name}' (PYSKL's annotation files evaluate with PYSKL's models).")
    layout_name, pad_to_official_length = pipelines[builder.name]
    layout = get_layout(layout_name)

    def clip(example):
        joints = pad_to_official_length(example, frames)["joints"]  # (frames, V, 2, 3)
        return skeleton_features(joints, features, layout, joint_axis=1), example["label"]

    ds = builder.as_dataset(split=split, shuffle_files=shuffle,
                            read_config=tfds.ReadConfig(shuffle_seed=seed))
    buffer = min(builder.info.splits[split].num_examples, 4096) if shuffle else 0
    return shuffle_map_batch(ds, clip, buffer, seed, batch_size, drop_remainder)
