"""tf.data input pipelines for training and evaluation, from the TFDS builders.

Pose lifting (GAST-Net, as VideoPose3D's `ChunkedGenerator` with chunk
length 1): every frame of every sequence is one sample; its input is one
receptive field of 2D keypoints centred on it (ending at it for causal
models), edge-padded at the sequence ends, its target the frame's 3D pose.
With flip augmentation every window appears twice per epoch, once mirrored
(x negated, the layout's left and right joints swapped, in input and target).

Action recognition (ST-TR): NTU examples padded to the official 300 frames,
joints or joints + bones.

The sequences are held in memory as one concatenated tensor plus an index
table, so the hot path is `from_tensor_slices -> shuffle -> map(gather) ->
batch -> prefetch`, deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from skeleton_zoo.layouts import SkeletonLayout, get_layout

__all__ = ["PoseSequences", "load_pose_sequences", "pose_windows", "flip_pose",
           "load_action_clips", "dataset_info"]


def _import_builders():
    import tfds_builders  # noqa: F401  (registers the builders)


def dataset_info(name: str, data_dir=None, manual_dir=None):
    """Prepares (if needed) and returns the TFDS builder `name`, e.g. "human36m/gt"."""
    import tensorflow_datasets as tfds

    _import_builders()
    builder = tfds.builder(name, data_dir=data_dir)
    if not builder.is_prepared():
        config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    return builder


@dataclasses.dataclass
class PoseSequences:
    """Whole sequences of one split, in memory.

    Attributes:
        keypoints_2d: list of (T_i, J, 2) float32, normalised screen coordinates.
        poses_3d: list of (T_i, J, 3) float32, root-relative camera-frame metres.
        actions, subjects: one name per sequence (e.g. "Walking 1", "S9").
        layout: the skeleton layout of the joints (3D, and 2D, which must match).
    """

    keypoints_2d: list
    poses_3d: list
    actions: list
    subjects: list
    layout: SkeletonLayout

    @property
    def num_frames(self) -> int:
        return int(sum(len(x) for x in self.keypoints_2d))


def load_pose_sequences(name: str, split: str, data_dir=None, manual_dir=None, downsample: int = 1,
                        builder=None, actions=None) -> PoseSequences:
    """Reads a pose-lifting TFDS dataset ("human36m/<source>", "humaneva/<source>").

    Args:
        name: TFDS name with config.
        split: "train", "test" or "validation".
        data_dir, manual_dir: TFDS folders (prepared on first use).
        downsample: keep every n-th frame of every sequence (GAST-Net's `-ds`).
        actions: keep only actions starting with one of these prefixes (the
            papers' HumanEva-I protocol: ("Walk", "Jog", "Box")). None: all.

    Returns:
        `PoseSequences`.
    """
    import tensorflow_datasets as tfds

    if downsample < 1:
        raise ValueError(f"--downsample must be >= 1, found {downsample}.")
    builder = builder or dataset_info(name, data_dir, manual_dir)
    metadata = builder.info.metadata or {}
    layout = get_layout(metadata.get("layout_3d", "h36m17"))
    joints_2d = metadata.get("num_joints_2d", layout.num_joints)
    layout_2d = metadata.get("keypoints_layout_2d", layout.name)
    convert = None
    if layout.name == "humaneva15" and layout_2d == "coco17":  # GAST-Net's HumanEva detections
        from skeleton_zoo.keypoints import coco17_to_humaneva15 as convert
    elif joints_2d != layout.num_joints or layout_2d != layout.name:
        raise ValueError(
            f"Dataset '{name}': its 2D keypoints are {joints_2d} joints in "
            f"'{metadata.get('keypoints_layout_2d')}' order, but GAST-Net lifts 2D and 3D in one "
            f"layout ('{layout.name}', {layout.num_joints} joints). Use a source in that layout "
            f"(e.g. gt, cpn_ft_h36m_dbb).")
    out = PoseSequences([], [], [], [], layout)
    for example in tfds.as_numpy(builder.as_dataset(split=split)):
        if actions and not example["action"].decode().startswith(tuple(actions)):
            continue
        keypoints = example["keypoints_2d"][::downsample]
        out.keypoints_2d.append(convert(keypoints) if convert else keypoints)
        out.poses_3d.append(example["pose_3d"][::downsample])
        out.actions.append(example["action"].decode())
        out.subjects.append(example["subject"].decode())
    if not out.keypoints_2d:
        raise ValueError(f"Dataset '{name}' split '{split}' has no sequences"
                         + (f" of actions {list(actions)}." if actions else "."))
    return out


def flip_pose(x, layout: SkeletonLayout):
    """Mirrors poses: negates x and swaps the layout's left and right joints.

    Args:
        x: (..., J, C) array or tensor, C >= 1 (x first).

    Returns:
        Same shape and type.
    """
    permutation = np.asarray(layout.mirror_permutation())
    sign = np.ones(x.shape[-1], np.float32)
    sign[0] = -1.0
    if isinstance(x, np.ndarray):
        return x[..., permutation, :] * sign
    return tf.gather(x, permutation, axis=-2) * sign


def _shuffle_map_batch(ds, function, shuffle_buffer, seed, batch_size, drop_remainder):
    """shuffle (when `shuffle_buffer`) -> parallel deterministic map -> batch -> prefetch,
    sharded by data under multi-worker training."""
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(function, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def pose_windows(sequences: PoseSequences, receptive_field: int, causal: bool, batch_size: int,
                 shuffle: bool = True, flip: bool = True, seed: int = 0,
                 drop_remainder: bool = False) -> tf.data.Dataset:
    """Training / validation windows for the single-frame GAST-Net.

    Args:
        sequences: `PoseSequences`.
        receptive_field: frames per window (odd).
        causal: windows end at their target frame instead of centring on it.
        batch_size: global batch size.
        shuffle: shuffle all windows every epoch (seeded).
        flip: add the mirrored copy of every window.
        seed: shuffle seed.

    Returns:
        Dataset of `(keypoints_2d (B, rf, J, 2), pose_3d (B, 1, J, 3))`.
    """
    pad = (receptive_field - 1) // 2
    shift = pad if causal else 0
    lengths = np.array([len(x) for x in sequences.keypoints_2d], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frames_2d = tf.constant(np.concatenate(sequences.keypoints_2d).astype(np.float32))
    frames_3d = tf.constant(np.concatenate(sequences.poses_3d).astype(np.float32))
    # One row per (sequence start, length, target frame, flipped).
    sequence = np.repeat(np.arange(len(lengths)), lengths)
    frame = np.arange(lengths.sum()) - starts[sequence]
    table = np.stack([starts[sequence], lengths[sequence], frame, np.zeros_like(frame)], axis=1)
    if flip:
        mirrored = table.copy()
        mirrored[:, 3] = 1
        table = np.concatenate([table, mirrored])
    offsets = tf.range(-pad - shift, pad - shift + 1, dtype=tf.int64)

    def window(row):
        start, length, t, mirrored = row[0], row[1], row[2], row[3]
        index = start + tf.clip_by_value(t + offsets, 0, length - 1)  # edge padding
        x = tf.gather(frames_2d, index)  # (rf, J, 2)
        y = frames_3d[start + t][None]  # (1, J, 3)
        layout = sequences.layout
        return tf.cond(mirrored > 0, lambda: (flip_pose(x, layout), flip_pose(y, layout)),
                       lambda: (x, y))

    ds = tf.data.Dataset.from_tensor_slices(table)
    return _shuffle_map_batch(ds, window, len(table) if shuffle else 0, seed, batch_size, drop_remainder)


def load_action_clips(name: str, split: str, bones: bool, batch_size: int, shuffle: bool = True,
                      seed: int = 0, data_dir=None, manual_dir=None, frames: int = 300,
                      builder=None, drop_remainder: bool = False) -> tf.data.Dataset:
    """NTU clips for ST-TR, padded as the official pipeline pads.

    Args:
        name: TFDS name, e.g. "ntu_rgbd/xsub60".
        split: "train" or "test".
        bones: append bone vectors: 6 channels [joints || bones] (the bone presets).
        batch_size: global batch size.
        frames: clip length (official: 300).

    Returns:
        Dataset of `(skeleton (B, frames, 25, 2, 3 or 6), label (B,))`.
    """
    import tensorflow_datasets as tfds

    from skeleton_zoo.layouts import joints_to_bones
    from tfds_builders.ntu_rgbd import pad_to_official_length

    builder = builder or dataset_info(name, data_dir, manual_dir)
    ntu25 = get_layout("ntu25")

    def clip(example):
        joints = pad_to_official_length(example, frames)["joints"]  # (frames, 25, 2, 3)
        if bones:
            joints = tf.concat([joints, joints_to_bones(joints, ntu25, joint_axis=1)], axis=-1)
        return joints, example["label"]

    ds = builder.as_dataset(split=split, shuffle_files=shuffle,
                            read_config=tfds.ReadConfig(shuffle_seed=seed))
    buffer = min(builder.info.splits[split].num_examples, 4096) if shuffle else 0
    return _shuffle_map_batch(ds, clip, buffer, seed, batch_size, drop_remainder)
