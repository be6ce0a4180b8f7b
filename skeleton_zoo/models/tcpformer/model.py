"""TCPFormer (Liu et al., AAAI 2025): MotionAGFormer-style dual-stream
attention blocks interleaved with memory-induced blocks, in which learned
temporal pose queries mediate attention over the clip.

    keypoints_2d (B, T, J, 3)                 T = num_frames (divisible by 3); (x, y, confidence)
      joints_embed (Dense dim_feat) + joint embedding              "embed"
      queries = center_pose + center_pos_embed (B, T / 3, J, C)   "pose_queries"
      n_layers x:
        a = att_temporal(att_spatial(x))        spatial then temporal attention units
        b = graph_temporal(graph_spatial(x))    the official names are swapped: temporal, then spatial
        x = fusion([a, b])                       softmax-weighted
        x = temporal_layers_i_local(x)           chunk-local temporal attention (3 chunks)
        x, queries = temporal_layers_i_cross(x, queries)   memory-induced attention
      norm -> rep_logit (Dense dim_rep, tanh) -> head (Dense dim_out)
    poses_3d (B, T, J, dim_out)
"""

from __future__ import annotations

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models import attention
from skeleton_zoo.models.common import ClipLifter, dtype_config
from skeleton_zoo.models.motionagformer.layers import AGFormerUnit
from skeleton_zoo.models.tcpformer import layers as tcp_layers

__all__ = ["TCPFormer", "build"]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class TCPFormer(ClipLifter):
    """TCPFormer (official `MemoryInducedTransformer`).

    Args:
        n_layers: int. Defaults to 16. dim_feat: int. Defaults to 128.
        num_frames: int. The clip length (official `n_frames`), divisible by 3:
            the pose queries are num_frames / 3 frames. Defaults to 243.
        dim_in: int. Defaults to 3. dim_rep: int. Defaults to 512. dim_out: int. Defaults to 3.
        mlp_ratio: float. Defaults to 4. act_layer: "gelu" or "relu".
        num_heads: int. Defaults to 8. qkv_bias: bool. Defaults to False.
        qk_scale: float or None (head_dim ** -0.5).
        use_layer_scale: bool. Defaults to True (without it the official
            memory-induced blocks do nothing). layer_scale_init_value: float.
            Defaults to 1e-5; also the constant scale of the chunk-local units.
        layout: Defaults to "h36m17".
        dropout, attention_dropout: float. Defaults to 0.
        dtype: dtype policy passed to every layer.

    Input `keypoints_2d`: (B, num_frames, J, dim_in). Output `poses_3d`: (B, num_frames, J, dim_out).
    """

    def __init__(self, n_layers=16, dim_feat=128, num_frames=243, dim_in=3, dim_rep=512, dim_out=3, mlp_ratio=4.0,
                 act_layer="gelu", num_heads=8, qkv_bias=False, qk_scale=None, use_layer_scale=True,
                 layer_scale_init_value=1e-5, layout="h36m17", dropout=0.0, attention_dropout=0.0, dtype=None,
                 **kwargs):
        if num_frames % 3:
            raise ValueError(f"TCPFormer: num_frames must be divisible by 3 (its three chunks and T / 3 pose "
                             f"queries), found {num_frames}.")
        layout = layouts_lib.get_layout(layout)
        joints = layout.num_joints
        common = dict(num_heads=num_heads, mlp_ratio=mlp_ratio, act_layer=act_layer, qkv_bias=qkv_bias,
                      qk_scale=qk_scale, attention_dropout=attention_dropout, dropout=dropout, dtype=dtype)
        unit = dict(common, num_frames=num_frames, use_layer_scale=use_layer_scale,
                    layer_scale_init_value=layer_scale_init_value)

        # === Functional model ===
        inputs = keras.Input((num_frames, joints, dim_in), name="keypoints_2d")
        x = keras.layers.Dense(dim_feat, name="joints_embed", dtype=dtype)(inputs)
        x = attention.JointTimeEmbedding(0, joints, dim_feat, name="embed", dtype=dtype)(x)
        queries = tcp_layers.PoseQueries(num_frames // 3, joints, dim_feat, name="pose_queries", dtype=dtype)(x)
        for i in range(n_layers):
            name = f"layers_{i}"
            a = AGFormerUnit(dim_feat, "attention", "spatial", name=f"{name}_att_spatial", **unit)(x)
            a = AGFormerUnit(dim_feat, "attention", "temporal", name=f"{name}_att_temporal", **unit)(a)
            b = AGFormerUnit(dim_feat, "attention", "temporal", name=f"{name}_graph_spatial", **unit)(x)
            b = AGFormerUnit(dim_feat, "attention", "spatial", name=f"{name}_graph_temporal", **unit)(b)
            x = attention.AdaptiveFusion(True, name=f"{name}_fusion", dtype=dtype)([a, b])
            x = tcp_layers.ChunkedTemporalAttention(dim_feat, local_scale=layer_scale_init_value,
                                                    name=f"temporal_layers_{i}_local", **common)(x)
            x, queries = tcp_layers.MemoryInducedBlock(dim_feat, use_layer_scale=use_layer_scale,
                                                       layer_scale_init_value=layer_scale_init_value,
                                                       name=f"temporal_layers_{i}_cross", **common)(x, queries)
        x = keras.layers.LayerNormalization(epsilon=1e-5, name="norm", dtype=dtype)(x)
        x = keras.layers.Dense(dim_rep, activation="tanh", name="rep_logit", dtype=dtype)(x)
        outputs = keras.layers.Dense(dim_out, name="head", dtype=dtype)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.n_layers, self.dim_feat, self.num_frames = int(n_layers), int(dim_feat), int(num_frames)
        self.dim_in, self.dim_rep, self.dim_out = int(dim_in), int(dim_rep), int(dim_out)
        self.mlp_ratio, self.act_layer, self.num_heads = float(mlp_ratio), act_layer, int(num_heads)
        self.qkv_bias, self.qk_scale = bool(qkv_bias), qk_scale
        self.use_layer_scale, self.layer_scale_init_value = bool(use_layer_scale), float(layer_scale_init_value)
        self.layout = layout
        self.dropout, self.attention_dropout = float(dropout), float(attention_dropout)
        self._dtype_config = dtype_config(dtype)

    # The pose-lifting contract (ClipLifter): exactly `num_frames` frames.
    fixed_clip = True

    @property
    def clip_length(self) -> int:
        return self.num_frames

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "n_layers": self.n_layers,
            "dim_feat": self.dim_feat,
            "num_frames": self.num_frames,
            "dim_in": self.dim_in,
            "dim_rep": self.dim_rep,
            "dim_out": self.dim_out,
            "mlp_ratio": self.mlp_ratio,
            "act_layer": self.act_layer,
            "num_heads": self.num_heads,
            "qkv_bias": self.qkv_bias,
            "qk_scale": self.qk_scale,
            "use_layer_scale": self.use_layer_scale,
            "layer_scale_init_value": self.layer_scale_init_value,
            "layout": self.layout.to_config(),
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "dtype": self._dtype_config,
        }


def build(preset, **overrides) -> TCPFormer:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return TCPFormer(name=preset.name, **dict(preset.config, **overrides))
