"""Official PyTorch checkpoint(s) -> a Keras weights file, checked.

    convert_checkpoints(["27_frame_model.bin"], "gast_27", "gast_27.weights.h5", {})

The checkpoint is read with `skeleton_zoo.weights.checkpoint` (no code from
the file runs), loaded into the preset, written to `out` (`.weights.h5`, or
`.keras` for the whole model) through a temporary file, reloaded and checked
against the converted model before it takes its name. An existing `out` is
kept unless `overwrite`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from skeleton_zoo.weights import KERAS_SUFFIXES

__all__ = ["convert_checkpoints"]


def _example_input(model, seed=0):
    shape = list(model.input_shape)
    shape[0] = 2
    shape[1] = shape[1] or getattr(model, "receptive_field", None) or 20
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _size(path) -> str:
    return f"{os.path.getsize(path) / 1e6:.1f} MB"


def convert_checkpoints(checkpoints, model_name, out, overrides, overwrite=False, echo=print, tag=None) -> dict:
    """Converts official checkpoint file(s) of `model_name` into `out`.

    Args:
        checkpoints: one path, or one per stream (in stream order) for ensemble
            presets; empty with `tag`.
        tag: a weights tag of the preset (or "official"): its files are
            fetched through the catalogue (`skeleton_zoo.weights.hub`) and its
            options applied.
        model_name: preset name.
        out: `.weights.h5` or `.keras` path.
        overrides: preset options (layout, num_classes, ...).
        overwrite: replace an existing `out`.
        echo: where the summary lines go.

    Returns:
        A summary dict: tensors read, parameters, output path.

    Raises:
        ValueError: a bad output name or number of files. FileExistsError:
            `out` exists without `overwrite`. CheckpointError,
            WeightsMismatchError: an unreadable or mismatched checkpoint.
    """
    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.utils.files import atomic_path
    from skeleton_zoo.weights import checkpoint

    if not out.endswith(KERAS_SUFFIXES):
        raise ValueError(f"--out '{out}': expected a file name ending in {' or '.join(KERAS_SUFFIXES)}.")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"--out '{out}' already exists; pass --overwrite to replace it.")
    preset = registry.get_preset(model_name)
    streams = list(preset.streams)
    if tag is not None:
        from skeleton_zoo.weights import hub

        if checkpoints:
            raise ValueError(f"--weights {tag}: give the checkpoint files or a weights tag, not both ({checkpoints}).")
        tag, entries = hub.resolve_tag(preset, tag)
        overrides = hub.tag_options(preset, tag, entries, overrides)
        checkpoints = [str(path) for _, path, _ in hub.fetch_tag(preset, entries)]
    if len(checkpoints) != (len(streams) or 1):
        expected = (f"{len(streams)} files, one per stream ({', '.join(streams)}, in that order)" if streams
                    else "one file")
        raise ValueError(f"'{model_name}' takes {expected}, found {len(checkpoints)}: {checkpoints}.")

    tensors = 0
    for path in checkpoints:
        start = time.perf_counter()
        _, info = checkpoint.load_state_dict(path)
        tensors += info.num_tensors
        kind = ("training checkpoint, weights under '" + info.container + "'"
                if info.container != "state_dict (bare)" else "bare state dict")
        epoch = f", epoch {info.epoch}" if info.epoch is not None else ""
        ignored = f"; ignored: {', '.join(info.ignored)}" if info.ignored else ""
        prefix = f"; '{info.stripped_prefix}' prefix removed" if info.stripped_prefix else ""
        echo(f"Checkpoint  {path}: {info.format} format, {_size(path)}, read in "
             f"{time.perf_counter() - start:.2f} s")
        echo(f"            {kind}{epoch}{ignored}{prefix}; {info.num_tensors} tensors")

    weights = dict(zip(streams, checkpoints)) if streams else checkpoints[0]
    model = registry.load(model_name, weights=weights, **overrides)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    described = get_task(preset.task).describe(model)
    extra = ", ".join(f"{k} {v}" for k, v in described.items())
    echo(f"Model       {model_name} ({extra}): {params:,} trainable parameters, "
         f"{len(model.weights)} variables")

    with atomic_path(out) as tmp:
        if out.endswith(".keras"):
            model.save(tmp)
        else:
            model.save_weights(tmp)
        # Check the written file before it takes the name: reload and compare.
        reloaded = registry.load(model_name, weights=str(tmp), **overrides)
        x = _example_input(model)
        difference = float(np.max(np.abs(np.asarray(model(x, training=False))
                                          - np.asarray(reloaded(x, training=False)))))
        if difference != 0.0:
            raise RuntimeError(f"the written file reproduces the model only to {difference:.3g}")
    echo(f"Wrote       {out} ({_size(out)}); reloaded and checked: identical outputs")
    args = "".join(f", {k}={v!r}" for k, v in overrides.items())
    echo(f"Use         skeleton_zoo.load({model_name!r}, weights={out!r}{args})")
    if tag is not None:
        echo(f"            or skeleton_zoo.load({model_name!r}, weights={tag!r}) (cached)")
    return {"tensors_read": tensors, "parameters": params, "out": out}
