"""MotionBERT for skeleton action recognition (Zhu et al., ICCV 2023;
`lib/model/model_action.py`, `ActionNet(version='class')`): the DSTformer's
representation of each person, averaged over frames and persons, and a
two-layer classification head.

- `model`: `MotionBERTAction` (the `motionbert` family's DSTformer up to its
  representation + `ActionHeadClassification`);
- `official_keys`: official PyTorch state-dict keys -> our variables (the
  backbone's through `motionbert.official_keys.backbone_rules`);
- `presets`: the published NTU-60 configuration, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.motionbert_action.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="motionbert_action",
    title="MotionBERT (action)",
    task="action_recognition",
    build="skeleton_zoo.models.motionbert_action.model:build",
    overrides=("layout", "num_classes", "num_persons", "in_channels", "hidden_dim", "dropout_ratio", "dim_feat",
               "dim_rep", "depth", "num_heads", "mlp_ratio", "max_frames", "att_fuse", "dropout", "attention_dropout",
               "dtype"),
    official_rules="skeleton_zoo.models.motionbert_action.official_keys:official_rules",
    ignored_official_keys="skeleton_zoo.models.motionbert_action.official_keys:is_unused_official_key",
    # configs/action/MB_ft_NTU60_xsub.yaml: cross-entropy, AdamW (weight decay 0.01) x0.99 per epoch, batch 32,
    # 300 epochs on 243-frame clips. The official optimizer has two parameter groups (train_action.py), backbone
    # lr 1e-4 and head (fc1, bn, fc2) lr 1e-3, both with the weight decay: `lr_multipliers` gives the head 10x.
    # Data: PYSKL's HRNet file through MotionBERT's NTU preprocessing (`formats.motionbert_ntu`, by
    # `datasets.clips` for the model's input_features "motionbert"): clips of the model's max_frames (243).
    recipe=registry.Recipe(epochs=300, batch_size=32, learning_rate=1e-4, default_dataset="pyskl_skeleton/ntu60_hrnet_xsub",
                           optimizer="adamw", schedule="exponential", lr_decay=0.99, weight_decay=0.01,
                           lr_multipliers={"fc1": 10.0, "bn": 10.0, "fc2": 10.0}),
    keras_modules=("skeleton_zoo.models.motionbert_action.model",),
), presets=PRESETS)

_LAZY = {
    "MotionBERTAction": "skeleton_zoo.models.motionbert_action.model",
    "PersonJointFeaturePooling": "skeleton_zoo.models.motionbert_action.model",
    "load_official_state_dict": "skeleton_zoo.models.motionbert_action.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
