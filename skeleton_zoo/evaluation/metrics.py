"""Evaluation metrics for 3D pose lifting and skeleton action recognition.

Two flavours of every metric:

* numpy functions (`mpjpe`, `p_mpjpe`, `n_mpjpe`, `mpjve`, `top_k_accuracy`)
  with the semantics of VideoPose3D's `common/loss.py` (the protocol used by
  GAST-Net and most 2D-to-3D lifting papers) and of the ST-GCN / ST-TR top-k
  evaluation. They compute in float64 and return a Python `float`.
* Keras metrics (`MPJPE`, `PMPJPE`, `NMPJPE`, `MPJVE`, `TopKAccuracy`) and a
  Keras loss (`MPJPELoss`), written with `keras.ops` so they run eagerly,
  inside compiled `tf.function`s and under `tf.distribute` strategies, and
  registered for serialisation under the package name "skeleton_zoo".

Units: every pose metric is in the same units as its inputs. Human3.6M targets
are in metres, so multiply by 1000 for the millimetres the papers report (the
Keras metrics take `scale=1000.0` to do that for you).

What the Keras pose metrics average
-----------------------------------
`y_true` / `y_pred` are `(..., J, C)` poses, typically `(batch, frames, J, 3)`.
Each metric first reduces a frame to one number (the mean over its J joints of
the per-joint error), then keeps a running *frame-weighted* mean over every
`update_state` call: `result = sum(w * e) / sum(w)` over all frames seen, where
`w` is the broadcast `sample_weight` (1 when omitted). So over several batches
the metric equals the numpy function on the concatenation of all frames,
whatever the batch sizes and clip lengths (this is how VideoPose3D's run.py
weights batches: by their number of frames). `sample_weight` may have shape
`(batch,)` (one weight per clip, applied to each of its frames) or any shape
matching the leading axes of the poses, e.g. `(batch, frames)` (a per-frame
weight or 0/1 mask).

`MPJVE` works on `(batch, frames, ..., J, C)` clips and averages over the
`frames - 1` velocity steps of each clip: over several batches it equals the
numpy `mpjve` applied clip by clip with every velocity step weighted equally
(i.e. the mean of the concatenated per-step velocity errors). A `(batch,
frames)` `sample_weight` is a per-frame weight: the step from t to t + 1 gets
`w[t] * w[t + 1]`, so with a 0/1 padding mask a step counts only when both of
its frames are real.
"""

from __future__ import annotations

import numpy as np

import keras
from keras import ops

__all__ = [
    "mpjpe",
    "p_mpjpe",
    "p_mpjpe_per_frame",
    "n_mpjpe",
    "mpjve",
    "top_k_accuracy",
    "MPJPE",
    "PMPJPE",
    "NMPJPE",
    "MPJVE",
    "TopKAccuracy",
    "MPJPELoss",
    "MotionLoss",
]

_UNITS = "same units as the inputs; multiply by 1000 for mm when inputs are metres"


# ---------------------------------------------------------------------------
# Shape validation
# ---------------------------------------------------------------------------


def _as_poses(predicted, target, function, min_ndim=2):
    """Returns float64 arrays after checking both are (..., J, C) with equal shapes."""
    predicted = np.asarray(predicted)
    target = np.asarray(target)
    for argument, array in (("predicted", predicted), ("target", target)):
        if array.ndim < min_ndim:
            raise ValueError(
                f"{function}: `{argument}` must have at least {min_ndim} dimensions "
                f"(..., joints, coordinates); found shape {array.shape}"
            )
        if array.shape[-1] < 1 or array.shape[-2] < 1:
            raise ValueError(
                f"{function}: `{argument}` must have at least one joint and one "
                f"coordinate, (..., J >= 1, C >= 1); found shape {array.shape}"
            )
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise ValueError(
                f"{function}: `{argument}` must be a real-valued array; found dtype {array.dtype}"
            )
    if predicted.shape != target.shape:
        raise ValueError(
            f"{function}: `predicted` must have the shape of `target` {target.shape}; "
            f"found {predicted.shape}"
        )
    return predicted.astype(np.float64), target.astype(np.float64)


def _static_shape(x):
    return tuple(x.shape)


def _check_keras_poses(y_true, y_pred, name, min_rank=2):
    """Static shape checks for the Keras metrics (unknown dims pass)."""
    true_shape, pred_shape = _static_shape(y_true), _static_shape(y_pred)
    for argument, shape in (("y_true", true_shape), ("y_pred", pred_shape)):
        if len(shape) < min_rank:
            raise ValueError(
                f"{name}: `{argument}` must have rank >= {min_rank} "
                f"({'(batch, frames, ..., J, C)' if min_rank >= 4 else '(..., J, C)'}); "
                f"found shape {shape}"
            )
    if len(true_shape) != len(pred_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(true_shape, pred_shape)
    ):
        raise ValueError(
            f"{name}: `y_pred` must have the shape of `y_true` {true_shape}; found {pred_shape}"
        )


# ---------------------------------------------------------------------------
# numpy functions
# ---------------------------------------------------------------------------


def mpjpe(predicted, target) -> float:
    """Mean per-joint position error (MPJPE, Protocol #1).

    Args:
        predicted: `(..., J, C)` predicted joint positions (C = 3 for 3D).
        target: `(..., J, C)` ground truth, same shape.

    Returns:
        The Euclidean distance over the last axis, averaged over every leading
        axis and every joint (a Python float; same units as the inputs;
        multiply by 1000 for mm when inputs are metres).
    """
    predicted, target = _as_poses(predicted, target, "mpjpe")
    return float(np.mean(np.linalg.norm(predicted - target, axis=-1)))


def _procrustes_errors(predicted, target):
    """Per-frame mean joint error after similarity alignment; (N, J, C) -> (N,)."""
    mu_x = np.mean(target, axis=1, keepdims=True)
    mu_y = np.mean(predicted, axis=1, keepdims=True)
    x0 = target - mu_x
    y0 = predicted - mu_y
    norm_x = np.sqrt(np.sum(x0**2, axis=(1, 2), keepdims=True))
    norm_y = np.sqrt(np.sum(y0**2, axis=(1, 2), keepdims=True))
    # A frame whose joints all coincide has norm 0 (VideoPose3D divides by it
    # and returns NaN); dividing by 1 instead gives the optimal alignment
    # (scale 0, i.e. the prediction collapses onto the target centroid) and
    # changes nothing otherwise.
    x0 = x0 / np.where(norm_x == 0, 1.0, norm_x)
    y0 = y0 / np.where(norm_y == 0, 1.0, norm_y)
    safe_norm_y = np.where(norm_y == 0, 1.0, norm_y)

    h = np.matmul(np.swapaxes(x0, 1, 2), y0)
    u, s, vt = np.linalg.svd(h)
    v = np.swapaxes(vt, 1, 2)
    r = np.matmul(v, np.swapaxes(u, 1, 2))
    # Avoid improper rotations (reflections), i.e. rotations with det(R) = -1.
    sign_det_r = np.sign(np.linalg.det(r))[:, None]
    v[:, :, -1] *= sign_det_r
    s[:, -1] *= sign_det_r[:, 0]
    r = np.matmul(v, np.swapaxes(u, 1, 2))  # rotation
    tr = np.sum(s, axis=1)[:, None, None]
    a = tr * norm_x / safe_norm_y  # scale
    t = mu_x - a * np.matmul(mu_y, r)  # translation
    aligned = a * np.matmul(predicted, r) + t
    return np.mean(np.linalg.norm(aligned - target, axis=-1), axis=-1)


def p_mpjpe(predicted, target) -> float:
    """Procrustes-aligned MPJPE (P-MPJPE, Protocol #2).

    Each frame of `predicted` is rigidly aligned to the matching frame of
    `target` with the optimal similarity transform (scale, rotation,
    translation; reflections are excluded by flipping the last singular
    vector, as VideoPose3D does) before the MPJPE is taken.

    Args:
        predicted: `(N, J, C)` (or any `(..., J, C)`: leading axes are flattened
            into frames; `(J, C)` is a single frame).
        target: the ground truth, same shape.

    Returns:
        The mean over frames and joints of the aligned Euclidean error (a
        Python float; same units as the inputs; multiply by 1000 for mm when
        inputs are metres).
    """
    predicted, target = _as_poses(predicted, target, "p_mpjpe")
    j, c = target.shape[-2:]
    errors = _procrustes_errors(predicted.reshape(-1, j, c), target.reshape(-1, j, c))
    return float(np.mean(errors))


def p_mpjpe_per_frame(predicted, target) -> np.ndarray:
    """P-MPJPE of every frame: `(N, J, C)` -> `(N,)` (MotionBERT's `p_mpjpe`,
    which its evaluation averages per frame over the clips covering it)."""
    predicted, target = _as_poses(predicted, target, "p_mpjpe_per_frame")
    j, c = target.shape[-2:]
    return _procrustes_errors(predicted.reshape(-1, j, c), target.reshape(-1, j, c))


def n_mpjpe(predicted, target) -> float:
    """Scale-normalised MPJPE (N-MPJPE, Protocol #3).

    Each frame of `predicted` is multiplied by the least-squares scale
    `mean_j sum_c(target * predicted) / mean_j sum_c(predicted ** 2)` before
    the MPJPE is taken.

    Args:
        predicted: `(..., J, C)`; every index of the leading axes is a frame.
        target: the ground truth, same shape.

    Returns:
        A Python float (same units as the inputs; multiply by 1000 for mm when
        inputs are metres).
    """
    predicted, target = _as_poses(predicted, target, "n_mpjpe")
    norm_predicted = np.mean(np.sum(predicted**2, axis=-1, keepdims=True), axis=-2, keepdims=True)
    norm_target = np.mean(np.sum(target * predicted, axis=-1, keepdims=True), axis=-2, keepdims=True)
    # An all-zero predicted frame has no defined scale (VideoPose3D: NaN); use 0.
    scale = np.divide(norm_target, norm_predicted, out=np.zeros_like(norm_target), where=norm_predicted != 0)
    return float(np.mean(np.linalg.norm(scale * predicted - target, axis=-1)))


def mpjve(predicted, target) -> float:
    """Mean per-joint velocity error (MPJVE).

    The first axis is time: velocities are `np.diff(x, axis=0)` of both
    arrays, and the error is the Euclidean norm of their difference over the
    last axis, averaged over the `T - 1` steps, every other leading axis and
    the joints.

    Args:
        predicted: `(T, ..., J, C)` with T >= 2 frames of one sequence.
        target: the ground truth, same shape.

    Returns:
        A Python float in input units per frame (same units as the inputs;
        multiply by 1000 for mm when inputs are metres).
    """
    predicted, target = _as_poses(predicted, target, "mpjve", min_ndim=3)
    if target.shape[0] < 2:
        raise ValueError(
            f"mpjve: `target` must have at least 2 frames along axis 0 (T, ..., J, C); "
            f"found shape {target.shape}"
        )
    velocity_predicted = np.diff(predicted, axis=0)
    velocity_target = np.diff(target, axis=0)
    return float(np.mean(np.linalg.norm(velocity_predicted - velocity_target, axis=-1)))


def top_k_accuracy(logits_or_probs, labels, k: int) -> float:
    """Fraction of samples whose label is among the k highest scores.

    Ties count in the label's favour: a sample is a hit when fewer than `k`
    classes score strictly higher than its label (the semantics of
    `tf.math.in_top_k` and so of `TopKAccuracy`; with real-valued logits ties
    do not happen in practice).

    Args:
        logits_or_probs: `(N, num_classes)` scores (logits or probabilities;
            any monotonic transform gives the same result).
        labels: `(N,)` integer class indices in `[0, num_classes)`.
        k: 1 <= k <= num_classes.

    Returns:
        A Python float in [0, 1].
    """
    scores = np.asarray(logits_or_probs)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(
            f"top_k_accuracy: `logits_or_probs` must be 2-D (N, num_classes); found shape {scores.shape}"
        )
    n, num_classes = scores.shape
    if labels.shape != (n,):
        raise ValueError(
            f"top_k_accuracy: `labels` must have shape ({n},) to match `logits_or_probs` "
            f"{scores.shape}; found {labels.shape}"
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"top_k_accuracy: `labels` must be integers; found dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"top_k_accuracy: `labels` must lie in [0, {num_classes}); "
            f"found values in [{labels.min()}, {labels.max()}]"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= num_classes:
        raise ValueError(f"top_k_accuracy: `k` must be an integer in [1, {num_classes}]; found {k!r}")
    if n == 0:
        raise ValueError("top_k_accuracy: `logits_or_probs` has no samples (N = 0)")
    label_scores = scores[np.arange(n), labels.astype(np.int64)][:, None]
    higher = np.sum(scores > label_scores, axis=1)
    return float(np.mean(higher < k))


# ---------------------------------------------------------------------------
# keras.ops versions of the per-frame errors
# ---------------------------------------------------------------------------


def _frame_mpjpe(y_true, y_pred):
    """(..., J, C) -> (...): mean over joints of the Euclidean error."""
    return ops.mean(ops.sqrt(ops.sum(ops.square(y_pred - y_true), axis=-1)), axis=-1)


def _frame_n_mpjpe(y_true, y_pred):
    norm_predicted = ops.sum(ops.square(y_pred), axis=(-2, -1), keepdims=True)
    norm_target = ops.sum(y_true * y_pred, axis=(-2, -1), keepdims=True)
    scale = ops.divide_no_nan(norm_target, norm_predicted)
    return _frame_mpjpe(y_true, scale * y_pred)


def _frame_p_mpjpe(y_true, y_pred):
    """(..., J, C) -> (...): `_procrustes_errors` written with batched keras.ops."""
    mu_x = ops.mean(y_true, axis=-2, keepdims=True)
    mu_y = ops.mean(y_pred, axis=-2, keepdims=True)
    x0 = y_true - mu_x
    y0 = y_pred - mu_y
    norm_x = ops.sqrt(ops.sum(ops.square(x0), axis=(-2, -1), keepdims=True))
    norm_y = ops.sqrt(ops.sum(ops.square(y0), axis=(-2, -1), keepdims=True))
    one = ops.ones_like(norm_x)
    safe_norm_x = ops.where(ops.equal(norm_x, 0), one, norm_x)
    safe_norm_y = ops.where(ops.equal(norm_y, 0), one, norm_y)
    x0 = x0 / safe_norm_x
    y0 = y0 / safe_norm_y

    h = ops.matmul(ops.swapaxes(x0, -1, -2), y0)
    u, s, vt = ops.svd(h)
    v = ops.swapaxes(vt, -1, -2)
    ut = ops.swapaxes(u, -1, -2)
    r = ops.matmul(v, ut)
    sign_det_r = ops.expand_dims(ops.sign(ops.det(r)), -1)  # (..., 1)
    # Multiply the last column of V and the last singular value by sign(det R).
    flip = ops.concatenate([ops.ones_like(s[..., :-1]), sign_det_r], axis=-1)  # (..., C)
    v = v * ops.expand_dims(flip, -2)
    s = s * flip
    r = ops.matmul(v, ut)
    tr = ops.expand_dims(ops.sum(s, axis=-1, keepdims=True), -1)  # (..., 1, 1)
    a = tr * norm_x / safe_norm_y
    t = mu_x - a * ops.matmul(mu_y, r)
    aligned = a * ops.matmul(y_pred, r) + t
    return _frame_mpjpe(y_true, aligned)


def _broadcast_weights(sample_weight, errors, name):
    """Expands trailing axes of `sample_weight` and broadcasts it to `errors`."""
    weight_rank = len(sample_weight.shape)
    error_rank = len(errors.shape)
    if weight_rank > error_rank:
        raise ValueError(
            f"{name}: `sample_weight` must have rank <= {error_rank} (the leading axes of the "
            f"poses, e.g. (batch,) or (batch, frames)); found shape {tuple(sample_weight.shape)}"
        )
    for _ in range(error_rank - weight_rank):
        sample_weight = ops.expand_dims(sample_weight, -1)
    return ops.broadcast_to(sample_weight, ops.shape(errors))


# ---------------------------------------------------------------------------
# Keras metrics
# ---------------------------------------------------------------------------


class _FrameWeightedPoseMetric(keras.metrics.Metric):
    """Running frame-weighted mean of a per-frame pose error (see the module docstring)."""

    _default_name = None
    _min_rank = 2

    def __init__(self, name=None, dtype=None, scale=1.0):
        super().__init__(name=name or self._default_name, dtype=dtype)
        self.scale = float(scale)
        self.total = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype=self.dtype, name="count")
        self._direction = "down"

    def _errors(self, y_true, y_pred):  # pragma: no cover - abstract
        raise NotImplementedError

    def _weights(self, sample_weight, errors):
        return _broadcast_weights(sample_weight, errors, type(self).__name__)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true, dtype=self.dtype)
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        _check_keras_poses(y_true, y_pred, type(self).__name__, self._min_rank)
        errors = self._errors(y_true, y_pred)
        if sample_weight is None:
            weights = ops.ones_like(errors)
        else:
            weights = self._weights(ops.convert_to_tensor(sample_weight, dtype=self.dtype), errors)
        self.total.assign_add(ops.sum(errors * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.divide_no_nan(self.total, self.count) * ops.cast(self.scale, self.dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "scale": self.scale}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MPJPE(_FrameWeightedPoseMetric):
    """Keras MPJPE (Protocol #1): frame-weighted running mean of the per-frame
    mean joint Euclidean error.

    `y_true`, `y_pred`: `(..., J, C)`, e.g. `(batch, frames, J, 3)`.
    `sample_weight`: optional, broadcastable from the left to the leading axes
    (`(batch,)` or `(batch, frames)`).
    Result: same units as the inputs times `scale` (use `scale=1000.0` for mm
    from metres). Equals `mpjpe` on the concatenation of all frames seen.
    """

    _default_name = "mpjpe"

    def _errors(self, y_true, y_pred):
        return _frame_mpjpe(y_true, y_pred)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class PMPJPE(_FrameWeightedPoseMetric):
    """Keras P-MPJPE (Protocol #2): as `MPJPE` after aligning each predicted
    frame to its target with the optimal similarity transform (`p_mpjpe`).

    Uses `keras.ops.svd` and `keras.ops.det` on `(..., C, C)` matrices.
    """

    _default_name = "p_mpjpe"

    def _errors(self, y_true, y_pred):
        return _frame_p_mpjpe(y_true, y_pred)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class NMPJPE(_FrameWeightedPoseMetric):
    """Keras N-MPJPE (Protocol #3): as `MPJPE` after the per-frame
    least-squares scaling of `y_pred` (`n_mpjpe`)."""

    _default_name = "n_mpjpe"

    def _errors(self, y_true, y_pred):
        return _frame_n_mpjpe(y_true, y_pred)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MPJVE(_FrameWeightedPoseMetric):
    """Keras MPJVE: velocity error along axis 1 (frames) of
    `(batch, frames, ..., J, C)` clips (frames >= 2).

    Averages over the `frames - 1` velocity steps of every clip seen (over
    several batches: the mean of all concatenated per-step errors; numpy
    `mpjve` applied to one clip gives the same number for that clip).
    `sample_weight`: `(batch,)` per clip, or `(batch, frames)` per frame, in
    which case step t -> t + 1 is weighted by `w[t] * w[t + 1]`.
    """

    _default_name = "mpjve"
    _min_rank = 4

    def _errors(self, y_true, y_pred):
        velocity_true = y_true[:, 1:] - y_true[:, :-1]
        velocity_pred = y_pred[:, 1:] - y_pred[:, :-1]
        return ops.mean(ops.sqrt(ops.sum(ops.square(velocity_pred - velocity_true), axis=-1)), axis=-1)

    def _weights(self, sample_weight, errors):
        rank = len(sample_weight.shape)
        if rank == 2:
            sample_weight = sample_weight[:, 1:] * sample_weight[:, :-1]
        elif rank > 2:
            raise ValueError(
                f"MPJVE: `sample_weight` must have shape (batch,) or (batch, frames); "
                f"found shape {tuple(sample_weight.shape)}"
            )
        return _broadcast_weights(sample_weight, errors, "MPJVE")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class TopKAccuracy(keras.metrics.SparseTopKCategoricalAccuracy):
    """Top-k accuracy for integer labels: `keras.metrics.SparseTopKCategoricalAccuracy`
    with a name that says k (`top1_accuracy`, `top5_accuracy`).

    Not a new implementation on purpose: Keras' metric is already
    distribution-safe and uses `ops.in_top_k`, whose tie rule (a label tied at
    the k-th place counts as a hit) is the one `top_k_accuracy` implements, so
    both agree. `y_true`: `(batch,)` class indices; `y_pred`: `(batch,
    num_classes)` logits or probabilities. Averages over samples (weighted by
    `sample_weight` when given).
    """

    def __init__(self, k=5, name=None, dtype=None, from_sorted_ids=False):
        super().__init__(
            k=k, name=name or f"top{k}_accuracy", dtype=dtype, from_sorted_ids=from_sorted_ids
        )


# ---------------------------------------------------------------------------
# Keras loss
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MPJPELoss(keras.losses.Loss):
    """Mean Euclidean joint distance, the GAST-Net / VideoPose3D training loss.

    `call(y_true, y_pred)` with `(..., J, C)` poses returns the per-frame
    errors `(...)` (mean over joints of the Euclidean distance), which Keras
    then reduces with `reduction` (default "sum_over_batch_size": the mean over
    all frames, i.e. exactly `mpjpe`) after applying `sample_weight`
    (`(batch,)` or `(batch, frames)`).
    """

    def __init__(self, name="mpjpe_loss", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            # Keras only expands a weight by one trailing axis; a (batch,)
            # weight of (batch, frames, J, C) poses needs (batch, 1).
            sample_weight = ops.convert_to_tensor(sample_weight, dtype=self.dtype)
            frame_rank = len(ops.convert_to_tensor(y_pred).shape) - 2
            weight_rank = len(sample_weight.shape)
            if weight_rank > frame_rank:
                raise ValueError(
                    f"MPJPELoss: `sample_weight` must have rank <= {frame_rank} (the leading axes "
                    f"of the poses, e.g. (batch,) or (batch, frames)); found shape "
                    f"{tuple(sample_weight.shape)}"
                )
            for _ in range(frame_rank - weight_rank):
                sample_weight = ops.expand_dims(sample_weight, -1)
        return super().__call__(y_true, y_pred, sample_weight=sample_weight)

    def call(self, y_true, y_pred):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        _check_keras_poses(y_true, y_pred, "MPJPELoss")
        return _frame_mpjpe(y_true, y_pred)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MotionLoss(keras.losses.Loss):
    """MotionBERT's training loss for clips (lib/model/loss.py, train.py), also
    MotionAGFormer's and TCPFormer's:

        MPJPE + scale_weight * N-MPJPE (per-frame scale) + velocity_weight * MPJVE

    Args:
        scale_weight: float. `lambda_scale` (0.5 in the configs).
        velocity_weight: float. `lambda_3d_velocity` (20 in the configs).

    `call(y_true, y_pred)` with `(batch, T, J, 3)` clips returns `(batch,)`,
    reduced to the batch mean, which equals the official means over all frames.
    """

    def __init__(self, scale_weight=0.5, velocity_weight=20.0, name="motion_loss", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.scale_weight, self.velocity_weight = float(scale_weight), float(velocity_weight)

    def call(self, y_true, y_pred):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        _check_keras_poses(y_true, y_pred, "MotionLoss", min_rank=4)

        def mean_error(a, b):  # (B, T, J, C) -> (B,)
            return ops.mean(ops.sqrt(ops.sum(ops.square(a - b), axis=-1)), axis=(1, 2))

        loss = mean_error(y_pred, y_true)
        if self.scale_weight:
            norm_predicted = ops.mean(ops.sum(ops.square(y_pred), axis=3, keepdims=True), axis=2, keepdims=True)
            norm_target = ops.mean(ops.sum(y_true * y_pred, axis=3, keepdims=True), axis=2, keepdims=True)
            loss = loss + self.scale_weight * mean_error(norm_target / norm_predicted * y_pred, y_true)
        if self.velocity_weight and y_pred.shape[1] is not None and y_pred.shape[1] > 1:
            velocity = (y_pred[:, 1:] - y_pred[:, :-1]) - (y_true[:, 1:] - y_true[:, :-1])
            loss = loss + self.velocity_weight * ops.mean(ops.sqrt(ops.sum(ops.square(velocity), axis=-1)),
                                                           axis=(1, 2))
        return loss

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype,
                "scale_weight": self.scale_weight, "velocity_weight": self.velocity_weight}
