"""Atomic writes: a file (or folder) appears complete under its name, or not at all.

Every writer of the package goes through here, so an interrupted or failed
command never leaves a half-written result behind:

    with atomic_write("metrics.json") as f:          # text or binary file object
        json.dump(result, f)
    with atomic_path("model.weights.h5") as tmp:     # for writers that take a path
        model.save_weights(tmp)
    with atomic_directory("exported/gast_27/3") as tmp:
        write_saved_model(tmp)
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import tempfile
from typing import IO, Iterator

__all__ = ["atomic_path", "atomic_write", "atomic_directory", "write_text", "make_folder"]


def make_folder(path, what: str | None = None) -> pathlib.Path:
    """`mkdir -p path`; a failure names the folder and what it was for."""
    path = pathlib.Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"{what or path}: cannot create the folder '{path}' ({error.strerror or error}).") from None
    return path


def _suffix(path: pathlib.Path) -> str:
    """Everything from the first dot of the name (".weights.h5", ".keras"):
    writers pick their format from it."""
    stem = path.name.lstrip(".")
    return stem[stem.index("."):] if "." in stem else ""


@contextlib.contextmanager
def atomic_path(path, mode: int = 0o644) -> Iterator[pathlib.Path]:
    """Yields a fresh temporary path beside `path` with the same suffix; when the
    block ends without an exception the file is renamed onto `path` (replacing
    it) with permissions `mode`, otherwise it is removed. Parent folders are
    created. The writer must create the file itself."""
    path = pathlib.Path(path)
    make_folder(path.parent, f"'{path}'")
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".part{_suffix(path)}")
    os.close(handle)
    tmp = pathlib.Path(name)
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: nothing was written")
        os.chmod(tmp, mode)  # mkstemp-style files are private
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None) -> Iterator[IO]:
    """`open(path, mode)` through `atomic_path`; `mode` is "w" (text) or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', found {mode!r}.")
    with atomic_path(path) as tmp:
        kwargs = {} if "b" in mode else {"encoding": encoding, "newline": newline}
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


def write_text(path, text: str) -> pathlib.Path:
    """Writes `text` to `path` atomically; returns the path."""
    with atomic_write(path) as f:
        f.write(text)
    return pathlib.Path(path)


@contextlib.contextmanager
def atomic_directory(path) -> Iterator[pathlib.Path]:
    """Yields an empty temporary folder beside `path`, renamed to `path` when the
    block succeeds (never replacing an existing `path`: FileExistsError) and
    removed otherwise."""
    path = pathlib.Path(path)
    make_folder(path.parent, f"'{path}'")
    tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            raise FileExistsError(f"'{path}' exists already; it is never overwritten.")
        os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
