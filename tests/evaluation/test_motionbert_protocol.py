"""MotionBERT's Human3.6M data and official scoring: the pkl read without
running pickled code, the `human36m_motionbert` TFDS builder, clips as
`split_clips`, and the 2.5D-factor scoring with numbers derived by hand on a
synthetic pkl in the official layout."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from skeleton_zoo.formats import motionbert_h36m as mb

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
# (source, camera, action, frames): one blocked test video, one whose 7th frame no clip covers.
TEST_VIDEOS = [("s_09_act_02_subact_01_ca_01", "54138969", "Directions", 7),
               ("s_09_act_05_subact_02_ca_01", "54138969", "Greeting", 6),
               ("s_11_act_14_subact_01_ca_02", "55011271", "Walking", 9)]
TRAIN_VIDEOS = [("s_01_act_02_subact_01_ca_01", "60457274", "Directions", 12),
                ("s_05_act_14_subact_02_ca_03", "58860488", "Walking", 10)]


def _split(videos, rng):
    parts = {k: [] for k in ("joint_2d", "confidence", "joint3d_image", "joints_2.5d_image", "2.5d_factor",
                             "camera_name", "action", "source")}
    for source, camera, action, frames in videos:
        image = rng.uniform(300, 700, size=(frames, 17, 3))
        image[..., 2] = rng.uniform(-50, 50, size=(frames, 17))
        factor = rng.uniform(3.5, 4.5, size=frames)
        parts["joint3d_image"].append(image)
        parts["joints_2.5d_image"].append(image * factor[:, None, None])
        parts["2.5d_factor"].append(factor)
        parts["joint_2d"].append(image[..., :2] + rng.normal(scale=2, size=(frames, 17, 2)))
        parts["confidence"].append(rng.uniform(0.3, 1, size=(frames, 17, 1)))
        parts["camera_name"] += [camera] * frames
        parts["action"] += [action] * frames
        parts["source"] += [source] * frames
    return {k: (np.concatenate(v).astype(np.float32) if isinstance(v[0], np.ndarray) else v)
            for k, v in parts.items()}


@pytest.fixture(scope="module")
def pkl_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("motion3d")
    rng = np.random.default_rng(0)
    data = {"train": _split(TRAIN_VIDEOS, rng), "test": _split(TEST_VIDEOS, rng)}
    with open(folder / "h36m_sh_conf_cam_source_final.pkl", "wb") as f:
        pickle.dump(data, f)
    return folder


def test_videos_are_normalised_per_camera_as_the_official_reader(pkl_dir):
    data = mb.read_pkl(pkl_dir / "h36m_sh_conf_cam_source_final.pkl")
    videos = mb.videos(data["test"])
    assert [v.source for v in videos] == [s for s, *_ in TEST_VIDEOS]
    first = videos[0]
    assert first.resolution == (1000, 1002) and videos[2].resolution == (1000, 1000) and first.subject == "S9"
    raw = data["test"]["joint_2d"][:7]
    np.testing.assert_allclose(first.keypoints_2d[..., :2], raw / 1000 * 2 - [1, 1002 / 1000], rtol=1e-6)
    np.testing.assert_array_equal(first.keypoints_2d[..., 2], data["test"]["confidence"][:7, :, 0])
    np.testing.assert_allclose(mb.denormalize(first.pose_3d, 1000, 1002), data["test"]["joint3d_image"][:7],
                               rtol=1e-5, atol=1e-3)


def test_split_clips_as_the_official():
    assert [list(c) for c in mb.split_clips(7, 3, 3)] == [[0, 1, 2], [3, 4, 5]]  # the tail is dropped
    assert [list(c) for c in mb.split_clips(9, 3, 1)][-1] == [6, 7, 8] and len(mb.split_clips(9, 3, 1)) == 7
    assert list(mb.split_clips(2, 5, 5)[0]) == [0, 0, 0, 1, 1]  # a short video is resampled


def test_the_pkl_is_read_without_running_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"train": Evil(), "test": {}}))
    with pytest.raises(Exception, match="os.system|posix.system|refused"):
        mb.read_pkl(path)
    path.write_bytes(pickle.dumps({"train": {"source": []}, "test": {}}))
    with pytest.raises(ValueError, match=r"evil\.pkl.*'train' lacks"):
        mb.read_pkl(path)


def test_scoring_with_hand_derived_numbers(pkl_dir):
    """Predictions = the truth plus a constant offset of one joint (34 mm on
    Directions, 51 mm on Walking): MPJPE 34 / 17 = 2 mm and 3 mm per frame,
    2.5 mm over actions; a constant offset has no acceleration error; the
    blocked video (whose predictions are garbage) and the uncovered 7th frame
    are not scored."""
    videos = mb.videos(mb.read_pkl(pkl_dir / "h36m_sh_conf_cam_source_final.pkl")["test"])
    offsets = {"Directions": np.array([34.0, 0, 0]), "Walking": np.array([0, 51.0, 0])}

    def predict(video, frames):
        if video.video in mb.BLOCKED_VIDEOS:
            return np.full((len(frames), 17, 3), 1e3)
        target = video.joints_2_5d[frames].astype(np.float64)
        target[:, 5] += offsets[video.action]
        pixels = target / video.factor_2_5d[frames, None, None]  # de-normalised pixels of the prediction
        w, h = video.resolution
        return np.concatenate([(pixels[..., :2] / w * 2 - [1, h / w]), pixels[..., 2:] / w * 2], axis=-1)

    result = mb.score_videos(videos, predict, clip=3)
    assert result["per_action"]["Directions"]["mpjpe"] == pytest.approx(2.0, abs=1e-6)
    assert result["per_action"]["Walking"]["mpjpe"] == pytest.approx(3.0, abs=1e-6)
    assert result["mpjpe"] == pytest.approx(2.5, abs=1e-6)
    assert result["acceleration_error"] == pytest.approx(0.0, abs=1e-6)
    # P-MPJPE: each scored frame is covered once, so per action it is the plain Procrustes error of its frames.
    from skeleton_zoo.evaluation.metrics import p_mpjpe

    expected = []
    for video in videos:
        if video.action in offsets:
            gt = video.joints_2_5d[:6 if video.action == "Directions" else 9].astype(np.float64)
            gt = gt - gt[:, :1]
            pred = gt.copy()
            pred[:, 5] += offsets[video.action]
            expected.append(p_mpjpe(pred, gt))
    assert result["p_mpjpe"] == pytest.approx(np.mean(expected), rel=1e-6)
    assert result["num_frames"] == 6 + 9 and result["skipped"] == ["s_09_act_05_subact_02_ca_01"]
    assert set(result["per_action"]) == {"Directions", "Walking"}


def test_the_builder_and_the_evaluate_command(pkl_dir, tmp_path):
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401

    data_dir = tmp_path / "tfds"
    builder = tfds.builder("human36m_motionbert", data_dir=str(data_dir))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(pkl_dir)))
    test = list(tfds.as_numpy(builder.as_dataset(split="test")))
    assert sorted(e["source"].decode() for e in test) == sorted(s for s, *_ in TEST_VIDEOS)
    example = next(e for e in test if e["source"].decode() == TEST_VIDEOS[2][0])
    assert example["keypoints_2d"].shape == (9, 17, 2) and example["confidence"].shape == (9, 17)
    np.testing.assert_allclose(example["pose_3d"][:, 0], 0)  # the rootrel training target
    options = ["--option", "dim_feat=16", "--option", "dim_rep=16", "--option", "depth=1", "--option",
               "num_heads=2", "--option", "max_frames=3"]
    out = tmp_path / "eval"
    result = subprocess.run([sys.executable, "-m", "skeleton_zoo.evaluate", "--model", "motionbert", *options,
                             "--dataset", "human36m_motionbert", "--data_dir", str(data_dir), "--out", str(out)],
                            capture_output=True, text=True, timeout=600, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "pose_metrics.json").read_text())
    assert metrics["protocol"] == "motionbert" and metrics["clip_frames"] == 3 and metrics["num_frames"] == 15
    assert set(metrics["per_action"]) == {"Directions", "Walking"} and metrics["mpjpe"] > 0


def test_training_uses_the_detector_confidence_and_ends_with_the_official_scoring(pkl_dir, tmp_path):
    from skeleton_zoo.datasets import poses
    from skeleton_zoo.training import trainer as training

    data_dir = str(tmp_path / "tfds")
    options = {"dim_feat": 16, "dim_rep": 16, "depth": 1, "num_heads": 2, "max_frames": 3}
    config = training.TrainConfig(model="motionbert", dataset="human36m_motionbert", data_dir=data_dir,
                                  manual_dir=str(pkl_dir), out=str(tmp_path / "run"), epochs=1, batch_size=4,
                                  options=options, verbose=0)
    result = training.train(config)
    assert np.isfinite(result["history"][0]["loss"])
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["protocol"] == "motionbert" and metrics["num_frames"] == 15
    sequences = poses.load_pose_sequences("human36m_motionbert", "train", data_dir=data_dir)
    x, _ = next(iter(poses.pose_clips(sequences, 3, 1, batch_size=2, in_features=3, shuffle=False, flip=False)))
    np.testing.assert_array_equal(x.numpy()[0, :, :, 2], sequences.scores[0][:3])
