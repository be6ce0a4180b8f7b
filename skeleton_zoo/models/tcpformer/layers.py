"""TCPFormer's layers: the memory pose queries, chunk-local temporal
attention, cross-attention between the queries and the sequence, and the
memory-induced block that blends self-attention with the attention the
queries induce.

Tensors are (batch, frames, joints, channels); attention maps are
(batch, heads, joints, query frames, key frames), as the official code's.
"""

from __future__ import annotations

import keras
from keras import ops

from skeleton_zoo.models.attention import AxisSelfAttention, FeedForward

__all__ = ["PoseQueries", "ChunkedTemporalAttention", "CrossAttention", "MemoryInducedBlock"]


def _layer_norm(name, dtype):
    return keras.layers.LayerNormalization(epsilon=1e-5, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class PoseQueries(keras.layers.Layer):
    """The learned temporal pose queries (official `center_pose` + `center_pos_embed`).

    Args:
        num_queries: int. Query frames (official int(n_frames / 3)).
        num_joints: int. dim: int.

    Input: any (B, ...) tensor (for the batch size). Output: (B, num_queries, J, dim).
    """

    def __init__(self, num_queries, num_joints, dim, **kwargs):
        super().__init__(**kwargs)
        self.num_queries, self.num_joints, self.dim = int(num_queries), int(num_joints), int(dim)

    def build(self, input_shape):
        self.center_pose = self.add_weight(shape=(self.num_queries, self.num_joints, self.dim),
                                           initializer=keras.initializers.RandomNormal(stddev=1.0), name="center_pose")
        self.center_pos_embed = self.add_weight(shape=(self.num_joints, self.dim), initializer="zeros",
                                                name="center_pos_embed")

    def call(self, x):
        queries = (self.center_pose + self.center_pos_embed[None])[None]
        return ops.broadcast_to(queries, (ops.shape(x)[0], self.num_queries, self.num_joints, self.dim))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_queries, self.num_joints, self.dim)

    def get_config(self):
        return {**super().get_config(), "num_queries": self.num_queries, "num_joints": self.num_joints,
                "dim": self.dim}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class ChunkedTemporalAttention(keras.layers.Layer):
    """The local part of the official `MemoryInducedBlock`: the clip cut into
    three equal time chunks, each with its own pre-norm temporal attention and
    MLP, scaled by `local_scale`.

    Args:
        dim, num_heads, mlp_ratio, act_layer, qkv_bias, qk_scale,
        attention_dropout, dropout: the units' settings.
        local_scale: float. The official block's six scales are a plain Python
            list (never saved or trained), always `layer_scale_init_value`.

    Input and output: (B, T, J, dim), T divisible by 3.
    """

    def __init__(self, dim, num_heads=8, mlp_ratio=4.0, act_layer="gelu", qkv_bias=False, qk_scale=None,
                 attention_dropout=0.0, dropout=0.0, local_scale=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.mlp_ratio, self.act_layer = int(dim), int(num_heads), float(mlp_ratio), act_layer
        self.qkv_bias, self.qk_scale = bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout, self.local_scale = float(attention_dropout), float(dropout), float(local_scale)
        policy = self.dtype_policy
        self.attentions = [AxisSelfAttention(self.dim, self.num_heads, "temporal", self.qkv_bias, qk_scale,
                                             self.attention_dropout, self.dropout, name=f"local_attention_{i}",
                                             dtype=policy) for i in range(3)]
        self.mlps = [FeedForward(self.dim, int(self.dim * self.mlp_ratio), act_layer, self.dropout,
                                 name=f"local_mlp_{i}", dtype=policy) for i in range(3)]
        self.norms = [_layer_norm(f"local_norm_{i}", policy) for i in range(6)]

    def build(self, input_shape):
        for layer in (*self.attentions, *self.mlps, *self.norms):
            layer.build(input_shape)

    def call(self, x, training=None):
        chunks = ops.split(x, 3, axis=1)
        for i in range(3):
            chunks[i] = chunks[i] + self.local_scale * self.attentions[i](self.norms[i](chunks[i]), training=training)
            chunks[i] = chunks[i] + self.local_scale * self.mlps[i](self.norms[i + 3](chunks[i]), training=training)
        return ops.concatenate(chunks, axis=1)

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio,
                "act_layer": self.act_layer, "qkv_bias": self.qkv_bias, "qk_scale": self.qk_scale,
                "attention_dropout": self.attention_dropout, "dropout": self.dropout, "local_scale": self.local_scale}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class CrossAttention(keras.layers.Layer):
    """Multi-head attention of one sequence's frames over another's, per joint
    (official `CrossAttention`, separate `wq`, `wk`, `wv`).

    Args:
        dim: int. num_heads: int. qkv_bias: bool. qk_scale: float or None.
        attention_dropout, dropout: float.

    Call: `(query (B, Tq, J, dim), context (B, Tk, J, dim))` ->
    `(attention (B, H, J, Tq, Tk), output (B, Tq, J, dim))`.
    """

    def __init__(self, dim, num_heads=8, qkv_bias=False, qk_scale=None, attention_dropout=0.0, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.qkv_bias, self.qk_scale = int(dim), int(num_heads), bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout = float(attention_dropout), float(dropout)
        self.head_dim = self.dim // self.num_heads
        self.scale = qk_scale if qk_scale is not None else self.head_dim ** -0.5
        policy = self.dtype_policy
        self.wq, self.wk, self.wv = (keras.layers.Dense(self.dim, use_bias=self.qkv_bias, name=n, dtype=policy)
                                     for n in ("wq", "wk", "wv"))
        self.proj = keras.layers.Dense(self.dim, name="proj", dtype=policy)
        self.attention_drop = keras.layers.Dropout(self.attention_dropout, dtype=policy)
        self.proj_drop = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, query_shape, context_shape=None):
        for layer in (self.wq, self.wk, self.wv, self.proj):
            layer.build(query_shape)

    def _heads(self, x):
        shape = ops.shape(x)
        return ops.reshape(x, (shape[0], shape[1], shape[2], self.num_heads, self.head_dim))

    def call(self, query, context, training=None):
        q, k, v = self._heads(self.wq(query)), self._heads(self.wk(context)), self._heads(self.wv(context))
        attention = ops.softmax(ops.einsum("btjhd,bsjhd->bhjts", q, k) * self.scale, axis=-1)
        attention = self.attention_drop(attention, training=training)
        out = ops.einsum("bhjts,bsjhd->btjhd", attention, v)
        shape = ops.shape(query)
        return attention, self.proj_drop(self.proj(ops.reshape(out, shape[:3] + (self.dim,))), training=training)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "qkv_bias": self.qkv_bias,
                "qk_scale": self.qk_scale, "attention_dropout": self.attention_dropout, "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MemoryInducedBlock(keras.layers.Layer):
    """The official `MIBlock` (`cross_temporal`): the pose queries attend to
    the sequence, the sequence to the updated queries, and the product of the
    two maps (B, H, J, T, T) is blended, with weight 1 - sigmoid(att_weight),
    into a temporal self-attention of the sequence.

        q += s1 * center_full(norm_center(q), norm_full(x));  q += s2 * mlp_1(norm_1(q))
        x += s3 * full_center(norm_full(x), norm_center(q));  x += s4 * mlp_2(norm_2(x))
        x += s7 * map_sa_self(norm_sa_self(x));               x += s8 * mlp_sa_self(norm_mlp_self(x))
        x += s5 * map_sum(norm_sa_1(x), A2 @ A1, sigmoid(att_weight));  x += s6 * mlp_sa(norm_sa_2(x))

    With `use_layer_scale=False` the official block returns its inputs
    unchanged, and so does this one.

    Args:
        dim, num_heads, mlp_ratio, act_layer, qkv_bias, qk_scale,
        attention_dropout, dropout: the settings of its units.
        use_layer_scale: bool. layer_scale_init_value: float.

    Call: `[x (B, T, J, dim), queries (B, Tq, J, dim)]` -> `[x, queries]`, same shapes.
    """

    MLPS = ("mlp_1", "mlp_2", "mlp_sa_self", "mlp_sa")
    NORMS = ("norm_full", "norm_center", "norm_1", "norm_2", "norm_sa_self", "norm_mlp_self", "norm_sa_1", "norm_sa_2")

    def __init__(self, dim, num_heads=8, mlp_ratio=4.0, act_layer="gelu", qkv_bias=False, qk_scale=None,
                 attention_dropout=0.0, dropout=0.0, use_layer_scale=True, layer_scale_init_value=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.num_heads, self.mlp_ratio, self.act_layer = int(dim), int(num_heads), float(mlp_ratio), act_layer
        self.qkv_bias, self.qk_scale = bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout = float(attention_dropout), float(dropout)
        self.use_layer_scale, self.layer_scale_init_value = bool(use_layer_scale), float(layer_scale_init_value)
        policy = self.dtype_policy
        attention = dict(qkv_bias=self.qkv_bias, qk_scale=qk_scale, attention_dropout=self.attention_dropout,
                         dropout=self.dropout, dtype=policy)
        self.center_full = CrossAttention(self.dim, self.num_heads, name="center_full", **attention)
        self.full_center = CrossAttention(self.dim, self.num_heads, name="full_center", **attention)
        self.map_sa_self = AxisSelfAttention(self.dim, self.num_heads, "temporal", name="map_sa_self", **attention)
        self.map_sum = AxisSelfAttention(self.dim, self.num_heads, "temporal", name="map_sum", **attention)
        hidden = int(self.dim * self.mlp_ratio)
        for name in self.MLPS:
            setattr(self, name, FeedForward(self.dim, hidden, act_layer, self.dropout, name=name, dtype=policy))
        for name in self.NORMS:
            setattr(self, name, _layer_norm(name, policy))

    def build(self, x_shape, queries_shape=None):
        queries_shape = queries_shape or x_shape
        for layer in (self.center_full, self.mlp_1, self.norm_center, self.norm_1):
            layer.build(queries_shape)
        for layer in (self.full_center, self.map_sa_self, self.map_sum, self.mlp_2, self.mlp_sa_self, self.mlp_sa,
                      self.norm_full, self.norm_2, self.norm_sa_self, self.norm_mlp_self, self.norm_sa_1,
                      self.norm_sa_2):
            layer.build(x_shape)
        init = keras.initializers.Constant(self.layer_scale_init_value)
        self.layer_scales = ([self.add_weight(shape=(self.dim,), initializer=init, name=f"layer_scale_{i}")
                              for i in range(1, 9)] if self.use_layer_scale else [])
        self.att_weight = self.add_weight(shape=(1,), initializer="uniform", name="att_weight")

    def call(self, x, queries, training=None):
        if not self.use_layer_scale:
            return x, queries
        s1, s2, s3, s4, s5, s6, s7, s8 = self.layer_scales
        map_1, out = self.center_full(self.norm_center(queries), self.norm_full(x), training=training)
        queries = queries + s1 * out
        queries = queries + s2 * self.mlp_1(self.norm_1(queries), training=training)
        map_2, out = self.full_center(self.norm_full(x), self.norm_center(queries), training=training)
        x = x + s3 * out
        x = x + s4 * self.mlp_2(self.norm_2(x), training=training)
        induced = ops.matmul(map_2, map_1)  # (B, H, J, T, Tq) @ (B, H, J, Tq, T)
        x = x + s7 * self.map_sa_self(self.norm_sa_self(x), training=training)
        x = x + s8 * self.mlp_sa_self(self.norm_mlp_self(x), training=training)
        weight = ops.sigmoid(self.att_weight)
        x = x + s5 * self.map_sum(self.norm_sa_1(x), prior=induced, prior_weight=weight, training=training)
        x = x + s6 * self.mlp_sa(self.norm_sa_2(x), training=training)
        return x, queries

    def compute_output_shape(self, x_shape, queries_shape):
        return x_shape, queries_shape

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio,
                "act_layer": self.act_layer, "qkv_bias": self.qkv_bias, "qk_scale": self.qk_scale,
                "attention_dropout": self.attention_dropout, "dropout": self.dropout,
                "use_layer_scale": self.use_layer_scale, "layer_scale_init_value": self.layer_scale_init_value}
