"""The VideoPose3D dataset format (also GAST-Net's): readers, camera pairing
and per-camera preprocessing, free of TFDS; the `human36m` and `humaneva`
TFDS builders (`tfds_builders.videopose3d`) build on it.

VideoPose3D prepares each dataset as two kinds of `.npz` files:

- `data_3d_<dataset>.npz`: `positions_3d[subject][action]`, float32
  (T, J_file, 3) world metres;
- `data_2d_<dataset>_<source>.npz`: `positions_2d[subject][action]`, a list
  per camera of float32 (T', J2, 2) pixels (or None: no detections).

Both store their dicts as pickled object arrays; they are read with
`skeleton_zoo.weights.safe_pickle.load_npz` (restricted unpickler), never with
`np.load(allow_pickle=True)`.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import json
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from absl import logging

from skeleton_zoo.formats.camera import normalize_screen_coordinates, world_to_camera
from skeleton_zoo.weights.safe_pickle import load_npz

__all__ = ["Camera", "PairedSequences", "action_type", "calibrated_subjects", "camera_examples",
           "load_pickled_dict", "make_cameras", "pair_videopose3d_files", "read_camera_json"]


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Camera:
    """One calibrated camera of one subject, as VideoPose3D's datasets hold it.

    Attributes:
        index: camera index in the 2D files' per-action lists.
        id: camera name, e.g. "54138969" or "C1".
        orientation: float32 (4,), quaternion (w, x, y, z), camera-to-world.
        translation: float32 (3,), camera centre in world metres.
        res_w, res_h: image size in pixels.
        intrinsic: float32 (9,) VideoPose3D `intrinsic` vector (normalised
            focal length (2), centre (2), radial (3), tangential (2)), or None.
    """

    index: int
    id: str
    orientation: np.ndarray
    translation: np.ndarray
    res_w: int
    res_h: int
    intrinsic: np.ndarray | None = None


def read_camera_json(package: str, filename: str) -> dict:
    """Reads a camera-constants JSON shipped next to a builder module."""
    return json.loads(importlib.resources.files(package).joinpath(filename).read_text())


def calibrated_subjects(constants: Mapping) -> list[str]:
    """The subjects of a camera JSON with extrinsics for every camera, in file order."""
    return [s for s, e in constants["extrinsic"].items() if e and all(e)]


def make_cameras(constants: Mapping, subject: str, json_name: str) -> list[Camera]:
    """The cameras of `subject` from a camera JSON, in VideoPose3D's float32 arithmetic.

    Args:
        constants: the parsed JSON: `intrinsic` (list per camera: id, res_w,
            res_h and, for Human3.6M, center, focal_length, radial_distortion,
            tangential_distortion in pixels) and `extrinsic[subject]` (list per
            camera: orientation (w, x, y, z), translation in mm).
        subject: key of `extrinsic`, e.g. "S1".
        json_name: file name for error messages.

    Returns:
        list of `Camera`, one per entry of `intrinsic`.
    """
    if subject not in calibrated_subjects(constants):
        raise ValueError(
            f"'{json_name}': no camera extrinsics for subject '{subject}' (subjects with "
            f"calibrated cameras: {calibrated_subjects(constants)})."
        )
    extrinsics = constants["extrinsic"][subject]
    cameras = []
    for index, (intr, extr) in enumerate(zip(constants["intrinsic"], extrinsics)):
        res_w, res_h = int(intr["res_w"]), int(intr["res_h"])
        intrinsic = None
        if "focal_length" in intr:
            # Human36mDataset.__init__: float32, centre normalised, focal / res_w * 2.
            focal = np.asarray(intr["focal_length"], dtype=np.float32) / res_w * 2
            center = normalize_screen_coordinates(
                np.asarray(intr["center"], dtype=np.float32), w=res_w, h=res_h).astype(np.float32)
            intrinsic = np.concatenate([
                focal, center,
                np.asarray(intr["radial_distortion"], dtype=np.float32),
                np.asarray(intr["tangential_distortion"], dtype=np.float32),
            ]).astype(np.float32)
        cameras.append(Camera(
            index=index,
            id=str(intr["id"]),
            orientation=np.asarray(extr["orientation"], dtype=np.float32),
            translation=np.asarray(extr["translation"], dtype=np.float32) / 1000,  # mm -> m
            res_w=res_w,
            res_h=res_h,
            intrinsic=intrinsic,
        ))
    return cameras


def load_pickled_dict(path, key: str, what: str) -> dict:
    """Reads the dict stored as a pickled 0-d object array `key` of a VideoPose3D npz.

    Uses `skeleton_zoo.weights.safe_pickle.load_npz` (restricted unpickler).

    Raises:
        FileNotFoundError: no such file.
        skeleton_zoo.weights.safe_pickle.UnsafePickleError: the pickle names a refused
            global (the message names the file); nothing was run.
        ValueError: the file has no `key`, or it is not a dict.
    """
    arrays = load_npz(str(path))
    if key not in arrays:
        raise ValueError(
            f"'{path}': expected an array named '{key}' ({what}), found arrays {sorted(arrays)}."
        )
    value = arrays[key]
    if value.dtype != object or value.shape != ():
        raise ValueError(
            f"'{path}': '{key}' must be a pickled dict (0-d object array, as "
            f"`np.savez({key}=dict)` writes it), found a {value.dtype} array of shape {value.shape}."
        )
    data = value.item()
    if not isinstance(data, dict):
        raise ValueError(
            f"'{path}': '{key}' must hold a dict subject -> dict action -> data, found "
            f"{type(data).__name__}."
        )
    for subject, actions in data.items():
        if not isinstance(actions, dict):
            raise ValueError(
                f"'{path}': {key}[{subject!r}] must be a dict action -> data, found "
                f"{type(actions).__name__}."
            )
    return data


def _check_array(value, path, where: str, num_joints: int, channels: int, min_channels=None):
    if not isinstance(value, np.ndarray) or value.ndim != 3 or value.shape[1] != num_joints or (
            value.shape[2] != channels if min_channels is None else value.shape[2] < min_channels):
        found = (f"shape {value.shape}" if isinstance(value, np.ndarray)
                 else type(value).__name__)
        expected = channels if min_channels is None else f">= {min_channels}"
        raise ValueError(
            f"'{path}': {where} must be an array (frames, {num_joints}, {expected}), found {found}."
        )
    if value.dtype.kind not in "iuf":
        raise ValueError(f"'{path}': {where} must hold numbers, found dtype {value.dtype}.")
    finite = np.isfinite(value)
    if not finite.all():
        frame = int(np.argwhere(~finite)[0][0])
        raise ValueError(f"'{path}': {where} holds a NaN or infinite value (first at frame {frame}).")


@dataclasses.dataclass
class PairedSequences:
    """The 3D and 2D sequences matched up, ready to generate examples from.

    Attributes:
        positions_3d: subject -> action -> float32 (T, J, 3) world metres
            (joints already reduced).
        positions_2d: subject -> action -> list per camera of float32
            (T', J2, C >= 2) pixels, or None for a missing camera.
        skipped_cameras: "subject/action/camera" of the None entries.
        ignored_2d_subjects: 2D-only subjects that were ignored (unlabeled).
        cropped: "subject/action/camera" -> (frames 3D, frames 2D) where they differed.
    """

    positions_3d: dict
    positions_2d: dict
    skipped_cameras: list
    ignored_2d_subjects: list
    cropped: dict


def pair_videopose3d_files(
    path_3d,
    path_2d,
    *,
    subjects: Sequence[str],
    num_joints_3d_file: int,
    keep_joints: Sequence[int] | None,
    num_joints_2d: int,
    num_cameras: int,
    ignore_2d_subject: Callable[[str], bool],
) -> PairedSequences:
    """Reads and cross-checks a VideoPose3D 3D file and 2D file.

    Args:
        path_3d: `data_3d_<dataset>.npz` (`positions_3d[subject][action]`:
            (T, num_joints_3d_file, 3) world metres).
        path_2d: `data_2d_<dataset>_<source>.npz` (`positions_2d[subject][action]`:
            list of `num_cameras` arrays (T, num_joints_2d, 2) in pixels, or None).
        subjects: the labeled subjects this dataset knows (every 3D subject
            must be one of them).
        num_joints_3d_file: joints per pose in the 3D file.
        keep_joints: joints kept from the 3D file (None: all).
        num_joints_2d: joints per 2D pose.
        num_cameras: cameras per action in the 2D file.
        ignore_2d_subject: predicate for 2D-only subjects to ignore (unlabeled
            subjects); any other subject in one file and not the other is an error.

    Raises:
        ValueError: a subject or action is in one file but not the other, or an
            entry has the wrong type or shape (the message names both files).
    """
    data_3d = load_pickled_dict(path_3d, "positions_3d", "dict subject -> action -> 3D poses")
    data_2d = load_pickled_dict(path_2d, "positions_2d", "dict subject -> action -> 2D poses per camera")
    both = f"(3D file '{path_3d}', 2D file '{path_2d}')"

    unknown = [s for s in data_3d if s not in subjects]
    if unknown:
        raise ValueError(
            f"'{path_3d}': unknown subjects {unknown}; expected subjects among {list(subjects)}."
        )
    positions_3d, positions_2d = {}, {}
    skipped, cropped = [], {}
    for subject, actions in data_3d.items():
        if subject not in data_2d:
            raise ValueError(
                f"Subject '{subject}' is in the 3D file but missing from the 2D file {both}; "
                f"the 2D file has subjects {sorted(data_2d)}. Both files must come from the same "
                f"VideoPose3D preparation."
            )
        missing = [a for a in actions if a not in data_2d[subject]]
        extra = [a for a in data_2d[subject] if a not in actions]
        if missing or extra:
            raise ValueError(
                f"Subject '{subject}': the 3D and 2D files list different actions {both}: "
                f"missing from the 2D file: {sorted(missing)}; missing from the 3D file: "
                f"{sorted(extra)}."
            )
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in sorted(actions):
            where_3d = f"positions_3d[{subject!r}][{action!r}]"
            pos = actions[action]
            _check_array(pos, path_3d, where_3d, num_joints_3d_file, 3)
            pos = np.asarray(pos, dtype=np.float32)
            if keep_joints is not None:
                pos = pos[:, list(keep_joints)]
            cams = data_2d[subject][action]
            where_2d = f"positions_2d[{subject!r}][{action!r}]"
            if not isinstance(cams, (list, tuple)) or len(cams) != num_cameras:
                found = (f"{len(cams)} entries" if isinstance(cams, (list, tuple))
                         else type(cams).__name__)
                raise ValueError(
                    f"'{path_2d}': {where_2d} must be a list of {num_cameras} cameras, found {found}."
                )
            kept_cams = []
            for index, kps in enumerate(cams):
                key = f"{subject}/{action}/{index}"
                if kps is None:
                    skipped.append(key)
                    kept_cams.append(None)
                    continue
                _check_array(kps, path_2d, f"{where_2d}[{index}]", num_joints_2d, 2, min_channels=2)
                if len(kps) != len(pos):
                    cropped[key] = (len(pos), len(kps))
                kept_cams.append(kps)
            positions_3d[subject][action] = pos
            positions_2d[subject][action] = kept_cams

    ignored = []
    for subject in data_2d:
        if subject in data_3d:
            continue
        if ignore_2d_subject(subject):
            ignored.append(subject)
            continue
        raise ValueError(
            f"Subject '{subject}' is in the 2D file but missing from the 3D file {both}; "
            f"the 3D file has subjects {sorted(data_3d)}. Both files must come from the same "
            f"VideoPose3D preparation."
        )
    if skipped:
        logging.warning("'%s': %d camera entries are None (no detections) and are skipped: %s",
                        path_2d, len(skipped), skipped)
    if ignored:
        logging.info("'%s': ignoring unlabeled 2D-only subjects %s", path_2d, ignored)
    for key, (n3, n2) in cropped.items():
        log = logging.info if n2 > n3 else logging.warning
        log("%s: 3D has %d frames, 2D has %d; both cropped to %d.", key, n3, n2, min(n3, n2))
    return PairedSequences(positions_3d, positions_2d, skipped, ignored, cropped)


def camera_examples(positions: np.ndarray, keypoints: Sequence, cameras: Sequence[Camera]
                    ) -> Iterator[tuple[Camera, dict[str, Any]]]:
    """VideoPose3D's per-camera preprocessing of one sequence.

    Args:
        positions: float32 (T, J, 3), world metres.
        keypoints: per camera, float32 (T', J2, C >= 2) pixels, or None (skipped).
        cameras: the subject's cameras, same order as `keypoints`.

    Yields:
        (camera, arrays) with `keypoints_2d` float32 (N, J2, 2) normalised,
        `pose_3d` float32 (N, J, 3) root-relative camera frame (root = 0),
        `trajectory` float32 (N, 3) root in the camera frame, `num_frames` N,
        where N = min(T, T').
    """
    for camera, kps in zip(cameras, keypoints):
        if kps is None:
            continue
        n = min(len(positions), len(kps))
        camera_frame = world_to_camera(positions[:n], R=camera.orientation, t=camera.translation)
        camera_frame = camera_frame.astype(np.float32)
        trajectory = camera_frame[:, 0].copy()
        pose = camera_frame.copy()
        pose[:, 1:] -= pose[:, :1]  # run.py: remove global offset, keep trajectory at the root
        pose[:, 0] = 0  # training loop: inputs_3d[:, :, 0] = 0
        kps2d = normalize_screen_coordinates(
            np.asarray(kps[:n, :, :2], dtype=np.float32), w=camera.res_w, h=camera.res_h)
        yield camera, {
            "keypoints_2d": kps2d.astype(np.float32),
            "pose_3d": pose,
            "trajectory": trajectory,
            "num_frames": n,
        }


def action_type(action: str) -> str:
    """The action class of an action name, VideoPose3D's `action.split(' ')[0]`.

    "Walking 1" -> "Walking", "Walking 1 chunk0" -> "Walking", "WalkDog" -> "WalkDog".
    """
    return action.split(" ")[0]
