"""Action inference that runs the backbone only on the persons present.

NTU clips of one person are zero-padded to the models' two person slots
(`formats.ntu`, PYSKL's `FormatGCNInput`), and every action model runs the
zero person through its whole backbone: its features are not zero (biases,
BatchNorm shifts, the slot's data-BN statistics) and enter the mean over
persons. `EmptyPersonSkipper` computes that contribution once per slot and
clip length and reuses it, so a one-person clip costs one person's backbone.

    skipper = EmptyPersonSkipper(model)      # STTR, GCNRecognizer, MotionBERTAction, or an Ensemble of them
    logits = skipper(clips)                  # (B, T, V, M, C) numpy -> (B, num_classes) numpy

Exactness: in inference (`training=False`) every layer between the fold of
the persons into the batch and the pooling works on each person row alone
(BatchNorm with its moving statistics, convolutions and attention within
the row, dropout the identity), so a row's features depend only on its own
prepared input. The prepared input of an empty person (all coordinates
exactly zero over the whole clip) depends only on its slot m (per-slot data
BN: the (V, M, C) statistics of ST-TR and PYSKL's "MVC") and the clip
length T; its features are therefore a function of (weights, m, T), cached
here. The logits equal the plain model's up to float rounding: the person
mean is taken after the frame mean instead of with it, and the backbone runs
on a different number of rows.

The cache belongs to the weights: make the skipper after loading them, or
call `clear_cache()` after changing them (e.g. `fold_batch_norms`).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["AUTO_COMPILE_AFTER", "EmptyPersonSkipper", "empty_persons", "scorer", "supports"]

AUTO_COMPILE_AFTER = 3  # eager steps before `compile="auto"` traces the step


def supports(model) -> bool:
    """Whether `EmptyPersonSkipper` takes `model`: an action model with
    `person_stages()` (`STTR`, `GCNRecognizer`, `MotionBERTAction`) or an
    ensemble (`stream_stages()`) of such streams."""
    if callable(getattr(model, "stream_stages", None)) and hasattr(model, "streams"):
        return all(supports(stream) for stream in model.streams.values())
    return callable(getattr(model, "person_stages", None))


def empty_persons(skeleton) -> np.ndarray:
    """(B, T, V, M, C) clips -> (B, M) bool: the person slots whose values
    are all exactly zero over the whole clip (the padding)."""
    skeleton = np.asarray(skeleton)
    return ~np.any(skeleton != 0, axis=(1, 2, 4))


def scorer(model, skip_empty_persons: bool = True):
    """`model` as `clips (B, T, V, M, C) -> (B, num_classes) scores`: an
    `EmptyPersonSkipper` of it when `skip_empty_persons` and the model
    supports one (`supports`), else the model itself. An
    `EmptyPersonSkipper` comes back as it is (or, with
    `skip_empty_persons=False`, its model). Make it once and reuse it: the
    skipper caches the empty person's features and traces its step once."""
    if isinstance(model, EmptyPersonSkipper):
        return model if skip_empty_persons else model.model
    return EmptyPersonSkipper(model) if skip_empty_persons and supports(model) else model


class EmptyPersonSkipper:
    """A classifier's inference that runs its backbone only on non-empty
    persons and reuses the empty person's features (see the module docstring
    for why this is exact).

    Args:
        model: an action model with `person_stages()` (`STTR`,
            `GCNRecognizer`, `MotionBERTAction`), or an `Ensemble` whose
            streams all have it (each stream is skipped on its own input).
        compile: True, False or "auto". On TensorFlow, True traces the step
            once as a `tf.function` with dynamic batch, frame and row counts
            (no retracing; ~20% faster per batch at the published sizes, but
            tracing a big model takes seconds); False runs it eagerly; "auto"
            runs the first `AUTO_COMPILE_AFTER` steps eagerly, then traces
            (a few batches stay quick, many get the traced speed). Other
            backends run eagerly. Defaults to "auto".

    Call: `skipper(skeleton)` with skeleton (B, T, V, M, C) (numpy or
    tensor, B >= 1) -> (B, num_classes) numpy scores: what
    `model(skeleton, training=False)` gives (logits; an ensemble's fused
    scores). `predict(x, batch_size)` does it batch by batch. Other
    attributes are the model's (`num_classes`, `input_features`,
    `to_probabilities`, ...), so the skipper stands in for the model where
    only its predictions are used; for an ensemble, `streams` holds the
    streams' skippers.

    Per call: finds the empty slots, runs `prepare` on the batch, the
    backbone (`person_features`) on the N non-empty person rows only,
    fills the empty rows from the cache of the zero person's features per
    clip length (all M slots at once, computed on first use: M rows), then
    `head`: one step (`compile`) per batch.

    Attributes:
        model: the wrapped model.
        persons_computed: person rows run through the backbone so far
            (the cache's included).
        persons_skipped: empty person rows filled from the cache so far.

    Raises:
        ValueError: `model` has no `person_stages()` (nor is an ensemble of
            such streams); at call, an input of the wrong shape or an empty
            batch.
    """

    def __init__(self, model, compile="auto"):
        if compile not in (True, False, "auto"):
            raise ValueError(f"EmptyPersonSkipper: `compile` must be True, False or 'auto', found {compile!r}.")
        self.model = model
        self._streams = None
        if not supports(model):
            kind = f"{type(model).__name__} '{getattr(model, 'name', '?')}'"
            if callable(getattr(model, "stream_stages", None)) and hasattr(model, "streams"):
                missing = [name for name, stream in model.streams.items() if not supports(stream)]
                raise ValueError(f"EmptyPersonSkipper: `model` must be an ensemble whose streams have "
                                 f"`person_stages()`; found {kind} whose stream(s) {missing} do not.")
            raise ValueError(f"EmptyPersonSkipper: `model` must be an action model with `person_stages()` (STTR, "
                             f"GCNRecognizer, MotionBERTAction) or an ensemble of them; found {kind}, which has "
                             f"none.")
        if callable(getattr(model, "stream_stages", None)):
            self._streams = {name: EmptyPersonSkipper(stream, compile) for name, stream in model.streams.items()}
            self._split, self._fuse = model.stream_stages()
            return
        self.stages = model.person_stages()
        self._shape = tuple(model.input_shape[2:])  # (V, M, C)
        self._input_dtype = keras.backend.standardize_dtype(model.input.dtype)
        self._feature_dtype = self.stages.pool.compute_dtype
        self._cache = {}  # T -> (M, F) numpy features of the zero person in each slot
        self._persons_computed = self._persons_skipped = 0
        self._step, self._eager_steps, self._traced = self._eager_step, 0, False
        self._compile = compile if keras.backend.backend() == "tensorflow" else False
        if self._compile is True:
            self._trace()

    def _trace(self):
        import tensorflow as tf

        self._step = tf.function(self._eager_step, autograph=False, reduce_retracing=True, input_signature=[
            tf.TensorSpec((None, None, *self._shape), self._input_dtype), tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((None, self.stages.num_features), self._feature_dtype)])
        self._traced = True

    @property
    def compiled(self) -> bool:
        """Whether the step runs traced (`compile`; an ensemble: every stream's)."""
        if self._streams is not None:
            return all(s.compiled for s in self._streams.values())
        return self._traced

    def _run_step(self, x, rows, base):
        if self._compile == "auto" and not self.compiled:
            self._eager_steps += 1
            if self._eager_steps > AUTO_COMPILE_AFTER:
                self._trace()
        return self._step(x, rows, base)

    def _eager_step(self, x, rows, base):
        """The step (keras ops: traced on TensorFlow with `compile`).

        Args:
            x: (B, T, V, M, C) clips.
            rows: (N,) int32, N >= 1: the rows of (B * M) to run (b * M + m).
            base: (B * M, F) features of the other rows (the cache's).

        Returns:
            (N, F) the rows' features and (B, num_classes) the logits.
        """
        chosen = [ops.take(t, rows, axis=0) for t in self.stages.prepare(x, training=False)]
        features = ops.cast(self.stages.person_features(chosen), base.dtype)  # (N, F)
        every = ops.scatter_update(base, ops.expand_dims(rows, -1), features)
        logits = self.stages.head(ops.reshape(every, (-1, self.stages.num_persons, self.stages.num_features)))
        return features, logits

    # --- public ---------------------------------------------------------------
    @property
    def streams(self):
        """An ensemble's {stream name: its `EmptyPersonSkipper`}."""
        if self._streams is None:
            raise AttributeError(f"EmptyPersonSkipper of {type(self.model).__name__} '{self.model.name}': not an "
                                 f"ensemble, it has no `streams`.")
        return self._streams

    @property
    def persons_computed(self) -> int:
        if self._streams is not None:
            return sum(s.persons_computed for s in self._streams.values())
        return self._persons_computed

    @property
    def persons_skipped(self) -> int:
        if self._streams is not None:
            return sum(s.persons_skipped for s in self._streams.values())
        return self._persons_skipped

    def clear_cache(self) -> None:
        """Forgets the zero person's features (call it after changing the weights)."""
        for skipper in (self._streams or {"": self}).values():
            skipper._cache.clear()

    def zero_person_features(self, frames: int) -> np.ndarray:
        """(M, F) features of an empty person in each slot for clips of
        `frames` frames (cached; not for ensembles)."""
        if self._streams is not None:
            raise ValueError("EmptyPersonSkipper.zero_person_features: an ensemble has one per stream; ask "
                             "`streams[name]`.")
        frames = int(frames)
        if frames not in self._cache:
            m, f = self.stages.num_persons, self.stages.num_features
            features, _ = self._run_step(np.zeros((1, frames, *self._shape), self._input_dtype),
                                     np.arange(m, dtype=np.int32), np.zeros((m, f), _numpy_dtype(self._feature_dtype)))
            self._cache[frames] = keras.ops.convert_to_numpy(features)
            self._persons_computed += m
        return self._cache[frames]

    def __call__(self, skeleton) -> np.ndarray:
        """(B, T, V, M, C) clips -> (B, num_classes) numpy scores (see the class docstring)."""
        if self._streams is not None:
            x = self._as_clips(skeleton)
            parts = [keras.ops.convert_to_numpy(p) for p in self._split(x)]
            scores = [stream(p) for stream, p in zip(self._streams.values(), parts)]
            return self._output(self._fuse(scores))
        x = self._as_clips(skeleton)
        b, t = x.shape[:2]
        m, f = self.stages.num_persons, self.stages.num_features
        present = ~empty_persons(x).reshape(-1)  # row b * M + m, as FoldPersons folds
        rows = np.flatnonzero(present).astype(np.int32)
        base = np.tile(self.zero_person_features(t), (b, 1))  # (B * M, F)
        self._persons_computed += rows.size
        self._persons_skipped += b * m - rows.size
        if rows.size == 0:
            logits = self.stages.head(base.reshape(b, m, f))
        else:
            _, logits = self._run_step(x, rows, base)
        return self._output(logits)

    def predict(self, x, batch_size: int = 32, verbose=0) -> np.ndarray:
        """`__call__` on `batch_size` clips at a time (as `keras.Model.predict`;
        `verbose` is ignored): (N, T, V, M, C) -> (N, num_classes)."""
        x = np.asarray(x)
        if len(x) == 0:
            raise ValueError(f"EmptyPersonSkipper '{self.model.name}': no clips (input shape {x.shape}).")
        return np.concatenate([self(x[i:i + batch_size]) for i in range(0, len(x), int(batch_size))], axis=0)

    def __getattr__(self, name):
        if name.startswith("_") or name in ("model", "stages"):
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self):
        return f"EmptyPersonSkipper({type(self.model).__name__} '{self.model.name}')"

    # --- helpers ----------------------------------------------------------------
    def _as_clips(self, skeleton) -> np.ndarray:
        x = np.asarray(keras.ops.convert_to_numpy(skeleton) if not isinstance(skeleton, np.ndarray) else skeleton)
        where = f"EmptyPersonSkipper of {type(self.model).__name__} '{self.model.name}'"
        if x.ndim != 5:
            raise ValueError(f"{where}: expected clips of rank 5 (batch, frames, joints, persons, channels), "
                             f"found shape {x.shape}.")
        if x.shape[0] == 0:
            raise ValueError(f"{where}: the batch is empty (input shape {x.shape}); pass at least one clip.")
        check = getattr(self.model, "check_input_shape", None)
        if check is not None:
            check(x.shape)
        return x.astype(self._input_dtype if self._streams is None else x.dtype, copy=False)

    @staticmethod
    def _output(scores) -> np.ndarray:
        scores = keras.ops.convert_to_numpy(scores)
        if keras.backend.standardize_dtype(scores.dtype) in ("float16", "bfloat16"):
            scores = scores.astype(np.float32)  # as ShapeCheckedModel answers under mixed precision
        return scores


def _numpy_dtype(name):
    """numpy's dtype of a Keras dtype name (bfloat16: ml_dtypes')."""
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.bfloat16
    return np.dtype(name)
