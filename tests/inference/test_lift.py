"""Lifting detector keypoints: input formats, COCO -> Human3.6M conversion,
missing joints, the lift itself and the command line's handling of bad input."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.inference import lift
from skeleton_zoo.formats.keypoints import OPENPOSE_TO_COCO17, coco17_to_h36m17

from conftest import FIXTURES

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def test_coco_to_h36m_matches_the_official_conversion():
    data = np.load(FIXTURES / "gast" / "coco_to_h36m_expected.npz")
    converted, scores = coco17_to_h36m17(data["coco"], data["scores"])
    np.testing.assert_allclose(converted, data["h36m"], atol=1e-4, rtol=0)
    assert scores.shape == (40, 17)


def _coco_clip(frames=12, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(200, 800, size=(17, 2)).astype(np.float32)
    return base + np.arange(frames, dtype=np.float32)[:, None, None] * 3.0  # (T, 17, 2), moving right/down


def test_gast_json(tmp_path):
    clip = _coco_clip(5)
    data = {"label": "x", "label_index": 0, "data": [
        {"frame_index": t + 1, "skeleton": [{"pose": clip[t].reshape(-1).tolist(), "score": [0.9] * 17,
                                             "bbox": [0, 0, 10, 10]}]} for t in range(5)]}
    path = tmp_path / "kpts.json"
    path.write_text(json.dumps(data))
    tracks = lift.read_keypoints(path)
    assert tracks.keypoints.shape == (1, 5, 17, 2)
    np.testing.assert_allclose(tracks.keypoints[0], clip)


def test_coco_results_list_two_people(tmp_path):
    clip = _coco_clip(3)
    items = []
    for t in range(3):
        for person in range(2):
            values = np.concatenate([clip[t] + 100 * person, np.full((17, 1), 0.8)], axis=1)
            items.append({"image_id": 10 + t, "category_id": 1, "keypoints": values.reshape(-1).tolist(), "score": 0.9})
    path = tmp_path / "results.json"
    path.write_text(json.dumps(items))
    tracks = lift.read_keypoints(path)
    assert tracks.keypoints.shape == (2, 3, 17, 2)
    np.testing.assert_allclose(tracks.keypoints[1], clip + 100)
    np.testing.assert_allclose(tracks.scores, 0.8)


@pytest.mark.parametrize("joints", [25, 18])
def test_openpose_folder(joints, tmp_path):
    for t in range(4):
        body = np.stack([np.arange(joints), np.arange(joints) + t, np.ones(joints)], axis=1).astype(float)
        (tmp_path / f"video_{t:012d}_keypoints.json").write_text(
            json.dumps({"version": 1.3, "people": [{"pose_keypoints_2d": body.reshape(-1).tolist()}]}))
    tracks = lift.read_keypoints(tmp_path)
    assert tracks.keypoints.shape == (1, 4, 17, 2)
    np.testing.assert_allclose(tracks.keypoints[0, 2, :, 0], OPENPOSE_TO_COCO17[joints])  # x = source joint index
    np.testing.assert_allclose(tracks.keypoints[0, 2, :, 1], np.asarray(OPENPOSE_TO_COCO17[joints]) + 2)


def test_npy_and_npz(tmp_path):
    clip = _coco_clip(6)
    np.save(tmp_path / "a.npy", clip)
    np.savez(tmp_path / "b.npz", keypoints=clip, scores=np.full((6, 17), 0.5), width=1280, height=720)
    assert lift.read_keypoints(tmp_path / "a.npy").keypoints.shape == (1, 6, 17, 2)
    tracks = lift.read_keypoints(tmp_path / "b.npz")
    assert (tracks.width, tracks.height) == (1280, 720)


def test_missing_and_low_confidence_joints_are_interpolated():
    clip = _coco_clip(10)
    scores = np.ones((10, 17), np.float32)
    broken = clip.copy()
    broken[3, 5] = np.nan
    broken[4, 5] = 0.0
    broken[6, 7] = -1.0
    scores[7, 9] = 0.1
    filled, mask = lift.fill_missing(broken, scores, min_score=0.3)
    np.testing.assert_allclose(filled, clip, atol=1e-4)  # linear motion is recovered exactly
    assert mask.sum() == 4 and mask[3, 5] and mask[4, 5] and mask[6, 7] and mask[7, 9]
    never = broken.copy()
    never[:, 2] = np.nan
    assert np.isnan(lift.fill_missing(never, scores)[0][:, 2]).all()


def test_lift_every_frame_of_every_person(tmp_path):
    clip = _coco_clip(20)
    np.savez(tmp_path / "two.npz", keypoints=np.stack([clip, clip + 50]), width=1280, height=720)
    model = skeleton_zoo.load("gast_9", channels=16)
    result = lift.lift_file(tmp_path / "two.npz", model=model)
    assert result["poses_3d"].shape == (2, 20, 17, 3) and np.isfinite(result["poses_3d"]).all()
    assert result["keypoints_2d"].shape == (2, 20, 17, 2)
    with pytest.raises(lift.InputError, match="image size unknown"):
        np.save(tmp_path / "nosize.npy", clip)
        lift.lift_file(tmp_path / "nosize.npy", model=model)


@pytest.mark.parametrize("name,content,problem", [
    ("empty.json", "", "empty file"),
    ("other.json", json.dumps({"foo": 1}), "JSON of an unknown shape"),
    ("joints.npy", np.zeros((5, 13, 2), np.float32), "found shape (1, 5, 13, 2)"),
    ("none.npy", np.zeros((0, 17, 2), np.float32), "zero frames"),
])
def test_bad_inputs_exit_2_with_one_line_and_no_output(name, content, problem, tmp_path, capfd):
    """In this process (`skeleton_zoo.cli.main`, as tests/cli/test_bad_input.py); the gif test below runs the
    command as its own process."""
    from skeleton_zoo.cli import main

    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        np.save(path, content)
    out = tmp_path / "poses.npz"
    status = main(["skeleton_zoo", "lift", str(path), "--width", "100", "--height", "100", "--out", str(out),
                   "--weights", "none.weights.h5"])
    stderr = capfd.readouterr().err
    assert status == 2 and "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(path) in errors[0] and problem in errors[0], stderr[-2000:]
    assert not out.exists()


def test_lift_command_line_renders_a_gif_with_one_frame_per_input_frame(tmp_path):
    from PIL import Image

    np.savez(tmp_path / "clip.npz", keypoints=_coco_clip(14), width=1280, height=720)
    out, gif = tmp_path / "poses.json", tmp_path / "poses.gif"
    result = subprocess.run([sys.executable, "-m", "skeleton_zoo.lift", str(tmp_path / "clip.npz"), "--model", "gast_9",
                             "--out", str(out), "--render", str(gif)], capture_output=True, text=True, timeout=600,
                            env=ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "randomly initialised" in result.stderr and "Lifted 1 person(s) x 14 frames" in result.stdout
    assert np.asarray(json.loads(out.read_text())["poses_3d"]).shape == (1, 14, 17, 3)
    with Image.open(gif) as image:
        assert image.n_frames == 14


def test_demo_runs_offline(tmp_path):
    from PIL import Image

    from skeleton_zoo.inference.demo import run_demo

    lines = []
    result = run_demo(tmp_path, echo=lines.append)
    assert any("randomly initialised" in line for line in lines)
    assert any("python -m skeleton_zoo convert --model gast_27 --weights h36m_cpn fetches 27_frame_model.bin"
               in line for line in lines)
    with Image.open(result["gif"]) as image:
        assert image.n_frames == 60
    png = np.asarray(Image.open(result["png"]).convert("L"), dtype=np.float32)
    assert png.var() > 100  # not blank
    assert np.load(result["streamed"]).shape == (60, 17, 3) and result["stream_fps"] > 0
