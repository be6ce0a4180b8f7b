"""Conversions between 2D keypoint orders, as the official pipelines do them.

All functions take (..., J_in, C) arrays (C >= 2; extra channels such as
scores are converted the same way) and return (..., J_out, C).
"""

from __future__ import annotations

import numpy as np

__all__ = ["coco17_to_humaneva15"]

# HumanEva-I joint <- COCO joints averaged (GAST-Net's `load_data` for the
# Mask R-CNN detections `detectron_pt_coco`).
_COCO17_TO_HUMANEVA15 = (
    (11, 12),  # pelvis: mid-hip
    (5, 6),  # thorax: mid-shoulder
    (5,), (7,), (9,),  # left shoulder, elbow, wrist
    (6,), (8,), (10,),  # right shoulder, elbow, wrist
    (11,), (13,), (15,),  # left hip, knee, ankle
    (12,), (14,), (16,),  # right hip, knee, ankle
    (0,),  # head: the nose
)


def coco17_to_humaneva15(keypoints) -> np.ndarray:
    """COCO-17 keypoints -> HumanEva-I 15 joints, as GAST-Net converts its
    HumanEva detections. Affine in the coordinates, so it commutes with the
    screen normalisation.

    Args:
        keypoints: (..., 17, C) array.

    Returns:
        (..., 15, C) float32.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    if keypoints.shape[-2] != 17:
        raise ValueError(f"coco17_to_humaneva15: expected 17 COCO joints on axis -2, found shape "
                         f"{keypoints.shape}.")
    weights = np.zeros((15, 17), np.float32)
    for joint, sources in enumerate(_COCO17_TO_HUMANEVA15):
        weights[joint, list(sources)] = 1.0 / len(sources)
    return np.einsum("oi,...ic->...oc", weights, keypoints)
