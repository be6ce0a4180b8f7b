"""Weights: official PyTorch checkpoints read without PyTorch, assigned
through each family's key rules, and Keras weight files; one dispatch.

- `checkpoint`: the `torch.save` reader (zip and legacy formats);
- `safe_pickle`: the one restricted unpickler (checkpoints, VideoPose3D npz);
- `state_dict`: `Rule`s from official keys to Keras variables, checked
  before anything is assigned;
- here: `load_weights` (what `skeleton_zoo.load(name, weights=...)` does) and
  `parse_weights_argument` (the `--weights` flag of every command).
"""

from __future__ import annotations

import os
from typing import Mapping

from skeleton_zoo.weights.state_dict import WeightsMismatchError

__all__ = ["KERAS_SUFFIXES", "WeightsMismatchError", "load_weights", "assign_official", "parse_weights_argument"]

# Keras formats `load(weights=...)` reads with `model.load_weights`.
KERAS_SUFFIXES = (".weights.h5", ".keras")


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def parse_weights_argument(preset, text: str | None):
    """The `--weights` flag: a file or a weights tag ("ntu60_xsub",
    "official"), or for ensemble presets one file per stream, comma-separated
    in stream order ("S.pt,T.pt" -> {"spatial": "S.pt", "temporal": "T.pt"}).
    None stays None.

    Raises:
        ValueError: an ensemble given another number of files.
    """
    from skeleton_zoo.weights.hub import is_tag

    if text is None or not preset.streams or is_tag(text):
        return text
    parts = text.split(",")
    names = list(preset.streams)
    if len(parts) != len(names) or not all(parts):
        expected = ",".join(name.upper() for name in names)
        raise ValueError(f"--weights: ensemble preset '{preset.name}' takes {expected} ({len(names)} files, "
                         f"one per stream), found '{text}'.")
    return dict(zip(names, parts))


def _family(preset):
    from skeleton_zoo import registry

    return registry.get_family(preset.family)


def _rules(preset, model):
    """(rules, ignored-keys predicate) of a single-model preset's family."""
    from skeleton_zoo import registry

    family = _family(preset)
    if family.official_rules is None:
        raise WeightsMismatchError(f"load('{preset.name}'): the {family.title} family declares no official "
                                   f"checkpoint keys; use Keras weights (.weights.h5 / .keras).")
    return registry.resolve(family.official_rules)(model), registry.resolve(family.ignored_official_keys)


def _stream_presets(preset) -> dict:
    from skeleton_zoo import registry

    return {stream: registry.get_preset(name) for stream, name in preset.streams.items()}


def _checked_plans(model, preset, state_dict: Mapping, source: str) -> list:
    """Checks `state_dict` against the model's rules (an ensemble: one state
    dict per stream, all checked); returns what `assign_official` writes."""
    from skeleton_zoo.weights import state_dict as sd

    if not preset.streams:
        rules, ignored = _rules(preset, model)
        sd.check(rules, state_dict, model_name=model.name, source=source, ignored_keys=ignored)
        return [(rules, state_dict, model.name, ignored)]
    names = list(preset.streams)
    if set(state_dict) != set(names):
        raise WeightsMismatchError(
            f"Weights from {source} do not fit ensemble '{model.name}': expected a mapping with exactly the "
            f"keys {' and '.join(repr(n) for n in names)} (one official state dict per stream), found keys "
            f"{sorted(state_dict)[:10]}.")
    plans = []
    for stream, stream_preset in _stream_presets(preset).items():
        rules, ignored = _rules(stream_preset, model.streams[stream])
        label = f"{model.name} ({stream} stream)"
        sd.check(rules, state_dict[stream], model_name=label, source=source, ignored_keys=ignored)
        plans.append((rules, state_dict[stream], label, ignored))
    return plans


def assign_official(model, preset, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Assigns an official state dict (key -> array) through the family's rules.

    For an ensemble preset, `state_dict` maps every stream name to one state
    dict; all are checked before any is assigned.

    Returns:
        The number of state-dict entries used.

    Raises:
        WeightsMismatchError: naming the model, `source` and every missing,
            unexpected or mis-shaped key; nothing is assigned then.
    """
    from skeleton_zoo.weights import state_dict as sd

    return sum(sd.assign(rules, state, model_name=label, source=source, ignored_keys=ignored)
               for rules, state, label, ignored in _checked_plans(model, preset, state_dict, source))


def _read_official(preset, path, model=None) -> dict:
    """The official state dict in `path`; from the checkpoint entry the model
    names in `official_container` when it has one (VideoPose3D's trajectory
    model: `model_traj`)."""
    from skeleton_zoo.weights import checkpoint

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
    if not path.endswith(checkpoint.OFFICIAL_SUFFIXES):
        raise ValueError(
            f"load('{preset.name}'): cannot tell the format of weights file '{path}': expected an "
            f"official PyTorch checkpoint ({', '.join(checkpoint.OFFICIAL_SUFFIXES)}) or Keras "
            f"weights ({', '.join(KERAS_SUFFIXES)})."
        )
    state_dict, _ = checkpoint.load_state_dict(path, getattr(model, "official_container", None))
    return state_dict


def _fitting_presets(preset, state_dict, overrides) -> list[str]:
    """Other presets (or layouts) of the family that accept `state_dict`, as
    `load` calls for the error message. Only run after a mismatch."""
    from skeleton_zoo import registry
    from skeleton_zoo.layouts import list_layouts

    family = _family(preset)
    candidates = [(other, dict(overrides)) for other in map(registry.get_preset, registry.preset_names())
                  if other.family == preset.family and other.name != preset.name
                  and bool(other.streams) == bool(preset.streams)]
    if "layout" in family.overrides:
        candidates += [(preset, dict(overrides, layout=name)) for name in list_layouts()
                       if name != overrides.get("layout")]
    fits = []
    for other, options in candidates:
        try:
            _checked_plans(registry.build(other, options), other, state_dict, "")
        except (WeightsMismatchError, TypeError, ValueError, KeyError):
            continue
        extra = "".join(f", {k}={v!r}" for k, v in options.items() if overrides.get(k) != v)
        fits.append(f"load('{other.name}'{extra}, weights=...)")
    return fits


def _assign_with_hint(model, preset, state_dict, source, overrides) -> None:
    try:
        assign_official(model, preset, state_dict, source)
    except WeightsMismatchError as error:
        fits = _fitting_presets(preset, state_dict, overrides)
        if not fits:
            raise
        raise WeightsMismatchError(f"{error}\nThese weights fit: " + "; ".join(fits)) from None


def _check_keras_file(preset, path) -> None:
    """A `.keras` zip archive or a `.weights.h5` HDF5 file that opens; else an
    error that says so (not "does not fit")."""
    import zipfile

    problem = None
    if path.endswith(".keras"):
        if not zipfile.is_zipfile(path):
            problem = "not a .keras archive (a zip file): corrupt, truncated, or another format"
        else:
            try:
                with zipfile.ZipFile(path) as archive:
                    names = archive.namelist()
                    if archive.testzip() is not None:
                        problem = "a corrupt .keras archive (a member fails its checksum)"
                    elif not any(name.endswith(".weights.h5") or name == "model.weights.npz" for name in names):
                        problem = f"a zip file without Keras weights (it holds {names[:5]})"
            except (zipfile.BadZipFile, OSError) as error:
                problem = f"a corrupt .keras archive ({error})"
    else:
        import h5py

        try:
            with h5py.File(path, "r"):
                pass
        except OSError as error:
            problem = f"not a readable HDF5 .weights.h5 file: corrupt, truncated, or another format ({error})"
    if problem:
        raise ValueError(f"load('{preset.name}'): Keras weights file '{path}' is {problem}.")


def _load_keras_file(model, preset, path) -> None:
    _check_keras_file(preset, path)
    try:
        model.load_weights(path)
    except (ValueError, KeyError, OSError) as error:
        raise WeightsMismatchError(
            f"load('{preset.name}'): Keras weights file '{path}' does not fit this model "
            f"(was it saved from another preset or layout?): {error}"
        ) from None


def load_weights(model, preset, weights, overrides=None) -> None:
    """Fills `model` (built from `preset` with `overrides`) with `weights`;
    see `skeleton_zoo.load` for the accepted forms."""
    overrides = dict(overrides or {})
    if isinstance(weights, Mapping) and weights and preset.streams and all(_is_path(v) for v in weights.values()):
        if set(weights) - set(preset.streams):
            raise ValueError(f"load('{preset.name}'): the model has no stream(s) "
                             f"{sorted(set(weights) - set(preset.streams))}; its streams are "
                             f"{list(preset.streams)}.")
        keras_files = [os.fspath(v).endswith(KERAS_SUFFIXES) for v in weights.values()]
        if any(keras_files):
            if not all(keras_files):
                raise ValueError(f"load('{preset.name}'): stream weights must be all official checkpoints "
                                 f"or all Keras files, found {dict(weights)}.")
            for stream, path in weights.items():
                path = os.fspath(path)
                if not os.path.exists(path):
                    raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
                _load_keras_file(model.streams[stream], preset, path)
            return
        state_dicts = {k: _read_official(preset, v, getattr(model, "streams", {}).get(k)) for k, v in weights.items()}
        source = " and ".join(f"'{os.fspath(v)}' ({k})" for k, v in weights.items())
        _assign_with_hint(model, preset, state_dicts, source, overrides)
        return
    if isinstance(weights, Mapping):
        assign_official(model, preset, weights, "a state-dict mapping")
        return
    if _is_path(weights):
        path = os.fspath(weights)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load('{preset.name}'): weights file '{path}' does not exist.")
        if path.endswith(KERAS_SUFFIXES):
            _load_keras_file(model, preset, path)
            return
        _assign_with_hint(model, preset, _read_official(preset, path, model), f"'{path}'", overrides)
        return
    raise TypeError(
        f"load('{preset.name}'): `weights` must be None, a file path, a mapping of official "
        f"state-dict keys to arrays, or (ensemble presets) a mapping of stream name to file "
        f"path; found {type(weights).__name__}."
    )
