"""Frame-by-frame (online) 3D pose lifting with a causal lifter.

`PoseStreamer` keeps the last `receptive_field` 2D frames in a preallocated
ring buffer and runs a causal pose-lifting preset on it after every frame
(its strided single-frame variant where the family has one), so each call of `push` returns the 3D pose of the frame
just pushed, computed from that frame and earlier ones only:

    streamer = PoseStreamer("gast_27_causal", weights="27_frame_model_causal.bin")
    for keypoints_2d in camera:            # (J, 2) normalised screen coordinates
        pose_3d = streamer.push(keypoints_2d)   # (J, 3)

Before a full receptive field has arrived, the missing past is filled as the
offline evaluation pads a whole clip (`skeleton_zoo.evaluation.protocols.predict_sequences`,
VideoPose3D's convention): the first frame repeated (edge padding). The output
at every frame t therefore equals the causal sequence model run on the whole
clip (without test-time flip) at frame t.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["PoseStreamer"]


class PoseStreamer:
    """Online 3D pose lifting, one 2D frame in, one 3D pose out.

    Args:
        model: a causal pose-lifting preset name (e.g. "gast_27_causal",
            "gast_81_causal"), or an already built causal lifter of either
            variant (its weights are copied into a single-frame twin).
        weights: passed to `skeleton_zoo.load` (preset names only): None
            (random), a weights tag ("official", "h36m_cpn"), an official
            checkpoint or a Keras weights file.
        **overrides: passed to `skeleton_zoo.load`, e.g. `channels=16`,
            `layout="humaneva15"`. `variant` is always "single_frame".
        jit_compile: compile the per-frame network with XLA (measured
            faster on CPU than a plain `tf.function` graph; falls back to
            the plain graph where XLA is unavailable). Construction takes
            a few seconds more.

    Attributes:
        model: the single-frame lifter, input (1, rf, J, 2), output
            (1, 1, J, 3).
        receptive_field: rf, the frames each output depends on.
        num_joints: J.
        frames_seen: frames pushed since construction or the last `reset()`.
        last_filled: (J,) bool, the joints of the last pushed frame that held
            their previous position (they were missing).
        jit_compile: whether the per-frame call runs XLA-compiled.

    Raises:
        ValueError: a non-causal model (it needs future frames).
    """

    def __init__(self, model="gast_27_causal", weights=None, jit_compile=True, **overrides):
        import tensorflow as tf

        from skeleton_zoo import registry
        from skeleton_zoo.tasks import get_task
        from skeleton_zoo.tasks.pose_lifting import with_variant

        task = get_task("pose_lifting")
        if not isinstance(model, str):
            if weights is not None or overrides:
                raise TypeError("PoseStreamer: `weights` and overrides apply to preset names only, "
                                "not to a built model.")
            task.check_model(model, "PoseStreamer: model")
            if model.causal:
                model = with_variant(model, "single_frame")
        else:
            if "variant" in overrides and overrides["variant"] != "single_frame":
                raise ValueError(f"PoseStreamer: the streamer always runs variant='single_frame', "
                                 f"found variant={overrides['variant']!r}.")
            overrides = {k: v for k, v in overrides.items() if k != "variant"}
            preset = registry.get_preset(model)
            if preset.task != task.name:
                raise ValueError(f"PoseStreamer: '{model}' is not a pose-lifting preset.")
            model = task.load(preset, weights, overrides, variant="single_frame")
        if not model.causal:
            raise ValueError(self._non_causal_message(f"'{model.name}'"))

        self.model = model
        self.receptive_field = rf = int(model.receptive_field)
        self.num_joints = int(model.layout.num_joints)
        self.in_features = int(getattr(model, "in_features", 2))
        frame_shape = (self.num_joints, self.in_features)
        # Ring buffer written twice (at i and i + rf), so the last rf frames are
        # always the contiguous slice [i + 1, i + 1 + rf): no copy to unroll it.
        self._buffer = np.zeros((2 * rf, *frame_shape), np.float32)
        self._batch_views = [self._buffer[i + 1 : i + 1 + rf][None] for i in range(rf)]
        self._index = rf - 1  # slot of the newest frame
        self.frames_seen = 0
        self.last_filled = np.zeros(self.num_joints, bool)
        self._warned = False

        # Compiled once: a fixed input signature, inference mode; traced and
        # run once here so the first frame pays no tracing or compilation.
        self.jit_compile = bool(jit_compile)
        spec = [tf.TensorSpec((1, rf, *frame_shape), tf.float32)]
        warm_up = np.zeros((1, rf, *frame_shape), np.float32)
        try:
            self._predict = tf.function(lambda x: model(x, training=False), input_signature=spec,
                                        jit_compile=self.jit_compile)
            self._predict(warm_up)
        except (tf.errors.UnimplementedError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError):
            if not self.jit_compile:
                raise
            self.jit_compile = False  # no XLA for this build / device: plain graph
            self._predict = tf.function(lambda x: model(x, training=False), input_signature=spec)
            self._predict(warm_up)

    @staticmethod
    def _non_causal_message(what: str) -> str:
        return (f"PoseStreamer: model {what} is not causal: its output frame depends on "
                f"future frames (half a receptive field of look-ahead), which a live stream does "
                f"not have. Use a causal preset, e.g. 'gast_27_causal' or 'gast_81_causal'.")

    def reset(self) -> None:
        """Forgets all frames: the next `push` starts a new clip (edge padded
        with its first frame again)."""
        self._index = self.receptive_field - 1
        self.frames_seen = 0
        self._warned = False

    def _check_frame(self, keypoints_2d) -> np.ndarray:
        frame = np.asarray(keypoints_2d, dtype=np.float32)
        expected = (self.num_joints, self.in_features)
        if frame.shape != expected:
            raise ValueError(
                f"PoseStreamer.push: expected one frame of shape {expected} (joints of layout "
                f"'{self.model.layout.name}', {self.in_features} coordinates), found shape "
                f"{frame.shape}. Use push_many for (frames, {expected[0]}, {expected[1]})."
            )
        return frame

    def push(self, keypoints_2d) -> np.ndarray:
        """Adds one 2D frame and returns its 3D pose.

        A missing joint (NaN or infinite coordinates) holds its position of
        the previous frame, as a causal stream cannot interpolate;
        `last_filled` says which joints of the last frame were filled, and
        the first fill of a clip warns once.

        Args:
            keypoints_2d: (J, 2) array-like, normalised screen coordinates
                (as the model input).

        Returns:
            (J, 3) float32 root-relative 3D pose of this frame, computed from
            this frame and the rf - 1 frames before it (the first frame of
            the clip repeated where there are fewer).

        Raises:
            ValueError: the frame is not of shape (J, 2), or the first frame
                of a clip misses joints (there is no earlier position).
        """
        frame = self._check_frame(keypoints_2d)
        rf, buf = self.receptive_field, self._buffer
        missing = ~np.isfinite(frame).all(axis=-1)
        if missing.any():
            if self.frames_seen == 0:
                raise ValueError(f"PoseStreamer.push: the first frame of the clip misses joints "
                                 f"{np.flatnonzero(missing).tolist()} (NaN or infinite): there is no earlier "
                                 f"position to hold. Fill them (e.g. from your detector's previous frame) or "
                                 f"start the clip at a complete frame.")
            frame = np.where(missing[:, None], buf[self._index], frame)
            if not self._warned:
                warnings.warn("PoseStreamer: missing joints (NaN or infinite) hold their previous position; "
                              "`last_filled` says which.", stacklevel=2)
                self._warned = True
        self.last_filled = missing
        if self.frames_seen == 0:
            buf[:] = frame  # edge padding: the first frame fills the whole past
            self._index = rf - 1
        else:
            self._index = (self._index + 1) % rf
            buf[self._index] = frame
            buf[self._index + rf] = frame
        self.frames_seen += 1
        window = self._batch_views[self._index]  # (1, rf, J, 2), a view
        return self._predict(window).numpy()[0, 0]

    def push_many(self, frames) -> np.ndarray:
        """`push` for each frame in order.

        Args:
            frames: (T, J, 2) array-like.

        Returns:
            (T, J, 3) float32 3D poses.
        """
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 3:
            raise ValueError(
                f"PoseStreamer.push_many: expected frames of shape (T, {self.num_joints}, "
                f"{self.in_features}), found shape {frames.shape}."
            )
        out = np.empty((len(frames), self.num_joints, 3), np.float32)
        for t, frame in enumerate(frames):
            out[t] = self.push(frame)
        return out
