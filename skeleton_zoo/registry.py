"""The preset registry: every named model of the zoo, and `load`.

A model family (GAST-Net, ST-TR, ...) registers a `Family` (how to build a
model from a config and how to load official weights into it) and its
`Preset`s (named configs). `load(name, ...)` is the one entry point.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from typing import Any, Callable, Mapping

__all__ = ["Family", "Preset", "OfficialWeights", "register_family", "register_preset", "get_preset",
           "get_family", "parse_overrides", "preset_names", "load", "list_models"]

# Keras formats `load(weights=...)` reads with `model.load_weights`.
KERAS_SUFFIXES = (".weights.h5", ".keras")


@dataclasses.dataclass(frozen=True)
class Family:
    """How to build and fill the models of one family.

    Attributes:
        name: family id, e.g. "gast".
        build: `build(config: dict, **overrides) -> keras.Model`.
        load_official: `load_official(model, state_dict, source) -> int`,
            assigning an official PyTorch state dict (key -> array).
        describe: `describe(model) -> dict` of extra columns for listings.
        overrides: keyword arguments `load` accepts for this family.
    """

    name: str
    build: Callable[..., Any]
    load_official: Callable[..., int]
    describe: Callable[[Any], dict]
    overrides: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class OfficialWeights:
    """A weights file the paper's authors publish for a preset.

    Attributes:
        file: the file name as published, e.g. "27_frame_model.bin".
        url: where the authors host it.
        note: how to load it when it needs more than the preset name, e.g.
            "layout='h36m19'" or "spatial stream".
    """

    file: str
    url: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named model configuration.

    Attributes:
        name: preset id, e.g. "gast_243".
        family: family id.
        task: "pose_lifting" or "action_recognition".
        description: one line for listings.
        config: keyword arguments of the family's model class.
        official_weights: the authors' published weights that fit it.
    """

    name: str
    family: str
    task: str
    description: str
    config: Mapping[str, Any]
    official_weights: tuple[OfficialWeights, ...] = ()


_FAMILIES: dict[str, Family] = {}
_PRESETS: dict[str, Preset] = {}


def register_family(family: Family) -> Family:
    _FAMILIES[family.name] = family
    return family


def register_preset(preset: Preset) -> Preset:
    if preset.family not in _FAMILIES:
        raise ValueError(f"Preset '{preset.name}': unknown family '{preset.family}'.")
    _PRESETS[preset.name] = preset
    return preset


def parse_overrides(pairs) -> dict:
    """Command-line preset options `["channels=16", "layout=h36m19"]` ->
    `{"channels": 16, "layout": "h36m19"}` (values as Python literals, else text)."""
    import ast

    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--option expects KEY=VALUE, found '{pair}'.")
        try:
            options[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key] = text  # a bare word, e.g. layout=h36m19
    return options


def get_family(name: str) -> Family:
    return _FAMILIES[name]


def preset_names() -> list[str]:
    return list(_PRESETS)


def get_preset(name: str) -> Preset:
    """Looks a preset up; an unknown name lists the valid ones and the closest."""
    if name in _PRESETS:
        return _PRESETS[name]
    close = difflib.get_close_matches(str(name), list(_PRESETS), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown model '{name}'.{hint} Valid names: {', '.join(_PRESETS)}.")


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def _read_official(preset: Preset, path) -> dict:
    from skeleton_zoo import checkpoint

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
    if not path.endswith(checkpoint.OFFICIAL_SUFFIXES):
        raise ValueError(
            f"load('{preset.name}'): cannot tell the format of weights file '{path}': expected an "
            f"official PyTorch checkpoint ({', '.join(checkpoint.OFFICIAL_SUFFIXES)}) or Keras "
            f"weights ({', '.join(KERAS_SUFFIXES)})."
        )
    state_dict, _ = checkpoint.load_state_dict(path)
    return state_dict


def _fitting_presets(preset: Preset, weights, overrides) -> list[str]:
    """Other presets (or layouts) of the family that accept `weights`, as
    `load` calls for the error message. Only run after a mismatch."""
    from skeleton_zoo.layouts import list_layouts
    from skeleton_zoo.state_dict import WeightsMismatchError

    family = _FAMILIES[preset.family]
    candidates = [(other, dict(overrides)) for other in _PRESETS.values()
                  if other.family == preset.family and other.name != preset.name]
    if "layout" in family.overrides:
        candidates += [(preset, dict(overrides, layout=name)) for name in list_layouts()
                       if name != overrides.get("layout")]
    fits = []
    for other, options in candidates:
        try:
            family.load_official(family.build(other, **options), weights, "a candidate")
        except (WeightsMismatchError, TypeError, ValueError):
            continue
        extra = "".join(f", {k}={v!r}" for k, v in options.items() if overrides.get(k) != v)
        fits.append(f"load('{other.name}'{extra}, weights=...)")
    return fits


def _load_official(model, family: Family, preset: Preset, weights, source: str, overrides) -> None:
    from skeleton_zoo.state_dict import WeightsMismatchError

    try:
        family.load_official(model, weights, source)
    except WeightsMismatchError as error:
        fits = _fitting_presets(preset, weights, overrides)
        if not fits:
            raise
        raise WeightsMismatchError(f"{error}\nThese weights fit: " + "; ".join(fits)) from None


def _load_weights(model, family: Family, preset: Preset, weights, overrides) -> None:
    if isinstance(weights, Mapping) and weights and all(_is_path(v) for v in weights.values()):
        # e.g. {"spatial": "s.pt", "temporal": "t.pt"} for a two-stream preset
        keras_files = [os.fspath(v).endswith(KERAS_SUFFIXES) for v in weights.values()]
        if any(keras_files):
            if not all(keras_files):
                raise ValueError(f"load('{preset.name}'): stream weights must be all official checkpoints "
                                 f"or all Keras files, found {dict(weights)}.")
            for stream, path in weights.items():
                if not hasattr(model, f"{stream}_stream"):
                    raise ValueError(f"load('{preset.name}'): the model has no '{stream}' stream.")
                _load_weights(getattr(model, f"{stream}_stream"), family, preset, path, overrides)
            return
        state_dicts = {k: _read_official(preset, v) for k, v in weights.items()}
        source = " and ".join(f"'{os.fspath(v)}' ({k})" for k, v in weights.items())
        _load_official(model, family, preset, state_dicts, source, overrides)
        return
    if isinstance(weights, Mapping):
        family.load_official(model, weights, "a state-dict mapping")
        return
    if _is_path(weights):
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
        if path.endswith(KERAS_SUFFIXES):
            try:
                model.load_weights(path)
            except (ValueError, KeyError, OSError) as error:
                from skeleton_zoo.state_dict import WeightsMismatchError

                raise WeightsMismatchError(
                    f"load('{preset.name}'): Keras weights file '{path}' does not fit this model "
                    f"(was it saved from another preset or layout?): {error}"
                ) from None
            return
        _load_official(model, family, preset, _read_official(preset, path), f"'{path}'", overrides)
        return
    raise TypeError(
        f"load('{preset.name}'): `weights` must be None, a file path, a mapping of official "
        f"state-dict keys to arrays, or (two-stream presets) a mapping of stream name to file "
        f"path; found {type(weights).__name__}."
    )


def load(name: str, weights=None, **overrides):
    """Builds a preset model, optionally with weights.

    Args:
        name: preset name (see `list_models()`), e.g. "gast_243".
        weights: one of
            - None: random initialisation;
            - an official PyTorch checkpoint path (`.bin`, `.pt`, `.pth`; read
              without PyTorch, see `skeleton_zoo.checkpoint`);
            - a Keras `.weights.h5` or `.keras` path;
            - a mapping of official state-dict keys to arrays;
            - for two-stream presets, `{"spatial": path, "temporal": path}`.
            `list_models()` names the official file of each preset.
        **overrides: family-specific options, e.g. for GAST-Net
            `variant="sequence"|"single_frame"`, `layout="humaneva15"` (or a
            `SkeletonLayout`), `causal`, `dropout`.

    Returns:
        A `keras.Model`. For GAST-Net: input (batch, frames, joints, 2),
        output (batch, frames - receptive_field + 1, joints, 3).

    Raises:
        WeightsMismatchError: the weights do not fit (the message names the
            preset, the file and every differing key, and other presets the
            file fits); the model is left unchanged.
        skeleton_zoo.checkpoint.CheckpointError: an unreadable, truncated or
            unsafe checkpoint file.
    """
    preset = get_preset(name)
    family = _FAMILIES[preset.family]
    unknown = sorted(set(overrides) - set(family.overrides))
    if unknown:
        raise TypeError(
            f"load('{name}'): unexpected option(s) {unknown}; {family.name} models accept "
            f"{list(family.overrides)}."
        )
    model = family.build(preset, **overrides)
    if weights is not None:
        _load_weights(model, family, preset, weights, overrides)
    return model


def list_models(family: str | None = None, **overrides) -> list[dict]:
    """Describes every preset: name, family, task, trainable parameters and
    family-specific columns (e.g. receptive_field). Builds each model once.

    Args:
        family: only this family. Defaults to all.
        **overrides: passed to the family builder (e.g. `layout="humaneva15"`).
    """
    import keras  # noqa: F401  (imported late: listings of names need no backend)

    rows = []
    for preset in _PRESETS.values():
        if family is not None and preset.family != family:
            continue
        fam = _FAMILIES[preset.family]
        model = fam.build(preset, **{k: v for k, v in overrides.items() if k in fam.overrides})
        params = sum(int(w.numpy().size) for w in model.trainable_weights)
        row = {"name": preset.name, "family": preset.family, "task": preset.task}
        row.update(fam.describe(model))
        row.update({"parameters": params, "description": preset.description})
        row["official_weights"] = [dataclasses.asdict(w) for w in preset.official_weights]
        rows.append(row)
    return rows
