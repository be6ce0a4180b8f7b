"""ST-TR (Plizzari et al.): skeleton action recognition with spatial and
temporal self-attention, and the ST-GCN baseline.

- `layers`: graph (fixed and adaptive) and temporal convolutions, spatial / temporal
  self-attention, the ST-TR block, person folding and pooling, bones;
- `model`: `STTR` (one stream: S-TR, T-TR or ST-GCN);
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data (2s-ST-TR is an ensemble
  preset of an S-TR and a T-TR stream).

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.utils.lazy import lazy_attributes
from skeleton_zoo.models.sttr.presets import PRESETS

FAMILY = registry.register_family(registry.Family(
    name="sttr",
    title="ST-TR",
    task="action_recognition",
    build="skeleton_zoo.models.sttr.model:build",
    overrides=("num_classes", "num_persons", "layout", "backbone", "concat_original", "dropout",
               "drop_connect", "data_normalization", "skip_connection", "num_heads", "key_factor",
               "attention_from", "adaptive_graph", "dtype"),
    official_rules="skeleton_zoo.models.sttr.official_keys:official_rules",
    ignored_official_keys="skeleton_zoo.models.sttr.official_keys:is_unused_official_key",
    # SGD momentum 0.9 Nesterov with PyTorch-style (coupled) weight decay 1e-4, lr 0.1 x0.1 at 50%
    # and 75% of the epochs (60 and 90 of 120), batch 32, 300-frame clips.
    recipe=registry.Recipe(epochs=120, batch_size=32, learning_rate=0.1, default_dataset="ntu_rgbd/xsub60",
                           optimizer="sgd_nesterov", schedule="steps", lr_drops=(0.5, 0.75), momentum=0.9,
                           weight_decay=1e-4),
    keras_modules=("skeleton_zoo.models.sttr.model",),
), presets=PRESETS)

_LAZY = {
    "STTR": "skeleton_zoo.models.sttr.model",
    **{name: "skeleton_zoo.models.sttr.layers" for name in (
        "AdaptiveGraphConv", "FoldPersons", "GraphConv", "JointsToBones", "PersonJointTimePooling", "SpatialSelfAttention",
        "STTRBlock", "TemporalConv", "TemporalSelfAttention")},
    "load_official_state_dict": "skeleton_zoo.models.sttr.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
