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

__all__ = ["Family", "Preset", "register_family", "register_preset", "get_preset",
           "preset_names", "load", "list_models"]


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
class Preset:
    """A named model configuration.

    Attributes:
        name: preset id, e.g. "gast_243".
        family: family id.
        task: "pose_lifting" or "action_recognition".
        description: one line for listings.
        config: keyword arguments of the family's model class.
    """

    name: str
    family: str
    task: str
    description: str
    config: Mapping[str, Any]


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


def preset_names() -> list[str]:
    return list(_PRESETS)


def get_preset(name: str) -> Preset:
    """Looks a preset up; an unknown name lists the valid ones and the closest."""
    if name in _PRESETS:
        return _PRESETS[name]
    close = difflib.get_close_matches(str(name), list(_PRESETS), n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise ValueError(f"Unknown model '{name}'.{hint} Valid names: {', '.join(_PRESETS)}.")


def _load_weights(model, family: Family, preset: Preset, weights) -> None:
    if isinstance(weights, Mapping):
        family.load_official(model, weights, "a state-dict mapping")
        return
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
        if path.endswith(".weights.h5"):
            model.load_weights(path)
            return
        raise ValueError(
            f"load('{preset.name}'): cannot read weights file '{path}': expected a Keras "
            f"'.weights.h5' file or a mapping of official state-dict keys to arrays."
        )
    raise TypeError(
        f"load('{preset.name}'): `weights` must be None, a path or a mapping of official "
        f"state-dict keys to arrays, found {type(weights).__name__}."
    )


def load(name: str, weights=None, **overrides):
    """Builds a preset model, optionally with weights.

    Args:
        name: preset name (see `list_models()`), e.g. "gast_243".
        weights: None (random initialisation), a mapping of official PyTorch
            state-dict keys to arrays, or a Keras `.weights.h5` path.
        **overrides: family-specific options, e.g. for GAST-Net
            `variant="sequence"|"single_frame"`, `layout="humaneva15"` (or a
            `SkeletonLayout`), `causal`, `dropout`.

    Returns:
        A `keras.Model`. For GAST-Net: input (batch, frames, joints, 2),
        output (batch, frames - receptive_field + 1, joints, 3).
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
        _load_weights(model, family, preset, weights)
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
        rows.append(row)
    return rows
