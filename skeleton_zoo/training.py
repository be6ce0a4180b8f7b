"""The papers' training recipes on `model.fit` and `tf.distribute`.

`train(TrainConfig(...))` is what `python -m skeleton_zoo.train` runs:

- GAST-Net (Liu et al.; VideoPose3D's procedure): MPJPE on root-relative 3D,
  Adam (amsgrad), lr 1e-3 x0.95 per epoch, batch 128, dropout 0.05, every
  frame of every (downsampled) sequence as one receptive-field window, each
  window also mirrored. The strided single-frame network trains; the dilated
  sequence network (same weights) evaluates.
- ST-TR (Plizzari et al.): cross-entropy, SGD momentum 0.9 Nesterov with
  PyTorch-style (coupled) weight decay 1e-4, lr 0.1 x0.1 at 50% and 75% of
  the epochs (60 and 90 of 120), batch 32, 300-frame clips.

A run directory holds `backup/` (resume state), `best.weights.h5`,
`last.weights.h5`, `logs/` (TensorBoard), `history.csv` / `history.json` and
`metrics.json`. Re-running the same command resumes after the last finished
epoch with the same history.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from skeleton_zoo import registry

__all__ = ["Recipe", "RECIPES", "TrainConfig", "SGDWithL2", "make_strategy", "train", "NaNLossError"]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A family's published training procedure (command-line defaults)."""

    epochs: int
    batch_size: int
    learning_rate: float
    default_dataset: str
    monitor: str  # validation quantity that picks the best checkpoint
    monitor_mode: str


RECIPES = {
    "gast": Recipe(epochs=80, batch_size=128, learning_rate=1e-3, default_dataset="human36m/cpn_ft_h36m_dbb",
                   monitor="val_loss", monitor_mode="min"),
    "sttr": Recipe(epochs=120, batch_size=32, learning_rate=0.1, default_dataset="ntu_rgbd/xsub60",
                   monitor="val_top1", monitor_mode="max"),
}
GAST_DROPOUT = 0.05
GAST_LR_DECAY = 0.95
STTR_MOMENTUM = 0.9
STTR_WEIGHT_DECAY = 1e-4
STTR_LR_DROPS = (0.5, 0.75)  # fractions of the epochs: 60 and 90 of 120


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SGDWithL2(keras.optimizers.SGD):
    """SGD with PyTorch's `weight_decay`: `l2 * variable` is added to the
    (already all-reduced) gradient before momentum, as `torch.optim.SGD`
    does, unlike Keras' decoupled `weight_decay`.

    Args:
        l2: float, the decay factor (ST-TR: 1e-4). Other arguments as `SGD`.
    """

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = gradient + keras.ops.cast(self.l2, variable.dtype) * variable
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


class NaNLossError(RuntimeError):
    """Training stopped because the loss became NaN or infinite."""


@dataclasses.dataclass
class TrainConfig:
    """Everything `train` needs; `python -m skeleton_zoo.train` fills it from flags.

    Attributes:
        model: preset name. dataset: TFDS name. out: run directory.
        epochs, batch_size (global), learning_rate: None = the recipe's.
        strategy: "auto" | "default" | "mirrored" | "multi_worker".
        downsample, lr_decay, flip, actions: GAST-Net only (actions: prefixes
            to keep, e.g. ("Walk", "Jog", "Box") for HumanEva-I).
        options: preset overrides (e.g. {"channels": 16}).
        steps_per_epoch: cap on training steps per epoch (None: the whole split).
        evaluate: run the final evaluation and write metrics.json.
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
    lr_decay: float = GAST_LR_DECAY
    flip: bool = True
    actions: tuple | None = None
    options: dict = dataclasses.field(default_factory=dict)
    weights: str | None = None
    steps_per_epoch: int | None = None
    evaluate: bool = True
    callbacks: list = dataclasses.field(default_factory=list)
    verbose: int | None = None


def make_strategy(name: str) -> tf.distribute.Strategy:
    """"auto": MirroredStrategy over all GPUs when more than one is visible,
    else the default strategy; "multi_worker" reads the cluster from TF_CONFIG."""
    if name == "multi_worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError("--strategy multi_worker needs the TF_CONFIG environment variable "
                             "(cluster and task); see the README's multi-machine section.")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(tf.config.list_logical_devices("GPU")) > 1 \
            else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    raise ValueError(f"--strategy: expected auto, default, mirrored or multi_worker, found '{name}'.")


def _is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def synchronize_batch_norm(model) -> int:
    """Makes every BatchNormalization use global-batch statistics across
    replicas, so N replicas take the step one device takes on the global batch."""
    count = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True
            count += 1
    return count


class _RunHistory(keras.callbacks.Callback):
    """Keeps the history of every epoch across resumed runs (`history.json`,
    `history.csv`), written atomically before the resume state is saved, so
    an epoch is never missing and never listed twice."""

    def __init__(self, folder, write: bool, batch_size: int):
        super().__init__()
        self.folder, self.write, self.batch_size = folder, write, batch_size
        self.path = os.path.join(folder, "history.json")
        self.epochs = self.load(self.path)

    @staticmethod
    def load(path) -> list:
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return json.load(f)

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._steps = time.perf_counter(), 0
        self._learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    def on_train_batch_end(self, batch, logs=None):
        self._steps += 1
        self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        training_seconds = getattr(self, "_train_end", self._start) - self._start  # without validation
        row = {"epoch": epoch + 1, **{k: float(np.asarray(v).reshape(-1)[0]) for k, v in (logs or {}).items()},
               "learning_rate": self._learning_rate,
               "seconds": seconds,
               "samples_per_second": self._steps * self.batch_size / max(training_seconds, 1e-9)}
        self.epochs = [e for e in self.epochs if e["epoch"] < epoch + 1] + [row]
        if self.write:
            _write_atomic(self.path, json.dumps(self.epochs, indent=1))
            keys = list(dict.fromkeys(k for e in self.epochs for k in e))
            with _atomic(os.path.join(self.folder, "history.csv")) as f:
                writer = csv.DictWriter(f, fieldnames=keys)
                writer.writeheader()
                writer.writerows(self.epochs)


class _StopOnNaN(keras.callbacks.TerminateOnNaN):
    """`TerminateOnNaN` that raises at once (so no checkpoint or resume state
    of the broken epoch is written) and remembers where it happened."""

    def __init__(self):
        super().__init__(raise_error=True)
        self.where = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None:
            loss = float(np.asarray(loss).reshape(-1)[0])
            if not math.isfinite(loss):
                self.where = (self._epoch + 1, batch + 1, loss)
                super().on_batch_end(batch, {"loss": loss})


class _atomic:
    """`with _atomic(path) as f:` writes `path` through a temporary file."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        handle, self.tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        self.file = os.fdopen(handle, "w", newline="")
        return self.file

    def __exit__(self, kind, value, traceback):
        self.file.close()
        if kind is None:
            os.chmod(self.tmp, 0o644)  # mkstemp makes it private
            os.replace(self.tmp, self.path)
        else:
            os.remove(self.tmp)


def _write_atomic(path, text):
    with _atomic(path) as f:
        f.write(text)


def _multi_worker_workarounds(model, dataset) -> None:
    """Works around keras-team/keras#20585 (Keras 3 `fit` under
    MultiWorkerMirroredStrategy): `fit` reduces a distributed batch with
    `strategy.reduce`, which fails eagerly (Keras only needs its shapes: give
    it a local batch), and reduces the step's scalar logs with `axis=0`
    (give it shape-(1,) logs, whose mean over replicas is the same number)."""
    batch = next(iter(dataset))
    build = model._maybe_symbolic_build
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: build(data_batch=batch)
    for name in ("train_step", "test_step"):
        step = getattr(model, name)
        setattr(model, name, lambda data, step=step: {
            k: tf.reshape(v, [1]) for k, v in step(data).items()})


def _builder_layout_and_classes(builder):
    metadata = builder.info.metadata or {}
    features = builder.info.features
    label = features["label"] if "label" in features.keys() else None
    return metadata.get("layout_3d"), getattr(label, "num_classes", None)


def build_training_model(config: TrainConfig, preset: registry.Preset, builder):
    """The preset as it trains on `builder`'s dataset (layout / classes from the data)."""
    layout, num_classes = _builder_layout_and_classes(builder)
    options = dict(config.options)
    if preset.family == "gast":
        options.setdefault("dropout", GAST_DROPOUT)
        if layout:
            options.setdefault("layout", layout)
        return registry.load(preset.name, weights=config.weights, variant="single_frame", **options)
    if "spatial" in preset.config:
        raise ValueError(
            f"--model {preset.name}: the two streams are trained separately, as in the paper. Train "
            f"st_tr_spatial_* and st_tr_temporal_*, then evaluate {preset.name} with "
            f"--weights SPATIAL,TEMPORAL.")
    if num_classes:
        options.setdefault("num_classes", num_classes)
    return registry.load(preset.name, weights=config.weights, **options)


def train(config: TrainConfig, strategy=None) -> dict:
    """Trains `config.model` on `config.dataset`; returns the history and metrics.

    Raises:
        NaNLossError: the loss became NaN (the last good checkpoints are kept).
        ValueError: for a bad combination of options.
    """
    from skeleton_zoo import pipelines

    preset = registry.get_preset(config.model)
    recipe = RECIPES[preset.family]
    config.dataset = config.dataset or recipe.default_dataset
    epochs = config.epochs or recipe.epochs
    batch_size = config.batch_size or recipe.batch_size
    learning_rate = config.learning_rate or recipe.learning_rate
    strategy = strategy or make_strategy(config.strategy)
    chief = _is_chief(strategy)
    keras.utils.set_random_seed(config.seed)
    os.makedirs(config.out, exist_ok=True)
    # Non-chief workers of a multi-worker run write their copies elsewhere.
    own = config.out if chief else tempfile.mkdtemp(prefix="worker-", dir=config.out)

    builder = pipelines.dataset_info(config.dataset, config.data_dir, config.manual_dir)
    with strategy.scope():
        model = build_training_model(config, preset, builder)
        if strategy.num_replicas_in_sync > 1:
            synchronize_batch_norm(model)
    if preset.family == "gast":
        test_split = "test" if "test" in builder.info.splits else "validation"
        train_seq, test_seq = (
            pipelines.load_pose_sequences(config.dataset, split, downsample=config.downsample, builder=builder,
                                          actions=config.actions)
            for split in ("train", test_split))
        rf, causal = model.receptive_field, model.causal
        train_ds = pipelines.pose_windows(train_seq, rf, causal, batch_size, shuffle=True,
                                          flip=config.flip, seed=config.seed)
        val_ds = pipelines.pose_windows(test_seq, rf, causal, batch_size, shuffle=False, flip=False)
        num_train = train_seq.num_frames * (2 if config.flip else 1)
    else:
        bones = model.in_channels == 6
        train_ds = pipelines.load_action_clips(config.dataset, "train", bones, batch_size, seed=config.seed,
                                               builder=builder)
        val_ds = pipelines.load_action_clips(config.dataset, "test", bones, batch_size, shuffle=False,
                                             builder=builder)
        num_train = builder.info.splits["train"].num_examples
    steps = math.ceil(num_train / batch_size)
    if config.steps_per_epoch:
        steps = min(steps, config.steps_per_epoch)
        train_ds = train_ds.repeat()

    with strategy.scope():
        if preset.family == "gast":
            from skeleton_zoo.metrics import MPJPELoss

            schedule = keras.optimizers.schedules.ExponentialDecay(
                learning_rate, decay_steps=steps, decay_rate=config.lr_decay, staircase=True)
            optimizer = keras.optimizers.Adam(schedule, amsgrad=True, epsilon=1e-8)
            model.compile(optimizer=optimizer, loss=MPJPELoss())
        else:
            # The first step of epoch 61 (of 120) runs at lr / 10; the schedule switches after a boundary.
            boundaries = [int(round(f * epochs)) * steps - 1 for f in STTR_LR_DROPS]
            schedule = keras.optimizers.schedules.PiecewiseConstantDecay(
                boundaries, [learning_rate, learning_rate * 0.1, learning_rate * 0.01])
            optimizer = SGDWithL2(learning_rate=schedule, momentum=STTR_MOMENTUM, nesterov=True,
                                  l2=STTR_WEIGHT_DECAY)
            model.compile(optimizer=optimizer,
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=[keras.metrics.SparseCategoricalAccuracy(name="top1"),
                                   keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5")])

    history = _RunHistory(config.out, chief, batch_size)
    best_so_far = [e[recipe.monitor] for e in history.epochs if recipe.monitor in e]
    best_value = (min if recipe.monitor_mode == "min" else max)(best_so_far) if best_so_far else None
    nan_guard = _StopOnNaN()
    callbacks = [
        nan_guard,
        history,  # before the resume state, so a killed epoch is redone, never lost
        keras.callbacks.BackupAndRestore(os.path.join(own, "backup")),
        keras.callbacks.ModelCheckpoint(os.path.join(own, "best.weights.h5"), monitor=recipe.monitor,
                                        mode=recipe.monitor_mode, save_best_only=True, save_weights_only=True,
                                        initial_value_threshold=best_value),
        keras.callbacks.ModelCheckpoint(os.path.join(own, "last.weights.h5"), save_weights_only=True),
        keras.callbacks.TensorBoard(os.path.join(own, "logs")),
        *config.callbacks,
    ]
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        _multi_worker_workarounds(model, train_ds)
    verbose = config.verbose if config.verbose is not None else (1 if sys.stdout.isatty() else 2)
    try:
        model.fit(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps,
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
              "batch_size": batch_size, "history": history.epochs}
    if config.evaluate and chief:
        from skeleton_zoo import evaluation

        best = os.path.join(config.out, "best.weights.h5")
        model.load_weights(best if os.path.exists(best) else os.path.join(config.out, "last.weights.h5"))
        if preset.family == "gast":
            metrics = evaluation.evaluate_pose_model(model, test_seq, out=config.out)
        else:
            metrics = evaluation.evaluate_action_models({config.model: model}, val_ds, builder, out=config.out)
        result["metrics"] = metrics
        _write_atomic(os.path.join(config.out, "metrics.json"), json.dumps(result["metrics"], indent=1))
    if not chief:
        shutil.rmtree(own, ignore_errors=True)
    return result
