"""TCPFormer (Liu et al., AAAI 2025): dual-stream attention blocks and
memory-induced blocks whose learned temporal pose queries mediate attention
over the clip, lifting clips of (x, y, confidence) keypoints.

- `layers`: pose queries, chunk-local temporal attention, cross-attention,
  the memory-induced block (its units are MotionAGFormer's and
  `skeleton_zoo.models.attention`'s);
- `model`: `TCPFormer`;
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.tcpformer.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="tcpformer",
    title="TCPFormer",
    task="pose_lifting",
    build="skeleton_zoo.models.tcpformer.model:build",
    overrides=("layout", "num_frames", "n_layers", "dim_feat", "dim_rep", "num_heads", "mlp_ratio", "act_layer",
               "qkv_bias", "qk_scale", "use_layer_scale", "layer_scale_init_value", "dropout", "attention_dropout",
               "dtype"),
    official_rules="skeleton_zoo.models.tcpformer.official_keys:official_rules",
    # configs/h36m/TCPFormer_h36m_243.yaml: MPJPE + 0.5 N-MPJPE + 20 velocity, AdamW lr 5e-4 (weight decay 0.01) x0.99 per epoch, batch 4
    # (8 for the 81-frame model), 90 epochs on clips of n_frames (stride n_frames / 3).
    recipe=registry.Recipe(epochs=90, batch_size=4, learning_rate=5e-4, default_dataset="human36m/cpn_ft_h36m_dbb",
                           optimizer="adamw", schedule="exponential", lr_decay=0.99, weight_decay=0.01,
                           loss_weights={"scale": 0.5, "velocity": 20.0}),
    keras_modules=("skeleton_zoo.models.tcpformer.model",),
), presets=PRESETS)

_LAZY = {
    "TCPFormer": "skeleton_zoo.models.tcpformer.model",
    **{name: "skeleton_zoo.models.tcpformer.layers" for name in (
        "ChunkedTemporalAttention", "CrossAttention", "MemoryInducedBlock", "PoseQueries")},
    "load_official_state_dict": "skeleton_zoo.models.tcpformer.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
