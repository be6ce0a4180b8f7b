"""NTU RGB+D 60 / 120 skeletons, preprocessed as ST-TR and 2s-AGCN do.

Configs: `xsub60`, `xview60` (NTU-60: setups S001-S017, actions A001-A060),
`xsub120`, `xset120` (NTU-120: S001-S032, A001-A120). Splits `train`, `test`.

Each example is one raw `.skeleton` file through `skeleton_zoo.formats.ntu` (the
official reader, body selection and pre-normalisation), stored with its true
frame count. `pad_to_official_length` extends an example to the official 300
frames inside a `tf.data` pipeline, reproducing the official padding exactly.

Building with Apache Beam (Dataflow, Spark, Flink, or the DirectRunner): pass
`beam_runner` or `beam_options` in `tfds.download.DownloadConfig`, or
`--beam_pipeline_options` to `tfds build`; examples are then produced by a
Beam pipeline, one file per element.
"""

from __future__ import annotations

import zipfile

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from skeleton_zoo.formats import ntu
from tfds_builders.manual import beam_requested, read_zip_member
from tfds_builders.manual import manual_dir as get_manual_dir

_HERE = epath.Path(__file__).parent

_DESCRIPTION = """
NTU RGB+D (60 actions, 56,880 samples) and NTU RGB+D 120 (120 actions,
114,480 samples): 3D skeletons of 25 Kinect v2 joints, up to 2 people.

Preprocessed exactly as the official ST-TR / 2s-AGCN pipeline: the 2 most
energetic of up to 4 bodies, person-0 spine-centred, rotated so the hip-spine
bone is parallel to z and the shoulders to x. `joints` holds the true number
of frames; `pad_to_official_length(example)` gives the official 300-frame
clip. Samples in the dataset authors' missing-skeleton lists are skipped.
"""

CITATION = """
@inproceedings{shahroudy2016ntu,
  title={NTU RGB+D: A Large Scale Dataset for 3D Human Activity Analysis},
  author={Shahroudy, Amir and Liu, Jun and Ng, Tian-Tsong and Wang, Gang},
  booktitle={CVPR}, year={2016}}
@article{liu2019ntu,
  title={NTU RGB+D 120: A Large-Scale Benchmark for 3D Human Activity Understanding},
  author={Liu, Jun and Shahroudy, Amir and Perez, Mauricio and Wang, Gang and Duan, Ling-Yu and Kot, Alex C.},
  journal={IEEE TPAMI}, year={2019}}
"""

# The papers' evaluation protocols.
XSUB60_TRAIN_SUBJECTS = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
XVIEW60_TRAIN_CAMERAS = (2, 3)
XSUB120_TRAIN_SUBJECTS = XSUB60_TRAIN_SUBJECTS + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
    91, 92, 93, 94, 95, 97, 98, 100, 103)


class NtuRgbdConfig(tfds.core.BuilderConfig):
    """A benchmark: which samples exist (60 or 120 classes) and which train."""

    def __init__(self, *, num_classes: int, benchmark: str, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.benchmark = benchmark  # "xsub" | "xview" | "xset"

    @property
    def max_setup(self) -> int:
        return 17 if self.num_classes == 60 else 32

    def is_training(self, sample: ntu.SampleId) -> bool:
        if self.benchmark == "xsub":
            subjects = XSUB60_TRAIN_SUBJECTS if self.num_classes == 60 else XSUB120_TRAIN_SUBJECTS
            return sample.subject in subjects
        if self.benchmark == "xview":
            return sample.camera in XVIEW60_TRAIN_CAMERAS
        return sample.setup % 2 == 0  # xset: even setup ids train


def pad_to_official_length(example: dict, length: int = ntu.MAX_FRAMES) -> dict:
    """`tf.data` map function: `joints` (T, 25, 2, 3) -> (length, 25, 2, 3),
    padded as the official pipeline pads (before its normalisation).

        ds = tfds.load("ntu_rgbd/xsub60", split="train").map(pad_to_official_length)
    """
    example = dict(example)
    example["joints"] = ntu.pad_like_official(example["joints"], example["origin"],
                                              example["valid_frames"], length)
    return example


def _read_lines(path: epath.Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _find_skeleton_files(manual_dir: epath.Path) -> dict[str, tuple[str, str | None]]:
    """sample name -> (file, zip member or None), from `.skeleton` files and
    zip archives anywhere under `manual_dir` (first found wins)."""
    found: dict[str, tuple[str, str | None]] = {}
    duplicates = 0
    paths = [epath.Path(folder) / name for folder, _, names in manual_dir.walk() for name in names]
    for path in sorted(paths):
        name = path.name
        if name.endswith(".skeleton"):
            refs = [(name, (str(path), None))]
        elif name.endswith(".zip"):
            try:
                with path.open("rb") as f, zipfile.ZipFile(f) as archive:
                    refs = [(member.rsplit("/", 1)[-1], (str(path), member))
                            for member in sorted(archive.namelist()) if member.endswith(".skeleton")]
            except (zipfile.BadZipFile, OSError) as error:
                raise ValueError(f"NTU archive '{path}' in manual_dir is not a readable zip file ({error}); "
                                 f"download it again, or remove it.") from None
        else:
            continue
        for file_name, ref in refs:
            sample = file_name[:-len(".skeleton")]
            if sample in found:
                duplicates += 1
                continue
            found[sample] = ref
    if duplicates:
        logging.info("ntu_rgbd: %d samples found more than once under %s; the first copy is used.",
                     duplicates, manual_dir)
    return found


def _read_bytes(ref: tuple[str, str | None]) -> bytes:
    file, member = ref
    try:
        if member is None:
            return epath.Path(file).read_bytes()
        return read_zip_member(file, member)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValueError(f"NTU skeleton '{_describe(ref)}' cannot be read ({error}).") from None


def _describe(ref) -> str:
    file, member = ref
    return file if member is None else f"{file}:{member}"


def _make_example(item):
    """(sample name, file ref) -> (key, example): one file, start to end."""
    name, ref = item
    sample = ntu.parse_sample_name(name)
    joints, origin, valid, num_frames = ntu.process_skeleton(
        _read_bytes(ref), path=_describe(ref), return_details=True)
    return name, {
        "joints": joints[:num_frames],
        "origin": origin[:num_frames],
        "valid_frames": valid.astype(np.int32),
        "num_frames": num_frames,
        "label": sample.action - 1,
        "sample_name": name,
        "setup": sample.setup,
        "camera": sample.camera,
        "subject": sample.subject,
        "replication": sample.replication,
    }


class NtuRgbd(tfds.core.GeneratorBasedBuilder):
    """NTU RGB+D 60 / 120 skeletons with the official ST-TR preprocessing."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: official ST-TR / 2s-AGCN preprocessing."}
    BUILDER_CONFIGS = [
        NtuRgbdConfig(name="xsub60", num_classes=60, benchmark="xsub",
                      description="NTU-60 cross-subject: 20 training subjects."),
        NtuRgbdConfig(name="xview60", num_classes=60, benchmark="xview",
                      description="NTU-60 cross-view: cameras 2 and 3 train, camera 1 tests."),
        NtuRgbdConfig(name="xsub120", num_classes=120, benchmark="xsub",
                      description="NTU-120 cross-subject: 53 training subjects."),
        NtuRgbdConfig(name="xset120", num_classes=120, benchmark="xset",
                      description="NTU-120 cross-setup: even setup ids train."),
    ]
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Register at https://rose1.ntu.edu.sg/dataset/actionRecognition/ and download
    the 3D skeletons:
      - NTU RGB+D 60:  nturgbd_skeletons_s001_to_s017.zip
      - NTU RGB+D 120: also nturgbd_skeletons_s018_to_s032.zip
    Put the zip files, or the `nturgb+d_skeletons/` folders extracted from them,
    anywhere under `manual_dir` (zips are read in place; sub-folders are searched).
    A manual_dir holding only some `.skeleton` files builds a dataset of those.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        names = _read_lines(_HERE / "class_names.txt")[: self.builder_config.num_classes]
        return self.dataset_info_from_configs(
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict({
                "joints": tfds.features.Tensor(
                    shape=(None, ntu.NUM_JOINTS, ntu.NUM_PERSONS, 3), dtype=np.float32,
                    doc="(frames, 25 joints, 2 persons, xyz) metres, normalised; true frame count"),
                "origin": tfds.features.Tensor(
                    shape=(None, 3), dtype=np.float32,
                    doc="(frames, 3): person 0's spine per frame in the normalised axes, as "
                        "subtracted; used by pad_to_official_length"),
                "valid_frames": tfds.features.Tensor(
                    shape=(ntu.NUM_PERSONS,), dtype=np.int32,
                    doc="per person, frames before the official padding repeats them"),
                "num_frames": tfds.features.Scalar(dtype=np.int32, doc="frames in the raw file"),
                "label": tfds.features.ClassLabel(names=names),
                "sample_name": tfds.features.Text(doc="e.g. S001C002P003R002A013"),
                "setup": tfds.features.Scalar(dtype=np.int32),
                "camera": tfds.features.Scalar(dtype=np.int32),
                "subject": tfds.features.Scalar(dtype=np.int32),
                "replication": tfds.features.Scalar(dtype=np.int32),
            }),
            supervised_keys=("joints", "label"),
            homepage="https://rose1.ntu.edu.sg/dataset/actionRecognition/",
            citation=CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _download_and_prepare(self, dl_manager, download_config):
        # Beam only when the user configured a runner: plain generation otherwise.
        self._use_beam = beam_requested(download_config)
        return super()._download_and_prepare(dl_manager, download_config)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        config = self.builder_config
        manual_dir = get_manual_dir(dl_manager, f"ntu_rgbd/{config.name}",
                                    instructions=self.MANUAL_DOWNLOAD_INSTRUCTIONS)
        found = _find_skeleton_files(manual_dir)
        if not found:
            raise FileNotFoundError(
                f"ntu_rgbd/{config.name}: no '.skeleton' files and no zip archives holding them "
                f"under manual_dir '{manual_dir}'. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        missing_list = "ntu60_missing_skeletons.txt" if config.num_classes == 60 else "ntu120_missing_skeletons.txt"
        missing = set(_read_lines(_HERE / missing_list))
        splits: dict[str, list] = {"train": [], "test": []}
        skipped_missing, outside = 0, 0
        for name, ref in sorted(found.items()):
            try:
                sample = ntu.parse_sample_name(name)
            except ValueError:
                outside += 1
                continue
            if sample.setup > config.max_setup or sample.action > config.num_classes:
                outside += 1
                continue
            if name in missing:
                skipped_missing += 1
                continue
            splits["train" if config.is_training(sample) else "test"].append((name, ref))
        logging.info(
            "ntu_rgbd/%s: %d files found, %d train, %d test; skipped %d listed as missing "
            "skeletons by the dataset authors and %d outside NTU-%d.", config.name, len(found),
            len(splits["train"]), len(splits["test"]), skipped_missing, outside, config.num_classes)
        self.info.metadata.update({
            "files_found": len(found),
            "skipped_missing_skeletons": skipped_missing,
            "skipped_outside_benchmark": outside,
        })
        if not splits["train"] and not splits["test"]:
            raise FileNotFoundError(
                f"ntu_rgbd/{config.name}: {len(found)} skeleton files under '{manual_dir}', none of "
                f"them in NTU-{config.num_classes} (setups S001-S{config.max_setup:03d}, actions "
                f"A001-A{config.num_classes:03d}) outside the missing-skeleton list.")
        return {split: self._generate_examples(items) for split, items in splits.items() if items}

    def _generate_examples(self, items):
        if getattr(self, "_use_beam", False):
            beam = tfds.core.lazy_imports.apache_beam
            return beam.Create(items) | beam.Map(_make_example)
        return (_make_example(item) for item in items)
