"""PYSKL's test pipeline against `pyskl_pipeline_expected.npz` (the official
code on synthetic skeletons): PreNormalize3D / 2D, the four streams, the
seeded uniform sampling, the whole pipeline, clip averaging and fusion."""

import numpy as np
import pytest

from skeleton_zoo.formats import pyskl

from conftest import FIXTURES

EXPECTED = np.load(FIXTURES / "pyskl" / "pyskl_pipeline_expected.npz")


@pytest.mark.parametrize("case", ["ntu_a", "ntu_b", "ntu_c"])
def test_pre_normalize_3d_and_streams(case):
    # a: two empty leading frames are dropped; b: person 1 is present longer and becomes the main person;
    # c: one person.
    data = pyskl.pre_normalize_3d(EXPECTED[f"{case}/raw"])
    np.testing.assert_allclose(data, EXPECTED[f"{case}/prenormalized"], rtol=0, atol=1e-5)
    for stream in pyskl.STREAMS:
        np.testing.assert_allclose(pyskl.skeleton_stream(data, stream, "ntu25"), EXPECTED[f"{case}/{stream}"],
                                   rtol=0, atol=1e-5, err_msg=stream)


def test_frame_counts_of_the_3d_cases():
    assert pyskl.pre_normalize_3d(EXPECTED["ntu_a/raw"]).shape[1] == 35  # 37 frames, 2 empty
    assert pyskl.pre_normalize_3d(EXPECTED["ntu_b/raw"]).shape[1] == 27
    zeros = np.zeros((2, 5, 25, 3), np.float32)
    assert pyskl.pre_normalize_3d(zeros) is not None and not np.any(pyskl.pre_normalize_3d(zeros))


def test_pre_normalize_2d_and_streams_with_scores():
    data = pyskl.pre_normalize_2d(EXPECTED["coco_a/raw_keypoint"], EXPECTED["coco_a/raw_keypoint_score"])
    np.testing.assert_array_equal(data, EXPECTED["coco_a/prenormalized"])
    for stream in pyskl.STREAMS:
        np.testing.assert_allclose(pyskl.skeleton_stream(data, stream, "coco17"), EXPECTED[f"coco_a/{stream}"],
                                   rtol=0, atol=1e-6, err_msg=stream)
    # Scores are averaged by bones and motion, not differenced.
    bm = pyskl.skeleton_stream(data, "bm", "coco17")
    assert np.all(bm[:, :-1, :, 2] >= 0) and not np.any(bm[:, -1])


@pytest.mark.parametrize("frames", [5, 9, 37, 64, 100, 101, 150, 199, 200, 300])
def test_uniform_sample_test_indices_are_the_official_ones(frames):
    np.testing.assert_array_equal(pyskl.uniform_sample_indices(frames, 100, 10), EXPECTED[f"sample_100x10/{frames}"])


def test_training_sampling_is_random_but_in_range():
    rng = np.random.RandomState(0)
    a = pyskl.uniform_sample_indices(150, 100, 1, seed=None, rng=rng)
    b = pyskl.uniform_sample_indices(150, 100, 1, seed=None, rng=rng)
    assert a.shape == (100,) and a.min() >= 0 and a.max() < 150 and not np.array_equal(a, b)
    with pytest.raises(ValueError, match="`clip_len` must be >= 1"):
        pyskl.uniform_sample_indices(10, 0)


@pytest.mark.parametrize("case, layout", [("ntu_a", "ntu25"), ("coco_a", "coco17")])
@pytest.mark.parametrize("stream", ["j", "bm"])
def test_whole_test_pipeline(case, layout, stream):
    key = f"{case}/pipeline_{stream}_8x3"
    if layout == "ntu25":
        clips, inds = pyskl.test_clips(EXPECTED[f"{case}/raw"], stream, layout, clip_len=8, num_clips=3)
    else:
        clips, inds = pyskl.test_clips(EXPECTED[f"{case}/raw_keypoint"], stream, layout,
                                       keypoint_score=EXPECTED[f"{case}/raw_keypoint_score"], clip_len=8, num_clips=3)
    np.testing.assert_array_equal(inds, EXPECTED[f"{key}_frame_inds"])
    # ours (clips, T, V, M, C) against PYSKL's (clips, M, T, V, C)
    np.testing.assert_allclose(clips.transpose(0, 3, 1, 2, 4), EXPECTED[key], rtol=0, atol=1e-5)
    assert clips.dtype == np.float32


def test_clip_averaging_is_over_probabilities():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 4.0]])
    p = pyskl.clip_probabilities(logits)
    np.testing.assert_allclose(p.sum(), 1.0)
    e = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(p, e.mean(0))
    fused = pyskl.fuse_streams({"j": p, "b": p, "jm": 0 * p, "bm": 0 * p})
    np.testing.assert_allclose(fused, 4 * p)
    with pytest.raises(ValueError, match="no weight for"):
        pyskl.fuse_streams({"joint": p})


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="expected keypoints"):
        pyskl.pre_normalize_3d(np.zeros((5, 25, 3)))
    with pytest.raises(ValueError, match="`stream` must be one of"):
        pyskl.skeleton_stream(np.zeros((1, 5, 25, 3)), "bone")
    with pytest.raises(ValueError, match="has 17 joints"):
        pyskl.skeleton_stream(np.zeros((1, 5, 25, 3)), "b", "coco17")
    with pytest.raises(ValueError, match="NaN"):
        pyskl.pre_normalize_2d(np.full((1, 2, 17, 3), np.nan))
