"""MotionBERT's NTU RGB+D action preprocessing (`lib/data/dataset_action.py`,
`lib/utils/utils_data.py`) in numpy: PYSKL's HRNet COCO-17 keypoints
(`ntu60_hrnet.pkl`, `ntu120_hrnet.pkl`) -> one clip per video of the
`motionbert_action` model.

`action_motion` is what `ActionDataset.__init__` stores per video:

    make_cam: xy / max(h, w) * 2 - 1 (both axes by the larger side), in the
      keypoints' dtype (PYSKL's files store float16, so the official does it in
      float16)
    human_tracking (2 persons): the slots are swapped from every frame where
      person 0 moved more than its distance to person 1's previous position;
      x, y only: the scores keep the file's slot order
    coco2h36m (`keypoints.coco17_to_h36m17_motionbert`)
    resample to `clip_len` frames: test floor(linspace(0, T, clip_len)),
      train a random frame of each interval (`resample_indices`)
    the score appended; a single person gets a zero second person

`action_item` is `NTURGBD.__getitem__`: train `random_move` then `crop_scale`
with a ratio drawn from [1, 3]; test `crop_scale` [2, 2] (the box around both
persons' confident joints takes the central half of [-1, 1]; the zero person's
x, y become ((0 - start) / scale - 0.5) * 2, clipped: not zero).

The official draws from numpy's global generator (`np.random.seed(0)` once);
here every random step takes a `RandomState`. The train resampling is drawn
once, when the official dataset is built, and kept for every epoch;
`datasets.clips` does the same by seeding it per video. Not reproduced: the
official `random_move` writes into the stored motion (a view of
`self.motions`), and train_action.py's 8 persistent DataLoader workers keep
their copies, so in each worker a video's moves compound over the epochs
(`crop_scale` undoes the size and position, not the rotation); here every
item moves the stored motion afresh.

Arrays follow the official layout (M, T, V, C) = persons, frames, joints,
channels; `action_clip` returns our model input (T, V, M, 3).
"""

from __future__ import annotations

import numpy as np

from skeleton_zoo.formats.camera import crop_scale
from skeleton_zoo.formats.keypoints import coco17_to_h36m17_motionbert

__all__ = ["INPUT_FEATURES", "CLIP_LEN", "TEST_SCALE_RANGE", "TRAIN_SCALE_RANGE", "make_cam", "human_tracking",
           "resample_indices", "action_motion", "random_move", "action_item", "action_clip"]

# The `input_features` of models fed these clips (`motionbert_action`); `datasets.clips` dispatches on it.
INPUT_FEATURES = "motionbert"
CLIP_LEN = 243  # configs/action/*.yaml clip_len
TRAIN_SCALE_RANGE = (1.0, 3.0)  # scale_range_train
TEST_SCALE_RANGE = (2.0, 2.0)  # scale_range_test


def make_cam(x, img_shape) -> np.ndarray:
    """Pixels -> x / max(h, w) * 2 - 1 on both axes, in `x`'s dtype.

    Args:
        x: (M, T, V, 2) pixels. img_shape: (height, width).

    Returns:
        (M, T, V, 2), `x`'s float dtype.
    """
    h, w = (int(v) for v in img_shape)  # Python ints, as in the pkl: the arithmetic stays in x's dtype
    return x / w * 2 - 1 if w >= h else x / h * 2 - 1


def human_tracking(x) -> np.ndarray:
    """The official `human_tracking`: with 2 persons, every frame t where
    slot 0 of the file moved further (sum over joints of the x, y distance to
    its frame t - 1) than its distance to slot 1 at frame t - 1 toggles
    whether the two slots are swapped from t on.

    Args:
        x: (M, T, V, 2). One person is returned as is.

    Returns:
        (M, T, V, 2); float64 for M = 2 (persons after the second: zeros, as
        the official).
    """
    if x.shape[0] == 1:
        return x
    diff0 = np.sum(np.linalg.norm(x[0, 1:] - x[0, :-1], axis=-1), axis=-1)  # (T - 1,)
    diff1 = np.sum(np.linalg.norm(x[0, 1:] - x[1, :-1], axis=-1), axis=-1)
    x_new = np.zeros(x.shape)
    sel = (np.cumsum(diff0 > diff1) % 2)[:, None, None]
    x_new[0][0] = x[0][0]
    x_new[1][0] = x[1][0]
    x_new[0, 1:] = x[1, 1:] * sel + x[0, 1:] * (1 - sel)
    x_new[1, 1:] = x[0, 1:] * sel + x[1, 1:] * (1 - sel)
    return x_new


def resample_indices(total_frames: int, clip_len: int = CLIP_LEN, rng: np.random.RandomState | None = None):
    """The official `resample` (replay=False): `clip_len` frame indices.

    Args:
        total_frames: T >= 1.
        clip_len: frames out.
        rng: None for the test indices, floor(linspace(0, T, clip_len,
            endpoint=False)); a `RandomState` for the train ones: longer
            videos take a uniform position in each interval, shorter ones
            the floor or ceiling of each position at random (sorted).

    Returns:
        (clip_len,) int (uint32 for train, as the official), in [0, T).
    """
    total_frames, clip_len = int(total_frames), int(clip_len)
    if total_frames < 1 or clip_len < 1:
        raise ValueError(f"resample_indices: `total_frames` and `clip_len` must be >= 1, found {total_frames} and "
                         f"{clip_len}.")
    if rng is None:
        return np.linspace(0, total_frames, num=clip_len, endpoint=False, dtype=int)
    even = np.linspace(0, total_frames, num=clip_len, endpoint=False)
    if total_frames < clip_len:
        low, high = np.floor(even), np.ceil(even)
        sel = rng.randint(2, size=even.shape)
        result = np.sort(sel * low + (1 - sel) * high)
    else:
        interval = even[1] - even[0] if clip_len > 1 else float(total_frames)
        result = rng.random_sample(even.shape) * interval + even
    return np.clip(result, a_min=0, a_max=total_frames - 1).astype(np.uint32)


def _check(keypoint, keypoint_score, img_shape):
    keypoint, keypoint_score = np.asarray(keypoint), np.asarray(keypoint_score)
    if keypoint.ndim != 4 or keypoint.shape[2:] != (17, 2) or keypoint.dtype.kind != "f" or keypoint.shape[0] < 1:
        raise ValueError(f"MotionBERT NTU preprocessing: expected `keypoint` (persons, frames, 17 COCO joints, 2) "
                         f"float pixels, found {keypoint.dtype} of shape {keypoint.shape}.")
    if keypoint_score.shape != keypoint.shape[:3]:
        raise ValueError(f"MotionBERT NTU preprocessing: expected `keypoint_score` of shape {keypoint.shape[:3]} "
                         f"(persons, frames, joints), found {keypoint_score.shape}.")
    if len(img_shape) != 2 or min(int(v) for v in img_shape) <= 0:
        raise ValueError(f"MotionBERT NTU preprocessing: expected `img_shape` (height, width) > 0, found "
                         f"{tuple(img_shape)}.")
    return keypoint, keypoint_score


def action_motion(keypoint, keypoint_score, img_shape, clip_len: int = CLIP_LEN,
                  rng: np.random.RandomState | None = None) -> np.ndarray:
    """What the official `ActionDataset` stores for one video (before
    augmentation and `crop_scale`).

    Args:
        keypoint: (M, T, 17, 2) COCO-17 pixels, as PYSKL's file (float16 there:
            pass that dtype to compute `make_cam` as the official does).
        keypoint_score: (M, T, 17) detection scores.
        img_shape: (height, width).
        clip_len: frames out. Defaults to 243.
        rng: None (test) or a `RandomState` (train), see `resample_indices`.

    Returns:
        (max(M, 2), clip_len, 17, 3) float32: H36M-17 x, y (about [-1, 1]) and
        the score; a single person gets a zero second person.
    """
    keypoint, keypoint_score = _check(keypoint, keypoint_score, img_shape)
    resample_id = resample_indices(keypoint.shape[1], clip_len, rng)
    motion_cam = coco17_to_h36m17_motionbert(human_tracking(make_cam(keypoint, img_shape)))
    motion = np.concatenate((motion_cam[:, resample_id], keypoint_score[..., None][:, resample_id]), axis=-1)
    if motion.shape[0] == 1:
        motion = np.concatenate((motion, np.zeros(motion.shape)), axis=0)
    return motion.astype(np.float32)


def random_move(motion, rng: np.random.RandomState, angle_range=(-10.0, 10.0), scale_range=(0.9, 1.1),
                transform_range=(-0.1, 0.1), move_time: int = 1) -> np.ndarray:
    """The official `random_move` (move_time_candidate [1]): a rotation (degrees
    in `angle_range`), a scale and a translation of x, y, each interpolated
    linearly over the frames between values drawn for the first and the last.

    Args:
        motion: (M, T, V, C) float32, x, y first.
        rng: `RandomState`.

    Returns:
        (M, T, V, C), `motion`'s dtype; channels after x, y unchanged.
    """
    data = np.transpose(np.array(motion), (3, 1, 2, 0))  # M, T, V, C -> C, T, V, M
    _, t, v, m = data.shape
    node = np.append(np.arange(0, t, t * 1.0 / move_time).round().astype(int), t)
    num_node = len(node)
    angles = rng.uniform(angle_range[0], angle_range[1], num_node)
    scales = rng.uniform(scale_range[0], scale_range[1], num_node)
    shift_x = rng.uniform(transform_range[0], transform_range[1], num_node)
    shift_y = rng.uniform(transform_range[0], transform_range[1], num_node)
    a, s, t_x, t_y = np.zeros(t), np.zeros(t), np.zeros(t), np.zeros(t)
    for i in range(num_node - 1):
        span = slice(node[i], node[i + 1])
        a[span] = np.linspace(angles[i], angles[i + 1], node[i + 1] - node[i]) * np.pi / 180
        s[span] = np.linspace(scales[i], scales[i + 1], node[i + 1] - node[i])
        t_x[span] = np.linspace(shift_x[i], shift_x[i + 1], node[i + 1] - node[i])
        t_y[span] = np.linspace(shift_y[i], shift_y[i + 1], node[i + 1] - node[i])
    theta = np.array([[np.cos(a) * s, -np.sin(a) * s], [np.sin(a) * s, np.cos(a) * s]])
    for frame in range(t):
        new_xy = np.dot(theta[:, :, frame], data[0:2, frame].reshape(2, -1))
        new_xy[0] += t_x[frame]
        new_xy[1] += t_y[frame]
        data[0:2, frame] = new_xy.reshape(2, v, m)
    return np.transpose(data, (3, 1, 2, 0))


def action_item(motion, scale_range=TEST_SCALE_RANGE, move: bool = False,
                rng: np.random.RandomState | None = None) -> np.ndarray:
    """The official `NTURGBD.__getitem__`: `random_move` (train), then
    `crop_scale` with a ratio drawn from `scale_range` over every person.

    Args:
        motion: (M, T, 17, 3) float32 from `action_motion`.
        scale_range: (low, high) ratio of the box to the body's extent; the
            official test (2, 2), train (1, 3).
        move: apply `random_move`. Defaults to False (the test).
        rng: `RandomState`; needed for `move` or a ratio range, else unused.

    Returns:
        (M, T, 17, 3) float32.
    """
    low, high = (float(v) for v in scale_range)
    if (move or low != high) and rng is None:
        raise ValueError("action_item: a `RandomState` `rng` is needed for random_move or a scale range.")
    motion = np.asarray(motion, np.float32)
    if move:
        motion = random_move(motion, rng)
    ratio = low if low == high else rng.uniform(low=low, high=high, size=1)[0]
    return crop_scale(motion, ratio).astype(np.float32)


def action_clip(keypoint, keypoint_score, img_shape, clip_len: int = CLIP_LEN, train: bool = False,
                rng: np.random.RandomState | None = None,
                resample_rng: np.random.RandomState | None = None) -> np.ndarray:
    """One video's official item, as model input: test (`NTURGBD` of a `*_val`
    split: resampled with floor(linspace), random_move off, crop_scale [2, 2])
    or train (random resampling, random_move, crop_scale [1, 3]).

    Args:
        keypoint: (M, T, 17, 2) COCO-17 pixels (1 or 2 persons; the first two
            of more are used). keypoint_score: (M, T, 17).
        img_shape: (height, width). clip_len: frames out (243).
        train: the train item. Defaults to False.
        rng: `RandomState` of the train item's random_move and crop ratio.
        resample_rng: `RandomState` of the train resampling (the official
            draws it once per video for the whole training); defaults to `rng`.

    Returns:
        (clip_len, 17, 2, 3) float32: frames, H36M-17 joints, persons, (x, y, score).
    """
    keypoint, keypoint_score = _check(keypoint, keypoint_score, img_shape)
    if train and rng is None:
        raise ValueError("action_clip: the train item needs a `RandomState` `rng`.")
    motion = action_motion(keypoint[:2], keypoint_score[:2], img_shape, clip_len,
                           (resample_rng or rng) if train else None)
    item = (action_item(motion, TRAIN_SCALE_RANGE, move=True, rng=rng) if train
            else action_item(motion, TEST_SCALE_RANGE))
    return np.ascontiguousarray(np.transpose(item, (1, 2, 0, 3)))  # (M, T, V, C) -> (T, V, M, C)
