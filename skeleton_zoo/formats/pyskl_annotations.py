"""PYSKL's skeleton annotation pickles (`ntu60_3danno.pkl`, `ntu120_hrnet.pkl`,
...; `tools/data/README.md`, read by `pyskl/datasets/pose_dataset.py`), read
without running pickled code and validated.

A file holds

    {'split': {split name: [frame_dir, ...]},        e.g. 'xsub_train', 'xsub_val'
     'annotations': [{
         'frame_dir': str,                            the video, e.g. 'S001C001P001R001A001'
         'label': int,                                0-based class
         'total_frames': int,                         T
         'keypoint': (M, T, V, C) float16/32,         C = 3 (x, y, z) or 2 (x, y pixels)
         'keypoint_score': (M, T, V),                 2D only
         'img_shape', 'original_shape': (h, w),       2D only
     }, ...]}

M is every person the file keeps (NTU 3D: 1 or 2; HRNet 2D: as detected).
Samples come out channels-last, (T, V, M, 3): 3D x, y, z, or 2D x, y, score
(PYSKL's channel order: `PreNormalize2D`, `GenSkeFeat` and `FormatGCNInput`
append the score as the third channel), float32, values as in the file.
`num_persons=2` keeps the first two persons and zero-pads, as
`FormatGCNInput(num_person=2)` of every PYSKL GCN config does at the end of
its pipeline (every step before it is per person, `PreNormalize3D` takes at
most 2, and a zero person stays zero), so the pipelines of
`skeleton_zoo.formats.pyskl` give the same clips from either.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
import pickle
from typing import Iterator, Mapping, Sequence

import numpy as np

__all__ = ["GCN_NUM_PERSONS", "AnnotationFileError", "PysklSample", "PysklAnnotations", "read_annotations",
           "read_annotation_pickle", "stored_keypoint_dtype", "to_channels_last"]

GCN_NUM_PERSONS = 2  # FormatGCNInput(num_person=2) in every PYSKL GCN config
_REQUIRED_KEYS = ("frame_dir", "label", "total_frames", "keypoint")
_REQUIRED_KEYS_2D = ("keypoint_score", "img_shape")


class AnnotationFileError(ValueError):
    """A PYSKL annotation file that is not in the official layout. `path`,
    `index` (annotation index or None), `frame_dir` (or None), `key` locate it."""

    def __init__(self, path, message: str, index: int | None = None, frame_dir: str | None = None,
                 key: str | None = None):
        self.path, self.index, self.frame_dir, self.key = os.fspath(path), index, frame_dir, key
        where = f"PYSKL annotation file '{self.path}'"
        if index is not None:
            where += f", annotations[{index}]"
        if frame_dir is not None:
            where += f" (frame_dir {frame_dir!r})"
        if key is not None:
            where += f", key {key!r}"
        super().__init__(f"{where}: {message}")


@dataclasses.dataclass(frozen=True)
class PysklSample:
    """One annotation in our layout.

    Attributes:
        frame_dir: str, the video id, e.g. "S001C001P001R001A001".
        label: int, 0-based class.
        total_frames: int, T.
        joints: (T, V, M, 3) float32: x, y, z (3D), or x, y in pixels and the
            score (2D); M = the file's persons, or `num_persons` when given.
        num_persons: int, persons in the file (before padding or cutting).
        img_shape: (height, width) of the video (2D), or None.
        original_shape: (height, width) as the file gives it, or None.
    """

    frame_dir: str
    label: int
    total_frames: int
    joints: np.ndarray
    num_persons: int
    img_shape: tuple[int, int] | None = None
    original_shape: tuple[int, int] | None = None


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _shape(value, path, index, frame_dir, key) -> tuple[int, int]:
    if (not isinstance(value, (tuple, list, np.ndarray)) or len(value) != 2
            or not all(_is_int(v) and v > 0 for v in value)):
        raise AnnotationFileError(path, f"expected (height, width), two positive integers, found {value!r:.80}.",
                                  index, frame_dir, key)
    return int(value[0]), int(value[1])


def _check_finite(array: np.ndarray, path, index, frame_dir, key):
    bad = ~np.isfinite(array)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise AnnotationFileError(path, f"expected finite values, found {array[position]} at (person, frame, joint"
                                        f"{', channel' if array.ndim == 4 else ''}) {position}.",
                                  index, frame_dir, key)


def _validate_annotation(annotation, path, index) -> tuple[int, bool]:
    """Checks one annotation; returns (V, is_2d)."""
    if not isinstance(annotation, Mapping):
        raise AnnotationFileError(path, f"expected a dict, found {type(annotation).__name__}.", index)
    frame_dir = annotation.get("frame_dir")
    frame_dir = frame_dir if isinstance(frame_dir, str) else None
    missing = [key for key in _REQUIRED_KEYS if key not in annotation]
    if missing:
        raise AnnotationFileError(path, f"missing {missing}; expected the keys {list(_REQUIRED_KEYS)} (2D also "
                                        f"{list(_REQUIRED_KEYS_2D)}), found {sorted(map(str, annotation))}.",
                                  index, frame_dir)
    if frame_dir is None:
        raise AnnotationFileError(path, f"expected a string, found {type(annotation['frame_dir']).__name__}.",
                                  index, key="frame_dir")
    for key in ("label", "total_frames"):
        value = annotation[key]
        if not _is_int(value) or value < (0 if key == "label" else 1):
            expected = "a non-negative integer" if key == "label" else "a positive integer"
            raise AnnotationFileError(path, f"expected {expected}, found {value!r:.80}.", index, frame_dir, key)
    keypoint = annotation["keypoint"]
    if (not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4 or keypoint.shape[-1] not in (2, 3)
            or keypoint.dtype.kind != "f" or 0 in keypoint.shape):
        found = (f"{keypoint.dtype} array of shape {keypoint.shape}" if isinstance(keypoint, np.ndarray)
                 else type(keypoint).__name__)
        raise AnnotationFileError(path, f"expected a float array (persons, frames, joints, 2 or 3), found {found}.",
                                  index, frame_dir, "keypoint")
    total_frames = int(annotation["total_frames"])
    if keypoint.shape[1] != total_frames:
        raise AnnotationFileError(path, f"expected {total_frames} frames ('total_frames'), found shape "
                                        f"{keypoint.shape} (persons, frames, joints, channels).",
                                  index, frame_dir, "keypoint")
    _check_finite(keypoint, path, index, frame_dir, "keypoint")
    for key in ("img_shape", "original_shape"):
        if annotation.get(key) is not None:
            _shape(annotation[key], path, index, frame_dir, key)
    is_2d = keypoint.shape[-1] == 2
    score = annotation.get("keypoint_score")
    if not is_2d:
        if score is not None:
            raise AnnotationFileError(path, f"a score belongs to 2D keypoints (x, y), found 'keypoint' of shape "
                                            f"{keypoint.shape} (x, y, z).", index, frame_dir, "keypoint_score")
        return keypoint.shape[2], is_2d
    missing = [key for key in _REQUIRED_KEYS_2D if key not in annotation]
    if missing:
        raise AnnotationFileError(path, f"2D keypoints (shape {keypoint.shape}) need {list(_REQUIRED_KEYS_2D)}; "
                                        f"missing {missing}.", index, frame_dir, missing[0])
    if not isinstance(score, np.ndarray) or score.shape != keypoint.shape[:3] or score.dtype.kind != "f":
        found = (f"{score.dtype} array of shape {score.shape}" if isinstance(score, np.ndarray)
                 else type(score).__name__)
        raise AnnotationFileError(path, f"expected a float array of shape {keypoint.shape[:3]} (persons, frames, "
                                        f"joints of 'keypoint'), found {found}.", index, frame_dir, "keypoint_score")
    _check_finite(score, path, index, frame_dir, "keypoint_score")
    if annotation["img_shape"] is None:
        _shape(None, path, index, frame_dir, "img_shape")
    return keypoint.shape[2], is_2d


def _validate_annotations(path, annotations: list, indexed: bool = True) -> tuple[int, bool]:
    """Checks every annotation, unique frame_dirs and one kind per file;
    returns (V, is_2d). `indexed=False`: a single annotation (no index in messages)."""
    if not annotations:
        raise AnnotationFileError(path, "expected at least one annotation, found none.", key="annotations")
    seen: dict[str, int] = {}
    first = None
    for index, annotation in enumerate(annotations):
        kind = _validate_annotation(annotation, path, index if indexed else None)
        frame_dir = annotation["frame_dir"]
        if frame_dir in seen:
            raise AnnotationFileError(path, f"the frame_dir of annotations[{seen[frame_dir]}] again; expected "
                                            f"unique frame_dirs.", index, frame_dir, "frame_dir")
        seen[frame_dir] = index
        if first is None:
            first = kind
        elif kind != first:
            def describe(k):
                return f"{k[0]} joints, {'2D (x, y, score)' if k[1] else '3D (x, y, z)'}"

            raise AnnotationFileError(path, f"expected {describe(first)} as annotations[0], found {describe(kind)} "
                                            f"(shape {annotation['keypoint'].shape}).", index, frame_dir, "keypoint")
    return first


def to_channels_last(annotation: Mapping, num_persons: int | None = None) -> PysklSample:
    """One (validated) annotation of the file in our layout.

    Args:
        annotation: a dict of `PysklAnnotations.annotations`.
        num_persons: int or None. None keeps every person of the file; an int
            keeps the first `num_persons` and zero-pads to it (PYSKL's
            `FormatGCNInput`, "zero" mode). Defaults to None.

    Returns:
        `PysklSample` with `joints` (T, V, M, 3) float32.
    """
    keypoint = np.asarray(annotation["keypoint"], np.float32)
    if keypoint.shape[-1] == 2:
        score = np.asarray(annotation["keypoint_score"], np.float32)
        keypoint = np.concatenate([keypoint, score[..., None]], axis=-1)
    persons = keypoint.shape[0]
    if num_persons is not None:
        if not _is_int(num_persons) or num_persons < 1:
            raise ValueError(f"to_channels_last: `num_persons` must be a positive integer or None, "
                             f"found {num_persons!r}.")
        keypoint = keypoint[:num_persons]
        if persons < num_persons:
            pad = np.zeros((num_persons - persons,) + keypoint.shape[1:], np.float32)
            keypoint = np.concatenate([keypoint, pad], axis=0)
    shapes = {key: (int(annotation[key][0]), int(annotation[key][1])) if annotation.get(key) is not None else None
              for key in ("img_shape", "original_shape")}
    return PysklSample(frame_dir=str(annotation["frame_dir"]), label=int(annotation["label"]),
                       total_frames=int(annotation["total_frames"]),
                       joints=np.ascontiguousarray(keypoint.transpose(1, 2, 0, 3)), num_persons=persons, **shapes)


@dataclasses.dataclass
class PysklAnnotations:
    """A validated annotation file.

    Attributes:
        path: str, the file.
        splits: split name -> frame_dirs, in the file's order.
        annotations: the file's annotation dicts, as stored (arrays
            converted per sample by `sample` / `samples`).
        num_joints: int, V (25 for NTU 3D, 17 for COCO keypoints).
        is_2d: bool, True for (x, y) keypoints with scores.
        keypoint_dtype: str, the stored keypoints' dtype ("float16" in
            PYSKL's files). Samples are widened to float32, exactly; PYSKL's
            pipelines compute in the stored dtype (`PreNormalize3D`,
            MotionBERT's `make_cam`), so they cast back to it.
    """

    path: str
    splits: dict[str, list[str]]
    annotations: list[Mapping]
    num_joints: int
    is_2d: bool
    keypoint_dtype: str = "float32"

    def __post_init__(self):
        self._index = {str(a["frame_dir"]): i for i, a in enumerate(self.annotations)}

    def frame_dirs(self, split: str) -> list[str]:
        """The frame_dirs of `split` (e.g. "xsub_train")."""
        if split not in self.splits:
            raise AnnotationFileError(self.path, f"expected a split named {split!r}, found {sorted(self.splits)}.",
                                      key="split")
        return self.splits[split]

    def annotation(self, frame_dir: str) -> Mapping:
        """The file's annotation dict of `frame_dir`, as stored."""
        if frame_dir not in self._index:
            raise KeyError(f"'{self.path}' has no annotation with frame_dir {frame_dir!r}.")
        return self.annotations[self._index[frame_dir]]

    def sample(self, frame_dir: str, num_persons: int | None = None) -> PysklSample:
        """The annotation of `frame_dir` in our layout (see `to_channels_last`)."""
        return to_channels_last(self.annotation(frame_dir), num_persons)

    def samples(self, split: str, num_persons: int | None = None) -> Iterator[PysklSample]:
        """The samples of `split`, in the split's order (see `to_channels_last`)."""
        for frame_dir in self.frame_dirs(split):
            yield self.sample(frame_dir, num_persons)


def _load(path: str):
    from skeleton_zoo.weights.safe_pickle import RefusedGlobalError, RestrictedUnpickler, UnsafePickleError

    try:
        with open(path, "rb") as f:
            return RestrictedUnpickler(f).load()
    except RefusedGlobalError as error:
        raise UnsafePickleError(path, error.refused,
                                f"PYSKL annotation file '{path}' refused to load global '{error.refused}': only "
                                f"dicts, lists, numpy arrays and plain values are allowed; nothing from the file "
                                f"was run.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            MemoryError) as error:
        raise AnnotationFileError(path, f"not a readable pickle (truncated or corrupt?): {error}") from None


def read_annotations(path) -> PysklAnnotations:
    """Reads and validates a PYSKL annotation pickle through the restricted
    unpickler (numpy arrays, dicts, lists, tuples, strings and numbers only).

    Checks: the `split` / `annotations` layout; per annotation the keys,
    `keypoint` (M, T, V, 2 or 3) with T = `total_frames`, `keypoint_score`
    (M, T, V) and `img_shape` for 2D keypoints, finite values; one V and one
    kind (2D or 3D) per file; unique frame_dirs; every split's frame_dirs
    annotated.

    Args:
        path: the `.pkl` file.

    Returns:
        `PysklAnnotations`.

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: the pickle names a global outside the allow-list
            (nothing was run).
        AnnotationFileError: anything else; the message names the file, the
            annotation (index, frame_dir), the key, what was expected and
            what was found.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PYSKL annotation file '{path}' does not exist.")
    return _annotation_file(path, _load(path))


def _annotation_file(path: str, data) -> PysklAnnotations:
    """`read_annotations` on the unpickled content."""
    if not isinstance(data, Mapping):
        raise AnnotationFileError(path, f"expected a dict with 'split' and 'annotations', found "
                                        f"{type(data).__name__}.")
    for key, kind in (("split", Mapping), ("annotations", Sequence)):
        if key not in data:
            raise AnnotationFileError(path, f"missing; expected a dict with 'split' and 'annotations', found keys "
                                            f"{sorted(map(str, data))}.", key=key)
        if not isinstance(data[key], kind) or isinstance(data[key], str):
            raise AnnotationFileError(path, f"expected a {'dict' if kind is Mapping else 'list'}, found "
                                            f"{type(data[key]).__name__}.", key=key)
    annotations = list(data["annotations"])
    first = _validate_annotations(path, annotations)
    seen = {annotation["frame_dir"] for annotation in annotations}
    splits = {}
    for name, frame_dirs in data["split"].items():
        if isinstance(frame_dirs, str) or not isinstance(frame_dirs, Sequence):
            raise AnnotationFileError(path, f"expected a list of frame_dirs, found {type(frame_dirs).__name__}.",
                                      key=f"split/{name}")
        unknown = [f for f in frame_dirs if f not in seen]
        if unknown:
            raise AnnotationFileError(path, f"{len(unknown)} of its {len(frame_dirs)} frame_dirs have no annotation, "
                                            f"the first {unknown[0]!r}; expected every listed video annotated.",
                                      key=f"split/{name}")
        splits[str(name)] = [str(f) for f in frame_dirs]
    return PysklAnnotations(path=path, splits=splits, annotations=annotations, num_joints=first[0],
                            is_2d=first[1], keypoint_dtype=stored_keypoint_dtype(annotations))


def read_annotation_pickle(path) -> PysklAnnotations:
    """Reads a pickle of PYSKL annotations in any form a user may hold: a
    whole annotation file (as `read_annotations`, splits kept), a list of
    annotation dicts, or one annotation dict; the same restricted unpickler
    and checks per annotation.

    Args:
        path: the `.pkl` file.

    Returns:
        `PysklAnnotations`; `splits` is empty for a list or a single annotation.

    Raises:
        FileNotFoundError, UnsafePickleError, AnnotationFileError: as `read_annotations`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PYSKL annotation file '{path}' does not exist.")
    data = _load(path)
    if isinstance(data, Mapping) and ("split" in data or "annotations" in data):
        return _annotation_file(path, data)
    single = isinstance(data, Mapping)
    if not single and (isinstance(data, (str, bytes)) or not isinstance(data, Sequence)):
        raise AnnotationFileError(path, f"expected an annotation file (a dict with 'split' and 'annotations'), a "
                                        f"list of annotation dicts or one annotation dict, found "
                                        f"{type(data).__name__}.")
    annotations = [data] if single else list(data)
    num_joints, is_2d = _validate_annotations(path, annotations, indexed=not single)
    return PysklAnnotations(path=path, splits={}, annotations=annotations, num_joints=num_joints, is_2d=is_2d,
                            keypoint_dtype=stored_keypoint_dtype(annotations))


def stored_keypoint_dtype(annotations) -> str:
    """The dtype all (validated) keypoint arrays fit in: "float16" for PYSKL's files."""
    dtype = np.result_type(*{np.asarray(a["keypoint"]).dtype for a in annotations}) if annotations else None
    return dtype.name if dtype is not None and np.issubdtype(dtype, np.floating) else "float32"
