"""The one atomic write: complete or absent, never half-written."""

import os
import stat

import pytest

from skeleton_zoo.utils.files import atomic_directory, atomic_path, atomic_write, write_text


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_write_replaces_and_is_readable_by_all(tmp_path):
    path = tmp_path / "sub" / "metrics.json"
    write_text(path, "old")
    write_text(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert not _leftovers(path.parent)


def test_failure_keeps_the_old_file_and_leaves_nothing(tmp_path):
    path = tmp_path / "history.csv"
    write_text(path, "epoch 1")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as f:
            f.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "epoch 1" and not _leftovers(tmp_path)


def test_path_keeps_the_suffix_and_requires_a_file(tmp_path):
    path = tmp_path / "model.weights.h5"
    with atomic_path(path) as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == tmp_path and not tmp.exists()
        tmp.write_bytes(b"x")
    assert path.read_bytes() == b"x"
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_path(tmp_path / "other.keras"):
            pass
    assert not (tmp_path / "other.keras").exists() and not _leftovers(tmp_path)


def test_directory_appears_whole_and_never_replaces(tmp_path):
    target = tmp_path / "model" / "1"
    with atomic_directory(target) as tmp:
        (tmp / "saved_model.pb").write_bytes(b"pb")
        assert not target.exists()
    assert (target / "saved_model.pb").read_bytes() == b"pb"
    with pytest.raises(FileExistsError, match="never overwritten"):
        with atomic_directory(target) as tmp:
            (tmp / "saved_model.pb").write_bytes(b"other")
    assert (target / "saved_model.pb").read_bytes() == b"pb" and not _leftovers(target.parent)


def test_a_folder_that_cannot_be_made_is_named(tmp_path):
    from skeleton_zoo.utils.files import make_folder

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match=r"--out: cannot create the folder '.*file/sub'"):
        make_folder(blocker / "sub", "--out")
    with pytest.raises(OSError, match=r"'.*file/sub/m.json': cannot create the folder"):
        write_text(blocker / "sub" / "m.json", "{}")
