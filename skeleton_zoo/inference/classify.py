"""Classifies skeleton clips with an action-recognition preset
(`python -m skeleton_zoo classify`).

    results = classify_files(["S001C001P001R001A001.skeleton"], "st_tr_2s_joint",
                             weights={"spatial": "s_tr.pt", "temporal": "t_tr.pt"})
    results[0]["top"][0]        # {"rank": 1, "index": 0, "name": "drink water", "probability": ...}

Inputs are NTU clip files (`skeleton_zoo.formats.clip_files`: raw
`.skeleton`, normalised as the `ntu_rgbd` builder does, or `.npz` joints),
cut or zero-padded to 300 frames. The model gets its own input features
(`layouts.skeleton_features`: joints, or [joints || bones] for the bone
presets), as in training.

PYSKL's models (`stgcn_pp`, `ctrgcn`, ..., their `_4s` ensembles) take
PYSKL's test pipeline instead (`formats.pyskl`: pre-normalisation, the
model's stream, 10 clips of 100 frames, softmax averaged over the clips,
streams fused with their weights): with `layout="coco17"` on 2D keypoint
files from a detector (what `lift` reads: COCO results / GAST / AlphaPose
JSON, OpenPose folders, arrays; the image size from the file or
`width`/`height`), with `layout="ntu25"` on raw NTU `.skeleton` files.

PYSKL annotation pickles (`ntu60_3danno.pkl`, `ntu60_hrnet.pkl`, a list of
their annotation dicts, or one; read by `formats.pyskl_annotations`'
restricted unpickler) are classified video by video, named by `frame_dir`
(`videos` / `split` select some): 3D NTU-25 annotations by PYSKL's `ntu25`
models, or by the NTU clip models with the `ntu_rgbd` builder's pipeline on
the annotation's bodies (`formats.ntu.normalize_bodies`: the two most
energetic, zero-padded to 300 frames, normalised); 2D COCO-17 ones by
PYSKL's `coco17` models (the file's image size and person order).

Persons whose joints are all zero (the padding of one-person clips, in
every pipeline above) do not run through the backbone: their features are
computed once per clip length and reused (`inference.empty_persons`, exact
up to float rounding); `skip_empty_persons=False` runs the plain model.

Output: the `top` classes of each file (rank, class index, name,
probability). Probabilities are the softmax of the model's logits; for an
ensemble, of the fused (summed) logits, or with `fusion="softmax"` the mean
of the streams' probabilities (`tasks.action_recognition.probabilities`).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from skeleton_zoo.formats import ntu
from skeleton_zoo.formats.clip_files import NUM_FRAMES, InputFileError, read_clip, skeleton_file_error

__all__ = ["InputFileError", "read_clip", "class_names", "class_probabilities", "pyskl_probabilities",
           "classify_files", "format_results", "render_clip", "NUM_FRAMES", "PICKLE_SUFFIXES"]

PICKLE_SUFFIXES = (".pkl", ".pickle")  # PYSKL annotation files
_VIDEOS_PER_STEP = 64  # videos prepared and classified at a time: whole annotation files hold thousands


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


def class_probabilities(model, clips: np.ndarray, batch_size: int = 8, skip_empty_persons: bool = True) -> np.ndarray:
    """(N, T, 25, 2, 3) normalised joints -> (N, num_classes) probabilities
    (see `tasks.action_recognition.probabilities`). The model gets its own
    input features (bones added for the bone models).

    Args:
        model: an action model, or its `EmptyPersonSkipper` (`inference.empty_persons.scorer`).
        clips: (N, T, 25, 2, 3).
        batch_size: clips per model call.
        skip_empty_persons: run all-zero persons once per clip length
            (`inference.empty_persons`), for models that support it.
    """
    from skeleton_zoo.inference.empty_persons import EmptyPersonSkipper, scorer
    from skeleton_zoo.layouts import get_layout, skeleton_features
    from skeleton_zoo.tasks.action_recognition import input_features, probabilities

    run = scorer(model, skip_empty_persons)
    plain = run.model if isinstance(run, EmptyPersonSkipper) else run
    x = skeleton_features(np.asarray(clips, np.float32), input_features(plain), get_layout("ntu25"), joint_axis=-3)
    outputs = [np.asarray(run(x[i:i + batch_size]) if run is not plain else run(x[i:i + batch_size], training=False),
                          dtype=np.float64)
               for i in range(0, len(x), batch_size)]
    return np.asarray(probabilities(plain, np.concatenate(outputs, axis=0)), dtype=np.float64)


def _is_pyskl(model) -> bool:
    """Whether every stream of `model` takes a PYSKL stream (j, b, jm, bm)."""
    from skeleton_zoo.formats.pyskl import STREAMS
    from skeleton_zoo.tasks.action_recognition import input_features

    streams = model.streams.values() if hasattr(model, "streams") else [model]
    return all(input_features(m) in STREAMS for m in streams)


def _read_video(path, num_frames):
    """A file, read before any model is built: `(kind, data, clip)` with
    raw NTU bodies ("ntu25", (2, T, 25, 3): the two most energetic, as the NTU
    reader keeps them, for PYSKL's models), detector keypoints ("coco17",
    `Tracks`: JSON, `.npy`, an `.npz` with `keypoints`, an OpenPose folder),
    or an already normalised NTU `.npz` ("normalized", None); `clip` is the
    NTU file's `read_clip` (None for keypoints). Anything else raises as
    `read_clip` reports it."""
    from skeleton_zoo.formats import keypoint_files

    if path.endswith(".skeleton"):
        clip = read_clip(path, num_frames)  # the NTU reader's checks and messages
        try:
            return "ntu25", ntu.select_bodies(ntu.read_skeleton(path)).astype(np.float32), clip
        except ntu.SkeletonFileError as error:
            raise skeleton_file_error(path, error) from None
    keypoints = path.endswith((".json", ".npy")) or os.path.isdir(path)
    if path.endswith(".npz"):
        try:
            with np.load(path) as data:
                keypoints = "keypoints" in data.files and "joints" not in data.files
        except (OSError, ValueError):
            pass
    if not keypoints:
        return "normalized", None, read_clip(path, num_frames)  # or the error naming what was expected
    try:
        return "coco17", keypoint_files.read_keypoints(path), None
    except keypoint_files.InputError as error:
        raise InputFileError(path, str(error).removeprefix(f"{path}: ")) from None


@dataclasses.dataclass
class _Video:
    """One video to classify: `kind` "ntu25" (`data`: raw NTU bodies),
    "coco17" (detector `Tracks`), "normalized" (an NTU `.npz`), or
    "annotation" (`data`: a PYSKL annotation dict, `layout` its skeleton:
    "ntu25" for 3D NTU-25, "coco17" for 2D COCO-17, else None); `clip` the
    NTU clip of a file (None when computed later or not applicable)."""

    path: str
    kind: str
    data: object = None
    clip: np.ndarray | None = None
    name: str | None = None  # an annotation's frame_dir
    label: int | None = None
    layout: str | None = None


def _pickle_problem(error, path) -> str:
    """An annotation-file error without its leading "PYSKL annotation file 'PATH'"."""
    text = str(error)
    where = f"PYSKL annotation file '{path}'"
    return text[len(where):].lstrip(",: ") if text.startswith(where) else text


def _read_annotation_videos(path, videos, split) -> list:
    """A PYSKL annotation pickle (a whole file, a list of annotations or one)
    -> its videos as `_Video`s in the file's order, those of `split` and
    whose frame_dir starts with one of `videos`, when given."""
    from skeleton_zoo.formats import pyskl_annotations
    from skeleton_zoo.weights.safe_pickle import UnsafePickleError

    if not os.path.isfile(path):
        raise InputFileError(path, "no such file." if not os.path.exists(path) else "not a file.")
    try:
        data = pyskl_annotations.read_annotation_pickle(path)
    except (pyskl_annotations.AnnotationFileError, UnsafePickleError) as error:
        raise InputFileError(path, _pickle_problem(error, path)) from None
    except OSError as error:
        raise InputFileError(path, f"cannot read the file: {error.strerror or error}.") from None
    annotations = data.annotations
    if split is not None:
        if split not in data.splits:
            found = (f"its splits are {', '.join(sorted(data.splits))}" if data.splits
                     else "it holds annotations without splits (not a whole annotation file)")
            raise InputFileError(path, f"no split '{split}' (--split); {found}.")
        members = set(data.frame_dirs(split))  # in the file's order, as PYSKL's PoseDataset keeps them
        annotations = [a for a in annotations if a["frame_dir"] in members]
    if not annotations:
        raise InputFileError(path, f"split '{split}' lists no video.")
    if videos:
        candidates = annotations
        annotations = [a for a in candidates if str(a["frame_dir"]).startswith(tuple(videos))]
        if not annotations:
            among = f"the {len(candidates)} of split '{split}'" if split is not None else f"its {len(candidates)}"
            raise InputFileError(path, f"no video whose frame_dir starts with {', '.join(videos)} (--videos) among "
                                       f"{among}, e.g. '{candidates[0]['frame_dir']}'.")
    layout = {(25, False): "ntu25", (17, True): "coco17"}.get((data.num_joints, data.is_2d))
    return [_Video(path, "annotation", a, name=str(a["frame_dir"]), label=int(a["label"]), layout=layout)
            for a in annotations]


def _describe_annotations(video) -> str:
    a = video.data
    return (f"PYSKL {'2D' if a['keypoint'].shape[-1] == 2 else '3D'} annotations of {a['keypoint'].shape[2]} "
            f"joints")


def _check_pyskl_input(video, layout):
    """Raises `InputFileError` unless the PYSKL model of `layout` takes `video`."""
    wanted = {"ntu25": "raw NTU .skeleton files or PYSKL 3D NTU-25 annotations",
              "coco17": "2D keypoint files (COCO-17) or PYSKL 2D COCO-17 annotations"}[layout]
    if video.kind == "annotation":
        if video.layout != layout:
            raise InputFileError(video.path, f"holds {_describe_annotations(video)}; the model (layout "
                                             f"'{layout}') takes {wanted}.")
        persons = video.data["keypoint"].shape[0]
        if layout == "ntu25" and persons > 2:  # PreNormalize3D asserts M in [1, 2]
            raise InputFileError(video.path, f"video '{video.name}' has {persons} persons; PYSKL's 3D pipeline "
                                             f"takes 1 or 2.")
    elif video.kind != layout:
        found = {"ntu25": "NTU 3D joints (.skeleton)", "coco17": "2D keypoints from a detector",
                 "normalized": "already normalised NTU joints (.npz)"}[video.kind]
        wanted = {"ntu25": "raw NTU .skeleton files", "coco17": "2D keypoint files (COCO-17)"}[layout]
        raise InputFileError(video.path, f"holds {found}; the model (layout '{layout}') takes {wanted}.")


def _check_sttr_input(video, model):
    """Raises `InputFileError` unless the (ST-TR style, NTU clip) `model` takes `video`."""
    if video.kind == "coco17" or (video.kind == "annotation" and video.layout == "coco17"):
        found = "2D keypoints" if video.kind == "coco17" else _describe_annotations(video)
        raise InputFileError(video.path, f"holds {found}; '{model.name}' takes NTU 3D joints. 2D keypoints "
                                         f"classify with PYSKL's COCO-17 models, e.g. --model stgcn_pp "
                                         f"--option layout=coco17.")
    if video.kind == "annotation" and video.layout != "ntu25":
        raise InputFileError(video.path, f"holds {_describe_annotations(video)}; '{model.name}' takes NTU 3D "
                                         f"joints (25).")


def _pyskl_input(video, layout, width, height):
    """(T, V, M, 3) joints in our layout and the image size (height, width) or
    None, for `evaluation.protocols.pyskl_video_scores`."""
    if video.kind == "annotation":
        from skeleton_zoo.formats.pyskl_annotations import stored_keypoint_dtype, to_channels_last

        sample = to_channels_last(video.data)  # every person: FormatGCNInput keeps the model's first ones
        if video.layout == "ntu25":  # back to the stored dtype (PYSKL's float16): PreNormalize3D computes in it
            return sample.joints.astype(stored_keypoint_dtype([video.data])), sample.img_shape
        return sample.joints, sample.img_shape  # PreNormalize2D computes in float32
    return _pyskl_joints(video.path, video.kind, video.data, layout, width, height)


def _pyskl_joints(path, kind, data, layout, width, height):
    """(T, V, M, 3) joints in our layout (COCO: x, y pixels and score) and the
    image size (height, width), for `evaluation.protocols.pyskl_video_scores`."""
    if layout == "ntu25":
        return np.transpose(data, (1, 2, 0, 3)), None
    width, height = width or data.width, height or data.height
    if not width or not height:
        raise InputFileError(path, "image size unknown: pass --width and --height (the file does not say)")
    keypoints, scores = data.keypoints[:, :, :17], data.scores[:, :, :17]  # Halpe-26 starts with COCO-17
    missing = ~np.isfinite(keypoints).all(axis=-1)
    keypoints, scores = np.where(missing[..., None], 0.0, keypoints), np.where(missing, 0.0, scores)
    order = np.argsort(-scores.sum(axis=(1, 2)), kind="stable")  # PYSKL keeps the first persons: the surest
    joints = np.concatenate([keypoints, scores[..., None]], axis=-1)[order].astype(np.float32)
    return np.transpose(joints, (1, 2, 0, 3)), (float(height), float(width))


def pyskl_probabilities(model, joints, layout: str, img_shape=None, batch_size: int = 16,
                        skip_empty_persons: bool = True) -> np.ndarray:
    """PYSKL's test-time class probabilities of videos (one model, or an
    ensemble fused with its stream weights).

    Args:
        model: a PYSKL classifier or ensemble of them, or its
            `EmptyPersonSkipper` (`inference.empty_persons.scorer`).
        joints: list of (T, V, M, 3) arrays (NTU x y z, or COCO x y score).
        layout: "ntu25" or "coco17". img_shape: COCO: (height, width) per video.
        batch_size: clips per model call.
        skip_empty_persons: run the clips' all-zero persons (PYSKL pads
            one-person videos to the model's persons) once per clip length
            (`inference.empty_persons`), for models that support it.

    Returns:
        (videos, num_classes) probabilities.
    """
    from skeleton_zoo.evaluation.protocols import pyskl_video_scores
    from skeleton_zoo.inference.empty_persons import scorer

    model = scorer(model, skip_empty_persons)
    streams = dict(model.streams) if hasattr(model, "streams") else {"model": model}
    weights = getattr(model, "stream_weights", None) or {name: 1.0 for name in streams}
    fused = sum(weights[name] * pyskl_video_scores(m, joints, layout, img_shape, batch_size=batch_size)
                for name, m in streams.items())
    return fused / float(sum(weights.values()))


def _load_model(model, weights, overrides):
    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.weights import parse_weights_argument

    task = get_task("action_recognition")
    if not isinstance(model, str):
        if weights is not None or overrides:
            raise TypeError("classify_files: `weights` and `overrides` apply to a preset name, not a model.")
        task.check_model(model)
        return model
    preset = registry.get_preset(model)
    if preset.task != task.name:
        raise ValueError(f"'{model}' is a {preset.task.replace('_', ' ')} model; classify takes an "
                         f"action recognition preset ({', '.join(registry.preset_names(task.name))}).")
    if isinstance(weights, str):
        weights = parse_weights_argument(preset, weights)
    model = registry.load(model, weights=weights, **dict(overrides or {}))
    task.check_model(model)
    return model


def classify_files(paths, model, weights=None, top: int = 5, overrides=None, batch_size: int = 8,
                   num_frames: int = NUM_FRAMES, width: float | None = None, height: float | None = None,
                   videos=None, split: str | None = None, skip_empty_persons: bool = True) -> list[dict]:
    """Classifies NTU clips, PYSKL annotation pickles, or detector keypoint
    files with PYSKL's COCO-17 models.

    Args:
        paths: `.skeleton` / `.npz` files (see `read_clip`); PYSKL annotation
            pickles (`.pkl`: a whole annotation file, a list of annotations
            or one; every video in it); for PYSKL's models with
            `layout="coco17"`, keypoint files as `lift` reads them.
        model: an action recognition preset name (e.g. "st_tr_2s_joint") or
            a built action-recognition `keras.Model`.
        weights: for a preset name: as `skeleton_zoo.load`, or "S,T" (or
            {"spatial": S, "temporal": T}) for ensemble presets, one file
            per stream. None: random weights.
        top: classes listed per file (at most num_classes).
        overrides: preset options for `skeleton_zoo.load`, e.g.
            {"num_classes": 120}.
        batch_size: clips per model call.
        num_frames: clip length the files are padded or cut to (not PYSKL's
            models: they sample 10 clips of 100 frames).
        width, height: image size of 2D keypoint files that do not say it.
        videos: pickles: only the videos whose frame_dir starts with one of
            these strings (e.g. ["S001C001P001R001A001"]). Default: all.
        split: pickles: only the videos of this split of the file (e.g.
            "xsub_val"). Default: every video of the file.
        skip_empty_persons: run all-zero (padding) persons once per clip
            length instead of through every clip (`inference.empty_persons`:
            the same probabilities up to float rounding). Defaults to True.

    Returns:
        One dict per file (per video of a pickle), in order: `{"file": path,
        "top": [{"rank": 1, "index": class index, "name": NTU action name,
        "probability": float}, ...]}`, most probable first; a pickle's videos
        also have `"video"` (frame_dir) and `"label"` (the file's label).

    Raises:
        InputFileError: a bad input file, or one the model cannot take (all
            files are read before the model is built, and checked before
            any is classified).
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
    videos = [videos] if isinstance(videos, str) else list(videos or [])
    if (videos or split is not None) and not any(p.lower().endswith(PICKLE_SUFFIXES) for p in paths):
        raise ValueError("classify_files: `videos` and `split` (--videos, --split) select videos of PYSKL "
                         "annotation pickles (.pkl); none of the inputs is one.")
    inputs = []
    for path in paths:
        if path.lower().endswith(PICKLE_SUFFIXES):
            inputs += _read_annotation_videos(path, videos, split)
        else:
            inputs.append(_Video(path, *_read_video(path, num_frames)))
    model = _load_model(model, weights, overrides)
    from skeleton_zoo.inference.empty_persons import scorer

    run = scorer(model, skip_empty_persons)  # one per call: its cache and traced step serve every batch
    if _is_pyskl(model):
        layout = model.layout.name
        for video in inputs:
            _check_pyskl_input(video, layout)
        files = {i: _pyskl_input(v, layout, width, height) for i, v in enumerate(inputs) if v.kind != "annotation"}

        def probabilities_of(start, stop):
            converted = [files[i] if i in files else _pyskl_input(inputs[i], layout, width, height)
                         for i in range(start, stop)]
            return pyskl_probabilities(run, [j for j, _ in converted], layout, [s for _, s in converted],
                                       batch_size)
    else:
        for video in inputs:
            _check_sttr_input(video, model)
        if (model.layout.num_joints, model.num_persons) != (ntu.NUM_JOINTS, ntu.NUM_PERSONS):
            raise ValueError(f"classify reads NTU clips of {ntu.NUM_JOINTS} joints and {ntu.NUM_PERSONS} persons; "
                             f"the model takes input {tuple(model.input_shape)}.")

        def probabilities_of(start, stop):
            # ST-TR's NTU pipeline on an annotation's bodies, as on a .skeleton file's
            clips = [ntu.normalize_bodies(v.data["keypoint"], num_frames)[:num_frames] if v.clip is None else v.clip
                     for v in inputs[start:stop]]
            return class_probabilities(run, np.stack(clips), batch_size)

    probabilities = np.concatenate([probabilities_of(start, min(start + _VIDEOS_PER_STEP, len(inputs)))
                                    for start in range(0, len(inputs), _VIDEOS_PER_STEP)])
    names = class_names(probabilities.shape[1])
    k = min(int(top), probabilities.shape[1])
    results = []
    for video, p in zip(inputs, probabilities):
        order = np.argsort(-p, kind="stable")[:k]
        result = {"file": video.path} if video.name is None else {"file": video.path, "video": video.name,
                                                                  "label": video.label}
        result["top"] = [{"rank": r + 1, "index": int(i), "name": names[i], "probability": float(p[i])}
                         for r, i in enumerate(order)]
        results.append(result)
    return results


def format_results(results) -> str:
    """The text blocks the command prints: one per file (per video of a
    pickle, headed by its frame_dir, file and label)."""
    blocks = []
    for result in results:
        head = f"{result['video']} ({result['file']}, label {result['label']})" if "video" in result else result["file"]
        lines = [head, "  rank  class  probability  name"]
        lines += [f"  {t['rank']:>4}  {t['index']:>5}  {t['probability']:>11.4f}  {t['name']}"
                  for t in result["top"]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_clip(path, out) -> None:
    """Draws the normalised clip (its frames with a skeleton) with `skeleton_zoo.inference.viz`.
    After the NTU normalisation the spine is parallel to z, so the poses are z-up."""
    from skeleton_zoo.inference import viz

    joints = read_clip(path)  # (300, 25, 2, 3)
    people = [p for p in range(joints.shape[2]) if np.any(joints[:, :, p])]
    frames = np.any(joints[:, :, people] != 0, axis=(1, 2, 3))
    poses = np.transpose(joints[frames][:, :, people], (2, 0, 1, 3))  # (people, T, 25, 3)
    if out.endswith(".png"):
        viz.render_frame(poses[:, 0], "ntu25", out, coordinates="world")
    else:
        viz.render_animation(poses, "ntu25", out, fps=30, coordinates="world")
