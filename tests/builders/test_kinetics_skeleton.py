"""The `kinetics_skeleton` TFDS builder: equal to the official converter,
splits, labels and metadata, zips read in place, only-validation folders,
malformed files and the missing-files messages."""

import json
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo import layouts
from skeleton_zoo.formats import kinetics
from skeleton_zoo.tasks.action_recognition import TASK
from tfds_builders.kinetics_skeleton import kinetics_skeleton

from conftest import BUILDERS, FIXTURES

DUMMY = BUILDERS / "kinetics_skeleton" / "dummy_data"
TRAIN_ZIP = DUMMY / "kinetics-skeleton_train_sample.zip"
# The sample zip's training videos are copies of validation videos.
TRAIN_COPIES = {"train_one_person": "vid_one_person", "train_three_people": "vid_three_people"}


@pytest.fixture(scope="module")
def expected():
    """The official converter's output, channels-last (N, T, V, M, C)."""
    data = np.load(FIXTURES / "kinetics" / "kinetics_expected.npz")
    meta = json.loads(str(data["meta"]))
    return {"names": meta["names"], "labels": data["labels"], "joints": np.transpose(data["joints"], (0, 2, 3, 4, 1))}


def _build(manual_dir, data_dir, **download):
    builder = kinetics_skeleton.KineticsSkeleton(data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir), **download))
    return builder


def _examples(builder):
    """{video id: (split, example)} of every split."""
    out = {}
    for split in builder.info.splits:
        for example in tfds.as_numpy(builder.as_dataset(split=split)):
            out[example["video_id"].decode()] = (split, example)
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _build(DUMMY, tmp_path_factory.mktemp("kinetics_data"))


# --- the TFDS builder --------------------------------------------------------------------
class KineticsSkeletonTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = kinetics_skeleton.KineticsSkeleton
    SKIP_CHECKSUMS = True
    SPLITS = {"train": 2, "validation": 4}  # vid_no_skeleton is skipped; train_missing_file has no file


def test_builder_output_equals_the_official_converter(built, expected):
    examples = _examples(built)
    assert sorted(examples) == sorted([*expected["names"], *TRAIN_COPIES])
    for i, name in enumerate(expected["names"]):
        split, example = examples[name]
        assert split == "validation"
        assert example["label"] == expected["labels"][i]
        assert example["joints"].shape == (300, 18, 2, 3) and example["joints"].dtype == np.float32
        np.testing.assert_array_equal(example["joints"].view(np.uint32), expected["joints"][i].view(np.uint32),
                                      err_msg=name)
        raw = json.loads((DUMMY / "kinetics_val" / f"{name}.json").read_text())
        assert example["num_frames"] == 1 + max(frame["frame_index"] for frame in raw["data"])
    for copy, original in TRAIN_COPIES.items():
        split, example = examples[copy]
        assert split == "train"
        np.testing.assert_array_equal(example["joints"], examples[original][1]["joints"])


def test_features_labels_and_metadata(built):
    features = built.info.features
    TASK.check_dataset(built, "kinetics_skeleton")  # raises unless it has the action task's features
    assert features["joints"].shape[1] == layouts.get_layout("openpose18").num_joints
    names = (BUILDERS / "kinetics_skeleton" / "class_names.txt").read_text().splitlines()
    assert features["label"].names == names and len(names) == kinetics_skeleton.NUM_CLASSES
    assert built.info.supervised_keys == ("joints", "label")
    labels = kinetics.read_label_file(DUMMY / "kinetics_val_label.json")
    videos = {p.stem for p in (DUMMY / "kinetics_val").glob("*.json")}
    # The fixture's label strings are synthetic: counted, not refused.
    mismatches = sum(1 for v, e in labels.items() if v in videos and e.has_skeleton and e.label != names[e.label_index])
    assert mismatches > 0
    assert built.info.metadata == {
        "videos_found": len(videos) + len(TRAIN_COPIES),
        "skipped_no_skeleton": sum(1 for v, e in labels.items() if v in videos and not e.has_skeleton),
        "labelled_videos_without_file": 1,  # train_missing_file
        "label_name_mismatches": mismatches,
    }


def test_pad_to_official_length(built):
    example = next(iter(built.as_dataset(split="validation").take(1)))
    joints = example["joints"].numpy()
    longer = kinetics_skeleton.pad_to_official_length(example, 320)["joints"].numpy()
    assert longer.shape == (320, 18, 2, 3) and not longer[300:].any()
    np.testing.assert_array_equal(longer[:300], joints)
    np.testing.assert_array_equal(kinetics_skeleton.pad_to_official_length(example, 150)["joints"], joints[:150])


def test_validation_only_folder_builds_validation_only(tmp_path):
    manual = tmp_path / "manual" / "kinetics-skeleton"
    shutil.copytree(DUMMY / "kinetics_val", manual / "kinetics_val")
    shutil.copy(DUMMY / "kinetics_val_label.json", manual)
    builder = _build(tmp_path / "manual", tmp_path / "data")
    assert list(builder.info.splits) == ["validation"]  # what ActionRecognition.evaluate reads without a "test"
    assert builder.info.splits["validation"].num_examples == 4


def test_beam_direct_runner_builds_the_same_dataset(built, tmp_path):
    beam = pytest.importorskip("apache_beam")
    options = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner", "--direct_num_workers=1"])
    with_beam = _examples(_build(DUMMY, tmp_path / "beam", beam_options=options))
    plain = _examples(built)
    assert sorted(with_beam) == sorted(plain)
    for name, (split, example) in plain.items():
        assert with_beam[name][0] == split
        np.testing.assert_array_equal(with_beam[name][1]["joints"], example["joints"])


# --- bad manual_dir contents ---------------------------------------------------------------
def _manual_copy(tmp_path):
    manual = tmp_path / "manual"
    shutil.copytree(DUMMY / "kinetics_val", manual / "kinetics_val")
    shutil.copy(DUMMY / "kinetics_val_label.json", manual)
    return manual


def _assert_nothing_built(data_dir):
    assert not kinetics_skeleton.KineticsSkeleton(data_dir=str(data_dir)).is_prepared()


def test_malformed_video_aborts_the_build_naming_file_and_entry(tmp_path):
    manual = _manual_copy(tmp_path)
    video = manual / "kinetics_val" / "vid_gaps_six_people.json"
    content = json.loads(video.read_text())
    content["data"][2]["skeleton"][0]["score"] = content["data"][2]["skeleton"][0]["score"][:17]
    video.write_text(json.dumps(content))
    with pytest.raises(kinetics.KineticsFileError,
                       match=r"vid_gaps_six_people\.json', data\[2\] \(frame_index \d+\), skeleton\[0\]: score must "
                             r"hold 18 numbers, found 17"):
        _build(manual, tmp_path / "data")
    _assert_nothing_built(tmp_path / "data")


def test_unknown_video_and_mismatched_label_index(tmp_path):
    manual = _manual_copy(tmp_path)
    shutil.copy(manual / "kinetics_val" / "vid_long.json", manual / "kinetics_val" / "not_labelled.json")
    with pytest.raises(kinetics.KineticsFileError, match=r"not_labelled\.json', video id 'not_labelled': the label "
                                                         r"file '.*kinetics_val_label\.json' has no entry"):
        _build(manual, tmp_path / "data")
    (manual / "kinetics_val" / "not_labelled.json").unlink()
    labels = json.loads((manual / "kinetics_val_label.json").read_text())
    labels["vid_long"]["label_index"] += 1
    (manual / "kinetics_val_label.json").write_text(json.dumps(labels))
    with pytest.raises(kinetics.KineticsFileError, match=r"vid_long\.json', label_index: the file says 12, its label "
                                                         r"file 13"):
        _build(manual, tmp_path / "data")
    _assert_nothing_built(tmp_path / "data")


def test_missing_manual_files_messages(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)empty' does not exist or is empty.*kinetics_val_label\.json"):
        _build(tmp_path / "empty", tmp_path / "data")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "readme.txt").write_text("not Kinetics")
    with pytest.raises(FileNotFoundError, match=r"(?s)no kinetics_train/ or kinetics_val/ video JSONs.*other'.*"
                                                r"drive\.google\.com"):
        _build(tmp_path / "other", tmp_path / "data")
    manual = _manual_copy(tmp_path)
    (manual / "kinetics_val_label.json").unlink()
    with pytest.raises(FileNotFoundError, match=r"5 videos in kinetics_val/ .* but no kinetics_val_label\.json"):
        _build(manual, tmp_path / "data")
