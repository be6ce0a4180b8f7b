"""Unpickling with an allow-list of globals: the one place the zoo reads pickles.

A pickle can name any importable callable and have it called (`os.system`,
`eval`, ...). `RestrictedUnpickler` resolves only the globals it is given,
each mapped to an object chosen here, so nothing is imported or run on the
file's say. Two users:

- `skeleton_zoo.weights.checkpoint` (PyTorch checkpoints), which adds tensor and
  storage stand-ins to `NUMPY_GLOBALS`;
- `load_npz` below, for `.npz` files whose object arrays hold pickled dicts
  and lists (the VideoPose3D dataset files), instead of
  `np.load(allow_pickle=True)`.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
import zipfile
from typing import Any, Mapping

import numpy as np

__all__ = ["RefusedGlobalError", "UnsafePickleError", "RestrictedUnpickler", "NUMPY_GLOBALS",
           "load_npz"]


class RefusedGlobalError(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list."""

    def __init__(self, module: str, name: str):
        self.refused = f"{module}.{name}"
        super().__init__(f"refused to load global '{self.refused}'")


class UnsafePickleError(ValueError):
    """A file whose pickled content names a refused global. `path`, `refused`."""

    def __init__(self, path, refused: str, message: str):
        self.path, self.refused = os.fspath(path), refused
        super().__init__(message)


def _codecs_encode(text, encoding="utf-8", errors="strict"):
    # Protocol-2 pickles spell bytes as _codecs.encode(str, "latin1"); nothing else is allowed.
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode is only allowed for latin1 text, found {encoding!r:.40}")
    return text.encode("latin1")


def _numpy_globals() -> dict[tuple[str, str], Any]:
    # numpy's array and scalar constructors, taken from numpy's own reduce
    # protocol rather than imported by a module name the file chose.
    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]
    scalar = np.float64(0).__reduce__()[0]
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _codecs_encode,
    }
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "_reconstruct")] = reconstruct
        allowed[(module, "scalar")] = scalar
    for name in ("set", "frozenset", "slice", "complex", "bytearray", "range"):
        allowed[("builtins", name)] = allowed[("__builtin__", name)] = getattr(builtins, name)
    return allowed


# numpy arrays, dtypes and scalars plus plain builtins: what a pickled dict or
# list of arrays needs (dicts, lists, str, numbers need no globals at all).
NUMPY_GLOBALS: Mapping[tuple[str, str], Any] = _numpy_globals()


class RestrictedUnpickler(pickle.Unpickler):
    """`pickle.Unpickler` that resolves only the globals in `allowed`.

    Args:
        file: binary file object positioned at a pickle.
        allowed: `(module, name) -> object` the pickle may use. Defaults to
            `NUMPY_GLOBALS`.
        persistent_load: optional handler for persistent ids.

    Raises (from `load()`):
        RefusedGlobalError: for any other global; nothing was imported or run.
    """

    def __init__(self, file, allowed: Mapping[tuple[str, str], Any] = NUMPY_GLOBALS,
                 persistent_load=None):
        super().__init__(file, encoding="latin1")
        self._allowed = allowed
        self._persistent_load = persistent_load

    def find_class(self, module, name):
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise RefusedGlobalError(module, name) from None

    def persistent_load(self, pid):
        if self._persistent_load is None:
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        return self._persistent_load(pid)


def load_npz(path) -> dict[str, np.ndarray]:
    """Reads every array of an `.npz` file; object arrays are unpickled with
    `RestrictedUnpickler` (dicts, lists, numpy arrays and plain values only).

    Args:
        path: the `.npz` file.

    Returns:
        name -> array. A 0-d object array holding a dict (how
        `np.savez(positions_3d=dict)` stores it) is returned as is; use
        `.item()`.

    Raises:
        FileNotFoundError: no such file.
        UnsafePickleError: an object array names a refused global.
        ValueError: the file is not a readable npz (the message names it).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"'{path}' does not exist.")
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                stream = io.BytesIO(archive.read(member))
                version = np.lib.format.read_magic(stream)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                          else np.lib.format.read_array_header_2_0)
                shape, fortran_order, dtype = header(stream)
                if dtype.hasobject:
                    try:
                        array = RestrictedUnpickler(stream).load()
                    except RefusedGlobalError as error:
                        raise UnsafePickleError(
                            path, error.refused,
                            f"'{path}': array '{member[:-4]}' refused to load global "
                            f"'{error.refused}': only dicts, lists, numpy arrays and plain values "
                            f"are allowed; nothing from the file was run.") from None
                    if not isinstance(array, np.ndarray) or array.shape != tuple(shape):
                        raise ValueError(f"object array '{member}' does not unpickle to an array "
                                         f"of shape {tuple(shape)}")
                else:
                    stream.seek(0)
                    array = np.lib.format.read_array(stream, allow_pickle=False)
                arrays[member[:-4]] = array
    except (zipfile.BadZipFile, EOFError, pickle.UnpicklingError, ValueError, KeyError,
            TypeError, AttributeError, IndexError) as error:
        if isinstance(error, UnsafePickleError):
            raise
        raise ValueError(f"'{path}' is not a readable .npz file (truncated or corrupt?): "
                         f"{error}") from None
    return arrays
