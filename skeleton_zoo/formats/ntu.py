"""NTU RGB+D raw skeleton files and the official ST-TR / 2s-AGCN preprocessing.

Used by the `ntu_rgbd` TFDS builder and by `skeleton_zoo.inference.classify`, so a
skeleton file is normalised the same way for training and for inference.

Pipeline of one sample, as the official `preprocess.py` + `prenormalization.py`:

1. `read_skeleton`: up to 4 body slots per frame, in file order -> (4, T, 25, 3)
   float64 (x, y, z in metres, camera coordinates).
2. `select_bodies`: keep the 2 slots with the highest energy (sum over x, y, z
   of the std over the slot's non-zero frames) -> (2, T, 25, 3).
3. `pre_normalize` on the sequence zero-padded to 300 frames, float32:
   a. per person, when its first frame is empty move its non-empty frames to
      the start; fill the empty tail by repeating the valid prefix;
   b. subtract joint 1 (spine) of person 0, frame by frame, from every person,
      keeping zero joints zero;
   c. rotate so that person 0's frame-0 bone joint 0 -> joint 1 is parallel to
      z, then so that joint 8 -> joint 4 is parallel to x (Euler-Rodrigues;
      identity when the axis is degenerate).

Layouts here are channels-last (persons, frames, joints, xyz); the official
(N, C, T, V, M) order appears only in tests that compare with it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re

import numpy as np

__all__ = [
    "NUM_JOINTS", "MAX_BODY_SLOTS", "NUM_PERSONS", "MAX_FRAMES", "SkeletonFileError",
    "SampleId", "parse_sample_name", "read_skeleton", "select_bodies", "pre_normalize",
    "process_skeleton", "normalize_bodies", "rotation_matrix", "angle_between", "pad_like_official",
]

NUM_JOINTS = 25
MAX_BODY_SLOTS = 4  # body slots the official reader keeps per frame
NUM_PERSONS = 2  # the most energetic bodies kept
MAX_FRAMES = 300  # the official clip length
_JOINT_FIELDS = 12  # x y z depthX depthY colorX colorY orientationW..Z trackingState
_BODY_INFO_FIELDS = 10


class SkeletonFileError(ValueError):
    """A malformed `.skeleton` file. `path` and `line` (1-based) locate it."""

    def __init__(self, path, line: int | None, message: str):
        self.path, self.line = str(path), line
        where = f"'{self.path}'" + (f", line {line}" if line is not None else "")
        super().__init__(f"NTU skeleton file {where}: {message}")


@dataclasses.dataclass(frozen=True)
class SampleId:
    """The ids in an NTU sample name `SsssCcccPpppRrrrAaaa`."""

    name: str
    setup: int
    camera: int
    subject: int
    replication: int
    action: int  # 1-based; the label is action - 1


_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


def parse_sample_name(name: str) -> SampleId:
    """`"S001C002P003R002A013"` (any path or suffix around it) -> `SampleId`."""
    match = _NAME.search(os.path.basename(str(name)))
    if match is None:
        raise ValueError(f"'{name}' is not an NTU sample name (expected SsssCcccPpppRrrrAaaa).")
    return SampleId(match.group(0), *(int(g) for g in match.groups()))


def _expect_int(lines, index, path, what) -> int:
    if index >= len(lines):
        raise SkeletonFileError(path, index + 1, f"the file ends where {what} was expected (truncated?).")
    text = lines[index].strip()
    try:
        return int(text)
    except ValueError:
        raise SkeletonFileError(path, index + 1, f"expected {what} (an integer), found '{text[:60]}'.") from None


def read_skeleton(source, path=None, max_bodies: int = MAX_BODY_SLOTS) -> np.ndarray:
    """Reads a raw NTU `.skeleton` file.

    Args:
        source: a path, or the file's bytes/str (then pass `path` for messages).
        path: name used in error messages. Defaults to `source` when a path.
        max_bodies: body slots kept per frame, in file order (official: 4).

    Returns:
        (max_bodies, T, 25, 3) float64: x, y, z of every joint of the m-th
        body listed in each frame; zeros where a frame lists fewer bodies.

    Raises:
        SkeletonFileError: naming the file and the line: truncated file,
            non-numeric field, joint count other than 25, a body count that
            does not match the lines that follow.
    """
    if isinstance(source, (bytes, bytearray)):
        text = bytes(source).decode("ascii", errors="replace")
    elif isinstance(source, str) and path is not None:
        text = source
    else:
        path = os.fspath(source) if path is None else path
        with open(source, "rb") as f:
            text = f.read().decode("ascii", errors="replace")
    path = path if path is not None else "<bytes>"
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise SkeletonFileError(path, None, "the file is empty.")

    num_frames = _expect_int(lines, 0, path, "the frame count")
    if num_frames < 0:
        raise SkeletonFileError(path, 1, f"negative frame count {num_frames}.")
    bodies = []  # (frame, slot, first joint line index)
    i = 1
    for frame in range(num_frames):
        num_bodies = _expect_int(lines, i, path, f"the body count of frame {frame + 1}/{num_frames}")
        if num_bodies < 0:
            raise SkeletonFileError(path, i + 1, f"negative body count {num_bodies}.")
        i += 1
        for slot in range(num_bodies):
            where = f"frame {frame + 1}/{num_frames}, body {slot + 1}/{num_bodies}"
            if i >= len(lines):
                raise SkeletonFileError(path, i + 1, f"the file ends inside {where} (truncated?).")
            fields = lines[i].split()
            if len(fields) != _BODY_INFO_FIELDS:
                raise SkeletonFileError(
                    path, i + 1, f"expected the {_BODY_INFO_FIELDS}-field body info line of {where}, "
                    f"found {len(fields)} field(s) '{lines[i].strip()[:60]}' (body count of the frame "
                    f"inconsistent with the lines that follow?).")
            num_joints = _expect_int(lines, i + 1, path, f"the joint count of {where}")
            if num_joints != NUM_JOINTS:
                raise SkeletonFileError(path, i + 2, f"{where} has {num_joints} joints, expected {NUM_JOINTS}.")
            if i + 2 + NUM_JOINTS > len(lines):
                raise SkeletonFileError(path, len(lines), f"the file ends inside the joints of {where} (truncated?).")
            bodies.append((frame, slot, i + 2))
            i += 2 + NUM_JOINTS
    if i < len(lines):
        raise SkeletonFileError(path, i + 1, f"unexpected content after the last frame: "
                                             f"'{lines[i].strip()[:60]}' (a body count too small?).")

    data = np.zeros((max_bodies, num_frames, NUM_JOINTS, 3), dtype=np.float64)
    kept = [(f, s, start) for f, s, start in bodies if s < max_bodies]
    if not kept:
        return data
    joint_lines = [line for _, _, start in kept for line in lines[start:start + NUM_JOINTS]]
    values = _parse_joint_lines(joint_lines, [start for _, _, start in kept], path)
    frames = np.array([f for f, _, _ in kept])
    slots = np.array([s for _, s, _ in kept])
    data[slots, frames] = values.reshape(len(kept), NUM_JOINTS, 3)
    return data


_NUMBER_CHARACTERS = b"0123456789eE+-. \t\r|"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _parse_joint_lines(joint_lines, starts, path) -> np.ndarray:
    """x, y, z of all joint lines at once -> (lines, 3) float64.

    Fast path: one split of all lines joined with a "|" marker, which must
    then sit after every 12th token; only characters of numbers are allowed.
    Anything else (or a coordinate beyond float32, which the pipeline uses)
    goes to a line-by-line check that names the bad line.
    """
    joined = " | ".join(joint_lines) + " |"
    if not joined.encode("ascii", "replace").translate(None, _NUMBER_CHARACTERS):
        tokens = joined.split()
        n = len(joint_lines)
        if len(tokens) == 13 * n and all(marker == "|" for marker in tokens[12::13]):
            try:
                xyz = np.array(tokens[0::13] + tokens[1::13] + tokens[2::13], dtype=np.float64).reshape(3, n).T
            except ValueError:
                xyz = None
            if xyz is not None and np.all(np.abs(xyz) <= _FLOAT32_MAX):
                return xyz
    for row, line in enumerate(joint_lines):  # slow path, only for a broken file
        fields = line.split()
        line_number = starts[row // NUM_JOINTS] + row % NUM_JOINTS + 1
        if len(fields) != _JOINT_FIELDS:
            raise SkeletonFileError(path, line_number, f"expected {_JOINT_FIELDS} numbers on a joint "
                                                       f"line, found {len(fields)}: '{line.strip()[:60]}'.")
        for field in fields:
            try:
                value = float(field)
            except ValueError:
                raise SkeletonFileError(path, line_number, f"non-numeric field '{field[:30]}' on a "
                                                           f"joint line.") from None
            if not abs(value) <= _FLOAT32_MAX:
                raise SkeletonFileError(path, line_number, f"non-finite or out-of-range value '{field[:30]}' "
                                                           f"on a joint line.")
    raise SkeletonFileError(path, None, "joint lines could not be parsed.")


def _nonzero_std_energy(body: np.ndarray) -> float:
    """Sum over x, y, z of the std over the body's non-zero frames (T, V, 3)."""
    frames = body[body.sum((1, 2)) != 0]
    if len(frames) == 0:
        return 0.0
    return frames[..., 0].std() + frames[..., 1].std() + frames[..., 2].std()


def select_bodies(slots: np.ndarray, num_persons: int = NUM_PERSONS) -> np.ndarray:
    """Keeps the `num_persons` most energetic body slots, most energetic first.

    Args:
        slots: (slots, T, 25, 3), from `read_skeleton`.

    Returns:
        (num_persons, T, 25, 3), same dtype.
    """
    energy = np.array([_nonzero_std_energy(body) for body in slots])
    order = energy.argsort()[::-1][:num_persons]  # the official tie order, too
    return slots[order]


def angle_between(v1, v2) -> float:
    """The angle (radians) between two 3-vectors; 0 when either is ~0 (as the official code)."""
    if np.abs(v1).sum() < 1e-6 or np.abs(v2).sum() < 1e-6:
        return 0.0
    v1 = v1 / np.linalg.norm(v1)
    v2 = v2 / np.linalg.norm(v2)
    return float(np.arccos(np.clip(np.dot(v1, v2), -1.0, 1.0)))


def rotation_matrix(axis, theta: float) -> np.ndarray:
    """Euler-Rodrigues matrix of the rotation by `theta` about `axis` (3,)
    (as the official `rotation_matrix`, which rotates by -theta in the
    right-handed sense); the identity when the axis or angle is ~0."""
    axis = np.asarray(axis, dtype=np.float64)
    if np.abs(axis).sum() < 1e-6 or abs(theta) < 1e-6:
        return np.eye(3)
    axis = axis / math.sqrt(np.dot(axis, axis))
    a = math.cos(theta / 2.0)
    b, c, d = -axis * math.sin(theta / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array([[aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
                     [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
                     [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc]])


def _align(x: np.ndarray, origin: np.ndarray, joints, target) -> None:
    """Rotates every non-empty frame of every non-empty person (in place) so
    that person 0's frame-0 bone joints[0] -> joints[1] is parallel to target."""
    bone = x[0, 0, joints[1]] - x[0, 0, joints[0]]
    matrix = rotation_matrix(np.cross(bone, target), angle_between(bone, np.asarray(target, np.float64)))
    for p in range(x.shape[0]):
        if x[p].sum() == 0:
            continue
        frames = x[p].sum((1, 2)) != 0
        # float64 product rounded to float32, as the official per-joint np.dot
        x[p, frames] = (x[p, frames].astype(np.float64) @ matrix.T).astype(np.float32)
    origin[:] = (origin.astype(np.float64) @ matrix.T).astype(np.float32)


def pre_normalize(x: np.ndarray, return_details: bool = False):
    """The official pre-normalisation of one sample.

    Args:
        x: (persons, frames, 25, 3) float32, zero-padded to the clip length
            (300 in the official pipeline). Not modified.
        return_details: also return what `pad_like_official` needs.

    Returns:
        (persons, frames, 25, 3) float32. With `return_details`, also
        `origin` (frames, 3): person 0's spine per frame in the final
        (rotated) coordinates, which step b subtracted; and `valid_frames`
        (persons,) int: frames of each person after step a's shift, before
        its repetition (0 for an absent person).
    """
    x = np.array(x, dtype=np.float32, copy=True)
    persons, frames = x.shape[:2]
    valid = np.zeros(persons, dtype=np.int64)
    # a. shift to the start, repeat the valid prefix over the empty tail
    for p in range(persons):
        person = x[p]
        if person.sum() == 0:
            continue
        if person[0].sum() == 0:
            keep = person.sum(-1).sum(-1) != 0
            moved = person[keep].copy()
            person[:] = 0
            person[:len(moved)] = moved
        nonzero = np.flatnonzero(np.any(person != 0, axis=(1, 2)))
        end = int(nonzero[-1]) + 1 if len(nonzero) else 0
        valid[p] = end
        if 0 < end < frames:
            person[end:] = person[np.arange(end, frames) % end]
    origin = np.zeros((frames, 3), dtype=np.float32)
    if x.sum() != 0:
        # b. subtract person 0's spine (joint 1), keeping zero joints zero
        origin = x[0, :, 1, :].copy()
        for p in range(persons):
            if x[p].sum() == 0:
                continue
            mask = (x[p].sum(-1) != 0)[..., None]
            x[p] = (x[p] - origin[:, None, :]) * mask
        # c. hip -> spine parallel to z, then right -> left shoulder parallel to x
        _align(x, origin, (0, 1), [0, 0, 1])
        _align(x, origin, (4, 8), [1, 0, 0])
    if return_details:
        return x, origin, valid
    return x


def process_skeleton(source, path=None, num_frames: int = MAX_FRAMES, return_details: bool = False):
    """A raw `.skeleton` file through the whole official pipeline.

    Args:
        source: a path or the file's bytes (see `read_skeleton`).
        path: name for error messages.
        num_frames: clip length (official: 300; longer files keep all frames).
        return_details: also return `origin`, `valid_frames` (see
            `pre_normalize`) and the file's frame count.

    Returns:
        (num_frames, 25, 2, 3) float32 (frames, joints, persons, xyz), the
        official `joint` data of the sample, channels-last.
    """
    return normalize_bodies(read_skeleton(source, path), num_frames, return_details)


def normalize_bodies(slots, num_frames: int = MAX_FRAMES, return_details: bool = False):
    """Steps 2-3 of the pipeline on bodies already read: the 2 most energetic
    of `slots` (`select_bodies`), zero-padded to 2 persons and `num_frames`
    frames, `pre_normalize`d.

    Args:
        slots: (bodies, T, 25, 3), e.g. `read_skeleton`'s (4 slots) or the
            persons of a PYSKL 3D annotation (1 or 2).
        num_frames: clip length (longer sequences keep all frames).
        return_details: also return `origin`, `valid_frames` and T.

    Returns:
        (max(num_frames, T), 25, 2, 3) float32, as `process_skeleton`.
    """
    bodies = select_bodies(np.asarray(slots, dtype=np.float64))  # (<= 2, T, 25, 3), energies in float64
    length = max(num_frames, bodies.shape[1])
    padded = np.zeros((NUM_PERSONS, length, NUM_JOINTS, 3), dtype=np.float32)
    padded[:len(bodies), :bodies.shape[1]] = bodies
    x, origin, valid = pre_normalize(padded, return_details=True)
    joints = np.transpose(x, (1, 2, 0, 3))
    if return_details:
        return joints, origin, valid, bodies.shape[1]
    return joints


def pad_like_official(joints, origin, valid_frames, length: int = MAX_FRAMES):
    """Extends a stored sample to `length` frames exactly as the official
    pipeline's padding (which happens before normalisation) would have.

    Each person's frames past its valid prefix repeat that prefix; the
    official pipeline then subtracted person 0's spine of the *same padded
    frame*, so the repeated frames are re-centred with `origin`.

    Works on numpy arrays and on TF tensors inside `tf.data` (TF ops only).

    Args:
        joints: (T, 25, P, 3) float32, the first T frames of the official output.
        origin: (T, 3) float32, person 0's spine per frame (final coordinates).
        valid_frames: (P,) int, each person's valid prefix length (<= T).
        length: clip length, >= T.

    Returns:
        (length, 25, P, 3) float32.
    """
    import tensorflow as tf

    joints = tf.convert_to_tensor(joints, tf.float32)
    origin = tf.convert_to_tensor(origin, tf.float32)
    valid = tf.cast(tf.convert_to_tensor(valid_frames), tf.int32)
    t = tf.shape(joints)[0]
    persons = tf.shape(joints)[2]
    # One zero frame at the end keeps every gather in range, also for T = 0.
    joints = tf.concat([joints, tf.zeros(tf.concat([[1], tf.shape(joints)[1:]], 0))], 0)
    origin = tf.concat([origin, tf.zeros([1, 3])], 0)
    frame = tf.range(length)[:, None]  # (L, 1)
    # Source frame of each person (L, P): itself within T, else its prefix repeated.
    source = tf.where(frame < t, frame, frame % tf.maximum(valid, 1)[None, :])
    person = tf.broadcast_to(tf.range(persons)[None, :], tf.shape(source))
    by_person = tf.transpose(joints, (0, 2, 1, 3))  # (T + 1, P, 25, 3)
    gathered = tf.gather_nd(by_person, tf.stack([source, person], -1))  # (L, P, 25, 3)
    # Re-centre repeated frames on person 0's spine of the same padded frame.
    shift = tf.gather(origin, source) - tf.gather(origin, source[:, :1])  # (L, P, 3)
    nonzero = tf.reduce_any(tf.not_equal(gathered, 0.0), axis=-1, keepdims=True)
    repeated = tf.where(nonzero, gathered + shift[:, :, None, :], 0.0)
    present = (valid > 0)[None, :, None, None]
    out = tf.where(frame[:, :, None, None] < t, gathered, tf.where(present, repeated, 0.0))
    return tf.transpose(out, (0, 2, 1, 3))  # (L, 25, P, 3)
