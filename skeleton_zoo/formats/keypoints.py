"""Conversions between 2D keypoint orders, as the official pipelines do them.

All functions take (..., J_in, C) arrays (C >= 2; extra channels such as
scores are converted the same way) and return (..., J_out, C).
"""

from __future__ import annotations

import numpy as np

__all__ = ["coco17_to_humaneva15", "coco17_to_h36m17", "coco17_to_h36m17_motionbert", "halpe26_to_h36m17",
           "OPENPOSE_TO_COCO17"]

# OpenPose orders -> COCO-17 (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles; left first).
OPENPOSE_TO_COCO17 = {
    25: [0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11],  # BODY_25
    18: [0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10],  # COCO-18
}

# GAST-Net's in-the-wild conversion (tools/mpii_coco_h36m.py, tools/preprocess.py).
_H36M_FROM_COCO = [9, 11, 14, 12, 15, 13, 16, 4, 1, 5, 2, 6, 3]  # h36m joints copied ...
_COCO_SOURCES = [0, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # ... from these COCO joints
_HEAD_THORAX_PELVIS_SPINE = [10, 8, 0, 7]

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


def coco17_to_h36m17(keypoints, scores=None):
    """COCO-17 detections -> Human3.6M-17 joints, exactly as GAST-Net's
    in-the-wild pipeline (`coco_h36m` and `h36m_coco_format`): limbs copied,
    head, thorax, pelvis and spine synthesised from face, shoulders and hips.

    Args:
        keypoints: (T, 17, 2) COCO keypoints in pixels.
        scores: optional (T, 17) detection confidences.

    Returns:
        `keypoints_h36m` (T, 17, 2) float32, and with `scores` also the
        Human3.6M scores (T, 17) float32.
    """
    k = np.asarray(keypoints, dtype=np.float32)
    if k.ndim != 3 or k.shape[1:] != (17, 2):
        raise ValueError(f"coco17_to_h36m17: expected keypoints of shape (frames, 17, 2), found {k.shape}.")
    frames = k.shape[0]
    out = np.zeros_like(k)
    synthesised = np.zeros((frames, 4, 2), dtype=np.float32)  # head, thorax, pelvis, spine
    synthesised[:, 0, 0] = np.mean(k[:, 1:5, 0], axis=1, dtype=np.float32)
    synthesised[:, 0, 1] = np.sum(k[:, 1:3, 1], axis=1, dtype=np.float32) - k[:, 0, 1]
    synthesised[:, 1] = np.mean(k[:, 5:7], axis=1, dtype=np.float32)
    synthesised[:, 1] += (k[:, 0] - synthesised[:, 1]) / 3
    synthesised[:, 2] = np.mean(k[:, 11:13], axis=1, dtype=np.float32)
    synthesised[:, 3] = np.mean(k[:, [5, 6, 11, 12]], axis=1, dtype=np.float32)
    out[:, _HEAD_THORAX_PELVIS_SPINE] = synthesised
    out[:, _H36M_FROM_COCO] = k[:, _COCO_SOURCES]
    out[:, 9] -= (out[:, 9] - np.mean(k[:, 5:7], axis=1, dtype=np.float32)) / 4
    out[:, 7, 0] += 2 * (out[:, 7, 0] - np.mean(out[:, [0, 8], 0], axis=1, dtype=np.float32))
    out[:, 8, 1] -= (np.mean(k[:, 1:3, 1], axis=1, dtype=np.float32) - k[:, 0, 1]) * 2 / 3
    if scores is None:
        return out
    s = np.asarray(scores, dtype=np.float32)
    if s.shape != k.shape[:2]:
        raise ValueError(f"coco17_to_h36m17: expected scores of shape {k.shape[:2]}, found {s.shape}.")
    h36m_scores = np.zeros_like(s)
    h36m_scores[:, _H36M_FROM_COCO] = s[:, _COCO_SOURCES]
    h36m_scores[:, 0] = np.mean(s[:, [11, 12]], axis=1, dtype=np.float32)
    h36m_scores[:, 8] = np.mean(s[:, [5, 6]], axis=1, dtype=np.float32)
    h36m_scores[:, 7] = np.mean(h36m_scores[:, [0, 8]], axis=1, dtype=np.float32)
    h36m_scores[:, 10] = np.mean(s[:, [1, 2, 3, 4]], axis=1, dtype=np.float32)
    return out, h36m_scores


# MotionBERT's `halpe2h36m` (lib/data/dataset_wild.py): Human3.6M joint <- Halpe-26 joints
# (AlphaPose; 17 head, 18 neck, 19 hip). The spine (7) is the neck-hip midpoint.
_H36M_FROM_HALPE26 = ((19,), (12,), (14,), (16,), (11,), (13,), (15,), (18, 19), (18,), (0,), (17,), (5,), (7,),
                      (9,), (6,), (8,), (10,))


def halpe26_to_h36m17(keypoints) -> np.ndarray:
    """AlphaPose Halpe-26 keypoints -> Human3.6M-17, exactly as MotionBERT's
    in-the-wild pipeline (`halpe2h36m`): every channel (scores too) is copied
    or, for the spine, averaged.

    Args:
        keypoints: (..., 26, C) array (e.g. C = 3: x, y, score).

    Returns:
        (..., 17, C) float64 array (the official dtype).
    """
    k = np.asarray(keypoints, dtype=np.float64)
    if k.ndim < 2 or k.shape[-2] != 26:
        raise ValueError(f"halpe26_to_h36m17: expected keypoints of shape (..., 26, C), found {k.shape}.")
    out = np.zeros(k.shape[:-2] + (17, k.shape[-1]))
    for joint, sources in enumerate(_H36M_FROM_HALPE26):
        out[..., joint, :] = k[..., sources[0], :] if len(sources) == 1 else (k[..., 18, :] + k[..., 19, :]) * 0.5
    return out


# MotionBERT's `coco2h36m` (lib/data/dataset_action.py): Human3.6M joint <- COCO-17 joints (mean of two), for the
# NTU action data; the spine (7) is the mean of the pelvis and thorax just computed.
_H36M_FROM_COCO17_MOTIONBERT = ((11, 12), (12,), (14,), (16,), (11,), (13,), (15,), None, (5, 6), (0,), (1, 2), (5,),
                                (7,), (9,), (6,), (8,), (10,))


def coco17_to_h36m17_motionbert(keypoints) -> np.ndarray:
    """COCO-17 keypoints -> Human3.6M-17, exactly as MotionBERT's NTU action
    pipeline (`coco2h36m`): pelvis = mid-hip, thorax = mid-shoulder, spine =
    their mean, head = mid-eye, limbs and nose copied. Not GAST-Net's
    `coco17_to_h36m17` (different head, thorax, spine and nose).

    Args:
        keypoints: (..., 17, C) array (the official: x, y).

    Returns:
        (..., 17, C) float64 (the official dtype; the means of two joints are
        computed in the input's dtype, the spine in float64, as the official).
    """
    k = np.asarray(keypoints)
    if k.ndim < 2 or k.shape[-2] != 17:
        raise ValueError(f"coco17_to_h36m17_motionbert: expected keypoints of shape (..., 17, C), found {k.shape}.")
    out = np.zeros(k.shape)
    for joint, sources in enumerate(_H36M_FROM_COCO17_MOTIONBERT):
        if sources is not None:
            out[..., joint, :] = k[..., sources[0], :] if len(sources) == 1 else (
                k[..., sources[0], :] + k[..., sources[1], :]) * 0.5
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) * 0.5
    return out
