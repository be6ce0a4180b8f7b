"""HumanEva-I as VideoPose3D / GAST-Net prepare it, as a TFDS builder.

Reads VideoPose3D's `data_3d_humaneva15.npz` and one
`data_2d_humaneva15_<source>.npz` from `manual_dir` and yields one example per
(subject, action chunk, camera), preprocessed as VideoPose3D's `run.py`:

- 3D: 15 joints, already in world metres in the file; rotated and translated
  into the camera frame (`world_to_camera`, translation mm -> m), then split
  into the root trajectory (joint 0, pelvis) and the root-relative pose (root = 0).
- 2D: pixels normalised with `normalize_screen_coordinates(X, 640, 480)`.

VideoPose3D's preparation splits each recording at corrupted mocap frames into
chunks ("Walking 1 chunk0", ...). Detection files (`detectron_pt_coco`) also
hold `Unlabeled/...` subjects (no mocap), which are ignored, and may hold
`None` for a camera without detections in a chunk: those (subject, action,
camera) triples are skipped; their list is in `builder.info.metadata["skipped_cameras"]`.

Papers report HumanEva-I on Walk, Jog and Box; VideoPose3D selects them with
`-a Walk,Jog,Box`, keeping actions whose name starts with one of the prefixes.
`action_filter(("Walk", "Jog", "Box"))` is that rule for `ds.filter`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import tensorflow as tf
import tensorflow_datasets as tfds

from tfds_builders.videopose3d import VIDEOPOSE3D_CITATION, VideoPose3DBuilder, VideoPose3DConfig

__all__ = ["Humaneva", "HumanevaConfig", "action_filter"]

_CITATION = """\
@article{sigal2010humaneva,
  author = {Sigal, Leonid and Balan, Alexandru O. and Black, Michael J.},
  title = {HumanEva: Synchronized Video and Motion Capture Dataset and Baseline Algorithm
           for Evaluation of Articulated Human Motion},
  journal = {International Journal of Computer Vision},
  volume = {87},
  number = {1-2},
  pages = {4--27},
  year = {2010},
}
""" + VIDEOPOSE3D_CITATION

_DESCRIPTION = """\
HumanEva-I 3D human poses (15 joints, metres) with 2D keypoints from one 2D
source, preprocessed as in VideoPose3D and GAST-Net: one example per
(subject, action chunk, camera) with the root-relative 3D pose in the camera
frame, the root trajectory and the normalised 2D keypoints (640x480 cameras).
Splits: `train` = Train/S1-S3, `validation` = Validate/S1-S3 (the evaluation
set of the papers). Filter Walk/Jog/Box with `humaneva.action_filter`.
"""

_MANUAL_DOWNLOAD_INSTRUCTIONS = """\
HumanEva-I needs registration at http://humaneva.is.tue.mpg.de/ , so the files
are made by you, with VideoPose3D's tools
(https://github.com/facebookresearch/VideoPose3D/blob/main/DATASETS.md, section
"HumanEva-I"), and put in `manual_dir` (default `<data_dir>/downloads/manual/`,
or `download_config=tfds.download.DownloadConfig(manual_dir=...)`; local directory):

1. `data_3d_humaneva15.npz` and `data_2d_humaneva15_gt.npz` (config `gt`):
   run `ConvertHumanEva.m` (MATLAB, HumanEva release code v1.1 beta + critical
   update) to get `converted_15j/`, then
   `cd VideoPose3D/data && python prepare_data_humaneva.py -p /path/to/converted_15j --convert-3d`.
2. For config `detectron_pt_coco` also `data_2d_humaneva15_detectron_pt_coco.npz`:
   https://dl.fbaipublicfiles.com/video-pose-3d/data_2d_humaneva15_detectron_pt_coco.npz
3. Any other 2D source `<name>`: `data_2d_humaneva15_<name>.npz` in the same
   format (`prepare_data_humaneva.py --convert-2d ... -o <name>`), built with
   `HumanevaConfig(name=..., source="<name>", num_joints_2d=...)`.

manual_dir then looks like:
    manual_dir/data_3d_humaneva15.npz
    manual_dir/data_2d_humaneva15_gt.npz
    manual_dir/data_2d_humaneva15_detectron_pt_coco.npz   (optional)
"""


@dataclasses.dataclass(eq=False)
class HumanevaConfig(VideoPose3DConfig):
    """A HumanEva-I config: which 2D source to pair with the 3D poses.

    Attributes:
        source: the builder reads `data_2d_humaneva15_<source>.npz` from
            manual_dir. Defaults to the config name.
        num_joints_2d: joints per 2D pose in that file (15 for the ground
            truth, 17 for COCO-layout detections such as `detectron_pt_coco`).
        keypoints_layout: name of the 2D joint order (informational).

    Example: `tfds.builder("humaneva", config=HumanevaConfig(name="mydet",
    num_joints_2d=17, keypoints_layout="coco17"))` reads
    `data_2d_humaneva15_mydet.npz`.
    """

    FILE_TAG = "humaneva15"

    num_joints_2d: int = 15
    keypoints_layout: str = "humaneva15"


def action_filter(prefixes: Sequence[str] = ("Walk", "Jog", "Box")):
    """A `ds.filter` predicate keeping actions that start with one of `prefixes`.

    VideoPose3D's rule for `-a Walk,Jog,Box` (`action.startswith(a)`), so
    "Walk" keeps "Walking 1 chunk0", "Jog" keeps "Jog 1 chunk2".

    Args:
        prefixes: sequence of str.

    Returns:
        function example -> scalar tf.bool, for `ds.filter`.
    """
    if isinstance(prefixes, str) or not prefixes:
        raise ValueError(
            f"action_filter: `prefixes` must be a non-empty sequence of action-name prefixes, "
            f"e.g. ('Walk', 'Jog', 'Box'), found {prefixes!r}."
        )
    pattern = "(" + "|".join(re.escape(p) for p in prefixes) + ").*"

    def predicate(example):
        return tf.strings.regex_full_match(example["action"], pattern)

    return predicate


class Humaneva(VideoPose3DBuilder):
    """HumanEva-I in the VideoPose3D preprocessing; one config per 2D source."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: VideoPose3D preprocessing, 15 joints, one example per "
                 "(subject, action chunk, camera).",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [
        HumanevaConfig(name="gt", description="Ground-truth 2D (15 joints) from the HumanEva "
                                              "calibration."),
        HumanevaConfig(name="detectron_pt_coco", num_joints_2d=17, keypoints_layout="coco17",
                       description="Detectron (Mask R-CNN) pretrained on COCO (17 joints, COCO "
                                   "keypoint order)."),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "gt"

    FILENAME_3D = "data_3d_humaneva15.npz"
    MANUAL_FILES_HINT = ("Make them with VideoPose3D's ConvertHumanEva.m and "
                         "data/prepare_data_humaneva.py, or download the detections (DATASETS.md).")
    NUM_JOINTS_3D_FILE = 15
    KEEP_JOINTS = None
    LAYOUT_3D = "humaneva15"
    FPS = 60
    TRAIN_SUBJECTS = ("Train/S1", "Train/S2", "Train/S3")
    VALIDATION_SUBJECTS = ("Validate/S1", "Validate/S2", "Validate/S3")
    SPLIT_SUBJECTS = {"train": TRAIN_SUBJECTS, "validation": VALIDATION_SUBJECTS}
    CAMERAS_JSON = "humaneva_cameras.json"

    DESCRIPTION = _DESCRIPTION
    CITATION = _CITATION
    HOMEPAGE = "http://humaneva.is.tue.mpg.de/"
    NORMALISATION_DOC = "pixels / 640 * 2 - [1, 480 / 640]"
    ROOT_JOINT_DOC = "pelvis"
    FEATURE_DOCS = {
        "subject": "Subject with its partition, e.g. 'Train/S1'.",
        "action": "Action chunk as named in the 3D file, e.g. 'Walking 1 chunk0'.",
        "action_type": "Action class, action.split(' ')[0], e.g. 'Walking', 'Jog', 'Box', "
                       "'ThrowCatch', 'Gestures'.",
        "camera": "Camera index, 0-2.",
        "camera_id": "Camera name, 'C1', 'C2' or 'C3'.",
    }

    def _ignore_2d_subject(self, subject: str, calibrated: Sequence[str]) -> bool:
        """Detection files also cover frames without mocap: Unlabeled/Train/S1, ..."""
        return subject.startswith("Unlabeled/")

    def _camera_subject(self, subject: str) -> str:
        """Calibration is per person: "Train/S1" and "Validate/S1" share S1's cameras."""
        return subject.split("/")[-1]
