"""A hostile new user: every bad argument and bad file gives one `error: ...`
line naming the flag or file (and entry or line), a non-zero status, no
traceback, and nothing written. The commands run in this process."""

import json
import os

import numpy as np
import pytest

from skeleton_zoo.cli import main

from conftest import ntu_skeleton


def run(capfd, *args):
    """(status, stdout, stderr lines that are ours)."""
    status = main(["skeleton_zoo", *map(str, args)])
    out, err = capfd.readouterr()
    return status, out, [line for line in err.splitlines() if line.strip()]


def assert_one_error(capfd, status, *args, contains=()):
    code, out, err = run(capfd, *args)
    errors = [line for line in err if line.startswith("error: ")]
    assert code == status, err
    assert len(errors) == 1 and not any("Traceback" in line for line in err), err
    for text in contains:
        assert text in errors[0], errors[0]
    return errors[0]


# --- counts, versions, help ---------------------------------------------------------------------
@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--batch_size", "-4"), ("--steps_per_epoch", "0"),
                                         ("--downsample", "0"), ("--learning_rate", "-1"), ("--lr_decay", "2")])
def test_train_counts_and_rates_are_checked_first(capfd, tmp_path, flag, value):
    out = tmp_path / "run"
    assert_one_error(capfd, 1, "train", "--model", "gast_9", flag, value, "--out", out, contains=(flag,))
    assert not out.exists()


@pytest.mark.parametrize("version", ["-1", "0"])
def test_export_versions_are_positive(capfd, tmp_path, version):
    assert_one_error(capfd, 1, "export", "--model", "gast_9", "--option", "channels=8", "--format", "saved_model",
                     "--version", version, "--out", tmp_path / "exported", contains=("--version", "positive"))
    assert not (tmp_path / "exported").exists()


def test_help_is_success(capfd):
    for command in ("train", "list", "export"):
        code, out, _ = run(capfd, command, "--help")
        assert code == 0 and "--" in out


def test_unknown_family_is_an_error(capfd):
    assert_one_error(capfd, 1, "list", "--family", "foo", contains=("Unknown model family 'foo'", "gast"))


# --- outputs ------------------------------------------------------------------------------------
def _clip(tmp_path, frames=10):
    path = tmp_path / "clip.npz"
    np.savez(path, keypoints=np.random.default_rng(0).uniform(100, 500, (frames, 17, 2)).astype("float32"),
             width=640, height=480)
    return path


def test_lift_never_replaces_an_output_without_overwrite(capfd, tmp_path):
    clip, out = _clip(tmp_path), tmp_path / "poses.npz"
    out.write_bytes(b"keep me")
    assert_one_error(capfd, 1, "lift", clip, "--model", "gast_9", "--out", out, contains=("--out", "--overwrite"))
    assert out.read_bytes() == b"keep me"
    code, _, err = run(capfd, "lift", clip, "--model", "gast_9", "--out", out, "--overwrite")
    assert code == 0, err
    with np.load(out) as result:
        assert result["poses_3d"].shape == (1, 10, 17, 3)
    deep = tmp_path / "missing" / "folder" / "poses.json"  # folders are made, no temporary name leaks
    assert run(capfd, "lift", clip, "--model", "gast_9", "--out", deep)[0] == 0 and deep.exists()
    assert [p.name for p in deep.parent.iterdir()] == ["poses.json"]


def test_a_failed_render_leaves_no_pose_file(capfd, tmp_path):
    clip, out = _clip(tmp_path), tmp_path / "new" / "poses.npz"
    assert_one_error(capfd, 1, "lift", clip, "--model", "gast_9", "--out", out, "--render",
                     tmp_path / "poses.txt", contains=("unsupported output",))
    assert not out.exists() and not (tmp_path / "poses.txt").exists()


def test_outputs_under_a_file_fail_before_any_work(capfd, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_one_error(capfd, 1, "lift", _clip(tmp_path), "--out", blocker / "poses.npz",
                     contains=("--out", "is a file, not a folder"))
    assert_one_error(capfd, 1, "export", "--model", "gast_9", "--out", blocker / "exported",
                     contains=("--out", "is a file"))
    assert_one_error(capfd, 1, "export", "--model", "gast_9", "--out", blocker, contains=("--out", "is a file"))


def test_export_never_replaces_files_without_overwrite(capfd, tmp_path):
    (tmp_path / "gast_9_sequence.onnx").write_bytes(b"keep me")
    assert_one_error(capfd, 1, "export", "--model", "gast_9", "--option", "channels=8", "--format", "onnx",
                     "--variant", "sequence", "--out", tmp_path, contains=("gast_9_sequence.onnx", "--overwrite"))
    assert (tmp_path / "gast_9_sequence.onnx").read_bytes() == b"keep me"


# --- bad files ----------------------------------------------------------------------------------
GAST_CASES = {
    "zero_index": ([{"frame_index": 0, "skeleton": []}], "'frame_index' 0 is outside 1..1,000,000"),
    "negative_index": ([{"frame_index": -3, "skeleton": []}], "'frame_index' -3 is outside"),
    "absurd_index": ([{"frame_index": 10 ** 12, "skeleton": []}], "is outside 1..1,000,000"),
    "missing_index": ([{"skeleton": []}], "'data' entry 0: 'frame_index' must be a whole number, found None"),
    "text_index": ([{"frame_index": "3", "skeleton": []}], "'frame_index' must be a whole number, found '3'"),
    "dict_skeleton": ([{"frame_index": 1, "skeleton": {"pose": [1]}}], "'skeleton' must be a list of people"),
    "text_entry": (["frame 1"], "'data' entry 0: expected an object"),
    "text_pose": ([{"frame_index": 1, "skeleton": [{"pose": ["a"] * 34, "bbox": [1]}]}],
                  "'data' entry 0 (frame 1): the keypoints must be a list of numbers"),
    "short_score": ([{"frame_index": 1, "skeleton": [{"pose": [1.0] * 34, "score": [1.0] * 5, "bbox": [1]}]}],
                    "'score' has 5 values, expected 17"),
    "infinite_pose": ([{"frame_index": 1, "skeleton": [{"pose": [1e400] * 34, "bbox": [1]}]}],
                      "holds a NaN or infinite value"),
}


@pytest.mark.parametrize("name", list(GAST_CASES))
def test_bad_gast_keypoint_files_name_file_and_entry(capfd, tmp_path, name):
    entries, problem = GAST_CASES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"label": "x", "data": entries}).replace("Infinity", "1e400"))
    out = tmp_path / "poses.npz"
    line = assert_one_error(capfd, 2, "lift", path, "--width", 640, "--height", 480, "--out", out,
                            contains=(str(path), problem))
    assert line.startswith(f"error: {path}: ")
    assert not out.exists()


@pytest.mark.parametrize("content, problem", [
    ({"data": "frames"}, "without a non-empty 'data' list"),
    ([{"image_id": 1, "keypoints": [1.0] * 51}, {"image_id": "2", "keypoints": [1.0] * 51}],
     "'image_id' values mix numbers and strings"),
])
def test_other_bad_keypoint_files(capfd, tmp_path, content, problem):
    path = tmp_path / "k.json"
    path.write_text(json.dumps(content))
    assert_one_error(capfd, 2, "lift", path, "--width", 640, "--height", 480, "--out", tmp_path / "p.npz",
                     contains=(str(path), problem))


def test_openpose_format_on_a_file_and_random_bytes_arrays(capfd, tmp_path):
    path = tmp_path / "frame_keypoints.json"
    path.write_text(json.dumps({"people": []}))
    assert_one_error(capfd, 2, "lift", path, "--format", "openpose", "--out", tmp_path / "p.npz",
                     contains=("--format openpose reads a folder", "this is a file"))
    noise = tmp_path / "noise.npz"
    noise.write_bytes(os.urandom(256))
    for command in (("lift", noise, "--out", tmp_path / "p.npz"), ("classify", noise, "--model", "st_gcn")):
        line = assert_one_error(capfd, 2, *command, contains=(str(noise), "neither a NumPy .npy array nor an .npz"))
        assert "allow_pickle" not in line


@pytest.mark.parametrize("value", ["1e400", "nan", "-inf"])
def test_non_finite_skeleton_values_name_the_line(capfd, tmp_path, value):
    lines = ntu_skeleton("S001C001P001R001A001").read_bytes().decode().split("\r\n")
    fields = lines[4].split()
    fields[0] = value
    lines[4] = " ".join(fields)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes("\r\n".join(lines).encode())
    assert_one_error(capfd, 2, "classify", path, "--model", "st_gcn",
                     contains=(str(path), "line 5", f"non-finite or out-of-range value '{value}'"))


def test_videopose3d_arrays_must_be_finite(tmp_path):
    from skeleton_zoo.formats.videopose3d import _check_array

    positions = np.zeros((4, 17, 3), np.float32)
    positions[2, 5, 1] = np.nan
    with pytest.raises(ValueError, match=r"'data_3d.npz': positions_3d\['S1'\]\['Walk'\] holds a NaN or infinite "
                                         r"value \(first at frame 2\)"):
        _check_array(positions, "data_3d.npz", "positions_3d['S1']['Walk']", 17, 3)


def test_corrupt_zip_in_the_ntu_manual_dir_names_it(tmp_path):
    from tfds_builders.ntu_rgbd import ntu_rgbd

    (tmp_path / "nturgbd_skeletons_s001_to_s017.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ValueError, match=r"NTU archive '.*nturgbd_skeletons_s001_to_s017\.zip' in manual_dir is "
                                         r"not a readable zip file"):
        ntu_rgbd._find_skeleton_files(__import__("etils").epath.Path(tmp_path))


def test_broken_keras_weight_files_are_named_as_broken(capfd, tmp_path):
    import skeleton_zoo

    model = skeleton_zoo.load("gast_9", channels=8)
    good = tmp_path / "good.weights.h5"
    model.save_weights(good)
    (tmp_path / "text.keras").write_text("not a model")
    (tmp_path / "cut.weights.h5").write_bytes(good.read_bytes()[:1000])
    for name, problem in (("text.keras", "is not a .keras archive"), ("cut.weights.h5", "not a readable HDF5")):
        line = assert_one_error(capfd, 1, "export", "--model", "gast_9", "--option", "channels=8", "--weights",
                                tmp_path / name, "--out", tmp_path / "exported", contains=(problem,))
        assert "does not fit" not in line
    assert_one_error(capfd, 1, "export", "--model", "gast_9", "--weights", tmp_path / "missing.weights.h5",
                     "--out", tmp_path / "exported", contains=("missing.weights.h5", "does not exist"))


# --- models and streams -------------------------------------------------------------------------
def test_an_empty_batch_is_a_clear_error():
    import skeleton_zoo

    model = skeleton_zoo.load("gast_9", channels=8)
    for call in (model, model.predict):
        with pytest.raises(ValueError, match=r"the batch is empty \(input shape \(0, 9, 17, 2\)\)"):
            call(np.zeros((0, 9, 17, 2), "float32"))


def test_the_streamer_holds_missing_joints_and_says_so():
    from skeleton_zoo import PoseStreamer

    streamer = PoseStreamer("gast_9_causal", channels=8, jit_compile=False)
    frames = np.random.default_rng(0).normal(size=(3, 17, 2)).astype("float32")
    with pytest.raises(ValueError, match=r"first frame of the clip misses joints \[4\]"):
        bad = frames[0].copy()
        bad[4] = np.nan
        streamer.push(bad)
    streamer.push(frames[0])
    gap = frames[1].copy()
    gap[4] = np.nan
    with pytest.warns(UserWarning, match="hold their previous position"):
        held = streamer.push(gap)
    assert np.isfinite(held).all() and streamer.last_filled.tolist() == [j == 4 for j in range(17)]
    streamer.reset()
    filled = frames[1].copy()
    filled[4] = frames[0][4]
    streamer.push(frames[0])
    np.testing.assert_allclose(held, streamer.push(filled), atol=1e-6)
