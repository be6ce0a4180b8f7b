"""Transformer layers shared by the attention lifters (MotionBERT,
MotionAGFormer, TCPFormer): the exact GELU, joint / frame embeddings,
spatial / temporal multi-head self-attention on (batch, frames, joints,
channels) tensors, and the fusion of two streams."""

from __future__ import annotations

import keras
from keras import ops

__all__ = ["gelu", "activation", "JointTimeEmbedding", "AxisSelfAttention", "FeedForward", "AdaptiveFusion",
           "SplitChannels"]


def gelu(x):
    """The exact GELU of torch's `nn.GELU()`, 0.5 x (1 + erf(x / sqrt 2)), spelt
    with `erf` (TensorFlow's own exact GELU uses `Erfc`, which ONNX lacks)."""
    return 0.5 * x * (1.0 + ops.erf(x * 0.7071067811865476))


def activation(name: str):
    """The MLP activation of an official config: "gelu" (exact) or "relu"."""
    if name == "gelu":
        return gelu
    if name == "relu":
        return keras.activations.relu
    raise ValueError(f"activation: expected 'gelu' or 'relu', found {name!r}.")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class JointTimeEmbedding(keras.layers.Layer):
    """Adds a learned per-joint and, optionally, per-frame embedding.

    Args:
        max_frames: int. Frames the temporal embedding covers (MotionBERT's
            `maxlen`); 0: no frame embedding (MotionAGFormer).
        num_joints: int.
        dim: int. Channels.

    Input: (B, T, J, dim), T <= max_frames. Output: the same shape,
    x + pos_embed[j] + temp_embed[t] (the first T frame embeddings, as the
    official `temp_embed[:, :F]`).
    """

    def __init__(self, max_frames, num_joints, dim, **kwargs):
        super().__init__(**kwargs)
        self.max_frames, self.num_joints, self.dim = int(max_frames), int(num_joints), int(dim)

    def build(self, input_shape):
        init = keras.initializers.TruncatedNormal(stddev=0.02)
        self.joint_embedding = self.add_weight(shape=(self.num_joints, self.dim), initializer=init,
                                               name="joint_embedding")
        self.frame_embedding = (self.add_weight(shape=(self.max_frames, self.dim), initializer=init,
                                                name="frame_embedding") if self.max_frames else None)

    def call(self, x):
        x = x + self.joint_embedding[None, None]
        if self.frame_embedding is None:
            return x
        frame = ops.convert_to_tensor(self.frame_embedding)[: ops.shape(x)[1]]
        return x + frame[None, :, None]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "max_frames": self.max_frames, "num_joints": self.num_joints,
                "dim": self.dim}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AxisSelfAttention(keras.layers.Layer):
    """Multi-head self-attention over the joints of each frame ("spatial") or
    over the frames of each joint ("temporal"): MotionBERT's `Attention` in its
    "spatial" / "temporal" modes, MotionAGFormer's and TCPFormer's `Attention`.

    Args:
        dim: int. Channels (heads * head_dim).
        num_heads: int. Defaults to 8.
        axis: "spatial" or "temporal".
        qkv_bias: bool. Defaults to True.
        qk_scale: float or None. None: head_dim ** -0.5.
        attention_dropout, dropout: float. On the attention weights and the output.

    Input and output: (B, T, J, dim). The fused q|k|v projection has its
    output channels ordered (q|k|v, head, head_dim), as the official one.
    """

    def __init__(self, dim, num_heads=8, axis="spatial", qkv_bias=True, qk_scale=None, attention_dropout=0.0,
                 dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if axis not in ("spatial", "temporal"):
            raise ValueError(f"AxisSelfAttention: `axis` must be 'spatial' or 'temporal', found {axis!r}.")
        if dim % num_heads:
            raise ValueError(f"AxisSelfAttention: dim {dim} is not divisible by num_heads {num_heads}.")
        self.dim, self.num_heads, self.axis = int(dim), int(num_heads), axis
        self.qkv_bias, self.qk_scale = bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout = float(attention_dropout), float(dropout)
        self.head_dim = self.dim // self.num_heads
        self.scale = qk_scale if qk_scale is not None else self.head_dim ** -0.5
        self.qkv = keras.layers.Dense(3 * self.dim, use_bias=self.qkv_bias, name="qkv", dtype=self.dtype_policy)
        self.proj = keras.layers.Dense(self.dim, name="proj", dtype=self.dtype_policy)
        self.attention_drop = keras.layers.Dropout(self.attention_dropout, dtype=self.dtype_policy)
        self.proj_drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.qkv.build(input_shape)
        self.proj.build(tuple(input_shape[:-1]) + (self.dim,))

    def call(self, x, prior=None, prior_weight=None, training=None):
        """x (B, T, J, dim) -> (B, T, J, dim). Temporal attention may blend its
        probabilities with a `prior` map (B, H, J, T, T): w * softmax + (1 - w)
        * prior, w = `prior_weight` (TCPFormer's `Sum_Attention`)."""
        shape = ops.shape(x)
        qkv = ops.reshape(self.qkv(x), (shape[0], shape[1], shape[2], 3, self.num_heads, self.head_dim))
        q, k, v = qkv[:, :, :, 0], qkv[:, :, :, 1], qkv[:, :, :, 2]  # (B, T, J, H, d)
        if self.axis == "spatial":  # attend over joints j -> i within frame t
            weights = ops.einsum("btihd,btjhd->bthij", q, k) * self.scale
            weights = self.attention_drop(ops.softmax(weights, axis=-1), training=training)
            out = ops.einsum("bthij,btjhd->btihd", weights, v)
        else:  # attend over frames s -> t of joint j
            weights = ops.einsum("btjhd,bsjhd->bhjts", q, k) * self.scale
            weights = self.attention_drop(ops.softmax(weights, axis=-1), training=training)
            if prior is not None:
                weights = self.attention_drop(prior_weight * weights + (1.0 - prior_weight) * prior,
                                              training=training)
            out = ops.einsum("bhjts,bsjhd->btjhd", weights, v)
        out = ops.reshape(out, (shape[0], shape[1], shape[2], self.dim))  # heads major, as the official
        return self.proj_drop(self.proj(out), training=training)

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return (*input_shape[:-1], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "axis": self.axis,
                "qkv_bias": self.qkv_bias, "qk_scale": self.qk_scale,
                "attention_dropout": self.attention_dropout, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class FeedForward(keras.layers.Layer):
    """The transformers' MLP: fc1 -> activation -> dropout -> fc2 -> dropout.

    Args:
        dim: int. In and out channels. hidden: int. Hidden channels.
        act_layer: "gelu" (exact) or "relu". Defaults to "gelu".
        dropout: float. Defaults to 0.

    Input and output: (..., dim). Sub-layers `fc1`, `fc2` (official names).
    """

    def __init__(self, dim, hidden, act_layer="gelu", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.hidden, self.act_layer, self.dropout = int(dim), int(hidden), act_layer, float(dropout)
        self.activation = activation(act_layer)
        self.fc1 = keras.layers.Dense(self.hidden, name="fc1", dtype=self.dtype_policy)
        self.fc2 = keras.layers.Dense(self.dim, name="fc2", dtype=self.dtype_policy)
        self.drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def build(self, input_shape):
        self.fc1.build(input_shape)
        self.fc2.build(tuple(input_shape[:-1]) + (self.hidden,))

    def call(self, x, training=None):
        hidden = self.drop(self.activation(self.fc1(x)), training=training)
        return self.drop(self.fc2(hidden), training=training)

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return (*input_shape[:-1], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "hidden": self.hidden, "act_layer": self.act_layer,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AdaptiveFusion(keras.layers.Layer):
    """Fuses the outputs of two streams per joint and frame.

    Args:
        learned: bool. True: softmax weights from a Dense(2) on the
            concatenated streams (MotionBERT's `ts_attn.<i>`, MotionAGFormer's
            `fusion`); False: their mean. Defaults to True.
        concatenate: bool. Concatenate the streams instead (hierarchical
            MotionAGFormer); with `learned`, the Dense(2) exists but is unused,
            as the official block keeps its `fusion` Linear. Defaults to False.

    Input: [a, b], each (B, T, J, C). Output: (B, T, J, C),
    w_0 * a + w_1 * b (or (a + b) / 2); concatenated: (B, T, J, 2C).
    """

    def __init__(self, learned=True, concatenate=False, **kwargs):
        super().__init__(**kwargs)
        self.learned, self.concatenate = bool(learned), bool(concatenate)
        self.weights_dense = (keras.layers.Dense(2, name="stream_weights", dtype=self.dtype_policy)
                              if self.learned else None)

    def build(self, input_shape):
        if self.learned:
            first = tuple(input_shape[0])
            self.weights_dense.build(first[:-1] + (2 * first[-1],))

    def call(self, inputs):
        a, b = inputs
        if self.concatenate:
            return ops.concatenate([a, b], axis=-1)
        if not self.learned:
            return (a + b) * 0.5
        alpha = ops.softmax(self.weights_dense(ops.concatenate([a, b], axis=-1)), axis=-1)
        return a * alpha[..., 0:1] + b * alpha[..., 1:2]

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        return first[:-1] + (2 * first[-1],) if self.concatenate else first

    def get_config(self):
        return {**super().get_config(), "learned": self.learned, "concatenate": self.concatenate}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SplitChannels(keras.layers.Layer):
    """Splits the channel axis into `parts` equal parts (a list of tensors)."""

    def __init__(self, parts=2, **kwargs):
        super().__init__(**kwargs)
        self.parts = int(parts)

    def call(self, x):
        return ops.split(x, self.parts, axis=-1)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return [shape[:-1] + (None if shape[-1] is None else shape[-1] // self.parts,)] * self.parts

    def get_config(self):
        return {**super().get_config(), "parts": self.parts}
