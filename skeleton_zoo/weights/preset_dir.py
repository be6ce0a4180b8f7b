"""Preset directories, keras-hub style: a model you can save, share and load
back by path or from a hub.

    skeleton_zoo.save_preset(model, "my_gast")        # config.json, metadata.json,
                                                      # model.weights.h5, README.md
    model = skeleton_zoo.load("my_gast")
    model = skeleton_zoo.load("hf://org/my_gast")     # huggingface_hub
    model = skeleton_zoo.load("kaggle://org/my_gast/keras/v1")   # kagglehub
    skeleton_zoo.upload_preset("hf://org/my_gast", "my_gast")

`config.json` is the model's Keras config (every layer of the zoo is
registered serialisable, so the dtype policy and the skeleton layout come
back with it), read in safe mode; `metadata.json` says what the model is
(family, task, layout, parameters, input and output shapes, where its
weights came from, their metric and licence, the SHA-256 of
`model.weights.h5`, checked on load).
"""

from __future__ import annotations

import datetime
import json
import math
import os
import pathlib

from skeleton_zoo.weights.hub import file_sha256

__all__ = ["CONFIG_FILE", "METADATA_FILE", "WEIGHTS_FILE", "README_FILE", "PresetError", "save_preset",
           "load_preset", "upload_preset", "is_preset_uri", "record_origin"]

CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE, README_FILE = "config.json", "metadata.json", "model.weights.h5", "README.md"
_SCHEMES = ("hf://", "kaggle://")
_ORIGIN = "_skeleton_zoo_origin"


class PresetError(ValueError):
    """A preset directory or URI that cannot be read."""


def is_preset_uri(name) -> bool:
    """Whether `load(name)` means a preset directory: an hf:// or kaggle://
    URI, or a folder holding `config.json`."""
    if not isinstance(name, (str, os.PathLike)):
        return False
    text = os.fspath(name)
    return text.startswith(_SCHEMES) or (os.path.isdir(text) and os.path.exists(os.path.join(text, CONFIG_FILE)))


def record_origin(model, preset, overrides: dict, weights) -> None:
    """Remembers which preset, options and weights built `model` (for
    `save_preset`'s metadata); not part of the Keras state."""
    entries = []
    if isinstance(weights, str):
        entries = [w for w in preset.official_weights if w.tag == weights]
    origin = {"preset": preset.name, "family": preset.family, "task": preset.task,
              "options": {k: repr(v) for k, v in overrides.items()},
              "weights": None if weights is None else {
                  "tag": weights if entries else None,
                  "source": [w.url for w in entries] if entries else _source(weights),
                  "files": [w.file for w in entries], "dataset": entries[0].dataset if entries else "",
                  "metric": entries[0].metric if entries else "", "licence": entries[0].licence if entries else ""}}
    object.__setattr__(model, _ORIGIN, origin)


def _source(weights):
    """A weights argument as plain data: a path, {stream: path}, or its type."""
    if isinstance(weights, (str, os.PathLike)):
        return os.fspath(weights)
    if isinstance(weights, dict) and all(isinstance(v, (str, os.PathLike)) for v in weights.values()):
        return {k: os.fspath(v) for k, v in weights.items()}
    return type(weights).__name__


def _policy_name(config: dict, model):
    """The dtype policy the model was built with (its config's `dtype`; the
    zoo's models pass it to their layers)."""
    dtype = config.get("config", {}).get("dtype")
    if isinstance(dtype, dict):
        dtype = dtype.get("config", {}).get("name")
    return dtype or getattr(getattr(model, "dtype_policy", None), "name", None)


def _model_card(metadata: dict) -> str:
    weights = metadata.get("weights") or {}
    name = metadata.get("name") or "model"
    rows = [("preset", metadata.get("preset")), ("family", metadata.get("family")), ("task", metadata.get("task")),
            ("layout", metadata.get("layout")), ("parameters", f"{metadata['parameters']:,}"),
            ("input", metadata.get("input_shape")), ("output", metadata.get("output_shape")),
            ("dtype policy", metadata.get("dtype_policy")), ("weights", weights.get("tag") or weights.get("source")),
            ("trained on", weights.get("dataset")), ("published metric", weights.get("metric")),
            ("weights licence", weights.get("licence"))]
    table = "\n".join(f"| {key} | {value} |" for key, value in rows if value not in (None, "", []))
    return (f"# {name}\n\nA skeleton_zoo preset directory (Keras 3).\n\n```python\nimport skeleton_zoo\n"
            f"model = skeleton_zoo.load(\"path/or/hf://org/{name}\")\n```\n\n| | |\n|---|---|\n{table}\n\n"
            f"Files: `{CONFIG_FILE}` (Keras config), `{METADATA_FILE}`, `{WEIGHTS_FILE}` "
            f"(SHA-256 {metadata['weights_sha256']}).\n")


def save_preset(model, directory, metadata: dict | None = None) -> pathlib.Path:
    """Writes `model` as a preset directory (atomically: it appears complete
    or not at all; an existing directory is never replaced).

    Args:
        model: a model of the zoo (`skeleton_zoo.load(...)`, fine-tuned or not).
        directory: the new folder.
        metadata: extra entries for `metadata.json` (e.g. {"metric": ...}).

    Returns:
        The directory.

    Raises:
        FileExistsError: `directory` exists.
    """
    import keras

    from skeleton_zoo.utils.files import atomic_directory

    directory = pathlib.Path(directory)
    if directory.exists():
        raise FileExistsError(f"save_preset: '{directory}' exists already; it is never overwritten.")
    origin = dict(getattr(model, _ORIGIN, None) or {})
    layout = getattr(model, "layout", None)
    with atomic_directory(directory) as tmp:
        config = keras.saving.serialize_keras_object(model)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1))
        model.save_weights(tmp / WEIGHTS_FILE)
        info = {
            "name": directory.name, "skeleton_zoo_format": 1, "keras_version": keras.__version__,
            "saved": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "preset": origin.get("preset"), "family": origin.get("family"), "task": origin.get("task"),
            "options": origin.get("options", {}), "layout": getattr(layout, "name", None),
            "parameters": sum(math.prod(w.shape) for w in model.trainable_weights),
            "input_shape": list(model.input_shape) if hasattr(model, "input_shape") else None,
            "output_shape": list(model.output_shape) if hasattr(model, "output_shape") else None,
            "dtype_policy": _policy_name(config, model),
            "weights": origin.get("weights"), "weights_sha256": file_sha256(tmp / WEIGHTS_FILE),
            **(metadata or {}),
        }
        (tmp / METADATA_FILE).write_text(json.dumps(info, indent=1))
        (tmp / README_FILE).write_text(_model_card(info))
    return directory


def _local_directory(uri) -> pathlib.Path:
    """A preset URI or path -> a local directory (downloading hub presets)."""
    text = os.fspath(uri)
    if text.startswith("hf://"):
        from huggingface_hub import snapshot_download

        repo = text[len("hf://"):].strip("/")
        if repo.count("/") != 1:
            raise PresetError(f"'{text}': expected hf://ORG/NAME (a Hugging Face model repository).")
        return pathlib.Path(snapshot_download(repo))
    if text.startswith("kaggle://"):
        import kagglehub

        handle = text[len("kaggle://"):].strip("/")
        if handle.count("/") < 3:
            raise PresetError(f"'{text}': expected kaggle://OWNER/MODEL/keras/VARIATION[/VERSION].")
        return pathlib.Path(kagglehub.model_download(handle))
    return pathlib.Path(text)


def load_preset(uri, **overrides):
    """A model from a preset directory, hf://ORG/NAME or
    kaggle://OWNER/MODEL/keras/VARIATION[/VERSION].

    Raises:
        PresetError: a missing or unreadable file, or weights whose SHA-256
            differs from the metadata's (naming both).
        TypeError: `overrides` (a preset directory is loaded as saved).
    """
    import keras

    from skeleton_zoo.registry import register_keras_objects

    if overrides:
        raise TypeError(f"load('{os.fspath(uri)}'): a preset directory loads as saved; options "
                        f"{sorted(overrides)} cannot be applied.")
    directory = _local_directory(uri)
    for name in (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE):
        if not (directory / name).is_file():
            raise PresetError(f"'{os.fspath(uri)}': not a preset directory, '{name}' is missing from {directory}.")
    try:
        config = json.loads((directory / CONFIG_FILE).read_text())
        metadata = json.loads((directory / METADATA_FILE).read_text())
    except ValueError as error:
        raise PresetError(f"'{os.fspath(uri)}': unreadable {CONFIG_FILE} or {METADATA_FILE} ({error}).") from None
    expected, found = metadata.get("weights_sha256"), file_sha256(directory / WEIGHTS_FILE)
    if expected and expected != found:
        raise PresetError(f"'{os.fspath(uri)}': {WEIGHTS_FILE} has SHA-256 {found}, but {METADATA_FILE} records "
                          f"{expected}; the file is corrupt or was replaced.")
    register_keras_objects()
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    model.load_weights(directory / WEIGHTS_FILE)
    object.__setattr__(model, _ORIGIN, {k: metadata.get(k) for k in ("preset", "family", "task", "options",
                                                                   "weights")})
    return model


def upload_preset(uri: str, directory) -> None:
    """Publishes a preset directory at hf://ORG/NAME (`huggingface_hub`,
    creating the repository) or kaggle://OWNER/MODEL/keras/VARIATION
    (`kagglehub`, a new version). Credentials are the libraries' own (`hf auth
    login`, `~/.kaggle/kaggle.json`)."""
    directory = pathlib.Path(directory)
    if not (directory / CONFIG_FILE).is_file() or not (directory / METADATA_FILE).is_file():
        raise PresetError(f"upload_preset: '{directory}' is not a preset directory (save_preset writes one).")
    if uri.startswith("hf://"):
        from huggingface_hub import HfApi

        repo = uri[len("hf://"):].strip("/")
        api = HfApi()
        api.create_repo(repo, exist_ok=True)
        api.upload_folder(repo_id=repo, folder_path=str(directory))
    elif uri.startswith("kaggle://"):
        import kagglehub

        metadata = json.loads((directory / METADATA_FILE).read_text())
        kagglehub.model_upload(uri[len("kaggle://"):].strip("/"), str(directory),
                               version_notes=f"skeleton_zoo preset {metadata.get('preset') or directory.name}")
    else:
        raise PresetError(f"upload_preset: expected hf://ORG/NAME or kaggle://OWNER/MODEL/keras/VARIATION, "
                          f"found '{uri}'.")
