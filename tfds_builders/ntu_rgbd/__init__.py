"""`ntu_rgbd`: NTU RGB+D 60/120 skeletons with the official ST-TR preprocessing."""

from tfds_builders.ntu_rgbd.ntu_rgbd import NtuRgbd, NtuRgbdConfig, pad_to_official_length

__all__ = ["NtuRgbd", "NtuRgbdConfig", "pad_to_official_length"]
