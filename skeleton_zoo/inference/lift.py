"""Lifts 2D keypoints from a detector to 3D poses (`python -m skeleton_zoo lift`).

    result = lift_file("keypoints.json", model="gast_27", weights="27_frame_model.bin",
                       width=1920, height=1080)
    result["poses_3d"]          # (people, T, 17, 3)

Pipeline: the keypoint file (`skeleton_zoo.formats.keypoint_files`: GAST
JSON, COCO or AlphaPose Halpe-26 results, OpenPose folders, arrays); COCO-17
-> Human3.6M-17 as GAST-Net's in-the-wild code, Halpe-26 as MotionBERT's; joints with a score below `min_score` or at
(0, 0) / (-1, -1) / NaN are filled by linear interpolation in time
(reported); coordinates normalised as the model family's in-the-wild code
does (by the image size; MotionBERT: a box around the person, or `--pixel`),
with the detection score as a third channel for models that take it; the
lifter's sequence model lifts every frame (edge padding, or consecutive clips
for sequence-to-sequence lifters), averaged with its mirrored prediction. Any
pose-lifting preset with the h36m17 layout works.

Output (`save_result`): npz or JSON with `poses_3d` (people, T, 17, 3)
root-relative metres in the camera frame, `keypoints_2d` (people, T, 17, 2)
pixels as lifted, `filled` (people, T, 17) bool.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from skeleton_zoo.formats.keypoint_files import InputError, Tracks, read_keypoints

__all__ = ["Tracks", "read_keypoints", "fill_missing", "lift_tracks", "lift_file", "save_result", "InputError",
           "NORMALIZATIONS"]


def fill_missing(keypoints, scores, min_score: float = 0.3):
    """Linear interpolation in time of missing or low-confidence joints.

    Args:
        keypoints: (T, J, 2) one person; missing joints NaN, (0, 0) or (-1, -1).
        scores: (T, J).

    Returns:
        `(filled_keypoints (T, J, 2), filled (T, J) bool)`; a joint never seen
        in the clip stays NaN.
    """
    k = np.array(keypoints, dtype=np.float32, copy=True)
    missing = (~np.isfinite(k).all(-1) | np.all(k == 0, -1) | np.all(k == -1, -1)
               | (np.asarray(scores) < min_score))
    t = np.arange(len(k))
    for j in range(k.shape[1]):
        good = ~missing[:, j]
        if not good.any():
            k[:, j] = np.nan
            continue
        for c in range(2):
            k[:, j, c] = np.interp(t, t[good], k[good, j, c])
    return k, missing


NORMALIZATIONS = ("screen", "crop", "pixel")


def _normalize(xy, scores, mode: str, width, height):
    """(T, J, 2) pixels -> the model's 2D input units (see `lift_tracks`)."""
    from skeleton_zoo.formats import camera

    if mode == "screen":
        return camera.normalize_screen_coordinates(xy, w=width, h=height)
    if mode == "pixel":
        return camera.normalize_pixels(xy, width, height)
    return camera.crop_scale(np.concatenate([xy, scores[..., None]], axis=-1))[..., :2]


def lift_tracks(tracks: Tracks, model, width, height, min_score=0.3, flip=True, path="input",
                normalization: str = "screen"):
    """Lifts every person of `tracks` with a pose-lifting model of the h36m17 layout.

    COCO-17 tracks are converted as GAST-Net's in-the-wild code, Halpe-26
    (AlphaPose) ones as MotionBERT's (`halpe2h36m`). Models that take the
    detection confidence get it as a third channel.

    Args:
        normalization: "screen" (x / w * 2 - [1, h / w]; poses out in those
            units), "crop" (MotionBERT's default: a box around the person over
            the whole clip, `crop_scale`; poses out in the box's units) or
            "pixel" (MotionBERT's `--pixel`; poses mapped back to pixels).

    Returns:
        dict with `poses_3d` (P, T, 17, 3), `keypoints_2d` (P, T, 17, 2) pixels,
        `filled` (P, T, 17) bool, `people` (indices kept).
    """
    from skeleton_zoo.evaluation.protocols import predict_sequences
    from skeleton_zoo.formats.camera import pixels_from_normalized
    from skeleton_zoo.formats.keypoints import coco17_to_h36m17, halpe26_to_h36m17
    from skeleton_zoo.tasks.pose_lifting import with_confidence

    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization: expected one of {list(NORMALIZATIONS)}, found {normalization!r}.")
    inputs, scores, filled, kept = [], [], [], []
    for p in range(len(tracks.keypoints)):
        keypoints, missing = fill_missing(tracks.keypoints[p], tracks.scores[p], min_score)
        if np.isnan(keypoints).any():
            continue  # some joint never seen: this track cannot be lifted
        if tracks.joint_format == "halpe26":
            h36m = halpe26_to_h36m17(np.concatenate([keypoints, tracks.scores[p][..., None]], axis=-1))
            h36m, h36m_scores = h36m[..., :2].astype(np.float32), h36m[..., 2].astype(np.float32)
            missing = halpe26_to_h36m17(missing[..., None].astype(np.float64))[..., 0] > 0
        else:
            h36m, h36m_scores = coco17_to_h36m17(keypoints, tracks.scores[p])
        inputs.append(h36m)
        scores.append(h36m_scores)
        filled.append(missing)
        kept.append(p)
    if not inputs:
        raise InputError(path, f"no person has every joint visible (score >= {min_score}) in at least one frame")
    # Filled joints keep their (low) detection score as the confidence channel.
    normalised = [with_confidence(_normalize(x, s, normalization, width, height).astype(np.float32), model, s)
                  for x, s in zip(inputs, scores)]
    poses = predict_sequences(model, normalised, flip=flip)
    if normalization == "pixel":
        poses = [pixels_from_normalized(y, width, height) for y in poses]
    return {"poses_3d": np.stack(poses), "keypoints_2d": np.stack(inputs), "filled": np.stack(filled),
            "people": np.asarray(kept)}


def lift_file(path, model="gast_27", weights=None, width=None, height=None, min_score=0.3, flip=True,
              fmt=None, options=None, normalization: str | None = None) -> dict:
    """`read_keypoints` + `lift_tracks` with a pose-lifting preset name (loaded
    with `weights` and preset `options`, after the file was read) or model;
    see the module docstring. `normalization` None: the preset family's
    in-the-wild default ("screen"; MotionBERT "crop")."""
    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task

    tracks = read_keypoints(path, fmt)
    width, height = width or tracks.width, height or tracks.height
    task = get_task("pose_lifting")
    if isinstance(model, str):
        preset = registry.get_preset(model)
        if preset.task != task.name:
            raise ValueError(f"--model '{model}' is a {preset.task.replace('_', ' ')} model; lift takes a pose "
                             f"lifting preset ({', '.join(registry.preset_names(task.name))}).")
        if normalization is None:
            normalization = registry.get_family(preset.family).keypoint_normalization
    if normalization is None:
        normalization = "screen"
    if normalization != "crop" and (not width or not height):
        raise InputError(path, "image size unknown: pass --width and --height (the file does not say)")
    if isinstance(model, str):
        net = task.load(preset, weights, options)
    else:
        task.check_model(model)
        net = model
    if net.layout.name != "h36m17":
        raise InputError(path, f"model '{net.name}' lifts the {net.layout.name} layout; use a Human3.6M-17 preset")
    result = lift_tracks(tracks, net, width, height, min_score, flip, path, normalization)
    result.update(width=float(width or 0), height=float(height or 0), normalization=normalization)
    return result


def save_result(result: dict, out) -> pathlib.Path:
    """Writes a `lift_file` result to `out` (.npz, or .json) atomically."""
    from skeleton_zoo.utils.files import atomic_write

    out = pathlib.Path(out)
    if out.suffix == ".json":
        payload = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
        with atomic_write(out) as f:
            json.dump(payload, f)
    else:
        with atomic_write(out, "wb") as f:
            np.savez(f, **result)
    return out
