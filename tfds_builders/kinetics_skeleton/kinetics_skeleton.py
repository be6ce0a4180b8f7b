"""Kinetics-Skeleton (ST-GCN's OpenPose-18 skeletons of Kinetics-400),
converted exactly as the official `kinetics_gendata.py` (ST-GCN, ST-TR).

Splits `train` (`kinetics_train/`) and `validation` (`kinetics_val/`, the
split the papers report). Each example is one video JSON through
`skeleton_zoo.formats.kinetics`: `joints` (300, 18, 2, 3) is the official
array of the video in our channels-last layout (frames, joints, persons,
[x - 0.5, -(y - 0.5), score]). Videos whose label entry says
`has_skeleton: false` are skipped, as officially.

Labels are the label files' `label_index`, as the official converter takes
them; the class names (`class_names.txt`, ST-GCN's
`resource/kinetics_skeleton/label_name.txt`: the 400 Kinetics classes in
index order) are fixed, so a manual_dir holding only a few classes builds a
dataset of those with the same 400-class label space. A label entry whose
`label` string differs from the name of its `label_index` is counted in
`info.metadata["label_name_mismatches"]` and logged, not refused: the index
is what the official pipeline trains on.

`pad_to_official_length` fits `joints` to another clip length inside a
`tf.data` pipeline (the official padding is zeros).

Building with Apache Beam (Dataflow, Spark, Flink, or the DirectRunner): pass
`beam_runner` or `beam_options` in `tfds.download.DownloadConfig`, or
`--beam_pipeline_options` to `tfds build`; examples are then produced by a
Beam pipeline, one video per element.
"""

from __future__ import annotations

import re
import zipfile

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath

from skeleton_zoo.formats import kinetics
from tfds_builders.manual import beam_requested, read_zip_member
from tfds_builders.manual import manual_dir as get_manual_dir

__all__ = ["KineticsSkeleton", "pad_to_official_length"]

_HERE = epath.Path(__file__).parent
NUM_CLASSES = 400

_DESCRIPTION = """
Kinetics-Skeleton: 2D skeletons of the Kinetics-400 videos (400 actions;
about 240,000 training and 20,000 validation clips), extracted by the ST-GCN
authors with OpenPose (18 joints, videos resized to 340x256 at 30 fps, x and
y normalised by the frame size, a confidence score per joint).

Converted exactly as the official ST-GCN / ST-TR `kinetics_gendata.py`: the
first 5 people listed in each frame, centred (x - 0.5, -(y - 0.5)), zero
where a joint's score is 0, re-ranked per frame by summed score with the 2
highest kept, in a 300-frame clip. `joints` is that clip, (frames, joints,
persons, channels). Videos without skeletons (`has_skeleton: false`) are
skipped.
"""

_CITATION = """
@article{kay2017kinetics,
  title={The Kinetics Human Action Video Dataset},
  author={Kay, Will and Carreira, Joao and Simonyan, Karen and Zhang, Brian and Hillier, Chloe and
          Vijayanarasimhan, Sudheendra and Viola, Fabio and Green, Tim and Back, Trevor and Natsev, Paul and
          Suleyman, Mustafa and Zisserman, Andrew},
  journal={arXiv preprint arXiv:1705.06950}, year={2017}}
@inproceedings{yan2018spatial,
  title={Spatial Temporal Graph Convolutional Networks for Skeleton-Based Action Recognition},
  author={Yan, Sijie and Xiong, Yuanjun and Lin, Dahua},
  booktitle={AAAI}, year={2018}}
"""

# kinetics-skeleton/ part -> TFDS split
_SPLITS = {"train": "train", "val": "validation"}
# Hidden files (macOS zips' "__MACOSX/.../._<id>.json") are not videos.
_VIDEO = re.compile(r"(?:^|/)kinetics_(train|val)/([^/.][^/]*\.json)$")
_LABELS = re.compile(r"(?:^|/)kinetics_(train|val)_label\.json$")


def pad_to_official_length(example: dict, length: int = kinetics.MAX_FRAMES) -> dict:
    """`tf.data` map function: `joints` (300, 18, 2, 3) -> (length, 18, 2, 3):
    zero frames appended past the end (the official padding), or the first
    `length` frames kept.

        ds = tfds.load("kinetics_skeleton", split="train").map(pad_to_official_length)
    """
    import tensorflow as tf

    example = dict(example)
    joints = example["joints"][:length]
    extra = tf.maximum(length - tf.shape(joints)[0], 0)
    example["joints"] = tf.pad(joints, [[0, extra], [0, 0], [0, 0], [0, 0]])
    return example


def _describe(ref) -> str:
    file, member = ref
    return file if member is None else f"{file}:{member}"


def _read_bytes(ref: tuple[str, str | None]) -> bytes:
    file, member = ref
    try:
        if member is None:
            return epath.Path(file).read_bytes()
        return read_zip_member(file, member)
    except (zipfile.BadZipFile, OSError, KeyError) as error:
        raise ValueError(f"Kinetics-Skeleton file '{_describe(ref)}' cannot be read ({error}).") from None


def _find_files(manual_dir: epath.Path):
    """Video JSONs and label files anywhere under `manual_dir`, loose or in
    zip archives (first found wins).

    Returns:
        ({part: {video id: ref}}, {part: label file ref}, duplicates), part
        "train" or "val", a ref (file, zip member or None).
    """
    videos: dict[str, dict[str, tuple]] = {part: {} for part in _SPLITS}
    labels: dict[str, tuple] = {}
    duplicates = 0
    paths = [epath.Path(folder) / name for folder, _, names in manual_dir.walk() for name in names]
    for path in sorted(paths):
        if path.name.endswith(".zip"):
            try:
                with path.open("rb") as f, zipfile.ZipFile(f) as archive:
                    refs = [(member, (str(path), member)) for member in sorted(archive.namelist())]
            except (zipfile.BadZipFile, OSError) as error:
                raise ValueError(f"Kinetics-Skeleton archive '{path}' in manual_dir is not a readable zip file "
                                 f"({error}); download it again, or remove it.") from None
        elif path.name.endswith(".json"):
            refs = [(path.relative_to(manual_dir).as_posix(), (str(path), None))]
        else:
            continue
        for name, ref in refs:
            if match := _VIDEO.search(name):
                found = videos[match.group(1)]
                video = kinetics.video_id(match.group(2))
                if video in found:
                    duplicates += 1
                    continue
                found[video] = ref
            elif match := _LABELS.search(name):
                labels.setdefault(match.group(1), ref)
    return videos, labels, duplicates


def _make_example(item):
    """(video id, file ref, label index) -> (key, example)."""
    video, ref, label_index = item
    joints, read = kinetics.process_video(_read_bytes(ref), path=_describe(ref), label_index=label_index,
                                          return_details=True)
    return video, {"joints": joints, "label": label_index, "video_id": video, "num_frames": read.num_frames}


class KineticsSkeleton(tfds.core.GeneratorBasedBuilder):
    """Kinetics-Skeleton (400 classes) with the official ST-GCN / ST-TR conversion."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release: official ST-GCN / ST-TR kinetics_gendata.py conversion."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Download Kinetics-Skeleton (7.5 GB), published by the ST-GCN authors
    (https://github.com/yysijie/st-gcn, OLD_README.md "Kinetics-skeleton"):
      GoogleDrive https://drive.google.com/open?id=1SPQ6FmFsjGg3f59uCWfdUWI-5HJM_YhZ
      or BaiduYun https://pan.baidu.com/s/1dwKG2TLvG-R1qeIiE4MjeA
    It holds `kinetics-skeleton/` with
      kinetics_train/<video id>.json, kinetics_train_label.json  (split `train`)
      kinetics_val/<video id>.json,   kinetics_val_label.json    (split `validation`)
    Put the zip file(s), or the extracted `kinetics-skeleton/` folder, anywhere
    under `manual_dir` (zips are read in place; sub-folders are searched). A
    part present without its label file is an error; a manual_dir holding only
    `kinetics_val` builds only `validation`.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=_DESCRIPTION,
            features=tfds.features.FeaturesDict({
                "joints": tfds.features.Tensor(
                    shape=(kinetics.MAX_FRAMES, kinetics.NUM_JOINTS, kinetics.NUM_PERSONS, 3), dtype=np.float32,
                    # zlib: absent people and frames past a video's end are zeros
                    encoding=tfds.features.Encoding.ZLIB,
                    doc="(300 frames, 18 OpenPose joints, 2 persons, [x - 0.5, -(y - 0.5), score]): the official "
                        "clip; zeros past the video's end, for absent people and where a joint's score is 0"),
                "label": tfds.features.ClassLabel(names_file=str(_HERE / "class_names.txt")),
                "video_id": tfds.features.Text(doc="YouTube id of the Kinetics clip, the JSON's file name"),
                "num_frames": tfds.features.Scalar(
                    dtype=np.int32, doc="1 + the largest frame_index listed in the JSON (0 for none)"),
            }),
            supervised_keys=("joints", "label"),
            homepage="https://github.com/yysijie/st-gcn",
            citation=_CITATION,
            metadata=tfds.core.MetadataDict(),
        )

    def _download_and_prepare(self, dl_manager, download_config):
        # Beam only when the user configured a runner: plain generation otherwise.
        self._use_beam = beam_requested(download_config)
        return super()._download_and_prepare(dl_manager, download_config)

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        manual_dir = get_manual_dir(dl_manager, "kinetics_skeleton", instructions=self.MANUAL_DOWNLOAD_INSTRUCTIONS)
        videos, label_files, duplicates = _find_files(manual_dir)
        if not any(videos.values()) and not label_files:
            raise FileNotFoundError(
                f"kinetics_skeleton: no kinetics_train/ or kinetics_val/ video JSONs, no label files and no zip "
                f"archives holding them under manual_dir '{manual_dir}'. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
        names = self.info.features["label"].names
        splits: dict[str, list] = {}
        skipped, without_file, mismatches = 0, 0, []
        for part, split in _SPLITS.items():
            found = videos[part]
            if not found and part not in label_files:
                continue
            if part not in label_files:
                raise FileNotFoundError(
                    f"kinetics_skeleton: {len(found)} videos in kinetics_{part}/ under '{manual_dir}' but no "
                    f"kinetics_{part}_label.json (it holds their labels). {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
            label_path = _describe(label_files[part])
            if not found:
                raise FileNotFoundError(
                    f"kinetics_skeleton: '{label_path}' but no video JSONs in a kinetics_{part}/ folder under "
                    f"'{manual_dir}'. {self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
            labels = kinetics.read_label_file(_read_bytes(label_files[part]), path=label_path)
            items = []
            for video, ref in sorted(found.items()):
                entry = kinetics.label_of(labels, _describe(ref), label_path)
                if not entry.has_skeleton:
                    skipped += 1
                    continue
                if not 0 <= entry.label_index < NUM_CLASSES:
                    raise kinetics.KineticsFileError(label_path, f"video '{video}'", (
                        f"label_index must be in [0, {NUM_CLASSES}), found {entry.label_index}."))
                if entry.label is not None and entry.label != names[entry.label_index]:
                    mismatches.append(f"{video}: '{entry.label}' (index {entry.label_index}: "
                                      f"'{names[entry.label_index]}')")
                items.append((video, ref, entry.label_index))
            without_file += sum(1 for video, entry in labels.items() if entry.has_skeleton and video not in found)
            if items:
                splits[split] = items
        logging.info(
            "kinetics_skeleton: %s; skipped %d videos without skeletons (has_skeleton false); %d labelled videos "
            "with skeletons have no file; %d files found more than once (the first copy is used).",
            ", ".join(f"{split} {len(items)}" for split, items in splits.items()), skipped, without_file,
            duplicates)
        if mismatches:
            logging.warning(
                "kinetics_skeleton: %d label entries name another class than class_names.txt gives their "
                "label_index (the index is used, as officially), e.g. %s.", len(mismatches), "; ".join(mismatches[:3]))
        self.info.metadata.update({
            "videos_found": sum(len(found) for found in videos.values()),
            "skipped_no_skeleton": skipped,
            "labelled_videos_without_file": without_file,
            "label_name_mismatches": len(mismatches),
        })
        if not splits:
            raise FileNotFoundError(
                f"kinetics_skeleton: every video under '{manual_dir}' has has_skeleton false in its label file; "
                f"nothing to build.")
        return {split: self._generate_examples(items) for split, items in splits.items()}

    def _generate_examples(self, items):
        if getattr(self, "_use_beam", False):
            beam = tfds.core.lazy_imports.apache_beam
            return beam.Create(items) | beam.Map(_make_example)
        return (_make_example(item) for item in items)
