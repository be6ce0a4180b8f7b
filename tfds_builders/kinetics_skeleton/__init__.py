"""`kinetics_skeleton`: Kinetics-Skeleton (ST-GCN's OpenPose-18 release) with the official conversion."""

from tfds_builders.kinetics_skeleton.kinetics_skeleton import KineticsSkeleton, pad_to_official_length

__all__ = ["KineticsSkeleton", "pad_to_official_length"]
