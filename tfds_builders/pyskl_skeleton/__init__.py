"""`pyskl_skeleton`: NTU RGB+D 60/120 skeletons from PYSKL's annotation pickles."""

from tfds_builders.pyskl_skeleton.pyskl_skeleton import PKL_URLS, PysklSkeleton, PysklSkeletonConfig, keypoint_dtype

__all__ = ["PKL_URLS", "PysklSkeleton", "PysklSkeletonConfig", "keypoint_dtype"]
