"""Keypoint files of 2D detectors, read into one form (`Tracks`).

Formats (detected from content; `fmt` forces one):
- `gast`: GAST-Net's keypoints JSON `{"label", "label_index", "data": [{"frame_index",
  "skeleton": [{"pose": [x0, y0, ...], "score": [...], "bbox": [...]}]}]}`;
- `coco`: a COCO-results JSON list `[{"image_id", "keypoints": [x, y, v] * 17, "score"}]`
  (one frame per image_id, in natural order: "9.jpg" before "10.jpg"; people in list order);
- `alphapose`: AlphaPose's Halpe-26 results, the same list with 26 keypoints
  and a track id `idx` (one person per idx; MotionBERT's in-the-wild input);
- `openpose`: a folder of OpenPose `*_keypoints.json` (BODY_25 or COCO-18), one per frame;
- `array`: `.npy` (T, 17, 2) or (P, T, 17, 2) COCO keypoints in pixels, or `.npz`
  with `keypoints`, optional `scores`, `width`, `height`.

Every problem raises `InputError`, whose message starts with the file.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import re

import numpy as np

from skeleton_zoo.formats.arrays import load_numpy

__all__ = ["FORMATS", "InputError", "Tracks", "read_keypoints", "MAX_FRAMES"]

FORMATS = ("gast", "coco", "alphapose", "openpose", "array")
# Longest clip a file may describe (9 hours at 30 fps): frame numbers are
# checked against it before anything is allocated for them.
MAX_FRAMES = 1_000_000


class InputError(ValueError):
    """A keypoint file that cannot be lifted; the message names the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")


@dataclasses.dataclass
class Tracks:
    """Keypoints of every person of a clip.

    Attributes:
        keypoints: (P, T, K, 2) float32 pixels; NaN where a joint is missing.
        scores: (P, T, K) float32 confidences (1 where the format has none).
        width, height: image size in pixels, when the file says.
        joint_format: "coco17" (K = 17) or "halpe26" (K = 26, AlphaPose).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    width: float | None = None
    height: float | None = None
    joint_format: str = "coco17"


def _tracks(frames: list[list[tuple]], path, joints: int = 17, joint_format: str = "coco17") -> Tracks:
    """frames[t] = [(pose (K, 2), score (K,)), ...] per person (None: absent) -> `Tracks`."""
    if not frames:
        raise InputError(path, "zero frames")
    people = max((len(f) for f in frames), default=0)
    if people == 0:
        raise InputError(path, "no person in any frame")
    keypoints = np.full((people, len(frames), joints, 2), np.nan, np.float32)
    scores = np.zeros((people, len(frames), joints), np.float32)
    for t, frame in enumerate(frames):
        for p, person in enumerate(frame):
            if person is not None:
                keypoints[p, t], scores[p, t] = person
    return Tracks(keypoints, scores, joint_format=joint_format)


def _numbers(values, path, where, what) -> np.ndarray:
    """A flat float32 array of finite numbers, or InputError naming `where`."""
    try:
        array = np.asarray(values, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(path, f"{where}: {what} must be a list of numbers, found {str(values)[:60]!r}") from None
    if not np.isfinite(array).all():
        raise InputError(path, f"{where}: {what} holds a NaN or infinite value")
    return array


def _pose(values, path, where, per_joint):
    values = _numbers(values, path, where, "the keypoints")
    if values.size % per_joint or values.size // per_joint not in (17, 18, 25):
        raise InputError(path, f"{where}: expected 17 joints x {per_joint} values, found {values.size} values")
    joints = values.reshape(-1, per_joint)
    if len(joints) != 17:
        from skeleton_zoo.formats.keypoints import OPENPOSE_TO_COCO17

        joints = joints[OPENPOSE_TO_COCO17[len(joints)]]
    return joints


def _frame_index(entry, path, i) -> int:
    """The 1-based frame number of GAST JSON entry `i`, checked before any allocation."""
    value = entry.get("frame_index")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InputError(path, f"'data' entry {i}: 'frame_index' must be a whole number, found {value!r}")
    if not 1 <= value <= MAX_FRAMES:
        raise InputError(path, f"'data' entry {i}: 'frame_index' {int(value)} is outside 1..{MAX_FRAMES:,} "
                               f"(frames are numbered from 1)")
    return int(value)


def _read_gast(data, path) -> Tracks:
    entries = data.get("data")
    if not isinstance(entries, list) or not entries:
        raise InputError(path, "GAST keypoints JSON without a non-empty 'data' list")
    indices = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputError(path, f"'data' entry {i}: expected an object with 'frame_index' and 'skeleton', "
                                   f"found {type(entry).__name__}")
        indices.append(_frame_index(entry, path, i))
    frames = [[] for _ in range(max(indices))]
    for i, (entry, index) in enumerate(zip(entries, indices)):
        people = entry.get("skeleton", [])
        if not isinstance(people, list) or not all(isinstance(person, dict) for person in people):
            raise InputError(path, f"'data' entry {i} (frame {index}): 'skeleton' must be a list of people "
                                   f"({{'pose', 'score', 'bbox'}}), found {str(people)[:60]!r}")
        for person in people:
            if not person.get("bbox"):
                continue  # the official reader skips people without a box
            where = f"'data' entry {i} (frame {index})"
            pose = _pose(person.get("pose"), path, where, 2)
            score = _numbers(person.get("score", np.ones(17)), path, where, "'score'")
            if score.size < 17:
                raise InputError(path, f"{where}: 'score' has {score.size} values, expected 17")
            frames[index - 1].append((pose, score[:17]))
    return _tracks(frames, path)


def _frame_order(image):
    """Sort key of an image_id: numbers, or names in natural order ("9.jpg" before "10.jpg")."""
    if isinstance(image, str):
        return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", image))
    return (image,)


def _read_coco(data, path) -> Tracks:
    by_image: dict = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "keypoints" not in item:
            raise InputError(path, f"entry {i}: expected a COCO result with 'keypoints'")
        image = item.get("image_id", i)
        if isinstance(image, bool) or not isinstance(image, (int, str)):
            raise InputError(path, f"entry {i}: 'image_id' must be a number or a string, found {image!r}")
        by_image.setdefault(image, []).append((i, item))
    if len({type(image) for image in by_image}) > 1:
        raise InputError(path, "'image_id' values mix numbers and strings; frames are ordered by image_id")
    frames = []
    for image in sorted(by_image, key=_frame_order):
        people = []
        for i, item in by_image[image]:
            values = _pose(item["keypoints"], path, f"entry {i} (image {image})", 3)
            people.append((values[:, :2], values[:, 2]))
        frames.append(people)
    return _tracks(frames, path)


def _read_alphapose(data, path) -> Tracks:
    """AlphaPose Halpe-26 results: frames by image_id, one person per track id `idx`."""
    by_image: dict = {}
    tracks = set()
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "keypoints" not in item:
            raise InputError(path, f"entry {i}: expected an AlphaPose result with 'keypoints'")
        image, track = item.get("image_id", i), item.get("idx", 0)
        if isinstance(image, bool) or not isinstance(image, (int, str)):
            raise InputError(path, f"entry {i}: 'image_id' must be a number or a string, found {image!r}")
        if isinstance(track, list) and len(track) == 1:  # AlphaPose writes idx as [n] in some versions
            track = track[0]
        if isinstance(track, bool) or not isinstance(track, (int, float)) or track != int(track):
            raise InputError(path, f"entry {i}: 'idx' (the track id) must be a whole number, found {track!r}")
        values = _numbers(item["keypoints"], path, f"entry {i} (image {image})", "the keypoints")
        if values.size != 26 * 3:
            raise InputError(path, f"entry {i}: expected 26 Halpe joints x 3 values, found {values.size} values")
        values = values.reshape(26, 3)
        by_image.setdefault(image, {})[int(track)] = (values[:, :2], values[:, 2])
        tracks.add(int(track))
    if len({type(image) for image in by_image}) > 1:
        raise InputError(path, "'image_id' values mix numbers and strings; frames are ordered by image_id")
    order = sorted(tracks)
    frames = [[by_image[image].get(track) for track in order] for image in sorted(by_image, key=_frame_order)]
    return _tracks(frames, path, joints=26, joint_format="halpe26")


def _is_halpe26(data) -> bool:
    first = data[0] if data and isinstance(data[0], dict) else {}
    return isinstance(first.get("keypoints"), list) and len(first["keypoints"]) == 26 * 3


def _read_openpose(folder, path) -> Tracks:
    files = sorted(pathlib.Path(folder).glob("*_keypoints.json")) or sorted(pathlib.Path(folder).glob("*.json"))
    if not files:
        raise InputError(path, "folder without OpenPose '*_keypoints.json' files")
    frames = []
    for file in files:
        try:
            people = json.loads(file.read_text()).get("people", [])
        except (json.JSONDecodeError, AttributeError, UnicodeDecodeError):
            raise InputError(file, "not an OpenPose JSON object") from None
        if not isinstance(people, list) or not all(isinstance(person, dict) for person in people):
            raise InputError(file, "'people' must be a list of objects with 'pose_keypoints_2d'")
        frame = []
        for person in people:
            values = _pose(person.get("pose_keypoints_2d", []), file, "pose_keypoints_2d", 3)
            frame.append((values[:, :2], values[:, 2]))
        frames.append(frame)
    return _tracks(frames, path)


def _size(value, path, name) -> float:
    size = float(np.asarray(value).reshape(-1)[0]) if np.asarray(value).size == 1 else float("nan")
    if not 0 < size < float("inf"):
        raise InputError(path, f"'{name}' must be one positive number of pixels, found {np.asarray(value).tolist()!r}")
    return size


def _read_array(path) -> Tracks:
    if str(path).endswith(".npz"):
        loaded = load_numpy(path)
        if not hasattr(loaded, "files"):
            raise InputError(path, "not an .npz archive (a single .npy array?)")
        with loaded as data:
            if "keypoints" not in data.files:
                raise InputError(path, f"npz without 'keypoints' (found {data.files})")
            keypoints = data["keypoints"].astype(np.float32)
            scores = data["scores"].astype(np.float32) if "scores" in data.files else None
            width = _size(data["width"], path, "width") if "width" in data.files else None
            height = _size(data["height"], path, "height") if "height" in data.files else None
    else:
        loaded = load_numpy(path)
        if hasattr(loaded, "files"):
            loaded.close()
            raise InputError(path, "an .npz archive named .npy; rename it .npz (with 'keypoints')")
        keypoints, scores, width, height = loaded.astype(np.float32), None, None, None
    if keypoints.ndim == 3:
        keypoints = keypoints[None]
        scores = None if scores is None else scores[None]
    if keypoints.ndim != 4 or keypoints.shape[-1] != 2 or keypoints.shape[-2] != 17:
        raise InputError(path, f"expected keypoints (frames, 17, 2) or (people, frames, 17, 2) COCO-17 "
                               f"pixels, found shape {keypoints.shape}")
    if keypoints.shape[1] == 0:
        raise InputError(path, "zero frames")
    if np.isinf(keypoints).any():  # NaN marks a missing joint; infinity marks nothing
        raise InputError(path, "'keypoints' holds an infinite value (NaN marks a missing joint)")
    if scores is not None:
        if scores.size != keypoints[..., 0].size:
            raise InputError(path, f"'scores' has shape {scores.shape}, expected one score per joint "
                                   f"{keypoints.shape[:3]}")
        if not np.isfinite(scores).all():
            raise InputError(path, "'scores' holds a NaN or infinite value")
    scores = np.ones(keypoints.shape[:3], np.float32) if scores is None else scores.reshape(keypoints.shape[:3])
    return Tracks(keypoints, scores, width, height)


def read_keypoints(path, fmt: str | None = None) -> Tracks:
    """Reads a keypoint file or OpenPose folder (format detected from content).

    Values must be finite numbers; only the array formats may mark a missing
    joint with NaN (the JSON formats mark it with (0, 0) or a low score).

    Raises:
        InputError: unreadable or empty input, a wrong shape, a bad value or
            frame number (names the file, and the entry or frame).
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise InputError(path, "does not exist")
    if fmt is None:
        if path.is_dir():
            fmt = "openpose"
        elif path.suffix in (".npy", ".npz"):
            fmt = "array"
    if fmt == "openpose":
        if not path.is_dir():
            raise InputError(path, "--format openpose reads a folder of OpenPose '*_keypoints.json' files (one "
                                   "per frame); this is a file")
        return _read_openpose(path, path)
    if path.is_dir():
        raise InputError(path, f"is a folder; --format {fmt} reads a file (OpenPose output is a folder: "
                               f"--format openpose)")
    if fmt == "array":
        try:
            return _read_array(path)
        except (ValueError, OSError, EOFError) as error:
            if isinstance(error, InputError):
                raise
            raise InputError(path, f"not a readable array file ({error})") from None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"not a readable text file ({error})") from None
    if not text.strip():
        raise InputError(path, "empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(path, f"not JSON ({error.msg} at line {error.lineno})") from None
    if fmt == "gast" or (fmt is None and isinstance(data, dict) and "data" in data):
        if not isinstance(data, dict):
            raise InputError(path, "GAST keypoints JSON must be an object with 'data'")
        return _read_gast(data, path)
    if fmt == "alphapose" or (fmt is None and isinstance(data, list) and _is_halpe26(data)):
        if not isinstance(data, list):
            raise InputError(path, "AlphaPose results JSON must be a list")
        return _read_alphapose(data, path)
    if fmt == "coco" or (fmt is None and isinstance(data, list)):
        if not isinstance(data, list):
            raise InputError(path, "COCO results JSON must be a list")
        return _read_coco(data, path)
    raise InputError(path, "JSON of an unknown shape: expected GAST keypoints ({'data': [...]}), a COCO or "
                           "AlphaPose results list, an OpenPose folder or .npy/.npz arrays")
