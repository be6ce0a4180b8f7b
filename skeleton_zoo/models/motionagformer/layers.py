"""MotionAGFormer's layers: the graph-convolution mixer (fixed skeleton
graph, fixed temporal band, or the temporal K-nearest-neighbour graph), the
multi-scale temporal convolution, and the AGFormer unit (pre-norm mixer + MLP
with layer scale) that wraps attention, graph or MS-TCN mixers.

Tensors are (batch, frames, joints, channels) throughout.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from skeleton_zoo.models.attention import AxisSelfAttention, activation
from skeleton_zoo.models.common import batch_norm

__all__ = ["SKELETON_CONNECTIONS", "spatial_adjacency", "temporal_band_adjacency", "normalize_adjacency",
           "GraphConvMixer", "MultiScaleTCN", "AGFormerUnit"]

# The official graph (model/modules/graph.py CONNECTIONS): joint i aggregates
# the joints listed; no self loops, and not symmetric (the pelvis does not
# aggregate joint 4, the thorax not the shoulders 11 and 14).
SKELETON_CONNECTIONS = {10: [9], 9: [8, 10], 8: [7, 9], 14: [15, 8], 15: [16, 14], 11: [12, 8], 12: [13, 11],
                        7: [0, 8], 0: [1, 7], 1: [2, 0], 2: [3, 1], 4: [5, 0], 5: [6, 4], 16: [15], 13: [12],
                        3: [2], 6: [5]}


def spatial_adjacency(num_joints: int = 17) -> np.ndarray:
    """The official (J, J) skeleton adjacency, A[i, j] = 1 for j in CONNECTIONS[i]."""
    if num_joints != len(SKELETON_CONNECTIONS):
        raise ValueError(f"MotionAGFormer's skeleton graph has {len(SKELETON_CONNECTIONS)} joints (Human3.6M-17), "
                         f"found {num_joints}.")
    adj = np.zeros((num_joints, num_joints), np.float32)
    for i, neighbours in SKELETON_CONNECTIONS.items():
        adj[i, neighbours] = 1
    return adj


def temporal_band_adjacency(num_frames: int, connection_length: int) -> np.ndarray:
    """(T, T): frame t connected to itself and the next `connection_length` frames (a directed band)."""
    adj = np.zeros((num_frames, num_frames), np.float32)
    for i in range(num_frames):
        adj[i, i : i + connection_length + 1] = 1
    return adj


def normalize_adjacency(adj):
    """D^-1/2 A D^-1/2 with D the row sums (of the last axis), as the official
    `normalize_digraph`. A numpy array stays numpy (a fixed graph becomes a
    constant of the exported graph, not a captured tensor)."""
    if isinstance(adj, np.ndarray):
        inv_sqrt = adj.sum(axis=-1) ** -0.5
        return (inv_sqrt[..., :, None] * adj * inv_sqrt[..., None, :]).astype(np.float32)
    inv_sqrt = ops.sum(adj, axis=-1) ** -0.5
    return inv_sqrt[..., :, None] * adj * inv_sqrt[..., None, :]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GraphConvMixer(keras.layers.Layer):
    """The official `GCN`: x -> relu(x + BN(norm_adj @ V(x) + U(x))).

    Args:
        dim: int. Channels (in and out).
        axis: "spatial" (a graph over the joints of each frame) or "temporal"
            (over the frames of each joint).
        num_nodes: int. Joints (spatial) or frames (temporal): the BatchNorm
            normalises per node (the official `BatchNorm1d(num_nodes)`), so a
            temporal mixer fixes the clip length.
        use_temporal_similarity: bool. Temporal: connect each frame to the
            frames whose features have a dot product >= the k-th largest of its
            row (self included; ties add neighbours). Defaults to True.
        neighbour_num: int. k. Defaults to 4.
        temporal_connection_len: int. Without similarity: frame t connects to
            t .. t + len. Defaults to 1.

    Input and output: (B, T, J, dim).
    """

    def __init__(self, dim, axis="spatial", num_nodes=17, use_temporal_similarity=True, neighbour_num=4,
                 temporal_connection_len=1, **kwargs):
        super().__init__(**kwargs)
        if axis not in ("spatial", "temporal"):
            raise ValueError(f"GraphConvMixer: `axis` must be 'spatial' or 'temporal', found {axis!r}.")
        self.dim, self.axis, self.num_nodes = int(dim), axis, int(num_nodes)
        self.use_temporal_similarity = bool(use_temporal_similarity)
        self.neighbour_num, self.temporal_connection_len = int(neighbour_num), int(temporal_connection_len)
        policy = self.dtype_policy
        self.U = keras.layers.Dense(self.dim, kernel_initializer="he_normal", name="U", dtype=policy)
        self.V = keras.layers.Dense(self.dim, kernel_initializer="he_normal", name="V", dtype=policy)
        self.batch_norm = batch_norm("batch_norm", policy, axis=2 if axis == "spatial" else 1)
        self.knn = axis == "temporal" and self.use_temporal_similarity
        if self.knn:
            self.adjacency = None
        elif axis == "spatial":
            self.adjacency = normalize_adjacency(spatial_adjacency(self.num_nodes))
        else:
            self.adjacency = normalize_adjacency(temporal_band_adjacency(self.num_nodes, self.temporal_connection_len))

    def build(self, input_shape):
        self.U.build(input_shape)
        self.V.build(input_shape)
        self.batch_norm.build(input_shape)

    def call(self, x, training=None):
        values = self.V(x)
        if self.knn:
            similarity = ops.einsum("btjc,bsjc->bjts", x, x)  # (B, J, T, T)
            kth = ops.top_k(similarity, self.neighbour_num)[0][..., -1:]
            adj = normalize_adjacency(ops.cast(similarity >= kth, x.dtype))
            aggregate = ops.einsum("bjts,bsjc->btjc", adj, values)
        elif self.axis == "spatial":  # a broadcast matmul: TFLite mis-sizes an einsum with a constant operand
            aggregate = ops.matmul(ops.cast(self.adjacency, x.dtype), values)
        else:
            aggregate = ops.matmul(ops.cast(self.adjacency, x.dtype), ops.transpose(values, (0, 2, 1, 3)))
            aggregate = ops.transpose(aggregate, (0, 2, 1, 3))
        return ops.relu(x + self.batch_norm(aggregate + self.U(x), training=training))

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "axis": self.axis, "num_nodes": self.num_nodes,
                "use_temporal_similarity": self.use_temporal_similarity, "neighbour_num": self.neighbour_num,
                "temporal_connection_len": self.temporal_connection_len}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MultiScaleTCN(keras.layers.Layer):
    """The official `MultiScaleTCN` (kernel 5, dilations 1 and 2, residual):
    four branches of dim / 4 channels concatenated, plus the input.

        branch 0, 1: 1x1 conv -> BN -> ReLU -> temporal conv (5, dilation 1 / 2) -> BN
        branch 2:    1x1 conv -> BN -> ReLU -> max-pool over 3 frames -> BN
        branch 3:    1x1 conv -> BN

    Args:
        dim: int. Channels, divisible by 4.

    Input and output: (B, T, J, dim), any T.
    """

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        if dim % 4:
            raise ValueError(f"MultiScaleTCN: dim must be a multiple of 4 (its branches), found {dim}.")
        self.dim = int(dim)
        c, policy = self.dim // 4, self.dtype_policy
        self.pointwise = [keras.layers.Dense(c, name=f"branch_{i}_pointwise", dtype=policy) for i in range(4)]
        self.pointwise_bn = [batch_norm(f"branch_{i}_pointwise_bn", policy) for i in range(4)]
        self.temporal = [keras.layers.Conv2D(c, (5, 1), padding="same", dilation_rate=(d, 1),
                                             name=f"branch_{i}_temporal", dtype=policy)
                         for i, d in enumerate((1, 2))]
        self.temporal_bn = [batch_norm(f"branch_{i}_temporal_bn", policy) for i in range(2)]
        self.pool_bn = batch_norm("branch_2_pool_bn", policy)

    def build(self, input_shape):
        branch_shape = tuple(input_shape[:-1]) + (self.dim // 4,)
        for layer in self.pointwise:
            layer.build(input_shape)
        for layer in (*self.pointwise_bn, *self.temporal, *self.temporal_bn, self.pool_bn):
            layer.build(branch_shape)

    def call(self, x, training=None):
        outs = []
        for i in range(4):
            y = self.pointwise_bn[i](self.pointwise[i](x), training=training)
            if i < 2:
                y = self.temporal_bn[i](self.temporal[i](ops.relu(y)), training=training)
            elif i == 2:
                y = ops.max_pool(ops.relu(y), (3, 1), strides=(1, 1), padding="same")
                y = self.pool_bn(y, training=training)
            outs.append(y)
        return ops.concatenate(outs, axis=-1) + x

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AGFormerUnit(keras.layers.Layer):
    """The official `AGFormerBlock`: x + s1 * mixer(norm1(x)), then
    x + s2 * MLP(norm2(x)) (s1, s2: per-channel layer scales, or 1).

    Args:
        dim: int. mixer: "attention", "graph" or "ms_tcn".
        axis: "spatial" or "temporal".
        num_frames: int. The clip length (a temporal graph's BatchNorm).
        mlp_ratio: float. Defaults to 4. act_layer: "gelu" or "relu".
        num_heads, qkv_bias, qk_scale, attention_dropout: the attention mixer's.
        dropout: float. After the attention projection and the MLP layers.
        use_layer_scale: bool. layer_scale_init_value: float.
        use_temporal_similarity, neighbour_num, temporal_connection_len: the graph mixer's.

    Input and output: (B, T, J, dim). LayerNorms have torch's eps 1e-5.
    """

    def __init__(self, dim, mixer="attention", axis="spatial", num_frames=243, mlp_ratio=4.0, act_layer="gelu",
                 num_heads=8, qkv_bias=False, qk_scale=None, attention_dropout=0.0, dropout=0.0,
                 use_layer_scale=True, layer_scale_init_value=1e-5, use_temporal_similarity=True, neighbour_num=4,
                 temporal_connection_len=1, **kwargs):
        super().__init__(**kwargs)
        if mixer not in ("attention", "graph", "ms_tcn"):
            raise ValueError(f"AGFormerUnit: `mixer` must be 'attention', 'graph' or 'ms_tcn', found {mixer!r}.")
        self.dim, self.mixer_type, self.axis, self.num_frames = int(dim), mixer, axis, int(num_frames)
        self.mlp_ratio, self.act_layer = float(mlp_ratio), act_layer
        self.num_heads, self.qkv_bias, self.qk_scale = int(num_heads), bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout = float(attention_dropout), float(dropout)
        self.use_layer_scale, self.layer_scale_init_value = bool(use_layer_scale), float(layer_scale_init_value)
        self.use_temporal_similarity, self.neighbour_num = bool(use_temporal_similarity), int(neighbour_num)
        self.temporal_connection_len = int(temporal_connection_len)
        self.activation = activation(act_layer)
        policy = self.dtype_policy
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm1", dtype=policy)
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-5, name="norm2", dtype=policy)
        if mixer == "attention":
            self.mixer = AxisSelfAttention(self.dim, self.num_heads, axis, self.qkv_bias, qk_scale,
                                           self.attention_dropout, self.dropout, name="mixer", dtype=policy)
        elif mixer == "graph":
            self.mixer = GraphConvMixer(self.dim, axis, 17 if axis == "spatial" else self.num_frames,
                                        self.use_temporal_similarity, self.neighbour_num,
                                        self.temporal_connection_len, name="mixer", dtype=policy)
        else:
            self.mixer = MultiScaleTCN(self.dim, name="mixer", dtype=policy)
        self.mlp_fc1 = keras.layers.Dense(int(self.dim * self.mlp_ratio), name="mlp_fc1", dtype=policy)
        self.mlp_fc2 = keras.layers.Dense(self.dim, name="mlp_fc2", dtype=policy)
        self.drop = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, input_shape):
        for layer in (self.norm1, self.norm2, self.mixer, self.mlp_fc1):
            layer.build(input_shape)
        self.mlp_fc2.build(tuple(input_shape[:-1]) + (int(self.dim * self.mlp_ratio),))
        if self.use_layer_scale:
            init = keras.initializers.Constant(self.layer_scale_init_value)
            self.layer_scale_1 = self.add_weight(shape=(self.dim,), initializer=init, name="layer_scale_1")
            self.layer_scale_2 = self.add_weight(shape=(self.dim,), initializer=init, name="layer_scale_2")

    def call(self, x, training=None):
        mixed = self.mixer(self.norm1(x), training=training)
        x = x + (self.layer_scale_1 * mixed if self.use_layer_scale else mixed)
        hidden = self.drop(self.activation(self.mlp_fc1(self.norm2(x))), training=training)
        mlp = self.drop(self.mlp_fc2(hidden), training=training)
        return x + (self.layer_scale_2 * mlp if self.use_layer_scale else mlp)

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "mixer": self.mixer_type, "axis": self.axis,
                "num_frames": self.num_frames, "mlp_ratio": self.mlp_ratio, "act_layer": self.act_layer,
                "num_heads": self.num_heads, "qkv_bias": self.qkv_bias, "qk_scale": self.qk_scale,
                "attention_dropout": self.attention_dropout, "dropout": self.dropout,
                "use_layer_scale": self.use_layer_scale, "layer_scale_init_value": self.layer_scale_init_value,
                "use_temporal_similarity": self.use_temporal_similarity, "neighbour_num": self.neighbour_num,
                "temporal_connection_len": self.temporal_connection_len}
