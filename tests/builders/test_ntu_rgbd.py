"""The `ntu_rgbd` TFDS builder: equal to the official pipeline (generator and
Beam), zips read in place, missing samples skipped, malformed files and the
missing-files message."""

import json
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo import layouts
from skeleton_zoo.formats import ntu
from tfds_builders.ntu_rgbd import ntu_rgbd

from conftest import NTU_DUMMY as DUMMY
from conftest import ntu_skeleton as _skeleton


@pytest.fixture(scope="module")
def expected(ntu_expected):
    return ntu_expected


# --- the TFDS builder ------------------------------------------------------------------
class NtuXsub60Test(tfds.testing.DatasetBuilderTestCase):
    DATASET_CLASS = ntu_rgbd.NtuRgbd
    SKIP_CHECKSUMS = True
    BUILDER_CONFIG_NAMES_TO_TEST = ["xsub60"]
    SPLITS = {"train": 2, "test": 2}  # S019 (NTU-120 only) is left out


class NtuXview60Test(NtuXsub60Test):
    BUILDER_CONFIG_NAMES_TO_TEST = ["xview60"]
    SPLITS = {"train": 2, "test": 2}


class NtuXsub120Test(NtuXsub60Test):
    BUILDER_CONFIG_NAMES_TO_TEST = ["xsub120"]
    SPLITS = {"train": 3, "test": 2}


class NtuXset120Test(NtuXsub60Test):
    BUILDER_CONFIG_NAMES_TO_TEST = ["xset120"]
    SPLITS = {"train": 1, "test": 4}


def _build(config, manual_dir, data_dir, **download):
    builder = ntu_rgbd.NtuRgbd(config=config, data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir), **download))
    return builder


def _examples(builder):
    out = {}
    for split in builder.info.splits:
        ds = builder.as_dataset(split=split).map(ntu_rgbd.pad_to_official_length)
        for example in tfds.as_numpy(ds):
            out[example["sample_name"].decode()] = (split, example)
    return out


@pytest.mark.parametrize("config", ["xsub60", "xview60"])
def test_builder_output_equals_the_official_pipeline(config, expected, tmp_path):
    meta = expected["meta"]
    examples = _examples(_build(config, DUMMY, tmp_path))
    ntu60 = [n for n in meta["names"] if int(n[1:4]) <= 17]
    assert sorted(examples) == sorted(ntu60)
    for name, (split, example) in examples.items():
        i = meta["names"].index(name)
        assert example["label"] == meta["labels"][i]
        assert split == ("train" if name in meta[f"{config}_train"] else "test")
        np.testing.assert_allclose(example["joints"], expected["joints"][i], atol=1e-5, rtol=0, err_msg=name)
        bones = layouts.joints_to_bones(example["joints"], layouts.get_layout("ntu25"), joint_axis=1)
        np.testing.assert_allclose(bones, expected["bones"][i], atol=1e-5, rtol=0, err_msg=name)
        assert example["num_frames"] == int(_skeleton(name).read_text().split()[0])


def test_builder_reads_zips_in_place_and_skips_listed_missing_samples(tmp_path):
    manual = tmp_path / "manual"
    (manual / "deep" / "folder").mkdir(parents=True)
    shutil.copy(DUMMY / "nturgbd_skeletons_s017_s019_sample.zip", manual / "deep" / "folder")
    # A file named as one of the dataset authors' missing samples is skipped.
    shutil.copy(_skeleton("S001C001P001R001A001"), manual / "S001C002P005R002A008.skeleton")
    builder = _build("xsub120", manual, tmp_path / "data")
    assert builder.info.metadata["skipped_missing_skeletons"] == 1
    assert builder.info.metadata["files_found"] == 3
    assert sorted(_examples(builder)) == ["S017C001P020R002A060", "S019C002P045R001A120"]


def test_missing_manual_files_message(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"(?s)empty' does not exist or is empty.*nturgbd_skeletons_s001_to_s017\.zip"):
        _build("xsub60", tmp_path / "empty", tmp_path / "data")
    # Files, but no skeletons: ours.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "readme.txt").write_text("not a skeleton")
    with pytest.raises(FileNotFoundError, match=r"(?s)no '\.skeleton' files.*other.*nturgbd_skeletons_s001_to_s017\.zip"):
        _build("xsub60", tmp_path / "other", tmp_path / "data")


def test_malformed_file_aborts_the_build_and_writes_nothing(tmp_path):
    manual = tmp_path / "manual"
    shutil.copytree(DUMMY / "nturgb+d_skeletons", manual)
    broken = manual / "S003C003P004R001A010.skeleton"
    broken.write_bytes(broken.read_bytes()[:5000])
    with pytest.raises(ntu.SkeletonFileError, match=r"S003C003P004R001A010\.skeleton', line \d+"):
        _build("xsub60", manual, tmp_path / "data")
    leftovers = [p for p in (tmp_path / "data").rglob("*") if p.is_file()]
    assert not any(p.name.startswith("dataset_info.json") for p in leftovers)
    assert not ntu_rgbd.NtuRgbd(config="xsub60", data_dir=str(tmp_path / "data")).is_prepared()


def test_beam_direct_runner_builds_the_same_dataset(tmp_path):
    beam = pytest.importorskip("apache_beam")
    options = beam.options.pipeline_options.PipelineOptions(["--runner=DirectRunner", "--direct_num_workers=1"])
    with_beam = _examples(_build("xview60", DUMMY, tmp_path / "beam", beam_options=options))
    plain = _examples(_build("xview60", DUMMY, tmp_path / "plain"))
    assert sorted(with_beam) == sorted(plain) and len(plain) == 4
    for name, (split, example) in plain.items():
        assert with_beam[name][0] == split
        np.testing.assert_array_equal(with_beam[name][1]["joints"], example["joints"])


def test_tfds_build_command_line(tmp_path):
    import os
    import pathlib
    import subprocess
    import sys

    tfds_cli = pathlib.Path(sys.executable).parent / "tfds"
    command = [str(tfds_cli), "build", "ntu_rgbd", "--imports", "tfds_builders", "--config", "xview60",
               "--manual_dir", str(DUMMY), "--data_dir", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-3000:]
    built = tmp_path / "ntu_rgbd" / "xview60" / "1.0.0"
    assert json.loads((built / "metadata.json").read_text())["files_found"] == 5
    assert sorted(p.name.split(".")[0] for p in built.glob("*.tfrecord*")) == ["ntu_rgbd-test", "ntu_rgbd-train"]
