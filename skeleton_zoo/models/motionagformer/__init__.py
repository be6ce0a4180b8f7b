"""MotionAGFormer (Mehraban et al., WACV 2024): attention and graph
(GCN, temporal K-NN graph) streams fused adaptively, lifting clips of
(x, y, confidence) keypoints.

- `layers`: the graph-convolution mixer, MS-TCN and the AGFormer unit (the
  attention and fusion layers are `skeleton_zoo.models.attention`'s);
- `model`: `MotionAGFormer`;
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.motionagformer.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="motionagformer",
    title="MotionAGFormer",
    task="pose_lifting",
    build="skeleton_zoo.models.motionagformer.model:build",
    overrides=("layout", "num_frames", "n_layers", "dim_feat", "dim_rep", "num_heads", "mlp_ratio", "act_layer",
               "qkv_bias", "qk_scale", "use_layer_scale", "layer_scale_init_value", "use_adaptive_fusion",
               "hierarchical", "use_temporal_similarity", "neighbour_num", "temporal_connection_len", "use_tcn",
               "graph_only", "dropout", "attention_dropout", "dtype"),
    official_rules="skeleton_zoo.models.motionagformer.official_keys:official_rules",
    # configs/h36m/*.yaml: MPJPE + 0.5 N-MPJPE + 20 velocity, AdamW lr 5e-4 (weight decay 0.01) x0.99 per epoch, batch 16, 60 epochs on clips
    # of n_frames (stride n_frames / 3).
    recipe=registry.Recipe(epochs=60, batch_size=16, learning_rate=5e-4, default_dataset="human36m/cpn_ft_h36m_dbb",
                           optimizer="adamw", schedule="exponential", lr_decay=0.99, weight_decay=0.01,
                           loss_weights={"scale": 0.5, "velocity": 20.0}),
    keras_modules=("skeleton_zoo.models.motionagformer.model",),
), presets=PRESETS)

_LAZY = {
    "MotionAGFormer": "skeleton_zoo.models.motionagformer.model",
    **{name: "skeleton_zoo.models.motionagformer.layers" for name in (
        "AGFormerUnit", "GraphConvMixer", "MultiScaleTCN")},
    "load_official_state_dict": "skeleton_zoo.models.motionagformer.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
