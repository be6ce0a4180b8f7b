"""GAST-Net's FLOPs counted from its configuration, layer by layer: the
cross-check of the benchmark's profiler counts (`skeleton_zoo.benchmark.flops`)."""

from __future__ import annotations

__all__ = ["analytic_gast_flops"]


def _gast_layer_macs(model, frames: int) -> dict:
    """Multiply-accumulates of every conv / matmul / einsum of a GASTNet on
    one clip of `frames` input frames, by layer name."""
    from skeleton_zoo.models.gast.layers import GraphAttentionBlock, TemporalBlock

    v = model.layout.num_joints
    widths = model.filter_widths
    sequence = model.variant == "sequence"

    def conv_out(t, width, dilation):
        return t - (width - 1) * dilation if sequence else (t - width) // width + 1

    macs = {}
    t = conv_out(frames, widths[0], 1)
    macs["expand_conv"] = t * v * widths[0] * model.in_features * model.channels
    channels = model.channels
    for layer in model.layers:
        if isinstance(layer, TemporalBlock):
            t = conv_out(t, layer.width, layer.dilation)
            c = layer.channels
            macs[f"{layer.name}/temporal_conv"] = t * v * layer.width * c * c
            macs[f"{layer.name}/pointwise_conv"] = t * v * c * c
        elif isinstance(layer, GraphAttentionBlock):
            c, k = layer.channels, layer.num_heads
            rows = t * v  # (frame, joint) positions
            name = layer.name
            # Local graph: two semantic graph convs (x W0, x W1 and the
            # neighbour einsum over V x V per channel), then cat_conv 2C -> C.
            macs[f"{name}/local_graph/graph_convs"] = 2 * (2 * rows * c * c + t * v * v * c)
            macs[f"{name}/local_graph/cat_conv"] = rows * 2 * c * c
            # Global graph: g / theta / phi projections C -> K x d, the row and
            # column score einsums (K x d each per joint), attention x g
            # (K x V x V x d), cat_conv C -> C.
            macs[f"{name}/global_graph/projections"] = 3 * rows * c * c
            macs[f"{name}/global_graph/scores"] = 2 * rows * c
            macs[f"{name}/global_graph/attention"] = t * k * v * v * (c // k)
            macs[f"{name}/global_graph/cat_conv"] = rows * c * c
            macs[f"{name}/cat_conv"] = rows * 3 * c * 2 * c
            channels = 2 * c
    macs["shrink"] = t * v * channels * 3
    return macs


def analytic_gast_flops(model, frames: int | None = None, batch: int = 1) -> int:
    """FLOPs (2 x multiply-accumulates) of the Conv2D / Dense / einsum layers
    of a GASTNet, from its configuration alone.

    Per GraphAttentionBlock of C input channels on T frames of V joints:
    local graph 2 x (2 T V C^2 + T V^2 C) + 2 T V C^2; global graph
    3 T V C^2 (projections) + 2 T V C (scores) + T V^2 C (attention x g) +
    T V C^2; block fusion 6 T V C^2. Per TemporalBlock of width w:
    w T V C^2 + T V C^2. Plus the expand conv (w0 x in_features x C per
    position) and shrink (2^n C x 3). Elementwise ops (batch norm, softmax,
    activations, residuals) are not counted.

    The sequence variant's dilated convolutions run as SpaceToBatchND +
    Conv2D in TensorFlow, which computes up to `dilation - 1` padded frames
    more than the true count given here when the output length is not a
    multiple of the dilation.

    Args:
        model: a `GASTNet`.
        frames: input frames T: sequence variant any T >= receptive field
            (gives T - rf + 1 poses); single_frame one receptive field (the
            default).
        batch: clips per call.

    Returns:
        FLOPs of one call on input (batch, frames, J, in_features).
    """
    frames = model.receptive_field if frames is None else int(frames)
    if frames < model.receptive_field:
        raise ValueError(f"analytic_gast_flops: {frames} frames is shorter than the receptive field "
                         f"({model.receptive_field}).")
    return 2 * batch * sum(_gast_layer_macs(model, frames).values())
