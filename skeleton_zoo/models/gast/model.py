"""GAST-Net: interleaved temporal convolutions and graph attention blocks.

    keypoints_2d (B, T, V, 2)
      init_bn -> expand_conv (w0 x 1, C) -> expand_bn -> ReLU
      graph_attention_0                                  C -> 2C
      for i = 1 .. n-1 (channels C_i = 2^i C, width w_i, dilation w_0 ... w_{i-1}):
          temporal_block_i   (w_i x 1 conv, 1x1 conv, residual)
          graph_attention_i                              C_i -> 2 C_i
      shrink (1x1 conv, no bias)                         2^n C -> 3
    poses_3d (B, T - receptive_field + 1, V, 3)

The "sequence" variant uses dilated convolutions and accepts any clip of at
least one receptive field; the "single_frame" variant uses strided
convolutions on exactly one receptive field and predicts its centre frame
(its last frame when causal). Both have identical weights.
"""

from __future__ import annotations

import math

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import TemporalConvLifter, batch_norm, dtype_config, pointwise
from skeleton_zoo.models.gast import layers as gast_layers


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GASTNet(TemporalConvLifter):
    """GAST-Net 2D-to-3D pose lifting model.

    Args:
        filter_widths: sequence of odd int. Temporal kernel widths; their
            product is the receptive field. E.g. (3, 3, 3) -> 27 frames.
        channels: int. Width C of the first stage; doubles after every graph
            attention block.
        layout: layout name, `SkeletonLayout` or its config dict. Defaults to
            "h36m17".
        variant: "sequence" or "single_frame". Defaults to "sequence".
        causal: bool. Use only past frames. Defaults to False.
        dropout: float. Dropout rate everywhere. Defaults to 0.05 (GAST-Net's
            training default).
        num_heads: int. Heads of the global attention. Defaults to 4.
        in_features: int. Coordinates per input joint. Defaults to 2.
        dtype: dtype policy passed to every layer. Defaults to Keras' global one.

    Input `keypoints_2d`: (B, T, V, in_features), T >= receptive field
    (sequence) or T == receptive field (single_frame).
    Output `poses_3d`: (B, T - receptive_field + 1, V, 3).
    """

    def __init__(
        self,
        filter_widths=(3, 3, 3),
        channels=128,
        layout="h36m17",
        variant="sequence",
        causal=False,
        dropout=0.05,
        num_heads=4,
        in_features=2,
        dtype=None,
        **kwargs,
    ):
        filter_widths = self.check_config("GASTNet", filter_widths, variant)
        layout = layouts_lib.get_layout(layout)
        receptive_field = math.prod(filter_widths)
        sequence = variant == "sequence"
        num_joints = layout.num_joints

        # === Layers ===
        bn = batch_norm
        init_bn = bn("init_bn", dtype)
        expand_conv = keras.layers.Conv2D(
            channels,
            (filter_widths[0], 1),
            strides=(1, 1) if sequence else (filter_widths[0], 1),
            use_bias=False,
            kernel_initializer="he_normal",
            name="expand_conv",
            dtype=dtype,
        )
        expand_bn = bn("expand_bn", dtype)
        stages = [gast_layers.GraphAttentionBlock(channels, layout, dropout, num_heads, name="graph_attention_0", dtype=dtype)]
        dilation = filter_widths[0]
        for i, width in enumerate(filter_widths[1:], start=1):
            stage_channels = 2**i * channels
            stages.append(
                gast_layers.TemporalBlock(
                    stage_channels, width, dilation, variant, causal, dropout,
                    name=f"temporal_block_{i}", dtype=dtype,
                )
            )
            stages.append(
                gast_layers.GraphAttentionBlock(
                    stage_channels, layout, dropout, num_heads,
                    name=f"graph_attention_{i}", dtype=dtype,
                )
            )
            dilation *= width
        shrink = pointwise(3, "shrink", dtype)

        # === Functional model ===
        inputs = keras.Input(
            (None if sequence else receptive_field, num_joints, in_features), name="keypoints_2d"
        )
        x = init_bn(inputs)
        x = keras.layers.ReLU(name="expand_relu", dtype=dtype)(expand_bn(expand_conv(x)))
        for stage in stages:
            x = stage(x)
        outputs = shrink(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.filter_widths = filter_widths
        self.channels = int(channels)
        self.layout = layout
        self.variant = variant
        self.causal = bool(causal)
        self.dropout = float(dropout)
        self.num_heads = int(num_heads)
        self.in_features = int(in_features)
        self._dtype_config = dtype_config(dtype)

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads}

