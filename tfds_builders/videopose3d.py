"""The VideoPose3D dataset format, shared by the `human36m` and `humaneva` TFDS builders.

The dataset files (VideoPose3D's `data_3d_<dataset>.npz` and
`data_2d_<dataset>_<source>.npz`, also GAST-Net's) are described, read,
paired with their cameras and preprocessed by `skeleton_zoo.formats.videopose3d`
(no TFDS there); this module holds the
manual-file check (`manual_files`), the config base class
`VideoPose3DConfig` and the abstract builder `VideoPose3DBuilder`, which a
dataset's builder fills in with class constants (files, joints, subjects per
split, cameras, docs).
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np
import tensorflow_datasets as tfds

from skeleton_zoo.formats.videopose3d import (
    PairedSequences,
    action_type,
    calibrated_subjects,
    camera_examples,
    make_cameras,
    pair_videopose3d_files,
    read_camera_json,
)
from skeleton_zoo.layouts import get_layout

__all__ = ["VIDEOPOSE3D_CITATION", "VideoPose3DBuilder", "VideoPose3DConfig", "manual_files"]

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
