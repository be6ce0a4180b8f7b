"""PYSKL's annotation pickles (`skeleton_zoo.formats.pyskl_annotations`):
synthetic files in the official layout (written as mmcv.dump writes them:
pickle protocol 2, float16 arrays as `ntu_preproc.py`), read back in our
layout; PYSKL's GCN clips equal from the file's persons and from the 2 kept;
each malformed file named in its error; pickled code refused."""

import os
import pickle
import re

import numpy as np
import pytest

from skeleton_zoo.formats import pyskl
from skeleton_zoo.formats import pyskl_annotations as pa
from skeleton_zoo.weights.safe_pickle import UnsafePickleError

_RNG = np.random.RandomState(7)


def _anno_3d(frame_dir, frames, persons, label=3):
    keypoint = _RNG.normal(0, 0.4, (persons, frames, 25, 3)) + [0, 0, 3]
    return dict(frame_dir=frame_dir, label=label, keypoint=keypoint.astype(np.float16), total_frames=frames)


def _anno_2d(frame_dir, frames, persons, label=5):
    keypoint = _RNG.uniform(0, 1, (persons, frames, 17, 2)) * [640, 480]
    score = _RNG.uniform(0, 1, (persons, frames, 17))
    score[score < 0.2] = 0  # below PreNormalize2D's threshold: x, y zeroed there
    return dict(frame_dir=frame_dir, label=label, img_shape=(480, 640), original_shape=(480, 640),
                total_frames=frames, keypoint=keypoint.astype(np.float16), keypoint_score=score.astype(np.float32))


def _file_3d():
    annotations = [_anno_3d("S001C001P001R001A004", 11, 1, label=3), _anno_3d("S001C002P003R001A050", 9, 2, label=49)]
    annotations[1]["keypoint"][1, :2] = 0  # the second body enters at frame 2
    return dict(split=dict(xsub_train=["S001C001P001R001A004"], xsub_val=["S001C002P003R001A050"]),
                annotations=annotations)


def _file_2d():
    annotations = [_anno_2d("S001C001P001R001A006", 10, 3, label=5), _anno_2d("S002C003P002R002A007", 8, 1, label=6)]
    return dict(split=dict(xview_train=["S002C003P002R002A007"], xview_val=["S001C001P001R001A006"]),
                annotations=annotations)


def _write(path, data, protocol=2):
    with open(path, "wb") as f:
        pickle.dump(data, f, protocol=protocol)
    return path


@pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL])  # mmcv.dump, pickle.dump
def test_3d_file_read_back_in_our_layout(protocol, tmp_path):
    data = _file_3d()
    annotations = pa.read_annotations(_write(tmp_path / "ntu60_3danno.pkl", data, protocol))
    assert annotations.splits == data["split"] and annotations.num_joints == 25 and not annotations.is_2d
    (first,) = annotations.samples("xsub_train")
    assert (first.frame_dir, first.label, first.total_frames, first.num_persons) == ("S001C001P001R001A004", 3, 11, 1)
    assert first.img_shape is None and first.joints.dtype == np.float32 and first.joints.shape == (11, 25, 1, 3)
    keypoint = data["annotations"][0]["keypoint"]  # (M, T, V, C)
    for t, v, c in ((0, 0, 0), (4, 20, 2), (10, 24, 1)):
        assert first.joints[t, v, 0, c] == np.float32(keypoint[0, t, v, c])
    np.testing.assert_array_equal(first.joints, keypoint.astype(np.float32).transpose(1, 2, 0, 3))

    padded = annotations.sample("S001C001P001R001A004", num_persons=2)
    assert padded.joints.shape == (11, 25, 2, 3) and padded.num_persons == 1
    np.testing.assert_array_equal(padded.joints[:, :, 0], first.joints[:, :, 0])
    assert not padded.joints[:, :, 1].any()
    second = annotations.sample("S001C002P003R001A050")
    np.testing.assert_array_equal(second.joints, data["annotations"][1]["keypoint"].astype(np.float32)
                                  .transpose(1, 2, 0, 3))
    assert second.label == 49 and second.num_persons == 2


def test_2d_file_read_back_as_x_y_score(tmp_path):
    data = _file_2d()
    annotations = pa.read_annotations(_write(tmp_path / "ntu60_hrnet.pkl", data))
    assert annotations.num_joints == 17 and annotations.is_2d
    assert [s.frame_dir for s in annotations.samples("xview_val")] == ["S001C001P001R001A006"]
    three = annotations.sample("S001C001P001R001A006")
    raw = data["annotations"][0]
    assert three.joints.shape == (10, 17, 3, 3) and three.num_persons == 3
    assert three.img_shape == (480, 640) and three.original_shape == (480, 640)
    # x, y, score: the channel order of PYSKL's PreNormalize2D / FormatGCNInput
    assert three.joints[2, 5, 1, 0] == np.float32(raw["keypoint"][1, 2, 5, 0])
    assert three.joints[2, 5, 1, 1] == np.float32(raw["keypoint"][1, 2, 5, 1])
    assert three.joints[2, 5, 1, 2] == raw["keypoint_score"][1, 2, 5]
    np.testing.assert_array_equal(three.joints[..., :2], raw["keypoint"].astype(np.float32).transpose(1, 2, 0, 3))
    np.testing.assert_array_equal(three.joints[..., 2], raw["keypoint_score"].transpose(1, 2, 0))

    kept = annotations.sample("S001C001P001R001A006", num_persons=2)
    assert kept.joints.shape == (10, 17, 2, 3) and kept.num_persons == 3
    np.testing.assert_array_equal(kept.joints, three.joints[:, :, :2])
    one = annotations.sample("S002C003P002R002A007", num_persons=2)
    assert one.num_persons == 1 and not one.joints[:, :, 1].any() and one.joints[:, :, 0].any()


@pytest.mark.parametrize("case", ["3d_one_person", "2d_three_persons", "2d_one_person"])
def test_pyskl_clips_equal_from_the_file_and_from_the_two_persons_kept(case, tmp_path):
    """The builder keeps 2 persons: PYSKL's GCN test pipeline gives the same
    clips from them as from every person of the file."""
    data = _file_3d() if case.startswith("3d") else _file_2d()
    annotations = pa.read_annotations(_write(tmp_path / "anno.pkl", data))
    raw = data["annotations"][{"3d_one_person": 0, "2d_three_persons": 0, "2d_one_person": 1}[case]]
    kept = annotations.sample(raw["frame_dir"], num_persons=pa.GCN_NUM_PERSONS).joints.transpose(2, 0, 1, 3)
    for stream in ("j", "bm"):
        if case.startswith("3d"):
            official, _ = pyskl.test_clips(raw["keypoint"].astype(np.float32), stream, "ntu25", clip_len=8, num_clips=2)
            ours, _ = pyskl.test_clips(kept, stream, "ntu25", clip_len=8, num_clips=2)
        else:
            official, _ = pyskl.test_clips(raw["keypoint"], stream, "coco17", keypoint_score=raw["keypoint_score"],
                                           img_shape=raw["img_shape"], clip_len=8, num_clips=2)
            ours, _ = pyskl.test_clips(kept, stream, "coco17", img_shape=raw["img_shape"], clip_len=8, num_clips=2)
        assert official.shape == ours.shape and np.abs(official).max() > 0
        np.testing.assert_array_equal(ours, official)


def _set(path, value):
    def edit(data):
        *parents, last = path
        target = data
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value(target[last]) if callable(value) else value
        return data
    return edit


_DELETE = object()


def _value_at(index, value):
    def edit(array):
        array = array.copy()
        array[index] = value
        return array
    return edit


# (name, file maker, edit, expected message)
_BAD_FILES = [
    ("not_a_dict", _file_3d, lambda d: [d], r"expected a dict with 'split' and 'annotations', found list"),
    ("no_split", _file_3d, _set(["split"], _DELETE), r"key 'split': missing; .*found keys \['annotations'\]"),
    ("no_keypoint", _file_3d, _set(["annotations", 1, "keypoint"], _DELETE),
     r"annotations\[1\] \(frame_dir 'S001C002P003R001A050'\): missing \['keypoint'\]; expected the keys"),
    ("frames_differ", _file_3d, _set(["annotations", 0, "total_frames"], 12),
     r"annotations\[0\] \(frame_dir 'S001C001P001R001A004'\), key 'keypoint': expected 12 frames \('total_frames'\), "
     r"found shape \(1, 11, 25, 3\)"),
    ("keypoint_not_4d", _file_3d, _set(["annotations", 0, "keypoint"], lambda a: a[0]),
     r"annotations\[0\] .*key 'keypoint': expected a float array \(persons, frames, joints, 2 or 3\), "
     r"found float16 array of shape \(11, 25, 3\)"),
    ("label_not_int", _file_3d, _set(["annotations", 1, "label"], "49"),
     r"annotations\[1\] .*key 'label': expected a non-negative integer, found '49'"),
    ("nan_keypoint", _file_3d, _set(["annotations", 1, "keypoint"], _value_at((1, 4, 7, 2), np.nan)),
     r"annotations\[1\] \(frame_dir 'S001C002P003R001A050'\), key 'keypoint': expected finite values, found nan at "
     r"\(person, frame, joint, channel\) \(1, 4, 7, 2\)"),
    ("score_on_3d", _file_3d, _set(["annotations", 0, "keypoint_score"], np.ones((1, 11, 25), np.float32)),
     r"key 'keypoint_score': a score belongs to 2D keypoints"),
    ("duplicate", _file_3d, _set(["annotations", 1, "frame_dir"], "S001C001P001R001A004"),
     r"annotations\[1\] \(frame_dir 'S001C001P001R001A004'\), key 'frame_dir': the frame_dir of "
     r"annotations\[0\] again"),
    ("unknown_in_split", _file_3d, _set(["split", "xsub_val"], ["S001C002P003R001A050", "S009C001P009R001A009"]),
     r"key 'split/xsub_val': 1 of its 2 frame_dirs have no annotation, the first 'S009C001P009R001A009'"),
    ("no_score_2d", _file_2d, _set(["annotations", 1, "keypoint_score"], _DELETE),
     r"annotations\[1\] \(frame_dir 'S002C003P002R002A007'\), key 'keypoint_score': 2D keypoints \(shape "
     r"\(1, 8, 17, 2\)\) need \['keypoint_score', 'img_shape'\]; missing \['keypoint_score'\]"),
    ("score_shape", _file_2d, _set(["annotations", 0, "keypoint_score"], lambda a: a[:2]),
     r"key 'keypoint_score': expected a float array of shape \(3, 10, 17\) .*found float32 array of shape "
     r"\(2, 10, 17\)"),
    ("inf_score", _file_2d, _set(["annotations", 0, "keypoint_score"], _value_at((2, 3, 4), np.inf)),
     r"key 'keypoint_score': expected finite values, found inf at \(person, frame, joint\) \(2, 3, 4\)"),
    ("no_img_shape", _file_2d, _set(["annotations", 0, "img_shape"], _DELETE),
     r"key 'img_shape': 2D keypoints .*missing \['img_shape'\]"),
    ("bad_img_shape", _file_2d, _set(["annotations", 0, "img_shape"], (480,)),
     r"key 'img_shape': expected \(height, width\), two positive integers, found \(480,\)"),
    ("mixed_kinds", _file_2d, _set(["annotations", 1], _anno_3d("S002C003P002R002A007", 8, 1)),
     r"annotations\[1\] .*key 'keypoint': expected 17 joints, 2D \(x, y, score\) as annotations\[0\], found 25 "
     r"joints, 3D \(x, y, z\)"),
]


@pytest.mark.parametrize("name,make,edit,message", _BAD_FILES, ids=[case[0] for case in _BAD_FILES])
def test_malformed_file_names_file_annotation_and_key(name, make, edit, message, tmp_path):
    path = _write(tmp_path / f"{name}.pkl", edit(make()))
    with pytest.raises(pa.AnnotationFileError, match=re.escape(f"PYSKL annotation file '{path}'")) as error:
        pa.read_annotations(path)
    assert re.search(message, str(error.value)), str(error.value)


def test_unreadable_and_missing_files(tmp_path):
    path = _write(tmp_path / "ntu60_3danno.pkl", _file_3d())
    path.write_bytes(path.read_bytes()[:3000])
    with pytest.raises(pa.AnnotationFileError, match=r"ntu60_3danno\.pkl': not a readable pickle \(truncated"):
        pa.read_annotations(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.pkl' does not exist"):
        pa.read_annotations(tmp_path / "absent.pkl")
    annotations = pa.read_annotations(_write(tmp_path / "good.pkl", _file_3d()))
    with pytest.raises(pa.AnnotationFileError, match=r"good\.pkl', key 'split': expected a split named 'xset_train', "
                                                     r"found \['xsub_train', 'xsub_val'\]"):
        annotations.frame_dirs("xset_train")


class _Exploit:
    """Pickles to a call of os.system: what a malicious annotation file can do."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_pickled_code_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    data = _file_3d()
    data["annotations"][1]["keypoint"] = _Exploit(marker)
    path = _write(tmp_path / "ntu60_3danno.pkl", data)
    with pytest.raises(UnsafePickleError) as error:
        pa.read_annotations(path)
    assert "system" in error.value.refused and os.fspath(path) in str(error.value)
    assert not marker.exists()


def test_read_annotation_pickle_takes_a_file_a_list_or_one_annotation(tmp_path):
    data = _file_3d()
    whole = pa.read_annotation_pickle(_write(tmp_path / "whole.pkl", data))
    assert whole.splits == data["split"]
    assert [a["frame_dir"] for a in whole.annotations] == data["split"]["xsub_train"] + data["split"]["xsub_val"]
    listed = pa.read_annotation_pickle(_write(tmp_path / "list.pkl", data["annotations"]))
    single = pa.read_annotation_pickle(_write(tmp_path / "one.pkl", data["annotations"][1]))
    assert listed.splits == single.splits == {} and (listed.num_joints, listed.is_2d) == (25, False)
    name = "S001C002P003R001A050"
    np.testing.assert_array_equal(single.sample(name).joints, whole.sample(name).joints)
    bad = dict(data["annotations"][1], total_frames=3)
    with pytest.raises(pa.AnnotationFileError, match=r"one\.pkl' \(frame_dir 'S001C002P003R001A050'\), key "
                                                     r"'keypoint': expected 3 frames"):
        pa.read_annotation_pickle(_write(tmp_path / "one.pkl", bad))  # a single annotation: no index
    with pytest.raises(pa.AnnotationFileError, match=r"list\.pkl', annotations\[1\] .*expected 3 frames"):
        pa.read_annotation_pickle(_write(tmp_path / "list.pkl", [data["annotations"][0], bad]))
    with pytest.raises(pa.AnnotationFileError, match=r"expected an annotation file \(a dict with 'split' and "
                                                     r"'annotations'\), a list of annotation dicts or one annotation "
                                                     r"dict, found ndarray"):
        pa.read_annotation_pickle(_write(tmp_path / "array.pkl", np.zeros(3)))
    with pytest.raises(pa.AnnotationFileError, match=r"key 'split': missing"):
        pa.read_annotation_pickle(_write(tmp_path / "half.pkl", {"annotations": data["annotations"]}))
