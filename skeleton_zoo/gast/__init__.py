"""GAST-Net (Liu, Rojas et al.): 2D-to-3D pose lifting in video."""

from skeleton_zoo.gast.convert import load_official_state_dict
from skeleton_zoo.gast.layers import (
    GlobalGraphAttention,
    GraphAttentionBlock,
    LocalGraphAttention,
    SemanticGraphConv,
    TemporalBlock,
)
from skeleton_zoo.gast.model import GASTNet
from skeleton_zoo.gast import presets as _presets  # noqa: F401  (registers the presets)

__all__ = [
    "GASTNet",
    "GlobalGraphAttention",
    "GraphAttentionBlock",
    "LocalGraphAttention",
    "SemanticGraphConv",
    "TemporalBlock",
    "load_official_state_dict",
]
