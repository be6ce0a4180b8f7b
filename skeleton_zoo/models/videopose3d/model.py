"""VideoPose3D (Pavllo et al., CVPR 2019): a temporal convolutional lifter.

    keypoints_2d (B, T, J, F)   flattened per frame to J * F channels (official j * F + f order)
      expand_conv (w0, C) -> BN -> ReLU -> Dropout
      temporal_block_1 .. n-1   (w_i conv dilated by w_0 ... w_{i-1}, 1x1 conv, residual;
                                 dropout after both convs, as the official code)
      shrink (1x1 conv with bias, C -> J_out * 3)
    poses_3d (B, T - receptive_field + 1, J_out, 3)

With `num_joints_out=1` it is the semi-supervised trajectory model (the
root's camera-frame position), loaded from a checkpoint's `model_traj`.

The "sequence" variant (official `TemporalModel`) uses dilated convolutions
on clips of any length; the "single_frame" variant (`TemporalModelOptimized1f`)
uses strided ones on exactly one receptive field and predicts its centre
frame (its last one when causal). Both have the same weights.
"""

from __future__ import annotations

import math

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import TemporalBlock, TemporalConvLifter, batch_norm, dtype_config, pointwise

__all__ = ["VideoPose3D"]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class VideoPose3D(TemporalConvLifter):
    """VideoPose3D temporal model.

    Args:
        filter_widths: sequence of odd int. Temporal kernel widths; their
            product is the receptive field. E.g. (3, 3, 3, 3, 3) -> 243 frames.
        channels: int. C. Defaults to 1024 (every published model).
        layout: layout name, `SkeletonLayout` or its config dict, of the input
            joints (and of the output, unless `num_joints_out`). Defaults to "h36m17".
        num_joints_out: int or None. Output joints; None: the layout's.
        variant: "sequence" or "single_frame". Defaults to "sequence".
        causal: bool. Use only past frames. Defaults to False.
        dropout: float. Defaults to 0.25 (the official default).
        in_features: int. Values per input joint (2: x, y). Defaults to 2.
        dtype: dtype policy passed to every layer. Defaults to Keras' global one.

    Input `keypoints_2d`: (B, T, J, in_features), T >= receptive field
    (sequence) or T == receptive field (single_frame).
    Output `poses_3d`: (B, T - receptive_field + 1, J_out, 3).
    """

    def __init__(self, filter_widths=(3, 3, 3), channels=1024, layout="h36m17", num_joints_out=None,
                 variant="sequence", causal=False, dropout=0.25, in_features=2, dtype=None, **kwargs):
        filter_widths = self.check_config("VideoPose3D", filter_widths, variant)
        layout = layouts_lib.get_layout(layout)
        joints_out = layout.num_joints if num_joints_out is None else int(num_joints_out)
        sequence = variant == "sequence"

        # === Layers ===
        expand_conv = keras.layers.Conv2D(
            channels, (filter_widths[0], 1), strides=(1, 1) if sequence else (filter_widths[0], 1),
            use_bias=False, kernel_initializer="he_normal", name="expand_conv", dtype=dtype)
        expand_bn = batch_norm("expand_bn", dtype)
        blocks, dilation = [], filter_widths[0]
        for i, width in enumerate(filter_widths[1:], start=1):
            blocks.append(TemporalBlock(channels, width, dilation, variant, causal, dropout, dropout_inside=True,
                                        name=f"temporal_block_{i}", dtype=dtype))
            dilation *= width
        shrink = pointwise(joints_out * 3, "shrink", dtype, use_bias=True)

        # === Functional model ===
        frames = None if sequence else math.prod(filter_widths)
        inputs = keras.Input((frames, layout.num_joints, in_features), name="keypoints_2d")
        x = keras.layers.Reshape((-1, 1, layout.num_joints * in_features), name="flatten_joints",
                                 dtype=dtype)(inputs)  # (B, T, 1, J * F)
        x = keras.layers.ReLU(name="expand_relu", dtype=dtype)(expand_bn(expand_conv(x)))
        x = keras.layers.Dropout(dropout, name="expand_dropout", dtype=dtype)(x)
        for block in blocks:
            x = block(x)
        outputs = keras.layers.Reshape((-1, joints_out, 3), name="poses_3d", dtype=dtype)(shrink(x))
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.filter_widths = filter_widths
        self.channels = int(channels)
        self.layout = layout
        self.num_joints_out = None if num_joints_out is None else joints_out
        self.variant = variant
        self.causal = bool(causal)
        self.dropout = float(dropout)
        self.in_features = int(in_features)
        self._dtype_config = dtype_config(dtype)

    @property
    def official_container(self) -> str | None:
        """The checkpoint entry the official weights are read from: run.py saves
        the trajectory model (one output joint, the root) as `model_traj`."""
        return "model_traj" if self.num_joints_out == 1 else None

    def get_config(self):
        return {**super().get_config(), "num_joints_out": self.num_joints_out}

