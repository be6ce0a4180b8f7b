"""`python -m skeleton_zoo classify` and `classify_files`: NTU .skeleton and
.npz inputs, PYSKL annotation pickles, text and JSON output, official
two-stream weights, bad inputs."""

import json
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.formats import ntu
from skeleton_zoo.inference import classify

from conftest import FIXTURES, ntu_skeleton_files

SKELETONS = ntu_skeleton_files()
SMALL = ["--model", "st_tr_spatial_joint", "--option", "backbone=[[16,16,1],[16,32,2]]"]
TWO_STREAM_WEIGHTS = {"spatial": str(FIXTURES / "sttr" / "sttr_spatial_joint_small.pt"),
                      "temporal": str(FIXTURES / "sttr" / "sttr_temporal_joint_small.pt")}
TWO_STREAM_BACKBONE = [[16, 16, 1], [16, 16, 1], [16, 16, 1], [16, 128, 2], [128, 128, 1]]
NAMES = classify.class_names(60)


def _command(*args):
    return [sys.executable, "-m", "skeleton_zoo.classify", *map(str, args)]


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def _run(*args):
    return subprocess.run(_command(*args), capture_output=True, text=True, timeout=300, env=_env())


def _our_lines(stderr):
    """stderr without the C++ start-up lines TensorFlow prints before absl logging starts."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith(("I0000", "W0000", "WARNING: All log messages"))]


def _check_top(top, num_classes=60):
    assert [t["rank"] for t in top] == [1, 2, 3, 4, 5]
    probabilities = [t["probability"] for t in top]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 < p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-6
    assert len({t["index"] for t in top}) == 5
    for t in top:
        assert 0 <= t["index"] < num_classes and t["name"] == classify.class_names(num_classes)[t["index"]]


def test_class_names():
    assert len(NAMES) == 60 and NAMES[0] == "drink water"
    names120 = classify.class_names(120)
    assert len(names120) == 120 and names120[:60] == NAMES and len(set(names120)) == 120
    assert classify.class_names(5) == [f"class {i}" for i in range(5)]


def test_cli_prints_five_named_classes_per_file():
    result = _run(*SKELETONS, *SMALL)
    assert result.returncode == 0, result.stderr
    assert any("randomly initialised" in line for line in _our_lines(result.stderr))
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == len(SKELETONS)
    for block, path in zip(blocks, SKELETONS):
        lines = block.splitlines()
        assert lines[0] == str(path) and lines[1].split() == ["rank", "class", "probability", "name"]
        top = []
        for line in lines[2:]:
            rank, index, probability, name = line.split(maxsplit=3)
            top.append({"rank": int(rank), "index": int(index), "probability": float(probability),
                        "name": name})
        _check_top(top)


def test_cli_json_two_stream_official_weights():
    weights = f"{TWO_STREAM_WEIGHTS['spatial']},{TWO_STREAM_WEIGHTS['temporal']}"
    result = _run(*SKELETONS[:2], "--model", "st_tr_2s_joint", "--weights", weights, "--json",
                  "--option", f"backbone={TWO_STREAM_BACKBONE}")
    assert result.returncode == 0, result.stderr
    assert not any("randomly" in line for line in _our_lines(result.stderr))
    results = json.loads(result.stdout)  # stdout holds only the JSON
    assert [r["file"] for r in results] == [str(p) for p in SKELETONS[:2]]
    model = skeleton_zoo.load("st_tr_2s_joint", weights=TWO_STREAM_WEIGHTS, backbone=TWO_STREAM_BACKBONE)
    x = np.stack([ntu.process_skeleton(p) for p in SKELETONS[:2]])
    logits = np.asarray(model(x, training=False), np.float64)
    expected = np.exp(logits - logits.max(-1, keepdims=True))
    expected /= expected.sum(-1, keepdims=True)
    for result, p in zip(results, expected):
        _check_top(result["top"])
        assert [t["index"] for t in result["top"]] == list(np.argsort(-p)[:5])
        np.testing.assert_allclose([t["probability"] for t in result["top"]], np.sort(p)[::-1][:5], atol=1e-5)


def _softmax(logits):
    logits = np.asarray(logits, np.float64)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.fixture(scope="module")
def small_model():
    return skeleton_zoo.load("st_tr_temporal_joint", backbone=[[16, 16, 1], [16, 32, 2]])


def test_api_equals_direct_model_call(small_model):
    results = classify.classify_files(SKELETONS, small_model, top=60)
    assert [r["file"] for r in results] == [str(p) for p in SKELETONS]
    x = np.stack([ntu.process_skeleton(p) for p in SKELETONS])
    expected = _softmax(small_model(x, training=False))
    for result, p in zip(results, expected):
        got = np.zeros(60)
        got[[t["index"] for t in result["top"]]] = [t["probability"] for t in result["top"]]
        np.testing.assert_allclose(got, p, atol=1e-5)
        assert [t["name"] for t in result["top"]] == [NAMES[t["index"]] for t in result["top"]]


def test_api_preset_name_bones_and_120_classes():
    overrides = {"backbone": [[16, 16, 1], [16, 32, 2]], "num_classes": 120}
    results = classify.classify_files(SKELETONS[:1], "st_tr_spatial_bone", top=3, overrides=overrides)
    assert len(results[0]["top"]) == 3
    assert all(t["name"] == classify.class_names(120)[t["index"]] for t in results[0]["top"])
    joints = ntu.process_skeleton(SKELETONS[0])
    x = skeleton_zoo.layouts.skeleton_features(joints, "joint+bone", skeleton_zoo.get_layout("ntu25"), joint_axis=1)
    bones = skeleton_zoo.layouts.joints_to_bones(joints, skeleton_zoo.get_layout("ntu25"), joint_axis=1)
    np.testing.assert_array_equal(x, np.concatenate([joints, bones], -1))


def test_npz_inputs(small_model, tmp_path):
    joints = ntu.process_skeleton(SKELETONS[0])
    np.savez(tmp_path / "full.npz", joints=joints)
    np.savez(tmp_path / "short.npz", joints=joints[:40])
    np.savez(tmp_path / "one.npz", joints=joints[:40, :, 0])  # (T, 25, 3): one person
    direct, full, short, one = classify.classify_files(
        [SKELETONS[0], tmp_path / "full.npz", tmp_path / "short.npz", tmp_path / "one.npz"],
        small_model, top=60)
    assert full["top"] == direct["top"]
    expected_short = np.zeros_like(joints)
    expected_short[:40] = joints[:40]
    np.testing.assert_array_equal(classify.read_clip(tmp_path / "short.npz"), expected_short)
    expected_one = np.zeros_like(joints)
    expected_one[:40, :, 0] = joints[:40, :, 0]
    np.testing.assert_array_equal(classify.read_clip(tmp_path / "one.npz"), expected_one)
    assert len(short["top"]) == len(one["top"]) == 60
    result = _run(tmp_path / "one.npz", *SMALL, "--json", "--top", "5")
    assert result.returncode == 0, result.stderr
    _check_top(json.loads(result.stdout)[0]["top"])


def _bad_files(folder):
    (folder / "empty.skeleton").write_bytes(b"")
    (folder / "malformed.skeleton").write_text("1\n1\nnot a body line\n")
    (folder / "zero_frames.skeleton").write_text("0\n")
    np.savez(folder / "no_joints.npz", poses=np.zeros((10, 25, 2, 3)))
    np.savez(folder / "wrong_joints.npz", joints=np.zeros((10, 17, 2, 3)))
    np.savez(folder / "zero_frames.npz", joints=np.zeros((0, 25, 2, 3)))
    (folder / "not_a_zip.npz").write_text("hello")
    (folder / "clip.txt").write_text("1 2 3\n")
    return {
        "empty.skeleton": "the file is empty",
        "malformed.skeleton": "line 3",
        "zero_frames.skeleton": "zero frames",
        "no_joints.npz": "no array 'joints'",
        "wrong_joints.npz": "17 joints, expected 25",
        "zero_frames.npz": "zero frames",
        "not_a_zip.npz": "not a readable .npz",
        "clip.txt": "unknown file type '.txt'",
        "missing.skeleton": "no such file",
    }


# Through the command line in this process (`skeleton_zoo.cli.main`, as tests/cli/test_bad_input.py; the tests
# above run the command as its own process), one case per reader; every case goes through `read_clip` (below),
# which raises the error the command prints.
CLI_CASES = ["malformed.skeleton", "wrong_joints.npz", "clip.txt"]


@pytest.mark.parametrize("name", CLI_CASES)
def test_bad_input_exits_2_with_one_line(name, tmp_path, capfd):
    from skeleton_zoo.cli import main

    path, problem = tmp_path / name, _bad_files(tmp_path)[name]
    returncode = main(["skeleton_zoo", "classify", str(SKELETONS[0]), str(path), *SMALL])
    stdout, stderr = capfd.readouterr()
    assert returncode == 2, stderr
    assert stdout == ""  # no partial output, not even for the good first file
    lines = _our_lines(stderr)
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"error: {path}: ") and problem in lines[0], lines[0]


def test_bad_inputs_raise_input_file_error(tmp_path, small_model):
    for name, problem in _bad_files(tmp_path).items():
        path = tmp_path / name
        with pytest.raises(classify.InputFileError) as info:
            classify.read_clip(path)
        assert str(info.value).startswith(f"{path}: ") and problem in str(info.value)
        assert info.value.path == str(path)
        with pytest.raises(classify.InputFileError, match="no such file"):  # the first bad file is named
            classify.classify_files([SKELETONS[0], tmp_path / "nope.npz", path], small_model)


def test_render_draws_the_clip(tmp_path):
    from PIL import Image

    png = tmp_path / "clip.png"
    result = subprocess.run([sys.executable, "-m", "skeleton_zoo.classify", str(SKELETONS[0]), "--model",
                             "st_tr_spatial_joint", "--option", "backbone=[[16, 16, 1], [16, 32, 2]]",
                             "--render", str(png)], capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = np.asarray(Image.open(png).convert("L"), dtype=np.float32)
    assert pixels.var() > 100


# --- PYSKL's models: detector keypoints (COCO-17) and raw NTU files -------------------------
PYSKL_SMALL = {"base_channels": 8, "num_stages": 2, "inflate_stages": (2,), "down_stages": (2,)}


def _coco_results(path, frames=30, people=2, seed=0):
    """A COCO results JSON (what a detector writes): people per image, 17 keypoints (x, y, score)."""
    rng = np.random.default_rng(seed)
    items = []
    for t in range(frames):
        for p in range(people):
            xy = rng.uniform(200, 900, size=(17, 2)) + 300 * p
            score = rng.uniform(0.2, 1.0, size=(17, 1)) * (0.5 if p else 1.0)
            items.append({"image_id": t, "category_id": 1, "score": 0.9,
                          "keypoints": np.concatenate([xy, score], -1).reshape(-1).tolist()})
    path.write_text(json.dumps(items))
    return path


def test_coco17_model_classifies_detector_keypoints(tmp_path):
    """2D keypoints from a detector through PYSKL's test pipeline: the same probabilities as
    `formats.pyskl` by hand (pre-normalised with the image size, the model's stream, 10 clips,
    clip-averaged softmax); the more confident person first. (Ensembles: tests/tasks/test_ensemble.py.)"""
    from skeleton_zoo.formats import keypoint_files, pyskl

    path = _coco_results(tmp_path / "detections.json")
    model = skeleton_zoo.load("stgcn_pp", layout="coco17", num_classes=60, stream="jm", **PYSKL_SMALL)
    (result,) = classify.classify_files([path], model, width=1920, height=1080)
    _check_top(result["top"])
    tracks = keypoint_files.read_keypoints(path)
    order = np.argsort(-tracks.scores.sum(axis=(1, 2)))
    assert order[0] == 0  # the first person is the surer one here
    clips, _ = pyskl.test_clips(tracks.keypoints[order], "jm", "coco17", tracks.scores[order], (1080, 1920))
    expected = pyskl.clip_probabilities(model.predict(clips, verbose=0))
    assert result["top"][0]["index"] == int(np.argmax(expected))
    np.testing.assert_allclose([t["probability"] for t in result["top"]], np.sort(expected)[::-1][:5], rtol=1e-5)
    with pytest.raises(classify.InputFileError, match="image size unknown: pass --width and --height"):
        classify.classify_files([path], model)


def test_keypoint_files_need_a_coco17_model(tmp_path):
    path = _coco_results(tmp_path / "detections.json", frames=5)
    ntu_model = skeleton_zoo.load("stgcn_pp", num_classes=60, **PYSKL_SMALL)
    with pytest.raises(classify.InputFileError, match="holds 2D keypoints from a detector; the model \\(layout "
                                                      "'ntu25'\\) takes raw NTU .skeleton files"):
        classify.classify_files([path], ntu_model, width=1920, height=1080)
    result = _run(path, *SMALL, "--width", 1920, "--height", 1080)
    assert result.returncode == 2
    assert "holds 2D keypoints; 'st_tr_spatial_joint' takes NTU 3D joints" in result.stderr
    assert "Traceback" not in result.stderr


def test_ntu25_pyskl_model_classifies_raw_skeleton_files():
    from skeleton_zoo.formats import pyskl

    model = skeleton_zoo.load("stgcn_pp", num_classes=60, stream="b", **PYSKL_SMALL)
    (result,) = classify.classify_files([SKELETONS[0]], model)
    bodies = ntu.select_bodies(ntu.read_skeleton(SKELETONS[0])).astype(np.float32)
    clips, _ = pyskl.test_clips(bodies, "b", "ntu25")
    expected = pyskl.clip_probabilities(model.predict(clips, verbose=0))
    np.testing.assert_allclose([t["probability"] for t in result["top"]], np.sort(expected)[::-1][:5], rtol=1e-5)


# --- PYSKL annotation pickles ------------------------------------------------------------------
_PKL_RNG = np.random.RandomState(11)


def _anno_3d(frame_dir, frames, persons, label):
    keypoint = _PKL_RNG.normal(0, 0.4, (persons, frames, 25, 3)) + [0, 0, 3]
    return dict(frame_dir=frame_dir, label=label, total_frames=frames, keypoint=keypoint.astype(np.float16))


def _anno_2d(frame_dir, frames, persons, label):
    keypoint = _PKL_RNG.uniform(0, 1, (persons, frames, 17, 2)) * [640, 480]
    score = _PKL_RNG.uniform(0.05, 0.5, (persons, frames, 17)) * np.arange(1, persons + 1)[:, None, None] / persons
    return dict(frame_dir=frame_dir, label=label, img_shape=(480, 640), original_shape=(480, 640),
                total_frames=frames, keypoint=keypoint.astype(np.float16), keypoint_score=score.astype(np.float32))


def _pickle(path, data):
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=2)  # as mmcv.dump writes PYSKL's files
    return path


def _file_3d():
    annotations = [_anno_3d("S001C001P001R001A004", 23, 2, 3), _anno_3d("S002C002P003R001A010", 17, 1, 9),
                   _anno_3d("S001C003P002R002A050", 31, 2, 49)]
    annotations[0]["keypoint"][1, :4] = 0  # the second body enters at frame 4
    return dict(split=dict(xsub_train=["S001C001P001R001A004", "S002C002P003R001A010"],
                           xsub_val=["S001C003P002R002A050"]), annotations=annotations)


def _all_probabilities(result, num_classes=60):
    p = np.zeros(num_classes)
    p[[t["index"] for t in result["top"]]] = [t["probability"] for t in result["top"]]
    return p


@pytest.fixture(scope="module")
def pyskl_ntu():
    return skeleton_zoo.load("stgcn_pp", num_classes=60, stream="jm", **PYSKL_SMALL)


@pytest.fixture(scope="module")
def pyskl_coco():
    return skeleton_zoo.load("stgcn_pp", layout="coco17", num_classes=60, stream="b", **PYSKL_SMALL)


def test_pyskl_3d_pickle_equals_the_pyskl_pipeline_by_hand(tmp_path, pyskl_ntu):
    """Every video of a whole annotation file, named by frame_dir with its label: PYSKL's test
    pipeline (`formats.pyskl`) on the file's joints; a list of annotations and a single one read
    the same; --split and --videos select."""
    from skeleton_zoo.formats import pyskl

    data = _file_3d()
    path = _pickle(tmp_path / "ntu60_3danno.pkl", data)
    model = pyskl_ntu
    listed = _pickle(tmp_path / "list.pkl", data["annotations"][1:])
    single = _pickle(tmp_path / "one.pkl", data["annotations"][2])
    results = classify.classify_files([path, listed, single], model, top=60)
    assert [(r["file"], r["video"], r["label"]) for r in results] == [
        (str(file), a["frame_dir"], a["label"])
        for file, a in [(path, a) for a in data["annotations"]] + [(listed, a) for a in data["annotations"][1:]]
        + [(single, data["annotations"][2])]]
    assert {a["keypoint"].dtype for a in data["annotations"]} == {np.dtype(np.float16)}  # as PYSKL's files
    # PreNormalize3D computes in the file's float16, as the official pipeline
    clips = [pyskl.test_clips(a["keypoint"], "jm", "ntu25")[0] for a in data["annotations"]]
    logits = model.predict(np.concatenate(clips), verbose=0).reshape(3, 10, 60)
    expected = pyskl.clip_probabilities(logits)
    got = np.stack([_all_probabilities(r) for r in results])
    np.testing.assert_allclose(got, np.concatenate([expected, expected[1:], expected[2:]]), rtol=1e-5, atol=1e-9)
    (picked,) = classify.classify_files([path], model, videos=["S002", "S001C003"], split="xsub_train")
    assert picked["video"] == "S002C002P003R001A010"
    np.testing.assert_allclose(_all_probabilities(picked)[[t["index"] for t in picked["top"]]],
                               expected[1][[t["index"] for t in picked["top"]]], rtol=1e-5)
    assert classify.format_results([picked]).splitlines()[0] == f"S002C002P003R001A010 ({path}, label 9)"


def test_pyskl_2d_pickle_with_a_coco17_model(tmp_path, pyskl_coco):
    """HRNet-style 2D annotations: the file's image size and person order (FormatGCNInput keeps
    the first two of three; the surest person is the last here, so a re-ranking would differ)."""
    from skeleton_zoo.formats import pyskl

    annotation = _anno_2d("S001C001P001R001A006", 19, 3, 5)
    path = _pickle(tmp_path / "ntu60_hrnet.pkl", dict(split=dict(xsub_val=[annotation["frame_dir"]]),
                                                         annotations=[annotation]))
    model = pyskl_coco
    (result,) = classify.classify_files([path], model, top=60, width=1920, height=1080)  # the file's size wins
    clips, _ = pyskl.test_clips(annotation["keypoint"].astype(np.float32), "b", "coco17",
                                annotation["keypoint_score"], (480, 640))
    expected = pyskl.clip_probabilities(model.predict(clips, verbose=0))
    np.testing.assert_allclose(_all_probabilities(result), expected, rtol=1e-5, atol=1e-9)
    reranked, _ = pyskl.test_clips(annotation["keypoint"][::-1].astype(np.float32), "b", "coco17",
                                   annotation["keypoint_score"][::-1], (480, 640))
    assert not np.allclose(reranked, clips)


def test_sttr_on_a_3d_pickle_pads_and_normalises_as_the_ntu_pipeline(tmp_path, small_model):
    """ST-TR models: the annotation's bodies through the ntu_rgbd pipeline (the two most energetic,
    zero-padded to 300 frames, normalised); a file of the bodies of .skeleton files classifies as they do."""
    bodies = [ntu.select_bodies(ntu.read_skeleton(p)).astype(np.float32) for p in SKELETONS[:2]]
    one = _anno_3d("S003C001P001R001A001", 40, 1, 0)
    annotations = [dict(frame_dir=f"video{i}", label=0, total_frames=b.shape[1], keypoint=b)
                   for i, b in enumerate(bodies)] + [one]
    path = _pickle(tmp_path / "bodies.pkl", annotations)
    results = classify.classify_files([path, *SKELETONS[:2]], small_model, top=60)
    assert results[0]["top"] == results[3]["top"] and results[1]["top"] == results[4]["top"]
    padded = np.zeros((2, 300, 25, 3), np.float32)
    padded[0, :40] = one["keypoint"][0]
    x = np.transpose(ntu.pre_normalize(padded), (1, 2, 0, 3))[None]
    np.testing.assert_allclose(_all_probabilities(results[2]), _softmax(small_model(x, training=False))[0],
                               atol=1e-6)


def test_pickle_errors_name_the_file(tmp_path, small_model, pyskl_ntu, pyskl_coco):
    path_3d = _pickle(tmp_path / "ntu60_3danno.pkl", _file_3d())
    path_2d = _pickle(tmp_path / "ntu60_hrnet.pkl", [_anno_2d("S001C001P001R001A006", 6, 1, 5)])
    ntu_model, coco_model = pyskl_ntu, pyskl_coco
    broken = _file_3d()
    broken["annotations"][1]["keypoint"] = broken["annotations"][1]["keypoint"][:, :5]
    (tmp_path / "garbage.pkl").write_bytes(b"not a pickle at all")
    cases = [
        (path_2d, ntu_model, {}, "holds PYSKL 2D annotations of 17 joints; the model (layout 'ntu25') takes raw "
                                 "NTU .skeleton files or PYSKL 3D NTU-25 annotations"),
        (path_3d, coco_model, {}, "holds PYSKL 3D annotations of 25 joints; the model (layout 'coco17') takes"),
        (path_2d, small_model, {}, "holds PYSKL 2D annotations of 17 joints; 'st_tr_temporal_joint' takes NTU 3D "
                                   "joints. 2D keypoints classify with PYSKL's COCO-17 models"),
        (tmp_path / "garbage.pkl", small_model, {}, "not a readable pickle"),
        (_pickle(tmp_path / "broken.pkl", broken), small_model, {},
         "annotations[1] (frame_dir 'S002C002P003R001A010'), key 'keypoint': expected 17 frames"),
        (_pickle(tmp_path / "exploit.pkl", [_Exploit()]), small_model, {}, "refused to load global 'posix.system'"),
        (path_3d, small_model, {"split": "xview_val"}, "no split 'xview_val' (--split); its splits are xsub_train, "
                                                       "xsub_val."),
        (path_2d, small_model, {"split": "xsub_val"}, "it holds annotations without splits"),
        (path_3d, small_model, {"videos": ["S009"], "split": "xsub_val"},
         "no video whose frame_dir starts with S009 (--videos) among the 1 of split 'xsub_val', e.g. "
         "'S001C003P002R002A050'."),
    ]
    for path, model, options, message in cases:
        with pytest.raises(classify.InputFileError) as info:  # the good .skeleton file first, unless 2D
            classify.classify_files([path] if model is coco_model else [SKELETONS[0], path], model, **options)
        assert str(info.value).startswith(f"{path}: ") and message in str(info.value), str(info.value)
    with pytest.raises(ValueError, match="select videos of PYSKL annotation pickles"):
        classify.classify_files([SKELETONS[0]], small_model, videos="S001")


class _Exploit:
    def __reduce__(self):
        return os.system, ("true",)


def test_cli_pickle_json_and_a_bad_pickle_exit_2(tmp_path):
    path = _pickle(tmp_path / "ntu60_3danno.pkl", _file_3d())
    bad = _pickle(tmp_path / "bad.pkl", {"split": {}, "annotations": [{"frame_dir": "x"}]})
    processes = [subprocess.Popen(_command(p, *SMALL, "--json", "--top", "5", *extra), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=_env())
                 for p, extra in ((path, ["--videos", "S001"]), (bad, []))]
    (good_out, good_err), (bad_out, bad_err) = [p.communicate(timeout=300) for p in processes]
    assert processes[0].returncode == 0, good_err
    results = json.loads(good_out)
    assert [(r["video"], r["label"]) for r in results] == [("S001C001P001R001A004", 3), ("S001C003P002R002A050", 49)]
    for result in results:
        _check_top(result["top"])
    assert processes[1].returncode == 2 and bad_out == ""
    lines = _our_lines(bad_err)
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: annotations[0] (frame_dir 'x'): missing"), bad_err
