"""TFDS builder `humaneva`: HumanEva-I in the VideoPose3D / GAST-Net preprocessing."""

from tfds_builders.humaneva.humaneva import Humaneva, HumanevaConfig, action_filter

__all__ = ["Humaneva", "HumanevaConfig", "action_filter"]
