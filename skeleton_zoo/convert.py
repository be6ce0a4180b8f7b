"""Converts official PyTorch checkpoints to Keras weights, without PyTorch.

    python -m skeleton_zoo.convert 27_frame_model.bin --model gast_27 --out gast_27.weights.h5
    python -m skeleton_zoo.convert 27_frame_model_toe.bin --model gast_27 --layout h36m19
    python -m skeleton_zoo.convert S.pt T.pt --model st_tr_2s_joint      # spatial, then temporal

The checkpoint is read with `skeleton_zoo.checkpoint` (no code from the file
runs), loaded into the preset, written to `--out` (`.weights.h5`, or `.keras`
for the whole model) through a temporary file, reloaded and checked against
the converted model. An existing `--out` is kept unless `--overwrite`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

from absl import app, flags

FLAGS = flags.FLAGS


def _define_flags():
    """Defined when the command runs, not on import, so that importing this
    module next to other command lines does not redefine their flags."""
    flags.DEFINE_string("model", None, "Preset the checkpoint belongs to (see `python -m skeleton_zoo list`).")
    flags.DEFINE_string("out", None, "Output file, `.weights.h5` (weights) or `.keras` (whole model). "
                                     "Default: <model>.weights.h5 in the current folder.")
    flags.DEFINE_string("layout", None, "Skeleton layout, when not the preset's (e.g. h36m19 for "
                                        "27_frame_model_toe.bin).")
    flags.DEFINE_multi_string("option", [], "Other preset option as KEY=VALUE (Python literal), e.g. "
                                            "--option num_classes=120 --option channels=16. Repeatable.")
    flags.DEFINE_bool("overwrite", False, "Replace an existing --out file.")
    flags.mark_flag_as_required("model")



def _example_input(model, seed=0):
    import numpy as np

    shape = list(model.input_shape)
    shape[0] = 2
    shape[1] = shape[1] or getattr(model, "receptive_field", None) or 20
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _size(path) -> str:
    return f"{os.path.getsize(path) / 1e6:.1f} MB"


def convert(checkpoints, model_name, out, overrides, overwrite=False, echo=print) -> dict:
    """Converts official checkpoint file(s) of `model_name` into `out`.

    Args:
        checkpoints: one path, or two (spatial, temporal) for two-stream presets.
        model_name: preset name.
        out: `.weights.h5` or `.keras` path.
        overrides: preset options (layout, num_classes, ...).
        overwrite: replace an existing `out`.
        echo: where the summary lines go.

    Returns:
        A summary dict: tensors read, parameters, epoch(s), output path.
    """
    import numpy as np

    import skeleton_zoo
    from skeleton_zoo import checkpoint, registry

    if not out.endswith(registry.KERAS_SUFFIXES):
        raise ValueError(f"--out '{out}': expected a file name ending in "
                         f"{' or '.join(registry.KERAS_SUFFIXES)}.")
    if os.path.exists(out) and not overwrite:
        raise FileExistsError(f"--out '{out}' already exists; pass --overwrite to replace it.")
    preset = registry.get_preset(model_name)
    two_stream = "spatial" in preset.config
    if len(checkpoints) != (2 if two_stream else 1):
        expected = "two files (S-TR, then T-TR)" if two_stream else "one file"
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

    weights = dict(zip(("spatial", "temporal"), checkpoints)) if two_stream else checkpoints[0]
    model = skeleton_zoo.load(model_name, weights=weights, **overrides)
    params = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    described = registry.get_family(preset.family).describe(model)
    extra = ", ".join(f"{k} {v}" for k, v in described.items())
    echo(f"Model       {model_name} ({extra}): {params:,} trainable parameters, "
         f"{len(model.weights)} variables")

    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    suffix = ".keras" if out.endswith(".keras") else ".weights.h5"
    handle, tmp = tempfile.mkstemp(prefix=".convert-", suffix=suffix, dir=folder)
    os.close(handle)
    os.remove(tmp)  # Keras writes the file itself
    try:
        if suffix == ".keras":
            model.save(tmp)
        else:
            model.save_weights(tmp)
        # Check the written file before it takes the name: reload and compare.
        reloaded = skeleton_zoo.load(model_name, weights=tmp, **overrides)
        x = _example_input(model)
        difference = float(np.max(np.abs(np.asarray(model(x, training=False))
                                          - np.asarray(reloaded(x, training=False)))))
        if difference != 0.0:
            raise RuntimeError(f"the written file reproduces the model only to {difference:.3g}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    echo(f"Wrote       {out} ({_size(out)}); reloaded and checked: identical outputs")
    args = "".join(f", {k}={v!r}" for k, v in overrides.items())
    echo(f"Use         skeleton_zoo.load({model_name!r}, weights={out!r}{args})")
    return {"tensors_read": tensors, "parameters": params, "out": out}


def main(argv):
    checkpoints = argv[1:]
    if not checkpoints:
        raise app.UsageError("expected the checkpoint file(s) to convert. Example: "
                             "python -m skeleton_zoo.convert 27_frame_model.bin --model gast_27")
    from skeleton_zoo.registry import parse_overrides

    try:
        overrides = parse_overrides(FLAGS.option)
    except ValueError as error:
        raise app.UsageError(str(error))
    if FLAGS.layout:
        overrides["layout"] = FLAGS.layout
    out = FLAGS.out or f"{FLAGS.model}.weights.h5"
    from skeleton_zoo import checkpoint
    from skeleton_zoo.state_dict import WeightsMismatchError

    try:
        convert(checkpoints, FLAGS.model, out, overrides, overwrite=FLAGS.overwrite)
    except (checkpoint.CheckpointError, WeightsMismatchError, FileNotFoundError, FileExistsError,
            ValueError, TypeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run():
    _define_flags()
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
