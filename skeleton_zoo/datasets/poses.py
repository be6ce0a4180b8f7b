"""Pose-lifting data from the `human36m` / `humaneva` TFDS builders.

Training windows follow VideoPose3D's `ChunkedGenerator` with chunk length 1:
every frame of every sequence is one sample; its input is one receptive field
of 2D keypoints centred on it (ending at it for causal models), edge-padded
at the sequence ends, its target the frame's 3D pose. With flip augmentation
every window appears twice per epoch, once mirrored (x negated, the layout's
left and right joints swapped, in input and target).

The sequences are held in memory as one concatenated tensor plus an index
table, so the hot path is `from_tensor_slices -> shuffle -> map(gather) ->
batch -> prefetch`, deterministic for a given seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from skeleton_zoo.datasets.common import dataset_info, shuffle_map_batch
from skeleton_zoo.layouts import SkeletonLayout, get_layout

__all__ = ["PoseSequences", "load_pose_sequences", "pose_windows", "pose_clips", "clip_starts", "flip_pose"]


@dataclasses.dataclass
class PoseSequences:
    """Whole sequences of one split, in memory.

    Attributes:
        keypoints_2d: list of (T_i, J, 2) float32, normalised screen coordinates.
        poses_3d: list of (T_i, J, 3) float32, root-relative camera-frame metres.
        actions, subjects: one name per sequence (e.g. "Walking 1", "S9").
        layout: the skeleton layout of the joints (3D, and 2D, which must match).
        scores: list of (T_i, J) detector confidences, where the dataset has
            them (`human36m_motionbert`); None otherwise.
    """

    keypoints_2d: list
    poses_3d: list
    actions: list
    subjects: list
    layout: SkeletonLayout
    scores: list | None = None

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
        downsample: keep every n-th frame of every sequence (VideoPose3D / GAST-Net `-ds`).
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
        from skeleton_zoo.formats.keypoints import coco17_to_humaneva15 as convert
    elif joints_2d != layout.num_joints or layout_2d != layout.name:
        raise ValueError(
            f"Dataset '{name}': its 2D keypoints are {joints_2d} joints in "
            f"'{metadata.get('keypoints_layout_2d')}' order, but the lifting models take 2D and 3D in one "
            f"layout ('{layout.name}', {layout.num_joints} joints). Use a source in that layout "
            f"(e.g. gt, cpn_ft_h36m_dbb).")
    out = PoseSequences([], [], [], [], layout, [] if "confidence" in builder.info.features else None)
    for example in tfds.as_numpy(builder.as_dataset(split=split)):
        if actions and not example["action"].decode().startswith(tuple(actions)):
            continue
        keypoints = example["keypoints_2d"][::downsample]
        out.keypoints_2d.append(convert(keypoints) if convert else keypoints)
        out.poses_3d.append(example["pose_3d"][::downsample])
        out.actions.append(example["action"].decode())
        out.subjects.append(example["subject"].decode())
        if out.scores is not None:
            out.scores.append(example["confidence"][::downsample])
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


def clip_starts(lengths, clip_frames: int, stride: int) -> list[list[int]]:
    """Per sequence length, the first frames of `pose_clips`' clips."""
    out = []
    for length in lengths:
        last = max(int(length) - clip_frames, 0)
        out.append(sorted(set(range(0, last + 1, stride)) | {last}))
    return out


def pose_clips(sequences: PoseSequences, clip_frames: int, stride: int, batch_size: int, in_features: int = 2,
               shuffle: bool = True, flip: bool = True, seed: int = 0,
               drop_remainder: bool = False) -> tf.data.Dataset:
    """Training / validation clips for sequence-to-sequence lifters: clips of
    `clip_frames` starting every `stride` frames, the last one of each
    sequence ending at its last frame (a sequence shorter than a clip is
    edge-padded to one clip).

    Args:
        sequences: `PoseSequences`.
        clip_frames: frames per clip. stride: frames between clip starts
            (MotionBERT: clip_frames / 3 for training, clip_frames for testing).
        batch_size: global batch size.
        in_features: 2, or 3 to append the detection confidence (the
            sequences' `scores`, or 1 where the dataset has none).
        shuffle, flip, seed, drop_remainder: as `pose_windows`.

    Returns:
        Dataset of `(keypoints_2d (B, n, J, in_features), pose_3d (B, n, J, 3))`.
    """
    if clip_frames < 1 or stride < 1:
        raise ValueError(f"pose_clips: clip_frames and stride must be positive, found {clip_frames}, {stride}.")
    lengths = np.array([len(x) for x in sequences.keypoints_2d], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    frames_2d = np.concatenate(sequences.keypoints_2d).astype(np.float32)
    if in_features == 3:  # the detector's confidence where the dataset has it, else 1
        scores = (np.concatenate(sequences.scores).astype(np.float32) if sequences.scores is not None
                  else np.ones(frames_2d.shape[:-1], np.float32))
        frames_2d = np.concatenate([frames_2d, scores[..., None]], axis=-1)
    frames_2d = tf.constant(frames_2d)
    frames_3d = tf.constant(np.concatenate(sequences.poses_3d).astype(np.float32))
    rows = [(starts[i], lengths[i], first, 0)  # (sequence start, length, clip start, mirrored)
            for i, firsts in enumerate(clip_starts(lengths, clip_frames, stride)) for first in firsts]
    table = np.asarray(rows, np.int64).reshape(-1, 4)
    if flip:
        mirrored = table.copy()
        mirrored[:, 3] = 1
        table = np.concatenate([table, mirrored])
    offsets = tf.range(clip_frames, dtype=tf.int64)

    def clip(row):
        start, length, first, mirrored = row[0], row[1], row[2], row[3]
        index = start + tf.clip_by_value(first + offsets, 0, length - 1)
        x, y = tf.gather(frames_2d, index), tf.gather(frames_3d, index)  # (n, J, F), (n, J, 3)
        layout = sequences.layout
        return tf.cond(mirrored > 0, lambda: (flip_pose(x, layout), flip_pose(y, layout)), lambda: (x, y))

    ds = tf.data.Dataset.from_tensor_slices(table)
    return shuffle_map_batch(ds, clip, len(table) if shuffle else 0, seed, batch_size, drop_remainder)


def pose_windows(sequences: PoseSequences, receptive_field: int, causal: bool, batch_size: int,
                 shuffle: bool = True, flip: bool = True, seed: int = 0,
                 drop_remainder: bool = False) -> tf.data.Dataset:
    """Training / validation windows: one receptive field per target frame.

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
    return shuffle_map_batch(ds, window, len(table) if shuffle else 0, seed, batch_size, drop_remainder)
