"""Official ST-TR state-dict keys -> `STTR` variables.

Official names: `data_bn`, `gcn0` (unit_gcn, or unit_agcn in the `agcn`
models), `tcn0` (Unit2D), `backbone.{i}` with `gcn1` (unit_gcn, unit_agcn or
gcn_unit_attention), `tcn1` (Unit2D or
tcn_unit_attention), `down1` (Unit2D residual), and `fcn`. `person_bn` exists
in official checkpoints but is never used by the official forward pass: it is
accepted and dropped.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from skeleton_zoo.weights import state_dict as sd


def is_unused_official_key(key: str) -> bool:
    """`person_bn.*`: in official checkpoints, never used by the official forward pass."""
    return key.startswith("person_bn.")


def _permuted_batch_norm(layer, prefix, official_shape, our_axes):
    """A BatchNorm over flattened features whose official flattening order
    differs from ours: ours = official.reshape(official_shape).transpose(our_axes)."""
    n = int(np.prod(official_shape))

    def reorder(a):
        return a.reshape(official_shape).transpose(our_axes).reshape(-1)

    return [
        sd.Rule(var, [f"{prefix}.{name}"], [(n,)], reorder)
        for var, name in ((layer.gamma, "weight"), (layer.beta, "bias"),
                          (layer.moving_mean, "running_mean"), (layer.moving_variance, "running_var"))
    ]


def _graph_conv_rules(layer, prefix):
    k, c_in, c_out = layer.kernel.shape
    rules = [
        sd.Rule(layer.kernel, [f"{prefix}.conv_list.{i}.weight" for i in range(k)], [(c_out, c_in, 1, 1)] * k,
                lambda *w: np.stack([x[:, :, 0, 0].T for x in w])),
        sd.Rule(layer.bias, [f"{prefix}.conv_list.{i}.bias" for i in range(k)], [(c_out,)] * k,
                lambda *b: np.stack(b)),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    if layer.mask_learning:
        rules.append(sd.copy(layer.mask, f"{prefix}.mask"))
    return rules


def _adaptive_graph_conv_rules(layer, prefix):
    """unit_agcn: K conv_d / conv_a / conv_b -> our concatenated kernels; graph = A + PA = 2 PA
    (the official `A` is an alias of `PA`, see `AdaptiveGraphConv`)."""
    k = layer.num_subsets
    kc, o = layer.kernel.shape
    c_in, e = kc // k, layer.embedding_channels
    rules = [
        sd.Rule(layer.kernel, [f"{prefix}.conv_d.{i}.weight" for i in range(k)], [(o, c_in, 1, 1)] * k,
                lambda *w: np.concatenate([x[:, :, 0, 0].T for x in w], axis=0)),
        sd.Rule(layer.bias, [f"{prefix}.conv_d.{i}.bias" for i in range(k)], [(o,)] * k, lambda *b: np.stack(b)),
        sd.Rule(layer.graph, [f"{prefix}.PA"], [tuple(layer.graph.shape)], lambda pa: 2.0 * pa),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    for kernel, bias, conv in ((layer.embed_a, layer.embed_a_bias, "conv_a"),
                               (layer.embed_b, layer.embed_b_bias, "conv_b")):
        rules += [sd.Rule(kernel, [f"{prefix}.{conv}.{i}.weight" for i in range(k)], [(e, c_in, 1, 1)] * k,
                          lambda *w: np.concatenate([x[:, :, 0, 0].T for x in w], axis=1)),
                  sd.Rule(bias, [f"{prefix}.{conv}.{i}.bias" for i in range(k)], [(e,)] * k,
                          lambda *b: np.concatenate(b))]
    if layer.down is not None:
        rules += [*sd.pointwise(layer.down, f"{prefix}.down.0"), *sd.batch_norm(layer.down_bn, f"{prefix}.down.1")]
    return rules


def _spatial_unit_rules(layer, prefix):
    """unit_gcn or unit_agcn."""
    if hasattr(layer, "embed_a"):
        return _adaptive_graph_conv_rules(layer, prefix)
    return _graph_conv_rules(layer, prefix)


def _temporal_conv_rules(layer, prefix):
    return [*sd.conv2d(layer.conv, f"{prefix}.conv"), *sd.batch_norm(layer.bn, f"{prefix}.bn")]


def _joint_channel_bn(layer, prefix, num_joints):
    """Official (C * V) order -> ours (V * C)."""
    if layer.data_bn is None:
        return []
    channels = layer.data_bn.gamma.shape[0] // num_joints
    return _permuted_batch_norm(layer.data_bn, f"{prefix}.data_bn", (channels, num_joints), (1, 0))


def _spatial_attention_rules(layer, prefix, num_joints):
    return [
        *_joint_channel_bn(layer, prefix, num_joints),
        *sd.pointwise(layer.qkv, f"{prefix}.attention_conv.qkv_conv"),
        *sd.pointwise(layer.attn_out, f"{prefix}.attention_conv.attn_out"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]


def _temporal_attention_rules(layer, prefix, num_joints):
    kt, _, c_in, c_out = layer.qkv.kernel.shape
    rules = [
        *_joint_channel_bn(layer, prefix, num_joints),
        # official (out, in, 1, kt) on (N*V, C, 1, T) -> ours (kt, 1, in, out) on (B, T, V, C)
        sd.Rule(layer.qkv.kernel, [f"{prefix}.qkv_conv.weight"], [(c_out, c_in, 1, kt)],
                lambda w: w.transpose(3, 2, 1, 0)),
        sd.copy(layer.qkv.bias, f"{prefix}.qkv_conv.bias"),
        *sd.pointwise(layer.attn_out, f"{prefix}.attn_out"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    if layer.down is not None:
        rules += _temporal_conv_rules(layer.down, f"{prefix}.down")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of an `STTR` with the official keys it is made from."""
    v, m = model.layout.num_joints, model.num_persons
    data_bn = model.get_layer("data_bn")
    rules = [
        # official (M, V, C) feature order -> ours (V, M, C)
        *_permuted_batch_norm(data_bn, "data_bn", (m, v, model.in_channels), (1, 0, 2)),
        *_spatial_unit_rules(model.get_layer("stem_graph"), "gcn0"),
        *_temporal_conv_rules(model.get_layer("stem_temporal"), "tcn0"),
        *sd.pointwise(model.get_layer("logits"), "fcn", torch_kernel_dims=1),
    ]
    for i in range(len(model.backbone)):
        block, prefix = model.get_layer(f"block_{i}"), f"backbone.{i}"
        if block.spatial == "attention":
            rules += _spatial_attention_rules(block.spatial_unit, f"{prefix}.gcn1", v)
        else:
            rules += _spatial_unit_rules(block.spatial_unit, f"{prefix}.gcn1")
        if block.temporal == "attention":
            rules += _temporal_attention_rules(block.temporal_unit, f"{prefix}.tcn1", v)
        else:
            rules += _temporal_conv_rules(block.temporal_unit, f"{prefix}.tcn1")
        if block.residual is not None:
            rules += _temporal_conv_rules(block.residual, f"{prefix}.down1")
    return rules


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official ST-TR state dict (key -> array) into an `STTR`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    every missing, unexpected or mis-shaped key; nothing is assigned then.
    (Ensembles: `skeleton_zoo.load("st_tr_2s_joint", weights={"spatial": ..., "temporal": ...})`.)
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source,
                     ignored_keys=is_unused_official_key)
