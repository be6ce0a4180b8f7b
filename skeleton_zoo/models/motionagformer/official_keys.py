"""Official MotionAGFormer state-dict keys -> `MotionAGFormer` variables.

Official names: `joints_embed`, `pos_embed` (1, J, C), `layers.<i>.{att_spatial,
att_temporal, graph_spatial, graph_temporal}` (AGFormerBlock: `layer_scale_1/2`,
`norm1`, `mixer.*`, `norm2`, `mlp.fc1`, `mlp.fc2`; with `graph_only` the graph
branch is the bare mixer), `layers.<i>.fusion`, `norm`, `rep_logit.fc`, `head`.
Mixers: attention `qkv` (+bias with qkv_bias) and `proj`; graph `U`, `V`,
`batch_norm`; MS-TCN `branches.<b>.<k>` (Conv2d (out, in, kT, 1), BatchNorm2d).
The graph adjacency is not saved (it is rebuilt from the configuration).
"""

from __future__ import annotations

from typing import Mapping

from skeleton_zoo.models.motionagformer import layers as magf_layers
from skeleton_zoo.weights import state_dict as sd

__all__ = ["official_rules", "unit_rules", "load_official_state_dict"]


def _pointwise_conv(layer, prefix):
    return sd.pointwise(layer, prefix, torch_kernel_dims=2)


def _mixer_rules(mixer, prefix) -> list[sd.Rule]:
    if isinstance(mixer, magf_layers.GraphConvMixer):
        return [*sd.linear(mixer.U, f"{prefix}.U"), *sd.linear(mixer.V, f"{prefix}.V"),
                *sd.batch_norm(mixer.batch_norm, f"{prefix}.batch_norm")]
    if isinstance(mixer, magf_layers.MultiScaleTCN):
        rules = []
        for b in range(4):
            rules += [*_pointwise_conv(mixer.pointwise[b], f"{prefix}.branches.{b}.0"),
                      *sd.batch_norm(mixer.pointwise_bn[b], f"{prefix}.branches.{b}.1")]
        for b in range(2):
            rules += [*sd.conv2d(mixer.temporal[b], f"{prefix}.branches.{b}.3.conv"),
                      *sd.batch_norm(mixer.temporal_bn[b], f"{prefix}.branches.{b}.3.bn")]
        return rules + sd.batch_norm(mixer.pool_bn, f"{prefix}.branches.2.4")
    return [*sd.linear(mixer.qkv, f"{prefix}.qkv"), *sd.linear(mixer.proj, f"{prefix}.proj")]


def unit_rules(unit, prefix) -> list[sd.Rule]:
    if not isinstance(unit, magf_layers.AGFormerUnit):  # graph_only: the bare mixer
        return _mixer_rules(unit, prefix)
    rules = [*sd.layer_norm(unit.norm1, f"{prefix}.norm1"), *_mixer_rules(unit.mixer, f"{prefix}.mixer"),
             *sd.layer_norm(unit.norm2, f"{prefix}.norm2"), *sd.linear(unit.mlp_fc1, f"{prefix}.mlp.fc1"),
             *sd.linear(unit.mlp_fc2, f"{prefix}.mlp.fc2")]
    if unit.use_layer_scale:
        rules += [sd.copy(unit.layer_scale_1, f"{prefix}.layer_scale_1"),
                  sd.copy(unit.layer_scale_2, f"{prefix}.layer_scale_2")]
    return rules


def backbone_rules(model, prefix: str = "") -> list[sd.Rule]:
    """Every variable but the `head`'s, official keys under `prefix`."""
    embed = model.get_layer("embed")
    joints, dim = embed.joint_embedding.shape
    rules = [
        *sd.linear(model.get_layer("joints_embed"), f"{prefix}joints_embed"),
        sd.Rule(embed.joint_embedding, [f"{prefix}pos_embed"], [(1, joints, dim)], lambda a: a[0]),
        *sd.layer_norm(model.get_layer("norm"), f"{prefix}norm"),
        *sd.linear(model.get_layer("rep_logit"), f"{prefix}rep_logit.fc"),
    ]
    for i in range(model.n_layers):
        for branch in ("att_spatial", "att_temporal", "graph_spatial", "graph_temporal"):
            rules += unit_rules(model.get_layer(f"layers_{i}_{branch}"), f"{prefix}layers.{i}.{branch}")
        fusion = model.get_layer(f"layers_{i}_fusion")
        if fusion.learned:
            rules += sd.linear(fusion.weights_dense, f"{prefix}layers.{i}.fusion")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `MotionAGFormer` with the official keys it is made from."""
    return [*backbone_rules(model), *sd.linear(model.get_layer("head"), "head")]


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official MotionAGFormer `state_dict` (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source)
