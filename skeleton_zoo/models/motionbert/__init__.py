"""MotionBERT (Zhu et al., ICCV 2023): the DSTformer dual-stream
spatio-temporal transformer, lifting clips of (x, y, confidence) keypoints.

- `layers`: joint / frame embeddings, spatial and temporal self-attention,
  the dual-stream block, the adaptive stream fusion;
- `model`: `DSTformer` (backbone + 3D pose head);
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.motionbert.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="motionbert",
    title="MotionBERT",
    task="pose_lifting",
    build="skeleton_zoo.models.motionbert.model:build",
    overrides=("layout", "max_frames", "dim_feat", "dim_rep", "depth", "num_heads", "mlp_ratio", "att_fuse", "dropout",
               "attention_dropout", "dtype"),
    official_rules="skeleton_zoo.models.motionbert.official_keys:official_rules",
    # configs/pose3d/MB_train_h36m.yaml: MPJPE + 0.5 N-MPJPE + 20 velocity, AdamW lr 2e-4 (weight decay 0.01) x0.99 per epoch, batch 32,
    # 120 epochs on 243-frame clips (stride 81).
    recipe=registry.Recipe(epochs=120, batch_size=32, learning_rate=2e-4, default_dataset="human36m/cpn_ft_h36m_dbb",
                           optimizer="adamw", schedule="exponential", lr_decay=0.99, weight_decay=0.01,
                           loss_weights={"scale": 0.5, "velocity": 20.0}),
    keras_modules=("skeleton_zoo.models.motionbert.model",),
    keypoint_normalization="crop",  # infer_wild.py's default: crop_scale over the whole video
), presets=PRESETS)

_LAZY = {
    "DSTformer": "skeleton_zoo.models.motionbert.model",
    "DualStreamBlock": "skeleton_zoo.models.motionbert.layers",
    "load_official_state_dict": "skeleton_zoo.models.motionbert.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
