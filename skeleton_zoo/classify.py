"""Classifies NTU skeleton clips with an ST-TR preset: `python -m skeleton_zoo.classify`.

    python -m skeleton_zoo.classify S001C001P001R001A001.skeleton --model st_tr_2s_joint \\
        --weights s_tr.pt,t_tr.pt
    python -m skeleton_zoo.classify clip.npz --model st_tr_spatial_bone --weights s_tr_bones.pt --json

Inputs:
    - `.skeleton`: a raw NTU RGB+D file, read and normalised by
      `skeleton_zoo.ntu.process_skeleton` exactly as the `ntu_rgbd` TFDS
      builder does; clips longer than 300 frames are cut to the first 300.
    - `.npz` with an array `joints`, taken as *already normalised* (no
      centring or rotation is applied): (T, 25, 2, 3) channels-last
      (frames, joints, persons, xyz), (T, 25, 1, 3), or (T, 25, 3) for one
      person; a missing second person is zeros. Clips are zero-padded (or
      cut) to 300 frames. `process_skeleton` output saved as `joints` gives
      exactly the `.skeleton` result.

Bone presets (6 input channels) get [joints || bones], the bones from
`layouts.joints_to_bones` on the NTU-25 layout, as in training.

Output: the `--top` classes of each file (rank, class index, name,
probability). Probabilities are the softmax of the model's logits; for
two-stream presets, of the fused (summed) logits, or with `fusion="softmax"`
the mean of the two streams' probabilities. `--json` writes only a JSON list
of `{"file", "top": [{"rank", "index", "name", "probability"}]}` to stdout.

Every file is read and checked before anything is printed. A bad input file
prints one line `error: FILE: PROBLEM` on stderr and exits with status 2; a
model or weights problem prints `error: ...` and exits with status 1.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

import numpy as np
from absl import app, flags

__all__ = ["InputFileError", "read_clip", "model_inputs", "class_names", "class_probabilities",
           "classify_files", "SUFFIXES", "NUM_FRAMES"]

FLAGS = flags.FLAGS

SUFFIXES = (".skeleton", ".npz")
NUM_FRAMES = 300  # the official clip length
_NUM_JOINTS = 25
_NUM_PERSONS = 2


def _define_flags():
    """Defined when the command runs, not on import, so that importing this
    module next to other command lines does not redefine their flags."""
    flags.DEFINE_string("model", None, "ST-TR preset, e.g. st_tr_2s_joint (see `python -m skeleton_zoo "
                                       "list`).")
    flags.DEFINE_string("weights", None, "Weights: official .pt/.pth/.bin, .weights.h5 or .keras; two-stream "
                                         "presets take SPATIAL,TEMPORAL. Without: random weights "
                                         "(meaningless predictions).")
    flags.DEFINE_bool("json", False, "Print only a JSON list of {file, top: [{rank, index, name, "
                                     "probability}]} to stdout.")
    flags.DEFINE_integer("top", 5, "Classes listed per file.", lower_bound=1)
    flags.DEFINE_string("render", None, "Also render the first file's skeletons (.gif, .mp4 or .png).")
    flags.DEFINE_integer("batch_size", 8, "Clips per model call.", lower_bound=1)
    flags.DEFINE_multi_string("option", [], "Preset option KEY=VALUE (Python literal), e.g. "
                                            "--option num_classes=120. Repeatable.")
    flags.mark_flag_as_required("model")


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


def _read_skeleton_file(path, num_frames: int) -> np.ndarray:
    from skeleton_zoo import ntu

    try:
        joints, _, _, file_frames = ntu.process_skeleton(path, num_frames=num_frames, return_details=True)
    except ntu.SkeletonFileError as error:
        problem = str(error)
        where = f"NTU skeleton file '{error.path}'" + (f", line {error.line}" if error.line is not None else "")
        if problem.startswith(where + ": "):
            problem = problem[len(where) + 2:]
        if error.line is not None:
            problem = f"line {error.line}: {problem}"
        raise InputFileError(path, f"malformed NTU skeleton file: {problem}") from None
    if file_frames == 0:
        raise InputFileError(path, "the skeleton file has zero frames.")
    if not joints.any():
        raise InputFileError(path, f"no body in any of the file's {file_frames} frames.")
    return joints[:num_frames]


def _read_npz_file(path, num_frames: int) -> np.ndarray:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise InputFileError(path, "not an .npz archive (a single .npy array?).")
            if "joints" not in data.files:
                found = ", ".join(data.files) or "no arrays"
                raise InputFileError(path, f"no array 'joints' in the .npz file (found: {found}).")
            joints = data["joints"]
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise InputFileError(path, f"not a readable .npz file ({type(error).__name__}: {error}).") from None
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


def model_inputs(joints: np.ndarray, in_channels: int) -> np.ndarray:
    """(..., T, 25, 2, 3) joints -> model input: the joints (3 channels) or
    [joints || bones] (6 channels, NTU-25 bones) for the bone presets."""
    from skeleton_zoo.layouts import get_layout, joints_to_bones

    joints = np.asarray(joints, dtype=np.float32)
    if in_channels == 3:
        return joints
    if in_channels == 6:
        bones = joints_to_bones(joints, get_layout("ntu25"), joint_axis=-3)
        return np.concatenate([joints, bones], axis=-1)
    raise ValueError(f"classify: the model takes {in_channels} input channels; only 3 (joints) and "
                     f"6 (joints + bones) are supported.")


def class_names(num_classes: int) -> list[str]:
    """NTU RGB+D action names: the 60 of NTU-60 or the 120 of NTU-120;
    `class N` labels for any other class count."""
    import importlib.util

    if num_classes in (60, 120):
        spec = importlib.util.find_spec("tfds_builders")  # locates the package without importing it
        if spec is not None and spec.submodule_search_locations:
            file = os.path.join(list(spec.submodule_search_locations)[0], "ntu_rgbd", "class_names.txt")
            if os.path.exists(file):
                with open(file, encoding="utf-8") as f:
                    names = [line.strip() for line in f if line.strip()]
                if len(names) >= num_classes:
                    return names[:num_classes]
    return [f"class {i}" for i in range(num_classes)]


def _stream(model):
    return model.spatial_stream if hasattr(model, "spatial_stream") else model


def class_probabilities(model, clips: np.ndarray, batch_size: int = 8) -> np.ndarray:
    """(N, T, 25, 2, 3) normalised joints -> (N, num_classes) probabilities:
    softmax of the (fused) logits; with `fusion="softmax"`, the mean of the
    two streams' probabilities. Bones are added for 6-channel models."""
    import keras

    x = model_inputs(clips, _stream(model).in_channels)
    outputs = [np.asarray(model(x[i:i + batch_size], training=False), dtype=np.float64)
               for i in range(0, len(x), batch_size)]
    scores = np.concatenate(outputs, axis=0)
    if getattr(model, "fusion", "logits") == "softmax":
        return scores / 2.0  # the sum of the two streams' probabilities
    return np.asarray(keras.ops.softmax(scores, axis=-1), dtype=np.float64)


def _weights_argument(model_name: str, weights):
    """"S,T" -> {"spatial": S, "temporal": T} for two-stream presets."""
    from skeleton_zoo import registry

    if isinstance(weights, str) and "spatial" in registry.get_preset(model_name).config:
        parts = weights.split(",")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"--weights: two-stream preset '{model_name}' takes SPATIAL,TEMPORAL "
                             f"(two files), found '{weights}'.")
        return {"spatial": parts[0], "temporal": parts[1]}
    return weights


def _load_model(model, weights, overrides):
    import skeleton_zoo
    from skeleton_zoo import registry

    if not isinstance(model, str):
        if weights is not None or overrides:
            raise TypeError("classify_files: `weights` and `overrides` apply to a preset name, not a model.")
        return model
    preset = registry.get_preset(model)
    if preset.task != "action_recognition":
        raise ValueError(f"'{model}' is a {preset.task.replace('_', ' ')} model; classify takes an "
                         f"action recognition preset (st_tr_*, st_gcn).")
    return skeleton_zoo.load(model, weights=_weights_argument(model, weights), **dict(overrides or {}))


def classify_files(paths, model, weights=None, top: int = 5, overrides=None, batch_size: int = 8,
                   num_frames: int = NUM_FRAMES) -> list[dict]:
    """Classifies NTU clips.

    Args:
        paths: `.skeleton` / `.npz` files (see `read_clip`).
        model: an action recognition preset name (e.g. "st_tr_2s_joint") or
            a built ST-TR `keras.Model`.
        weights: for a preset name: as `skeleton_zoo.load`, or "S,T" (or
            {"spatial": S, "temporal": T}) for two-stream presets. None:
            random weights.
        top: classes listed per file (at most num_classes).
        overrides: preset options for `skeleton_zoo.load`, e.g.
            {"num_classes": 120}.
        batch_size: clips per model call.
        num_frames: clip length the files are padded or cut to.

    Returns:
        One dict per file, in order: `{"file": path, "top": [{"rank": 1,
        "index": class index, "name": NTU action name, "probability":
        float}, ...]}`, most probable first.

    Raises:
        InputFileError: a bad input file (all files are read before the
            model is built).
        ValueError, TypeError, FileNotFoundError, WeightsMismatchError,
        CheckpointError: a bad preset, option or weights file.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("classify_files: no input files.")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"classify_files: `top` must be a positive integer, found {top!r}.")
    clips = np.stack([read_clip(p, num_frames) for p in paths])
    model = _load_model(model, weights, overrides)
    shape = tuple(model.input_shape)
    if shape[2:4] != (_NUM_JOINTS, _NUM_PERSONS):
        raise ValueError(f"classify reads NTU clips of {_NUM_JOINTS} joints and {_NUM_PERSONS} persons; the "
                         f"model takes input {shape}.")
    probabilities = class_probabilities(model, clips, batch_size)
    names = class_names(probabilities.shape[1])
    k = min(int(top), probabilities.shape[1])
    results = []
    for path, p in zip(paths, probabilities):
        order = np.argsort(-p, kind="stable")[:k]
        results.append({"file": path, "top": [
            {"rank": r + 1, "index": int(i), "name": names[i], "probability": float(p[i])}
            for r, i in enumerate(order)]})
    return results


def format_results(results) -> str:
    """The text blocks the command prints: one per file."""
    blocks = []
    for result in results:
        lines = [result["file"], "  rank  class  probability  name"]
        lines += [f"  {t['rank']:>4}  {t['index']:>5}  {t['probability']:>11.4f}  {t['name']}"
                  for t in result["top"]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def main(argv):
    paths = argv[1:]
    if not paths:
        raise app.UsageError("expected the .skeleton or .npz file(s) to classify. Example: "
                             "python -m skeleton_zoo.classify S001C001P001R001A001.skeleton "
                             "--model st_tr_2s_joint --weights s_tr.pt,t_tr.pt")
    from skeleton_zoo.registry import parse_overrides

    try:
        overrides = parse_overrides(FLAGS.option)
    except ValueError as error:
        raise app.UsageError(str(error))
    from skeleton_zoo import checkpoint
    from skeleton_zoo.state_dict import WeightsMismatchError

    try:
        results = classify_files(paths, FLAGS.model, weights=FLAGS.weights, top=FLAGS.top,
                                 overrides=overrides, batch_size=FLAGS.batch_size)
    except InputFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (checkpoint.CheckpointError, WeightsMismatchError, FileNotFoundError, ValueError,
            TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if FLAGS.weights is None:
        print(f"warning: no --weights given: '{FLAGS.model}' is randomly initialised, its predictions are "
              f"meaningless.", file=sys.stderr)
    if FLAGS.render:
        try:
            _render(paths[0], FLAGS.render)
        except (ValueError, RuntimeError, OSError) as error:
            print(f"error: --render {FLAGS.render}: {error}", file=sys.stderr)
            return 1
    if FLAGS.json:
        print(json.dumps(results, indent=1))
    else:
        print(format_results(results))
    return 0


def _render(path, out) -> None:
    """Draws the normalised clip (its frames with a skeleton) with `skeleton_zoo.viz`.
    After the NTU normalisation the spine is parallel to z, so the poses are z-up."""
    from skeleton_zoo import viz

    joints = read_clip(path)  # (300, 25, 2, 3)
    people = [p for p in range(joints.shape[2]) if np.any(joints[:, :, p])]
    frames = np.any(joints[:, :, people] != 0, axis=(1, 2, 3))
    poses = np.transpose(joints[frames][:, :, people], (2, 0, 1, 3))  # (people, T, 25, 3)
    if out.endswith(".png"):
        viz.render_frame(poses[:, 0], "ntu25", out, coordinates="world")
    else:
        viz.render_animation(poses, "ntu25", out, fps=30, coordinates="world")


def run():
    _define_flags()
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
