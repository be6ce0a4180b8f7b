"""NTU RGB+D clip files to classify: a raw `.skeleton` file, normalised here
exactly as the `ntu_rgbd` TFDS builder does (`skeleton_zoo.formats.ntu`), or
an `.npz` with already normalised `joints`.

`.npz` arrays `joints`, taken as *already normalised* (no centring or
rotation is applied): (T, 25, 2, 3) channels-last (frames, joints, persons,
xyz), (T, 25, 1, 3), or (T, 25, 3) for one person; a missing second person is
zeros. Clips are zero-padded (or cut) to 300 frames. `process_skeleton`
output saved as `joints` gives exactly the `.skeleton` result.

Every problem raises `InputFileError`: `FILE: PROBLEM`.
"""

from __future__ import annotations

import os

import numpy as np

from skeleton_zoo.formats.arrays import load_numpy

__all__ = ["InputFileError", "read_clip", "skeleton_file_error", "SUFFIXES", "NUM_FRAMES"]

SUFFIXES = (".skeleton", ".npz")
NUM_FRAMES = 300  # the official clip length
_NUM_JOINTS = 25


class InputFileError(ValueError):
    """An input file that cannot be classified. `str()` is `FILE: PROBLEM`."""

    def __init__(self, path, problem: str):
        self.path, self.problem = str(path), problem
        super().__init__(f"{self.path}: {problem}")


def _fit_frames(joints: np.ndarray, num_frames: int) -> np.ndarray:
    """Zero-pads or cuts axis 0 to `num_frames`."""
    if len(joints) >= num_frames:
        return joints[:num_frames]
    pad = np.zeros((num_frames - len(joints),) + joints.shape[1:], dtype=joints.dtype)
    return np.concatenate([joints, pad], axis=0)


def skeleton_file_error(path, error) -> InputFileError:
    """An `ntu.SkeletonFileError` as this module's one-line `InputFileError`."""
    problem = str(error)
    where = f"NTU skeleton file '{error.path}'" + (f", line {error.line}" if error.line is not None else "")
    if problem.startswith(where + ": "):
        problem = problem[len(where) + 2:]
    if error.line is not None:
        problem = f"line {error.line}: {problem}"
    return InputFileError(path, f"malformed NTU skeleton file: {problem}")


def _read_skeleton_file(path, num_frames: int) -> np.ndarray:
    from skeleton_zoo.formats import ntu

    try:
        joints, _, _, file_frames = ntu.process_skeleton(path, num_frames=num_frames, return_details=True)
    except ntu.SkeletonFileError as error:
        raise skeleton_file_error(path, error) from None
    if file_frames == 0:
        raise InputFileError(path, "the skeleton file has zero frames.")
    if not joints.any():
        raise InputFileError(path, f"no body in any of the file's {file_frames} frames.")
    return joints[:num_frames]


def _read_npz_file(path, num_frames: int) -> np.ndarray:
    import zipfile

    try:
        loaded = load_numpy(path)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise InputFileError(path, "not an .npz archive (a single .npy array?).")
        with loaded as data:
            if "joints" not in data.files:
                found = ", ".join(data.files) or "no arrays"
                raise InputFileError(path, f"no array 'joints' in the .npz file (found: {found}).")
            joints = data["joints"]
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputFileError(path, f"not a readable .npz file ({error}).") from None
    shape = tuple(joints.shape)
    if joints.dtype.kind not in "iuf":
        raise InputFileError(path, f"'joints' must hold real numbers, found dtype {joints.dtype}.")
    if joints.ndim == 3 and shape[1:] == (_NUM_JOINTS, 3):
        joints = joints[:, :, None, :]
    elif not (joints.ndim == 4 and shape[1] == _NUM_JOINTS and shape[2] in (1, 2) and shape[3] == 3):
        if joints.ndim in (3, 4) and shape[1] != _NUM_JOINTS:
            problem = f"'joints' has {shape[1]} joints, expected {_NUM_JOINTS} (NTU)"
        else:
            problem = "'joints' has the wrong shape"
        raise InputFileError(path, f"{problem}: found shape {shape}, expected (frames, 25, 2, 3), "
                                   f"(frames, 25, 1, 3) or (frames, 25, 3).")
    if shape[0] == 0:
        raise InputFileError(path, f"'joints' has zero frames (shape {shape}).")
    joints = joints.astype(np.float32)
    if not np.isfinite(joints).all():
        raise InputFileError(path, "'joints' holds NaN or infinite values.")
    if joints.shape[2] == 1:
        joints = np.concatenate([joints, np.zeros_like(joints)], axis=2)
    return _fit_frames(joints, num_frames)


def read_clip(path, num_frames: int = NUM_FRAMES) -> np.ndarray:
    """One input file -> (num_frames, 25, 2, 3) float32 normalised joints.

    Args:
        path: an NTU `.skeleton` file (normalised here) or an `.npz` with
            already normalised `joints` (see the module documentation).
        num_frames: clip length; shorter `.npz` clips are zero-padded.

    Raises:
        InputFileError: `FILE: PROBLEM` for a missing, empty or malformed
            file, an unknown suffix, a wrong joint count or zero frames.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise InputFileError(path, f"unknown file type '{suffix or '(no suffix)'}'; expected an NTU "
                                   f".skeleton file or an .npz with 'joints'.")
    if not os.path.isfile(path):
        raise InputFileError(path, "no such file." if not os.path.exists(path) else "not a file.")
    if os.path.getsize(path) == 0:
        raise InputFileError(path, "the file is empty.")
    try:
        if suffix == ".skeleton":
            return _read_skeleton_file(path, num_frames)
        return _read_npz_file(path, num_frames)
    except OSError as error:
        raise InputFileError(path, f"cannot read the file: {error.strerror or error}.") from None
