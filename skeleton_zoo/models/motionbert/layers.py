"""MotionBERT's DSTformer layers: the dual-stream block (its embeddings,
attention and stream fusion are the transformer lifters' shared
`skeleton_zoo.models.attention` layers).

Every tensor is channels-last (batch, frames, joints, channels); the official
code folds frames into the batch (B * T, J, C) and unfolds them for temporal
attention, which computes the same.
"""

from __future__ import annotations

import keras
from keras import ops

from skeleton_zoo.models.attention import AxisSelfAttention, gelu

__all__ = ["DualStreamBlock", "LAYER_NORM_EPSILON"]

# The official models build their LayerNorms with eps=1e-6 (load_backbone).
LAYER_NORM_EPSILON = 1e-6


def _layer_norm(name, dtype):
    return keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class DualStreamBlock(keras.layers.Layer):
    """One DSTformer block: spatial then temporal ("st") or temporal then
    spatial ("ts") pre-norm attention + MLP units, each with a residual.

    Args:
        dim: int. num_heads: int. mlp_ratio: float (MLP hidden = int(dim * mlp_ratio)).
        order: "st" (official `stage_st`) or "ts" (`stage_ts`).
        qkv_bias, qk_scale, attention_dropout, dropout: see `AxisSelfAttention`
            (`dropout` also after each MLP layer).

    Input and output: (B, T, J, dim). Sub-layers keep the official names
    (`norm1_s`, `attn_s`, `norm2_s`, `mlp_s_fc1`, ... and the `_t` ones);
    the MLPs use the exact (erf) GELU, as torch's `nn.GELU()`.
    """

    def __init__(self, dim, num_heads=8, mlp_ratio=4.0, order="st", qkv_bias=True, qk_scale=None,
                 attention_dropout=0.0, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if order not in ("st", "ts"):
            raise ValueError(f"DualStreamBlock: `order` must be 'st' or 'ts', found {order!r}.")
        self.dim, self.num_heads, self.mlp_ratio, self.order = int(dim), int(num_heads), float(mlp_ratio), order
        self.qkv_bias, self.qk_scale = bool(qkv_bias), qk_scale
        self.attention_dropout, self.dropout = float(attention_dropout), float(dropout)
        hidden, policy = int(self.dim * self.mlp_ratio), self.dtype_policy
        self.units = {}
        for axis, s in (("spatial", "s"), ("temporal", "t")):
            self.units[s] = (
                _layer_norm(f"norm1_{s}", policy),
                AxisSelfAttention(self.dim, self.num_heads, axis, self.qkv_bias, qk_scale, self.attention_dropout,
                                  self.dropout, name=f"attn_{s}", dtype=policy),
                _layer_norm(f"norm2_{s}", policy),
                keras.layers.Dense(hidden, name=f"mlp_{s}_fc1", dtype=policy),
                keras.layers.Dense(self.dim, name=f"mlp_{s}_fc2", dtype=policy),
            )
        self.norm1_s, self.attn_s, self.norm2_s, self.mlp_s_fc1, self.mlp_s_fc2 = self.units["s"]
        self.norm1_t, self.attn_t, self.norm2_t, self.mlp_t_fc1, self.mlp_t_fc2 = self.units["t"]
        self.drop = keras.layers.Dropout(self.dropout, dtype=policy)

    def build(self, input_shape):
        hidden_shape = tuple(input_shape[:-1]) + (int(self.dim * self.mlp_ratio),)
        for norm1, attention, norm2, fc1, fc2 in self.units.values():
            for layer in (norm1, attention, norm2, fc1):
                layer.build(input_shape)
            fc2.build(hidden_shape)

    def _unit(self, x, s, training):
        norm1, attention, norm2, fc1, fc2 = self.units[s]
        x = x + attention(norm1(x), training=training)
        hidden = self.drop(gelu(fc1(norm2(x))), training=training)
        return x + self.drop(fc2(hidden), training=training)

    def call(self, x, training=None):
        for s in self.order:
            x = self._unit(x, s, training)
        return x

    def compute_output_shape(self, input_shape):
        # Given, a functional model is built without tracing this layer's ops.
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "num_heads": self.num_heads, "mlp_ratio": self.mlp_ratio,
                "order": self.order, "qkv_bias": self.qkv_bias, "qk_scale": self.qk_scale,
                "attention_dropout": self.attention_dropout, "dropout": self.dropout}
