"""MotionAGFormer (Mehraban et al., WACV 2024): an attention stream and a
graph stream per block, fused adaptively.

    keypoints_2d (B, T, J, 3)             T = num_frames; (x, y, confidence)
      joints_embed (Dense dim_feat) + joint embedding           "embed"
      n_layers x:
        x_attn = att_temporal(att_spatial(x))                   AGFormer units, attention mixers
        x_graph = graph_temporal(graph_spatial(x))              graph mixers (temporal: K-NN graph
                                                                 over frames, a band, or MS-TCN)
        x = fusion([x_attn, x_graph])                            softmax-weighted, mean, or
                                                                 hierarchical (halves, concatenated)
      norm (LayerNorm) -> rep_logit (Dense dim_rep, tanh) -> head (Dense dim_out)
    poses_3d (B, T, J, dim_out)

Functional layer names follow the official modules (`layers_0_att_spatial`
for `layers.0.att_spatial`), so every block's branches can be read out.
"""

from __future__ import annotations

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models import attention
from skeleton_zoo.models.common import ClipLifter, dtype_config
from skeleton_zoo.models.motionagformer import layers as magf_layers

__all__ = ["MotionAGFormer", "build"]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MotionAGFormer(ClipLifter):
    """MotionAGFormer.

    Args:
        n_layers: int. Blocks. dim_feat: int. Channels.
        num_frames: int. The clip length (official `n_frames`): the temporal
            graph's BatchNorm normalises per frame, so it is fixed (unless
            `use_tcn`).
        dim_in: int. Defaults to 3 (x, y, confidence). dim_rep: int. Defaults
            to 512. dim_out: int. Defaults to 3.
        mlp_ratio: float. Defaults to 4. act_layer: "gelu" or "relu".
        num_heads: int. Defaults to 8 (every published model). qkv_bias: bool.
            Defaults to False. qk_scale: float or None (head_dim ** -0.5).
        use_layer_scale: bool. Defaults to True. layer_scale_init_value: float.
        use_adaptive_fusion: bool. Defaults to True (else the mean).
        hierarchical: bool. Each stream on half the channels, the graph stream
            fed the attention stream's output. Defaults to False.
        use_temporal_similarity: bool. Temporal K-NN graph. Defaults to True.
        neighbour_num: int. K. Defaults to 2 (every published model).
        temporal_connection_len: int. The band without similarity. Defaults to 1.
        use_tcn: bool. MS-TCN as the graph stream's temporal mixer. Defaults to False.
        graph_only: bool. Bare graph mixers (no norm / MLP) in the graph stream.
            Defaults to False.
        layout: Defaults to "h36m17" (the official graph is Human3.6M-17's).
        dropout, attention_dropout: float. Defaults to 0 (every official model).
        dtype: dtype policy passed to every layer.

    Input `keypoints_2d`: (B, num_frames, J, dim_in) (any frames with `use_tcn`).
    Output `poses_3d`: (B, num_frames, J, dim_out).
    """

    def __init__(self, n_layers=16, dim_feat=128, num_frames=243, dim_in=3, dim_rep=512, dim_out=3, mlp_ratio=4.0,
                 act_layer="gelu", num_heads=8, qkv_bias=False, qk_scale=None, use_layer_scale=True,
                 layer_scale_init_value=1e-5, use_adaptive_fusion=True, hierarchical=False,
                 use_temporal_similarity=True, neighbour_num=2, temporal_connection_len=1, use_tcn=False,
                 graph_only=False, layout="h36m17", dropout=0.0, attention_dropout=0.0, dtype=None, **kwargs):
        layout = layouts_lib.get_layout(layout)
        joints = layout.num_joints
        fixed = not use_tcn
        dim = dim_feat // 2 if hierarchical else dim_feat
        unit = dict(num_frames=num_frames, mlp_ratio=mlp_ratio, act_layer=act_layer, num_heads=num_heads,
                    qkv_bias=qkv_bias, qk_scale=qk_scale, attention_dropout=attention_dropout, dropout=dropout,
                    use_layer_scale=use_layer_scale, layer_scale_init_value=layer_scale_init_value,
                    use_temporal_similarity=use_temporal_similarity, neighbour_num=neighbour_num,
                    temporal_connection_len=temporal_connection_len, dtype=dtype)
        graph = dict(use_temporal_similarity=use_temporal_similarity, neighbour_num=neighbour_num,
                     temporal_connection_len=temporal_connection_len, dtype=dtype)

        # === Functional model ===
        inputs = keras.Input((num_frames if fixed else None, joints, dim_in), name="keypoints_2d")
        x = keras.layers.Dense(dim_feat, name="joints_embed", dtype=dtype)(inputs)
        x = attention.JointTimeEmbedding(0, joints, dim_feat, name="embed", dtype=dtype)(x)
        for i in range(n_layers):
            name = f"layers_{i}"
            if hierarchical:
                x_attn, x_graph = attention.SplitChannels(2, name=f"{name}_split", dtype=dtype)(x)
            else:
                x_attn = x_graph = x
            x_attn = magf_layers.AGFormerUnit(dim, "attention", "spatial", name=f"{name}_att_spatial", **unit)(x_attn)
            x_attn = magf_layers.AGFormerUnit(dim, "attention", "temporal", name=f"{name}_att_temporal",
                                              **unit)(x_attn)
            if hierarchical:
                x_graph = keras.layers.Add(name=f"{name}_graph_input", dtype=dtype)([x_graph, x_attn])
            if graph_only:
                x_graph = magf_layers.GraphConvMixer(dim, "spatial", joints, name=f"{name}_graph_spatial",
                                                     **graph)(x_graph)
                x_graph = (magf_layers.MultiScaleTCN(dim, name=f"{name}_graph_temporal", dtype=dtype) if use_tcn
                           else magf_layers.GraphConvMixer(dim, "temporal", num_frames,
                                                           name=f"{name}_graph_temporal", **graph))(x_graph)
            else:
                x_graph = magf_layers.AGFormerUnit(dim, "graph", "spatial", name=f"{name}_graph_spatial",
                                                   **unit)(x_graph)
                x_graph = magf_layers.AGFormerUnit(dim, "ms_tcn" if use_tcn else "graph", "temporal",
                                                   name=f"{name}_graph_temporal", **unit)(x_graph)
            x = attention.AdaptiveFusion(use_adaptive_fusion, concatenate=hierarchical, name=f"{name}_fusion",
                                         dtype=dtype)([x_attn, x_graph])
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
        self.use_adaptive_fusion, self.hierarchical = bool(use_adaptive_fusion), bool(hierarchical)
        self.use_temporal_similarity, self.neighbour_num = bool(use_temporal_similarity), int(neighbour_num)
        self.temporal_connection_len = int(temporal_connection_len)
        self.use_tcn, self.graph_only = bool(use_tcn), bool(graph_only)
        self.layout = layout
        self.dropout, self.attention_dropout = float(dropout), float(attention_dropout)
        self._dtype_config = dtype_config(dtype)

    # The pose-lifting contract (ClipLifter).
    @property
    def clip_length(self) -> int:
        return self.num_frames

    @property
    def fixed_clip(self) -> bool:
        """True: every call takes exactly `num_frames` frames (the per-frame BatchNorm)."""
        return not self.use_tcn

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
            "use_adaptive_fusion": self.use_adaptive_fusion,
            "hierarchical": self.hierarchical,
            "use_temporal_similarity": self.use_temporal_similarity,
            "neighbour_num": self.neighbour_num,
            "temporal_connection_len": self.temporal_connection_len,
            "use_tcn": self.use_tcn,
            "graph_only": self.graph_only,
            "layout": self.layout.to_config(),
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "dtype": self._dtype_config,
        }


def build(preset, **overrides) -> MotionAGFormer:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return MotionAGFormer(name=preset.name, **dict(preset.config, **overrides))
