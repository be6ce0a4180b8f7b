"""Human3.6M as VideoPose3D / GAST-Net prepare it, as a TFDS builder.

Reads the files VideoPose3D's `DATASETS.md` produces (`data_3d_h36m.npz` and
one `data_2d_h36m_<source>.npz`) from `manual_dir` and yields one example per
(subject, action, camera), preprocessed exactly as VideoPose3D's `run.py`:

- 3D: the 32 mocap joints reduced to 17 (`remove_joints([4, 5, 9, 10, 11, 16,
  20, 21, 22, 23, 24, 28, 29, 30, 31])`), rotated and translated into the
  camera frame (`world_to_camera` with the subject's extrinsics, translation
  mm -> m), then split into the root trajectory (joint 0) and the
  root-relative pose with the root set to 0.
- 2D: pixels normalised with `normalize_screen_coordinates(X, res_w, res_h)`.
- 2D and 3D of a sequence are cropped to the shorter of the two (VideoPose3D
  crops the 2D detections, some of which have extra frames, to the mocap length).

The reading, pairing and preprocessing are `skeleton_zoo.formats.videopose3d`'s
(shared with the `humaneva` builder); this module holds Human3.6M's files, joints, subjects, cameras and docs.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import tensorflow_datasets as tfds

from tfds_builders.videopose3d import VIDEOPOSE3D_CITATION, VideoPose3DBuilder, VideoPose3DConfig

__all__ = ["Human36m", "Human36mConfig", "H36M_JOINTS_REMOVED"]

# VideoPose3D's `Human36mDataset.remove_joints`: 32 mocap joints -> 17.
H36M_JOINTS_REMOVED = (4, 5, 9, 10, 11, 16, 20, 21, 22, 23, 24, 28, 29, 30, 31)
_H36M_JOINTS_KEPT = tuple(j for j in range(32) if j not in H36M_JOINTS_REMOVED)

_CITATION = """\
@article{h36m_pami,
  author = {Ionescu, Catalin and Papava, Dragos and Olaru, Vlad and Sminchisescu, Cristian},
  title = {Human3.6M: Large Scale Datasets and Predictive Methods for 3D Human Sensing in
           Natural Environments},
  journal = {IEEE Transactions on Pattern Analysis and Machine Intelligence},
  volume = {36},
  number = {7},
  pages = {1325--1339},
  year = {2014},
}
""" + VIDEOPOSE3D_CITATION

_DESCRIPTION = """\
Human3.6M 3D human poses (17 joints, metres) with 2D keypoints from one 2D
source (ground truth or a detector), preprocessed as in VideoPose3D and
GAST-Net: one example per (subject, action, camera) with the root-relative 3D
pose in the camera frame, the root trajectory and the normalised 2D keypoints.
Splits: `train` = S1, S5, S6, S7, S8; `test` = S9, S11 (protocol #1).
"""

_MANUAL_DOWNLOAD_INSTRUCTIONS = """\
Human3.6M needs registration at http://vision.imar.ro/human3.6m/ , so the files
are made by you, with VideoPose3D's scripts
(https://github.com/facebookresearch/VideoPose3D/blob/main/DATASETS.md), and
put in `manual_dir` (default `<data_dir>/downloads/manual/`; or pass
`download_config=tfds.download.DownloadConfig(manual_dir=...)`; the directory
must be local):

1. `data_3d_h36m.npz` (3D poses, needed by every config): download
   "Poses -> D3 Positions" of S1, S5, S6, S7, S8, S9, S11, extract them, then
   `cd VideoPose3D/data && python prepare_data_h36m.py --from-source-cdf /path/to/dataset`.
   This also writes `data_2d_h36m_gt.npz` (config `gt`).
2. The 2D file of the config you build, `data_2d_h36m_<source>.npz`:
   - `gt`: written by step 1.
   - `cpn_ft_h36m_dbb`, `detectron_ft_h36m`: download
     https://dl.fbaipublicfiles.com/video-pose-3d/data_2d_h36m_cpn_ft_h36m_dbb.npz or
     https://dl.fbaipublicfiles.com/video-pose-3d/data_2d_h36m_detectron_ft_h36m.npz
   - `sh_pt_mpii`, `sh_ft_h36m`: `python prepare_data_2d_h36m_sh.py -pt h36m.zip`
     / `-ft stacked_hourglass_fined_tuned_240.tar.gz`.
   - `detectron_pt_coco`: `data_2d_h36m_detectron_pt_coco.npz`, made with
     VideoPose3D's `prepare_data_2d_h36m_generic.py` / `prepare_data_2d_custom.py`
     from COCO-pretrained Detectron detections (COCO keypoint order).
   - any other source `<name>`: `data_2d_h36m_<name>.npz` in the same format,
     built with `Human36mConfig(name=..., source="<name>", num_joints_2d=...)`.

manual_dir then looks like:
    manual_dir/data_3d_h36m.npz
    manual_dir/data_2d_h36m_gt.npz
    manual_dir/data_2d_h36m_cpn_ft_h36m_dbb.npz   (optional, per config)
"""


@dataclasses.dataclass(eq=False)
class Human36mConfig(VideoPose3DConfig):
    """A Human3.6M config: which 2D source to pair with the 3D poses.

    Attributes:
        source: the builder reads `data_2d_h36m_<source>.npz` from manual_dir.
            Defaults to the config name.
        num_joints_2d: joints per 2D pose in that file (17 for the Human3.6M
            and COCO layouts, 16 for Stacked Hourglass).
        keypoints_layout: name of the 2D joint order (informational, stored in
            the dataset metadata).

    Example, any other 2D file `data_2d_h36m_mydet.npz`:

        config = Human36mConfig(name="mydet", source="mydet", num_joints_2d=17,
                                description="My detector.")
        builder = tfds.builder("human36m", config=config)
    """

    FILE_TAG = "h36m"

    num_joints_2d: int = 17
    keypoints_layout: str = "h36m17"


class Human36m(VideoPose3DBuilder):
    """Human3.6M in the VideoPose3D preprocessing; one config per 2D source."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release: VideoPose3D preprocessing, 17 joints, one example per "
                 "(subject, action, camera).",
    }
    MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_DOWNLOAD_INSTRUCTIONS
    BUILDER_CONFIGS = [
        Human36mConfig(name="gt", description="Ground-truth 2D: the mocap projected with each "
                                              "camera's calibration."),
        Human36mConfig(name="cpn_ft_h36m_dbb", description="Cascaded Pyramid Network fine-tuned "
                       "on Human3.6M, Detectron boxes (VideoPose3D's best input)."),
        Human36mConfig(name="sh_ft_h36m", num_joints_2d=16, keypoints_layout="mpii16",
                       description="Stacked Hourglass fine-tuned on Human3.6M (16 joints, MPII "
                                   "order)."),
        Human36mConfig(name="sh_pt_mpii", num_joints_2d=16, keypoints_layout="mpii16",
                       description="Stacked Hourglass pretrained on MPII (16 joints, MPII order)."),
        Human36mConfig(name="detectron_ft_h36m",
                       description="Detectron (Mask R-CNN) fine-tuned on Human3.6M."),
        Human36mConfig(name="detectron_pt_coco", keypoints_layout="coco17",
                       description="Detectron (Mask R-CNN) pretrained on COCO (COCO keypoint "
                                   "order)."),
    ]
    DEFAULT_BUILDER_CONFIG_NAME = "gt"

    FILENAME_3D = "data_3d_h36m.npz"
    MANUAL_FILES_HINT = ("Make them with VideoPose3D's data/prepare_data_h36m.py (3D and gt 2D) "
                         "or download the detections (DATASETS.md).")
    NUM_JOINTS_3D_FILE = 32
    KEEP_JOINTS = _H36M_JOINTS_KEPT
    LAYOUT_3D = "h36m17"
    FPS = 50
    TRAIN_SUBJECTS = ("S1", "S5", "S6", "S7", "S8")
    TEST_SUBJECTS = ("S9", "S11")
    SPLIT_SUBJECTS = {"train": TRAIN_SUBJECTS, "test": TEST_SUBJECTS}
    CAMERAS_JSON = "h36m_cameras.json"
    CAMERA_INTRINSICS = True

    DESCRIPTION = _DESCRIPTION
    CITATION = _CITATION
    HOMEPAGE = "http://vision.imar.ro/human3.6m/"
    NORMALISATION_DOC = "pixels / res_w * 2 - [1, res_h / res_w]"
    ROOT_JOINT_DOC = "the hip"
    FEATURE_DOCS = {
        "subject": "Subject, e.g. 'S1'.",
        "action": "Action as named in the 3D file, e.g. 'Walking 1'.",
        "action_type": "Action class, action.split(' ')[0] as VideoPose3D groups its "
                       "per-action evaluation, e.g. 'Walking'.",
        "camera": "Camera index, 0-3.",
        "camera_id": "Camera serial, e.g. '54138969'.",
    }

    def _ignore_2d_subject(self, subject: str, calibrated: Sequence[str]) -> bool:
        """S2, S3, S4: 2D detections without mocap or calibration (semi-supervised use)."""
        return subject not in calibrated
