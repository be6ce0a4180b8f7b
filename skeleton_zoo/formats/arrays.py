"""NumPy files from users: `.npy` arrays and `.npz` archives, never pickles."""

from __future__ import annotations

import numpy as np

__all__ = ["load_numpy"]

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def load_numpy(path):
    """`np.load(path, allow_pickle=False)` of a `.npy` or `.npz` file: an array,
    or an `NpzFile` to use as a context manager.

    Raises:
        ValueError: the file is neither (its first bytes say so), without
            numpy's advice to load it with pickles; or a corrupt archive.
        OSError: the file cannot be read.
    """
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if not (head.startswith(_ZIP_MAGIC) or head == _NPY_MAGIC):
        raise ValueError("neither a NumPy .npy array nor an .npz archive (its first bytes are "
                         f"{head[:6]!r})")
    return np.load(path, allow_pickle=False)
