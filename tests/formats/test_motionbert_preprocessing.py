"""MotionBERT's in-the-wild preprocessing, reproduced exactly against the
official outputs (`motionbert_preprocess_expected.npz`): AlphaPose Halpe-26
-> Human3.6M-17, `crop_scale`, `--pixel`, the flip; and the AlphaPose reader."""

import json

import numpy as np
import pytest

from skeleton_zoo.datasets.poses import flip_pose
from skeleton_zoo.formats import camera
from skeleton_zoo.formats.keypoint_files import InputError, read_keypoints
from skeleton_zoo.formats.keypoints import halpe26_to_h36m17
from skeleton_zoo.layouts import get_layout

from conftest import FIXTURES

EXPECTED = np.load(FIXTURES / "motionbert" / "motionbert_preprocess_expected.npz")


def test_halpe26_and_crop_scale_equal_infer_wild_default():
    focus = halpe26_to_h36m17(EXPECTED["wild_keypoints"][EXPECTED["wild_idx"] == 1])
    np.testing.assert_array_equal(camera.crop_scale(focus).astype("float32"), EXPECTED["wild_focus1_normalized"])
    every = halpe26_to_h36m17(EXPECTED["wild_keypoints"])  # without --focus every entry is a frame
    np.testing.assert_array_equal(camera.crop_scale(every).astype("float32"), EXPECTED["wild_all_normalized"])


def test_pixel_normalisation_equals_infer_wild_pixel_and_maps_back():
    focus = halpe26_to_h36m17(EXPECTED["wild_keypoints"][EXPECTED["wild_idx"] == 1])
    w, h = (int(v) for v in EXPECTED["wild_vid_size"])
    pixel = focus.copy()
    pixel[..., :2] = camera.normalize_pixels(focus[..., :2], w, h)
    np.testing.assert_array_equal(pixel.astype("float32"), EXPECTED["wild_focus1_pixel"])
    poses = np.concatenate([pixel[..., :2], np.zeros_like(pixel[..., :1])], axis=-1)
    np.testing.assert_allclose(camera.pixels_from_normalized(poses, w, h)[..., :2], focus[..., :2], atol=1e-9)


def test_crop_scale_degenerate_inputs_give_zeros_as_the_official():
    few = np.zeros((1, 17, 3))
    few[0, :3] = [[10, 20, 1], [30, 40, 1], [50, 60, 1]]  # 3 confident joints (< 4)
    assert not camera.crop_scale(few).any()
    still = np.ones((2, 17, 3))  # zero extent
    assert not camera.crop_scale(still).any()
    with pytest.raises(ValueError, match="crop_scale"):
        camera.crop_scale(np.zeros((4, 17, 2)))


def test_flip_equals_flip_data():
    np.testing.assert_array_equal(flip_pose(EXPECTED["flip_input"], get_layout("h36m17")), EXPECTED["flip_output"])


def _alphapose_json(tmp_path, keypoints, idx):
    entries = [{"image_id": f"{t}.jpg", "category_id": 1, "keypoints": k.reshape(-1).tolist(), "score": 2.5,
                "box": [0, 0, 10, 10], "idx": int(i)} for t, (k, i) in enumerate(zip(keypoints, idx))]
    path = tmp_path / "alphapose-results.json"
    path.write_text(json.dumps(entries))
    return path


def test_alphapose_results_are_read_per_track(tmp_path):
    keypoints, idx = EXPECTED["wild_keypoints"], EXPECTED["wild_idx"]
    tracks = read_keypoints(_alphapose_json(tmp_path, keypoints, idx))
    assert tracks.joint_format == "halpe26" and tracks.keypoints.shape == (len(set(idx)), len(idx), 26, 2)
    person = sorted(set(idx)).index(1)
    seen = ~np.isnan(tracks.keypoints[person, :, 0, 0])
    np.testing.assert_array_equal(tracks.keypoints[person, seen], keypoints[idx == 1][..., :2].astype("float32"))
    np.testing.assert_array_equal(tracks.scores[person, seen], keypoints[idx == 1][..., 2].astype("float32"))


def test_bad_alphapose_entries_name_the_file_and_entry(tmp_path):
    path = tmp_path / "bad.json"
    good = {"image_id": "0.jpg", "keypoints": [1.0] * 78, "idx": 1}
    path.write_text(json.dumps([good, {**good, "keypoints": [1.0] * 51}]))
    with pytest.raises(InputError, match=r"bad\.json: entry 1: expected 26 Halpe joints"):
        read_keypoints(path, "alphapose")
    path.write_text(json.dumps([good, {**good, "idx": "x"}]))
    with pytest.raises(InputError, match=r"bad\.json: entry 1: 'idx'"):
        read_keypoints(path)
