"""The papers' training recipes on `model.fit` and `tf.distribute`.

`train(TrainConfig(...))` is what `python -m skeleton_zoo train` runs. The
preset's family declares its recipe (`skeleton_zoo.registry.Recipe`: epochs,
batch, optimizer, schedule); its task supplies the data, the loss and
metrics, the checkpoint monitor and the final evaluation
(`skeleton_zoo.tasks`):

- pose lifting (GAST-Net, as VideoPose3D): MPJPE on root-relative 3D, every
  frame of every (downsampled) sequence as one receptive-field window, each
  window also mirrored. A family's strided single-frame variant trains; the
  dilated sequence variant (same weights) evaluates.
- action recognition: cross-entropy on the model's official clips (ST-TR:
  300 frames, padded; PYSKL: one random 100-frame clip per video).

A run directory holds `backup/` (resume state), `best.weights.h5`,
`last.weights.h5`, `logs/` (TensorBoard), `history.csv` / `history.json`,
`metrics.json` and `run.json` (`skeleton_zoo.training.run_directory`).
Re-running the same command resumes after the last finished epoch with the
same history; a finished run is left as it is, or continued to a larger
`epochs`; `overwrite` starts again.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile

import keras
import tensorflow as tf

from skeleton_zoo import registry
from skeleton_zoo.training import distribute, precision, recipes, run_directory
from skeleton_zoo.training.callbacks import BatchNormMomentumDecay, RunHistory, StopOnNaN
from skeleton_zoo.utils.files import make_folder, write_text

__all__ = ["TrainConfig", "train", "build_training_model", "NaNLossError"]


class NaNLossError(RuntimeError):
    """Training stopped because the loss became NaN or infinite."""


@dataclasses.dataclass
class TrainConfig:
    """Everything `train` needs; `python -m skeleton_zoo train` fills it from flags.

    Attributes:
        model: preset name. dataset: TFDS name (None: the recipe's). out: run directory.
        epochs, batch_size (global), learning_rate, lr_decay: None = the recipe's.
        strategy: "auto" | "default" | "mirrored" | "multi_worker".
        downsample, flip, actions: pose lifting only (actions: prefixes to
            keep, e.g. ("Walk", "Jog", "Box") for HumanEva-I).
        options: preset overrides (e.g. {"channels": 16}).
        weights: initial weights (official checkpoint or Keras file), to fine-tune.
        precision: "float32", "mixed_bfloat16" or "mixed_float16"
            (`skeleton_zoo.training.precision`).
        steps_per_epoch: cap on training steps per epoch (None: the whole split).
        evaluate: run the final evaluation and write metrics.json.
        overwrite: remove an existing run in `out` and train again.
        callbacks: extra Keras callbacks, run after the built-in ones.
        verbose: Keras verbosity; None = progress bar on a TTY, one line per epoch otherwise.
    """

    model: str
    dataset: str | None = None
    out: str = "runs/run"
    data_dir: str | None = None
    manual_dir: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    strategy: str = "auto"
    seed: int = 0
    downsample: int = 5
    lr_decay: float | None = None
    flip: bool = True
    actions: tuple | None = None
    options: dict = dataclasses.field(default_factory=dict)
    weights: str | None = None
    precision: str = "float32"
    steps_per_epoch: int | None = None
    evaluate: bool = True
    overwrite: bool = False
    callbacks: list = dataclasses.field(default_factory=list)
    verbose: int | None = None


def _check_config(config: TrainConfig) -> None:
    """Every count is positive and every rate sensible; None means the recipe's."""
    for flag, value in (("--epochs", config.epochs), ("--batch_size", config.batch_size),
                        ("--steps_per_epoch", config.steps_per_epoch), ("--downsample", config.downsample)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{flag}: expected a positive integer, found {value!r} (leave the flag out for the "
                             f"recipe's value).")
    if config.learning_rate is not None and not 0 < config.learning_rate < float("inf"):
        raise ValueError(f"--learning_rate: expected a positive number, found {config.learning_rate!r}.")
    if config.lr_decay is not None and not 0 < config.lr_decay <= 1:
        raise ValueError(f"--lr_decay: expected a factor in (0, 1], found {config.lr_decay!r}.")


def _trainable_preset(name: str):
    preset = registry.get_preset(name)
    if preset.streams:
        # PYSKL's four streams are one preset with `--option stream=...` each.
        options = {s: "".join(f" --option {k}={v}" for k, v in dict(preset.stream_options.get(s, {})).items())
                   for s in preset.streams}
        streams = ", ".join(name + options[s] for s, name in preset.streams.items())
        files = ",".join(stream.upper() for stream in preset.streams)
        raise ValueError(f"--model {preset.name}: an ensemble's {len(preset.streams)} streams are trained "
                         f"separately, as in the paper. Train {streams}, then evaluate {preset.name} with "
                         f"--weights {files}.")
    return preset


def build_training_model(config: TrainConfig, preset: registry.Preset, builder):
    """The preset as it trains on `builder`'s dataset (layout / classes from the data)."""
    from skeleton_zoo.tasks import get_task

    return get_task(preset.task).build(preset, config.weights, config.options, builder, training=True)


def train(config: TrainConfig, strategy=None) -> dict:
    """Trains `config.model` on `config.dataset`; returns the history and metrics.

    Returns:
        {"model", "dataset", "epochs", "batch_size", "history", "status"
        ("trained", or "complete" for a finished run left untouched, with a
        "message"), "metrics" (when evaluated)}.

    Raises:
        NaNLossError: the loss became NaN (the last good checkpoints are kept).
        ValueError: a bad count or rate, an unknown dataset, a dataset of
            another task, or an `out` holding another run.
    """
    from skeleton_zoo.tasks import get_task

    _check_config(config)
    # A mixed run is built with the policy as a preset option, so its folder records it.
    config.options = precision.model_options(config.options, config.precision)
    preset = _trainable_preset(config.model)
    task = get_task(preset.task)
    recipe = task.recipe(preset)
    config.dataset = config.dataset or recipe.default_dataset
    epochs = recipe.epochs if config.epochs is None else config.epochs
    batch_size = recipe.batch_size if config.batch_size is None else config.batch_size
    learning_rate = recipe.learning_rate if config.learning_rate is None else config.learning_rate
    identity = json.loads(json.dumps({"model": config.model, "dataset": config.dataset, "options": config.options},
                                     default=repr))
    state = run_directory.inspect(config.out, identity, epochs, overwrite=config.overwrite)
    if state.status == "complete":
        return _finished_run(config, epochs, batch_size, state)
    created = not os.path.exists(config.out)
    try:
        return _train(config, strategy, preset, task, recipe, epochs, batch_size, learning_rate, identity)
    except BaseException:
        # A run that failed before its first epoch leaves no folder behind.
        if created and os.path.isdir(config.out) and not os.path.exists(os.path.join(config.out, "history.json")):
            shutil.rmtree(config.out, ignore_errors=True)
        raise


def _finished_run(config, epochs, batch_size, state) -> dict:
    """The result of a run that is complete already, read from its folder."""
    result = {"model": config.model, "dataset": config.dataset, "epochs": epochs, "batch_size": batch_size,
              "history": RunHistory.load(os.path.join(config.out, "history.json")), "status": "complete",
              "message": (f"The run in '{config.out}' is complete ({state.completed_epochs} epochs): nothing to do. "
                          f"Pass --epochs above {state.completed_epochs} to continue it, or --overwrite to train "
                          f"again.")}
    metrics = os.path.join(config.out, "metrics.json")
    if os.path.exists(metrics):
        with open(metrics, encoding="utf-8") as f:
            result["metrics"] = json.load(f)
    return result


def _train(config, strategy, preset, task, recipe, epochs, batch_size, learning_rate, identity) -> dict:
    from skeleton_zoo.datasets.common import dataset_info

    # The strategy first: MultiWorkerMirroredStrategy must exist before other TF work.
    strategy = strategy or distribute.make_strategy(config.strategy)
    builder = dataset_info(config.dataset, config.data_dir, config.manual_dir)
    task.check_dataset(builder, config.dataset)
    chief = distribute.is_chief(strategy)
    keras.utils.set_random_seed(config.seed)
    make_folder(config.out, "--out")
    # Non-chief workers of a multi-worker run write their copies elsewhere.
    own = config.out if chief else tempfile.mkdtemp(prefix="worker-", dir=config.out)

    with strategy.scope():
        model = build_training_model(config, preset, builder)
        if strategy.num_replicas_in_sync > 1:
            distribute.synchronize_batch_norm(model)
    data = task.training_data(model, config, builder, batch_size)
    train_ds = data.train
    steps = math.ceil(data.num_train / batch_size)
    if config.steps_per_epoch:
        steps = min(steps, config.steps_per_epoch)
        train_ds = train_ds.repeat()

    with strategy.scope():
        schedule = recipes.make_schedule(recipe, learning_rate, steps, epochs, lr_decay=config.lr_decay)
        optimizer = precision.wrap_optimizer(recipes.make_optimizer(recipe, schedule), config.precision)
        task.compile(model, optimizer, recipe)
        # Eagerly: created inside the traced first step, each slot variable costs a graph lift (seconds in all).
        model.optimizer.build(model.trainable_variables)
    if chief:
        run_directory.claim(config.out, identity)

    history = RunHistory(config.out, chief, batch_size)
    best_so_far = [e[task.monitor] for e in history.epochs if task.monitor in e]
    best_value = (min if task.monitor_mode == "min" else max)(best_so_far) if best_so_far else None
    nan_guard = StopOnNaN()
    callbacks = [
        nan_guard,
        history,  # before the resume state, so a killed epoch is redone, never lost
        # The resume state outlives the run, so a later, larger --epochs continues it exactly.
        keras.callbacks.BackupAndRestore(os.path.join(own, "backup"), delete_checkpoint=False),
        keras.callbacks.ModelCheckpoint(os.path.join(own, "best.weights.h5"), monitor=task.monitor,
                                        mode=task.monitor_mode, save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_value),
        keras.callbacks.ModelCheckpoint(os.path.join(own, "last.weights.h5"), save_weights_only=True),
        keras.callbacks.TensorBoard(os.path.join(own, "logs")),
        *([BatchNormMomentumDecay(*recipe.bn_momentum_decay, epochs)] if recipe.bn_momentum_decay else []),
        *config.callbacks,
    ]
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        distribute.multi_worker_workarounds(model, train_ds)
    verbose = config.verbose if config.verbose is not None else (1 if sys.stdout.isatty() else 2)
    try:
        model.fit(train_ds, validation_data=data.validation, epochs=epochs, steps_per_epoch=steps,
                  callbacks=callbacks, verbose=verbose)
    except RuntimeError:
        if nan_guard.where is None:
            raise
        epoch, batch, loss = nan_guard.where
        kept = (f"The checkpoints and resume state of epoch {epoch - 1} are kept in '{config.out}'"
                if epoch > 1 else "No epoch had finished, so no checkpoint was written")
        raise NaNLossError(
            f"Training stopped: the loss became {loss} at epoch {epoch}, batch {batch}. {kept}. Try a "
            f"lower --learning_rate (now {learning_rate}) or check the input data.") from None

    result = {"model": config.model, "dataset": config.dataset, "epochs": epochs,
              "batch_size": batch_size, "history": history.epochs, "status": "trained"}
    if config.evaluate and chief:
        best = os.path.join(config.out, "best.weights.h5")
        model.load_weights(best if os.path.exists(best) else os.path.join(config.out, "last.weights.h5"))
        result["metrics"] = task.evaluate_trained(model, data, builder, config.out)
        write_text(os.path.join(config.out, "metrics.json"), json.dumps(result["metrics"], indent=1))
    if not chief:
        shutil.rmtree(own, ignore_errors=True)
    return result
