"""HumanEva-I TFDS builder (VideoPose3D preprocessing).

`make_humaneva_dummy_data` wrote `tfds_builders/humaneva/dummy_data/` (there is
no HumanEva fixture): small synthetic files in VideoPose3D's exact layout.
`test_dummy_data_is_reproducible` checks the shipped files still match it;
regenerate with (from the repository root; the tests import their helpers from tests/)
`PYTHONPATH=tests python -c "from test_humaneva import make_humaneva_dummy_data as m; m('tfds_builders/humaneva/dummy_data')"`.
"""

import json
import os
import pathlib
import shutil

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from skeleton_zoo.formats import camera
from tfds_builders.humaneva import humaneva
from videopose3d_testing import (
    examples, load_pickled, make_manual_dir, prepare, rotation_matrix, save_pickled)

DUMMY = pathlib.Path(humaneva.__file__).parent / "dummy_data"
CAMERAS = json.loads((pathlib.Path(humaneva.__file__).parent / "humaneva_cameras.json").read_text())

# (subject, action chunk, frames) of the synthetic 3D file.
_SEQUENCES = (
    ("Train/S1", "Walking 1 chunk0", 20),
    ("Train/S1", "Jog 1 chunk0", 16),
    ("Train/S2", "Box 1 chunk0", 14),
    ("Train/S3", "Gestures 1 chunk0", 12),
    ("Validate/S1", "Walking 1 chunk0", 18),
    ("Validate/S1", "Walking 1 chunk2", 10),
    ("Validate/S2", "Jog 1 chunk0", 12),
    ("Validate/S3", "ThrowCatch 1 chunk0", 10),
    ("Validate/S3", "Box 1 chunk0", 12),
)
# The detection file has no detections for this (subject, action, camera).
_MISSING_CAMERA = ("Validate/S1", "Walking 1 chunk2", 1)

# humaneva15 rest pose relative to the pelvis, metres (x right, y forward, z up).
_TEMPLATE = np.array([
    [0, 0, 0], [0, 0, 0.45], [0.18, 0, 0.42], [0.2, 0, 0.15], [0.22, 0.02, -0.1],
    [-0.18, 0, 0.42], [-0.2, 0, 0.15], [-0.22, 0.02, -0.1], [0.1, 0, -0.02], [0.11, 0, -0.45],
    [0.11, -0.02, -0.88], [-0.1, 0, -0.02], [-0.11, 0, -0.45], [-0.11, -0.02, -0.88],
    [0, 0, 0.7],
])


def _project(points_camera, res_w=640, res_h=480, focal=600.0):
    """Pinhole projection (T, J, 3) camera metres -> (T, J, 2) pixels."""
    return focal * points_camera[..., :2] / points_camera[..., 2:] + [res_w / 2, res_h / 2]


def make_humaneva_dummy_data(directory):
    """Writes data_3d_humaneva15.npz, data_2d_humaneva15_gt.npz and
    data_2d_humaneva15_detectron_pt_coco.npz (VideoPose3D layout) into `directory`.

    Deterministic. 3D: (T, 15, 3) float32 world metres per Train/ and Validate/
    subject and action chunk. gt 2D: 3 cameras of (T, 15, 2) float32 pixels
    (a pinhole projection with the real extrinsics). detectron_pt_coco: 3
    cameras of (T, 17, 2) (COCO layout), one camera None, plus an
    `Unlabeled/Train/S1` subject without 3D, as in the published file.
    """
    rng = np.random.default_rng(20240601)
    positions_3d, gt_2d, coco_2d = {}, {}, {}
    for subject, action, frames in _SEQUENCES:
        t = np.arange(frames)[:, None]
        root = np.concatenate([0.3 * np.sin(0.1 * t) + rng.uniform(-1, 1),
                               0.04 * t + rng.uniform(-1, 1), 0.95 + 0.02 * np.sin(0.3 * t)], 1)
        swing = 0.08 * np.sin(0.4 * t + rng.uniform(0, np.pi, size=15))[..., None]
        pose = root[:, None] + _TEMPLATE[None] + swing * [0, 1, 0.3]
        pose = (pose + rng.normal(scale=0.005, size=pose.shape)).astype(np.float32)
        positions_3d.setdefault(subject, {})[action] = pose

        extrinsics = CAMERAS["extrinsic"][subject.split("/")[1]]
        cams_gt, cams_coco = [], []
        for index, ext in enumerate(extrinsics):
            cam = camera.world_to_camera(pose, np.float32(ext["orientation"]),
                                         np.float32(ext["translation"]) / 1000)
            cams_gt.append(_project(cam).astype(np.float32))
            coco = _project(cam[:, [14, 14, 14, 14, 14, 2, 5, 3, 6, 4, 7, 8, 11, 9, 12, 10, 13]])
            coco = coco + rng.normal(scale=2.0, size=coco.shape)
            missing = (subject, action, index) == _MISSING_CAMERA
            cams_coco.append(None if missing else coco.astype(np.float32))
        gt_2d.setdefault(subject, {})[action] = cams_gt
        coco_2d.setdefault(subject, {})[action] = cams_coco
    coco_2d["Unlabeled/Train/S1"] = {
        "Walking 1": [rng.uniform(0, 480, size=(8, 17, 2)).astype(np.float32), None, None]}

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    metadata_gt = {"layout_name": "humaneva15", "num_joints": 15,
                   "keypoints_symmetry": [[2, 3, 4, 8, 9, 10], [5, 6, 7, 11, 12, 13]]}
    metadata_coco = {"layout_name": "coco", "num_joints": 17,
                     "keypoints_symmetry": [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]}
    np.savez_compressed(directory / "data_3d_humaneva15.npz", positions_3d=positions_3d)
    np.savez_compressed(directory / "data_2d_humaneva15_gt.npz", positions_2d=gt_2d,
                        metadata=metadata_gt)
    np.savez_compressed(directory / "data_2d_humaneva15_detectron_pt_coco.npz",
                        positions_2d=coco_2d, metadata=metadata_coco)
    return positions_3d, gt_2d, coco_2d


class HumanevaGtTest(tfds.testing.DatasetBuilderTestCase):
    """Standard TFDS checks on dummy_data, config gt."""

    DATASET_CLASS = humaneva.Humaneva
    BUILDER_CONFIG_NAMES_TO_TEST = ["gt"]
    # 4 train and 5 validation chunks x 3 cameras.
    SPLITS = {"train": 12, "validation": 15}


class HumanevaDetectronTest(tfds.testing.DatasetBuilderTestCase):
    """Config detectron_pt_coco: one validation camera has no detections."""

    DATASET_CLASS = humaneva.Humaneva
    BUILDER_CONFIG_NAMES_TO_TEST = ["detectron_pt_coco"]
    SPLITS = {"train": 12, "validation": 14}


def _prepare(tmp_path, manual_dir=DUMMY, config="gt"):
    return prepare("humaneva", tmp_path, manual_dir, config)


def test_dummy_data_is_reproducible(tmp_path):
    positions_3d, gt_2d, coco_2d = make_humaneva_dummy_data(tmp_path)
    total = sum(p.stat().st_size for p in DUMMY.iterdir())
    assert total < 200_000, total
    shipped = {name: load_pickled(DUMMY / name, key) for name, key in (
        ("data_3d_humaneva15.npz", "positions_3d"), ("data_2d_humaneva15_gt.npz", "positions_2d"),
        ("data_2d_humaneva15_detectron_pt_coco.npz", "positions_2d"))}
    assert shipped["data_3d_humaneva15.npz"].keys() == positions_3d.keys()
    for subject, actions in positions_3d.items():
        for action, pose in actions.items():
            np.testing.assert_array_equal(shipped["data_3d_humaneva15.npz"][subject][action], pose)
            for name, made in (("data_2d_humaneva15_gt.npz", gt_2d),
                               ("data_2d_humaneva15_detectron_pt_coco.npz", coco_2d)):
                for got, want in zip(shipped[name][subject][action], made[subject][action]):
                    assert (got is None) == (want is None)
                    if want is not None:
                        np.testing.assert_array_equal(got, want)


def test_preprocessing_matches_videopose3d(tmp_path):
    """Camera frame, root-relative pose and 640x480 normalisation, recomputed here."""
    builder = _prepare(tmp_path)
    positions_3d = load_pickled(DUMMY / "data_3d_humaneva15.npz", "positions_3d")
    positions_2d = load_pickled(DUMMY / "data_2d_humaneva15_gt.npz", "positions_2d")
    train, validation = examples(builder, "train"), examples(builder, "validation")
    assert {ex["subject"].decode() for ex in train.values()} == {"Train/S1", "Train/S2", "Train/S3"}
    assert {k.split("/")[0] for k in validation} == {"Validate"}
    for key, ex in {**train, **validation}.items():
        subject, action, cam = key.rsplit("/", 2)
        ext = CAMERAS["extrinsic"][subject.split("/")[1]][int(cam)]
        # run.py: world_to_camera(positions, R, t / 1000), here as R^T (X - t).
        t = np.array(ext["translation"], dtype=np.float64) / 1000
        world = positions_3d[subject][action]
        expected = (world - t) @ rotation_matrix(np.array(ext["orientation"], dtype=np.float64))
        np.testing.assert_allclose(ex["trajectory"], expected[:, 0], atol=1e-5)
        np.testing.assert_allclose(ex["pose_3d"], expected - expected[:, :1], atol=1e-5)
        kps = positions_2d[subject][action][int(cam)]
        np.testing.assert_allclose(ex["keypoints_2d"], kps / 640 * 2 - [1, 0.75], atol=1e-6)
        assert ex["num_frames"] == len(world) and ex["camera_id"] == f"C{int(cam) + 1}".encode()
        assert ex["action_type"] == action.split(" ")[0].encode()
        # The gt 2D really is the projection of the camera-frame 3D.
        np.testing.assert_allclose(camera.image_coordinates(ex["keypoints_2d"], 640, 480),
                                   _project(expected), atol=1e-3)
    assert "camera_intrinsics" not in builder.info.features


def test_detectron_skips_missing_cameras_and_unlabeled_subjects(tmp_path):
    builder = _prepare(tmp_path, config="detectron_pt_coco")
    validation = examples(builder, "validation")
    assert len(validation) == 14 and "Validate/S1/Walking 1 chunk2/1" not in validation
    assert "Validate/S1/Walking 1 chunk2/0" in validation
    assert validation["Validate/S1/Walking 1 chunk0/0"]["keypoints_2d"].shape == (18, 17, 2)
    assert builder.info.metadata["skipped_cameras"] == ["Validate/S1/Walking 1 chunk2/1"]
    assert builder.info.metadata["ignored_2d_subjects"] == ["Unlabeled/Train/S1"]
    assert builder.info.metadata["keypoints_layout_2d"] == "coco17"
    # The metadata survives a reload from disk.
    reloaded = tfds.builder("humaneva/detectron_pt_coco", data_dir=tmp_path / "data")
    assert reloaded.info.metadata["skipped_cameras"] == ["Validate/S1/Walking 1 chunk2/1"]


def test_action_filter_follows_videopose3d(tmp_path):
    builder = _prepare(tmp_path)
    ds = builder.as_dataset(split="validation").filter(humaneva.action_filter(("Walk", "Jog", "Box")))
    kept = sorted({ex["action"].decode() for ex in tfds.as_numpy(ds)})
    assert kept == ["Box 1 chunk0", "Jog 1 chunk0", "Walking 1 chunk0", "Walking 1 chunk2"]
    # Filtering on the action_type feature gives the same selection.
    ds = builder.as_dataset(split="validation").filter(
        lambda ex: tf.strings.regex_full_match(ex["action_type"], "Walking|Jog|Box"))
    assert sorted({ex["action"].decode() for ex in tfds.as_numpy(ds)}) == kept
    with pytest.raises(ValueError, match="non-empty sequence"):
        humaneva.action_filter("Walk")


def test_missing_manual_files_are_named(tmp_path):
    manual = make_manual_dir(tmp_path / "manual", DUMMY / "data_2d_humaneva15_gt.npz")
    with pytest.raises(FileNotFoundError) as error:
        _prepare(tmp_path, manual)
    assert "'data_3d_humaneva15.npz'" in str(error.value)
    assert os.fspath(manual) in str(error.value) and "prepare_data_humaneva.py" in str(error.value)


def test_action_missing_from_2d_names_both_files(tmp_path):
    positions_2d = load_pickled(DUMMY / "data_2d_humaneva15_gt.npz", "positions_2d")
    del positions_2d["Train/S2"]["Box 1 chunk0"]
    manual = make_manual_dir(tmp_path / "manual", DUMMY / "data_3d_humaneva15.npz")
    save_pickled(manual / "data_2d_humaneva15_gt.npz", positions_2d=positions_2d)
    with pytest.raises(ValueError, match=r"missing from the 2D file: \['Box 1 chunk0'\]") as error:
        _prepare(tmp_path, manual)
    assert os.fspath(manual / "data_2d_humaneva15_gt.npz") in str(error.value)
    assert os.fspath(manual / "data_3d_humaneva15.npz") in str(error.value)


def test_custom_config_reads_its_file(tmp_path):
    manual = make_manual_dir(tmp_path / "manual", DUMMY / "data_3d_humaneva15.npz")
    shutil.copy(DUMMY / "data_2d_humaneva15_gt.npz", manual / "data_2d_humaneva15_mine.npz")
    config = humaneva.HumanevaConfig(name="mine", description="A copy of gt.")
    builder = _prepare(tmp_path, manual, config=config)
    assert builder.info.splits["validation"].num_examples == 15
    assert builder.info.metadata["source_2d"] == "mine"
