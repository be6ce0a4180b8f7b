"""Camera maths of VideoPose3D (`common/camera.py`, `common/quaternion.py`) in numpy.

Vectorised over any leading axes, numpy only (no TensorFlow, no PyTorch), so
dataset builders, metrics and user scripts can share it. Conventions, as in
VideoPose3D / GAST-Net:

- Quaternions are (w, x, y, z), unit norm. Human3.6M / HumanEva camera
  `orientation` quaternions rotate camera coordinates into world coordinates.
- `world_to_camera(X, R, t)` = rotate(R^-1, X - t); `camera_to_world` is its
  inverse. `t` is the camera centre in world units (the datasets' extrinsic
  translations are in millimetres: divide by 1000 for metres).
- Screen coordinates: `normalize_screen_coordinates` maps x in [0, w] to
  [-1, 1] and y in [0, h] to [-h/w, h/w], keeping the aspect ratio.
  MotionBERT's in-the-wild normalisations: `crop_scale` (a box around the
  body) and `normalize_pixels` (`--pixel`).

Arithmetic runs in the inputs' (promoted) dtype, as in the reference, so
float32 inputs give the reference's float32 results.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "normalize_screen_coordinates",
    "image_coordinates",
    "crop_scale",
    "normalize_pixels",
    "pixels_from_normalized",
    "qrot",
    "qinverse",
    "world_to_camera",
    "camera_to_world",
]


def _check_last_axis(x: np.ndarray, size: int, function: str, argument: str) -> None:
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(
            f"{function}: `{argument}` must have shape (..., {size}), found shape {x.shape}."
        )


def _check_size(w, h, function: str) -> None:
    if not (np.isscalar(w) and np.isscalar(h)) or w <= 0 or h <= 0:
        raise ValueError(
            f"{function}: `w` and `h` must be positive numbers (image width and height in "
            f"pixels), found w={w!r}, h={h!r}."
        )


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def normalize_screen_coordinates(X, w, h) -> np.ndarray:
    """Pixels to normalised screen coordinates: `X / w * 2 - [1, h / w]`.

    x in [0, w] maps to [-1, 1]; y in [0, h] maps to [-h/w, h/w] (aspect ratio kept).

    Args:
        X: array (..., 2), pixel coordinates (x, y).
        w: image width in pixels.
        h: image height in pixels.

    Returns:
        array (..., 2), X's float dtype (float64 for integer input).
    """
    X = _float(X)
    _check_last_axis(X, 2, "normalize_screen_coordinates", "X")
    _check_size(w, h, "normalize_screen_coordinates")
    # Same operations as the reference (`kps[..., :2] = ...` then stores the
    # float64 result back into the float32 array).
    return (X / w * 2 - np.asarray([1, h / w])).astype(X.dtype)


def image_coordinates(X, w, h) -> np.ndarray:
    """Inverse of `normalize_screen_coordinates`: `(X + [1, h / w]) * w / 2`.

    Args:
        X: array (..., 2), normalised screen coordinates.
        w: image width in pixels.
        h: image height in pixels.

    Returns:
        array (..., 2) in pixels, X's float dtype.
    """
    X = _float(X)
    _check_last_axis(X, 2, "image_coordinates", "X")
    _check_size(w, h, "image_coordinates")
    return ((X + np.asarray([1, h / w])) * w / 2).astype(X.dtype)


def crop_scale(motion, ratio: float = 1.0) -> np.ndarray:
    """MotionBERT's `crop_scale` (infer_wild.py, with scale_range [ratio, ratio]):
    a square box around every joint with a non-zero confidence, over the
    whole array (all frames, all persons), scaled to [-1, 1].

        scale = max(x_max - x_min, y_max - y_min) * ratio
        xy = ((xy - ((min + max - scale) / 2)) / scale - 0.5) * 2

    then every channel (the confidence too) is clipped to [-1, 1]; fewer than
    4 confident joints or a zero-size box give all zeros, as the official.

    Args:
        motion: (..., 17, 3) array (x, y, confidence), pixels.
        ratio: float. Box size over the body's extent (1: the body fills [-1, 1]).

    Returns:
        Array of `motion`'s shape and float dtype.
    """
    motion = _float(motion)
    _check_last_axis(motion, 3, "crop_scale", "motion")
    valid = motion[motion[..., 2] != 0][:, :2]
    if len(valid) < 4:
        return np.zeros(motion.shape, motion.dtype)
    lo, hi = valid.min(axis=0), valid.max(axis=0)
    # The official ratio is a np.float64 draw: box and division in float64, stored in the motion's dtype, then
    # the shift to [-1, 1] in that dtype (float32 input rounds where the official rounds).
    scale = max(hi[0] - lo[0], hi[1] - lo[1]) * np.float64(ratio)
    if scale == 0:
        return np.zeros(motion.shape, motion.dtype)
    result = motion.copy()
    result[..., :2] = (motion[..., :2] - (lo + hi - scale) / 2) / scale
    result[..., :2] = (result[..., :2] - 0.5) * 2
    return np.clip(result, -1, 1).astype(motion.dtype)


def normalize_pixels(X, w, h) -> np.ndarray:
    """MotionBERT's `--pixel` normalisation: `(X - [w, h] / 2) / (min(w, h) / 2)`
    (the image centre at 0, the shorter side spanning [-1, 1]).

    Args:
        X: array (..., 2) pixels. w, h: image size.

    Returns:
        array (..., 2), X's float dtype.
    """
    X = _float(X)
    _check_last_axis(X, 2, "normalize_pixels", "X")
    _check_size(w, h, "normalize_pixels")
    return ((X - np.asarray([w, h]) / 2.0) / (min(w, h) / 2.0)).astype(X.dtype)


def pixels_from_normalized(X, w, h) -> np.ndarray:
    """Inverse of `normalize_pixels` for 3D output, as `infer_wild.py --pixel`:
    every channel times min(w, h) / 2, then x, y shifted by the image centre.

    Args:
        X: array (..., 3). w, h: image size.
    """
    X = _float(X)
    _check_size(w, h, "pixels_from_normalized")
    out = X * (min(w, h) / 2.0)
    out[..., :2] = out[..., :2] + np.asarray([w, h]) / 2.0
    return out.astype(X.dtype)


def qrot(q, v) -> np.ndarray:
    """Rotates vectors `v` by unit quaternions `q` (w, x, y, z).

    Computes v + 2 (w (u x v) + u x (u x v)) with u = (x, y, z), the
    reference's formula.

    Args:
        q: array (..., 4), unit quaternions.
        v: array (..., 3), vectors. The leading axes of `q` and `v` broadcast
            against each other.

    Returns:
        array (broadcast leading shape..., 3).
    """
    q, v = _float(q), _float(v)
    _check_last_axis(q, 4, "qrot", "q")
    _check_last_axis(v, 3, "qrot", "v")
    try:
        shape = np.broadcast_shapes(q.shape[:-1], v.shape[:-1])
    except ValueError:
        raise ValueError(
            f"qrot: the leading axes of `q` {q.shape} and `v` {v.shape} do not broadcast."
        ) from None
    q = np.broadcast_to(q, shape + (4,))
    v = np.broadcast_to(v, shape + (3,))
    qvec = q[..., 1:]
    uv = np.cross(qvec, v)
    uuv = np.cross(qvec, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qinverse(q) -> np.ndarray:
    """Inverse of unit quaternions (their conjugate): (w, -x, -y, -z).

    Args:
        q: array (..., 4), unit quaternions (w, x, y, z).

    Returns:
        array (..., 4); a new array (the input is not modified).
    """
    q = _float(q)
    _check_last_axis(q, 4, "qinverse", "q")
    return np.concatenate([q[..., :1], -q[..., 1:]], axis=-1)


def world_to_camera(X, R, t) -> np.ndarray:
    """World coordinates to camera coordinates: `qrot(qinverse(R), X - t)`.

    Args:
        X: array (..., 3), points in world coordinates, e.g. (T, J, 3).
        R: array (4,) (or broadcastable to X's leading axes + (4,)), the
            camera's orientation quaternion (w, x, y, z), camera-to-world.
        t: array (3,) (or broadcastable to X), the camera centre in world
            coordinates, same unit as X.

    Returns:
        array (..., 3), X's shape, in the camera frame (same unit as X).
    """
    X, R, t = _float(X), _float(R), _float(t)
    _check_last_axis(X, 3, "world_to_camera", "X")
    _check_last_axis(R, 4, "world_to_camera", "R")
    _check_last_axis(t, 3, "world_to_camera", "t")
    return qrot(qinverse(R), X - t)


def camera_to_world(X, R, t) -> np.ndarray:
    """Camera coordinates to world coordinates: `qrot(R, X) + t`.

    Args:
        X: array (..., 3), points in the camera frame.
        R: array (4,) (or broadcastable), orientation quaternion (w, x, y, z),
            camera-to-world.
        t: array (3,) (or broadcastable), camera centre in world coordinates.

    Returns:
        array (..., 3), X's shape, in world coordinates.
    """
    X, R, t = _float(X), _float(R), _float(t)
    _check_last_axis(X, 3, "camera_to_world", "X")
    _check_last_axis(R, 4, "camera_to_world", "R")
    _check_last_axis(t, 3, "camera_to_world", "t")
    return qrot(R, X) + t
