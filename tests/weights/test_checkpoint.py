"""Reading official PyTorch checkpoints without PyTorch: both file formats,
containers, tensor views, refused globals, damaged files, `load(weights=path)`
and the convert command line."""

import collections
import os
import pickle
import shutil
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.weights import checkpoint
from skeleton_zoo.weights.checkpoint import CheckpointError, UnsafeCheckpointError
from skeleton_zoo.weights.state_dict import WeightsMismatchError

import torch_format
from conftest import FIXTURES, backend_independent, load_gast_fixture

GAST_FILES = {
    "zip": FIXTURES / "gast" / "gast_h36m17_w333_c16.zip.bin",
    "legacy": FIXTURES / "gast" / "gast_h36m17_w333_c16.legacy.bin",
}
STTR_FILES = {
    "spatial": FIXTURES / "sttr" / "sttr_spatial_joint_small.pt",  # legacy, bare state dict
    "temporal": FIXTURES / "sttr" / "sttr_temporal_joint_small.pt",  # zip, training checkpoint
}
SAVERS = {"zip": torch_format.save_zip, "legacy": torch_format.save_legacy}


@pytest.fixture(autouse=True)
def no_torch(monkeypatch):
    """Every test here runs where `import torch` fails."""
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError):
        import torch  # noqa: F401


def _sttr_fixture(stream):
    import json

    data = np.load(FIXTURES / "sttr" / f"sttr_{stream}_joint_small.npz")
    args = json.loads(str(data["config"]))["model_args"]
    state = {k[len("state/"):]: data[k] for k in data.files if k.startswith("state/")}
    return args, state, np.transpose(data["input"], (0, 2, 3, 4, 1)), data["logits"]


# --- the official fixtures -----------------------------------------------------
@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_gast_checkpoint_holds_exactly_the_official_state_dict(fmt):
    _, state, _ = load_gast_fixture("gast_h36m17_w333_c16")
    weights, info = checkpoint.load_state_dict(GAST_FILES[fmt])
    assert info.format == fmt and info.container == "model_pos" and info.epoch == 7
    assert sorted(info.ignored) == ["lr", "optimizer", "random_state"]
    assert set(weights) == set(state)
    for key, value in state.items():
        assert weights[key].dtype == value.dtype, key
        np.testing.assert_array_equal(weights[key], value, err_msg=key)


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
@pytest.mark.parametrize("variant,x_key,y_key", [("sequence", "input_sequence", "output_sequence"),
                                                 ("single_frame", "input_window", "output_window")])
def test_gast_file_reproduces_official_outputs(fmt, variant, x_key, y_key):
    _, _, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", weights=GAST_FILES[fmt], channels=16, variant=variant)
    y = keras.ops.convert_to_numpy(model(arrays[x_key], training=False)).reshape(arrays[y_key].shape)
    assert np.abs(y - arrays[y_key]).max() <= 1e-4


def test_gast_training_checkpoint_keeps_random_state_and_optimizer():
    contents = checkpoint.read_checkpoint(GAST_FILES["zip"]).contents
    name, key_array = contents["random_state"][:2]
    assert name == "MT19937" and key_array.dtype == np.uint32 and key_array.shape == (624,)
    assert set(contents["optimizer"]) == {"state", "param_groups"}
    legacy = checkpoint.read_checkpoint(GAST_FILES["legacy"]).contents
    np.testing.assert_array_equal(legacy["random_state"][1], key_array)


@pytest.mark.parametrize("stream", ["spatial", "temporal"])
def test_sttr_files_reproduce_official_logits(stream):
    args, state, x, logits = _sttr_fixture(stream)
    weights, info = checkpoint.load_state_dict(STTR_FILES[stream])
    expected_container = "state_dict (bare)" if stream == "spatial" else "model_state_dict"
    assert info.container == expected_container
    assert info.format == ("legacy" if stream == "spatial" else "zip")
    assert set(weights) == set(state)
    model = skeleton_zoo.load(f"st_tr_{stream}_joint", weights=STTR_FILES[stream],
                              backbone=args["backbone_config"])
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert np.abs(y - logits).max() <= 1e-4


def test_two_stream_preset_takes_one_file_per_stream():
    backbone = _sttr_fixture("spatial")[0]["backbone_config"]
    model = skeleton_zoo.load("st_tr_2s_joint", weights={k: str(v) for k, v in STTR_FILES.items()},
                              backbone=backbone)
    for stream in ("spatial", "temporal"):
        _, _, x, logits = _sttr_fixture(stream)
        y = keras.ops.convert_to_numpy(model.streams[stream](x, training=False))
        assert np.abs(y - logits).max() <= 1e-4


# --- the formats, written here ---------------------------------------------------
@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_views_offsets_strides_and_dtypes(fmt, tmp_path):
    base = np.arange(60, dtype=np.float32) * 0.5
    shared = torch_format.Storage(base)
    obj = collections.OrderedDict(
        whole=torch_format.Tensor(shared, 0, (6, 10), (10, 1)),
        rows=torch_format.Tensor(shared, 20, (2, 10), (10, 1)),  # offset view
        transposed=torch_format.Tensor(shared, 0, (10, 6), (1, 10)),  # strided view
        every_other=torch_format.Tensor(shared, 1, (3, 5), (20, 2)),
        scalar=torch_format.Tensor(shared, 7, (), ()),
        empty=torch_format.Tensor(shared, 0, (0, 4), (4, 1)),
        half=torch_format.Tensor.of(np.linspace(-2, 2, 7).astype(np.float16)),
        double=torch_format.Tensor.of(np.linspace(-2, 2, 7)),
        long=torch_format.Tensor.of(np.arange(-3, 4, dtype=np.int64)),
        mask=torch_format.Tensor.of(np.array([True, False, True])),
    )
    path = tmp_path / f"views.{fmt}.pt"
    SAVERS[fmt](obj, path)
    read = checkpoint.read_checkpoint(path)
    got = read.contents
    assert read.format == fmt and read.num_tensors == len(obj)
    assert isinstance(got, collections.OrderedDict) and list(got) == list(obj)
    grid = base.reshape(6, 10)
    np.testing.assert_array_equal(got["whole"], grid)
    np.testing.assert_array_equal(got["rows"], grid[2:4])
    np.testing.assert_array_equal(got["transposed"], grid.T)
    np.testing.assert_array_equal(got["every_other"], [[base[1 + 20 * i + 2 * j] for j in range(5)] for i in range(3)])
    assert got["scalar"].shape == () and got["scalar"] == base[7]
    assert got["empty"].shape == (0, 4)
    assert got["half"].dtype == np.float16 and got["double"].dtype == np.float64
    np.testing.assert_array_equal(got["long"], np.arange(-3, 4))
    np.testing.assert_array_equal(got["mask"], [True, False, True])
    # Views are independent copies: writing one does not change another.
    got["whole"][0, 0] = 99.0
    assert got["transposed"][0, 0] == 0.0


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_view_past_the_end_of_its_storage_is_refused(fmt, tmp_path):
    storage = torch_format.Storage(np.zeros(10, np.float32))
    path = tmp_path / f"bad.{fmt}.pt"
    SAVERS[fmt]({"w": torch_format.Tensor(storage, 5, (3, 3), (3, 1))}, path)
    with pytest.raises(CheckpointError, match="reads past the end of storage") as info:
        checkpoint.read_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_containers_and_data_parallel_prefix(fmt, tmp_path):
    _, state, _ = load_gast_fixture("gast_h36m17_w333_c16")
    prefixed = collections.OrderedDict((f"module.{k}", v) for k, v in state.items())
    obj = {"epoch": 12, "model_state_dict": torch_format.tensors(prefixed),
           "optimizer_state_dict": {"state": {0: {"momentum_buffer": torch_format.Tensor.of(np.ones(3, np.float32))}},
                                    "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": True,
                                                      "params": [0]}]}}
    path = tmp_path / f"dp.{fmt}.pt"
    SAVERS[fmt](obj, path)
    weights, info = checkpoint.load_state_dict(path)
    assert info.container == "model_state_dict" and info.epoch == 12
    assert info.stripped_prefix == "module." and info.ignored == ["optimizer_state_dict"]
    assert set(weights) == set(state)
    _, _, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", weights=path, channels=16)
    assert np.abs(keras.ops.convert_to_numpy(model(arrays["input_sequence"])) - arrays["output_sequence"]).max() <= 1e-4


def test_file_without_model_weights_names_its_keys(tmp_path):
    path = tmp_path / "optimizer_only.pt"
    torch_format.save_zip({"epoch": 3, "optimizer": {"param_groups": []}}, path)
    with pytest.raises(CheckpointError, match=r"no model weights found.*\['epoch', 'optimizer'\]"):
        checkpoint.load_state_dict(path)


# --- refused globals ---------------------------------------------------------------
class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"echo pwned > {self.marker}",)


class _WriteFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return eval, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def _legacy_with_payload_first(payload, path):
    with open(path, "wb") as f:
        pickle.dump(payload, f, protocol=2)  # where the magic number belongs


@pytest.mark.parametrize("where", ["zip", "legacy", "legacy_magic", "zip_in_optimizer"])
@pytest.mark.parametrize("exploit", [_Exploit, _WriteFile])
def test_malicious_pickles_are_refused_and_never_run(where, exploit, tmp_path):
    marker = tmp_path / "side_effect"
    path = tmp_path / "evil.pt"
    _, state, _ = load_gast_fixture("gast_h36m17_w333_c16")
    if where == "zip":
        torch_format.save_zip(exploit(marker), path)
    elif where == "legacy":
        torch_format.save_legacy({"model_pos": torch_format.tensors(state), "x": exploit(marker)}, path)
    elif where == "legacy_magic":
        _legacy_with_payload_first(exploit(marker), path)
    else:  # hidden in a part the loader would ignore
        torch_format.save_zip({"model_pos": torch_format.tensors(state), "optimizer": exploit(marker)}, path)
    refused = {_Exploit: r"refused to load global .(posix|nt|os)\.system", _WriteFile: r"refused to load global .(__builtin__|builtins)\.eval"}[exploit]
    with pytest.raises(UnsafeCheckpointError, match=refused) as info:
        checkpoint.read_checkpoint(path)
    assert str(path) in str(info.value) and "nothing from the file was run" in str(info.value)
    with pytest.raises(UnsafeCheckpointError):
        skeleton_zoo.load("gast_27", weights=path, channels=16)
    assert not marker.exists()


@pytest.mark.parametrize("scalar, accepted", [(np.float64(0.25), True), (np.int64(3), False),
                                             (np.float32(0.5), False), (np.bool_(True), False)])
def test_only_numpy_float64_scalars_are_admitted(scalar, accepted, tmp_path):
    """MotionBERT pickles `min_loss` as a numpy.float64; no other numpy scalar is let in."""
    _, state, _ = load_gast_fixture("gast_h36m17_w333_c16")
    path = tmp_path / "container.bin"
    torch_format.save_zip({"model_pos": torch_format.tensors(state), "min_loss": scalar}, path)
    if accepted:
        contents = checkpoint.read_checkpoint(path).contents
        assert type(contents["min_loss"]) is np.float64 and contents["min_loss"] == 0.25
    else:
        with pytest.raises(UnsafeCheckpointError, match=rf"refused to load global 'numpy\.{scalar.dtype.name} scalar'"):
            checkpoint.read_checkpoint(path)


def test_whole_pickled_model_gets_a_hint(tmp_path):
    path = tmp_path / "model.pt"
    torch_format.save_zip(collections.OrderedDict(a=1), path)  # then swap in a user class
    data = zipfile.ZipFile(path).read("archive/data.pkl")
    evil = data.replace(b"ccollections\nOrderedDict\n", b"cmodels.gast_net\nSpatioTemporalModel\n")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", evil)
    with pytest.raises(UnsafeCheckpointError, match="models.gast_net.SpatioTemporalModel.*state_dict"):
        checkpoint.read_checkpoint(path)


# --- damaged files --------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["zip", "legacy"])
@pytest.mark.parametrize("fraction", [0.001, 0.02, 0.5, 0.999])
def test_truncated_files_give_a_clear_error(fmt, fraction, tmp_path):
    data = GAST_FILES[fmt].read_bytes()
    path = tmp_path / f"truncated.{fmt}.bin"
    path.write_bytes(data[:max(1, int(len(data) * fraction))])
    with pytest.raises(CheckpointError) as info:
        checkpoint.read_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    assert "truncated" in message or "corrupt" in message
    assert info.value.__cause__ is None  # no chained traceback from zipfile / pickle
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("content,match", [
    (b"", "empty"),
    (bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)), "not a PyTorch checkpoint"),
    (b"PK\x03\x04" + bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8)), "truncated or corrupt"),
    (b"\x80\x02" + bytes(np.random.default_rng(2).integers(0, 256, 4096, dtype=np.uint8)), "cannot read legacy"),
    (pickle.dumps({"a": 1}, protocol=2), "magic number"),
])
def test_random_and_foreign_bytes_give_a_clear_error(content, match, tmp_path):
    path = tmp_path / "random.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=match) as info:
        checkpoint.read_checkpoint(path)
    assert str(path) in str(info.value)


def test_corrupted_storage_bytes_fail_the_zip_checksum(tmp_path):
    data = bytearray(GAST_FILES["zip"].read_bytes())
    record = max(zipfile.ZipFile(GAST_FILES["zip"]).infolist(), key=lambda i: i.file_size)
    name_length, extra_length = np.frombuffer(data, "<u2", 2, record.header_offset + 26)
    offset = record.header_offset + 30 + int(name_length) + int(extra_length) + record.file_size // 2
    data[offset] ^= 0xFF  # one bit pattern inside the largest stored tensor
    path = tmp_path / "flipped.bin"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="CRC|corrupt") as info:
        checkpoint.read_checkpoint(path)
    assert str(path) in str(info.value)


def test_legacy_storage_size_mismatch_is_reported(tmp_path):
    data = bytearray(GAST_FILES["legacy"].read_bytes())
    path = tmp_path / "short.bin"
    path.write_bytes(bytes(data[:-3]))
    with pytest.raises(CheckpointError, match="file ends inside storage"):
        checkpoint.read_checkpoint(path)


# --- load(weights=...) ---------------------------------------------------------------
def test_load_accepts_keras_weights_and_keras_archives(tmp_path):
    _, _, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", weights=GAST_FILES["zip"], channels=16)
    model.save_weights(tmp_path / "g.weights.h5")
    model.save(tmp_path / "g.keras")
    for name in ("g.weights.h5", "g.keras"):
        again = skeleton_zoo.load("gast_27", weights=tmp_path / name, channels=16)
        assert np.abs(keras.ops.convert_to_numpy(again(arrays["input_sequence"])) - arrays["output_sequence"]).max() <= 1e-4


def test_keras_weights_of_another_configuration_name_preset_and_file(tmp_path):
    skeleton_zoo.load("gast_27", weights=GAST_FILES["zip"], channels=16).save_weights(tmp_path / "g.weights.h5")
    with pytest.raises(WeightsMismatchError, match=r"load\('gast_81'\).*g\.weights\.h5"):
        skeleton_zoo.load("gast_81", weights=tmp_path / "g.weights.h5", channels=16)


def test_mismatch_names_preset_file_and_the_preset_that_fits():
    with pytest.raises(WeightsMismatchError) as info:
        skeleton_zoo.load("gast_81", weights=GAST_FILES["legacy"], channels=16)
    message = str(info.value)
    assert "'gast_81'" in message and str(GAST_FILES["legacy"]) in message
    assert "These weights fit: load('gast_27', weights=...)" in message


def test_unknown_weights_suffix(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"'.*weights\.npz'.*\.bin, \.pt, \.pth.*\.weights\.h5, \.keras"):
        skeleton_zoo.load("gast_27", weights=path)


def test_presets_name_official_files():
    rows = {r["name"]: r for r in skeleton_zoo.list_models(family="gast")}
    assert [w["file"] for w in rows["gast_27"]["official_weights"]] == ["27_frame_model.bin", "27_frame_model_toe.bin"]
    assert rows["gast_81_causal"]["official_weights"][0]["file"] == "81_frame_model_causal.bin"
    assert rows["gast_243"]["official_weights"] == []
    assert all(w["url"].startswith("https://") for r in rows.values() for w in r["official_weights"])
    assert rows["gast_27"]["weights_tags"] == ["h36m_cpn", "h36m_cpn_toe"]


# --- python -m skeleton_zoo convert -----------------------------------------------------
@backend_independent
def test_convert_writes_checked_keras_weights(tmp_path):
    from skeleton_zoo.weights.convert import convert_checkpoints as convert

    lines = []
    out = str(tmp_path / "gast.weights.h5")
    summary = convert([str(GAST_FILES["legacy"])], "gast_27", out, {"channels": 16}, echo=lines.append)
    assert summary["tensors_read"] == 228 and summary["parameters"] == 122_064
    text = "\n".join(lines)
    assert "legacy format" in text and "epoch 7" in text and "228 tensors" in text and "122,064" in text
    _, _, arrays = load_gast_fixture("gast_h36m17_w333_c16")
    model = skeleton_zoo.load("gast_27", weights=out, channels=16)
    assert np.abs(keras.ops.convert_to_numpy(model(arrays["input_sequence"])) - arrays["output_sequence"]).max() <= 1e-4
    # An existing output is kept.
    with pytest.raises(FileExistsError, match="--overwrite"):
        convert([str(GAST_FILES["zip"])], "gast_27", out, {"channels": 16}, echo=lines.append)


def test_convert_failure_leaves_no_output(tmp_path):
    from skeleton_zoo.weights.convert import convert_checkpoints as convert

    out = tmp_path / "gast.weights.h5"
    with pytest.raises(WeightsMismatchError):
        convert([str(GAST_FILES["zip"])], "gast_81", str(out), {"channels": 16}, echo=lambda _: None)
    assert list(tmp_path.iterdir()) == []


@backend_independent
def test_convert_command_line(tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    source = tmp_path / "27_frame_model.bin"
    shutil.copy(GAST_FILES["zip"], source)
    command = [sys.executable, "-m", "skeleton_zoo.convert", str(source), "--model", "gast_27",
               "--option", "channels=16", "--out", str(tmp_path / "g.weights.h5")]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "zip format" in result.stdout and "122,064 trainable parameters" in result.stdout
    assert (tmp_path / "g.weights.h5").exists()
    source.write_bytes(source.read_bytes()[:1000])
    result = subprocess.run(command + ["--overwrite"], capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 1
    assert f"error: Checkpoint '{source}'" in result.stderr and "Traceback" not in result.stderr


def test_two_stream_preset_takes_keras_weights_per_stream(tmp_path):
    backbone = _sttr_fixture("spatial")[0]["backbone_config"]
    x = _sttr_fixture("spatial")[2]
    paths = {}
    for stream in ("spatial", "temporal"):
        single = skeleton_zoo.load(f"st_tr_{stream}_joint", weights=STTR_FILES[stream], backbone=backbone)
        paths[stream] = str(tmp_path / f"{stream}.weights.h5")
        single.save_weights(paths[stream])
    model = skeleton_zoo.load("st_tr_2s_joint", weights=paths, backbone=backbone)
    for stream in ("spatial", "temporal"):
        expected = skeleton_zoo.load(f"st_tr_{stream}_joint", weights=STTR_FILES[stream], backbone=backbone)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(model.streams[stream](x)), keras.ops.convert_to_numpy(expected(x)), atol=1e-6)
    with pytest.raises(ValueError, match="all official checkpoints or all Keras files"):
        skeleton_zoo.load("st_tr_2s_joint", weights={"spatial": paths["spatial"], "temporal": str(STTR_FILES["temporal"])},
                          backbone=backbone)
