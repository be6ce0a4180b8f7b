"""Preset directories (`skeleton_zoo.save_preset` / `load(dir)`), keras-hub
style, and the hf:// / kaggle:// URIs through huggingface_hub's cache and
kagglehub, without network."""

import json
import pathlib
import shutil

import keras
import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.weights import hub, preset_dir

from conftest import backend_independent

FIXTURES = pathlib.Path(__file__).parent.parent / "fixtures"
X = np.random.default_rng(0).normal(size=(2, 27, 15, 2)).astype("float32")


def run(model):
    return keras.ops.convert_to_numpy(model(X, training=False)).astype("float32")


@pytest.fixture
def fine_tuned():
    """A GAST-Net on HumanEva's 15 joints in mixed precision, its weights changed as training would."""
    model = skeleton_zoo.load("gast_27", channels=8, layout="humaneva15", dtype="mixed_bfloat16")
    rng = np.random.default_rng(3)
    for variable in model.trainable_weights:
        variable.assign(variable + rng.normal(scale=0.01, size=variable.shape).astype("float32"))
    return model


def test_a_fine_tuned_model_round_trips_with_its_policy_and_layout(fine_tuned, tmp_path):
    directory = skeleton_zoo.save_preset(fine_tuned, tmp_path / "my_gast")
    assert sorted(p.name for p in directory.iterdir()) == ["README.md", "config.json", "metadata.json",
                                                           "model.weights.h5"]
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["preset"] == "gast_27" and metadata["family"] == "gast" and metadata["task"] == "pose_lifting"
    assert metadata["layout"] == "humaneva15" and metadata["dtype_policy"] == "mixed_bfloat16"
    assert metadata["parameters"] == sum(int(np.prod(w.shape)) for w in fine_tuned.trainable_weights)
    assert metadata["input_shape"] == [None, None, 15, 2] and metadata["weights"] is None
    assert "| layout | humaneva15 |" in (directory / "README.md").read_text()

    restored = skeleton_zoo.load(str(directory))
    assert restored.layout.name == "humaneva15" and restored.get_config()["dtype"] == "mixed_bfloat16"
    assert {layer.dtype_policy.name for layer in restored._flatten_layers()
            if isinstance(layer, keras.layers.Dense)} == {"mixed_bfloat16"}
    np.testing.assert_array_equal(run(restored), run(fine_tuned))
    with pytest.raises(FileExistsError, match="never overwritten"):
        skeleton_zoo.save_preset(restored, directory)
    with pytest.raises(TypeError, match="loads as saved"):
        skeleton_zoo.load(str(directory), channels=16)


@backend_independent  # files, hashes and URIs; the round trip above runs on both backends
def test_replaced_weights_are_refused(fine_tuned, tmp_path):
    directory = skeleton_zoo.save_preset(fine_tuned, tmp_path / "p")
    other = skeleton_zoo.save_preset(skeleton_zoo.load("gast_27", channels=8, layout="humaneva15"), tmp_path / "q")
    shutil.copyfile(other / "model.weights.h5", directory / "model.weights.h5")
    with pytest.raises(preset_dir.PresetError, match=r"SHA-256 [0-9a-f]{64}, but metadata.json records [0-9a-f]{64}"):
        skeleton_zoo.load(directory)
    (directory / "config.json").unlink()
    with pytest.raises(ValueError, match="Unknown model"):  # no config.json: not a preset directory
        skeleton_zoo.load(str(directory))


@backend_independent  # files, hashes and URIs; the round trip above runs on both backends
def test_metadata_names_the_catalogue_weights(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copyfile(FIXTURES / "gast" / "gast_h36m17_w333_c16.zip.bin", mirror / "27_frame_model.bin")
    monkeypatch.setenv(hub.MIRROR_VARIABLE, str(mirror))
    model = skeleton_zoo.load("gast_27", weights="h36m_cpn", channels=16)
    metadata = json.loads((skeleton_zoo.save_preset(model, tmp_path / "p") / "metadata.json").read_text())
    assert metadata["weights"]["tag"] == "h36m_cpn" and metadata["weights"]["files"] == ["27_frame_model.bin"]
    assert metadata["weights"]["metric"] == "MPJPE 46.2 mm" and metadata["options"] == {"channels": "16"}


@backend_independent  # files, hashes and URIs; the round trip above runs on both backends
def test_hf_uri_from_a_local_hub_cache(fine_tuned, tmp_path, monkeypatch):
    from huggingface_hub import constants

    commit = "89abcdef0123456789abcdef0123456789abcdef"
    repo = tmp_path / "hub" / "models--someone--my_gast"
    skeleton_zoo.save_preset(fine_tuned, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    np.testing.assert_array_equal(run(skeleton_zoo.load("hf://someone/my_gast")), run(fine_tuned))
    with pytest.raises(preset_dir.PresetError, match="expected hf://ORG/NAME"):
        skeleton_zoo.load("hf://someone")


@backend_independent  # files, hashes and URIs; the round trip above runs on both backends
def test_kaggle_uri_and_uploads_go_through_the_hub_libraries(fine_tuned, tmp_path, monkeypatch):
    import huggingface_hub
    import kagglehub

    directory = skeleton_zoo.save_preset(fine_tuned, tmp_path / "my_gast")
    calls = []
    monkeypatch.setattr(kagglehub, "model_download", lambda handle: calls.append(("download", handle)) or
                        str(directory))
    monkeypatch.setattr(kagglehub, "model_upload", lambda handle, folder, **kw: calls.append(("upload", handle,
                                                                                               folder)))

    class Api:
        def create_repo(self, repo, exist_ok):
            calls.append(("create", repo, exist_ok))

        def upload_folder(self, repo_id, folder_path):
            calls.append(("hf upload", repo_id, folder_path))

    monkeypatch.setattr(huggingface_hub, "HfApi", Api)
    np.testing.assert_array_equal(run(skeleton_zoo.load("kaggle://someone/gast/keras/v1")), run(fine_tuned))
    skeleton_zoo.upload_preset("kaggle://someone/gast/keras/v1", directory)
    skeleton_zoo.upload_preset("hf://someone/my_gast", directory)
    assert calls == [("download", "someone/gast/keras/v1"), ("upload", "someone/gast/keras/v1", str(directory)),
                     ("create", "someone/my_gast", True), ("hf upload", "someone/my_gast", str(directory))]
    with pytest.raises(preset_dir.PresetError, match="expected hf://ORG/NAME or kaggle://"):
        skeleton_zoo.upload_preset("s3://bucket/x", directory)
