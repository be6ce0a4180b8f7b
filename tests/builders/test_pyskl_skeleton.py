"""The `pyskl_skeleton` TFDS builder: PYSKL's annotation pickles (the dummy
data: synthetic files in the official layout) built into train / test as the
file's protocol lists say, values as stored (2 persons kept), and the errors
for a missing file or a file that does not fit the config."""

import pickle
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo.formats.pyskl_annotations import AnnotationFileError
from tfds_builders.pyskl_skeleton import pyskl_skeleton

DUMMY = pyskl_skeleton._HERE / "dummy_data"


class PysklNtu120HrnetXsetTest(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = pyskl_skeleton.PysklSkeleton
    SKIP_CHECKSUMS = True
    BUILDER_CONFIG_NAMES_TO_TEST = ["ntu120_hrnet_xset"]
    SPLITS = {"train": 2, "test": 4}  # S002, S018 train; S001 (2), S003, S019 test


def _build(config, manual_dir, data_dir):
    builder = pyskl_skeleton.PysklSkeleton(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    return builder


def _official(pkl_file):
    # Our own synthetic file: plain pickle is fine here.
    with open(DUMMY / pkl_file, "rb") as f:
        return pickle.load(f)


@pytest.mark.parametrize("config,pkl_file,protocol", [
    ("ntu60_3d_xview", "ntu60_3danno.pkl", "xview"),
    ("ntu120_hrnet_xsub", "ntu120_hrnet.pkl", "xsub"),
])
def test_builder_output_equals_the_file(config, pkl_file, protocol, tmp_path):
    builder = _build(config, DUMMY, tmp_path)
    official = _official(pkl_file)
    annotations = {a["frame_dir"]: a for a in official["annotations"]}
    is_2d = "hrnet" in config
    num_classes = 120 if config.startswith("ntu120") else 60
    features = builder.info.features
    assert features["label"].num_classes == num_classes and features["label"].int2str(0) == "drink water"
    assert ("img_shape" in features) == is_2d
    assert features["joints"].shape == (None, 17 if is_2d else 25, 2, 3)
    assert builder.info.metadata["layout"] == ("coco17" if is_2d else "ntu25")
    more = sum(a["keypoint"].shape[0] > 2 for a in official["annotations"])
    assert builder.info.metadata["videos_with_more_persons"] == more == (1 if is_2d else 0)
    for split, official_split in (("train", f"{protocol}_train"), ("test", f"{protocol}_val")):
        examples = list(tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)))
        assert sorted(e["frame_dir"].decode() for e in examples) == sorted(official["split"][official_split])
        for example in examples:
            raw = annotations[example["frame_dir"].decode()]
            keypoint = raw["keypoint"].astype(np.float32)
            if is_2d:
                keypoint = np.concatenate([keypoint, raw["keypoint_score"][..., None].astype(np.float32)], -1)
                np.testing.assert_array_equal(example["img_shape"], raw["img_shape"])
            persons = keypoint.shape[0]
            assert example["label"] == raw["label"] and example["num_persons"] == persons
            assert example["total_frames"] == raw["total_frames"] == example["joints"].shape[0]
            kept = min(persons, 2)
            np.testing.assert_array_equal(example["joints"][:, :, :kept], keypoint[:kept].transpose(1, 2, 0, 3))
            assert not example["joints"][:, :, kept:].any()


def test_missing_file_message_gives_the_download_url(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)empty' does not exist or is empty; expected ntu60_3danno\.pkl"
                                                r".*https://download\.openmmlab\.com/mmaction/pyskl/data/nturgbd/"
                                                r"ntu60_3danno\.pkl"):
        _build("ntu60_3d_xsub", tmp_path / "empty", tmp_path / "data")
    (tmp_path / "other").mkdir()
    shutil.copy(DUMMY / "ntu60_3danno.pkl", tmp_path / "other")
    with pytest.raises(FileNotFoundError, match=r"(?s)other/ntu120_hrnet\.pkl' not found.*ntu120_hrnet\.pkl"):
        _build("ntu120_hrnet_xset", tmp_path / "other", tmp_path / "data")


@pytest.mark.parametrize("config,source,message", [
    # 2D keypoints saved under the 3D file's name
    ("ntu60_3d_xsub", "ntu60_hrnet.pkl", r"pyskl_skeleton/ntu60_3d_xsub expects 25 joints, 3D keypoints "
                                         r"\(ntu60_3danno\.pkl\), found 17 joints, 2D"),
    # NTU-120 saved as NTU-60: no cross-view lists
    ("ntu60_3d_xview", "ntu120_3danno.pkl", r"key 'split': expected a split named 'xview_train', found "
                                            r"\['xset_train', 'xset_val', 'xsub_train', 'xsub_val'\]"),
    # ... and classes beyond 60
    ("ntu60_3d_xsub", "ntu120_3danno.pkl", r"annotations\[4\] \(frame_dir 'S018C001P045R001A061'\), key 'label': "
                                           r"expected a class of NTU-60 \(0 to 59\) .*found 60"),
])
def test_a_file_that_does_not_fit_the_config_is_refused(config, source, message, tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    pkl_file = next(c.pkl_file for c in pyskl_skeleton.PysklSkeleton.BUILDER_CONFIGS if c.name == config)
    shutil.copy(DUMMY / source, manual / pkl_file)
    with pytest.raises(AnnotationFileError, match=message) as error:
        _build(config, manual, tmp_path / "data")
    assert str(manual / pkl_file) in str(error.value)
    assert not pyskl_skeleton.PysklSkeleton(config=config, data_dir=str(tmp_path / "data")).is_prepared()
