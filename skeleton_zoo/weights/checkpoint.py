"""Reads PyTorch checkpoint files (`.bin`, `.pt`, `.pth`) without PyTorch.

The official GAST-Net and ST-TR weights are `torch.save` pickles. `torch.load`
needs PyTorch and runs whatever code a pickle names; this reader needs
neither. It unpickles with an explicit allow-list of globals (tensor and
storage rebuilders, `collections.OrderedDict`, the numpy pieces of a saved
random state, a few plain builtins), each mapped to a local stand-in: nothing
is imported or called from the file. Tensors come back as numpy arrays.

Both on-disk formats are read:

- zip (torch >= 1.6): `<root>/data.pkl` plus one `<root>/data/<key>` record
  per storage, `<root>/byteorder` (any root folder name);
- legacy (torch < 1.6): a sequence of pickles (magic number, protocol
  version, system info, the object, the storage keys) followed by the raw
  storages, each an int64 element count and the little-endian bytes.

    from skeleton_zoo.weights import checkpoint
    state_dict, info = checkpoint.load_state_dict("27_frame_model.bin")
    info.container, info.epoch       # "model_pos", 60

Every failure (empty, truncated, corrupt, not a checkpoint, refused global)
raises `CheckpointError` (or its subclass `UnsafeCheckpointError`) whose
message names the file.
"""

from __future__ import annotations

import collections
import dataclasses
import io
import os
import pickle
import struct
import zipfile
from typing import Any, Mapping

import numpy as np

from skeleton_zoo.weights import safe_pickle

__all__ = [
    "CheckpointError",
    "UnsafeCheckpointError",
    "Checkpoint",
    "CheckpointInfo",
    "read_checkpoint",
    "load_state_dict",
    "extract_state_dict",
    "OFFICIAL_SUFFIXES",
]

OFFICIAL_SUFFIXES = (".bin", ".pt", ".pth", ".pth.tr")  # .pth.tr: MotionAGFormer / TCPFormer

# Keys under which training scripts store the model weights, in lookup order:
# GAST-Net (`model_pos`), ST-TR / common PyTorch (`model_state_dict`), others.
MODEL_KEYS = ("model_pos", "model_state_dict", "state_dict", "model", "net")
DATA_PARALLEL_PREFIX = "module."

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class CheckpointError(ValueError):
    """A file that cannot be read as a PyTorch checkpoint. `path` names it."""

    def __init__(self, path, message: str):
        self.path = os.fspath(path)
        ValueError.__init__(self, f"Checkpoint '{self.path}': {message}")


class UnsafeCheckpointError(CheckpointError, safe_pickle.UnsafePickleError):
    """The file's pickle names a global outside the allow-list (it would run
    code under `torch.load`). `refused` is "module.name"."""

    def __init__(self, path, refused: str, message: str):
        self.refused = refused
        CheckpointError.__init__(self, path, message)


# ----------------------------------------------------------------------------
# Stand-ins for the allowed globals. None of them is torch's own object.


@dataclasses.dataclass(frozen=True)
class _StorageType:
    """`torch.FloatStorage` & co.: the element type of a storage."""

    name: str
    dtype: np.dtype  # element type on disk, little-endian
    bfloat16: bool = False  # stored as uint16 halves of float32


def _storage_types() -> dict[str, _StorageType]:
    table = {
        "FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
        "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2", "CharStorage": "i1",
        "ByteStorage": "u1", "BoolStorage": "?", "ComplexFloatStorage": "<c8",
        "ComplexDoubleStorage": "<c16", "UntypedStorage": "u1",
    }
    types = {name: _StorageType(name, np.dtype(code)) for name, code in table.items()}
    types["BFloat16Storage"] = _StorageType("BFloat16Storage", np.dtype("<u2"), bfloat16=True)
    return types


_STORAGE_TYPES = _storage_types()

# `torch.float32` & co., as `_rebuild_tensor_v3` receives them.
_TORCH_DTYPES = {
    "float32": "FloatStorage", "float": "FloatStorage", "float64": "DoubleStorage",
    "double": "DoubleStorage", "float16": "HalfStorage", "half": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "long": "LongStorage",
    "int32": "IntStorage", "int": "IntStorage", "int16": "ShortStorage", "short": "ShortStorage",
    "int8": "CharStorage", "uint8": "ByteStorage", "bool": "BoolStorage",
    "complex64": "ComplexFloatStorage", "complex128": "ComplexDoubleStorage",
}


class _Storage:
    """One storage of the file: its type, element count and (once read) data."""

    def __init__(self, key: str, storage_type: _StorageType, numel: int):
        self.key, self.type, self.numel = key, storage_type, numel
        self.data: np.ndarray | None = None  # 1-D, `type.dtype`, numel elements
        self.base: _Storage | None = None  # legacy storage views only
        self.base_offset = 0

    def array(self) -> np.ndarray:
        if self.base is not None:
            return self.base.array()[self.base_offset:self.base_offset + self.numel]
        if self.data is None:
            raise ValueError(f"storage '{self.key}' is referenced but its data was never stored")
        return self.data


@dataclasses.dataclass
class _TensorRef:
    """A tensor as the pickle describes it; made an array once storages are read."""

    storage: _Storage
    offset: int
    shape: tuple
    stride: tuple
    dtype_override: _StorageType | None = None  # `_rebuild_tensor_v3` on untyped storage


class _TensorClass:
    """`torch.Tensor` / `torch.nn.Parameter`, only as `_rebuild_from_type_v2` targets."""

    def __init__(self, name):
        self.name = name


def _int_tuple(value, what):
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, int) for v in value):
        raise ValueError(f"tensor {what} must be a tuple of ints, found {value!r:.80}")
    return tuple(value)


def _rebuild_tensor(storage, storage_offset, size, stride, *_, **__):
    if not isinstance(storage, _Storage):
        raise ValueError(f"tensor rebuilt from a {type(storage).__name__}, expected a storage")
    if not isinstance(storage_offset, int):
        raise ValueError(f"tensor storage offset must be an int, found {storage_offset!r:.80}")
    return _TensorRef(storage, storage_offset, _int_tuple(size, "size"), _int_tuple(stride, "stride"))


def _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       dtype, metadata=None):
    ref = _rebuild_tensor(storage, storage_offset, size, stride)
    if not isinstance(dtype, _StorageType):
        raise ValueError(f"tensor dtype must be a torch dtype, found {dtype!r:.80}")
    if dtype != storage.type:
        if storage.type.name != "UntypedStorage":
            raise ValueError(f"tensor of {dtype.name} on a {storage.type.name}")
        ref.dtype_override = dtype
    return ref


def _rebuild_parameter(data, requires_grad, backward_hooks, state=None):
    if not isinstance(data, _TensorRef):
        raise ValueError(f"parameter rebuilt from a {type(data).__name__}, expected a tensor")
    return data


def _rebuild_from_type_v2(func, new_type, args, state):
    if func not in (_rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter) or not isinstance(new_type, _TensorClass):
        raise ValueError("_rebuild_from_type_v2 with an unsupported function or tensor type")
    return func(*args)


def _torch_device(*args):
    return str(args[0]) if args else "cpu"


class _RandomStateRecord:
    """Stand-in for a pickled `numpy.random.RandomState` or its bit generator
    (VideoPose3D's training containers save their batch generator's): it
    keeps the pickled state as data and builds no generator; the reader
    ignores it like any other non-weight entry."""

    def __init__(self, *args):
        self.bit_generator = args[0] if args else None
        self.state = None

    def __setstate__(self, state):
        if not isinstance(state, (dict, tuple)):
            raise ValueError("a pickled RandomState with an unexpected state")
        self.state = state


_NUMPY_SCALAR = np.float64(0).__reduce__()[0]


def _float64_scalar(dtype, *data):
    """numpy's scalar reconstructor for `numpy.float64` only: MotionBERT's
    training checkpoints pickle `min_loss` as one; a checkpoint needs no other
    numpy scalar, so every other dtype is refused."""
    if not isinstance(dtype, np.dtype) or dtype != np.dtype(np.float64):
        raise safe_pickle.RefusedGlobalError("numpy", f"{getattr(dtype, 'name', type(dtype).__name__)} scalar")
    return _NUMPY_SCALAR(dtype, *data)


def _allowed_globals() -> dict[tuple[str, str], Any]:
    allowed: dict[tuple[str, str], Any] = dict(safe_pickle.NUMPY_GLOBALS)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(module, "scalar")] = _float64_scalar
    allowed.update({
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
        ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
        ("torch", "Tensor"): _TensorClass("Tensor"),
        ("torch.nn.parameter", "Parameter"): _TensorClass("Parameter"),
        ("torch", "device"): _torch_device,
        ("torch", "Size"): tuple,
        # numpy's RandomState / bit-generator pickling (new and old numpy), as inert records
        ("numpy.random._pickle", "__randomstate_ctor"): _RandomStateRecord,
        ("numpy.random._pickle", "__bit_generator_ctor"): _RandomStateRecord,
        ("numpy.random", "__RandomState_ctor"): _RandomStateRecord,
        ("numpy.random._mt19937", "MT19937"): "MT19937",  # only named, never built
        ("torch.storage", "UntypedStorage"): _STORAGE_TYPES["UntypedStorage"],
    })
    for name, storage_type in _STORAGE_TYPES.items():
        allowed[("torch", name)] = storage_type
    for name, storage_name in _TORCH_DTYPES.items():
        allowed[("torch", name)] = _STORAGE_TYPES[storage_name]
    return allowed


_ALLOWED_GLOBALS = _allowed_globals()


def _refusal_hint(module: str, name: str) -> str:
    if module.startswith("__torch__"):
        return " This is a TorchScript archive (torch.jit.save), not a state dict."
    if module.startswith("torch") and ("quant" in name.lower() or "sparse" in name.lower()):
        return " Quantized and sparse tensors are not supported."
    if module.split(".")[0] not in ("os", "posix", "nt", "subprocess", "builtins", "__builtin__", "sys", "shutil", "runpy"):
        return (" If the file stores a whole pickled model object, re-save its `state_dict()` "
                "with PyTorch.")
    return ""


def _unpickler(file, path, persistent_load=None):
    return safe_pickle.RestrictedUnpickler(file, _ALLOWED_GLOBALS, persistent_load)


def _refused(path, error: safe_pickle.RefusedGlobalError) -> UnsafeCheckpointError:
    module, _, name = error.refused.rpartition(".")
    return UnsafeCheckpointError(
        path, error.refused,
        f"refused to load global '{error.refused}': only tensors, storages, OrderedDict, numpy "
        f"arrays and plain Python values are allowed; nothing from the file was run."
        + _refusal_hint(module, name),
    )


# ----------------------------------------------------------------------------
# The two file formats.


def _ascii(value):
    return value.decode("ascii") if isinstance(value, bytes) else value


def _new_storage(storages, pid, expected_len):
    """Validates a persistent id `('storage', type, key, location, numel, ...)`."""
    if not isinstance(pid, tuple) or not pid:
        raise pickle.UnpicklingError(f"malformed persistent id {pid!r:.80}")
    kind = _ascii(pid[0])
    if kind == "module":
        raise pickle.UnpicklingError(
            "the file stores a whole pickled nn.Module; only state dicts can be read")
    if kind != "storage" or len(pid) != expected_len:
        raise pickle.UnpicklingError(f"malformed persistent id {pid!r:.80}")
    storage_type, key, numel = pid[1], str(_ascii(pid[2])), pid[4]
    if not isinstance(storage_type, _StorageType):
        raise pickle.UnpicklingError(f"storage of unknown type {storage_type!r:.80}")
    if not isinstance(numel, int) or numel < 0:
        raise pickle.UnpicklingError(f"storage '{key}' has invalid size {numel!r:.80}")
    if key not in storages:
        storages[key] = _Storage(key, storage_type, numel)
    return storages[key]


def _read_zip(path, data: bytes):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise CheckpointError(
            path, f"zip-format checkpoint whose archive is truncated or corrupt ({error}); "
            f"download it again (file size {len(data):,} bytes).") from None
    names = archive.namelist()
    roots = sorted({n[:-len("data.pkl")] for n in names if n.endswith("data.pkl") and n.count("/") == 1})
    if len(roots) != 1:
        raise CheckpointError(
            path, f"zip archive without exactly one '<root>/data.pkl' entry, so not a PyTorch "
            f"checkpoint (entries: {names[:5]}{' ...' if len(names) > 5 else ''}).")
    root = roots[0]
    byteorder = "little"
    if root + "byteorder" in names:
        byteorder = archive.read(root + "byteorder").decode("ascii", "replace").strip()
        if byteorder not in ("little", "big"):
            raise CheckpointError(path, f"unknown byte order '{byteorder[:20]}' in {root}byteorder.")
    storages: dict[str, _Storage] = {}

    def persistent_load(pid):
        storage = _new_storage(storages, pid, 5)
        if storage.data is None:
            record = f"{root}data/{storage.key}"
            try:
                info = archive.getinfo(record)
            except KeyError:
                raise pickle.UnpicklingError(f"storage record '{record}' is missing") from None
            nbytes = storage.numel * storage.type.dtype.itemsize
            if info.file_size < nbytes:  # checked before reading: no huge allocations
                raise pickle.UnpicklingError(
                    f"storage record '{record}' holds {info.file_size:,} bytes, {nbytes:,} expected")
            raw = archive.read(record)
            dtype = storage.type.dtype.newbyteorder(">" if byteorder == "big" else "<")
            storage.data = np.frombuffer(raw, dtype=dtype, count=storage.numel)
        return storage

    obj = _unpickler(io.BytesIO(archive.read(root + "data.pkl")), path, persistent_load).load()
    return obj, storages


def _read_legacy(path, data: bytes):
    stream = io.BytesIO(data)

    def load(what, persistent_load=None):
        try:
            return _unpickler(stream, path, persistent_load).load()
        except EOFError:
            raise CheckpointError(path, f"the file ends while reading the legacy checkpoint's {what}: "
                                        "it is truncated; download it again.") from None

    magic = load("magic number")
    if magic != _LEGACY_MAGIC:
        raise CheckpointError(
            path, "a pickle, but not a PyTorch checkpoint: the legacy format starts with the magic "
            f"number {_LEGACY_MAGIC:#x}, found {magic!r:.60}.")
    protocol = load("protocol version")
    if protocol != _LEGACY_PROTOCOL:
        raise CheckpointError(path, f"legacy checkpoint of protocol version {protocol!r:.40}, "
                                    f"expected {_LEGACY_PROTOCOL}.")
    sys_info = load("system info")
    little_endian = sys_info.get("little_endian", True) if isinstance(sys_info, dict) else True
    storages: dict[str, _Storage] = {}

    def persistent_load(pid):
        if isinstance(pid, tuple) and len(pid) == 6 and pid[5] is not None:  # a view of a storage
            view_key, view_offset, view_numel = pid[5]
            root = _new_storage(storages, pid[:5], 5)
            view = _Storage(str(_ascii(view_key)), root.type, view_numel)
            view.base, view.base_offset = root, view_offset
            if not (isinstance(view_offset, int) and isinstance(view_numel, int)
                    and 0 <= view_offset and view_offset + view_numel <= root.numel):
                raise pickle.UnpicklingError(f"storage view {pid[5]!r:.80} outside its storage")
            return view
        return _new_storage(storages, pid, 6)

    obj = load("object", persistent_load)
    keys = load("storage keys")
    if not isinstance(keys, list):
        raise CheckpointError(path, f"legacy storage key list is a {type(keys).__name__}, expected a list.")
    position = stream.tell()
    order = "<" if little_endian else ">"
    for key in keys:
        storage = storages.get(str(_ascii(key)))
        if storage is None:
            raise CheckpointError(path, f"legacy storage '{key}' is listed but never used.")
        if position + 8 > len(data):
            raise CheckpointError(path, f"file ends before storage '{key}': truncated; download it again.")
        (count,) = struct.unpack_from(order + "q", data, position)
        itemsize = storage.type.dtype.itemsize
        if count != storage.numel:
            raise CheckpointError(path, f"storage '{key}' holds {count} elements, the tensors "
                                        f"expect {storage.numel}: corrupt file.")
        position += 8
        end = position + count * itemsize
        if end > len(data):
            raise CheckpointError(
                path, f"file ends inside storage '{key}' ({len(data):,} bytes, at least {end:,} "
                      "needed): truncated; download it again.")
        dtype = storage.type.dtype.newbyteorder(order)
        storage.data = np.frombuffer(data, dtype=dtype, count=count, offset=position)
        position = end
    return obj, storages


# ----------------------------------------------------------------------------
# Tensors to arrays.


def _tensor_to_array(ref: _TensorRef) -> np.ndarray:
    storage = ref.storage.array()
    storage_type = ref.storage.type
    if ref.dtype_override is not None:  # typed view of untyped bytes
        storage_type = ref.dtype_override
        usable = storage.nbytes - storage.nbytes % storage_type.dtype.itemsize
        storage = storage[:usable].view(storage_type.dtype)
    shape, stride, offset = ref.shape, ref.stride, ref.offset
    if len(shape) != len(stride) or min(shape, default=0) < 0 or min(stride, default=0) < 0 or offset < 0:
        raise ValueError(f"invalid tensor geometry: size {shape}, stride {stride}, offset {offset}")
    if 0 in shape:
        array = np.zeros(shape, dtype=storage.dtype)
    else:
        last = offset + sum((n - 1) * s for n, s in zip(shape, stride))
        if last >= storage.size:  # checked before as_strided, which does not check
            raise ValueError(f"tensor of size {shape}, stride {stride}, offset {offset} reads past "
                             f"the end of storage '{ref.storage.key}' ({storage.size} elements)")
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage[offset:], shape=shape, strides=[s * itemsize for s in stride], writeable=False)
        array = np.array(view, dtype=storage.dtype.newbyteorder("="), order="C")
    if storage_type.bfloat16:
        array = (array.astype(np.uint32) << 16).view(np.float32)
    return array


def _materialise(obj, counter, seen):
    """Replaces every `_TensorRef` in nested containers by its array."""
    if isinstance(obj, _TensorRef):
        counter[0] += 1
        return _tensor_to_array(obj)
    if not isinstance(obj, (dict, list, tuple)):
        return obj
    if id(obj) in seen:  # shared or cyclic containers stay shared
        return seen[id(obj)]
    if isinstance(obj, dict):
        out = type(obj)() if type(obj) in (dict, collections.OrderedDict) else {}
        seen[id(obj)] = out
        for key, value in obj.items():
            out[key] = _materialise(value, counter, seen)
        return out
    if isinstance(obj, list):
        out = []
        seen[id(obj)] = out
        out.extend(_materialise(v, counter, seen) for v in obj)
        return out
    out = tuple(_materialise(v, counter, seen) for v in obj)
    seen[id(obj)] = out
    return out


# ----------------------------------------------------------------------------
# Public API.


@dataclasses.dataclass
class Checkpoint:
    """Everything a checkpoint file holds.

    Attributes:
        path: the file.
        format: "zip" or "legacy".
        contents: the unpickled object; tensors are numpy arrays (C-ordered
            copies, so views of one storage do not alias).
        num_tensors: tensors read (model and optimizer).
        num_bytes: size of the file.
    """

    path: str
    format: str
    contents: Any
    num_tensors: int
    num_bytes: int


_READ_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError,
                AttributeError, struct.error, zipfile.BadZipFile, RecursionError, UnicodeDecodeError,
                OverflowError, MemoryError, NotImplementedError)


def read_checkpoint(path) -> Checkpoint:
    """Reads a PyTorch checkpoint (zip or legacy format) without PyTorch.

    Args:
        path: a `.bin` / `.pt` / `.pth` file written by `torch.save`.

    Returns:
        A `Checkpoint`; tensors are numpy arrays with the file's dtype
        (bfloat16 is widened to float32).

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the pickle names a global outside the
            allow-list (nothing from the file is run).
        CheckpointError: the file is empty, truncated, corrupt or not a
            PyTorch checkpoint.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Checkpoint '{path}' does not exist.")
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise CheckpointError(path, "the file is empty (0 bytes); download it again.")
    if data.startswith(b"PK\x03\x04"):
        reader, format_name = _read_zip, "zip"
    elif data[:1] == b"\x80":  # pickle PROTO opcode
        reader, format_name = _read_legacy, "legacy"
    elif data[257:262] == b"ustar":
        raise CheckpointError(path, "a tar archive (PyTorch < 0.4 format); re-save it with a newer "
                                    "PyTorch (torch.save(torch.load(f), f)).")
    else:
        raise CheckpointError(
            path, f"not a PyTorch checkpoint: expected a zip archive (bytes 'PK') or a pickle "
                  f"(byte 0x80), found {data[:8]!r}.")
    try:
        obj, _ = reader(path, data)
        counter = [0]
        contents = _materialise(obj, counter, {})
    except CheckpointError:
        raise
    except safe_pickle.RefusedGlobalError as error:
        raise _refused(path, error) from None
    except _READ_ERRORS as error:
        detail = str(error) or type(error).__name__
        if isinstance(error, EOFError) or "truncated" in detail or "ran out of input" in detail.lower():
            detail = f"the file ends early ({detail}); it is truncated, download it again"
        raise CheckpointError(path, f"cannot read {format_name}-format checkpoint: {detail}.") from None
    return Checkpoint(path=path, format=format_name, contents=contents, num_tensors=counter[0],
                      num_bytes=len(data))


@dataclasses.dataclass
class CheckpointInfo:
    """What `load_state_dict` found besides the weights.

    Attributes:
        path, format, num_bytes, num_tensors: as in `Checkpoint`.
        container: the key the weights were under ("model_pos",
            "model_state_dict", ...) or "state_dict (bare)".
        epoch: the training epoch stored with the weights, if any.
        ignored: other top-level keys (optimizer state, random state, ...).
        stripped_prefix: "module." when DataParallel prefixes were removed.
    """

    path: str
    format: str
    num_bytes: int
    num_tensors: int
    container: str
    epoch: int | None
    ignored: list
    stripped_prefix: str | None


def _is_state_dict(obj) -> bool:
    return (isinstance(obj, Mapping) and len(obj) > 0
            and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()))


def extract_state_dict(contents, path="<object>", container: str | None = None) -> tuple[dict, dict]:
    """Picks the model weights out of an unpickled checkpoint.

    Accepts a bare state dict or a training checkpoint holding one under
    `MODEL_KEYS` (GAST-Net `model_pos`, ST-TR `model_state_dict`, ...), or
    under `container` when given (e.g. VideoPose3D's trajectory model
    `model_traj`); optimizer and other entries are ignored. A DataParallel
    `module.` prefix is removed.

    Returns:
        `(state_dict, details)`: key -> array, and a dict with `container`,
        `epoch`, `ignored` and `stripped_prefix`.
    """
    details = {"container": "state_dict (bare)", "epoch": None, "ignored": [], "stripped_prefix": None}
    if container is not None:
        if not isinstance(contents, Mapping) or not _is_state_dict(contents.get(container)):
            keys = [str(k) for k in list(contents)[:10]] if isinstance(contents, Mapping) else []
            raise CheckpointError(path, f"no '{container}' weights in this checkpoint (the model loads from that "
                                        f"entry); top-level keys are {keys}.")
    if container is None and _is_state_dict(contents):
        weights = contents
    elif isinstance(contents, Mapping):
        key = container or next((k for k in MODEL_KEYS if _is_state_dict(contents.get(k))), None)
        if key is None:
            raise CheckpointError(
                path, f"no model weights found: expected a state dict (name -> tensor) or a "
                      f"training checkpoint with one of {list(MODEL_KEYS)}; top-level keys are "
                      f"{[str(k) for k in list(contents)[:10]]}.")
        weights = contents[key]
        epoch = contents.get("epoch")
        details.update(container=key, epoch=epoch if isinstance(epoch, int) else None,
                       ignored=[str(k) for k in contents if k not in (key, "epoch")])
    else:
        raise CheckpointError(path, f"no model weights found: the file holds a "
                                    f"{type(contents).__name__}, expected a dict of tensors.")
    if any(k.startswith(DATA_PARALLEL_PREFIX) for k in weights):
        stripped = {}
        for k, v in weights.items():
            name = k[len(DATA_PARALLEL_PREFIX):] if k.startswith(DATA_PARALLEL_PREFIX) else k
            if name in stripped:
                raise CheckpointError(path, f"key '{name}' appears both with and without the "
                                            f"'{DATA_PARALLEL_PREFIX}' prefix.")
            stripped[name] = v
        weights = stripped
        details["stripped_prefix"] = DATA_PARALLEL_PREFIX
    return dict(weights), details


def load_state_dict(path, container: str | None = None) -> tuple[dict, CheckpointInfo]:
    """Reads the model weights of an official checkpoint file.

    Args:
        path: `.bin` / `.pt` / `.pth` / `.pth.tr` file (zip or legacy format).
        container: the entry to read (default: the first of `MODEL_KEYS`).

    Returns:
        `(state_dict, info)`: official key -> numpy array in PyTorch layout
        (e.g. conv weights (out, in, kh, kw)), and a `CheckpointInfo`.

    Raises:
        CheckpointError / UnsafeCheckpointError, as `read_checkpoint`, or when
        the file holds no state dict.
    """
    checkpoint = read_checkpoint(path)
    weights, details = extract_state_dict(checkpoint.contents, checkpoint.path, container)
    return weights, CheckpointInfo(path=checkpoint.path, format=checkpoint.format,
                                   num_bytes=checkpoint.num_bytes, num_tensors=checkpoint.num_tensors,
                                   **details)
