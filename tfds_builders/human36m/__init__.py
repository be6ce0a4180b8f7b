"""TFDS builder `human36m`: Human3.6M in the VideoPose3D / GAST-Net preprocessing."""

from tfds_builders.human36m.human36m import Human36m, Human36mConfig

__all__ = ["Human36m", "Human36mConfig"]
