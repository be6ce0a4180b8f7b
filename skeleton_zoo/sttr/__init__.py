"""ST-TR (Plizzari et al.): skeleton action recognition with spatial and
temporal self-attention, and the ST-GCN baseline."""

from skeleton_zoo.sttr.convert import load_official_state_dict
from skeleton_zoo.sttr.layers import (
    FoldPersons,
    GraphConv,
    JointsToBones,
    PersonJointTimePooling,
    SpatialSelfAttention,
    STTRBlock,
    TemporalConv,
    TemporalSelfAttention,
)
from skeleton_zoo.sttr.model import STTR, TwoStreamSTTR
from skeleton_zoo.sttr import presets as _presets  # noqa: F401  (registers the presets)

__all__ = [
    "FoldPersons",
    "GraphConv",
    "JointsToBones",
    "PersonJointTimePooling",
    "STTR",
    "STTRBlock",
    "SpatialSelfAttention",
    "TemporalConv",
    "TemporalSelfAttention",
    "TwoStreamSTTR",
    "load_official_state_dict",
]
