"""MotionBERT's NTU action preprocessing (`formats.motionbert_ntu`): the test
items equal the official `NTURGBD` ones (`motionbert_preprocess_expected.npz`),
the train items are seeded, in range and resampled as the official; bad input
is named."""

import numpy as np
import pytest

from skeleton_zoo.formats import motionbert_ntu as mb
from skeleton_zoo.formats.keypoints import coco17_to_h36m17_motionbert

from conftest import FIXTURES

EXPECTED = np.load(FIXTURES / "motionbert" / "motionbert_preprocess_expected.npz")


def _video(i):
    return (EXPECTED[f"ntu{i}_keypoint"], EXPECTED[f"ntu{i}_keypoint_score"],
            tuple(int(v) for v in EXPECTED[f"ntu{i}_img_shape"]))


def test_test_items_equal_the_official_nturgbd_items():
    """Tracking swap (video 0), one person (1: zero second person), portrait image and a missing person (2)."""
    for i in range(3):
        item = mb.action_clip(*_video(i), clip_len=50)
        assert item.shape == (50, 17, 2, 3) and item.dtype == np.float32
        # the official (M, T, V, C) -> ours (T, V, M, C); bit for bit
        np.testing.assert_array_equal(item, EXPECTED["ntu_expected"][i].transpose(1, 2, 0, 3), err_msg=f"ntu{i}")
    one_person = mb.action_clip(*_video(1), clip_len=50)
    assert not one_person[:, :, 1, 2].any() and one_person[:, :, 1, :2].any()  # zero person: xy not 0 after crop_scale


def test_train_items_are_seeded_in_range_and_cover_the_crop_ratio():
    keypoint, score, img_shape = _video(0)
    items = [mb.action_clip(keypoint, score, img_shape, 243, train=True, rng=np.random.RandomState(s))
             for s in (5, 5, 6)]
    np.testing.assert_array_equal(items[0], items[1])
    assert not np.array_equal(items[0], items[2])
    for item in items:
        assert item.shape == (243, 17, 2, 3) and item.dtype == np.float32 and np.isfinite(item).all()
        assert np.abs(item[..., :2]).max() <= 1
        # the score is resampled but otherwise untouched; 40 frames upsampled to 243: each frame about 6 times
        assert set(np.unique(item[..., 2])) <= set(np.unique(score))
        # crop_scale with a ratio in [1, 3]: the confident joints span between 2 / 3 and 2 of [-1, 1]
        xy = item[..., :2][item[..., 2] != 0]
        span = (xy.max(axis=0) - xy.min(axis=0)).max()
        assert 2 / 3 - 1e-6 <= span <= 2 + 1e-6
    # a separate resampling generator: the same frames whatever the augmentation draws
    fixed = [mb.action_clip(keypoint, score, img_shape, 60, train=True, rng=np.random.RandomState(s),
                            resample_rng=np.random.RandomState(1)) for s in (2, 3)]
    np.testing.assert_array_equal(fixed[0][..., 2], fixed[1][..., 2])


@pytest.mark.parametrize("total_frames,clip_len", [(300, 243), (40, 243), (243, 243), (1, 5)])
def test_resampling_as_the_official(total_frames, clip_len):
    test = mb.resample_indices(total_frames, clip_len)
    np.testing.assert_array_equal(test, np.floor(np.arange(clip_len) * total_frames / clip_len).astype(int))
    train = mb.resample_indices(total_frames, clip_len, np.random.RandomState(0))
    assert train.shape == (clip_len,) and train.dtype == np.uint32 and (np.diff(train.astype(int)) >= 0).all()
    even = np.arange(clip_len) * total_frames / clip_len
    if total_frames >= clip_len:  # one frame in each interval
        assert (train >= np.floor(even)).all() and (train <= np.minimum(even + total_frames / clip_len,
                                                                         total_frames - 1)).all()
    else:  # the floor or the ceiling of each position
        assert np.isin(train, np.clip(np.stack([np.floor(even), np.ceil(even)]), 0, total_frames - 1)).all()


def test_float16_keypoints_are_normalised_in_float16_as_the_official():
    """PYSKL's files store float16: `x / w * 2 - 1` then runs in float16."""
    x = np.array([[[[1000.3, 517.1]]]], np.float16)
    cam = mb.make_cam(x, (1080, 1920))
    assert cam.dtype == np.float16
    np.testing.assert_array_equal(cam, (x / np.float16(1920)) * np.float16(2) - np.float16(1))
    assert mb.make_cam(x.astype(np.float32), (1920, 1080)).dtype == np.float32  # portrait: by the height


def test_coco_to_h36m_is_motionberts_coco2h36m():
    coco = np.random.RandomState(0).normal(size=(2, 3, 17, 2)).astype(np.float32)
    h36m = coco17_to_h36m17_motionbert(coco)
    assert h36m.dtype == np.float64
    np.testing.assert_array_equal(h36m[..., 0, :], (coco[..., 11, :] + coco[..., 12, :]) * np.float32(0.5))
    np.testing.assert_array_equal(h36m[..., 7, :], (h36m[..., 0, :] + h36m[..., 8, :]) * 0.5)
    np.testing.assert_array_equal(h36m[..., [1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16], :],
                                  coco[..., [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10], :])
    with pytest.raises(ValueError, match=r"coco17_to_h36m17_motionbert: expected keypoints of shape \(\.\.\., 17, C\)"):
        coco17_to_h36m17_motionbert(np.zeros((3, 25, 2)))


def test_bad_input_is_named():
    keypoint, score, img_shape = _video(0)
    with pytest.raises(ValueError, match=r"expected `keypoint` \(persons, frames, 17 COCO joints, 2\).*\(40, 17, 2\)"):
        mb.action_clip(keypoint[0], score, img_shape)
    with pytest.raises(ValueError, match=r"`keypoint_score` of shape \(2, 40, 17\).*found \(2, 39, 17\)"):
        mb.action_clip(keypoint, score[:, 1:], img_shape)
    with pytest.raises(ValueError, match=r"`img_shape` \(height, width\) > 0, found \(0, 1920\)"):
        mb.action_clip(keypoint, score, (0, 1920))
    with pytest.raises(ValueError, match="the train item needs a `RandomState`"):
        mb.action_clip(keypoint, score, img_shape, train=True)
