"""PYSKL's skeleton pipeline (`pyskl/datasets/pipelines`), in numpy, exactly
as the official test pipeline of every PYSKL config:

    PreNormalize3D (NTU 3D) or PreNormalize2D (COCO 2D with scores)
    -> GenSkeFeat: one input stream, "j" (joints), "b" (bones), "jm" (joint
       motion) or "bm" (bone motion), computed on the whole sequence
    -> UniformSample(clip_len=100, num_clips=10), seeded (255) in test mode
    -> PoseDecode, FormatGCNInput(num_person=2)
    -> the model on each clip; softmax per clip, mean over the clips

and its train pipeline (`train_clip`): the same with one clip sampled in
train mode (random, `num_clips=1`); the configs' validation pipeline is
`test_clips(..., num_clips=1)`.

Arrays follow PYSKL's annotation files, (M, T, V, C) = persons, frames,
joints, channels; `test_clips` / `train_clip` return model input in our
layout, (clips, frames, joints, persons, channels) / (frames, joints,
persons, channels).

Streams are fused across models with PYSKL's weights (`STREAM_WEIGHTS`:
joint 2, bone 2, joint motion 1, bone motion 1) on the clip-averaged
probabilities (`fuse_streams`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from skeleton_zoo.formats.ntu import angle_between, rotation_matrix

__all__ = ["STREAMS", "STREAM_WEIGHTS", "BONE_PAIRS", "pre_normalize_3d", "pre_normalize_2d", "skeleton_stream",
           "uniform_sample_indices", "format_gcn_input", "test_clips", "train_clip",
           "clip_probabilities", "fuse_streams"]

STREAMS = ("j", "b", "jm", "bm")
STREAM_WEIGHTS = {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}  # the READMEs' four-stream fusion 2:2:1:1
# `JointToBone` pairs (v1, v2): bone[v1] = joint[v1] - joint[v2]. They differ from PYSKL's graph edges
# (NTU hand tips chain to the thumb, COCO hips hang from the nose).
BONE_PAIRS = {
    "ntu25": ((0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9),
              (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 22),
              (20, 20), (22, 7), (23, 24), (24, 11)),
    "coco17": ((0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 0), (6, 0), (7, 5), (8, 6), (9, 7), (10, 8), (11, 0),
               (12, 0), (13, 11), (14, 12), (15, 13), (16, 14)),
}
# Layouts whose third channel is a detection score (averaged, not differenced, by bones and motion).
_SCORED = ("coco17",)


def _check_keypoints(keypoint, channels, where):
    keypoint = np.asarray(keypoint)
    if keypoint.ndim != 4 or keypoint.shape[-1] not in channels:
        raise ValueError(f"{where}: expected keypoints (persons, frames, joints, {' or '.join(map(str, channels))}), "
                         f"found shape {keypoint.shape}.")
    if not np.all(np.isfinite(keypoint)):
        raise ValueError(f"{where}: the keypoints contain NaN or infinite values.")
    return keypoint


def pre_normalize_3d(keypoint) -> np.ndarray:
    """PYSKL's `PreNormalize3D` (adapted from 2s-AGCN) on NTU 3D joints.

    The main person is person 0, unless person 1 has more non-empty frames
    (then the two are swapped); only the frames where the main person is
    present are kept. Every non-zero joint is centred on the main person's
    spine middle (joint 1; the last joint for V != 25) in the first kept
    frame; then everything is rotated so that its joint 0 -> 1 bone points
    along +z, then so that its joint 4 -> 8 (left -> right shoulder) points
    along +x, both measured in that first frame.

    Args:
        keypoint: (M, T, V, 3), M in 1 or 2.

    Returns:
        (M, T', V, 3) float64 (T' <= T, the kept frames); all-zero input is
        returned unchanged.
    """
    skeleton = _check_keypoints(keypoint, (3,), "pre_normalize_3d")
    if skeleton.shape[0] not in (1, 2):
        raise ValueError(f"pre_normalize_3d: expected 1 or 2 persons, found {skeleton.shape[0]}.")
    if skeleton.sum() == 0:
        return skeleton
    present = [np.flatnonzero(~np.all(np.isclose(person, 0), axis=(1, 2))) for person in skeleton]
    if len(present) == 2 and len(present[0]) < len(present[1]):
        skeleton = skeleton[:, present[1]][[1, 0]]
    else:
        skeleton = skeleton[:, present[0]]
    center = skeleton[0, 0, 1 if skeleton.shape[2] == 25 else -1].copy()
    mask = ((skeleton != 0).sum(-1) > 0)[..., None]
    skeleton = (skeleton - center) * mask
    for (bottom, top), target in (((0, 1), (0, 0, 1)), ((4, 8), (1, 0, 0))):
        bone = skeleton[0, 0, top] - skeleton[0, 0, bottom]
        matrix = rotation_matrix(np.cross(bone, target), angle_between(bone, np.asarray(target, np.float64)))
        skeleton = np.einsum("abcd,kd->abck", skeleton, matrix)
    return skeleton


def pre_normalize_2d(keypoint, keypoint_score=None, img_shape=(1080, 1920), threshold=0.01) -> np.ndarray:
    """PYSKL's `PreNormalize2D` (mode "fix") on 2D detections.

    x -> (x - w / 2) / (w / 2), y -> (y - h / 2) / (h / 2); joints whose
    score is <= `threshold` get x = y = 0 (their score is kept).

    Args:
        keypoint: (M, T, V, 2) pixels, or (M, T, V, 3) with the score.
        keypoint_score: (M, T, V) or None (then taken from channel 2, if any).
        img_shape: (height, width) of the video. Defaults to (1080, 1920).
        threshold: float. Defaults to 0.01.

    Returns:
        (M, T, V, 3) float32 (x, y, score), or (M, T, V, 2) without scores.
    """
    keypoint = _check_keypoints(keypoint, (2, 3), "pre_normalize_2d").astype(np.float32)
    if keypoint_score is not None:
        keypoint_score = np.asarray(keypoint_score, dtype=np.float32)
        if keypoint_score.shape != keypoint.shape[:3] or keypoint.shape[-1] != 2:
            raise ValueError(f"pre_normalize_2d: `keypoint_score` {keypoint_score.shape} must be (M, T, V) of "
                             f"`keypoint` (M, T, V, 2), found keypoint {keypoint.shape}.")
        keypoint = np.concatenate([keypoint, keypoint_score[..., None]], axis=-1)
    h, w = img_shape
    keypoint[..., 0] = (keypoint[..., 0] - (w / 2)) / (w / 2)
    keypoint[..., 1] = (keypoint[..., 1] - (h / 2)) / (h / 2)
    if keypoint.shape[-1] == 3:
        hidden = keypoint[..., 2] <= threshold
        keypoint[..., 0][hidden] = 0
        keypoint[..., 1][hidden] = 0
    return keypoint


def _bones(joints, layout):
    bones = np.zeros(joints.shape, dtype=np.float32)
    for v1, v2 in BONE_PAIRS[layout]:
        bones[..., v1, :] = joints[..., v1, :] - joints[..., v2, :]
        if joints.shape[-1] == 3 and layout in _SCORED:
            bones[..., v1, 2] = (joints[..., v1, 2] + joints[..., v2, 2]) / 2
    return bones


def _motion(data, layout):
    motion = np.zeros_like(data)
    motion[:, :-1] = np.diff(data, axis=1)
    if data.shape[-1] == 3 and layout in _SCORED:
        motion[:, :-1, :, 2] = (data[:, :-1, :, 2] + data[:, 1:, :, 2]) / 2
    return motion


def skeleton_stream(keypoint, stream: str, layout: str = "ntu25") -> np.ndarray:
    """PYSKL's `GenSkeFeat` for one stream, on the whole (pre-normalised)
    sequence, before sampling (so motion is between native frames).

    Args:
        keypoint: (M, T, V, C), C = 3 (NTU x y z, or COCO x y score).
        stream: "j", "b", "jm" or "bm".
        layout: "ntu25" or "coco17" (the bone pairs; COCO's score channel
            is averaged, not differenced). Defaults to "ntu25".

    Returns:
        (M, T, V, C): the joints as given ("j"), or float32 bones / motion
        (the last frame of a motion stream is zero).
    """
    if stream not in STREAMS:
        raise ValueError(f"skeleton_stream: `stream` must be one of {STREAMS}, found {stream!r}.")
    if layout not in BONE_PAIRS:
        raise ValueError(f"skeleton_stream: `layout` must be one of {sorted(BONE_PAIRS)}, found {layout!r}.")
    keypoint = _check_keypoints(keypoint, (2, 3), "skeleton_stream")
    if keypoint.shape[2] != len(BONE_PAIRS[layout]):
        raise ValueError(f"skeleton_stream: layout {layout!r} has {len(BONE_PAIRS[layout])} joints, the keypoints "
                         f"have {keypoint.shape[2]} (shape {keypoint.shape}).")
    data = _bones(keypoint, layout) if stream in ("b", "bm") else keypoint
    return _motion(data, layout) if stream in ("jm", "bm") else data


def uniform_sample_indices(total_frames: int, clip_len: int = 100, num_clips: int = 10, seed: int | None = 255,
                           rng: np.random.RandomState | None = None) -> np.ndarray:
    """PYSKL's `UniformSampleFrames` frame indices.

    Test mode (`seed` given, the default): the global legacy generator seeded
    with `seed` for every video, as the official code, so the indices are the
    official ones. Clip i: videos shorter than `clip_len` start at i (or
    i * n // num_clips) and wrap around; up to 2 x `clip_len` frames keep
    consecutive frames with random single skips; longer videos take one
    random frame of each of `clip_len` equal segments. Training (`seed=None`):
    the same with `rng` (a `RandomState`, default fresh) and random starts.

    Returns:
        int64 (num_clips * clip_len,), every index in [0, total_frames).
    """
    total_frames, clip_len, num_clips = int(total_frames), int(clip_len), int(num_clips)
    for name, value in (("total_frames", total_frames), ("clip_len", clip_len), ("num_clips", num_clips)):
        if value < 1:
            raise ValueError(f"uniform_sample_indices: `{name}` must be >= 1, found {value}.")
    test_mode = seed is not None
    random = np.random.RandomState(seed) if test_mode else (rng or np.random.RandomState())
    n = total_frames
    clips = []
    for i in range(num_clips):
        random.rand()  # the official interval ratio (p_interval = 1: always 1)
        off = random.randint(1)  # draws nothing for a range of one value, as the official call
        if n < clip_len:
            start = (i if n < num_clips else i * n // num_clips) if test_mode else random.randint(0, n)
            inds = np.arange(start, start + clip_len)
        elif n < 2 * clip_len:
            skips = random.choice(clip_len + 1, n - clip_len, replace=False)
            offset = np.zeros(clip_len + 1, dtype=np.int64)
            offset[skips] = 1
            inds = np.arange(clip_len) + np.cumsum(offset)[:-1]
        else:
            bounds = np.array([k * n // clip_len for k in range(clip_len + 1)])
            inds = bounds[:clip_len] + random.randint(np.diff(bounds))
        clips.append(inds + off)
    return np.mod(np.concatenate(clips), n).astype(np.int64)


def format_gcn_input(keypoint, frame_inds, num_clips: int, num_person: int = 2) -> np.ndarray:
    """`PoseDecode` + `FormatGCNInput`: the sampled frames as float32,
    persons zero-padded (or cut) to `num_person`, split into clips.

    Args:
        keypoint: (M, T, V, C).
        frame_inds: (num_clips * clip_len,) int.
        num_clips: int.
        num_person: int. Defaults to 2.

    Returns:
        (num_clips, num_person, clip_len, V, C) float32, PYSKL's layout.
    """
    keypoint = np.asarray(keypoint)[:, np.asarray(frame_inds)].astype(np.float32)
    m, t, v, c = keypoint.shape
    if m < num_person:
        keypoint = np.concatenate([keypoint, np.zeros((num_person - m, t, v, c), np.float32)])
    keypoint = keypoint[:num_person]
    if t % num_clips:
        raise ValueError(f"format_gcn_input: {t} frame indices do not split into {num_clips} clips.")
    return np.ascontiguousarray(keypoint.reshape(num_person, num_clips, t // num_clips, v, c).transpose(1, 0, 2, 3, 4))


def test_clips(keypoint, stream: str = "j", layout: str = "ntu25", keypoint_score=None, img_shape=(1080, 1920),
               clip_len: int = 100, num_clips: int = 10, num_person: int = 2):
    """The whole PYSKL test pipeline of one video, for one stream.

    Args:
        keypoint: (M, T, V, 3) NTU joints (`layout="ntu25"`), or (M, T, V, 2)
            COCO pixels with `keypoint_score` (M, T, V) / (M, T, V, 3)
            (`layout="coco17"`).
        stream: "j", "b", "jm" or "bm". Defaults to "j".
        layout: "ntu25" or "coco17". Defaults to "ntu25".
        keypoint_score: COCO only. img_shape: COCO only, (height, width).
        clip_len, num_clips: UniformSample's. Defaults 100 and 10.
        num_person: int. Defaults to 2.

    Returns:
        `(clips, frame_inds)`: clips (num_clips, clip_len, V, num_person, 3)
        float32 in our model layout, and the sampled frame indices
        (num_clips * clip_len,) into the pre-normalised sequence.
    """
    data = _normalized_stream(keypoint, stream, layout, keypoint_score, img_shape, "test_clips")
    frame_inds = uniform_sample_indices(data.shape[1], clip_len, num_clips)
    clips = format_gcn_input(data, frame_inds, num_clips, num_person)
    return clips.transpose(0, 2, 3, 1, 4), frame_inds


def train_clip(keypoint, stream: str = "j", layout: str = "ntu25", keypoint_score=None, img_shape=(1080, 1920),
               clip_len: int = 100, num_person: int = 2, rng: np.random.RandomState | None = None):
    """The whole PYSKL train pipeline of one video, for one stream: as
    `test_clips`, but one clip whose frames `UniformSampleFrames` samples in
    train mode (random start / skips / segment frames, drawn from `rng`).
    Every NTU config of ST-GCN++, CTR-GCN, AAGCN and MS-G3D trains on this
    alone (no rotation, scaling or noise).

    Args:
        keypoint, stream, layout, keypoint_score, img_shape, num_person: as
            `test_clips`.
        clip_len: int. Defaults to 100.
        rng: `np.random.RandomState` to draw from (default: a fresh one).

    Returns:
        `(clip, frame_inds)`: clip (clip_len, V, num_person, 3) float32 in
        our model layout, and its frame indices (clip_len,) into the
        pre-normalised sequence.
    """
    data = _normalized_stream(keypoint, stream, layout, keypoint_score, img_shape, "train_clip")
    frame_inds = uniform_sample_indices(data.shape[1], clip_len, 1, seed=None, rng=rng)
    clip = format_gcn_input(data, frame_inds, 1, num_person)[0]
    return clip.transpose(1, 2, 0, 3), frame_inds


def _normalized_stream(keypoint, stream, layout, keypoint_score, img_shape, where):
    """`PreNormalize3D` / `PreNormalize2D`, then `GenSkeFeat`: (M, T', V, 3)."""
    if layout == "ntu25":
        if keypoint_score is not None:
            raise ValueError(f"{where}: `keypoint_score` is for 2D keypoints (layout 'coco17'), "
                             "NTU joints are x, y, z.")
        data = pre_normalize_3d(keypoint)
    elif layout == "coco17":
        data = pre_normalize_2d(keypoint, keypoint_score, img_shape)
    else:
        raise ValueError(f"{where}: `layout` must be 'ntu25' or 'coco17', found {layout!r}.")
    return skeleton_stream(data, stream, layout)


def clip_probabilities(logits) -> np.ndarray:
    """`RecognizerGCN.forward_test`'s clip averaging: softmax over the
    classes per clip, then the mean over the clips.

    Args:
        logits: (clips, classes), or (videos, clips, classes).

    Returns:
        (classes,) or (videos, classes) probabilities.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim not in (2, 3):
        raise ValueError(f"clip_probabilities: expected logits (clips, classes) or (videos, clips, classes), "
                         f"found shape {logits.shape}.")
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return (exp / exp.sum(axis=-1, keepdims=True)).mean(axis=-2)


def fuse_streams(probabilities: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> np.ndarray:
    """PYSKL's multi-stream fusion: the weighted sum of each stream's
    clip-averaged probabilities (default weights 2:2:1:1 for j, b, jm, bm;
    j + b alone is the two-stream 1:1 result, same argmax as 2:2).

    Args:
        probabilities: stream name -> (..., classes).
        weights: stream name -> weight. Defaults to `STREAM_WEIGHTS`.

    Returns:
        (..., classes), the fused scores (argmax = the ensemble's class).
    """
    weights = STREAM_WEIGHTS if weights is None else weights
    missing = sorted(set(probabilities) - set(weights))
    if not probabilities or missing:
        raise ValueError(f"fuse_streams: expected scores of the streams {sorted(weights)}, found "
                         f"{sorted(probabilities)}" + (f" (no weight for {missing})" if missing else "") + ".")
    return sum(weights[name] * np.asarray(p, dtype=np.float64) for name, p in probabilities.items())
