"""The VideoPose3D dataset format, shared by the `human36m` and `humaneva` TFDS builders.

VideoPose3D (and GAST-Net, which reuses its data code) prepares each dataset as
two kinds of `.npz` files:

- `data_3d_<dataset>.npz`: `positions_3d[subject][action]`, float32
  (T, J_file, 3) world metres;
- `data_2d_<dataset>_<source>.npz`: `positions_2d[subject][action]`, a list
  per camera of float32 (T', J2, 2) pixels (or None: no detections).

Both store their dicts as pickled object arrays; they are read with
`skeleton_zoo.safe_pickle.load_npz` (restricted unpickler), never with
`np.load(allow_pickle=True)`.

This module holds the readers (`load_pickled_dict`, `pair_videopose3d_files`),
the cameras (`Camera`, `read_camera_json`, `make_cameras`), VideoPose3D's
per-camera preprocessing (`camera_examples`), the manual-file check
(`manual_files`), `action_type`, the config base class `VideoPose3DConfig` and
the abstract builder `VideoPose3DBuilder`, which a dataset's builder fills
in with class constants (files, joints, subjects per split, cameras, docs).
"""

from __future__ import annotations

import abc
import dataclasses
import importlib.resources
import json
from typing import Any, Callable, ClassVar, Iterator, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds
from absl import logging

from skeleton_zoo.camera import normalize_screen_coordinates, world_to_camera
from skeleton_zoo.layouts import get_layout
from skeleton_zoo.safe_pickle import load_npz

__all__ = [
    "Camera",
    "PairedSequences",
    "VIDEOPOSE3D_CITATION",
    "VideoPose3DBuilder",
    "VideoPose3DConfig",
    "action_type",
    "calibrated_subjects",
    "camera_examples",
    "load_pickled_dict",
    "make_cameras",
    "manual_files",
    "pair_videopose3d_files",
    "read_camera_json",
]

VIDEOPOSE3D_CITATION = """\
@inproceedings{pavllo:videopose3d:2019,
  title = {3D human pose estimation in video with temporal convolutions and
           semi-supervised training},
  author = {Pavllo, Dario and Feichtenhofer, Christoph and Grangier, David and Auli, Michael},
  booktitle = {Conference on Computer Vision and Pattern Recognition (CVPR)},
  year = {2019},
}
"""

_CONFIG_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


# --------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Camera:
    """One calibrated camera of one subject, as VideoPose3D's datasets hold it.

    Attributes:
        index: camera index in the 2D files' per-action lists.
        id: camera name, e.g. "54138969" or "C1".
        orientation: float32 (4,), quaternion (w, x, y, z), camera-to-world.
        translation: float32 (3,), camera centre in world metres.
        res_w, res_h: image size in pixels.
        intrinsic: float32 (9,) VideoPose3D `intrinsic` vector (normalised
            focal length (2), centre (2), radial (3), tangential (2)), or None.
    """

    index: int
    id: str
    orientation: np.ndarray
    translation: np.ndarray
    res_w: int
    res_h: int
    intrinsic: np.ndarray | None = None


def read_camera_json(package: str, filename: str) -> dict:
    """Reads a camera-constants JSON shipped next to a builder module."""
    return json.loads(importlib.resources.files(package).joinpath(filename).read_text())


def calibrated_subjects(constants: Mapping) -> list[str]:
    """The subjects of a camera JSON with extrinsics for every camera, in file order."""
    return [s for s, e in constants["extrinsic"].items() if e and all(e)]


def make_cameras(constants: Mapping, subject: str, json_name: str) -> list[Camera]:
    """The cameras of `subject` from a camera JSON, in VideoPose3D's float32 arithmetic.

    Args:
        constants: the parsed JSON: `intrinsic` (list per camera: id, res_w,
            res_h and, for Human3.6M, center, focal_length, radial_distortion,
            tangential_distortion in pixels) and `extrinsic[subject]` (list per
            camera: orientation (w, x, y, z), translation in mm).
        subject: key of `extrinsic`, e.g. "S1".
        json_name: file name for error messages.

    Returns:
        list of `Camera`, one per entry of `intrinsic`.
    """
    if subject not in calibrated_subjects(constants):
        raise ValueError(
            f"'{json_name}': no camera extrinsics for subject '{subject}' (subjects with "
            f"calibrated cameras: {calibrated_subjects(constants)})."
        )
    extrinsics = constants["extrinsic"][subject]
    cameras = []
    for index, (intr, extr) in enumerate(zip(constants["intrinsic"], extrinsics)):
        res_w, res_h = int(intr["res_w"]), int(intr["res_h"])
        intrinsic = None
        if "focal_length" in intr:
            # Human36mDataset.__init__: float32, centre normalised, focal / res_w * 2.
            focal = np.asarray(intr["focal_length"], dtype=np.float32) / res_w * 2
            center = normalize_screen_coordinates(
                np.asarray(intr["center"], dtype=np.float32), w=res_w, h=res_h).astype(np.float32)
            intrinsic = np.concatenate([
                focal, center,
                np.asarray(intr["radial_distortion"], dtype=np.float32),
                np.asarray(intr["tangential_distortion"], dtype=np.float32),
            ]).astype(np.float32)
        cameras.append(Camera(
            index=index,
            id=str(intr["id"]),
            orientation=np.asarray(extr["orientation"], dtype=np.float32),
            translation=np.asarray(extr["translation"], dtype=np.float32) / 1000,  # mm -> m
            res_w=res_w,
            res_h=res_h,
            intrinsic=intrinsic,
        ))
    return cameras


def load_pickled_dict(path, key: str, what: str) -> dict:
    """Reads the dict stored as a pickled 0-d object array `key` of a VideoPose3D npz.

    Uses `skeleton_zoo.safe_pickle.load_npz` (restricted unpickler).

    Raises:
        FileNotFoundError: no such file.
        skeleton_zoo.safe_pickle.UnsafePickleError: the pickle names a refused
            global (the message names the file); nothing was run.
        ValueError: the file has no `key`, or it is not a dict.
    """
    arrays = load_npz(str(path))
    if key not in arrays:
        raise ValueError(
            f"'{path}': expected an array named '{key}' ({what}), found arrays {sorted(arrays)}."
        )
    value = arrays[key]
    if value.dtype != object or value.shape != ():
        raise ValueError(
            f"'{path}': '{key}' must be a pickled dict (0-d object array, as "
            f"`np.savez({key}=dict)` writes it), found a {value.dtype} array of shape {value.shape}."
        )
    data = value.item()
    if not isinstance(data, dict):
        raise ValueError(
            f"'{path}': '{key}' must hold a dict subject -> dict action -> data, found "
            f"{type(data).__name__}."
        )
    for subject, actions in data.items():
        if not isinstance(actions, dict):
            raise ValueError(
                f"'{path}': {key}[{subject!r}] must be a dict action -> data, found "
                f"{type(actions).__name__}."
            )
    return data


def _check_array(value, path, where: str, num_joints: int, channels: int, min_channels=None):
    if not isinstance(value, np.ndarray) or value.ndim != 3 or value.shape[1] != num_joints or (
            value.shape[2] != channels if min_channels is None else value.shape[2] < min_channels):
        found = (f"shape {value.shape}" if isinstance(value, np.ndarray)
                 else type(value).__name__)
        expected = channels if min_channels is None else f">= {min_channels}"
        raise ValueError(
            f"'{path}': {where} must be an array (frames, {num_joints}, {expected}), found {found}."
        )


@dataclasses.dataclass
class PairedSequences:
    """The 3D and 2D sequences matched up, ready to generate examples from.

    Attributes:
        positions_3d: subject -> action -> float32 (T, J, 3) world metres
            (joints already reduced).
        positions_2d: subject -> action -> list per camera of float32
            (T', J2, C >= 2) pixels, or None for a missing camera.
        skipped_cameras: "subject/action/camera" of the None entries.
        ignored_2d_subjects: 2D-only subjects that were ignored (unlabeled).
        cropped: "subject/action/camera" -> (frames 3D, frames 2D) where they differed.
    """

    positions_3d: dict
    positions_2d: dict
    skipped_cameras: list
    ignored_2d_subjects: list
    cropped: dict


def pair_videopose3d_files(
    path_3d,
    path_2d,
    *,
    subjects: Sequence[str],
    num_joints_3d_file: int,
    keep_joints: Sequence[int] | None,
    num_joints_2d: int,
    num_cameras: int,
    ignore_2d_subject: Callable[[str], bool],
) -> PairedSequences:
    """Reads and cross-checks a VideoPose3D 3D file and 2D file.

    Args:
        path_3d: `data_3d_<dataset>.npz` (`positions_3d[subject][action]`:
            (T, num_joints_3d_file, 3) world metres).
        path_2d: `data_2d_<dataset>_<source>.npz` (`positions_2d[subject][action]`:
            list of `num_cameras` arrays (T, num_joints_2d, 2) in pixels, or None).
        subjects: the labeled subjects this dataset knows (every 3D subject
            must be one of them).
        num_joints_3d_file: joints per pose in the 3D file.
        keep_joints: joints kept from the 3D file (None: all).
        num_joints_2d: joints per 2D pose.
        num_cameras: cameras per action in the 2D file.
        ignore_2d_subject: predicate for 2D-only subjects to ignore (unlabeled
            subjects); any other subject in one file and not the other is an error.

    Raises:
        ValueError: a subject or action is in one file but not the other, or an
            entry has the wrong type or shape (the message names both files).
    """
    data_3d = load_pickled_dict(path_3d, "positions_3d", "dict subject -> action -> 3D poses")
    data_2d = load_pickled_dict(path_2d, "positions_2d", "dict subject -> action -> 2D poses per camera")
    both = f"(3D file '{path_3d}', 2D file '{path_2d}')"

    unknown = [s for s in data_3d if s not in subjects]
    if unknown:
        raise ValueError(
            f"'{path_3d}': unknown subjects {unknown}; expected subjects among {list(subjects)}."
        )
    positions_3d, positions_2d = {}, {}
    skipped, cropped = [], {}
    for subject, actions in data_3d.items():
        if subject not in data_2d:
            raise ValueError(
                f"Subject '{subject}' is in the 3D file but missing from the 2D file {both}; "
                f"the 2D file has subjects {sorted(data_2d)}. Both files must come from the same "
                f"VideoPose3D preparation."
            )
        missing = [a for a in actions if a not in data_2d[subject]]
        extra = [a for a in data_2d[subject] if a not in actions]
        if missing or extra:
            raise ValueError(
                f"Subject '{subject}': the 3D and 2D files list different actions {both}: "
                f"missing from the 2D file: {sorted(missing)}; missing from the 3D file: "
                f"{sorted(extra)}."
            )
        positions_3d[subject], positions_2d[subject] = {}, {}
        for action in sorted(actions):
            where_3d = f"positions_3d[{subject!r}][{action!r}]"
            pos = actions[action]
            _check_array(pos, path_3d, where_3d, num_joints_3d_file, 3)
            pos = np.asarray(pos, dtype=np.float32)
            if keep_joints is not None:
                pos = pos[:, list(keep_joints)]
            cams = data_2d[subject][action]
            where_2d = f"positions_2d[{subject!r}][{action!r}]"
            if not isinstance(cams, (list, tuple)) or len(cams) != num_cameras:
                found = (f"{len(cams)} entries" if isinstance(cams, (list, tuple))
                         else type(cams).__name__)
                raise ValueError(
                    f"'{path_2d}': {where_2d} must be a list of {num_cameras} cameras, found {found}."
                )
            kept_cams = []
            for index, kps in enumerate(cams):
                key = f"{subject}/{action}/{index}"
                if kps is None:
                    skipped.append(key)
                    kept_cams.append(None)
                    continue
                _check_array(kps, path_2d, f"{where_2d}[{index}]", num_joints_2d, 2, min_channels=2)
                if len(kps) != len(pos):
                    cropped[key] = (len(pos), len(kps))
                kept_cams.append(kps)
            positions_3d[subject][action] = pos
            positions_2d[subject][action] = kept_cams

    ignored = []
    for subject in data_2d:
        if subject in data_3d:
            continue
        if ignore_2d_subject(subject):
            ignored.append(subject)
            continue
        raise ValueError(
            f"Subject '{subject}' is in the 2D file but missing from the 3D file {both}; "
            f"the 3D file has subjects {sorted(data_3d)}. Both files must come from the same "
            f"VideoPose3D preparation."
        )
    if skipped:
        logging.warning("'%s': %d camera entries are None (no detections) and are skipped: %s",
                        path_2d, len(skipped), skipped)
    if ignored:
        logging.info("'%s': ignoring unlabeled 2D-only subjects %s", path_2d, ignored)
    for key, (n3, n2) in cropped.items():
        log = logging.info if n2 > n3 else logging.warning
        log("%s: 3D has %d frames, 2D has %d; both cropped to %d.", key, n3, n2, min(n3, n2))
    return PairedSequences(positions_3d, positions_2d, skipped, ignored, cropped)


def camera_examples(positions: np.ndarray, keypoints: Sequence, cameras: Sequence[Camera]
                    ) -> Iterator[tuple[Camera, dict[str, Any]]]:
    """VideoPose3D's per-camera preprocessing of one sequence.

    Args:
        positions: float32 (T, J, 3), world metres.
        keypoints: per camera, float32 (T', J2, C >= 2) pixels, or None (skipped).
        cameras: the subject's cameras, same order as `keypoints`.

    Yields:
        (camera, arrays) with `keypoints_2d` float32 (N, J2, 2) normalised,
        `pose_3d` float32 (N, J, 3) root-relative camera frame (root = 0),
        `trajectory` float32 (N, 3) root in the camera frame, `num_frames` N,
        where N = min(T, T').
    """
    for camera, kps in zip(cameras, keypoints):
        if kps is None:
            continue
        n = min(len(positions), len(kps))
        camera_frame = world_to_camera(positions[:n], R=camera.orientation, t=camera.translation)
        camera_frame = camera_frame.astype(np.float32)
        trajectory = camera_frame[:, 0].copy()
        pose = camera_frame.copy()
        pose[:, 1:] -= pose[:, :1]  # run.py: remove global offset, keep trajectory at the root
        pose[:, 0] = 0  # training loop: inputs_3d[:, :, 0] = 0
        kps2d = normalize_screen_coordinates(
            np.asarray(kps[:n, :, :2], dtype=np.float32), w=camera.res_w, h=camera.res_h)
        yield camera, {
            "keypoints_2d": kps2d.astype(np.float32),
            "pose_3d": pose,
            "trajectory": trajectory,
            "num_frames": n,
        }


def manual_files(dl_manager, filenames: Sequence[str], dataset: str, config: str,
                 hint: str) -> dict[str, Any]:
    """Paths of the needed files in `dl_manager.manual_dir`, with clear errors.

    Raises:
        FileNotFoundError: naming the missing files, the directory looked in
            and what to do.
    """
    try:
        manual_dir = dl_manager.manual_dir
    except AssertionError:  # TFDS: the directory does not exist or is empty.
        where = getattr(dl_manager, "_manual_dir", None)
        raise FileNotFoundError(
            f"{dataset} (config '{config}'): the manual directory '{where}' does not exist or is "
            f"empty; expected {list(filenames)} in it. {hint} See "
            f"`tfds.builder('{dataset}').MANUAL_DOWNLOAD_INSTRUCTIONS`."
        ) from None
    paths = {name: manual_dir / name for name in filenames}
    missing = [name for name, path in paths.items() if not path.exists()]
    if missing:
        present = sorted(p.name for p in manual_dir.iterdir() if p.name.endswith(".npz"))
        raise FileNotFoundError(
            f"{dataset} (config '{config}'): {missing} not found in the manual directory "
            f"'{manual_dir}' (it has the .npz files {present}). {hint} See "
            f"`tfds.builder('{dataset}').MANUAL_DOWNLOAD_INSTRUCTIONS`."
        )
    return paths


def action_type(action: str) -> str:
    """The action class of an action name, VideoPose3D's `action.split(' ')[0]`.

    "Walking 1" -> "Walking", "Walking 1 chunk0" -> "Walking", "WalkDog" -> "WalkDog".
    """
    return action.split(" ")[0]


# --------------------------------------------------------------------------
# Config and builder base classes
# --------------------------------------------------------------------------
@dataclasses.dataclass(eq=False)
class VideoPose3DConfig(tfds.core.BuilderConfig):
    """A config of a VideoPose3D-format builder: which 2D source to pair with the 3D poses.

    Attributes:
        source: the builder reads `data_2d_<FILE_TAG>_<source>.npz` from
            manual_dir. Defaults to the config name.
        num_joints_2d: joints per 2D pose in that file.
        keypoints_layout: name of the 2D joint order (informational, stored in
            the dataset metadata).

    A dataset's config subclasses this, setting `FILE_TAG` (the dataset part of
    VideoPose3D's file names, e.g. "h36m") and the defaults of `num_joints_2d`
    and `keypoints_layout`.
    """

    FILE_TAG: ClassVar[str] = ""

    source: str = ""
    num_joints_2d: int = 0
    keypoints_layout: str = ""

    def __post_init__(self):
        if not self.source:
            self.source = self.name
        for field, value in (("name", self.name), ("source", self.source)):
            if not value or set(value) - _CONFIG_NAME_CHARS:
                raise ValueError(
                    f"{type(self).__name__}: `{field}` must be a non-empty file-name-safe string "
                    f"(letters, digits, '_', '.', '-'), found {value!r}."
                )
        if int(self.num_joints_2d) < 1:
            raise ValueError(
                f"{type(self).__name__}: `num_joints_2d` must be a positive joint count, found "
                f"{self.num_joints_2d!r}."
            )
        self.num_joints_2d = int(self.num_joints_2d)

    @property
    def filename_2d(self) -> str:
        return f"data_2d_{self.FILE_TAG}_{self.source}.npz"


class VideoPose3DBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """A dataset in VideoPose3D's files: one example per (subject, action, camera).

    The dataset's builder subclasses this, sets the class constants below and
    implements `_ignore_2d_subject`; this class builds the features and the
    `DatasetInfo`, reads and cross-checks `FILENAME_3D` and the config's 2D
    file from manual_dir (`pair_videopose3d_files`) and yields, per split, the
    examples of `camera_examples`:

    - `keypoints_2d` float32 (frames, J2, 2) normalised screen coordinates;
    - `pose_3d` float32 (frames, J, 3) root-relative camera frame (root = 0);
    - `trajectory` float32 (frames, 3) root in the camera frame;
    - `subject`, `action`, `action_type`, `camera` (index), `camera_id`,
      `camera_intrinsics` (float32 (9,), only with `CAMERA_INTRINSICS`) and
      `num_frames`.

    Abstract (`_ignore_2d_subject`) and declared with `skip_registration=True`,
    so TFDS registers only the concrete subclasses, under their own names.
    """

    # The 3D file in manual_dir, e.g. "data_3d_h36m.npz", and what makes the
    # manual files (said when one is missing).
    FILENAME_3D: ClassVar[str]
    MANUAL_FILES_HINT: ClassVar[str]
    # Joints per pose in the 3D file, the ones kept (None: all) and their
    # `skeleton_zoo` layout name.
    NUM_JOINTS_3D_FILE: ClassVar[int]
    KEEP_JOINTS: ClassVar[tuple[int, ...] | None] = None
    LAYOUT_3D: ClassVar[str]
    FPS: ClassVar[int]
    # Split name -> subjects (keys of the 3D file), in split order.
    SPLIT_SUBJECTS: ClassVar[Mapping[str, tuple[str, ...]]]
    # Camera constants, a JSON file next to the subclass's module (see
    # `make_cameras`); with CAMERA_INTRINSICS the examples hold the intrinsics.
    CAMERAS_JSON: ClassVar[str]
    CAMERA_INTRINSICS: ClassVar[bool] = False
    # DatasetInfo.
    DESCRIPTION: ClassVar[str]
    CITATION: ClassVar[str]
    HOMEPAGE: ClassVar[str]
    # Feature docs: the `keypoints_2d` normalisation formula, the root joint
    # named in `pose_3d`, and the docs of subject, action, action_type, camera
    # and camera_id.
    NORMALISATION_DOC: ClassVar[str]
    ROOT_JOINT_DOC: ClassVar[str]
    FEATURE_DOCS: ClassVar[Mapping[str, str]]

    @abc.abstractmethod
    def _ignore_2d_subject(self, subject: str, calibrated: Sequence[str]) -> bool:
        """Whether a subject of the 2D file without 3D poses is ignored (unlabeled).

        Args:
            subject: a key of the 2D file missing from the 3D file.
            calibrated: the subjects with cameras in `CAMERAS_JSON`.

        Returns:
            True to ignore it; False makes the builder raise (the files differ).
        """

    def _camera_subject(self, subject: str) -> str:
        """The key of `CAMERAS_JSON`'s `extrinsic` holding `subject`'s cameras."""
        return subject

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        layout = get_layout(self.LAYOUT_3D)
        j2, j3 = config.num_joints_2d, layout.num_joints
        text = {name: tfds.features.Text(doc=self.FEATURE_DOCS[name])
                for name in ("subject", "action", "action_type")}
        features = {
            "keypoints_2d": tfds.features.Tensor(
                shape=(None, j2, 2), dtype=np.float32,
                doc=f"(frames, {j2}, 2) 2D keypoints ({config.keypoints_layout} order) in "
                    f"normalised screen coordinates: {self.NORMALISATION_DOC}."),
            "pose_3d": tfds.features.Tensor(
                shape=(None, j3, 3), dtype=np.float32,
                doc=f"(frames, {j3}, 3) {layout.name} joints in the camera frame, metres, "
                    f"relative to the root (joint 0, {self.ROOT_JOINT_DOC}), root = 0."),
            "trajectory": tfds.features.Tensor(
                shape=(None, 3), dtype=np.float32,
                doc="(frames, 3) root joint position in the camera frame, metres. "
                    "pose_3d + trajectory[:, None] is the camera-frame pose."),
            **text,
            "camera": tfds.features.Scalar(dtype=np.int32, doc=self.FEATURE_DOCS["camera"]),
            "camera_id": tfds.features.Text(doc=self.FEATURE_DOCS["camera_id"]),
        }
        if self.CAMERA_INTRINSICS:
            features["camera_intrinsics"] = tfds.features.Tensor(
                shape=(9,), dtype=np.float32,
                doc="VideoPose3D `intrinsic`: focal_length / res_w * 2 (2), normalised "
                    "centre (2), radial distortion (3), tangential distortion (2).")
        features["num_frames"] = tfds.features.Scalar(dtype=np.int32,
                                                      doc="Frames in the sequence.")
        return self.dataset_info_from_configs(
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(features),
            supervised_keys=("keypoints_2d", "pose_3d"),
            homepage=self.HOMEPAGE,
            citation=self.CITATION,
            metadata=tfds.core.MetadataDict(
                layout_3d=layout.name,
                joints_left_3d=list(layout.joints_left),
                joints_right_3d=list(layout.joints_right),
                keypoints_layout_2d=config.keypoints_layout,
                num_joints_2d=j2,
                fps=self.FPS,
                source_2d=config.source,
            ),
        )

    def _read_cameras_json(self) -> dict:
        """`CAMERAS_JSON`, read from the package of the class that names it."""
        owner = next(c for c in type(self).__mro__ if "CAMERAS_JSON" in vars(c))
        return read_camera_json(owner.__module__.rpartition(".")[0], self.CAMERAS_JSON)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        paths = manual_files(dl_manager, [self.FILENAME_3D, config.filename_2d], self.name,
                             config.name, self.MANUAL_FILES_HINT)
        constants = self._read_cameras_json()
        calibrated = calibrated_subjects(constants)
        paired = pair_videopose3d_files(
            paths[self.FILENAME_3D], paths[config.filename_2d],
            subjects=[s for subjects in self.SPLIT_SUBJECTS.values() for s in subjects],
            num_joints_3d_file=self.NUM_JOINTS_3D_FILE,
            keep_joints=self.KEEP_JOINTS,
            num_joints_2d=config.num_joints_2d,
            num_cameras=len(constants["intrinsic"]),
            ignore_2d_subject=lambda subject: self._ignore_2d_subject(subject, calibrated),
        )
        self.info.metadata["skipped_cameras"] = list(paired.skipped_cameras)
        self.info.metadata["ignored_2d_subjects"] = list(paired.ignored_2d_subjects)
        self.info.metadata["cropped_sequences"] = {k: list(v) for k, v in paired.cropped.items()}
        return {split: self._generate_examples(paired, constants, subjects)
                for split, subjects in self.SPLIT_SUBJECTS.items()}

    def _generate_examples(self, paired: PairedSequences, constants: Mapping,
                           subjects: Sequence[str]):
        """Yields (key "subject/action/camera", example) for `subjects` present in the files."""
        for subject in subjects:
            if subject not in paired.positions_3d:
                continue
            cameras = make_cameras(constants, self._camera_subject(subject), self.CAMERAS_JSON)
            for action, positions in paired.positions_3d[subject].items():
                keypoints = paired.positions_2d[subject][action]
                for camera, arrays in camera_examples(positions, keypoints, cameras):
                    example = {
                        **arrays,
                        "subject": subject,
                        "action": action,
                        "action_type": action_type(action),
                        "camera": camera.index,
                        "camera_id": camera.id,
                    }
                    if self.CAMERA_INTRINSICS:
                        example["camera_intrinsics"] = camera.intrinsic
                    yield f"{subject}/{action}/{camera.index}", example
