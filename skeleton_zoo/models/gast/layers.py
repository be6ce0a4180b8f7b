"""GAST-Net layers (Liu et al., "A Graph Attention Spatio-temporal
Convolutional Network for 3D Human Pose Estimation in Video").

All tensors are channels-last: (batch, frames, joints, channels), written
(B, T, V, C) below. Pointwise ("1x1") convolutions are `Dense` layers over the
channel axis; temporal convolutions are `Conv2D` with a (width, 1) kernel.

Layers, bottom up:
- `SemanticGraphConv`: channel-wise semantic graph convolution on a fixed mask.
- `LocalGraphAttention`: the two semantic graph convs (symmetry A_s, kinematic
  A_c), fused by a 1x1 conv.
- `GlobalGraphAttention`: K-head adaptive attention plus learnable adjacency.
- `GraphAttentionBlock`: concat[x, local(x), global(x)] -> 1x1 conv (3C -> 2C).
- `TemporalBlock` (shared with VideoPose3D, in `skeleton_zoo.models.common`):
  dilated (sequence) or strided (single-frame) temporal conv, 1x1 conv and
  the residual connection.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import VARIANTS, TemporalBlock  # noqa: F401  (GAST-Net's temporal stages)
from skeleton_zoo.models.common import batch_norm as _batch_norm
from skeleton_zoo.models.common import linear_fold, pointwise

_MASKED_LOGIT = -9e15  # the official masked-softmax fill value


def _mask_from_config(mask) -> np.ndarray:
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
        raise ValueError(f"`adjacency` must be a square (V, V) matrix, found shape {mask.shape}.")
    if not mask.diagonal().all():
        raise ValueError("`adjacency` must contain every self-loop (a full diagonal).")
    return mask


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SemanticGraphConv(keras.layers.Layer):
    """Channel-wise semantic graph convolution (SemGCN, GAST-Net's `SemCHGraphConv`).

    Every output channel c has its own learnable edge weights over the
    non-zeros of a fixed mask, normalised by a softmax over each joint's
    neighbours. The self term uses `W[0]`, neighbours use `W[1]`:

        y[.., i, c] = a[c, i, i] (x W0)[.., i, c] + sum_{j != i} a[c, i, j] (x W1)[.., j, c]
        a[c, i, :]  = softmax over masked j of e[c, nz(i, j)]

    Args:
        units: int. Output channels.
        adjacency: (V, V) nested list or array of 0/1. The mask; the edge
            logits `e` are stored in row-major order of its non-zeros, like
            the official release.
        kernel_initializer: initializer for `W`. Defaults to Glorot-uniform
            with gain 1.414, as in the official code.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    Weights: `W` (2, C_in, units), `e` (units, nnz). No bias.
    """

    def __init__(self, units, adjacency, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.adjacency = _mask_from_config(adjacency)
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer
            or keras.initializers.VarianceScaling(2.0, mode="fan_avg", distribution="uniform")
        )
        # === Derived constants ===
        v = self.adjacency.shape[0]
        rows, cols = np.nonzero(self.adjacency)  # row-major, as torch's mask indexing
        self._num_edges = len(rows)
        gather = np.full((v, v), self._num_edges, dtype=np.int32)  # index nnz -> masked
        gather[rows, cols] = np.arange(self._num_edges, dtype=np.int32)
        self._gather_index = gather
        self._eye = np.eye(v, dtype=np.float32)

    def build(self, input_shape):
        c_in = input_shape[-1]
        self.W = self.add_weight(
            name="W", shape=(2, c_in, self.units), initializer=self.kernel_initializer
        )
        self.e = self.add_weight(name="e", shape=(self.units, self._num_edges), initializer="ones")

    def edge_weights(self):
        """Normalised edge weights a, shape (units, V, V); zero off the mask."""
        # In the variables' dtype (float32 under mixed precision): the fill overflows float16.
        fill = ops.full((self.units, 1), _MASKED_LOGIT, dtype=self.variable_dtype)
        e = ops.cast(self.e, self.variable_dtype)
        logits = ops.take(ops.concatenate([e, fill], axis=1), self._gather_index, axis=1)
        return ops.softmax(logits, axis=-1)

    def call(self, x):
        a = ops.cast(self.edge_weights(), self.compute_dtype)  # (C, V, V)
        eye = ops.cast(self._eye, self.compute_dtype)
        h0 = ops.matmul(x, ops.cast(self.W[0], self.compute_dtype))  # (B, T, V, C)
        h1 = ops.matmul(x, ops.cast(self.W[1], self.compute_dtype))
        self_weight = ops.transpose(ops.sum(a * eye, axis=-1))  # (V, C)
        neighbours = ops.einsum("cij,btjc->btic", a * (1.0 - eye), h1)
        return self_weight * h0 + neighbours

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "adjacency": self.adjacency.astype(int).tolist(),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class LocalGraphAttention(keras.layers.Layer):
    """GAST-Net's local attention graph (official `LocalGraph`).

    Two semantic graph convolutions, one on the symmetry matrix A_s and one on
    the kinematic matrix A_c of the layout, each followed by BN + ReLU; their
    concatenation goes through a 1x1 conv (2C -> C) + BN + ReLU + dropout.

    Args:
        units: int. Output channels C.
        layout: layout name, `SkeletonLayout` or its config dict.
        dropout: float. Dropout rate after the fusion. Defaults to 0.
        dtype: dtype policy (keyword argument of every Keras layer), passed
            down to every sub-layer.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    """

    def __init__(self, units, layout, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.layout = layouts_lib.get_layout(layout)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.gcn_sym = SemanticGraphConv(
            units, layouts_lib.symmetry_adjacency(self.layout), name="gcn_sym", dtype=policy
        )
        self.bn_1 = _batch_norm("bn_1", policy)
        self.gcn_con = SemanticGraphConv(
            units, layouts_lib.kinematic_adjacency(self.layout), name="gcn_con", dtype=policy
        )
        self.bn_2 = _batch_norm("bn_2", policy)
        self.cat_conv = pointwise(units, "cat_conv", policy)
        self.cat_bn = _batch_norm("cat_bn", policy)
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)

    def build(self, input_shape):
        out_shape = (*input_shape[:-1], self.units)
        for layer in (self.gcn_sym, self.gcn_con):
            layer.build(input_shape)
        for layer in (self.bn_1, self.bn_2, self.cat_bn):
            layer.build(out_shape)
        self.cat_conv.build((*input_shape[:-1], 2 * self.units))

    def call(self, x, training=None):
        sym = ops.relu(self.bn_1(self.gcn_sym(x), training=training))
        con = ops.relu(self.bn_2(self.gcn_con(x), training=training))
        y = self.cat_bn(self.cat_conv(ops.concatenate([sym, con], axis=-1)), training=training)
        return self.drop(ops.relu(y), training=training)

    def _batch_norm_folds(self):  # see common.fold_batch_norms
        return [(self.bn_1, [self.gcn_sym.W], None), (self.bn_2, [self.gcn_con.W], None),
                linear_fold(self.cat_bn, self.cat_conv)]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "layout": self.layout.to_config(), "dropout": self.dropout}
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GlobalGraphAttention(keras.layers.Layer):
    """GAST-Net's global attention graph (official `MultiGlobalGraph`).

    K heads of C/K channels. For head k, with 1x1 convs (with bias) g, theta
    and phi over the joints of one frame:

        f_ij = w_f . [theta(x_i) || phi(x_j)]        (1x1 conv, no bias)
        B    = softmax_j(LeakyReLU_0.2(f))
        y    = (B + C_k) g(x)                         (C_k: learnable V x V, init 0)

    Heads are concatenated (head 0 first) and fused by a 1x1 conv (no bias) +
    BN + ReLU + dropout.

    Args:
        channels: int. C, input and output channels; must divide by `num_heads`.
        num_heads: int. K. Defaults to 4.
        dropout: float. Defaults to 0.

    Input: (B, T, V, C). Output: (B, T, V, C). V is taken from the input.
    Weights: `g_kernel`/`theta_kernel`/`phi_kernel` (C, K, C/K), their biases
    (K, C/K), `score_kernel` (K, 2 C/K), `learned_adjacency` (K, V, V).
    """

    def __init__(self, channels, num_heads=4, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if channels % num_heads:
            raise ValueError(
                f"GlobalGraphAttention: `channels` ({channels}) must be divisible by "
                f"`num_heads` ({num_heads})."
            )
        # === Config ===
        self.channels = int(channels)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.cat_conv = pointwise(self.channels, "cat_conv", policy)
        self.cat_bn = _batch_norm("cat_bn", policy)
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)

    def build(self, input_shape):
        k, d, v = self.num_heads, self.channels // self.num_heads, input_shape[-2]
        he = keras.initializers.HeNormal()
        for name in ("g", "theta", "phi"):
            kernel = self.add_weight(name=f"{name}_kernel", shape=(self.channels, k, d), initializer=he)
            bias = self.add_weight(name=f"{name}_bias", shape=(k, d), initializer="zeros")
            setattr(self, f"{name}_kernel", kernel)
            setattr(self, f"{name}_bias", bias)
        self.score_kernel = self.add_weight(name="score_kernel", shape=(k, 2 * d), initializer=he)
        self.learned_adjacency = self.add_weight(
            name="learned_adjacency", shape=(k, v, v), initializer="zeros"
        )
        self.cat_conv.build(input_shape)
        self.cat_bn.build(input_shape)

    def _project(self, x, name):
        kernel = ops.cast(getattr(self, f"{name}_kernel"), self.compute_dtype)
        bias = ops.cast(getattr(self, f"{name}_bias"), self.compute_dtype)
        return ops.einsum("btvc,ckd->btvkd", x, kernel) + bias  # (B, T, V, K, d)

    def call(self, x, training=None):
        d = self.channels // self.num_heads
        g, theta, phi = (self._project(x, n) for n in ("g", "theta", "phi"))
        w_f = ops.cast(self.score_kernel, self.compute_dtype)
        # w_f . [theta_i || phi_j] splits into a row term plus a column term.
        row = ops.einsum("btikd,kd->btki", theta, w_f[:, :d])  # (B, T, K, V)
        col = ops.einsum("btjkd,kd->btkj", phi, w_f[:, d:])
        scores = ops.expand_dims(row, -1) + ops.expand_dims(col, -2)  # (B, T, K, V, V)
        attention = ops.softmax(ops.leaky_relu(scores, negative_slope=0.2), axis=-1)
        attention = attention + ops.cast(self.learned_adjacency, self.compute_dtype)
        y = ops.einsum("btkij,btjkd->btikd", attention, g)  # (B, T, V, K, d)
        y = ops.reshape(y, (*ops.shape(y)[:3], self.channels))
        y = self.cat_bn(self.cat_conv(y), training=training)
        return self.drop(ops.relu(y), training=training)

    def _batch_norm_folds(self):  # see common.fold_batch_norms
        return [linear_fold(self.cat_bn, self.cat_conv)]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"channels": self.channels, "num_heads": self.num_heads, "dropout": self.dropout}
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GraphAttentionBlock(keras.layers.Layer):
    """GAST-Net's graph attention block: local and global spatial attention.

    y = ReLU(BN(W [x || local(x) || global(x)])), W a 1x1 conv (3C -> 2C, no
    bias): every block doubles the channels.

    Args:
        channels: int. C, input channels.
        layout: layout name, `SkeletonLayout` or its config dict.
        dropout: float. Dropout inside the local and global branches. Defaults to 0.
        num_heads: int. Heads of the global branch. Defaults to 4.

    Input: (B, T, V, C). Output: (B, T, V, 2C).
    """

    def __init__(self, channels, layout, dropout=0.0, num_heads=4, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.channels = int(channels)
        self.layout = layouts_lib.get_layout(layout)
        self.dropout = float(dropout)
        self.num_heads = int(num_heads)
        # === Layers ===
        policy = self.dtype_policy
        self.local_graph = LocalGraphAttention(
            self.channels, self.layout, self.dropout, name="local_graph", dtype=policy
        )
        self.global_graph = GlobalGraphAttention(
            self.channels, self.num_heads, self.dropout, name="global_graph", dtype=policy
        )
        self.cat_conv = pointwise(2 * self.channels, "cat_conv", policy)
        self.cat_bn = _batch_norm("cat_bn", policy)

    def build(self, input_shape):
        self.local_graph.build(input_shape)
        self.global_graph.build(input_shape)
        self.cat_conv.build((*input_shape[:-1], 3 * self.channels))
        self.cat_bn.build((*input_shape[:-1], 2 * self.channels))

    def call(self, x, training=None):
        y = ops.concatenate(
            [x, self.local_graph(x, training=training), self.global_graph(x, training=training)],
            axis=-1,
        )
        return ops.relu(self.cat_bn(self.cat_conv(y), training=training))

    def _batch_norm_folds(self):  # see common.fold_batch_norms
        return [linear_fold(self.cat_bn, self.cat_conv)]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "layout": self.layout.to_config(),
                "dropout": self.dropout,
                "num_heads": self.num_heads,
            }
        )
        return config
