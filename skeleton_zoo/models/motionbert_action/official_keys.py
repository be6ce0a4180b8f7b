"""Official MotionBERT action-recognition keys -> `MotionBERTAction` variables.

`ActionNet(version='class')` holds `backbone.*` (the DSTformer, keys as in
`skeleton_zoo.models.motionbert.official_keys`) and `head.fc1`, `head.bn`
(BatchNorm1d), `head.fc2`. train_action.py saves `{'epoch', 'lr',
'optimizer', 'model', 'best_acc'}` from an `nn.DataParallel` model, so the
released keys start with `module.` (removed by the checkpoint reader).
"""

from __future__ import annotations

import types
from typing import Mapping

from skeleton_zoo.models.motionbert.official_keys import backbone_rules
from skeleton_zoo.weights import state_dict as sd

__all__ = ["UNUSED_OFFICIAL_KEYS", "is_unused_official_key", "official_rules", "load_official_state_dict"]

# The DSTformer's 3D pose head: built (and counted, and saved) by the official
# ActionNet, never used by its forward pass (`get_representation`).
UNUSED_OFFICIAL_KEYS = ("backbone.head.weight", "backbone.head.bias")


def is_unused_official_key(key: str) -> bool:
    """Exactly the backbone's unused pose head, `backbone.head.weight` / `.bias`."""
    return key in UNUSED_OFFICIAL_KEYS


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `MotionBERTAction` with the official keys it is made from."""
    # backbone_rules reads a DSTformer's layers and depth: those of the nested representation model.
    backbone = types.SimpleNamespace(get_layer=model.backbone.get_layer, depth=model.depth)
    return [
        *backbone_rules(backbone, "backbone."),
        *sd.linear(model.get_layer("fc1"), "head.fc1"),
        *sd.batch_norm(model.get_layer("bn"), "head.bn"),
        *sd.linear(model.get_layer("fc2"), "head.fc2"),
    ]


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official `ActionNet` state dict (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key
    (the unused `backbone.head.*` and BatchNorm's `num_batches_tracked` are
    accepted and dropped); nothing is assigned then.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source,
                     ignored_keys=is_unused_official_key)
