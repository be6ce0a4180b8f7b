"""NTU RGB+D `.skeleton` files: raw reader, official preprocessing, malformed files."""

import numpy as np
import pytest

from skeleton_zoo import layouts
from skeleton_zoo.formats import ntu


from conftest import ntu_skeleton as _skeleton


@pytest.fixture(scope="module")
def expected(ntu_expected):
    return ntu_expected


# --- reader and preprocessing ------------------------------------------------------
def test_reader_and_body_selection_match_the_official_raw_data(expected):
    for i, name in enumerate(expected["meta"]["names"]):
        bodies = ntu.select_bodies(ntu.read_skeleton(_skeleton(name)))  # (2, T, 25, 3)
        raw = np.zeros((300, 25, 2, 3), np.float32)
        raw[:bodies.shape[1]] = np.transpose(bodies, (1, 2, 0, 3))
        np.testing.assert_allclose(raw, expected["raw"][i], atol=1e-5, rtol=0, err_msg=name)


def test_ghost_body_is_dropped_by_energy():
    slots = ntu.read_skeleton(_skeleton("S017C001P020R002A060"))
    assert np.count_nonzero(np.abs(slots).sum(axis=(1, 2, 3))) == 3  # three bodies listed
    kept = ntu.select_bodies(slots)
    energies = [ntu._nonzero_std_energy(b) for b in slots]
    ghost = int(np.argmin(energies[:3]))
    assert not any(np.array_equal(k, slots[ghost]) for k in kept)


def test_official_normalisation_and_bones(expected):
    ntu25 = layouts.get_layout("ntu25")
    for i, name in enumerate(expected["meta"]["names"]):
        joints = ntu.process_skeleton(_skeleton(name))  # (300, 25, 2, 3)
        np.testing.assert_allclose(joints, expected["joints"][i], atol=1e-5, rtol=0, err_msg=name)
        bones = layouts.joints_to_bones(joints, ntu25, joint_axis=1)
        np.testing.assert_allclose(bones, expected["bones"][i], atol=1e-5, rtol=0, err_msg=name)


def test_padding_from_stored_frames_reproduces_the_official_clip(expected):
    for i, name in enumerate(expected["meta"]["names"]):
        joints, origin, valid, frames = ntu.process_skeleton(_skeleton(name), return_details=True)
        padded = ntu.pad_like_official(joints[:frames], origin[:frames], valid).numpy()
        np.testing.assert_allclose(padded, expected["joints"][i], atol=1e-5, rtol=0, err_msg=name)
    empty = ntu.pad_like_official(np.zeros((0, 25, 2, 3)), np.zeros((0, 3)), [0, 0]).numpy()
    assert empty.shape == (300, 25, 2, 3) and not empty.any()


def test_sample_names():
    sample = ntu.parse_sample_name("/data/nturgb+d_skeletons/S018C002P045R001A120.skeleton")
    assert (sample.setup, sample.camera, sample.subject, sample.replication, sample.action) == (18, 2, 45, 1, 120)
    with pytest.raises(ValueError, match="not an NTU sample name"):
        ntu.parse_sample_name("clip_01.skeleton")


# --- malformed files -----------------------------------------------------------------
def _broken(tmp_path, edit):
    lines = _skeleton("S001C001P001R001A001").read_bytes().decode().split("\r\n")
    lines = edit(lines)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes("\r\n".join(lines).encode())
    return path


def _replace(index, text):
    def edit(lines):
        lines[index] = text
        return lines
    return edit


# Line numbers are 1-based; the file: 1 frame count, 2 body count, 3 body info,
# 4 joint count, 5-29 joints of frame 1, 30 body count of frame 2, ...
@pytest.mark.parametrize("edit,line,match", [
    (lambda lines: lines[:100], 100, "ends inside the joints of frame 4/60"),
    (lambda lines: lines[:29], 30, "the file ends where the body count of frame 2/60 was expected"),
    (_replace(6, "0.1 0.2 abc 1 1 1 1 1 1 1 1 2"), 7, "non-numeric field 'abc'"),
    (_replace(6, "0.1 0.2 0.3 1 1 1 1 1 1 1 1"), 7, "expected 12 numbers on a joint line, found 11"),
    (_replace(3, "24"), 4, "has 24 joints, expected 25"),
    (_replace(1, "2"), 30, "body info line of frame 1/60, body 2/2"),
    (_replace(0, "sixty"), 1, "expected the frame count"),
    (_replace(0, "59"), 1 + 59 * 28 + 1, "unexpected content after the last frame"),
])
def test_malformed_files_name_file_and_line(tmp_path, edit, line, match):
    path = _broken(tmp_path, edit)
    with pytest.raises(ntu.SkeletonFileError, match=match) as info:
        ntu.read_skeleton(path)
    assert info.value.path == str(path) and info.value.line == line
    assert f"'{path}', line {line}" in str(info.value)


def test_empty_file(tmp_path):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_bytes(b"")
    with pytest.raises(ntu.SkeletonFileError, match="empty"):
        ntu.read_skeleton(path)
