"""Kinetics-Skeleton JSON files: the official conversion (ST-GCN / ST-TR
`kinetics_gendata.py`), per-frame ranking and its ties, malformed files."""

import json
import math

import numpy as np
import pytest

from skeleton_zoo.formats import kinetics

from conftest import BUILDERS, FIXTURES

DUMMY = BUILDERS / "kinetics_skeleton" / "dummy_data"
VAL = DUMMY / "kinetics_val"
LABEL_FILE = DUMMY / "kinetics_val_label.json"


@pytest.fixture(scope="module")
def expected():
    """The official converter's output, channels-last (N, T, V, M, C)."""
    data = np.load(FIXTURES / "kinetics" / "kinetics_expected.npz")
    meta = json.loads(str(data["meta"]))
    return {"names": meta["names"], "labels": data["labels"], "joints": np.transpose(data["joints"], (0, 2, 3, 4, 1))}


def _person(x, y, score):
    """One `skeleton` entry: 18 joints at (x, y) (scalars or (18,)) with `score`."""
    x, y, score = (np.broadcast_to(np.asarray(v, float), (kinetics.NUM_JOINTS,)) for v in (x, y, score))
    return {"pose": np.stack([x, y], -1).reshape(-1).tolist(), "score": score.tolist()}


def _write(tmp_path, frames, label_index=0, name="video.json"):
    """A video JSON of `frames`: [(frame_index, [person, ...]), ...]."""
    path = tmp_path / name
    data = [{"frame_index": t, "skeleton": people} for t, people in frames]
    path.write_text(json.dumps({"data": data, "label": "abseiling", "label_index": label_index}))
    return path


# --- the official conversion -----------------------------------------------------
def test_conversion_equals_the_official_converter(expected):
    labels = kinetics.read_label_file(LABEL_FILE)
    for i, name in enumerate(expected["names"]):
        entry = kinetics.label_of(labels, VAL / f"{name}.json", LABEL_FILE)
        joints = kinetics.process_video(VAL / f"{name}.json", label_index=entry.label_index)
        assert joints.shape == (300, 18, 2, 3) and joints.dtype == np.float32
        # bit for bit, the sign of zero included (-(y - 0.5) as the official code computes it)
        np.testing.assert_array_equal(joints.view(np.uint32), expected["joints"][i].view(np.uint32), err_msg=name)
        assert entry.label_index == expected["labels"][i]


def test_videos_without_skeletons_are_the_ones_left_out(expected):
    labels = kinetics.read_label_file(LABEL_FILE)
    files = sorted(p.name for p in VAL.glob("*.json"))
    kept = [kinetics.video_id(f) for f in files if kinetics.label_of(labels, f, LABEL_FILE).has_skeleton]
    assert sorted(expected["names"]) == sorted(kept)
    skipped = [f for f in files if kinetics.video_id(f) not in kept]
    assert skipped == ["vid_no_skeleton.json"]
    # Its file is readable all the same: no frames, all zeros.
    video = kinetics.read_video(VAL / "vid_no_skeleton.json")
    assert video.num_frames == 0 and not video.slots.any()


def test_people_are_reranked_frame_by_frame():
    video = kinetics.read_video(VAL / "vid_three_people.json")
    joints = kinetics.centre_and_rank(video.slots)  # (T, V, 2, 3)
    totals = video.slots[..., 2].sum(-1)  # (5, T): summed score per listed person
    frames = np.arange(video.num_frames)
    order = np.argsort(-totals[:, frames], axis=0, kind="stable")
    # Which two of the three are kept changes during the video; each frame keeps its own two best.
    assert len({tuple(kept) for kept in order[:2].T}) > 1
    for t in frames:
        for rank in range(2):
            best = video.slots[order[rank, t], t, :, 2].astype(np.float32)
            np.testing.assert_array_equal(joints[t, :, rank, 2], best)
    np.testing.assert_array_equal(joints[video.num_frames:], 0)


def test_centring_and_zero_score_joints(tmp_path):
    score = np.linspace(0.1, 0.9, 18)
    score[[3, 7]] = 0  # undetected joints: OpenPose writes x = y = 0, score 0
    x = np.linspace(0.2, 0.8, 18)
    joints = kinetics.process_video(_write(tmp_path, [(4, [_person(x, 0.25, score)])]))
    person = joints[4, :, 0].astype(np.float64)
    seen = score > 0
    np.testing.assert_allclose(person[seen, 0], x[seen] - 0.5, atol=1e-7)
    np.testing.assert_allclose(person[seen, 1], 0.25, atol=1e-7)  # -(0.25 - 0.5): y points up
    np.testing.assert_array_equal(person[~seen], 0)
    np.testing.assert_allclose(person[:, 2], score, atol=1e-7)
    assert not np.delete(joints, 4, axis=0).any() and not joints[:, :, 1].any()


def test_equal_summed_scores_keep_the_file_order(tmp_path):
    # Summed scores (0, 1, 2, 2, 1) x 0.9: the two best tie. numpy 1.x's default sort of 5 values (an insertion
    # sort, where the official code was written) keeps the file order; numpy 2.4's SIMD argsort on an AVX2 CPU
    # ranks this very row (3, 2, 1, 4, 0). The file order is the one kept here.
    people = [_person(0.1 * m, 0.5, score) for m, score in enumerate((0.0, 0.05, 0.1, 0.1, 0.05))]
    joints = kinetics.process_video(_write(tmp_path, [(0, people), (1, people[::-1])]))
    np.testing.assert_allclose(joints[0, 0, :, 0], [0.2 - 0.5, 0.3 - 0.5], atol=1e-7)
    np.testing.assert_allclose(joints[1, 0, :, 0], [0.3 - 0.5, 0.2 - 0.5], atol=1e-7)


# Two permutations of the same 18 scores: equal sums in exact arithmetic, one ulp apart when added joint by joint.
_NEAR_TIE_A = [0.622, 0.323, 0.794, 0.289, 0.121, 0.965, 0.563, 0.785, 0.553, 0.631, 0.082, 0.227, 0.691, 0.592,
               0.201, 0.954, 0.197, 0.535]
_NEAR_TIE_B = [0.553, 0.631, 0.785, 0.794, 0.592, 0.289, 0.121, 0.082, 0.323, 0.227, 0.965, 0.197, 0.535, 0.691,
               0.954, 0.201, 0.622, 0.563]


def test_near_ties_rank_as_the_official_sum_rounds(tmp_path):
    assert math.fsum(_NEAR_TIE_A) == math.fsum(_NEAR_TIE_B)
    # The official expression on its (T, V, M) score array: -data[2].sum(axis=1), then argsort.
    official_sums = np.stack([_NEAR_TIE_A, _NEAR_TIE_B], axis=-1)[None].sum(axis=1)[0]
    assert official_sums[1] > official_sums[0]  # person B ranks first officially, though listed second
    a, b = _person(0.1, 0.1, _NEAR_TIE_A), _person(0.9, 0.9, _NEAR_TIE_B)
    joints = kinetics.process_video(_write(tmp_path, [(0, [a, b])]))
    np.testing.assert_allclose(joints[0, :, 0, 2], _NEAR_TIE_B, atol=1e-7)
    np.testing.assert_allclose(joints[0, :, 1, 2], _NEAR_TIE_A, atol=1e-7)


def test_only_the_first_five_people_are_observed_and_relisted_frames_overwrite(tmp_path):
    weak = [_person(0.1 * (m + 1), 0.5, 0.1) for m in range(5)]
    strongest_but_sixth = {"pose": [None] * 3, "score": "not read"}  # ignored unchecked, as officially
    listed_again = _person(0.7, 0.5, 0.2)  # replaces slot 0 of frame 0 only
    video = kinetics.read_video(_write(tmp_path, [(0, weak + [strongest_but_sixth]), (0, [listed_again])]))
    np.testing.assert_allclose(video.slots[:, 0, 0, 0], [0.7, 0.2, 0.3, 0.4, 0.5])
    assert video.num_frames == 1


def test_video_ids_as_the_official_code_derives_them():
    assert kinetics.video_id("kinetics_val/--07WQ2iBlw.json") == "--07WQ2iBlw"
    assert kinetics.video_id("a_b.c.json") == "a_b"


# --- malformed files -------------------------------------------------------------------
def _edit(edit):
    def write(tmp_path):
        video = json.loads((VAL / "vid_three_people.json").read_text())
        edit(video)
        path = tmp_path / "vid_three_people.json"
        path.write_text(json.dumps(video))
        return path
    return write


def _set(frame, person, key, value):
    def edit(video):
        video["data"][frame]["skeleton"][person][key] = value
    return edit


@pytest.mark.parametrize("write,entry,match", [
    (_edit(_set(2, 1, "pose", [0.5] * 34)), "data[2] (frame_index 2), skeleton[1]",
     "pose must hold 36 numbers.*found 34"),
    (_edit(_set(2, 0, "score", [0.5] * 17)), "data[2] (frame_index 2), skeleton[0]",
     "score must hold 18 numbers.*found 17"),
    (_edit(_set(3, 1, "pose", [float("nan")] + [0.5] * 35)), "data[3] (frame_index 3), skeleton[1]",
     r"pose\[0\] must be a finite number, found nan"),
    (_edit(_set(3, 0, "score", [0.5] * 17 + [float("inf")])), "data[3] (frame_index 3), skeleton[0]",
     r"score\[17\] must be a finite number, found inf"),
    (_edit(_set(1, 0, "pose", [0.5] * 35 + ["abc"])), "data[1] (frame_index 1), skeleton[0]",
     r"pose\[35\] must be a finite number, found 'abc'"),
    (_edit(lambda v: v["data"][5].update(frame_index=300)), "data[5] (frame_index 300)",
     r"frame_index must be an integer in \[0, 300\), found 300"),
    (_edit(lambda v: v["data"][5].update(frame_index=-1)), "data[5] (frame_index -1)", "found -1"),
    (_edit(lambda v: v["data"][5].update(frame_index=2.0)), "data[5] (frame_index 2.0)", "found 2.0"),
    (_edit(lambda v: v["data"][4].update(skeleton={"pose": []})), "data[4] (frame_index 4)",
     "skeleton must be a list"),
    (_edit(lambda v: v["data"][4]["skeleton"].__setitem__(0, {"pose": [0.5] * 36})),
     "data[4] (frame_index 4), skeleton[0]", "expected an object with pose and score"),
    (_edit(lambda v: v.pop("data")), None, r"lacks \['data'\]"),
], ids=["short_pose", "short_score", "nan_pose", "infinite_score", "text_in_pose", "frame_300", "negative_frame",
        "float_frame", "skeleton_not_a_list", "person_without_score", "no_data"])
def test_malformed_videos_name_file_and_entry(tmp_path, write, entry, match):
    path = write(tmp_path)
    with pytest.raises(kinetics.KineticsFileError, match=match) as info:
        kinetics.read_video(path)
    assert info.value.path == str(path) and info.value.entry == entry
    assert f"'{path}'" + (f", {entry}" if entry else "") in str(info.value)


def test_not_json_and_a_label_index_that_disagrees(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"data": [')
    with pytest.raises(kinetics.KineticsFileError, match=r"broken\.json': not valid JSON"):
        kinetics.read_video(path)
    with pytest.raises(kinetics.KineticsFileError, match=r"vid_long\.json', label_index: the file says 12, its label "
                                                         r"file 13"):
        kinetics.process_video(VAL / "vid_long.json", label_index=13)


def test_label_file_errors_and_unknown_video_id(tmp_path):
    labels = kinetics.read_label_file(LABEL_FILE)
    with pytest.raises(kinetics.KineticsFileError, match=r"new_video\.json', video id 'new_video': the label file "
                                                         r"'.*kinetics_val_label\.json' has no entry"):
        kinetics.label_of(labels, tmp_path / "new_video.json", LABEL_FILE)
    entries = json.loads(LABEL_FILE.read_text())
    for edit, match in [(lambda e: e["vid_long"].update(has_skeleton="yes"), "video 'vid_long': has_skeleton must be "
                                                                              "true or false, found 'yes'"),
                        (lambda e: e["vid_long"].pop("label_index"), r"video 'vid_long': lacks \['label_index'\]"),
                        (lambda e: e["vid_long"].update(label_index="12"), "label_index must be an integer")]:
        broken = json.loads(json.dumps(entries))
        edit(broken)
        path = tmp_path / "kinetics_val_label.json"
        path.write_text(json.dumps(broken))
        with pytest.raises(kinetics.KineticsFileError, match=match) as info:
            kinetics.read_label_file(path)
        assert info.value.path == str(path) and info.value.entry == "video 'vid_long'"
