"""MotionBERT's DSTformer (Zhu et al., ICCV 2023): a dual-stream
spatio-temporal transformer that lifts a clip of 2D keypoints (with their
confidence) to 3D, one output frame per input frame.

    keypoints_2d (B, T, J, dim_in)          T <= max_frames; (x, y, confidence)
      joints_embed (Dense dim_feat) + joint / frame embeddings
      depth x:  x_st = blocks_st_i(x)       spatial then temporal attention + MLP
                x_ts = blocks_ts_i(x)       temporal then spatial
                x = fusion_i([x_st, x_ts])  softmax-weighted per joint and frame
      norm (LayerNorm) -> pre_logits (Dense dim_rep, tanh)   the "representation"
      head (Dense dim_out)
    poses_3d (B, T, J, dim_out)
"""

from __future__ import annotations

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import ClipLifter, dtype_config
from skeleton_zoo.models import attention
from skeleton_zoo.models.motionbert import layers as mb_layers

__all__ = ["DSTformer", "build"]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class DSTformer(ClipLifter):
    """The DSTformer backbone with its 3D pose head.

    Args:
        dim_in: int. Values per input joint. Defaults to 3 (x, y, confidence).
        dim_out: int. Values per output joint. Defaults to 3.
        dim_feat: int. Transformer channels. Defaults to 512 (MotionBERT).
        dim_rep: int. Representation channels. Defaults to 512.
        depth: int. Dual-stream blocks. Defaults to 5.
        num_heads: int. Defaults to 8.
        mlp_ratio: float. MLP hidden = dim_feat * mlp_ratio. Defaults to 2
            (MotionBERT; 4 for MotionBERT-Lite).
        max_frames: int. The clip length (official `maxlen`). Defaults to 243.
        layout: layout name, `SkeletonLayout` or its config dict. Defaults to "h36m17".
        qkv_bias: bool. Defaults to True. qk_scale: float or None (head_dim ** -0.5).
        att_fuse: bool. Learned fusion of the two streams (else their mean).
            Defaults to True.
        dropout, attention_dropout: float. Defaults to 0 (every official model).
        dtype: dtype policy passed to every layer. Defaults to Keras' global one.

    Input `keypoints_2d`: (B, T, J, dim_in), 1 <= T <= max_frames.
    Output `poses_3d`: (B, T, J, dim_out).
    """

    def __init__(self, dim_in=3, dim_out=3, dim_feat=512, dim_rep=512, depth=5, num_heads=8, mlp_ratio=2.0,
                 max_frames=243, layout="h36m17", qkv_bias=True, qk_scale=None, att_fuse=True, dropout=0.0,
                 attention_dropout=0.0, dtype=None, **kwargs):
        layout = layouts_lib.get_layout(layout)
        joints = layout.num_joints
        block_options = dict(num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, qk_scale=qk_scale,
                             attention_dropout=attention_dropout, dropout=dropout, dtype=dtype)

        # === Functional model ===
        inputs = keras.Input((None, joints, dim_in), name="keypoints_2d")
        x = keras.layers.Dense(dim_feat, name="joints_embed", dtype=dtype)(inputs)
        x = attention.JointTimeEmbedding(max_frames, joints, dim_feat, name="embedding", dtype=dtype)(x)
        x = keras.layers.Dropout(dropout, name="embedding_dropout", dtype=dtype)(x)
        for i in range(depth):
            x_st = mb_layers.DualStreamBlock(dim_feat, order="st", name=f"blocks_st_{i}", **block_options)(x)
            x_ts = mb_layers.DualStreamBlock(dim_feat, order="ts", name=f"blocks_ts_{i}", **block_options)(x)
            x = attention.AdaptiveFusion(att_fuse, name=f"fusion_{i}", dtype=dtype)([x_st, x_ts])
        x = keras.layers.LayerNormalization(epsilon=mb_layers.LAYER_NORM_EPSILON, name="norm", dtype=dtype)(x)
        x = keras.layers.Dense(dim_rep, activation="tanh", name="pre_logits", dtype=dtype)(x)
        outputs = keras.layers.Dense(dim_out, name="head", dtype=dtype)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.dim_in, self.dim_out = int(dim_in), int(dim_out)
        self.dim_feat, self.dim_rep, self.depth = int(dim_feat), int(dim_rep), int(depth)
        self.num_heads, self.mlp_ratio, self.max_frames = int(num_heads), float(mlp_ratio), int(max_frames)
        self.layout = layout
        self.qkv_bias, self.qk_scale, self.att_fuse = bool(qkv_bias), qk_scale, bool(att_fuse)
        self.dropout, self.attention_dropout = float(dropout), float(attention_dropout)
        self._dtype_config = dtype_config(dtype)

    # The pose-lifting contract (ClipLifter): shorter clips run as they are (the official last clip).
    REPRESENTATION_LAYER = "pre_logits"
    fixed_clip = False

    @property
    def clip_length(self) -> int:
        return self.max_frames

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dim_in": self.dim_in,
            "dim_out": self.dim_out,
            "dim_feat": self.dim_feat,
            "dim_rep": self.dim_rep,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "max_frames": self.max_frames,
            "layout": self.layout.to_config(),
            "qkv_bias": self.qkv_bias,
            "qk_scale": self.qk_scale,
            "att_fuse": self.att_fuse,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "dtype": self._dtype_config,
        }


def build(preset, **overrides) -> DSTformer:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return DSTformer(name=preset.name, **dict(preset.config, **overrides))
