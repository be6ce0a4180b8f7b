"""Writes PyTorch checkpoint files without PyTorch, for reader tests.

Follows `torch.save`: protocol-2 pickles whose tensors reduce to
`torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False,
OrderedDict())`, storages as persistent ids, in the zip layout
(`<root>/data.pkl`, `<root>/data/<key>`, `<root>/byteorder`, `<root>/version`)
or the legacy layout (magic, protocol, sys info, object, storage keys, raw
storages). While pickling, stand-in `torch` modules exist in `sys.modules` so
that pickle can name the globals; they are removed afterwards.
"""

from __future__ import annotations

import collections
import contextlib
import io
import pickle
import struct
import sys
import types
import zipfile

import numpy as np

_STORAGE_NAMES = {
    np.dtype("float32"): "FloatStorage", np.dtype("float64"): "DoubleStorage",
    np.dtype("float16"): "HalfStorage", np.dtype("int64"): "LongStorage",
    np.dtype("int32"): "IntStorage", np.dtype("bool"): "BoolStorage", np.dtype("uint8"): "ByteStorage",
}


class Storage:
    """A flat array that several tensors may view."""

    def __init__(self, array):
        self.array = np.ascontiguousarray(array).reshape(-1)


class Tensor:
    """A tensor: a view (offset, size, stride in elements) of a `Storage`."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    @classmethod
    def of(cls, array):
        array = np.asarray(array)
        strides = [s // array.itemsize for s in np.require(array, requirements="C").strides]
        return cls(Storage(array), 0, array.shape, strides)


def tensors(state: dict) -> collections.OrderedDict:
    """Maps every numpy array of a state dict to a `Tensor` with its own storage."""
    return collections.OrderedDict((k, Tensor.of(v)) for k, v in state.items())


@contextlib.contextmanager
def _fake_torch():
    names = ("torch", "torch._utils")
    saved = {n: sys.modules[n] for n in names if n in sys.modules}
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in set(_STORAGE_NAMES.values()):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch, utils
    finally:
        for n in names:
            sys.modules.pop(n, None)
        sys.modules.update(saved)


class _Pickler(pickle.Pickler):
    def __init__(self, file, torch, utils, legacy):
        super().__init__(file, protocol=2)
        self.torch, self.utils, self.legacy = torch, utils, legacy
        self.storages: dict[int, tuple[str, Storage]] = {}

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            return (self.utils._rebuild_tensor_v2,
                    (obj.storage, obj.offset, obj.size, obj.stride, False, collections.OrderedDict()))
        return NotImplemented

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        if id(obj) not in self.storages:
            self.storages[id(obj)] = (str(len(self.storages)), obj)
        key = self.storages[id(obj)][0]
        storage_type = getattr(self.torch, _STORAGE_NAMES[obj.array.dtype])
        pid = ("storage", storage_type, key, "cpu", obj.array.size)
        return pid + (None,) if self.legacy else pid


def save_zip(obj, path, root="archive"):
    """Writes `obj` (nested dicts/lists of `Tensor` and plain values) in the zip format."""
    buffer = io.BytesIO()
    with _fake_torch() as (torch, utils):
        pickler = _Pickler(buffer, torch, utils, legacy=False)
        pickler.dump(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{root}/data.pkl", buffer.getvalue())
        archive.writestr(f"{root}/byteorder", "little")
        for key, storage in pickler.storages.values():
            archive.writestr(f"{root}/data/{key}", storage.array.astype(storage.array.dtype.newbyteorder("<")).tobytes())
        archive.writestr(f"{root}/version", "3\n")


def save_legacy(obj, path):
    """Writes `obj` in the legacy (pre-1.6) format."""
    with open(path, "wb") as f, _fake_torch() as (torch, utils):
        pickle.dump(0x1950A86A20F9469CFC6C, f, protocol=2)
        pickle.dump(1001, f, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True,
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, f, protocol=2)
        pickler = _Pickler(f, torch, utils, legacy=True)
        pickler.dump(obj)
        pickle.dump([key for key, _ in pickler.storages.values()], f, protocol=2)
        for _, storage in pickler.storages.values():
            f.write(struct.pack("<q", storage.array.size))
            f.write(storage.array.astype(storage.array.dtype.newbyteorder("<")).tobytes())
