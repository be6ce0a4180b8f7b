"""ST-TR layers (Plizzari et al., "Skeleton-based action recognition via
spatial and temporal transformer networks") and the ST-GCN units they replace.

Tensors are channels-last, (batch, frames, joints, channels) = (B, T, V, C);
persons are folded into the batch before these layers (B = samples x persons).

- `GraphConv`: ST-GCN spatial unit on the 3-partition graph.
- `AdaptiveGraphConv`: 2s-AGCN's adaptive graph unit (ST-TR's `agcn` models).
- `TemporalConv`: ST-GCN temporal unit (Unit2D): (k x 1) conv over time.
- `SpatialSelfAttention` (SSA): attention across the joints of each frame.
- `TemporalSelfAttention` (TSA): attention across the frames of each joint.
- `STTRBlock`: spatial unit -> temporal unit, plus the residual path.
- `JointsToBones`: bone vectors from joint coordinates.
"""

from __future__ import annotations

import keras
from keras import ops

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import batch_norm as _batch_norm
from skeleton_zoo.models.common import linear_fold, pointwise


def _strided_shape(input_shape, stride, units):
    """(B, T, V, C) -> (B, ceil(T / stride), V, units)."""
    t = input_shape[1]
    return (input_shape[0], None if t is None else -(-t // stride), input_shape[2], units)


def _split_heads(x, num_heads):
    """(..., H * d) -> (..., H, d): heads are contiguous channel blocks."""
    shape = ops.shape(x)
    return ops.reshape(x, (*shape[:-1], num_heads, x.shape[-1] // num_heads))


def _merge_heads(x, channels):
    """(..., H, d) -> (..., H * d)."""
    return ops.reshape(x, (*ops.shape(x)[:-2], channels))


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GraphConv(keras.layers.Layer):
    """ST-GCN spatial graph convolution (official `unit_gcn`).

        y = ReLU(BN(sum_k W_k (x A_k o M_k) + b_k))

    with A_k the self / inward / outward partitions of the layout (normalised
    A D^-1), M_k a learnable mask initialised to ones (applied afresh at every
    call) and W_k a 1x1 conv with bias per partition.

    Args:
        units: int. Output channels.
        layout: layout name, `SkeletonLayout` or its config dict. Defaults to "ntu25".
        mask_learning: bool. Learn the masks M_k. Defaults to True.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    Weights: `kernel` (K, C_in, units), `bias` (K, units), `mask` (K, V, V).
    """

    def __init__(self, units, layout="ntu25", mask_learning=True, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.layout = layouts_lib.get_layout(layout)
        self.mask_learning = bool(mask_learning)
        # === Layers ===
        self.partitions = layouts_lib.spatial_partitions(self.layout)
        self.bn = _batch_norm("bn", self.dtype_policy)

    def build(self, input_shape):
        k, v = self.partitions.shape[:2]
        c_in = input_shape[-1]
        self.kernel = self.add_weight(
            name="kernel", shape=(k, c_in, self.units),
            initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "normal"),
        )
        self.bias = self.add_weight(name="bias", shape=(k, self.units), initializer="zeros")
        if self.mask_learning:
            self.mask = self.add_weight(name="mask", shape=(k, v, v), initializer="ones")
        self.bn.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        a = ops.cast(self.partitions, self.compute_dtype)
        if self.mask_learning:
            a = a * ops.cast(self.mask, self.compute_dtype)
        k, c_in, c_out = self.kernel.shape
        v = x.shape[2]
        shape = ops.shape(x)
        kernel = ops.cast(self.kernel, self.compute_dtype)
        # y[w] = sum_{k,v} A_k[v, w] W_k x[v], as one broadcast matmul over the joints and one GEMM over the
        # channels, in the order whose (B*T, V*K, channels) intermediate is smaller: aggregate first when
        # C_in < units, and always in training, where its backward is the faster one (2 cores, T-TR's
        # shapes: training 1.1-1.9x, inference up to 2.4x against projecting first through a transpose).
        # Rows and columns are ordered (joint, partition), so neither order transposes activations.
        if training or c_in < c_out:
            a_wk = ops.reshape(ops.transpose(a, (2, 0, 1)), (v * k, v))  # (W*K, V)
            aggregated = ops.matmul(a_wk, ops.reshape(x, (-1, v, c_in)))  # (B*T, W*K, C_in)
            aggregated = ops.reshape(aggregated, (shape[0], shape[1], v, k * c_in))
            y = ops.matmul(aggregated, ops.reshape(kernel, (k * c_in, c_out)))  # (B, T, W, O)
        else:
            projected = ops.matmul(x, ops.reshape(ops.transpose(kernel, (1, 0, 2)), (c_in, k * c_out)))
            projected = ops.reshape(projected, (-1, v * k, c_out))  # (B*T, V*K, O)
            a_vk = ops.reshape(ops.transpose(a, (2, 1, 0)), (v, v * k))  # (W, V*K)
            y = ops.reshape(ops.matmul(a_vk, projected), (shape[0], shape[1], v, c_out))
        y = y + ops.sum(ops.cast(self.bias, self.compute_dtype), axis=0)
        return ops.relu(self.bn(y, training=training))

    def _batch_norm_folds(self):  # see common.fold_batch_norms
        return [(self.bn, [self.kernel], self.bias)]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "layout": self.layout.to_config(), "mask_learning": self.mask_learning}
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AdaptiveGraphConv(keras.layers.Layer):
    """2s-AGCN's adaptive graph convolution, as ST-TR's `agcn` models use it
    (official `unit_agcn`).

    Per partition k, a data-dependent graph from two embeddings of width
    I = units // 4, normalised by I * T as the official code does, softmax
    over the source joints u, plus a learned graph G_k:

        S_k = softmax_u(sum_{t,i} a_k[t, u, i] b_k[t, v, i] / (I * T))   (B, U, V)
        y  += W_k (x @ (S_k + G_k)) + b_k                                (over the joints)

    then y = ReLU(BN(y) + residual(x)), the residual a 1x1 conv + BN when the
    width changes.

    G_k is what the official code adds, `A + PA`; there `PA = nn.Parameter(A)`
    aliases the layout's graph A, and `constant_(PA, 1e-6)` overwrites both:
    the skeleton graph is lost, every unit of a model shares that one tensor,
    and the official models train from G = 2e-6 everywhere. G starts there
    too (the layout gives only V); official weights load as G = 2 PA (the
    official units share one PA; here each unit has its own G, equal after
    loading).

    Args:
        units: int. Output channels.
        layout: layout name, `SkeletonLayout` or its config dict. Defaults to "ntu25".
        embedding_factor: int. I = units // embedding_factor. Defaults to 4.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    Weights: `kernel` (K * C_in, units), `bias` (K, units), `graph` (K, V, V),
    `embed_a` / `embed_b` (C_in, K * I) and their biases (K * I,), K = 3.
    """

    def __init__(self, units, layout="ntu25", embedding_factor=4, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.layout = layouts_lib.get_layout(layout)
        self.embedding_factor = int(embedding_factor)
        # === Layers ===
        self.num_subsets = 3  # as ST-GCN's self / inward / outward partitions
        self.embedding_channels = self.units // self.embedding_factor
        self.bn = _batch_norm("bn", self.dtype_policy)
        # The official unit starts its graph branch at ~0 (`bn_init(self.bn, 1e-6)`): the residual carries the
        # signal until training opens the branch.
        self.bn.gamma_initializer = keras.initializers.Constant(1e-6)
        self.down = self.down_bn = None

    def build(self, input_shape):
        k, v = self.num_subsets, self.layout.num_joints
        c_in, e = input_shape[-1], self.embedding_channels
        normal = keras.initializers.RandomNormal
        # As the official `conv_branch_init` (conv_d, std sqrt(2 / (out * in * K))) and `conv_init` (kaiming
        # fan-out per subset's 1x1 conv: conv_a / conv_b, e outputs each), untruncated.
        self.kernel = self.add_weight(name="kernel", shape=(k * c_in, self.units),
                                      initializer=normal(stddev=(2.0 / (self.units * c_in * k)) ** 0.5))
        self.bias = self.add_weight(name="bias", shape=(k, self.units), initializer="zeros")
        self.graph = self.add_weight(name="graph", shape=(k, v, v), initializer=keras.initializers.Constant(2e-6))
        embedding = normal(stddev=(2.0 / e) ** 0.5)
        self.embed_a = self.add_weight(name="embed_a", shape=(c_in, k * e), initializer=embedding)
        self.embed_a_bias = self.add_weight(name="embed_a_bias", shape=(k * e,), initializer="zeros")
        self.embed_b = self.add_weight(name="embed_b", shape=(c_in, k * e), initializer=embedding)
        self.embed_b_bias = self.add_weight(name="embed_b_bias", shape=(k * e,), initializer="zeros")
        out_shape = (*input_shape[:-1], self.units)
        self.bn.build(out_shape)
        if c_in != self.units:
            self.down = pointwise(self.units, "down", self.dtype_policy, use_bias=True)
            self.down.kernel_initializer = keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")
            self.down.build(input_shape)
            self.down_bn = _batch_norm("down_bn", self.dtype_policy)
            self.down_bn.build(out_shape)

    def call(self, x, training=None):
        k, v = self.num_subsets, self.layout.num_joints
        e = self.embedding_channels
        cast = lambda w: ops.cast(w, self.compute_dtype)  # noqa: E731
        shape = ops.shape(x)
        a = ops.reshape(ops.matmul(x, cast(self.embed_a)) + cast(self.embed_a_bias), (shape[0], shape[1], v, k, e))
        b = ops.reshape(ops.matmul(x, cast(self.embed_b)) + cast(self.embed_b_bias), (shape[0], shape[1], v, k, e))
        scale = ops.cast(shape[1] * e, self.compute_dtype)
        similarity = ops.softmax(ops.einsum("btuke,btvke->bkuv", a, b) / scale, axis=2)  # over u
        graph = similarity + cast(self.graph)[None]  # (B, K, U, V)
        aggregated = ops.einsum("btuc,bkuv->btvkc", x, graph)  # (B, T, V, K, C)
        aggregated = ops.reshape(aggregated, (shape[0], shape[1], v, k * x.shape[-1]))
        y = ops.matmul(aggregated, cast(self.kernel)) + ops.sum(cast(self.bias), axis=0)
        y = self.bn(y, training=training)
        return ops.relu(y + (x if self.down is None else self.down_bn(self.down(x), training=training)))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "layout": self.layout.to_config(),
                       "embedding_factor": self.embedding_factor})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class TemporalConv(keras.layers.Layer):
    """ST-GCN temporal unit (official `Unit2D`): dropout -> (k x 1) conv with
    bias over time, zero padding (k - 1) / 2 each side, stride s -> BN -> ReLU.

    Args:
        units: int. Output channels.
        kernel_size: int. Odd temporal width. Defaults to 9.
        stride: int. Temporal stride. Defaults to 1.
        dropout: float. Dropout on the input. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, kernel_size=9, stride=1, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)
        # torch pads (k - 1) / 2 each side. TF's "same" does exactly that at
        # stride 1 (odd k); at stride > 1 it pads asymmetrically, so pad by hand.
        self._explicit_pad = (self.kernel_size - 1) // 2 if self.stride > 1 else 0
        self.conv = keras.layers.Conv2D(
            self.units, (self.kernel_size, 1), strides=(self.stride, 1),
            padding="valid" if self.stride > 1 else "same",
            kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "normal"),
            name="conv", dtype=policy,
        )
        self.bn = _batch_norm("bn", policy)

    def build(self, input_shape):
        t = input_shape[1]
        self.conv.build((input_shape[0], None if t is None else t + 2 * self._explicit_pad, *input_shape[2:]))
        self.bn.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        x = self.drop(x, training=training)
        if self._explicit_pad:
            pad = self._explicit_pad
            x = ops.pad(x, ((0, 0), (pad, pad), (0, 0), (0, 0)))
        return ops.relu(self.bn(self.conv(x), training=training))

    def _batch_norm_folds(self):  # see common.fold_batch_norms
        return [linear_fold(self.bn, self.conv)]

    def compute_output_shape(self, input_shape):
        return _strided_shape(input_shape, self.stride, self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "kernel_size": self.kernel_size, "stride": self.stride, "dropout": self.dropout}
        )
        return config


class _SelfAttentionBase(keras.layers.Layer):
    """Shared parts of SSA and TSA: data BN, qkv / output projections, the
    multi-head attention with DropConnect, skip connection, BN and ReLU."""

    def __init__(self, units, num_heads=8, key_factor=0.25, data_normalization=True,
                 skip_connection=True, drop_connect=True, seed=None, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.num_heads = int(num_heads)
        self.key_factor = float(key_factor)
        self.data_normalization = bool(data_normalization)
        self.skip_connection = bool(skip_connection)
        self.drop_connect = bool(drop_connect)
        self.seed = seed
        self.key_channels = int(self.key_factor * self.units)  # dk
        self.value_channels = self.units  # dv: attention replaces the unit
        for name, channels in (("key", self.key_channels), ("value", self.value_channels)):
            if channels % self.num_heads:
                raise ValueError(
                    f"{type(self).__name__}: {name} channels ({channels}) must be divisible by "
                    f"`num_heads` ({self.num_heads})."
                )
        # === Layers ===
        policy = self.dtype_policy
        self.data_bn = _batch_norm("data_bn", policy) if self.data_normalization else None
        self.attn_out = keras.layers.Dense(self.value_channels, name="attn_out", dtype=policy)
        self.bn = _batch_norm("bn", policy)
        self.seed_generator = keras.random.SeedGenerator(seed) if self.drop_connect else None

    def _normalize(self, x, training):
        """BatchNorm over (joints x channels) features, statistics over (B, T)."""
        if self.data_bn is None:
            return x
        v, c = x.shape[-2], x.shape[-1]
        flat = ops.reshape(x, (*ops.shape(x)[:2], v * c))
        return ops.reshape(self.data_bn(flat, training=training), ops.shape(x))

    def attention_weights(self, q, k, training=None):
        """Softmax attention, with DropConnect in training.

        Args:
            q, k: (..., H, L, dk / H) queries (already scaled) and keys.

        Returns:
            (..., H, L, L) weights; in training, whole key columns are dropped
            per (sample, head) with probability 0.5 and rows renormalised by
            their sum + 1e-8 (DropAttention as the official code does it).
        """
        return ops.cast(self._weights(q, k, self._drop_connect_mask(k, training)), q.dtype)

    def _drop_connect_mask(self, k, training):
        """(..., H, 1, L) bool mask of the kept keys, or None (no DropConnect)."""
        if not (self.drop_connect and training):
            return None
        shape = ops.shape(k)
        return keras.random.uniform((*shape[:-2], 1, shape[-2]), seed=self.seed_generator) < 0.5

    def _weights(self, q, k, keep):
        """(..., H, L, L) weights in the variables' dtype (float32 under mixed precision, as torch's autocast
        runs softmax): float16 rounds the 1e-8 to 0, and a row whose keys are all dropped would become 0 / 0."""
        scores = ops.matmul(q, ops.swapaxes(k, -1, -2))
        weights = ops.softmax(ops.cast(scores, self.variable_dtype), axis=-1)
        if keep is not None:
            weights = weights * ops.cast(keep, weights.dtype)
            weights = weights / (ops.sum(weights, axis=-1, keepdims=True) + 1e-8)
        return weights

    def _attend_per_joint(self, q, k, v, keep, own_gradient=True):
        """Attention joint by joint, with its own backward pass.

        Args:
            q, k, v: (V, B, H, L, d) queries (already scaled), keys, values;
                axis 0 is the joints (each joint's slice is contiguous: the
                split is free and the concatenations are block copies).
            keep: (V, B, H, 1, L) DropConnect mask, or None.
            own_gradient: bool. Attach the backward pass below (training);
                False leaves plain ops, which autodiff also differentiates
                and exporters see without a gradient override.

        Returns:
            (V, B, H, L, d_v) attention outputs, the same numbers as one
            batched attention. Each joint's (B, H, L, L) map is made and used
            while it is in the cache (TSA's maps over frames are too big for
            it), and it is the only L x L tensor kept for the backward pass.
            With the softmax P and the kept keys k (a 0 / 1 row), the weights
            W = P o k / (P k^T + 1e-8) are U o k with U = P / (P k^T + 1e-8),
            so the map kept is U, and the mask goes on the small operands:
            W V = U (k^T o V). The backward pass, with O = W V:

                dS = U o (dO (k^T o V)^T - c (k + 1e-8)),  c = rowsum(dO o O),
                dQ = dS K,  dK = dS^T Q,  dV = k^T o (U^T dO),

            the softmax and the DropConnect renormalisation in one step (c is
            rowsum(dW o W), taken on (L, d) tensors), three passes over the
            map where autodiff takes about ten. Without DropConnect, U = P
            and dS = P o (dO V^T - c). The transposed products are written as
            the transpose of a product with the small operand transposed: a
            transposed (L, L) operand makes the CPU's batched matmul 2-3x
            slower.
        """
        joints = q.shape[0]
        dtype = q.dtype

        def split(t):
            return ops.split(t, joints, axis=0)

        def attend(q, k, v, *keep):
            qs, ks = split(q), split(k)
            kept = [ops.swapaxes(m, -1, -2) for m in split(keep[0])] if keep else [None] * joints  # (1, B, H, L, 1)
            maps, values, outs = [], [], []
            for qj, kj, vj, mj in zip(qs, ks, split(v), kept):
                u = ops.softmax(ops.cast(ops.matmul(qj, ops.swapaxes(kj, -1, -2)), self.variable_dtype), axis=-1)
                w = u
                if mj is not None:
                    u = w = u / (ops.matmul(u, mj) + 1e-8)
                    vj = vj * ops.cast(mj, dtype)
                    if dtype != u.dtype:  # U's dropped entries can pass float16's range: compute with W itself
                        w = u * ops.swapaxes(mj, -1, -2)
                w = ops.cast(w, dtype)
                maps.append((u, w))
                values.append(vj)
                outs.append(ops.matmul(w, vj))

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                dq, dk_t, dv_t = [], [], []  # dK^T, dV^T per joint: one transpose each at the end
                for (u, w), qj, kj, vj, mj, oj, doj in zip(maps, qs, ks, values, kept, outs, split(upstream)):
                    dv_tj = ops.matmul(ops.swapaxes(doj, -1, -2), w)
                    dv_t.append(dv_tj if mj is None else dv_tj * ops.cast(ops.swapaxes(mj, -1, -2), dtype))
                    g = ops.cast(ops.matmul(doj, ops.swapaxes(vj, -1, -2)), u.dtype)  # k o dL/dW
                    c = ops.sum(ops.cast(doj, u.dtype) * ops.cast(oj, u.dtype), axis=-1, keepdims=True)
                    ds = u * (g - (c if mj is None else c * (ops.swapaxes(mj, -1, -2) + 1e-8)))  # dL/dS
                    ds = ops.cast(ds, dtype)
                    dq.append(ops.matmul(ds, kj))
                    dk_t.append(ops.matmul(ops.swapaxes(qj, -1, -2), ds))
                grads = (ops.concatenate(dq, axis=0),
                         *(ops.swapaxes(ops.concatenate(t, axis=0), -1, -2) for t in (dk_t, dv_t)))
                return grads + tuple(ops.zeros_like(m) for m in keep)

            return ops.concatenate(outs, axis=0), grad

        args = (q, k, v) if keep is None else (q, k, v, ops.cast(keep, self.variable_dtype))
        return ops.custom_gradient(attend)(*args) if own_gradient else attend(*args)[0]

    def _attend(self, qkv, heads_first, heads_last, training, per_joint=False):
        """Multi-head attention over one axis of `qkv` (B, T, V, 2 dk + dv).

        `heads_first` permutes (B, T, V, H, d) so the heads and the attended
        axis come last: (..., H, L, d); `heads_last` undoes it. Every head,
        frame and joint is one batched matmul, or with `per_joint` (axis 0
        of the permuted tensors is the joints) one per joint: the same
        numbers, but each joint's (B, H, L, L) weights are made, normalised
        and used while they are still in the cache (TSA's L x L maps over
        frames are too big for it: on 2 cores the attention itself runs
        1.4-2.5x faster at 75-150 frames, T-TR inference 15% faster), with
        its own backward pass in training (`_attend_per_joint`).
        """
        dk, h = self.key_channels, self.num_heads
        # One split, not three slices: the gradient of a split is a concat,
        # that of a slice a zero-padded full-size copy per slice.
        q, k, v = ops.split(qkv, [dk, 2 * dk], axis=-1)
        q, k, v = (ops.transpose(_split_heads(t, h), heads_first) for t in (q * ((dk // h) ** -0.5), k, v))
        if not per_joint:
            out = ops.matmul(self.attention_weights(q, k, training), v)  # (..., H, L, dv / H)
        else:
            keep = self._drop_connect_mask(k, training)
            out = self._attend_per_joint(q, k, v, keep, own_gradient=bool(training))  # (V, B, H, L, dv / H)
        return _merge_heads(ops.transpose(out, heads_last), self.value_channels)

    def _finish(self, attention, shortcut, training):
        y = self.attn_out(attention)
        if shortcut is not None:
            y = y + shortcut
        return ops.relu(self.bn(y, training=training))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_heads": self.num_heads,
                "key_factor": self.key_factor,
                "data_normalization": self.data_normalization,
                "skip_connection": self.skip_connection,
                "drop_connect": self.drop_connect,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SpatialSelfAttention(_SelfAttentionBase):
    """Spatial Self-Attention (SSA): in every frame, each joint attends to all
    joints (official `gcn_unit_attention` + `spatial_attention`, with
    `only_attention`):

        x' = data_BN(x)                       (over V x C_in features)
        q, k, v = split(W_qkv x')             (1x1 conv with bias; dk, dk, dv)
        A_h = softmax_j(q_h k_h^T / sqrt(dk / H))   per head h, frame t
        y = W_o concat_h(A_h v_h)             (1x1 conv with bias)
        out = ReLU(BN(y + x))                 (skip only when C_in == units)

    Args:
        units: int. Output channels (= dv).
        num_heads: int. H. Defaults to 8.
        key_factor: float. dk = int(key_factor * units). Defaults to 0.25.
        data_normalization: bool. Defaults to True.
        skip_connection: bool. Defaults to True.
        drop_connect: bool. DropConnect on the attention weights in training.
            Defaults to True.
        seed: int or None. Seed of the DropConnect masks.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.qkv = keras.layers.Dense(
            2 * self.key_channels + self.value_channels, name="qkv", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        c_in, v = input_shape[-1], input_shape[-2]
        if self.data_bn is not None:
            self.data_bn.build((None, None, v * c_in))
        self.qkv.build(input_shape)
        self.attn_out.build((*input_shape[:-1], self.value_channels))
        self.bn.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        qkv = self.qkv(self._normalize(x, training))  # (B, T, V, 2dk + dv)
        # (B, T, V, H, d) -> (B, T, H, V, d): joints attend within each frame.
        attention = self._attend(qkv, (0, 1, 3, 2, 4), (0, 1, 3, 2, 4), training)  # (B, T, V, dv)
        shortcut = x if self.skip_connection and x.shape[-1] == self.units else None
        return self._finish(attention, shortcut, training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class TemporalSelfAttention(_SelfAttentionBase):
    """Temporal Self-Attention (TSA): for every joint (and person), each frame
    attends to all frames of the clip (official `tcn_unit_attention`, with
    `only_temporal_attention`). As SSA, except:

    - the qkv projection is a (stride x 1) conv with stride (stride, 1) over
      time, so the attention runs on the strided sequence (or a 1x1 conv with
      that stride, which keeps every stride-th frame: `qkv_kernel=1`);
    - the skip path is a `TemporalConv` with kernel 1 and the same stride
      (1x1 conv + BN + ReLU) whenever C_in != units or stride != 1.

    Args:
        units: int. Output channels (= dv).
        stride: int. Temporal stride. Defaults to 1. Clips whose length is not
            a multiple of the stride get zero frames appended before the qkv
            conv (the official code fails on them).
        qkv_kernel: int or None. Frames per qkv conv window; None: `stride`.
            The official code picks it by the joint count's parity: `stride`
            for an odd count (NTU-25), 1 for an even one (Kinetics' 18).
            Defaults to None.
        num_heads, key_factor, data_normalization, skip_connection,
        drop_connect, seed: as `SpatialSelfAttention`.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, qkv_kernel=None, **kwargs):
        super().__init__(units, **kwargs)
        self.stride = int(stride)
        self.qkv_kernel = self.stride if qkv_kernel is None else int(qkv_kernel)
        # "same" equals torch's unpadded conv when stride divides T, and pads
        # the end by the missing frames otherwise.
        self.qkv = keras.layers.Conv2D(
            2 * self.key_channels + self.value_channels, (self.qkv_kernel, 1), strides=(self.stride, 1),
            padding="same", name="qkv", dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        c_in, v = input_shape[-1], input_shape[-2]
        policy = self.dtype_policy
        if self.data_bn is not None:
            self.data_bn.build((None, None, v * c_in))
        self.qkv.build(input_shape)
        self.down = None
        if self.skip_connection and (c_in != self.units or self.stride != 1):
            self.down = TemporalConv(self.units, kernel_size=1, stride=self.stride, name="down", dtype=policy)
            self.down.build(input_shape)
        out_shape = (input_shape[0], None, v, self.units)
        self.attn_out.build(out_shape)
        self.bn.build(out_shape)

    def call(self, x, training=None):
        qkv = self.qkv(self._normalize(x, training))  # (B, T', V, 2dk + dv)
        # (B, T', V, H, d) -> (V, B, H, T', d): frames attend within each joint.
        attention = self._attend(qkv, (2, 0, 3, 1, 4), (1, 3, 0, 2, 4), training, per_joint=True)  # (B, T', V, dv)
        shortcut = None
        if self.skip_connection:
            shortcut = x if self.down is None else self.down(x, training=training)
        return self._finish(attention, shortcut, training)

    def compute_output_shape(self, input_shape):
        return _strided_shape(input_shape, self.stride, self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"stride": self.stride, "qkv_kernel": self.qkv_kernel})
        return config


SPATIAL_UNITS = ("graph", "adaptive_graph", "attention")
TEMPORAL_UNITS = ("conv", "attention")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class STTRBlock(keras.layers.Layer):
    """One backbone unit (official `TCN_GCN_unit`):

        out = temporal(spatial(x)) + residual(x)

    spatial is `GraphConv`, `AdaptiveGraphConv` or `SpatialSelfAttention`; temporal is
    `TemporalConv` (kernel 9, dropout, stride) or `TemporalSelfAttention`
    (stride). residual is x, or a kernel-1 strided `TemporalConv` when the
    channels or the length change.

    Args:
        units: int. Output channels.
        stride: int. Temporal stride. Defaults to 1.
        spatial: "graph", "adaptive_graph" or "attention". Defaults to "graph".
        temporal: "conv" or "attention". Defaults to "conv".
        layout: layout name, `SkeletonLayout` or config dict (for GraphConv).
        dropout: float. Dropout of the temporal conv. Defaults to 0.5.
        num_heads, key_factor, data_normalization, skip_connection,
        drop_connect: passed to the attention layers.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, spatial="graph", temporal="conv", layout="ntu25",
                 dropout=0.5, num_heads=8, key_factor=0.25, data_normalization=True,
                 skip_connection=True, drop_connect=True, **kwargs):
        super().__init__(**kwargs)
        if spatial not in SPATIAL_UNITS or temporal not in TEMPORAL_UNITS:
            raise ValueError(
                f"STTRBlock: `spatial` must be one of {SPATIAL_UNITS} and `temporal` one of "
                f"{TEMPORAL_UNITS}, found {spatial!r} and {temporal!r}."
            )
        # === Config ===
        self.units = int(units)
        self.stride = int(stride)
        self.spatial = spatial
        self.temporal = temporal
        self.layout = layouts_lib.get_layout(layout)
        self.dropout = float(dropout)
        self.attention_options = dict(
            num_heads=int(num_heads), key_factor=float(key_factor),
            data_normalization=bool(data_normalization), skip_connection=bool(skip_connection),
            drop_connect=bool(drop_connect),
        )
        # === Layers ===
        policy = self.dtype_policy
        if spatial == "attention":
            self.spatial_unit = SpatialSelfAttention(units, name="spatial", dtype=policy, **self.attention_options)
        elif spatial == "adaptive_graph":
            self.spatial_unit = AdaptiveGraphConv(units, self.layout, name="spatial", dtype=policy)
        else:
            self.spatial_unit = GraphConv(units, self.layout, name="spatial", dtype=policy)
        if temporal == "attention":
            # the official `num_point % 2` rule (see TemporalSelfAttention)
            qkv_kernel = None if self.layout.num_joints % 2 else 1
            self.temporal_unit = TemporalSelfAttention(
                units, stride=stride, qkv_kernel=qkv_kernel, name="temporal", dtype=policy, **self.attention_options
            )
        else:
            self.temporal_unit = TemporalConv(units, 9, stride, self.dropout, name="temporal", dtype=policy)
        self.residual = None

    def build(self, input_shape):
        self.spatial_unit.build(input_shape)
        self.temporal_unit.build((*input_shape[:-1], self.units))
        if input_shape[-1] != self.units or self.stride != 1:
            self.residual = TemporalConv(self.units, 1, self.stride, name="residual", dtype=self.dtype_policy)
            self.residual.build(input_shape)

    def call(self, x, training=None):
        y = self.temporal_unit(self.spatial_unit(x, training=training), training=training)
        return y + (x if self.residual is None else self.residual(x, training=training))

    def compute_output_shape(self, input_shape):
        return _strided_shape(input_shape, self.stride, self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "stride": self.stride,
                "spatial": self.spatial,
                "temporal": self.temporal,
                "layout": self.layout.to_config(),
                "dropout": self.dropout,
                **self.attention_options,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class JointsToBones(keras.layers.Layer):
    """Bone vectors (joint minus parent, zero at the root) from joints.

    Args:
        layout: layout name, `SkeletonLayout` or config dict. Defaults to "ntu25".
        concat_joints: bool. Return [joints || bones] on the channel axis (the
            official 6-channel joint+bone input). Defaults to False.
        joint_axis: int. Axis of the joints. Defaults to 2, as in
            (batch, frames, joints, persons, channels).

    Input: (..., V, ..., C). Output: same, with 2C channels if `concat_joints`.
    """

    def __init__(self, layout="ntu25", concat_joints=False, joint_axis=2, **kwargs):
        super().__init__(**kwargs)
        self.layout = layouts_lib.get_layout(layout)
        self.concat_joints = bool(concat_joints)
        self.joint_axis = int(joint_axis)

    def call(self, x):
        bones = layouts_lib.joints_to_bones(x, self.layout, joint_axis=self.joint_axis)
        return ops.concatenate([x, bones], axis=-1) if self.concat_joints else bones

    def compute_output_shape(self, input_shape):
        if not self.concat_joints:
            return input_shape
        return (*input_shape[:-1], 2 * input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {"layout": self.layout.to_config(), "concat_joints": self.concat_joints, "joint_axis": self.joint_axis}
        )
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class FoldPersons(keras.layers.Layer):
    """(B, T, V, M, C) -> (B * M, T, V, C): persons become batch entries,
    person-major within each sample (sample b, person m -> row b * M + m)."""

    def call(self, x):
        shape = ops.shape(x)
        x = ops.transpose(x, (0, 3, 1, 2, 4))  # (B, M, T, V, C)
        return ops.reshape(x, (-1, shape[1], x.shape[3], x.shape[4]))

    def compute_output_shape(self, input_shape):
        b, t, v, m, c = input_shape
        return (None if b is None or m is None else b * m, t, v, c)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class PersonJointTimePooling(keras.layers.Layer):
    """The ST-TR head's pooling: mean over joints, then persons, then frames.

    Args:
        num_persons: int. M, to unfold (B * M, ...) back to (B, M, ...).

    Input: (B * M, T, V, C). Output: (B, C).
    """

    def __init__(self, num_persons, **kwargs):
        super().__init__(**kwargs)
        self.num_persons = int(num_persons)

    def call(self, x):
        x = ops.mean(x, axis=2)  # (B * M, T, C)
        x = ops.reshape(x, (-1, self.num_persons, ops.shape(x)[1], x.shape[-1]))
        return ops.mean(x, axis=(1, 2))

    def person_features(self, x):
        """The pooling of each person alone: (B * M, T, V, C) -> (B * M, C),
        mean over joints, then frames (`call` is their mean over persons)."""
        return ops.mean(ops.mean(x, axis=2), axis=1)

    def compute_output_shape(self, input_shape):
        b = input_shape[0]
        return (None if b is None else b // self.num_persons, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config["num_persons"] = self.num_persons
        return config
