"""NTU RGB+D: raw reader, official preprocessing, the `ntu_rgbd` TFDS builder
(generator and Beam), malformed files and the missing-files message."""

import json
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo import layouts, ntu
from tfds_builders.ntu_rgbd import ntu_rgbd

from conftest import FIXTURES

NTU = FIXTURES / "ntu"
DUMMY = ntu_rgbd._HERE / "dummy_data"


@pytest.fixture(scope="module")
def expected():
    data = np.load(NTU / "ntu_expected.npz")
    meta = json.loads(str(data["meta"]))
    # official (N, C, T, V, M) -> ours (N, T, V, M, C)
    return {"meta": meta, **{k: np.transpose(data[k], (0, 2, 3, 4, 1)) for k in ("raw", "joints", "bones")}}


def _skeleton(name):
    return NTU / "skeletons" / f"{name}.skeleton"


# --- reader and preprocessing ------------------------------------------------------
def test_reader_and_body_selection_match_the_official_raw_data(expected):
    for i, name in enumerate(expected["meta"]["names"]):
        bodies = ntu.select_bodies(ntu.read_skeleton(_skeleton(name)))  # (2, T, 25, 3)
        raw = np.zeros((300, 25, 2, 3), np.float32)
        raw[:bodies.shape[1]] = np.transpose(bodies, (1, 2, 0, 3))
        np.testing.assert_allclose(raw, expected["raw"][i], atol=1e-5, rtol=0, err_msg=name)


def test_ghost_body_is_dropped_by_energy():
    slots = ntu.read_skeleton(_skeleton("S017C001P020R002A060"))
    assert np.count_nonzero(np.abs(slots).sum(axis=(1, 2, 3))) == 3  # three bodies listed
    kept = ntu.select_bodies(slots)
    energies = [ntu._nonzero_std_energy(b) for b in slots]
    ghost = int(np.argmin(energies[:3]))
    assert not any(np.array_equal(k, slots[ghost]) for k in kept)


def test_official_normalisation_and_bones(expected):
    ntu25 = layouts.get_layout("ntu25")
    for i, name in enumerate(expected["meta"]["names"]):
        joints = ntu.process_skeleton(_skeleton(name))  # (300, 25, 2, 3)
        np.testing.assert_allclose(joints, expected["joints"][i], atol=1e-5, rtol=0, err_msg=name)
        bones = layouts.joints_to_bones(joints, ntu25, joint_axis=1)
        np.testing.assert_allclose(bones, expected["bones"][i], atol=1e-5, rtol=0, err_msg=name)


def test_padding_from_stored_frames_reproduces_the_official_clip(expected):
    for i, name in enumerate(expected["meta"]["names"]):
        joints, origin, valid, frames = ntu.process_skeleton(_skeleton(name), return_details=True)
        padded = ntu.pad_like_official(joints[:frames], origin[:frames], valid).numpy()
        np.testing.assert_allclose(padded, expected["joints"][i], atol=1e-5, rtol=0, err_msg=name)
    empty = ntu.pad_like_official(np.zeros((0, 25, 2, 3)), np.zeros((0, 3)), [0, 0]).numpy()
    assert empty.shape == (300, 25, 2, 3) and not empty.any()


def test_sample_names():
    sample = ntu.parse_sample_name("/data/nturgb+d_skeletons/S018C002P045R001A120.skeleton")
    assert (sample.setup, sample.camera, sample.subject, sample.replication, sample.action) == (18, 2, 45, 1, 120)
    with pytest.raises(ValueError, match="not an NTU sample name"):
        ntu.parse_sample_name("clip_01.skeleton")


# --- malformed files -----------------------------------------------------------------
def _broken(tmp_path, edit):
    lines = _skeleton("S001C001P001R001A001").read_bytes().decode().split("\r\n")
    lines = edit(lines)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes("\r\n".join(lines).encode())
    return path


def _replace(index, text):
    def edit(lines):
        lines[index] = text
        return lines
    return edit


# Line numbers are 1-based; the file: 1 frame count, 2 body count, 3 body info,
# 4 joint count, 5-29 joints of frame 1, 30 body count of frame 2, ...
@pytest.mark.parametrize("edit,line,match", [
    (lambda lines: lines[:100], 100, "ends inside the joints of frame 4/60"),
    (lambda lines: lines[:29], 30, "the file ends where the body count of frame 2/60 was expected"),
    (_replace(6, "0.1 0.2 abc 1 1 1 1 1 1 1 1 2"), 7, "non-numeric field 'abc'"),
    (_replace(6, "0.1 0.2 0.3 1 1 1 1 1 1 1 1"), 7, "expected 12 numbers on a joint line, found 11"),
    (_replace(3, "24"), 4, "has 24 joints, expected 25"),
    (_replace(1, "2"), 30, "body info line of frame 1/60, body 2/2"),
    (_replace(0, "sixty"), 1, "expected the frame count"),
    (_replace(0, "59"), 1 + 59 * 28 + 1, "unexpected content after the last frame"),
])
def test_malformed_files_name_file_and_line(tmp_path, edit, line, match):
    path = _broken(tmp_path, edit)
    with pytest.raises(ntu.SkeletonFileError, match=match) as info:
        ntu.read_skeleton(path)
    assert info.value.path == str(path) and info.value.line == line
    assert f"'{path}', line {line}" in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(b"")
    with pytest.raises(ntu.SkeletonFileError, match="empty"):
        ntu.read_skeleton(path)


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
