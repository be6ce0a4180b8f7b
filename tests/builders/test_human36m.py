"""Human3.6M TFDS builder (VideoPose3D preprocessing) and `skeleton_zoo.formats.camera`."""

import os
import pathlib

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo.formats import camera
from skeleton_zoo.weights.safe_pickle import UnsafePickleError, load_npz
from tfds_builders.human36m import human36m

from conftest import FIXTURES as CONFTEST_FIXTURES
from videopose3d_testing import (
    examples, load_pickled, make_manual_dir, prepare, rotation_matrix, save_pickled)

FIXTURES = CONFTEST_FIXTURES / "h36m"
DUMMY = pathlib.Path(human36m.__file__).parent / "dummy_data"


# --------------------------------------------------------------------------
# skeleton_zoo.formats.camera
# --------------------------------------------------------------------------
def _random_unit_quaternions(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def test_qrot_matches_rotation_matrix():
    rng = np.random.default_rng(0)
    qs = _random_unit_quaternions(rng, 5)
    v = rng.normal(size=(5, 7, 3))
    for q, points in zip(qs, v):
        expected = points @ rotation_matrix(q).T
        np.testing.assert_allclose(camera.qrot(q, points), expected, atol=1e-12)
    # Batched, with per-vector quaternions.
    batched = camera.qrot(qs[:, None, :].repeat(7, axis=1), v)
    np.testing.assert_allclose(batched, np.einsum("nij,nkj->nki", [*map(rotation_matrix, qs)], v),
                               atol=1e-12)
    # Identity and a known rotation: 90 degrees about z maps x to y.
    np.testing.assert_allclose(camera.qrot(np.array([1.0, 0, 0, 0]), v), v)
    s = np.sqrt(0.5)
    np.testing.assert_allclose(camera.qrot(np.array([s, 0, 0, s]), np.array([1.0, 0, 0])),
                               [0, 1, 0], atol=1e-12)


def test_qinverse_undoes_rotation_and_keeps_input():
    rng = np.random.default_rng(1)
    q = _random_unit_quaternions(rng, 4)
    original = q.copy()
    v = rng.normal(size=(4, 3))
    np.testing.assert_allclose(camera.qrot(camera.qinverse(q), camera.qrot(q, v)), v, atol=1e-12)
    np.testing.assert_array_equal(q, original)
    np.testing.assert_array_equal(camera.qinverse(q)[:, 1:], -q[:, 1:])


def test_world_camera_round_trip():
    rng = np.random.default_rng(2)
    R = _random_unit_quaternions(rng, 1)[0]
    t = rng.normal(size=3) * 3
    X = rng.normal(size=(11, 17, 3))
    cam = camera.world_to_camera(X, R, t)
    assert cam.shape == X.shape
    np.testing.assert_allclose(camera.camera_to_world(cam, R, t), X, atol=1e-12)
    # Same as the rotation-matrix form: R^T (X - t).
    np.testing.assert_allclose(cam, (X - t) @ rotation_matrix(R), atol=1e-12)
    # float32 in, float32 out (the reference's arithmetic).
    assert camera.world_to_camera(X.astype(np.float32), R.astype(np.float32),
                                  t.astype(np.float32)).dtype == np.float32


def test_screen_coordinates_round_trip():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1000, size=(6, 17, 2)).astype(np.float32)
    n = camera.normalize_screen_coordinates(X, w=1000, h=1002)
    assert n.dtype == np.float32 and n.shape == X.shape
    np.testing.assert_allclose(n, X / 1000 * 2 - [1, 1002 / 1000], atol=1e-6)
    np.testing.assert_allclose(camera.image_coordinates(n, w=1000, h=1002), X, rtol=1e-5, atol=1e-3)
    corners = camera.normalize_screen_coordinates(np.array([[0.0, 0.0], [640.0, 480.0]]), 640, 480)
    np.testing.assert_allclose(corners, [[-1, -0.75], [1, 0.75]])


def test_camera_shape_errors_name_argument():
    with pytest.raises(ValueError, match=r"`X` must have shape \(\.\.\., 2\), found shape \(4, 3\)"):
        camera.normalize_screen_coordinates(np.zeros((4, 3)), 10, 10)
    with pytest.raises(ValueError, match=r"`q` must have shape \(\.\.\., 4\)"):
        camera.qrot(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"`R` must have shape"):
        camera.world_to_camera(np.zeros((2, 3)), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="positive"):
        camera.image_coordinates(np.zeros((1, 2)), 0, 10)


# --------------------------------------------------------------------------
# TFDS builder
# --------------------------------------------------------------------------
class Human36mGtTest(tfds.testing.DatasetBuilderTestCase):
    """The standard TFDS builder checks on dummy_data (the fixture files)."""

    DATASET_CLASS = human36m.Human36m
    BUILDER_CONFIG_NAMES_TO_TEST = ["gt"]
    # S1 (2 actions) + S5 (1) and S9 (2) + S11 (1), 4 cameras each.
    SPLITS = {"train": 12, "test": 12}


def _prepare(tmp_path, manual_dir, config="gt"):
    return prepare("human36m", tmp_path, manual_dir, config)


def test_parity_with_videopose3d_reference(tmp_path):
    """Every array of h36m_expected.npz through the real builder, within 1e-5."""
    expected = np.load(FIXTURES / "h36m_expected.npz")
    builder = _prepare(tmp_path, DUMMY)
    every = {**examples(builder, "train"), **examples(builder, "test")}
    sequences = {k.rsplit("/", 1)[0] for k in expected.files}
    assert set(every) == sequences
    assert {ex["subject"].decode() for ex in examples(builder, "train").values()} == {"S1", "S5"}
    assert {ex["subject"].decode() for ex in examples(builder, "test").values()} == {"S9", "S11"}

    worst = {}
    for key in expected.files:
        sequence, name = key.rsplit("/", 1)
        ex = every[sequence]
        got = {
            "camera_frame_3d": ex["pose_3d"] + ex["trajectory"][:, None],
            "target_3d": ex["pose_3d"],
            "input_2d": ex["keypoints_2d"],
        }[name]
        assert got.shape == expected[key].shape, key
        np.testing.assert_allclose(got, expected[key], atol=1e-5, rtol=0, err_msg=key)
        worst[name] = max(worst.get(name, 0.0), float(np.abs(got - expected[key]).max()))
    assert set(worst) == {"camera_frame_3d", "target_3d", "input_2d"}
    print("max abs error vs h36m_expected.npz:", worst)


def test_example_features(tmp_path):
    builder = _prepare(tmp_path, DUMMY)
    ex = examples(builder, "test")["S9/Walking 1/3"]
    assert ex["pose_3d"].shape == (50, 17, 3) and ex["pose_3d"].dtype == np.float32
    assert ex["keypoints_2d"].shape == (50, 17, 2)
    assert ex["trajectory"].shape == (50, 3) and ex["num_frames"] == 50
    np.testing.assert_array_equal(ex["pose_3d"][:, 0], 0)
    assert ex["camera_id"] == b"60457274" and ex["action_type"] == b"Walking"
    # VideoPose3D's intrinsic vector, camera 3 (1000 x 1002 pixels).
    np.testing.assert_allclose(
        ex["camera_intrinsics"],
        [1145.5113525390625 / 500, 1144.77392578125 / 500, 514.9682006835938 / 500 - 1,
         501.88201904296875 / 500 - 1.002, -0.198384091258049, 0.21832367777824402,
         -0.008947807364165783, -0.0005872055771760643, -0.0018133620033040643], atol=1e-6)
    assert builder.info.metadata["layout_3d"] == "h36m17"
    assert builder.info.supervised_keys == ("keypoints_2d", "pose_3d")


def test_configs():
    names = [c.name for c in human36m.Human36m.BUILDER_CONFIGS]
    assert names == ["gt", "cpn_ft_h36m_dbb", "sh_ft_h36m", "sh_pt_mpii", "detectron_ft_h36m",
                     "detectron_pt_coco"]
    configs = human36m.Human36m.builder_configs
    assert configs["sh_pt_mpii"].num_joints_2d == 16
    assert configs["cpn_ft_h36m_dbb"].filename_2d == "data_2d_h36m_cpn_ft_h36m_dbb.npz"
    assert human36m.Human36mConfig(name="mine").filename_2d == "data_2d_h36m_mine.npz"
    with pytest.raises(ValueError, match=r"`source` must be a non-empty file-name-safe"):
        human36m.Human36mConfig(name="ok", source="../etc/x")


def test_missing_manual_files_are_named(tmp_path):
    only_2d = make_manual_dir(tmp_path / "only_2d", DUMMY / "data_2d_h36m_gt.npz")
    with pytest.raises(FileNotFoundError) as error:
        _prepare(tmp_path, only_2d)
    message = str(error.value)
    assert "'data_3d_h36m.npz'" in message and os.fspath(only_2d) in message
    assert "prepare_data_h36m.py" in message and "data_2d_h36m_gt.npz" in message

    only_3d = make_manual_dir(tmp_path / "only_3d", DUMMY / "data_3d_h36m.npz")
    with pytest.raises(FileNotFoundError, match="data_2d_h36m_cpn_ft_h36m_dbb.npz") as error:
        _prepare(tmp_path, only_3d, config="cpn_ft_h36m_dbb")
    assert os.fspath(only_3d) in str(error.value)

    empty = make_manual_dir(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="does not exist or is empty") as error:
        _prepare(tmp_path, empty)
    assert os.fspath(empty) in str(error.value) and "data_3d_h36m.npz" in str(error.value)


class _Exploit:
    """Pickles to a call of os.system: what a malicious dataset file can do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_restricted_unpickler_refuses_malicious_npz(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "data_3d_h36m.npz"
    save_pickled(evil, positions_3d={"S1": {"Walking": _Exploit(marker)}})
    with pytest.raises(UnsafePickleError) as error:
        load_npz(evil)
    assert "system" in error.value.refused and os.fspath(evil) in str(error.value)
    assert not marker.exists()

    # The builder surfaces it, naming the file; nothing ran.
    manual = make_manual_dir(tmp_path / "manual", evil, DUMMY / "data_2d_h36m_gt.npz")
    with pytest.raises(UnsafePickleError) as error:
        _prepare(tmp_path, manual)
    assert os.fspath(manual / "data_3d_h36m.npz") in str(error.value)
    assert not marker.exists()


def test_length_mismatch_crops_to_shorter(tmp_path):
    positions_2d = load_pickled(DUMMY / "data_2d_h36m_gt.npz", "positions_2d")
    metadata = load_npz(DUMMY / "data_2d_h36m_gt.npz")["metadata"]
    walking = positions_2d["S1"]["Walking"]
    original = [k.copy() for k in walking]
    # Extra 2D frames (as in some CPN sequences) on every camera; a shorter 2D on one camera.
    positions_2d["S1"]["Walking"] = [np.concatenate([k, k[-7:] + 3.0]) for k in walking]
    positions_2d["S5"]["Eating"][2] = positions_2d["S5"]["Eating"][2][:40]
    manual = make_manual_dir(tmp_path / "manual", DUMMY / "data_3d_h36m.npz")
    save_pickled(manual / "data_2d_h36m_long.npz", positions_2d=positions_2d, metadata=metadata)

    config = human36m.Human36mConfig(name="long", description="Longer 2D sequences.")
    builder = _prepare(tmp_path, manual, config=config)
    train = examples(builder, "train")
    expected = np.load(FIXTURES / "h36m_expected.npz")
    for cam in range(4):
        ex = train[f"S1/Walking/{cam}"]
        assert ex["num_frames"] == 52 and ex["keypoints_2d"].shape == (52, 17, 2)
        np.testing.assert_allclose(ex["keypoints_2d"], expected[f"S1/Walking/{cam}/input_2d"],
                                   atol=1e-5)
        np.testing.assert_allclose(ex["pose_3d"], expected[f"S1/Walking/{cam}/target_3d"],
                                   atol=1e-5)
        assert len(original[cam]) == 52
    short = train["S5/Eating/2"]
    assert short["num_frames"] == 40 and short["pose_3d"].shape == (40, 17, 3)
    np.testing.assert_allclose(short["pose_3d"], expected["S5/Eating/2/target_3d"][:40], atol=1e-5)
    assert train["S5/Eating/1"]["num_frames"] == 46
    assert builder.info.metadata["cropped_sequences"]["S1/Walking/0"] == [52, 59]
    assert builder.info.metadata["cropped_sequences"]["S5/Eating/2"] == [46, 40]


def test_subject_and_action_mismatch_name_both_files(tmp_path):
    positions_2d = load_pickled(DUMMY / "data_2d_h36m_gt.npz", "positions_2d")
    manual = make_manual_dir(tmp_path / "manual", DUMMY / "data_3d_h36m.npz")
    config = human36m.Human36mConfig(name="edited")
    path_2d = manual / "data_2d_h36m_edited.npz"

    # An action of the 3D file missing from the 2D file.
    edited = {s: dict(a) for s, a in positions_2d.items()}
    del edited["S9"]["SittingDown"]
    save_pickled(path_2d, positions_2d=edited)
    with pytest.raises(ValueError, match="missing from the 2D file: \\['SittingDown'\\]") as error:
        _prepare(tmp_path / "a", manual, config=config)
    assert os.fspath(path_2d) in str(error.value)
    assert os.fspath(manual / "data_3d_h36m.npz") in str(error.value)

    # A labeled subject only in the 2D file.
    edited = {**positions_2d, "S7": positions_2d["S5"]}
    save_pickled(path_2d, positions_2d=edited)
    with pytest.raises(ValueError, match="'S7' is in the 2D file but missing from the 3D file"):
        _prepare(tmp_path / "b", manual, config=config)

    # Uncalibrated subjects (S2-S4: detections for semi-supervised use) are ignored.
    edited = {**positions_2d, "S2": positions_2d["S5"]}
    save_pickled(path_2d, positions_2d=edited)
    builder = _prepare(tmp_path / "c", manual, config=config)
    assert builder.info.splits["train"].num_examples == 12
    assert builder.info.metadata["ignored_2d_subjects"] == ["S2"]

    # Wrong joint count for the config.
    edited = {s: {a: [k[:, :16] for k in cams] for a, cams in acts.items()}
              for s, acts in positions_2d.items()}
    save_pickled(path_2d, positions_2d=edited)
    with pytest.raises(ValueError, match=r"positions_2d\['S1'\]\['Directions 1'\]\[0\] must be an "
                                         r"array \(frames, 17, >= 2\), found shape \(62, 16, 2\)"):
        _prepare(tmp_path / "d", manual, config=config)
