"""PYSKL's GCN units (`pyskl/models/gcns/utils/{gcn,tcn}.py`), channels-last.

Tensors are (batch, frames, joints, channels) = (B, T, V, C), persons folded
into the batch (B = samples x persons).

- `SpatialGraphConv`: `unit_gcn`: a 1x1 conv to K x C_out channels, then
  aggregation over the K graphs (learnable as a whole, `adaptive="init"`, as
  ST-GCN++), BN, residual, ReLU.
- `DilatedTemporalConv`: `unit_tcn`: a (k x 1) conv over time with dilation
  and stride, optional BN.
- `MultiBranchTemporalConv`: `mstcn`: parallel dilated / max-pool / 1x1
  branches, concatenated, BN-ReLU-1x1 transform, BN.
- `STGCNBlock`: graph conv -> temporal conv, plus the residual path, ReLU.
"""

from __future__ import annotations

import keras
from keras import ops

from skeleton_zoo.models.common import batch_norm, pointwise
from skeleton_zoo.models.pyskl.graph import multiscale_graphs, pyskl_graph, window_graph

ADAPTIVE_MODES = (None, "init", "offset", "importance")
# PYSKL's default mstcn branches: (kernel, dilation) convs, a 3-frame max pool, a strided 1x1 conv.
DEFAULT_BRANCHES = ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1")


def _strided_frames(frames, stride):
    return None if frames is None else -(-frames // stride)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SpatialGraphConv(keras.layers.Layer):
    """PYSKL's `unit_gcn` (conv_pos "pre"):

        h = W x + b                     (1x1 conv, C_in -> K * units)
        y = sum_k h_k @ A'_k            (over the joints)
        out = ReLU(BN(y) + residual(x))

    with A' = A ("init": A itself is learned; None: fixed), A + PA ("offset")
    or A * PA ("importance"); A starts as PYSKL's graph of the layout.

    Args:
        units: int. Output channels.
        layout: str. "ntu25" or "coco17" (PYSKL's graphs). Defaults to "ntu25".
        graph_mode: str. "spatial" (K = 3) or "binary_adj" (K = 1). Defaults to "spatial".
        adaptive: None, "init", "offset" or "importance". Defaults to "importance"
            (PYSKL's default; ST-GCN++ uses "init").
        with_residual: bool. Add a residual (1x1 conv + BN when the width
            changes). Defaults to False.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    Weights: `kernel` (C_in, K * units), `bias` (K * units), `graph` (K, V, V),
    `graph_offset` (K, V, V) for "offset" / "importance".
    """

    def __init__(self, units, layout="ntu25", graph_mode="spatial", adaptive="importance", with_residual=False,
                 **kwargs):
        super().__init__(**kwargs)
        if adaptive not in ADAPTIVE_MODES:
            raise ValueError(f"SpatialGraphConv: `adaptive` must be one of {ADAPTIVE_MODES}, found {adaptive!r}.")
        # === Config ===
        self.units = int(units)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        self.adaptive = adaptive
        self.with_residual = bool(with_residual)
        # === Layers ===
        self.initial_graph = pyskl_graph(self.layout, self.graph_mode)
        policy = self.dtype_policy
        self.bn = batch_norm("bn", policy)
        self.down = self.down_bn = None

    def build(self, input_shape):
        k, v, _ = self.initial_graph.shape
        c_in = input_shape[-1]
        self.kernel = self.add_weight(name="kernel", shape=(c_in, k * self.units), initializer="he_normal")
        self.bias = self.add_weight(name="bias", shape=(k * self.units,), initializer="zeros")
        self.graph = self.add_weight(name="graph", shape=(k, v, v), trainable=self.adaptive == "init",
                                     initializer=keras.initializers.Constant(self.initial_graph))
        self.graph_offset = None
        if self.adaptive == "importance":
            self.graph_offset = self.add_weight(name="graph_offset", shape=(k, v, v), initializer="ones")
        elif self.adaptive == "offset":
            self.graph_offset = self.add_weight(
                name="graph_offset", shape=(k, v, v),
                initializer=keras.initializers.RandomUniform(-1e-6, 1e-6))
        out_shape = (*input_shape[:-1], self.units)
        self.bn.build(out_shape)
        if self.with_residual and c_in != self.units:
            self.down = pointwise(self.units, "down", self.dtype_policy, use_bias=True)
            self.down.build(input_shape)
            self.down_bn = batch_norm("down_bn", self.dtype_policy)
            self.down_bn.build(out_shape)

    def call(self, x, training=None):
        a = ops.cast(self.graph, self.compute_dtype)
        if self.adaptive == "importance":
            a = a * ops.cast(self.graph_offset, self.compute_dtype)
        elif self.adaptive == "offset":
            a = a + ops.cast(self.graph_offset, self.compute_dtype)
        k, v, _ = self.initial_graph.shape
        shape = ops.shape(x)
        h = ops.matmul(x, ops.cast(self.kernel, self.compute_dtype)) + ops.cast(self.bias, self.compute_dtype)
        # h channels are k-major (torch's view(n, K, C, t, v)); aggregate every graph in one matmul:
        # y[w] = sum_{k, v} A_k[v, w] h_k[v].
        h = ops.reshape(h, (-1, v, k, self.units))  # (B*T, V, K, O)
        h = ops.reshape(ops.transpose(h, (0, 2, 1, 3)), (-1, k * v, self.units))  # (B*T, K*V, O)
        a_t = ops.reshape(ops.transpose(a, (2, 0, 1)), (v, k * v))  # (W, K*V)
        y = ops.reshape(ops.matmul(a_t, h), (shape[0], shape[1], v, self.units))
        y = self.bn(y, training=training)
        if self.with_residual:
            y = y + (x if self.down is None else self.down_bn(self.down(x), training=training))
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "layout": self.layout, "graph_mode": self.graph_mode,
                       "adaptive": self.adaptive, "with_residual": self.with_residual})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class DilatedTemporalConv(keras.layers.Layer):
    """PYSKL's `unit_tcn`: a (kernel_size x 1) conv with bias over time,
    zero padding d (k - 1) / 2 each side, dilation d, stride s; then BN
    (optional) and dropout. No activation.

    Args:
        units: int. Output channels.
        kernel_size: int. Odd temporal width. Defaults to 9.
        stride: int. Temporal stride. Defaults to 1.
        dilation: int. Temporal dilation. Defaults to 1.
        use_bn: bool. Defaults to True.
        dropout: float. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, kernel_size=9, stride=1, dilation=1, use_bn=True, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.dilation = int(dilation)
        self.use_bn = bool(use_bn)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.pad = self.dilation * (self.kernel_size - 1) // 2
        # Keras convolutions refuse stride > 1 with dilation > 1: those run at
        # stride 1 and keep every s-th frame (the same windows as torch's).
        self.subsample = self.stride if self.dilation > 1 else 1
        self.conv = keras.layers.Conv2D(
            self.units, (self.kernel_size, 1), strides=(self.stride // self.subsample, 1),
            dilation_rate=(self.dilation, 1), padding="valid", name="conv", dtype=policy,
            kernel_initializer=keras.initializers.VarianceScaling(2.0, "fan_out", "normal"))
        self.bn = batch_norm("bn", policy) if self.use_bn else None
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)

    def build(self, input_shape):
        t = input_shape[1]
        self.conv.build((input_shape[0], None if t is None else t + 2 * self.pad, *input_shape[2:]))
        if self.bn is not None:
            self.bn.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        if self.pad:
            x = ops.pad(x, ((0, 0), (self.pad, self.pad), (0, 0), (0, 0)))
        x = self.conv(x)
        if self.subsample > 1:
            x = x[:, ::self.subsample]
        if self.bn is not None:
            x = self.bn(x, training=training)
        return self.drop(x, training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "kernel_size": self.kernel_size, "stride": self.stride,
                       "dilation": self.dilation, "use_bn": self.use_bn, "dropout": self.dropout})
        return config


def _branch_spec(spec):
    """JSON-friendly branch spec -> (kind, kernel, dilation)."""
    if spec == "1x1":
        return "1x1", 1, 1
    kind, value = spec
    if kind == "max":
        return "max", int(value), 1
    return "conv", int(kind), int(value)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MultiBranchTemporalConv(keras.layers.Layer):
    """PYSKL's `mstcn` (ST-GCN++'s temporal module).

    Branch i sees the input through: a 1x1 conv -> BN -> ReLU, then a
    dilated (k x 1) conv (`(k, d)`), a (k x 1) max pool with padding 1
    (`("max", k)`); or only a strided 1x1 conv (`"1x1"`). The first branch
    gets the remainder channels (units - (n - 1) * (units // n)), the others
    units // n each. Their concatenation goes through BN -> ReLU -> 1x1 conv,
    then BN and dropout.

    Args:
        units: int. Output channels.
        stride: int. Temporal stride of every branch. Defaults to 1.
        branches: sequence of branch specs. Defaults to PYSKL's
            ((3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1").
        dropout: float. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, branches=DEFAULT_BRANCHES, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.stride = int(stride)
        self.branches = tuple(s if s == "1x1" else tuple(s) for s in branches)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        n = len(self.branches)
        mid = self.units // n
        self.branch_units = [self.units - mid * (n - 1)] + [mid] * (n - 1)
        # Sub-layers are attributes `branch_{i}_{project,bn,conv}` (tracked and saved by name).
        self.branch_kinds = []
        for i, (spec, width) in enumerate(zip(self.branches, self.branch_units)):
            kind, kernel, dilation = _branch_spec(spec)
            self.branch_kinds.append((kind, kernel))
            if kind == "1x1":
                setattr(self, f"branch_{i}_conv", DilatedTemporalConv(
                    width, 1, self.stride, use_bn=False, name=f"branch_{i}_conv", dtype=policy))
                continue
            setattr(self, f"branch_{i}_project", pointwise(width, f"branch_{i}_project", policy, use_bias=True))
            setattr(self, f"branch_{i}_bn", batch_norm(f"branch_{i}_bn", policy))
            if kind == "conv":
                setattr(self, f"branch_{i}_conv", DilatedTemporalConv(
                    width, kernel, self.stride, dilation, use_bn=False, name=f"branch_{i}_conv", dtype=policy))
        self.transform_bn = batch_norm("transform_bn", policy)
        self.transform = pointwise(self.units, "transform", policy, use_bias=True)
        self.bn = batch_norm("bn", policy)
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)

    def build(self, input_shape):
        out_shape = (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2])
        for i, ((kind, _), width) in enumerate(zip(self.branch_kinds, self.branch_units)):
            if kind == "1x1":
                getattr(self, f"branch_{i}_conv").build(input_shape)
                continue
            getattr(self, f"branch_{i}_project").build(input_shape)
            getattr(self, f"branch_{i}_bn").build((*input_shape[:-1], width))
            if kind == "conv":
                getattr(self, f"branch_{i}_conv").build((*input_shape[:-1], width))
        self.transform_bn.build((*out_shape, self.units))
        self.transform.build((*out_shape, self.units))
        self.bn.build((*out_shape, self.units))

    def _max_pool(self, x, kernel):
        # torch pads the pool with -inf; its input is a ReLU output (>= 0),
        # so zero padding selects the same maxima.
        pad = (kernel - 1) // 2
        x = ops.pad(x, ((0, 0), (pad, pad), (0, 0), (0, 0)))
        return ops.max_pool(x, (kernel, 1), strides=(self.stride, 1), padding="valid")

    def call(self, x, training=None):
        outputs = []
        for i, (kind, kernel) in enumerate(self.branch_kinds):
            if kind == "1x1":
                outputs.append(getattr(self, f"branch_{i}_conv")(x, training=training))
                continue
            h = getattr(self, f"branch_{i}_bn")(getattr(self, f"branch_{i}_project")(x), training=training)
            h = ops.relu(h)
            if kind == "conv":
                h = getattr(self, f"branch_{i}_conv")(h, training=training)
            else:
                h = self._max_pool(h, kernel)
            outputs.append(h)
        h = ops.relu(self.transform_bn(ops.concatenate(outputs, axis=-1), training=training))
        h = self.bn(self.transform(h), training=training)
        return self.drop(h, training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "stride": self.stride, "dropout": self.dropout,
                       "branches": [s if s == "1x1" else list(s) for s in self.branches]})
        return config


class _GraphTemporalBlock(keras.layers.Layer):
    """PYSKL's block pattern: ReLU(tcn(gcn(x)) + residual(x)); the residual is
    none (`residual=False`), the identity (same width, stride 1) or a strided
    1x1 conv + BN (`unit_tcn(kernel_size=1)`). Subclasses make `gcn` and `tcn`
    and set `units`, `stride`, `residual` and `shortcut = None`."""

    def build(self, input_shape):
        self.gcn.build(input_shape)
        self.tcn.build((*input_shape[:-1], self.units))
        if self.residual and (input_shape[-1] != self.units or self.stride != 1):
            self.shortcut = DilatedTemporalConv(self.units, 1, self.stride, name="shortcut", dtype=self.dtype_policy)
            self.shortcut.build(input_shape)

    def call(self, x, training=None):
        y = self.tcn(self.gcn(x, training=training), training=training)
        if self.residual:
            y = y + (x if self.shortcut is None else self.shortcut(x, training=training))
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2], self.units)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class STGCNBlock(_GraphTemporalBlock):
    """PYSKL's `STGCNBlock`: ReLU(temporal(graph(x)) + residual(x)).

    The residual is none (`residual=False`), the identity (same width,
    stride 1) or a strided 1x1 conv + BN.

    Args:
        units: int. Output channels.
        stride: int. Temporal stride. Defaults to 1.
        residual: bool. Defaults to True.
        layout: str. "ntu25" or "coco17". Defaults to "ntu25".
        graph_mode: str. Defaults to "spatial".
        adaptive: graph adaptivity of `SpatialGraphConv`. Defaults to "init".
        graph_residual: bool. The graph conv's own residual. Defaults to True.
        temporal: "mstcn" (`MultiBranchTemporalConv`) or "unit_tcn" (one
            9-frame `DilatedTemporalConv` with BN). Defaults to "mstcn".
        dropout: float. Temporal dropout. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, residual=True, layout="ntu25", graph_mode="spatial", adaptive="init",
                 graph_residual=True, temporal="mstcn", dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if temporal not in ("mstcn", "unit_tcn"):
            raise ValueError(f"STGCNBlock: `temporal` must be 'mstcn' or 'unit_tcn', found {temporal!r}.")
        # === Config ===
        self.units = int(units)
        self.stride = int(stride)
        self.residual = bool(residual)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        self.adaptive = adaptive
        self.graph_residual = bool(graph_residual)
        self.temporal = temporal
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.gcn = SpatialGraphConv(self.units, self.layout, self.graph_mode, adaptive, self.graph_residual,
                                    name="gcn", dtype=policy)
        if temporal == "mstcn":
            self.tcn = MultiBranchTemporalConv(self.units, self.stride, dropout=self.dropout, name="tcn",
                                               dtype=policy)
        else:
            self.tcn = DilatedTemporalConv(self.units, 9, self.stride, dropout=self.dropout, name="tcn",
                                           dtype=policy)
        self.shortcut = None

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "stride": self.stride, "residual": self.residual,
                       "layout": self.layout, "graph_mode": self.graph_mode, "adaptive": self.adaptive,
                       "graph_residual": self.graph_residual, "temporal": self.temporal,
                       "dropout": self.dropout})
        return config



@keras.saving.register_keras_serializable(package="skeleton_zoo")
class ChannelwiseTopologyGraphConv(keras.layers.Layer):
    """CTR-GCN's graph convolution (PYSKL `unit_ctrgcn` of K `CTRGC`s).

    Per graph k, with m = the frame mean of x (B, V, C):

        r_k = tanh((m W1_k + b1_k)[:, :, None] - (m W2_k + b2_k)[:, None])   (B, U, V, R)
        T_k = alpha (r_k W4_k + b4_k) + A_k[:, :, None]                      (B, U, V, units)
        y  += sum_u T_k[:, u, v, c] (x W3_k + b3_k)[:, t, u, c]              (channel-wise topology)

    then out = ReLU(BN(y) + residual(x)); the residual is a 1x1 conv + BN
    when the width changes. R = 8 for C_in <= 16, else C_in // 8.

    Args:
        units: int. Output channels.
        layout: str. "ntu25" or "coco17". Defaults to "ntu25".
        graph_mode: str. Defaults to "spatial".

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    Weights: `query` / `key` (C_in, K * R) and biases, `value` (C_in, K * units)
    and bias, `refine` (K, R, units) and bias (K, units), `graph` (K, V, V),
    `alpha` (1,).
    """

    def __init__(self, units, layout="ntu25", graph_mode="spatial", **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        # === Layers ===
        self.initial_graph = pyskl_graph(self.layout, self.graph_mode)
        self.bn = batch_norm("bn", self.dtype_policy)
        self.down = self.down_bn = None

    def build(self, input_shape):
        k, v, _ = self.initial_graph.shape
        c_in = input_shape[-1]
        self.relation_channels = 8 if c_in <= 16 else c_in // 8
        r = self.relation_channels
        self.query = self.add_weight(name="query", shape=(c_in, k * r), initializer="he_normal")
        self.query_bias = self.add_weight(name="query_bias", shape=(k * r,), initializer="zeros")
        self.key = self.add_weight(name="key", shape=(c_in, k * r), initializer="he_normal")
        self.key_bias = self.add_weight(name="key_bias", shape=(k * r,), initializer="zeros")
        self.value = self.add_weight(name="value", shape=(c_in, k * self.units), initializer="he_normal")
        self.value_bias = self.add_weight(name="value_bias", shape=(k * self.units,), initializer="zeros")
        self.refine = self.add_weight(name="refine", shape=(k, r, self.units), initializer="he_normal")
        self.refine_bias = self.add_weight(name="refine_bias", shape=(k, self.units), initializer="zeros")
        self.graph = self.add_weight(name="graph", shape=(k, v, v),
                                     initializer=keras.initializers.Constant(self.initial_graph))
        self.alpha = self.add_weight(name="alpha", shape=(1,), initializer="zeros")
        out_shape = (*input_shape[:-1], self.units)
        self.bn.build(out_shape)
        if c_in != self.units:
            self.down = pointwise(self.units, "down", self.dtype_policy, use_bias=True)
            self.down.build(input_shape)
            self.down_bn = batch_norm("down_bn", self.dtype_policy)
            self.down_bn.build(out_shape)

    def call(self, x, training=None):
        k, v, _ = self.initial_graph.shape
        r, o = self.relation_channels, self.units
        cast = lambda w: ops.cast(w, self.compute_dtype)  # noqa: E731
        # The frame mean commutes with the 1x1 convs (official: conv, then mean over T).
        # Rank-2 matmuls: tf2onnx mis-infers the shapes of a rank-3 x rank-2 one after the mean.
        m = ops.reshape(ops.mean(x, axis=1), (-1, x.shape[-1]))  # (B * V, C)
        q = ops.reshape(ops.matmul(m, cast(self.query)) + cast(self.query_bias), (-1, v, k, r))
        kk = ops.reshape(ops.matmul(m, cast(self.key)) + cast(self.key_bias), (-1, v, k, r))
        relation = ops.tanh(q[:, :, None] - kk[:, None])  # (B, U, V, K, R)
        topology = ops.einsum("buvkr,kro->buvko", relation, cast(self.refine)) + cast(self.refine_bias)
        graph = ops.transpose(cast(self.graph), (1, 2, 0))[:, :, :, None]  # (U, V, K, 1)
        topology = topology * cast(self.alpha)[0] + graph
        shape = ops.shape(x)
        values = ops.reshape(ops.matmul(x, cast(self.value)) + cast(self.value_bias), (shape[0], shape[1], v, k, o))
        y = ops.einsum("buvko,btuko->btvo", topology, values)
        y = self.bn(y, training=training)
        y = y + (x if self.down is None else self.down_bn(self.down(x), training=training))
        return ops.relu(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "layout": self.layout, "graph_mode": self.graph_mode})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MSG3DTemporalConv(keras.layers.Layer):
    """MS-G3D's multi-scale temporal conv (PYSKL `MSTCN`; CTR-GCN and MS-G3D
    use it; not the same as ST-GCN++'s `mstcn`).

    Branches: per dilation d, 1x1 conv -> BN -> ReLU -> (k x 1) conv with
    dilation d, stride s -> BN; a 1x1 conv -> BN -> ReLU -> 3-frame max pool
    (stride s, padding 1) -> BN; a strided 1x1 conv -> BN. The last branch
    gets the remainder channels. Concatenated, + residual, ReLU (unless
    `activation=False`, as the last temporal conv of MS-G3D's pathways),
    dropout.

    Args:
        units: int. Output channels.
        kernel_size: int. Defaults to 3.
        stride: int. Defaults to 1.
        dilations: sequence of int. Defaults to (1, 2, 3, 4).
        residual: bool. Defaults to True (identity, or a strided 1x1 conv +
            BN when the width or stride changes).
        activation: bool. ReLU after the sum. Defaults to True.
        dropout: float. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, kernel_size=3, stride=1, dilations=(1, 2, 3, 4), residual=True, activation=True,
                 dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.kernel_size = int(kernel_size)
        self.stride = int(stride)
        self.dilations = tuple(int(d) for d in dilations)
        self.residual = bool(residual)
        self.activation = bool(activation)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        n = len(self.dilations) + 2
        width = self.units // n
        self.branch_units = [width] * (n - 1) + [self.units - width * (n - 1)]
        # Sub-layers are attributes `branch_{i}_{project,bn,conv,pool_bn}` (tracked and saved by name).
        for i in range(n):
            if i == n - 1:
                setattr(self, f"branch_{i}_conv", DilatedTemporalConv(
                    self.branch_units[i], 1, self.stride, name=f"branch_{i}_conv", dtype=policy))
                continue
            setattr(self, f"branch_{i}_project", pointwise(width, f"branch_{i}_project", policy, use_bias=True))
            setattr(self, f"branch_{i}_bn", batch_norm(f"branch_{i}_bn", policy))
            if i < len(self.dilations):
                setattr(self, f"branch_{i}_conv", DilatedTemporalConv(
                    width, self.kernel_size, self.stride, self.dilations[i], name=f"branch_{i}_conv", dtype=policy))
            else:
                setattr(self, f"branch_{i}_pool_bn", batch_norm(f"branch_{i}_pool_bn", policy))
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy)
        self.shortcut = None

    def build(self, input_shape):
        n = len(self.branch_units)
        out_frames = (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2])
        for i, width in enumerate(self.branch_units):
            if i == n - 1:
                getattr(self, f"branch_{i}_conv").build(input_shape)
                continue
            getattr(self, f"branch_{i}_project").build(input_shape)
            getattr(self, f"branch_{i}_bn").build((*input_shape[:-1], width))
            if i < len(self.dilations):
                getattr(self, f"branch_{i}_conv").build((*input_shape[:-1], width))
            else:
                getattr(self, f"branch_{i}_pool_bn").build((*out_frames, width))
        if self.residual and (input_shape[-1] != self.units or self.stride != 1):
            self.shortcut = DilatedTemporalConv(self.units, 1, self.stride, name="shortcut", dtype=self.dtype_policy)
            self.shortcut.build(input_shape)

    def call(self, x, training=None):
        n = len(self.branch_units)
        outputs = []
        for i in range(n):
            if i == n - 1:
                outputs.append(getattr(self, f"branch_{i}_conv")(x, training=training))
                continue
            h = ops.relu(getattr(self, f"branch_{i}_bn")(getattr(self, f"branch_{i}_project")(x), training=training))
            if i < len(self.dilations):
                outputs.append(getattr(self, f"branch_{i}_conv")(h, training=training))
            else:
                # torch pads the pool with -inf; its input is a ReLU output (>= 0), so zeros select the same maxima.
                h = ops.max_pool(ops.pad(h, ((0, 0), (1, 1), (0, 0), (0, 0))), (3, 1), strides=(self.stride, 1),
                                 padding="valid")
                outputs.append(getattr(self, f"branch_{i}_pool_bn")(h, training=training))
        y = ops.concatenate(outputs, axis=-1)
        if self.residual:
            y = y + (x if self.shortcut is None else self.shortcut(x, training=training))
        return self.drop(ops.relu(y) if self.activation else y, training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "kernel_size": self.kernel_size, "stride": self.stride,
                       "dilations": list(self.dilations), "residual": self.residual, "activation": self.activation,
                       "dropout": self.dropout})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class CTRGCNBlock(_GraphTemporalBlock):
    """PYSKL's `CTRGCNBlock`: ReLU(temporal(graph(x)) + residual(x)) with a
    `ChannelwiseTopologyGraphConv` and an `MSG3DTemporalConv` (kernel 5,
    dilations 1 and 2, no inner residual).

    Args:
        units: int. Output channels.
        stride: int. Defaults to 1.
        residual: bool. Defaults to True.
        layout: str. Defaults to "ntu25".
        graph_mode: str. Defaults to "spatial".
        kernel_size: int. Defaults to 5.
        dilations: sequence of int. Defaults to (1, 2).
        dropout: float. Temporal dropout. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, residual=True, layout="ntu25", graph_mode="spatial", kernel_size=5,
                 dilations=(1, 2), dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.stride = int(stride)
        self.residual = bool(residual)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        self.kernel_size = int(kernel_size)
        self.dilations = tuple(int(d) for d in dilations)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.gcn = ChannelwiseTopologyGraphConv(self.units, self.layout, self.graph_mode, name="gcn", dtype=policy)
        self.tcn = MSG3DTemporalConv(self.units, self.kernel_size, self.stride, self.dilations, residual=False,
                                     dropout=self.dropout, name="tcn", dtype=policy)
        self.shortcut = None

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "stride": self.stride, "residual": self.residual,
                       "layout": self.layout, "graph_mode": self.graph_mode, "kernel_size": self.kernel_size,
                       "dilations": list(self.dilations), "dropout": self.dropout})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AdaptiveAttentionGraphConv(keras.layers.Layer):
    """AAGCN's graph convolution (PYSKL `unit_aagcn`).

    Per graph k (adaptive): a data-dependent graph from two embeddings of
    width I = units // 4, normalised by I * T as the official code does,

        S_k = tanh(sum_{t,i} a_k[t, u, i] b_k[t, v, i] / (I * T))      (B, U, V)
        y  += W_k (x @ (A_k + alpha S_k)) + b_k                        (over the joints)

    then y = ReLU(BN(y) + residual(x)) and, with attention, three gates in
    turn (each y <- y * gate + y): spatial (a conv over the joints of the
    frame mean, kernel V or V - 1), temporal (a 9-frame conv over the joint
    mean) and channel (two linears on the frame-joint mean).

    Args:
        units: int. Output channels.
        layout: str. "ntu25" or "coco17". Defaults to "ntu25".
        graph_mode: str. Defaults to "spatial".
        adaptive: bool. Learn A and add the data-dependent graphs. Defaults to True.
        attention: bool. The spatial, temporal and channel gates. Defaults to True.
        embedding_factor: int. I = units // embedding_factor. Defaults to 4.

    Input: (B, T, V, C_in). Output: (B, T, V, units).
    """

    def __init__(self, units, layout="ntu25", graph_mode="spatial", adaptive=True, attention=True,
                 embedding_factor=4, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        self.adaptive = bool(adaptive)
        self.attention = bool(attention)
        self.embedding_factor = int(embedding_factor)
        # === Layers ===
        policy = self.dtype_policy
        self.initial_graph = pyskl_graph(self.layout, self.graph_mode)
        k, v, _ = self.initial_graph.shape
        self.embedding_channels = self.units // self.embedding_factor
        self.bn = batch_norm("bn", policy)
        self.down = self.down_bn = None
        if self.attention:
            joint_kernel = v if v % 2 else v - 1
            self.spatial_gate = keras.layers.Conv1D(1, joint_kernel, padding="same", name="spatial_gate",
                                                    dtype=policy)
            self.temporal_gate = keras.layers.Conv1D(1, 9, padding="same", name="temporal_gate", dtype=policy)
            self.channel_squeeze = keras.layers.Dense(self.units // 2, activation="relu", name="channel_squeeze",
                                                      dtype=policy)
            self.channel_gate = keras.layers.Dense(self.units, activation="sigmoid", name="channel_gate",
                                                   dtype=policy)

    def build(self, input_shape):
        k, v, _ = self.initial_graph.shape
        c_in, e = input_shape[-1], self.embedding_channels
        self.kernel = self.add_weight(name="kernel", shape=(k * c_in, self.units), initializer="he_normal")
        self.bias = self.add_weight(name="bias", shape=(k, self.units), initializer="zeros")
        self.graph = self.add_weight(name="graph", shape=(k, v, v), trainable=self.adaptive,
                                     initializer=keras.initializers.Constant(self.initial_graph))
        if self.adaptive:
            self.embed_a = self.add_weight(name="embed_a", shape=(c_in, k * e), initializer="he_normal")
            self.embed_a_bias = self.add_weight(name="embed_a_bias", shape=(k * e,), initializer="zeros")
            self.embed_b = self.add_weight(name="embed_b", shape=(c_in, k * e), initializer="he_normal")
            self.embed_b_bias = self.add_weight(name="embed_b_bias", shape=(k * e,), initializer="zeros")
            self.alpha = self.add_weight(name="alpha", shape=(1,), initializer="zeros")
        out_shape = (*input_shape[:-1], self.units)
        self.bn.build(out_shape)
        if c_in != self.units:
            self.down = pointwise(self.units, "down", self.dtype_policy, use_bias=True)
            self.down.build(input_shape)
            self.down_bn = batch_norm("down_bn", self.dtype_policy)
            self.down_bn.build(out_shape)
        if self.attention:
            self.spatial_gate.build((input_shape[0], v, self.units))
            self.temporal_gate.build((input_shape[0], input_shape[1], self.units))
            self.channel_squeeze.build((input_shape[0], self.units))
            self.channel_gate.build((input_shape[0], self.units // 2))

    def call(self, x, training=None):
        k, v, _ = self.initial_graph.shape
        e = self.embedding_channels
        cast = lambda w: ops.cast(w, self.compute_dtype)  # noqa: E731
        shape = ops.shape(x)
        graph = ops.broadcast_to(cast(self.graph)[None], (shape[0], k, v, v))  # (B, K, U, V)
        if self.adaptive:
            a = ops.reshape(ops.matmul(x, cast(self.embed_a)) + cast(self.embed_a_bias), (shape[0], shape[1], v, k, e))
            b = ops.reshape(ops.matmul(x, cast(self.embed_b)) + cast(self.embed_b_bias), (shape[0], shape[1], v, k, e))
            scale = ops.cast(shape[1] * e, self.compute_dtype)
            similarity = ops.tanh(ops.einsum("btuke,btvke->bkuv", a, b) / scale)
            graph = graph + similarity * cast(self.alpha)[0]
        aggregated = ops.einsum("btuc,bkuv->btvkc", x, graph)  # (B, T, V, K, C)
        aggregated = ops.reshape(aggregated, (shape[0], shape[1], v, k * x.shape[-1]))
        y = ops.matmul(aggregated, cast(self.kernel)) + ops.sum(cast(self.bias), axis=0)
        y = self.bn(y, training=training)
        y = ops.relu(y + (x if self.down is None else self.down_bn(self.down(x), training=training)))
        if self.attention:
            gate = ops.sigmoid(self.spatial_gate(ops.mean(y, axis=1)))  # (B, V, 1)
            y = y * gate[:, None] + y
            gate = ops.sigmoid(self.temporal_gate(ops.mean(y, axis=2)))  # (B, T, 1)
            y = y * gate[:, :, None] + y
            gate = self.channel_gate(self.channel_squeeze(ops.mean(y, axis=(1, 2))))  # (B, units)
            y = y * gate[:, None, None] + y
        return y

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "layout": self.layout, "graph_mode": self.graph_mode,
                       "adaptive": self.adaptive, "attention": self.attention,
                       "embedding_factor": self.embedding_factor})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AAGCNBlock(_GraphTemporalBlock):
    """PYSKL's `AAGCNBlock`: ReLU(temporal(graph(x)) + residual(x)) with an
    `AdaptiveAttentionGraphConv` and a 9-frame `DilatedTemporalConv` + BN.

    Args:
        units: int. Output channels.
        stride: int. Defaults to 1.
        residual: bool. Defaults to True.
        layout: str. Defaults to "ntu25".
        graph_mode: str. Defaults to "spatial".
        dropout: float. Temporal dropout. Defaults to 0.

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, stride=1, residual=True, layout="ntu25", graph_mode="spatial", dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.stride = int(stride)
        self.residual = bool(residual)
        self.layout = str(layout)
        self.graph_mode = str(graph_mode)
        self.dropout = float(dropout)
        # === Layers ===
        policy = self.dtype_policy
        self.gcn = AdaptiveAttentionGraphConv(self.units, self.layout, self.graph_mode, name="gcn", dtype=policy)
        self.tcn = DilatedTemporalConv(self.units, 9, self.stride, dropout=self.dropout, name="tcn", dtype=policy)
        self.shortcut = None

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "stride": self.stride, "residual": self.residual,
                       "layout": self.layout, "graph_mode": self.graph_mode, "dropout": self.dropout})
        return config


def _binary_adjacency(layout):
    return pyskl_graph(layout, "binary_adj")[0]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MultiScaleGraphConv(keras.layers.Layer):
    """MS-G3D's multi-scale graph convolution (PYSKL `MSGCN`, and the
    window graph conv `ST_MSGCN` with `window > 1`):

        h = [x @ (A_k + PA_k)]_k     (k-hop graphs, normalised; PA learned, near 0)
        out = ReLU(BN(W h + b))      (1x1 conv over the K * C_in channels)

    Args:
        units: int. Output channels.
        num_scales: int. K, the number of hop distances.
        layout: str. "ntu25" or "coco17" (PYSKL's binary adjacency). Defaults to "ntu25".
        window: int. 1: the joints of a frame; w > 1: the w V joints of a
            w-frame window, on the tiled (A + I) graph. Defaults to 1.

    Input: (B, T, window V, C_in). Output: (B, T, window V, units).
    Weights: `graph` (K, wV, wV) fixed, `graph_offset` (K, wV, wV) learned.
    """

    def __init__(self, units, num_scales, layout="ntu25", window=1, **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.num_scales = int(num_scales)
        self.layout = str(layout)
        self.window = int(window)
        # === Layers ===
        adjacency = _binary_adjacency(self.layout)
        if self.window > 1:
            adjacency = window_graph(adjacency, self.window)
        self.initial_graph = multiscale_graphs(adjacency, self.num_scales)
        self.mlp = pointwise(self.units, "mlp", self.dtype_policy, use_bias=True)
        self.bn = batch_norm("bn", self.dtype_policy)

    def build(self, input_shape):
        k, v, _ = self.initial_graph.shape
        self.graph = self.add_weight(name="graph", shape=(k, v, v), trainable=False,
                                     initializer=keras.initializers.Constant(self.initial_graph))
        self.graph_offset = self.add_weight(name="graph_offset", shape=(k, v, v),
                                            initializer=keras.initializers.RandomUniform(-1e-6, 1e-6))
        self.mlp.build((*input_shape[:-1], k * input_shape[-1]))
        self.bn.build((*input_shape[:-1], self.units))

    def call(self, x, training=None):
        k, v, _ = self.initial_graph.shape
        a = ops.cast(self.graph, self.compute_dtype) + ops.cast(self.graph_offset, self.compute_dtype)
        shape = ops.shape(x)
        h = ops.einsum("kvu,btvc->btukc", a, x)  # channels k-major, as torch's (N, K * C, T, V)
        h = ops.reshape(h, (shape[0], shape[1], v, k * x.shape[-1]))
        return ops.relu(self.bn(self.mlp(h), training=training))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_scales": self.num_scales, "layout": self.layout,
                       "window": self.window})
        return config


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class WindowGraphConv3D(keras.layers.Layer):
    """One G3D pathway of MS-G3D (PYSKL `MSG3DBlock`, embed factor 1):
    w-frame windows (stride s, zero padding (w - 1) / 2) become graphs of
    w V joints, a `MultiScaleGraphConv` on the tiled graph, then a (1 x w)
    conv collapses each window to V joints, BN, no activation.

    The graph conv keeps C_in channels, except from 3 input channels, where
    it maps to `units` at once (as the official first block).

    Args:
        units: int. Output channels.
        num_scales: int. Hop distances of the window graph.
        window: int. Frames per window (odd).
        stride: int. Window stride. Defaults to 1.
        layout: str. Defaults to "ntu25".

    Input: (B, T, V, C_in). Output: (B, ceil(T / stride), V, units).
    """

    def __init__(self, units, num_scales, window, stride=1, layout="ntu25", **kwargs):
        super().__init__(**kwargs)
        # === Config ===
        self.units = int(units)
        self.num_scales = int(num_scales)
        self.window = int(window)
        self.stride = int(stride)
        self.layout = str(layout)
        # === Layers ===
        self.collapse = pointwise(self.units, "collapse", self.dtype_policy, use_bias=True)
        self.bn = batch_norm("bn", self.dtype_policy)
        self.gcn = None

    def build(self, input_shape):
        c_in, v, w = input_shape[-1], input_shape[2], self.window
        self.embed_channels = self.units if c_in == 3 else c_in
        self.gcn = MultiScaleGraphConv(self.embed_channels, self.num_scales, self.layout, window=w, name="gcn",
                                       dtype=self.dtype_policy)
        frames = _strided_frames(input_shape[1], self.stride)
        self.gcn.build((input_shape[0], frames, w * v, c_in))
        self.collapse.build((input_shape[0], frames, v, w * self.embed_channels))
        self.bn.build((input_shape[0], frames, v, self.units))

    def call(self, x, training=None):
        w, v = self.window, x.shape[2]
        pad = (w - 1) // 2
        x = ops.pad(x, ((0, 0), (pad, pad), (0, 0), (0, 0)))
        # Window j of output frame t is padded frame t * s + j (torch's Unfold); static slices of length T.
        windows = [x[:, j:(j - 2 * pad) or None][:, ::self.stride] for j in range(w)]
        h = ops.stack(windows, axis=2)  # (B, T', w, V, C)
        shape = ops.shape(h)
        h = self.gcn(ops.reshape(h, (shape[0], shape[1], w * v, x.shape[-1])), training=training)
        h = ops.reshape(h, (shape[0], shape[1], w, v, self.embed_channels))
        h = ops.reshape(ops.transpose(h, (0, 1, 3, 2, 4)), (shape[0], shape[1], v, w * self.embed_channels))
        return self.bn(self.collapse(h), training=training)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _strided_frames(input_shape[1], self.stride), input_shape[2], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "num_scales": self.num_scales, "window": self.window,
                       "stride": self.stride, "layout": self.layout})
        return config


__all__ = ["SpatialGraphConv", "DilatedTemporalConv", "MultiBranchTemporalConv", "STGCNBlock",
           "ChannelwiseTopologyGraphConv", "MSG3DTemporalConv", "CTRGCNBlock",
           "AdaptiveAttentionGraphConv", "AAGCNBlock",
           "MultiScaleGraphConv", "WindowGraphConv3D"]
