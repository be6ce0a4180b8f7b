"""Kinetics-Skeleton (ST-GCN's OpenPose release) JSON files and the official
conversion (ST-GCN's / ST-TR's `tools/kinetics_gendata.py` with its
`Feeder_kinetics`).

Used by the `kinetics_skeleton` TFDS builder. The release holds one JSON per
video, `kinetics_{train,val}/<video id>.json`:

    {"data": [{"frame_index": t, "skeleton": [{"pose": [x0, y0, ..., x17, y17],
                                               "score": [s0, ..., s17]}, ...]}, ...],
     "label": "abseiling", "label_index": 0}

(OpenPose-18 joints, x and y normalised to [0, 1] by the frame size), and
`kinetics_{train,val}_label.json`: `{video id: {"has_skeleton", "label",
"label_index"}}`.

Conversion of one video, as the official code:

1. `read_video`: the first 5 people listed in each frame, in file order, at
   their `frame_index` -> (5, 300, 18, 3) float64 (x, y, score); zeros where
   a frame lists fewer people or is absent. A frame listed twice overwrites
   the slots it lists.
2. `centre_and_rank`: x - 0.5 and -(y - 0.5), both set to 0 where the score is
   0; then, frame by frame, the people sorted by their summed joint score
   (highest first) and the first 2 kept -> (300, 18, 2, 3) float32.

Videos whose label entry says `has_skeleton: false` are skipped by the
official converter (without reading their file); the builder does the same.

Layouts here are channels-last: (persons, frames, joints, channels) inside,
(frames, joints, persons, channels) out; the official (N, C, T, V, M) order
appears only in tests that compare with it.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

__all__ = [
    "NUM_JOINTS", "MAX_FRAMES", "MAX_OBSERVED_PERSONS", "NUM_PERSONS", "KineticsFileError", "VideoLabel", "Video",
    "video_id", "read_label_file", "label_of", "read_video", "centre_and_rank", "process_video",
]

NUM_JOINTS = 18  # OpenPose-18 (`layouts.get_layout("openpose18")`)
MAX_FRAMES = 300  # the official clip length; a frame_index beyond it is an error (the official code fails too)
MAX_OBSERVED_PERSONS = 5  # people read per frame, in file order (official num_person_in)
NUM_PERSONS = 2  # people kept per frame, by summed score (official num_person_out)


class KineticsFileError(ValueError):
    """A malformed Kinetics-Skeleton JSON file. `path` and `entry` (e.g.
    "data[3] (frame_index 3), skeleton[1]", or a video id) locate it."""

    def __init__(self, path, entry: str | None, message: str):
        self.path, self.entry = str(path), entry
        where = f"'{self.path}'" + (f", {entry}" if entry else "")
        super().__init__(f"Kinetics-Skeleton file {where}: {message}")


@dataclasses.dataclass(frozen=True)
class VideoLabel:
    """One entry of `kinetics_{train,val}_label.json`."""

    video_id: str
    label_index: int
    label: str | None  # the class name as the file spells it (the official code does not use it)
    has_skeleton: bool


@dataclasses.dataclass(frozen=True)
class Video:
    """One video JSON as read (`read_video`).

    Attributes:
        slots: (MAX_OBSERVED_PERSONS, MAX_FRAMES, 18, 3) float64: x, y, score
            as in the file, of the m-th person listed in each frame.
        label_index: the file's `label_index`.
        label: the file's `label` (None when absent).
        num_frames: 1 + the largest `frame_index` listed (0 for no frames).
    """

    slots: np.ndarray
    label_index: int
    label: str | None
    num_frames: int


def video_id(file_name) -> str:
    """The video id of a file, as the official code derives it: the file
    name up to its first dot ("kinetics_val/--07WQ2iBlw.json" -> "--07WQ2iBlw")."""
    return os.path.basename(os.fspath(file_name)).split(".")[0]


def _source_name(source, path) -> str:
    if path is not None:
        return str(path)
    return "<bytes>" if isinstance(source, (bytes, bytearray)) else os.fspath(source)


def _load_json(source, path):
    """(parsed JSON, name for messages) of a path, or of a file's bytes/str
    (a str is the file's text only when `path` is given)."""
    name = _source_name(source, path)
    if isinstance(source, (bytes, bytearray)) or (isinstance(source, str) and path is not None):
        text = source
    else:
        with open(source, "rb") as f:
            text = f.read()
    try:
        return json.loads(text), name
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise KineticsFileError(name, None, f"not valid JSON ({error}).") from None


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_label_file(source, path=None) -> dict[str, VideoLabel]:
    """Reads `kinetics_{train,val}_label.json`.

    Args:
        source: a path, or the file's bytes/str (then pass `path` for messages).
        path: name used in error messages. Defaults to `source` when a path.

    Returns:
        {video id: VideoLabel}, in file order.

    Raises:
        KineticsFileError: naming the file and the video id: not JSON, not an
            object of objects, `label_index` not an integer, `has_skeleton`
            not a boolean, `label` not a string.
    """
    labels, path = _load_json(source, path)
    if not isinstance(labels, dict):
        raise KineticsFileError(path, None, f"expected an object {{video id: {{has_skeleton, label, label_index}}}}, "
                                            f"found a JSON {type(labels).__name__}.")
    out = {}
    for video, entry in labels.items():
        where = f"video '{video}'"
        if not isinstance(entry, dict):
            raise KineticsFileError(path, where, f"expected an object with has_skeleton, label, label_index, found "
                                                 f"{type(entry).__name__} {str(entry)[:60]!r}.")
        missing = [key for key in ("has_skeleton", "label_index") if key not in entry]
        if missing:
            raise KineticsFileError(path, where, f"lacks {missing} (has {sorted(entry)}).")
        if not _is_int(entry["label_index"]):
            raise KineticsFileError(path, where, f"label_index must be an integer, found {entry['label_index']!r}.")
        if not isinstance(entry["has_skeleton"], bool):
            raise KineticsFileError(path, where, f"has_skeleton must be true or false, found "
                                                 f"{entry['has_skeleton']!r}.")
        label = entry.get("label")
        if label is not None and not isinstance(label, str):
            raise KineticsFileError(path, where, f"label must be a string, found {label!r}.")
        out[video] = VideoLabel(video, entry["label_index"], label, entry["has_skeleton"])
    return out


def label_of(labels: dict[str, VideoLabel], file_name, label_path) -> VideoLabel:
    """The label entry of a video file, found by its id (`video_id`).

    Args:
        labels: from `read_label_file`.
        file_name: the video's JSON file (a path or its name).
        label_path: the label file, for the message.

    Raises:
        KineticsFileError: naming the video file and its id, when the label
            file has no entry for it (the official converter fails there too).
    """
    video = video_id(file_name)
    entry = labels.get(video)
    if entry is None:
        raise KineticsFileError(file_name, f"video id '{video}'", f"the label file '{label_path}' has no entry for "
                                                                  f"it (a video of another split, or a damaged "
                                                                  f"download?).")
    return entry


def _entry(i: int, frame, person: int | None = None) -> str:
    """"data[i] (frame_index t), skeleton[m]": where an error is."""
    index = frame.get("frame_index") if isinstance(frame, dict) else None
    where = f"data[{i}]" + (f" (frame_index {index!r})" if index is not None else "")
    return where if person is None else f"{where}, skeleton[{person}]"


def read_video(source, path=None, max_frames: int = MAX_FRAMES,
               max_persons: int = MAX_OBSERVED_PERSONS) -> Video:
    """Reads one Kinetics-Skeleton video JSON.

    Args:
        source: a path, or the file's bytes/str (then pass `path` for messages).
        path: name used in error messages. Defaults to `source` when a path.
        max_frames: frames of the clip (official: 300); `frame_index` must be
            in [0, max_frames).
        max_persons: people read per frame, in file order (official: 5);
            further people are ignored (not even checked), as officially.

    Returns:
        `Video` with `slots` (max_persons, max_frames, 18, 3) float64: x, y,
        score of the m-th person listed in each frame; zeros elsewhere.

    Raises:
        KineticsFileError: naming the file and the entry ("data[i]
            (frame_index t), skeleton[m]"): not JSON, missing keys,
            `frame_index` not an integer in range, `pose` not 36 numbers,
            `score` not 18 numbers, non-finite values.
    """
    video, path = _load_json(source, path)
    if not isinstance(video, dict):
        raise KineticsFileError(path, None, f"expected an object with data, label, label_index, found a JSON "
                                            f"{type(video).__name__}.")
    missing = [key for key in ("data", "label_index") if key not in video]
    if missing:
        raise KineticsFileError(path, None, f"lacks {missing} (has {sorted(video)}).")
    if not _is_int(video["label_index"]):
        raise KineticsFileError(path, "label_index", f"expected an integer, found {video['label_index']!r}.")
    label = video.get("label")
    if label is not None and not isinstance(label, str):
        raise KineticsFileError(path, "label", f"expected a string, found {label!r}.")
    data = video["data"]
    if not isinstance(data, list):
        raise KineticsFileError(path, "data", f"expected a list of frames, found {type(data).__name__}.")

    # (frame, slot) -> (pose, score, data index); a frame listed again overwrites the slots it lists.
    people: dict[tuple[int, int], tuple] = {}
    num_frames = 0
    for i, frame in enumerate(data):
        if not isinstance(frame, dict) or "frame_index" not in frame or "skeleton" not in frame:
            raise KineticsFileError(path, f"data[{i}]", f"expected an object with frame_index and skeleton, found "
                                                        f"{str(frame)[:80]!r}.")
        t, skeletons = frame["frame_index"], frame["skeleton"]
        if not _is_int(t) or not 0 <= t < max_frames:
            raise KineticsFileError(path, _entry(i, frame), f"frame_index must be an integer in [0, {max_frames}), "
                                                            f"found {t!r}.")
        if not isinstance(skeletons, list):
            raise KineticsFileError(path, _entry(i, frame), f"skeleton must be a list of people, found "
                                                            f"{type(skeletons).__name__}.")
        num_frames = max(num_frames, t + 1)
        for m, person in enumerate(skeletons[:max_persons]):
            if not isinstance(person, dict) or "pose" not in person or "score" not in person:
                raise KineticsFileError(path, _entry(i, frame, m), f"expected an object with pose and score, found "
                                                                   f"{str(person)[:80]!r}.")
            pose, score = person["pose"], person["score"]
            if not isinstance(pose, list) or len(pose) != 2 * NUM_JOINTS:
                found = f"{len(pose)} values" if isinstance(pose, list) else repr(pose)[:60]
                raise KineticsFileError(path, _entry(i, frame, m), f"pose must hold {2 * NUM_JOINTS} numbers (x, y "
                                                                   f"of {NUM_JOINTS} joints), found {found}.")
            if not isinstance(score, list) or len(score) != NUM_JOINTS:
                found = f"{len(score)} values" if isinstance(score, list) else repr(score)[:60]
                raise KineticsFileError(path, _entry(i, frame, m), f"score must hold {NUM_JOINTS} numbers, found "
                                                                   f"{found}.")
            people[(t, m)] = (pose, score, i)

    slots = np.zeros((max_persons, max_frames, NUM_JOINTS, 3), dtype=np.float64)
    if people:
        values = _people_array(people, data, path)  # (n, 18, 3)
        frames, persons = np.array(list(people)).T
        slots[persons, frames] = values
    return Video(slots, video["label_index"], label, num_frames)


def _people_array(people, data, path) -> np.ndarray:
    """{(frame, slot): (pose (36,), score (18,), data index)} -> (n, 18, 3)
    float64 x, y, score; a non-numeric or non-finite value is reported with
    its entry."""
    try:
        pose = np.array([p for p, _, _ in people.values()], dtype=np.float64).reshape(-1, NUM_JOINTS, 2)
        score = np.array([s for _, s, _ in people.values()], dtype=np.float64)
        values = np.concatenate([pose, score[..., None]], axis=-1)
    except (TypeError, ValueError):
        values = None
    if values is not None and np.all(np.isfinite(values)):
        return values
    for (_, m), (pose, score, i) in people.items():  # slow path, only for a broken file
        for key, numbers in (("pose", pose), ("score", score)):
            for k, value in enumerate(numbers):
                try:
                    number = float(value)
                except (TypeError, ValueError):
                    number = None
                if number is None or not np.isfinite(number):
                    raise KineticsFileError(path, _entry(i, data[i], m), f"{key}[{k}] must be a finite number, "
                                                                         f"found {value!r}.")
    raise KineticsFileError(path, None, "the people's poses could not be read.")


def centre_and_rank(slots, num_persons: int = NUM_PERSONS) -> np.ndarray:
    """The official centring and per-frame ranking of the observed people.

    Args:
        slots: (persons, frames, 18, 3) x, y, score as read (`Video.slots`).
        num_persons: people kept per frame (official: 2).

    Returns:
        (frames, 18, num_persons, 3) float32: x - 0.5, -(y - 0.5), score;
        x and y zero where the score is 0; in each frame the people sorted by
        their summed score, highest first. Equal sums keep the file order:
        the official `argsort` of 5 values is numpy 1.x's insertion sort,
        hence stable (numpy 2.4's SIMD argsort on an AVX2 CPU orders some
        ties otherwise, so there the official script's tie order depends on
        the machine).
    """
    slots = np.asarray(slots, dtype=np.float64)
    score = slots[..., 2]
    x = slots[..., 0] - 0.5
    y = -(slots[..., 1] - 0.5)  # not 0.5 - y: same values, and the official sign of zero
    x[score == 0] = 0
    y[score == 0] = 0
    data = np.stack([x, y, score], axis=-1)
    # Summed joint by joint in order, as numpy sums the official (T, V, M) array's middle axis: equal rounding,
    # so equal ranks for near-equal sums.
    total = score[..., 0].copy()
    for v in range(1, score.shape[-1]):
        total += score[..., v]
    order = np.argsort(-total, axis=0, kind="stable")[:num_persons]  # (num_persons, frames)
    ranked = np.take_along_axis(data, order[:, :, None, None], axis=0)
    return np.transpose(ranked, (1, 2, 0, 3)).astype(np.float32)


def process_video(source, path=None, label_index: int | None = None, return_details: bool = False):
    """One video JSON through the whole official conversion.

    Args:
        source: a path or the file's bytes (see `read_video`).
        path: name for error messages.
        label_index: the label file's `label_index` of the video; when given,
            the file's own must equal it (the official converter asserts so).
        return_details: also return the `Video` as read.

    Returns:
        (300, 18, 2, 3) float32 (frames, joints, persons, [x, y, score]), the
        official converter's output for the video, channels-last.

    Raises:
        KineticsFileError: see `read_video`; or the file's `label_index`
            differs from `label_index`.
    """
    video = read_video(source, path)
    if label_index is not None and video.label_index != label_index:
        raise KineticsFileError(_source_name(source, path), "label_index",
                                f"the file says {video.label_index}, its label file {label_index} (a damaged or "
                                f"mismatched download?).")
    joints = centre_and_rank(video.slots)
    if return_details:
        return joints, video
    return joints
