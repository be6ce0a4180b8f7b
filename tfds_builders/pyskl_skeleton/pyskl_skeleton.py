"""NTU RGB+D 60 / 120 skeletons as PYSKL distributes them: its annotation
pickles (`ntu60_3danno.pkl`, `ntu60_hrnet.pkl`, `ntu120_3danno.pkl`,
`ntu120_hrnet.pkl`), read through `skeleton_zoo.formats.pyskl_annotations`.

Configs `<dataset>_<skeleton>_<protocol>`: dataset `ntu60` or `ntu120`,
skeleton `3d` (Kinect joints, layout `ntu25`, x y z) or `hrnet` (HRNet
COCO-17 keypoints, layout `coco17`, x y in pixels and the score), protocol
`xsub`, `xview` (NTU-60) or `xset` (NTU-120). Splits `train` and `test`: the
file's `<protocol>_train` and `<protocol>_val` lists.

Values are as stored (no normalisation): PYSKL's pipelines normalise at load
time (`skeleton_zoo.formats.pyskl`: `pre_normalize_3d`, or `pre_normalize_2d`
with the example's `img_shape`). `joints` holds the first 2 persons of the
file, zero-padded, as PYSKL's `FormatGCNInput(num_person=2)`; this gives
exactly PYSKL's GCN clips (every earlier step is per person) and
`num_persons` says how many the file had.

    import tensorflow_datasets as tfds, tfds_builders
    ds = tfds.load("pyskl_skeleton/ntu60_hrnet_xsub", split="train", download_and_prepare_kwargs={
        "download_config": tfds.download.DownloadConfig(manual_dir="~/data/pyskl")})
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from skeleton_zoo.formats import pyskl_annotations
from tfds_builders.manual import manual_dir as get_manual_dir
from tfds_builders.ntu_rgbd import ntu_rgbd

__all__ = ["PysklSkeleton", "PysklSkeletonConfig", "PKL_URLS", "keypoint_dtype"]

_HERE = epath.Path(__file__).parent
_URL = "https://download.openmmlab.com/mmaction/pyskl/data/nturgbd/"
PKL_URLS = {name: _URL + name for name in
            ("ntu60_3danno.pkl", "ntu60_hrnet.pkl", "ntu120_3danno.pkl", "ntu120_hrnet.pkl")}

_DESCRIPTION = """
NTU RGB+D (60 actions) and NTU RGB+D 120 (120 actions) skeletons from PYSKL's
pre-processed annotation files: 3D Kinect v2 joints (25, x y z, metres; the 2
main bodies, denoised as PYSKL's `ntu_preproc.py`) or 2D HRNet COCO-17
keypoints (x, y in pixels, detection score). One example per video, all of its
frames, the first 2 persons (zero-padded); no normalisation (PYSKL applies
PreNormalize3D / PreNormalize2D with `img_shape` in its pipeline).
"""

_CITATION = """
@inproceedings{duan2022pyskl,
  title={PYSKL: Towards Good Practices for Skeleton Action Recognition},
  author={Duan, Haodong and Wang, Jiaqi and Chen, Kai and Lin, Dahua},
  booktitle={Proceedings of the 30th ACM International Conference on Multimedia}, year={2022}}""" + ntu_rgbd.CITATION

_SKELETONS = {
    # skeleton -> (file suffix, layout, joints, channels)
    "3d": ("3danno", "ntu25", 25, "x, y, z (metres, Kinect camera space)"),
    "hrnet": ("hrnet", "coco17", 17, "x, y (pixels), score"),
}


def keypoint_dtype(info) -> str:
    """The annotation file's keypoint dtype ("float16" for PYSKL's files).
    `joints` widens it to float32 exactly; PYSKL's and MotionBERT's pipelines
    compute in the stored dtype (e.g. `PreNormalize3D`'s centring), so their
    inputs are cast back to it. Datasets prepared before this was recorded:
    "float32".

    Args:
        info: the builder's `tfds.core.DatasetInfo`.
    """
    return info.metadata.get("keypoint_dtype", "float32")


class PysklSkeletonConfig(tfds.core.BuilderConfig):
    """One annotation file (dataset and skeleton) and one protocol."""

    def __init__(self, *, dataset: str, skeleton: str, protocol: str, **kwargs):
        super().__init__(name=f"{dataset}_{skeleton}_{protocol}", **kwargs)
        self.dataset = dataset  # "ntu60" | "ntu120"
        self.skeleton = skeleton  # "3d" | "hrnet"
        self.protocol = protocol  # "xsub" | "xview" | "xset"

    @property
    def num_classes(self) -> int:
        return 60 if self.dataset == "ntu60" else 120

    @property
    def pkl_file(self) -> str:
        return f"{self.dataset}_{_SKELETONS[self.skeleton][0]}.pkl"

    @property
    def layout(self) -> str:
        return _SKELETONS[self.skeleton][1]

    @property
    def num_joints(self) -> int:
        return _SKELETONS[self.skeleton][2]

    @property
    def is_2d(self) -> bool:
        return self.skeleton == "hrnet"


_PROTOCOLS = {
    "xsub": "cross-subject (the papers' training subjects)",
    "xview": "cross-view (cameras 2 and 3 train, camera 1 tests)",
    "xset": "cross-setup (even setup ids train)",
}


def _config(dataset, skeleton, protocol):
    kind = "3D Kinect joints" if skeleton == "3d" else "2D HRNet COCO-17 keypoints"
    return PysklSkeletonConfig(
        dataset=dataset, skeleton=skeleton, protocol=protocol,
        description=f"NTU-{dataset[3:]} {_PROTOCOLS[protocol]}, {kind}, from PYSKL's "
                    f"{dataset}_{_SKELETONS[skeleton][0]}.pkl.")


def _read_lines(path: epath.Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class PysklSkeleton(tfds.core.GeneratorBasedBuilder):
    """NTU RGB+D 60 / 120 skeletons from PYSKL's annotation pickles."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: PYSKL's NTU 3D and HRNet 2D annotation pickles."}
    BUILDER_CONFIGS = [
        _config(dataset, skeleton, protocol)
        for dataset, protocols in (("ntu60", ("xsub", "xview")), ("ntu120", ("xsub", "xset")))
        for skeleton in ("3d", "hrnet") for protocol in protocols
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    Download PYSKL's pre-processed NTU annotations (see
    https://github.com/kennymckormick/pyskl/blob/main/tools/data/README.md) and put
    the file of the config in `manual_dir` (`ntu60_*` configs read `ntu60_*.pkl`,
    `*_3d_*` read `*_3danno.pkl`, `*_hrnet_*` read `*_hrnet.pkl`):
      - {PKL_URLS['ntu60_3danno.pkl']}
      - {PKL_URLS['ntu60_hrnet.pkl']}
      - {PKL_URLS['ntu120_3danno.pkl']}
      - {PKL_URLS['ntu120_hrnet.pkl']}
    The pickle is read with a restricted unpickler (arrays, lists, strings and
    numbers only; nothing in it is run).
    """

    def _info(self) -> tfds.core.DatasetInfo:
        config = self.builder_config
        names = _read_lines(_HERE.parent / "ntu_rgbd" / "class_names.txt")[: config.num_classes]
        features = {
            "joints": tfds.features.Tensor(
                shape=(None, config.num_joints, pyskl_annotations.GCN_NUM_PERSONS, 3), dtype=np.float32,
                doc=f"(frames, {config.num_joints} joints, 2 persons, {_SKELETONS[config.skeleton][3]}); all "
                    f"frames, values as in the file; a missing person is zeros"),
            "label": tfds.features.ClassLabel(names=names),
            "frame_dir": tfds.features.Text(doc="The video, e.g. S001C001P001R001A001"),
            "total_frames": tfds.features.Scalar(dtype=np.int32, doc="Frames (the file's total_frames)"),
            "num_persons": tfds.features.Scalar(
                dtype=np.int32, doc="Persons in the file's annotation; `joints` keeps the first 2"),
        }
        if config.is_2d:
            features["img_shape"] = tfds.features.Tensor(
                shape=(2,), dtype=np.int32, doc="(height, width) of the video, for PYSKL's PreNormalize2D")
        return self.dataset_info_from_configs(
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict(features),
            supervised_keys=("joints", "label"),
            homepage="https://github.com/kennymckormick/pyskl",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(layout=config.layout, pkl_file=config.pkl_file),
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        manual_dir = get_manual_dir(dl_manager, f"pyskl_skeleton/{config.name}", config.pkl_file,
                                    self.MANUAL_DOWNLOAD_INSTRUCTIONS)
        path = manual_dir / config.pkl_file
        if not path.exists():
            raise FileNotFoundError(
                f"pyskl_skeleton/{config.name}: '{path}' not found. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        data = pyskl_annotations.read_annotations(path)
        self._check_file(data)
        splits = {"train": f"{config.protocol}_train", "test": f"{config.protocol}_val"}
        more_persons = sum(a["keypoint"].shape[0] > pyskl_annotations.GCN_NUM_PERSONS
                           for name in splits.values() for a in map(data.annotation, data.frame_dirs(name)))
        logging.info("pyskl_skeleton/%s: %d train, %d test videos from %s; %d have more than %d persons (the first "
                     "%d kept).", config.name, len(data.frame_dirs(splits["train"])),
                     len(data.frame_dirs(splits["test"])), path, more_persons,
                     pyskl_annotations.GCN_NUM_PERSONS, pyskl_annotations.GCN_NUM_PERSONS)
        # The pipelines compute in the file's dtype (PYSKL's: float16), see `keypoint_dtype`.
        self.info.metadata.update({"videos_with_more_persons": int(more_persons),
                                   "keypoint_dtype": data.keypoint_dtype})
        return {split: self._generate_examples(data, name) for split, name in splits.items()}

    def _check_file(self, data: pyskl_annotations.PysklAnnotations):
        """The file is the config's kind, holds its protocol and only its classes."""
        config = self.builder_config
        kind = f"{data.num_joints} joints, {'2D' if data.is_2d else '3D'}"
        expected = f"{config.num_joints} joints, {'2D' if config.is_2d else '3D'}"
        if kind != expected:
            raise pyskl_annotations.AnnotationFileError(
                data.path, f"pyskl_skeleton/{config.name} expects {expected} keypoints ({config.pkl_file}), found "
                           f"{kind}.", key="keypoint")
        for split in (f"{config.protocol}_train", f"{config.protocol}_val"):
            data.frame_dirs(split)  # raises, naming the splits found
        for index, annotation in enumerate(data.annotations):
            if annotation["label"] >= config.num_classes:
                raise pyskl_annotations.AnnotationFileError(
                    data.path, f"expected a class of NTU-{config.num_classes} (0 to {config.num_classes - 1}) "
                               f"for pyskl_skeleton/{config.name}, found {annotation['label']}.",
                    index, annotation["frame_dir"], "label")

    def _generate_examples(self, data: pyskl_annotations.PysklAnnotations, split: str):
        for sample in data.samples(split, num_persons=pyskl_annotations.GCN_NUM_PERSONS):
            example = {
                "joints": sample.joints,
                "label": sample.label,
                "frame_dir": sample.frame_dir,
                "total_frames": sample.total_frames,
                "num_persons": sample.num_persons,
            }
            if data.is_2d:
                example["img_shape"] = np.asarray(sample.img_shape, np.int32)
            yield sample.frame_dir, example
