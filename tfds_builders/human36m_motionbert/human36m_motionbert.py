"""Human3.6M in MotionBERT's preprocessing (`h36m_sh_conf_cam_source_final.pkl`),
as a TFDS builder: one example per video (`source`, one camera of one
subject's action), normalised exactly as MotionBERT's `DataReaderH36M`
(`skeleton_zoo.formats.motionbert_h36m`).

    import tensorflow_datasets as tfds, tfds_builders
    ds = tfds.load("human36m_motionbert", split="test", download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir="~/data/motion3d")})

`python -m skeleton_zoo evaluate --dataset human36m_motionbert` scores a lifter
with the official protocol (2.5D factor, per-action MPJPE / P-MPJPE /
acceleration error, three videos skipped); `train` cuts clips of the model's
length (stride n / 3) as MotionBERT's `split_clips`.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow_datasets as tfds

__all__ = ["Human36mMotionbert", "PKL_FILE"]

PKL_FILE = "h36m_sh_conf_cam_source_final.pkl"

_DESCRIPTION = """\
Human3.6M with fine-tuned Stacked Hourglass 2D detections and their confidence,
as MotionBERT prepares it (the data of MotionBERT, MotionAGFormer and
TCPFormer): one example per video with normalised 2D keypoints and confidence,
the normalised 3D pose in image coordinates (root-relative), the 2.5D
millimetre targets and per-frame factors the official evaluation uses, and
the camera resolution. Splits: `train` (S1, S5, S6, S7, S8), `test` (S9, S11).
"""

_MANUAL_DOWNLOAD_INSTRUCTIONS = f"""\
Download MotionBERT's preprocessed Human3.6M
(https://1drv.ms/f/s!AvAdh0LSjEOlgU7BuUZcyafu8kzc?e=vobkjZ, see
https://github.com/Walter0807/MotionBERT/blob/main/docs/pose3d.md), unzip it and
put `{PKL_FILE}` in `manual_dir`. The pickle is read with a restricted unpickler
(arrays, lists, strings and numbers only).
"""

_CITATION = """\
@inproceedings{zhu2023motionbert,
  title = {MotionBERT: A Unified Perspective on Learning Human Motion Representations},
  author = {Zhu, Wentao and Ma, Xiaoxuan and Liu, Zhaoyang and Liu, Libin and Wu, Wayne and Wang, Yizhou},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision},
  year = {2023},
}
"""


class Human36mMotionbert(tfds.core.GeneratorBasedBuilder):
    """Human3.6M in MotionBERT's preprocessing, one example per video."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: MotionBERT's h36m_sh_conf_cam_source_final.pkl, one example "
                              "per video."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = _MANUAL_DOWNLOAD_INSTRUCTIONS

    def _info(self) -> tfds.core.DatasetInfo:
        joints = 17
        return self.dataset_info_from_configs(
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict({
                "keypoints_2d": tfds.features.Tensor(shape=(None, joints, 2), dtype=np.float32,
                                                     doc="x, y / w * 2 - [1, h / w]"),
                "confidence": tfds.features.Tensor(shape=(None, joints), dtype=np.float32,
                                                   doc="The detector's score of each joint."),
                "pose_3d": tfds.features.Tensor(shape=(None, joints, 3), dtype=np.float32,
                                                doc="joint3d_image normalised (x, y as 2D, z / w * 2), "
                                                    "root-relative (the rootrel training target)."),
                "joints_2_5d": tfds.features.Tensor(shape=(None, joints, 3), dtype=np.float32,
                                                    doc="joints_2.5d_image, millimetres (the evaluation target)."),
                "factor_2_5d": tfds.features.Tensor(shape=(None,), dtype=np.float32,
                                                    doc="2.5d_factor: pixels -> millimetres of each frame."),
                "resolution": tfds.features.Tensor(shape=(2,), dtype=np.int32, doc="Camera (width, height)."),
                "source": tfds.features.Text(doc="The video, e.g. 's_09_act_02_subact_01_ca_01'."),
                "action": tfds.features.Text(doc="The pkl's action."),
                "subject": tfds.features.Text(doc="e.g. 'S9'."),
                "camera": tfds.features.Text(doc="Camera serial, e.g. '54138969'."),
            }),
            homepage="https://github.com/Walter0807/MotionBERT",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(layout_3d="h36m17", num_joints_2d=joints, keypoints_layout_2d="h36m17",
                                            protocol="motionbert"),
        )

    def _split_generators(self, dl_manager):
        path = os.path.join(dl_manager.manual_dir, PKL_FILE)
        if not os.path.exists(path):
            raise FileNotFoundError(f"human36m_motionbert: '{path}' not found.\n{_MANUAL_DOWNLOAD_INSTRUCTIONS}")
        from skeleton_zoo.formats import motionbert_h36m

        data = motionbert_h36m.read_pkl(path)
        return {split: self._generate_examples(data[split], path) for split in ("train", "test")}

    def _generate_examples(self, part, path):
        from skeleton_zoo.formats import motionbert_h36m

        for video in motionbert_h36m.videos(part, path):
            yield video.source, {
                "keypoints_2d": video.keypoints_2d[..., :2],
                "confidence": video.keypoints_2d[..., 2],
                "pose_3d": video.pose_3d - video.pose_3d[:, :1],
                "joints_2_5d": video.joints_2_5d,
                "factor_2_5d": video.factor_2_5d,
                "resolution": np.asarray(video.resolution, np.int32),
                "source": video.source, "action": video.action, "subject": video.subject, "camera": video.camera,
            }
