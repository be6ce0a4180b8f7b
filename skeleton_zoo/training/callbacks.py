"""Training callbacks: the run's epoch history across resumed runs, a NaN
guard that stops before a broken epoch is saved, and VideoPose3D's BatchNorm
momentum decay."""

from __future__ import annotations

import csv
import json
import math
import os
import time

import keras
import numpy as np

from skeleton_zoo.utils.files import atomic_write, write_text

__all__ = ["RunHistory", "StopOnNaN", "BatchNormMomentumDecay"]


class RunHistory(keras.callbacks.Callback):
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
            write_text(self.path, json.dumps(self.epochs, indent=1))
            keys = list(dict.fromkeys(k for e in self.epochs for k in e))
            with atomic_write(os.path.join(self.folder, "history.csv"), newline="") as f:
                writer = csv.DictWriter(f, fieldnames=keys)
                writer.writeheader()
                writer.writerows(self.epochs)


class StopOnNaN(keras.callbacks.TerminateOnNaN):
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


class BatchNormMomentumDecay(keras.callbacks.Callback):
    """VideoPose3D's BatchNorm momentum schedule (run.py): epoch e (from 0) runs
    with torch momentum m_e = initial * exp(-e / epochs * ln(initial / final)),
    i.e. Keras momentum 1 - m_e, for every BatchNormalization of the model.

    Keras bakes a layer's momentum into the compiled train step, so the step
    is rebuilt when the momentum changes (once per epoch).

    Args:
        initial, final: torch momenta of the first epoch and the limit (0.1, 0.001).
        epochs: the run's total epochs.
    """

    def __init__(self, initial: float, final: float, epochs: int):
        super().__init__()
        self.initial, self.final, self.epochs = float(initial), float(final), int(epochs)

    def momentum(self, epoch: int) -> float:
        """The torch momentum of epoch `epoch` (0-based)."""
        return self.initial * math.exp(-epoch / self.epochs * math.log(self.initial / self.final))

    def on_epoch_begin(self, epoch, logs=None):
        value = 1.0 - self.momentum(epoch)
        layers = [layer for layer in self.model._flatten_layers(include_self=False, recursive=True)
                  if isinstance(layer, keras.layers.BatchNormalization)]
        if layers and any(layer.momentum != value for layer in layers):
            for layer in layers:
                layer.momentum = value
            if epoch > 0 or getattr(self.model, "train_function", None) is not None:
                self.model.make_train_function(force=True)
