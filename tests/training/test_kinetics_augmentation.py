"""ST-TR's Kinetics-Skeleton train feeder (`datasets.clips`): equal to the
official `Feeder_kinetics.__getitem__` run on numpy data, wired into the
train pipeline only, and a tiny S-TR trains on the Kinetics dummy data."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo.datasets import clips
from skeleton_zoo.formats import stgcn_feeder
from skeleton_zoo.training import trainer as training

import tfds_builders  # noqa: F401  (registers the builders)
from conftest import BUILDERS, FIXTURES

KINETICS_DUMMY = BUILDERS / "kinetics_skeleton" / "dummy_data"


def test_feeder_equals_the_official_code():
    """Known outputs of the official feeder (tests/fixtures/kinetics/feeder_augmentation_expected.npz:
    ST-TR's Feeder_kinetics + ST-GCN's tools run in numpy, `random` and `np.random` seeded):
    random_choose + random_move (the Kinetics config, scaled to 30 -> 16 frames), random padding
    when shorter, random_shift + auto_pading; bit for bit."""
    data = np.load(FIXTURES / "kinetics" / "feeder_augmentation_expected.npz")
    meta = json.loads(str(data["meta"]))
    videos = np.transpose(data["input"], (0, 2, 3, 4, 1))  # official (N, C, T, V, M) -> ours
    for case, runs in meta["runs"].items():
        for n, seed in runs:
            got = stgcn_feeder.train_feeder(videos[n], seed, **meta["cases"][case])
            expected = np.transpose(data[f"{case}/{n}/{seed}"], (1, 2, 3, 0))
            assert got.shape == expected.shape and got.dtype == np.float32
            np.testing.assert_array_equal(got.view(np.uint32), expected.view(np.uint32), err_msg=f"{case}/{n}/{seed}")
    # the bones (channels 3-5) are not moved, as the official 6-channel data's; x, y are
    got = stgcn_feeder.train_feeder(videos[0], 0, **meta["cases"]["kinetics"])
    starts = [b for b in range(15) if np.array_equal(got[..., 3:], videos[0][b:b + 16, ..., 3:])]
    assert len(starts) == 1 and not np.allclose(got[..., :2], videos[0][starts[0]:starts[0] + 16, ..., :2])
    assert clips._KINETICS_TRAIN_FEEDER == {"random_choose": True, "random_move": True, "window_size": 150}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tfds")
    tfds.builder("kinetics_skeleton", data_dir=str(folder)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=str(KINETICS_DUMMY)))
    return str(folder)


def test_train_split_gets_the_feeder_validation_does_not(data_dir):
    builder = tfds.builder("kinetics_skeleton", data_dir=data_dir)
    plain = [x.numpy() for x, _ in clips.load_action_clips("kinetics_skeleton", "train", "joint+bone", 1, shuffle=False,
                                                           builder=builder, test_mode=True)]
    train = clips.load_action_clips("kinetics_skeleton", "train", "joint+bone", 1, shuffle=False, seed=3,
                                    builder=builder)
    seeds = [int(s) % 2 ** 32 for s in clips._video_seeds(3).take(len(plain))]
    first = [x.numpy() for x, _ in train]
    assert len(first) == len(plain) == 2 and first[0].shape == (1, 150, 18, 2, 6)
    for got, video, seed in zip(first, plain, seeds):
        np.testing.assert_array_equal(got[0], stgcn_feeder.train_feeder(video[0], seed, **clips._KINETICS_TRAIN_FEEDER))
    second = [x.numpy() for x, _ in train]  # another epoch, other draws
    assert not np.array_equal(second[0], first[0])
    (x, _), = clips.load_action_clips("kinetics_skeleton", "validation", "joint", 4, shuffle=False,
                                      builder=builder).take(1)
    assert x.shape == (4, 300, 18, 2, 3)  # the official test feeder: the whole clip


def test_tiny_sttr_trains_one_epoch_on_kinetics(data_dir, tmp_path):
    """150-frame train clips, 300-frame validation. Two blocks below the attention width keep it
    fast: the pipeline is under test (spatial attention is per frame)."""
    options = {"backbone": [[16, 16, 1], [16, 32, 2]], "layout": "openpose18", "num_classes": 400}
    config = training.TrainConfig(model="st_tr_spatial_joint", dataset="kinetics_skeleton", data_dir=data_dir,
                                  out=str(tmp_path), epochs=1, batch_size=2, options=options, evaluate=False,
                                  verbose=0)
    (epoch,) = training.train(config)["history"]
    assert np.isfinite(epoch["loss"]) and {"top1", "val_top1"} <= set(epoch)
