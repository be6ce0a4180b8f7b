"""TFDS builder `human36m_motionbert`: Human3.6M as MotionBERT, MotionAGFormer and TCPFormer use it."""

from tfds_builders.human36m_motionbert.human36m_motionbert import Human36mMotionbert

__all__ = ["Human36mMotionbert"]
