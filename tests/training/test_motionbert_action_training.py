"""MotionBERT's action pipeline on the `pyskl_skeleton` HRNet dummy data: the
held-out clips are `formats.motionbert_ntu`'s test items of the stored videos,
the train clips are seeded and new every epoch; a tiny `motionbert_action`
trains one epoch and `evaluate` runs; other datasets are refused."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo.datasets.clips import load_action_clips
from skeleton_zoo.formats import motionbert_ntu
from skeleton_zoo.training import trainer as training

import tfds_builders  # noqa: F401  (registers the builders)

DATASET = "pyskl_skeleton/ntu60_hrnet_xsub"
TINY = {"dim_feat": 16, "dim_rep": 16, "depth": 1, "num_heads": 2, "max_frames": 16, "hidden_dim": 16}


@pytest.fixture(scope="module")
def data_dir(pyskl_data_dir):
    return pyskl_data_dir


def _clips(ds):
    return [(x, y) for xs, ys in tfds.as_numpy(ds) for x, y in zip(xs, ys)]


def test_held_out_clips_are_the_official_test_items_and_train_clips_are_seeded(data_dir):
    builder = tfds.builder(DATASET, data_dir=data_dir)
    # test: 3 persons (the first 2 used) and 2 persons; the stored float16 keypoints normalised in float16
    videos = list(tfds.as_numpy(builder.as_dataset(split="test", shuffle_files=False)))
    clips = _clips(load_action_clips(DATASET, "test", "motionbert", 2, shuffle=False, builder=builder, frames=16))
    assert len(clips) == len(videos) == 2
    for (x, label), video in zip(clips, videos):
        keypoint = video["joints"][:, :, :2].transpose(2, 0, 1, 3)  # (T, V, M, C) -> (M, T, V, C)
        expected = motionbert_ntu.action_clip(keypoint[..., :2].astype(np.float16), keypoint[..., 2],
                                              tuple(video["img_shape"]), 16)
        np.testing.assert_array_equal(x, expected)
        assert label == video["label"] and x.shape == (16, 17, 2, 3)

    def epochs(seed):
        ds = load_action_clips(DATASET, "train", "motionbert", 2, seed=seed, builder=builder, frames=16)
        return [sorted(_clips(ds), key=lambda c: int(c[1])) for _ in range(2)]

    first, again, other = epochs(3), epochs(3), epochs(4)
    for a, b in zip(first, again):
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
    assert not np.array_equal(first[0][0][0], first[1][0][0])  # random_move and crop draw anew every epoch
    assert not np.array_equal(first[0][0][0], other[0][0][0])
    for x, _ in first[0] + first[1]:
        assert x.shape == (16, 17, 2, 3) and np.abs(x[..., :2]).max() <= 1
    one_person = first[0][0][0]  # S001C001P001R001A001 (label 0): one person, a zero second one
    assert not one_person[:, :, 1, 2].any() and one_person[:, :, 0, 2].any()


def test_tiny_motionbert_action_trains_and_evaluates(data_dir, tmp_path):
    from skeleton_zoo.cli import main

    # evaluate=False: `evaluate` below runs the same protocol (one test item per video)
    config = training.TrainConfig(model="motionbert_action", dataset=DATASET, data_dir=data_dir,
                                  out=str(tmp_path / "run"), epochs=1, batch_size=2, options=TINY, evaluate=False,
                                  verbose=0)
    history = training.train(config)["history"]
    assert len(history) == 1 and np.isfinite(history[0]["loss"]) and 0 <= history[0]["val_top1"] <= 1
    options = [arg for key, value in TINY.items() for arg in ("--option", f"{key}={value}")]
    assert main(["sz", "evaluate", "--model", "motionbert_action", "--weights",
                 str(tmp_path / "run" / "best.weights.h5"), "--dataset", DATASET, "--data_dir", data_dir,
                 "--out", str(tmp_path / "eval"), *options]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["split"] == "test" and 0 <= metrics["top1"] <= 1
    report = json.loads((tmp_path / "eval" / "classification.json").read_text())
    assert report["num_samples"] == 2


def test_other_datasets_are_refused_before_a_run_folder_exists(data_dir, tmp_path):
    config = training.TrainConfig(model="motionbert_action", dataset="pyskl_skeleton/ntu60_3d_xsub",
                                  data_dir=data_dir, out=str(tmp_path / "run"), epochs=1, batch_size=2,
                                  options=TINY, verbose=0)
    with pytest.raises(ValueError, match=r"--dataset 'pyskl_skeleton/ntu60_3d_xsub': MotionBERT's action clips are "
                                         r"made from PYSKL's HRNet 2D keypoints.*not 'pyskl_skeleton/ntu60_3d_xsub'"):
        training.train(config)
    assert not (tmp_path / "run").exists()
