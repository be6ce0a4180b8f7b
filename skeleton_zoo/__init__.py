"""skeleton_zoo: Keras 3 / TensorFlow models for skeleton-based human motion.

    import skeleton_zoo
    model = skeleton_zoo.load("gast_243")        # (B, T, 17, 2) -> (B, T - 242, 17, 3)
    skeleton_zoo.load("st_tr_2s_joint")          # (B, T, 25, 2, 3) -> (B, 60) logits
    skeleton_zoo.list_models()                   # every preset, with parameter counts
"""

__version__ = "0.1.0"

from skeleton_zoo import checkpoint, layouts
from skeleton_zoo.layouts import SkeletonLayout, get_layout
from skeleton_zoo.registry import list_models, load, preset_names
from skeleton_zoo.state_dict import WeightsMismatchError
from skeleton_zoo import gast  # noqa: E402  (registers GAST-Net layers and presets)
from skeleton_zoo import sttr  # noqa: E402  (registers ST-TR layers and presets)
from skeleton_zoo.gast import GASTNet
from skeleton_zoo.sttr import STTR, TwoStreamSTTR

__all__ = [
    "GASTNet",
    "STTR",
    "TwoStreamSTTR",
    "SkeletonLayout",
    "WeightsMismatchError",
    "checkpoint",
    "gast",
    "get_layout",
    "layouts",
    "list_models",
    "load",
    "preset_names",
    "sttr",
]
