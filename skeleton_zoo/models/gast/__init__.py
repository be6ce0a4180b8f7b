"""GAST-Net (Liu, Rojas et al.): 2D-to-3D pose lifting in video.

- `layers`: semantic graph convolutions, local / global graph attention,
  temporal blocks;
- `model`: `GASTNet` (dilated "sequence" and strided "single_frame" variants);
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.utils.lazy import lazy_attributes
from skeleton_zoo.models.gast.presets import PRESETS

FAMILY = registry.register_family(registry.Family(
    name="gast",
    title="GAST-Net",
    task="pose_lifting",
    build="skeleton_zoo.models.gast.model:GASTNet.from_preset",
    overrides=("variant", "layout", "causal", "dropout", "num_heads", "channels", "dtype"),
    official_rules="skeleton_zoo.models.gast.official_keys:official_rules",
    # VideoPose3D's procedure, as GAST-Net trains: Adam (amsgrad), lr 1e-3 x0.95 per epoch,
    # batch 128, dropout 0.05.
    recipe=registry.Recipe(epochs=80, batch_size=128, learning_rate=1e-3,
                           default_dataset="human36m/cpn_ft_h36m_dbb", optimizer="adam",
                           schedule="exponential", lr_decay=0.95, model_options={"dropout": 0.05}),
    variants=("sequence", "single_frame"),
    keras_modules=("skeleton_zoo.models.gast.model",),
), presets=PRESETS)

_LAZY = {
    "GASTNet": "skeleton_zoo.models.gast.model",
    "GlobalGraphAttention": "skeleton_zoo.models.gast.layers",
    "GraphAttentionBlock": "skeleton_zoo.models.gast.layers",
    "LocalGraphAttention": "skeleton_zoo.models.gast.layers",
    "SemanticGraphConv": "skeleton_zoo.models.gast.layers",
    "TemporalBlock": "skeleton_zoo.models.gast.layers",
    "load_official_state_dict": "skeleton_zoo.models.gast.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
