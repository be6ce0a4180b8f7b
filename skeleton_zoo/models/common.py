"""Pieces shared by model families: torch-compatible BatchNorm and 1x1 convs,
the shape-checked functional model base, the action models' per-person
stages (`PersonStages`) and the temporal-convolution lifter
base (GAST-Net, VideoPose3D) with its `TemporalBlock`, the dtype entry of
`get_config`, and BatchNorm folding for export."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from skeleton_zoo.tasks.pose_lifting import VARIANTS  # the lifters' variants are the task's

# PyTorch BatchNorm defaults, used by the official releases: torch's momentum
# 0.1 weighs the new batch, Keras' momentum weighs the running value.
BN_EPSILON = 1e-5
BN_MOMENTUM = 0.9


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class BatchNorm(keras.layers.BatchNormalization):
    """Keras' `BatchNormalization` with a shorter training step: the same
    statistics, moving-average updates and outputs, and its gradient written
    out instead of differentiated through `moments`. With per-channel
    a = gamma / sigma, n values per channel and the batch's mean m:

        dbeta = sum(dy),  dgamma = sum(dy (x - m)) / sigma,
        dx = a dy - (a dgamma / (n sigma)) (x - m) - a dbeta / n

    (the textbook a (dy - mean(dy) - x_hat mean(dy x_hat)) with per-channel
    factors, so x_hat is never materialised), without autodiff's broadcasts
    of the moments' gradients: forward + backward 1.2-1.5x faster on T-TR's
    activations (2 cores). Inference, synchronized (cross-replica)
    statistics, masks and renorm take Keras' own path.

    Input: (..., C) with `axis=-1` (any axis Keras accepts). Output: the
    input's shape, in the layer's compute dtype.
    """

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable) or mask is not None or self.renorm or self.synchronized:
            return super().call(inputs, training=training, mask=mask)
        # As Keras: statistics in float32 at least (float16 overflows).
        x = ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))
        axes = self._reduction_axes
        mean, variance = ops.moments(ops.stop_gradient(x), axes=axes, keepdims=True)
        for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            batch = ops.reshape(batch, moving.shape)
            moving.assign(moving * self.momentum + ops.cast(batch, moving.dtype) * (1.0 - self.momentum))
        shape = ops.shape(mean)
        gamma = ops.ones(shape, x.dtype) if self.gamma is None else ops.reshape(ops.cast(self.gamma, x.dtype), shape)
        beta = ops.zeros(shape, x.dtype) if self.beta is None else ops.reshape(ops.cast(self.beta, x.dtype), shape)
        epsilon = self.epsilon

        def normalize(x, gamma, beta, mean, variance):
            inverse_sigma = ops.rsqrt(variance + epsilon)
            scale = gamma * inverse_sigma
            y = x * scale + (beta - mean * scale)

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                dy = upstream
                count = ops.cast(ops.size(dy) // ops.size(mean), dy.dtype)
                centered = x - mean
                dbeta = ops.sum(dy, axis=axes, keepdims=True)
                dgamma = ops.sum(dy * centered, axis=axes, keepdims=True) * inverse_sigma
                dx = dy * scale - centered * (scale * dgamma * inverse_sigma / count) - scale * dbeta / count
                return dx, dgamma, dbeta, ops.zeros_like(mean), ops.zeros_like(variance)

            return y, grad

        y = ops.custom_gradient(normalize)(x, gamma, beta, mean, variance)
        return ops.cast(y, self.compute_dtype)


def batch_norm(name, dtype_policy=None, axis=-1):
    """A `BatchNorm` (Keras' `BatchNormalization`, faster in training) with torch's defaults."""
    return BatchNorm(axis=axis, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name, dtype=dtype_policy)


def pointwise(units, name, dtype_policy, use_bias=False):
    """A 1x1 convolution over the channel axis (a `Dense`), He-initialised as torch's convs."""
    return keras.layers.Dense(
        units, use_bias=use_bias, kernel_initializer="he_normal", name=name, dtype=dtype_policy
    )


def dtype_config(dtype) -> str:
    """The name of the dtype policy a model is built with (None: the global
    policy at build time), for `get_config`: a `dtype="mixed_bfloat16"` model
    comes back from `.keras` with its policy. (The name, not Keras'
    serialised dict: serialising imports TensorFlow even on the JAX backend.)"""
    return keras.dtype_policies.get(dtype).name


class ShapeCheckedModel(keras.Model):
    """A functional model that validates input shapes before Keras does, so a
    wrong joint count or clip length gets an error that names the model and
    says what was expected. Subclasses define `check_input_shape(shape)` and
    a `get_config` of constructor arguments.

    The check runs in `__call__` (before Keras' own input checks) and in
    `call` (which the JAX backend's `predict` / `fit` steps call directly).
    A model built with a mixed policy (`dtype="mixed_bfloat16"` /
    `"mixed_float16"`) returns float32 outputs."""

    def check_input_shape(self, shape) -> None:
        raise NotImplementedError

    def _check(self, inputs) -> None:
        shape = getattr(inputs, "shape", None)
        if shape is None and not isinstance(inputs, (dict, tuple, list)):
            shape = np.shape(inputs)
        if shape is not None:
            shape = tuple(shape)
            if shape and shape[0] == 0:
                raise ValueError(f"{type(self).__name__} '{self.name}': the batch is empty (input shape {shape}); "
                                 f"pass at least one sample.")
            self.check_input_shape(shape)

    def __call__(self, inputs, *args, **kwargs):
        self._check(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=None, mask=None, **kwargs):
        self._check(inputs)
        outputs = super().call(inputs, training=training, mask=mask, **kwargs)
        if str(getattr(self, "_dtype_config", "")).startswith("mixed_"):
            # Mixed precision computes in float16 / bfloat16 but answers in
            # float32 (Keras' advice for the last layer): losses, metrics
            # (top-k) and callers get the variables' precision.
            outputs = keras.tree.map_structure(
                lambda t: ops.cast(t, "float32") if keras.backend.standardize_dtype(t.dtype) in ("float16", "bfloat16")
                else t, outputs)
        return outputs

    def predict(self, x, *args, **kwargs):
        if hasattr(x, "shape"):  # arrays (a dataset or generator is checked batch by batch)
            self._check(x)
        return super().predict(x, *args, **kwargs)

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class PersonStages:
    """An action model's graph cut where persons are separate: what each
    person's features depend on, and what mixes them (`person_stages()` of
    the action models; used by `inference.empty_persons`).

    Every stage shares the model's layers (sub-models of its functional graph).

    - `prepare(skeleton (B, T, V, M, C))` -> list of per-person tensors
      (B * M, T, ...): everything before the persons are folded into the
      batch, the fold, and per-slot steps such as an (M, V, C) data BN; row
      b * M + m is person m of sample b.
    - `person_features(list of (N, T, ...))` -> (N, F): the backbone and the
      pooling over frames and joints of N person rows, row by row.
    - `head((B, M, F))` -> logits (B, num_classes): the mean over persons and
      the classifier.

    In inference, head(person_features(prepare(x)) as (B, M, F)) equals
    model(x) up to float rounding (the person mean taken after, not with, the
    frame mean).

    Args:
        model: a functional action model (input (B, T, V, M, C)).
        fold_layers: names of its layers whose outputs are the per-person
            inputs of its backbone (the persons folded into the batch), in the
            order `person_features` takes them.
        pool_layer: name of its pooling layer: input (B * M, T', V, C'),
            output (B, F); it has `person_features((B * M, T', V, C'))` ->
            (B * M, F), its pooling without the mean over persons.

    Attributes: `preparation` (the model of `prepare`), `backbone`
    (per-person tensors -> pooling input), `classifier` ((B, F) -> logits)
    keras models; `pool`; `num_persons`; `num_features` (F).
    """

    def __init__(self, model, fold_layers, pool_layer):
        folded = [model.get_layer(name).output for name in fold_layers]
        self.pool = model.get_layer(pool_layer)
        self.num_persons = int(model.num_persons)
        self.num_features = int(self.pool.output.shape[-1])
        self.preparation = keras.Model(model.input, folded, name=f"{model.name}_prepare")
        self.backbone = keras.Model(folded, self.pool.input, name=f"{model.name}_person_backbone")
        self.classifier = keras.Model(self.pool.output, model.output, name=f"{model.name}_classifier")

    def prepare(self, skeleton, training=False) -> list:
        """(B, T, V, M, C) -> list of per-person tensors (B * M, T, ...)."""
        return keras.tree.flatten(self.preparation(skeleton, training=training))

    def person_features(self, per_person, training=False):
        """list of (N, T, ...) person rows (as `prepare` gives them) -> (N, F)."""
        return self.pool.person_features(self.backbone(list(per_person), training=training))

    def head(self, features, training=False):
        """(B, M, F) per-person features -> (B, num_classes) logits."""
        return self.classifier(ops.mean(features, axis=1), training=training)


class ClipLifter(ShapeCheckedModel):
    """Base of the sequence-to-sequence lifters (MotionBERT, MotionAGFormer,
    TCPFormer): the pose-lifting contract of a clip model and its input check.

    Subclasses set `layout`, `dim_in`, `clip_length` (frames of one call) and
    `fixed_clip` (True: exactly `clip_length` frames; False: 1 to
    `clip_length`), and name the layer whose output is the representation
    (`REPRESENTATION_LAYER`).

    Input: (B, T, J, dim_in). Output: (B, T, J, 3).
    """

    REPRESENTATION_LAYER = "rep_logit"
    causal = False

    @property
    def clip_frames(self) -> int:
        """The clip length of one call (every output frame sees the whole clip)."""
        return self.clip_length

    @property
    def receptive_field(self) -> int:
        return self.clip_length

    @property
    def in_features(self) -> int:
        return self.dim_in

    def representation_model(self) -> keras.Model:
        """keypoints_2d (B, T, J, dim_in) -> representation (B, T, J, dim_rep),
        after the tanh (official `get_representation` / `return_rep=True`),
        sharing this model's weights."""
        return keras.Model(self.input, self.get_layer(self.REPRESENTATION_LAYER).output,
                           name=f"{self.name}_representation")

    def check_input_shape(self, shape):
        where, joints = f"{type(self).__name__} '{self.name}'", self.layout.num_joints
        frames = str(self.clip_length) if self.fixed_clip else f"frames <= {self.clip_length}"
        expected = f"(batch, {frames}, {joints}, {self.dim_in})"
        if len(shape) != 4:
            raise ValueError(f"{where}: expected input of rank 4 {expected}, found shape {shape}.")
        if shape[2] is not None and shape[2] != joints:
            raise ValueError(f"{where}: expected {joints} joints (layout '{self.layout.name}') on axis 2 of input "
                             f"{expected}, found {shape[2]} (shape {shape}).")
        if shape[3] is not None and shape[3] != self.dim_in:
            raise ValueError(f"{where}: expected {self.dim_in} values per joint on axis 3 of input {expected}, "
                             f"found {shape[3]} (shape {shape}).")
        if shape[1] is not None and (shape[1] != self.clip_length if self.fixed_clip
                                     else not 1 <= shape[1] <= self.clip_length):
            wanted = f"exactly {self.clip_length}" if self.fixed_clip else f"1 to {self.clip_length}"
            raise ValueError(f"{where}: expected {wanted} frames on axis 1 of input {expected}, found {shape[1]} "
                             f"(shape {shape}); run longer sequences in clips "
                             f"(skeleton_zoo.evaluation.protocols.predict_sequences).")


def linear_fold(bn, layer):
    """A `_batch_norm_folds` entry for a Dense or Conv2D followed by `bn`."""
    return bn, [layer.kernel], layer.bias if layer.use_bias else None


def fold_batch_norms(model) -> int:
    """Folds every inference BatchNorm that follows a linear layer into that
    layer's weights, in place, for export and inference.

    Layers declare their (BatchNorm, kernels, bias) pairs in
    `_batch_norm_folds()`; every kernel has the output channel last. With
    s = gamma / sqrt(var + eps), each kernel becomes kernel * s and the BN
    becomes the bias add `y + beta - mean * s` (folded into the layer's own
    bias when it has one, leaving the BN an identity). The outputs stay the
    same up to float rounding; each BN's multiply and subtract disappear.

    The folded model is for inference only: its BN layers ignore `training`
    and no longer update statistics. Do not fine-tune or save it as a
    training checkpoint.

    Args:
        model: a built Keras model or layer.

    Returns:
        The number of BatchNorm layers folded.

    Raises:
        ValueError: the model was folded already.
    """
    if getattr(model, "_batch_norms_folded", False):
        raise ValueError(f"fold_batch_norms: '{model.name}' is folded already.")
    folded = 0
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for bn, kernels, bias in getattr(layer, "_batch_norm_folds", lambda: [])():
            gamma, beta, mean, variance = (
                np.asarray(w, np.float64) for w in (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)
            )
            scale = gamma / np.sqrt(variance + bn.epsilon)
            shift = beta - mean * scale
            for kernel in kernels:
                kernel.assign((np.asarray(kernel, np.float64) * scale).astype(kernel.dtype))
            if bias is not None:
                value = np.asarray(bias, np.float64) * scale
                value.reshape(-1, value.shape[-1])[0] += shift  # summed biases (K, C): once
                bias.assign(value.astype(bias.dtype))
                _replace_call(bn, None)
            else:
                bn.beta.assign(shift.astype(bn.beta.dtype))
                _replace_call(bn, bn.beta)
            folded += 1
    model._batch_norms_folded = True
    return folded


def _replace_call(bn, offset) -> None:
    """Turns a folded BN into `x` (offset None) or `x + offset`."""

    def call(inputs, training=None, mask=None):
        if offset is None:
            return inputs
        return inputs + keras.ops.cast(offset, inputs.dtype)

    bn.call = call


class TemporalConvLifter(ShapeCheckedModel):
    """Base of the temporal-convolution lifters (VideoPose3D, GAST-Net):
    stages of odd `filter_widths`, dilated in the "sequence" variant and
    strided in the "single_frame" one (same weights).

    Subclasses set `filter_widths`, `channels`, `layout`, `in_features`,
    `variant`, `causal`, `dropout` and `_dtype_config`, and add their own
    entries to `get_config`. Input (batch, frames, joints, in_features);
    output (batch, frames - receptive_field + 1, joints, 3).
    """

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "filter_widths": list(self.filter_widths),
            "channels": self.channels,
            "layout": self.layout.to_config(),
            "variant": self.variant,
            "causal": self.causal,
            "dropout": self.dropout,
            "in_features": self.in_features,
            "dtype": self._dtype_config,
        }

    @staticmethod
    def check_config(name, filter_widths, variant) -> tuple[int, ...]:
        """The widths as ints; ValueError for even or empty widths or an unknown variant."""
        widths = tuple(int(w) for w in filter_widths)
        if not widths or any(w < 1 or w % 2 == 0 for w in widths):
            raise ValueError(f"{name}: `filter_widths` must be a non-empty list of odd positive widths, "
                             f"found {list(widths)}.")
        if variant not in VARIANTS:
            raise ValueError(f"{name}: `variant` must be one of {VARIANTS}, found {variant!r}.")
        return widths

    @classmethod
    def from_preset(cls, preset, variant="sequence", layout=None, **overrides):
        """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
        config = dict(preset.config, variant=variant, **overrides)
        if layout is not None:
            config["layout"] = layout
        return cls(name=preset.name, **config)

    @property
    def receptive_field(self) -> int:
        """Input frames that produce one output frame."""
        return math.prod(self.filter_widths)

    def _batch_norm_folds(self):  # the expand conv; see fold_batch_norms
        return [linear_fold(self.get_layer("expand_bn"), self.get_layer("expand_conv"))]

    @property
    def causal_shift(self) -> int:
        """Frames of look-back beyond the centre: pad a clip by this many
        extra frames at the start (and as many fewer at the end) so output
        frame t only sees input frames <= t. 0 for non-causal models."""
        return (self.receptive_field - 1) // 2 if self.causal else 0

    def check_input_shape(self, shape) -> None:
        """Raises ValueError unless `shape` fits (batch, frames, joints, in_features).

        Unknown (None) dimensions are accepted.
        """
        where = f"{type(self).__name__} '{self.name}'"
        joints_in = self.layout.num_joints
        expected = f"(batch, frames, {joints_in}, {self.in_features})"
        shape = tuple(shape)
        if len(shape) != 4:
            raise ValueError(f"{where}: expected input of rank 4 {expected}, found shape {shape}.")
        _, frames, joints, features = shape
        if joints is not None and joints != joints_in:
            raise ValueError(
                f"{where}: expected {joints_in} joints (layout '{self.layout.name}') in input of shape "
                f"{expected}, found {joints} joints (shape {shape}). Build the model with a matching `layout=`.")
        if features is not None and features != self.in_features:
            raise ValueError(f"{where}: expected {self.in_features} coordinates per joint {expected}, "
                             f"found {features} (shape {shape}).")
        if frames is None:
            return
        rf = self.receptive_field
        if self.variant == "sequence" and frames < rf:
            raise ValueError(
                f"{where}: the sequence is {frames} frames long, shorter than the receptive "
                f"field of {rf} frames. Pad the clip (e.g. edge padding) to at least {rf} frames.")
        if self.variant == "single_frame" and frames != rf:
            raise ValueError(
                f"{where}: the single_frame variant takes exactly one receptive field of "
                f"{rf} frames, found {frames} (shape {shape}). Use variant='sequence' "
                f"for clips of any length.")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class TemporalBlock(keras.layers.Layer):
    """One temporal stage of VideoPose3D and GAST-Net.

        y = res + Dropout(ReLU(BN(W2 D(ReLU(BN(W1 * x))))))

    with D a dropout when `dropout_inside` (VideoPose3D) and the identity
    otherwise (GAST-Net).

    W1 is a (width x 1) temporal conv, W2 a 1x1 conv, both without bias. The
    two variants share weights and differ only in how W1 walks over time:

    - "sequence": W1 dilated by `dilation`; `res` is x without `pad` frames
      each side, pad = (width - 1) * dilation / 2 (causal: without 2 * pad
      at the start). Output frames: T - 2 * pad.
    - "single_frame": W1 strided by `width`; `res` takes every width-th frame
      starting at the centre (causal: the last) of each group. Output
      frames: T / width.

    Args:
        channels: int. C, kept unchanged.
        width: int. Odd temporal kernel width.
        dilation: int. Dilation in the sequence variant (the product of the
            widths of earlier stages).
        variant: "sequence" or "single_frame".
        causal: bool. Use only past frames. Defaults to False.
        dropout: float. Defaults to 0.
        dropout_inside: bool. Also drop out after the temporal conv (as
            VideoPose3D). Defaults to False (GAST-Net).

    Input: (B, T, V, C). Output: (B, T', V, C).
    """

    def __init__(self, channels, width, dilation, variant="sequence", causal=False, dropout=0.0,
                 dropout_inside=False, **kwargs):
        super().__init__(**kwargs)
        if variant not in VARIANTS:
            raise ValueError(f"TemporalBlock: `variant` must be one of {VARIANTS}, found {variant!r}.")
        if width % 2 == 0:
            raise ValueError(f"TemporalBlock: `width` must be odd, found {width}.")
        # === Config ===
        self.channels = int(channels)
        self.width = int(width)
        self.dilation = int(dilation)
        self.variant = variant
        self.causal = bool(causal)
        self.dropout = float(dropout)
        self.dropout_inside = bool(dropout_inside)
        # === Layers ===
        policy = self.dtype_policy
        sequence = variant == "sequence"
        self.temporal_conv = keras.layers.Conv2D(
            self.channels,
            (self.width, 1),
            strides=(1, 1) if sequence else (self.width, 1),
            dilation_rate=(self.dilation, 1) if sequence else (1, 1),
            use_bias=False,
            kernel_initializer="he_normal",
            name="temporal_conv",
            dtype=policy,
        )
        self.temporal_bn = batch_norm("temporal_bn", policy)
        self.pointwise_conv = pointwise(self.channels, "pointwise_conv", policy)
        self.pointwise_bn = batch_norm("pointwise_bn", policy)
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)

    @property
    def pad(self) -> int:
        return (self.width - 1) * self.dilation // 2

    def build(self, input_shape):
        self.temporal_conv.build(input_shape)
        shape = (input_shape[0], None, *input_shape[2:])
        for layer in (self.temporal_bn, self.pointwise_conv, self.pointwise_bn):
            layer.build(shape)

    def residual(self, x):
        if self.variant == "single_frame":
            start = self.width // 2 + (self.width // 2 if self.causal else 0)
            return x[:, start :: self.width]
        if self.causal:
            return x[:, 2 * self.pad :]
        return x[:, self.pad : ops.shape(x)[1] - self.pad]

    def call(self, x, training=None):
        res = self.residual(x)
        y = ops.relu(self.temporal_bn(self.temporal_conv(x), training=training))
        if self.dropout_inside:
            y = self.drop(y, training=training)
        y = ops.relu(self.pointwise_bn(self.pointwise_conv(y), training=training))
        return res + self.drop(y, training=training)

    def _batch_norm_folds(self):  # see fold_batch_norms
        return [linear_fold(self.temporal_bn, self.temporal_conv),
                linear_fold(self.pointwise_bn, self.pointwise_conv)]

    def compute_output_shape(self, input_shape):
        return self.temporal_conv.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "width": self.width,
                "dilation": self.dilation,
                "variant": self.variant,
                "causal": self.causal,
                "dropout": self.dropout,
                "dropout_inside": self.dropout_inside,
            }
        )
        return config


def official_temporal_block_rules(block, j: int, torch_conv_dims: int):
    """Official keys of a `TemporalBlock` in VideoPose3D's naming (GAST-Net
    kept it): `layers_conv.{j}` (the temporal conv: torch Conv1d (C, C, w) or
    Conv2d (C, C, w, 1)), `layers_bn.{j}`, `layers_conv.{j+1}` (1x1),
    `layers_bn.{j+1}`."""
    from skeleton_zoo.weights import state_dict as sd

    w, _, c_in, c_out = block.temporal_conv.kernel.shape
    torch_shape = (c_out, c_in, w) + (1,) * (torch_conv_dims - 1)
    return [
        sd.Rule(block.temporal_conv.kernel, [f"layers_conv.{j}.weight"], [torch_shape],
                lambda a: a.reshape(c_out, c_in, w).transpose(2, 1, 0)[:, None]),
        *sd.batch_norm(block.temporal_bn, f"layers_bn.{j}"),
        *sd.pointwise(block.pointwise_conv, f"layers_conv.{j + 1}", torch_kernel_dims=torch_conv_dims),
        *sd.batch_norm(block.pointwise_bn, f"layers_bn.{j + 1}"),
    ]
