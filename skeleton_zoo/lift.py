"""Lifts 2D keypoints from a detector to 3D poses: `python -m skeleton_zoo.lift`.

    python -m skeleton_zoo.lift keypoints.json --model gast_27 --weights 27_frame_model.bin \\
        --width 1920 --height 1080 --out poses.npz --render poses.gif

Inputs (detected from content; `--format` forces one):
- `gast`: GAST-Net's keypoints JSON `{"label", "label_index", "data": [{"frame_index",
  "skeleton": [{"pose": [x0, y0, ...], "score": [...], "bbox": [...]}]}]}`;
- `coco`: a COCO-results JSON list `[{"image_id", "keypoints": [x, y, v] * 17, "score"}]`
  (one frame per image_id, people in list order);
- `openpose`: a folder of OpenPose `*_keypoints.json` (BODY_25 or COCO-18), one per frame;
- `array`: `.npy` (T, 17, 2) or (P, T, 17, 2) COCO keypoints in pixels, or `.npz`
  with `keypoints`, optional `scores`, `width`, `height`.

Pipeline: COCO-17 -> Human3.6M-17 as GAST-Net's in-the-wild code; joints with a
score below `--min_score` or at (0, 0) / (-1, -1) / NaN are filled by linear
interpolation in time (reported); coordinates normalised by the image size;
the dilated network lifts every frame (edge padding), averaged with its
mirrored prediction. Output npz: `poses_3d` (people, T, 17, 3) root-relative
metres in the camera frame, `keypoints_2d` (people, T, 17, 2) pixels as
lifted, `filled` (people, T, 17) bool.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import sys
import tempfile

import numpy as np

__all__ = ["Tracks", "read_keypoints", "fill_missing", "lift_tracks", "lift_file", "InputError"]

FORMATS = ("gast", "coco", "openpose", "array")


class InputError(ValueError):
    """A keypoint file that cannot be lifted; the message names the file."""

    def __init__(self, path, problem: str):
        super().__init__(f"{path}: {problem}")


@dataclasses.dataclass
class Tracks:
    """COCO-17 keypoints of every person of a clip.

    Attributes:
        keypoints: (P, T, 17, 2) float32 pixels; NaN where a joint is missing.
        scores: (P, T, 17) float32 confidences (1 where the format has none).
        width, height: image size in pixels, when the file says.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    width: float | None = None
    height: float | None = None


def _tracks(frames: list[list[tuple]], path) -> Tracks:
    """frames[t] = [(pose (17, 2), score (17,)), ...] per person -> `Tracks`."""
    if not frames:
        raise InputError(path, "zero frames")
    people = max((len(f) for f in frames), default=0)
    if people == 0:
        raise InputError(path, "no person in any frame")
    keypoints = np.full((people, len(frames), 17, 2), np.nan, np.float32)
    scores = np.zeros((people, len(frames), 17), np.float32)
    for t, frame in enumerate(frames):
        for p, (pose, score) in enumerate(frame):
            keypoints[p, t], scores[p, t] = pose, score
    return Tracks(keypoints, scores)


def _pose(values, path, where, per_joint):
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if values.size % per_joint or values.size // per_joint not in (17, 18, 25):
        raise InputError(path, f"{where}: expected 17 joints x {per_joint} values, found {values.size} values")
    joints = values.reshape(-1, per_joint)
    if len(joints) != 17:
        from skeleton_zoo.keypoints import OPENPOSE_TO_COCO17

        joints = joints[OPENPOSE_TO_COCO17[len(joints)]]
    return joints


def _read_gast(data, path) -> Tracks:
    entries = data.get("data")
    if not isinstance(entries, list) or not entries:
        raise InputError(path, "GAST keypoints JSON without a non-empty 'data' list")
    num_frames = max(int(e.get("frame_index", 0)) for e in entries)
    frames = [[] for _ in range(num_frames)]
    for entry in entries:
        t = int(entry["frame_index"]) - 1  # 1-based in the file
        for person in entry.get("skeleton", []):
            if not person.get("bbox"):
                continue  # the official reader skips people without a box
            pose = _pose(person["pose"], path, f"frame {t + 1}", 2)
            score = np.asarray(person.get("score", np.ones(17)), np.float32).reshape(-1)[:17]
            frames[t].append((pose, score))
    return _tracks(frames, path)


def _read_coco(data, path) -> Tracks:
    by_image: dict = {}
    for i, item in enumerate(data):
        if not isinstance(item, dict) or "keypoints" not in item:
            raise InputError(path, f"entry {i}: expected a COCO result with 'keypoints'")
        by_image.setdefault(item.get("image_id", i), []).append(item)
    frames = []
    for image in sorted(by_image):
        people = []
        for item in by_image[image]:
            values = _pose(item["keypoints"], path, f"image {image}", 3)
            people.append((values[:, :2], values[:, 2]))
        frames.append(people)
    return _tracks(frames, path)


def _read_openpose(folder, path) -> Tracks:
    files = sorted(pathlib.Path(folder).glob("*_keypoints.json")) or sorted(pathlib.Path(folder).glob("*.json"))
    if not files:
        raise InputError(path, "folder without OpenPose '*_keypoints.json' files")
    frames = []
    for file in files:
        try:
            people = json.loads(file.read_text()).get("people", [])
        except (json.JSONDecodeError, AttributeError):
            raise InputError(file, "not an OpenPose JSON object") from None
        frame = []
        for person in people:
            values = _pose(person.get("pose_keypoints_2d", []), file, "pose_keypoints_2d", 3)
            frame.append((values[:, :2], values[:, 2]))
        frames.append(frame)
    return _tracks(frames, path)


def _read_array(path) -> Tracks:
    if str(path).endswith(".npz"):
        with np.load(path, allow_pickle=False) as data:
            if "keypoints" not in data.files:
                raise InputError(path, f"npz without 'keypoints' (found {data.files})")
            keypoints = data["keypoints"].astype(np.float32)
            scores = data["scores"].astype(np.float32) if "scores" in data.files else None
            width = float(data["width"]) if "width" in data.files else None
            height = float(data["height"]) if "height" in data.files else None
    else:
        keypoints, scores, width, height = np.load(path, allow_pickle=False).astype(np.float32), None, None, None
    if keypoints.ndim == 3:
        keypoints = keypoints[None]
        scores = None if scores is None else scores[None]
    if keypoints.ndim != 4 or keypoints.shape[-1] != 2 or keypoints.shape[-2] != 17:
        raise InputError(path, f"expected keypoints (frames, 17, 2) or (people, frames, 17, 2) COCO-17 "
                               f"pixels, found shape {keypoints.shape}")
    if keypoints.shape[1] == 0:
        raise InputError(path, "zero frames")
    scores = np.ones(keypoints.shape[:3], np.float32) if scores is None else scores.reshape(keypoints.shape[:3])
    return Tracks(keypoints, scores, width, height)


def read_keypoints(path, fmt: str | None = None) -> Tracks:
    """Reads a keypoint file or OpenPose folder (format detected from content).

    Raises:
        InputError: unreadable or empty input, wrong shape (names the file).
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
        return _read_openpose(path, path)
    if fmt == "array":
        try:
            return _read_array(path)
        except (ValueError, OSError) as error:
            if isinstance(error, InputError):
                raise
            raise InputError(path, f"not a readable array file ({error})") from None
    text = path.read_text() if path.is_file() else ""
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
    if fmt == "coco" or (fmt is None and isinstance(data, list)):
        if not isinstance(data, list):
            raise InputError(path, "COCO results JSON must be a list")
        return _read_coco(data, path)
    raise InputError(path, "JSON of an unknown shape: expected GAST keypoints ({'data': [...]}), a COCO "
                           "results list, an OpenPose folder or .npy/.npz arrays")


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


def lift_tracks(tracks: Tracks, model, width, height, min_score=0.3, flip=True, path="input"):
    """Lifts every person of `tracks` with a GAST-Net (h36m17 layout).

    Returns:
        dict with `poses_3d` (P, T, 17, 3), `keypoints_2d` (P, T, 17, 2) pixels,
        `filled` (P, T, 17) bool, `people` (indices kept).
    """
    from skeleton_zoo.camera import normalize_screen_coordinates
    from skeleton_zoo.evaluation import predict_sequences
    from skeleton_zoo.keypoints import coco17_to_h36m17

    poses, inputs, filled, kept = [], [], [], []
    for p in range(len(tracks.keypoints)):
        coco, missing = fill_missing(tracks.keypoints[p], tracks.scores[p], min_score)
        if np.isnan(coco).any():
            continue  # some joint never seen: this track cannot be lifted
        h36m = coco17_to_h36m17(coco)
        inputs.append(h36m)
        filled.append(missing)
        kept.append(p)
    if not inputs:
        raise InputError(path, f"no person has every joint visible (score >= {min_score}) in at least one frame")
    normalised = [normalize_screen_coordinates(x, w=width, h=height).astype(np.float32) for x in inputs]
    poses = predict_sequences(model, normalised, flip=flip)
    return {"poses_3d": np.stack(poses), "keypoints_2d": np.stack(inputs), "filled": np.stack(filled),
            "people": np.asarray(kept)}


def lift_file(path, model="gast_27", weights=None, width=None, height=None, min_score=0.3, flip=True,
              fmt=None) -> dict:
    """`read_keypoints` + `lift_tracks` with a preset; see the module docstring."""
    import skeleton_zoo

    tracks = read_keypoints(path, fmt)
    width, height = width or tracks.width, height or tracks.height
    if not width or not height:
        raise InputError(path, "image size unknown: pass --width and --height (the file does not say)")
    net = skeleton_zoo.load(model, weights=weights) if isinstance(model, str) else model
    if net.layout.name != "h36m17":
        raise InputError(path, f"model '{net.name}' lifts the {net.layout.name} layout; use a Human3.6M-17 preset")
    result = lift_tracks(tracks, net, width, height, min_score, flip, path)
    result.update(width=float(width), height=float(height))
    return result


def _save(result, out):
    out = pathlib.Path(out)
    handle, tmp = tempfile.mkstemp(dir=out.parent or ".", prefix=".lift-", suffix=out.suffix)
    os.close(handle)
    try:
        if out.suffix == ".json":
            payload = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
            pathlib.Path(tmp).write_text(json.dumps(payload))
        else:
            with open(tmp, "wb") as f:
                np.savez(f, **result)
        os.chmod(tmp, 0o644)  # mkstemp makes it private
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _define_flags():
    """Defined when the command runs (see skeleton_zoo.convert)."""
    from absl import flags

    flags.DEFINE_string("model", "gast_27", "GAST-Net preset with the h36m17 layout.")
    flags.DEFINE_string("weights", None, "Weights (official .bin, .weights.h5, .keras). Default: random (warned).")
    flags.DEFINE_string("out", "poses.npz", "Output: .npz, or .json.")
    flags.DEFINE_string("render", None, "Also render a picture: .gif, .mp4 or .png.")
    flags.DEFINE_float("width", None, "Image width in pixels (when the file does not say).")
    flags.DEFINE_float("height", None, "Image height in pixels.")
    flags.DEFINE_float("min_score", 0.3, "Joints below this confidence are interpolated in time.")
    flags.DEFINE_bool("flip", True, "Test-time flip averaging.")
    flags.DEFINE_enum("format", None, list(FORMATS), "Input format (default: detected).")


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    if len(argv) != 2:
        print("error: expected one input file or OpenPose folder, e.g. python -m skeleton_zoo.lift "
              "keypoints.json --width 1920 --height 1080", file=sys.stderr)
        return 2
    if FLAGS.weights is None:
        print("warning: no --weights: the model is randomly initialised, the poses are meaningless.",
              file=sys.stderr)
    try:
        result = lift_file(argv[1], FLAGS.model, FLAGS.weights, FLAGS.width, FLAGS.height, FLAGS.min_score,
                           FLAGS.flip, FLAGS.format)
        _save(result, FLAGS.out)
        if FLAGS.render:
            from skeleton_zoo import viz
            from skeleton_zoo.layouts import get_layout

            layout = get_layout("h36m17")
            if FLAGS.render.endswith(".png"):
                viz.render_frame(result["poses_3d"][0, 0], layout, FLAGS.render, keypoints_2d=result["keypoints_2d"][0, 0])
            else:
                viz.render_animation(result["poses_3d"], layout, FLAGS.render, keypoints_2d=result["keypoints_2d"][0])
    except (InputError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    people, frames = result["poses_3d"].shape[:2]
    print(f"Lifted {people} person(s) x {frames} frames; filled {int(result['filled'].sum())} missing or "
          f"low-confidence joints by interpolation. Wrote {FLAGS.out}" + (f" and {FLAGS.render}" if FLAGS.render else ""))
    return 0


def run():
    from absl import app

    _define_flags()
    app.run(main)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(run())
