"""MotionBERT's preprocessed Human3.6M (`h36m_sh_conf_cam_source_final.pkl`),
read without running pickled code, and its official clips and scoring
(lib/data/datareader_h36m.py, lib/utils/utils_data.py, train.py `evaluate`;
MotionAGFormer and TCPFormer use the same files byte for byte).

The pickle holds `{'train': {...}, 'test': {...}}`, per frame (N frames,
videos consecutive):

    joint_2d (N, 17, 2) pixels (fine-tuned Stacked Hourglass detections)
    confidence (N, 17[, 1]) detector scores
    joint3d_image (N, 17, 3) pixels, depth in pixels
    joints_2.5d_image (N, 17, 3) millimetres (the evaluation target)
    2.5d_factor (N,) pixels -> millimetres of each frame
    camera_name (N,) e.g. '54138969'; action (N,); source (N,) the video,
        e.g. 's_09_act_02_subact_01_ca_01'

Normalisation (per camera resolution: 1000 x 1002 for cameras 54138969 and
60457274, else 1000 x 1000): xy -> xy / w * 2 - [1, h / w], z -> z / w * 2.
Scoring (`score_videos`): predictions (flip-averaged, root set to 0) are
de-normalised, times the frame's 2.5D factor, made root-relative and compared
with `joints_2.5d_image` minus its root; per-frame errors are averaged over
the clips covering the frame, then per action, then over actions; three
videos are skipped.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Mapping

import numpy as np

__all__ = ["BLOCKED_VIDEOS", "MotionBERTVideo", "read_pkl", "videos", "camera_resolution", "normalize_2d",
           "normalize_3d", "denormalize", "split_clips", "score_videos", "ACTION_NAMES"]

# train.py evaluate(): these test videos are skipped.
BLOCKED_VIDEOS = ("s_09_act_05_subact_02", "s_09_act_10_subact_02", "s_09_act_13_subact_01")
_RESOLUTIONS = {"54138969": (1000, 1002), "60457274": (1000, 1002), "55011271": (1000, 1000),
                "58860488": (1000, 1000)}
# The pkl names actions by Human3.6M's index (act_02 ...); these are the names.
ACTION_NAMES = {2: "Directions", 3: "Discussion", 4: "Eating", 5: "Greeting", 6: "Phoning", 7: "Posing",
                8: "Purchases", 9: "Sitting", 10: "SittingDown", 11: "Smoking", 12: "Photo", 13: "Waiting",
                14: "Walking", 15: "WalkDog", 16: "WalkTogether"}
_KEYS = ("joint_2d", "joint3d_image", "joints_2.5d_image", "2.5d_factor", "camera_name", "action", "source")


def camera_resolution(camera_name: str) -> tuple[int, int]:
    """(width, height) of a Human3.6M camera, as MotionBERT's `read_2d`."""
    try:
        return _RESOLUTIONS[str(camera_name)]
    except KeyError:
        raise ValueError(f"unknown Human3.6M camera {camera_name!r}; expected one of {sorted(_RESOLUTIONS)}.") from None


def normalize_2d(xy, width, height) -> np.ndarray:
    """(..., 2) pixels -> xy / w * 2 - [1, h / w] (float32, as the official)."""
    return (np.asarray(xy, np.float32) / width * 2 - np.asarray([1, height / width])).astype(np.float32)


def normalize_3d(xyz, width, height) -> np.ndarray:
    """(..., 3) image-plane pixels + depth -> xy as `normalize_2d`, z / w * 2."""
    out = np.asarray(xyz, np.float32).copy()
    out[..., :2] = normalize_2d(out[..., :2], width, height)
    out[..., 2:] = out[..., 2:] / width * 2
    return out


def denormalize(xyz, width, height) -> np.ndarray:
    """Inverse of `normalize_3d`: xy -> (xy + [1, h / w]) * w / 2, z -> z * w / 2."""
    out = np.array(xyz, dtype=np.float64, copy=True)
    out[..., :2] = (out[..., :2] + np.asarray([1, height / width])) * width / 2
    out[..., 2:] = out[..., 2:] * width / 2
    return out


@dataclasses.dataclass
class MotionBERTVideo:
    """One video (one `source`) of the pkl, normalised as the official reader.

    Attributes:
        source: e.g. "s_09_act_02_subact_01_ca_01". action: the pkl's action.
        camera: camera name. resolution: (w, h).
        keypoints_2d: (T, 17, 3) float32 normalised x, y and the confidence.
        pose_3d: (T, 17, 3) float32 normalised `joint3d_image`.
        joints_2_5d: (T, 17, 3) float32 millimetres. factor_2_5d: (T,) float32.
    """

    source: str
    action: str
    camera: str
    resolution: tuple
    keypoints_2d: np.ndarray
    pose_3d: np.ndarray
    joints_2_5d: np.ndarray
    factor_2_5d: np.ndarray

    @property
    def subject(self) -> str:
        return "S" + str(int(self.source.split("_")[1]))

    @property
    def video(self) -> str:
        """The source without its camera suffix ("_ca_01"), as BLOCKED_VIDEOS names them."""
        return self.source[:-6]


def read_pkl(path) -> dict:
    """The pkl's `{'train': {...}, 'test': {...}}` through the restricted
    unpickler (numpy arrays, lists, strings and numbers only).

    Raises:
        FileNotFoundError, ValueError: a missing file, or one that is not the
            official layout (the message names the file and the key).
    """
    import pickle

    from skeleton_zoo.weights.safe_pickle import RestrictedUnpickler

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"'{path}' does not exist.")
    try:
        with open(path, "rb") as f:
            data = RestrictedUnpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise ValueError(f"'{path}' is not a readable MotionBERT pkl ({error}).") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"'{path}': expected a dict with 'train' and 'test', found {type(data).__name__}.")
    for split in ("train", "test"):
        part = data.get(split)
        if not isinstance(part, Mapping):
            raise ValueError(f"'{path}': no '{split}' dict.")
        missing = [k for k in _KEYS if k not in part]
        if missing:
            raise ValueError(f"'{path}': '{split}' lacks {missing} (expected {list(_KEYS)}).")
        frames = len(part["source"])
        for key in _KEYS:
            if len(part[key]) != frames:
                raise ValueError(f"'{path}': '{split}/{key}' has {len(part[key])} frames, 'source' {frames}.")
    return data


def videos(part: Mapping, path: str = "the pkl") -> list[MotionBERTVideo]:
    """One `MotionBERTVideo` per run of equal `source` values of a split dict."""
    sources = [str(s) for s in part["source"]]
    n = len(sources)
    joint_2d = np.asarray(part["joint_2d"], np.float32)[:, :, :2]
    confidence = (np.asarray(part["confidence"], np.float32).reshape(n, 17) if "confidence" in part
                  else np.ones((n, 17), np.float32))  # the official reader fills 1 when absent
    joint3d = np.asarray(part["joint3d_image"], np.float32)[:, :, :3]
    gt = np.asarray(part["joints_2.5d_image"], np.float32)
    factor = np.asarray(part["2.5d_factor"], np.float32).reshape(n)
    for name, array in (("joint_2d", joint_2d), ("confidence", confidence), ("joint3d_image", joint3d),
                        ("joints_2.5d_image", gt), ("2.5d_factor", factor)):
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValueError(f"{path}: '{name}' has non-finite values (frame {int(np.argwhere(bad)[0][0])}).")
    out, start = [], 0
    for i in range(1, n + 1):
        if i == n or sources[i] != sources[start]:
            camera = str(part["camera_name"][start])
            w, h = camera_resolution(camera)
            frames = slice(start, i)
            out.append(MotionBERTVideo(
                source=sources[start], action=str(part["action"][start]), camera=camera, resolution=(w, h),
                keypoints_2d=np.concatenate([normalize_2d(joint_2d[frames], w, h), confidence[frames, :, None]], -1),
                pose_3d=normalize_3d(joint3d[frames], w, h), joints_2_5d=gt[frames], factor_2_5d=factor[frames]))
            start = i
    return out


def split_clips(num_frames: int, clip: int, stride: int) -> list[np.ndarray]:
    """The official `split_clips` on one video: windows of `clip` frames every
    `stride` frames (frames after the last whole window are dropped); a video
    shorter than a clip is resampled to one (deterministically here:
    floor(linspace), the official `resample(randomness=False)`)."""
    if num_frames < clip:
        return [np.linspace(0, num_frames, num=clip, endpoint=False, dtype=int)]
    return [np.arange(start, start + clip) for start in range(0, num_frames - clip + 1, stride)]


def _acceleration_error(pred, gt) -> np.ndarray:
    """(T, J, 3) -> (T - 2,) mean joint norm of the second-difference error."""
    accel = (pred[:-2] - 2 * pred[1:-1] + pred[2:]) - (gt[:-2] - 2 * gt[1:-1] + gt[2:])
    return np.linalg.norm(accel, axis=-1).mean(axis=-1)


def score_videos(test_videos, predict: Callable[[MotionBERTVideo, np.ndarray], np.ndarray], clip: int) -> dict:
    """The official scoring (train.py `evaluate`, MotionAGFormer's with its
    acceleration error).

    Args:
        test_videos: `MotionBERTVideo`s of the test split.
        predict: `(video, frame indices (clip,)) -> (clip, 17, 3)` normalised
            predictions of that clip (flip-averaged, root set to 0, as the
            official test loop).
        clip: clip length (stride = clip for testing).

    Returns:
        `{"mpjpe", "p_mpjpe", "acceleration_error": mean over actions (mm, mm/frame^2),
        "per_action": {action: {...}}, "num_frames", "skipped": [videos]}`.
    """
    from skeleton_zoo.evaluation.metrics import p_mpjpe_per_frame

    per_action: dict = {}
    skipped, counted = [], 0
    for video in test_videos:
        if video.video in BLOCKED_VIDEOS:
            skipped.append(video.source)
            continue
        t = len(video.factor_2_5d)
        e1, e2, acc, covered = np.zeros(t), np.zeros(t), np.zeros(t), np.zeros(t)
        for frames in split_clips(t, clip, clip):
            pred = denormalize(predict(video, frames), *video.resolution) * video.factor_2_5d[frames, None, None]
            gt = video.joints_2_5d[frames].astype(np.float64)
            pred, gt = pred - pred[:, :1], gt - gt[:, :1]
            np.add.at(e1, frames, np.linalg.norm(pred - gt, axis=-1).mean(axis=-1))
            np.add.at(e2, frames, p_mpjpe_per_frame(pred, gt))
            np.add.at(acc, frames[:-2], _acceleration_error(pred, gt))
            np.add.at(covered, frames, 1)
        keep = e1 > 0  # as the official: frames no clip covers are not scored
        scores = per_action.setdefault(video.action, {"mpjpe": [], "p_mpjpe": [], "acceleration_error": []})
        scores["mpjpe"].append(e1[keep] / covered[keep])
        scores["p_mpjpe"].append(e2[keep] / covered[keep])
        scores["acceleration_error"].append(acc[keep] / covered[keep])
        counted += int(keep.sum())
    table = {action: {k: float(np.mean(np.concatenate(v))) for k, v in scores.items()}
             for action, scores in sorted(per_action.items())}
    if not table:
        raise ValueError("score_videos: no test video to score (all skipped or none given).")
    result = {k: float(np.mean([row[k] for row in table.values()])) for k in ("mpjpe", "p_mpjpe", "acceleration_error")}
    return {**result, "per_action": table, "num_frames": counted, "skipped": skipped}
