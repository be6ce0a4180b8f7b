"""Official PYSKL state-dict keys -> `GCNRecognizer` variables.

PYSKL / mmcv checkpoints hold `{'meta', 'state_dict', 'optimizer'}`; the
state dict has `backbone.*` and `cls_head.fc_cls.*`. Per block
`backbone.gcn.{i}`: `gcn` (`unit_gcn`: `A`, `PA`, `conv`, `bn`, `down.{0,1}`),
`tcn` (`mstcn`: `branches.{j}` = [1x1 conv, BN, ReLU, unit_tcn / max pool] or
a bare strided 1x1 conv; `transform.{0,2}`, `bn`; or a `unit_tcn`) and
`residual` (`unit_tcn`: `conv`, `bn`).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from skeleton_zoo.models.sttr.official_keys import _permuted_batch_norm
from skeleton_zoo.weights import state_dict as sd


def is_unused_official_key(key: str) -> bool:
    """`*.num_batches_tracked` (BatchNorm counters) and the backbone-level
    graph `backbone.A` (CTR-GCN, AAGCN, MS-G3D: each block has its own) are
    never used by the forward pass."""
    return key.endswith(".num_batches_tracked") or key == "backbone.A"


def _graph_conv_rules(layer, prefix):
    c_in, k_out = layer.kernel.shape
    rules = [
        sd.Rule(layer.kernel, [f"{prefix}.conv.weight"], [(k_out, c_in, 1, 1)], lambda w: w[:, :, 0, 0].T),
        sd.copy(layer.bias, f"{prefix}.conv.bias"),
        sd.copy(layer.graph, f"{prefix}.A"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    if layer.graph_offset is not None:
        rules.append(sd.copy(layer.graph_offset, f"{prefix}.PA"))
    if layer.down is not None:
        rules += [*sd.pointwise(layer.down, f"{prefix}.down.0"), *sd.batch_norm(layer.down_bn, f"{prefix}.down.1")]
    return rules


def _unit_tcn_rules(layer, prefix, bn_index=None):
    """`unit_tcn` (`conv`, `bn`), or a bare conv + BN Sequential (`0`, `bn_index`)."""
    if bn_index is not None:
        return [*sd.conv2d(layer.conv, f"{prefix}.0"), *sd.batch_norm(layer.bn, f"{prefix}.{bn_index}")]
    rules = sd.conv2d(layer.conv, f"{prefix}.conv")
    if layer.bn is not None:
        rules += sd.batch_norm(layer.bn, f"{prefix}.bn")
    return rules


def _multi_branch_rules(layer, prefix):
    rules = []
    for i, (kind, _) in enumerate(layer.branch_kinds):
        branch = f"{prefix}.branches.{i}"
        if kind == "1x1":
            rules += sd.conv2d(getattr(layer, f"branch_{i}_conv").conv, branch)
            continue
        rules += [*sd.pointwise(getattr(layer, f"branch_{i}_project"), f"{branch}.0"),
                  *sd.batch_norm(getattr(layer, f"branch_{i}_bn"), f"{branch}.1")]
        if kind == "conv":
            rules += _unit_tcn_rules(getattr(layer, f"branch_{i}_conv"), f"{branch}.3")
    return rules + [
        *sd.batch_norm(layer.transform_bn, f"{prefix}.transform.0"),
        *sd.pointwise(layer.transform, f"{prefix}.transform.2"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]


def _topology_graph_conv_rules(layer, prefix):
    """K official `CTRGC`s (conv1..conv4 each) -> our concatenated kernels."""
    k = layer.graph.shape[0]
    c_in, kr = layer.query.shape
    r, o = kr // k, layer.units

    def stacked(variable, conv, shape, join):
        return sd.Rule(variable, [f"{prefix}.convs.{i}.{conv}" for i in range(k)], [shape] * k, join)

    def kernels(*w):
        return np.concatenate([x[:, :, 0, 0].T for x in w], axis=1)

    rules = [
        stacked(layer.query, "conv1.weight", (r, c_in, 1, 1), kernels),
        stacked(layer.query_bias, "conv1.bias", (r,), lambda *b: np.concatenate(b)),
        stacked(layer.key, "conv2.weight", (r, c_in, 1, 1), kernels),
        stacked(layer.key_bias, "conv2.bias", (r,), lambda *b: np.concatenate(b)),
        stacked(layer.value, "conv3.weight", (o, c_in, 1, 1), kernels),
        stacked(layer.value_bias, "conv3.bias", (o,), lambda *b: np.concatenate(b)),
        stacked(layer.refine, "conv4.weight", (o, r, 1, 1), lambda *w: np.stack([x[:, :, 0, 0].T for x in w])),
        stacked(layer.refine_bias, "conv4.bias", (o,), lambda *b: np.stack(b)),
        sd.copy(layer.graph, f"{prefix}.A"),
        sd.copy(layer.alpha, f"{prefix}.alpha"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    if layer.down is not None:
        rules += [*sd.pointwise(layer.down, f"{prefix}.down.0"), *sd.batch_norm(layer.down_bn, f"{prefix}.down.1")]
    return rules


def _adaptive_attention_rules(layer, prefix):
    """unit_aagcn: K conv_d / conv_a / conv_b -> our concatenated kernels; the gates."""
    k = layer.graph.shape[0]
    kc, o = layer.kernel.shape
    c_in = kc // k

    rules = [
        sd.Rule(layer.kernel, [f"{prefix}.conv_d.{i}.weight" for i in range(k)], [(o, c_in, 1, 1)] * k,
                lambda *w: np.concatenate([x[:, :, 0, 0].T for x in w], axis=0)),
        sd.Rule(layer.bias, [f"{prefix}.conv_d.{i}.bias" for i in range(k)], [(o,)] * k, lambda *b: np.stack(b)),
        sd.copy(layer.graph, f"{prefix}.A"),
        *sd.batch_norm(layer.bn, f"{prefix}.bn"),
    ]
    if layer.adaptive:
        e = layer.embedding_channels
        for ours, conv in ((layer.embed_a, "conv_a"), (layer.embed_b, "conv_b")):
            rules.append(sd.Rule(ours, [f"{prefix}.{conv}.{i}.weight" for i in range(k)], [(e, c_in, 1, 1)] * k,
                                 lambda *w: np.concatenate([x[:, :, 0, 0].T for x in w], axis=1)))
        for ours, conv in ((layer.embed_a_bias, "conv_a"), (layer.embed_b_bias, "conv_b")):
            rules.append(sd.Rule(ours, [f"{prefix}.{conv}.{i}.bias" for i in range(k)], [(e,)] * k,
                                 lambda *b: np.concatenate(b)))
        rules.append(sd.copy(layer.alpha, f"{prefix}.alpha"))
    if layer.down is not None:
        rules += [*sd.pointwise(layer.down, f"{prefix}.down.0"), *sd.batch_norm(layer.down_bn, f"{prefix}.down.1")]
    if layer.attention:
        for gate, name in ((layer.spatial_gate, "conv_sa"), (layer.temporal_gate, "conv_ta")):
            kernel, c, _ = gate.kernel.shape
            rules += [sd.Rule(gate.kernel, [f"{prefix}.{name}.weight"], [(1, c, kernel)], lambda w: w.transpose(2, 1, 0)),
                      sd.copy(gate.bias, f"{prefix}.{name}.bias")]
        rules += [*sd.linear(layer.channel_squeeze, f"{prefix}.fc1c"), *sd.linear(layer.channel_gate, f"{prefix}.fc2c")]
    return rules


def _msg3d_temporal_rules(layer, prefix):
    n = len(layer.branch_units)
    rules = []
    for i in range(n):
        branch = f"{prefix}.branches.{i}"
        if i == n - 1:
            rules += _unit_tcn_rules(getattr(layer, f"branch_{i}_conv"), branch, bn_index="1")
            continue
        rules += [*sd.pointwise(getattr(layer, f"branch_{i}_project"), f"{branch}.0"),
                  *sd.batch_norm(getattr(layer, f"branch_{i}_bn"), f"{branch}.1")]
        if i < len(layer.dilations):
            rules += _unit_tcn_rules(getattr(layer, f"branch_{i}_conv"), f"{branch}.3")
        else:
            rules += sd.batch_norm(getattr(layer, f"branch_{i}_pool_bn"), f"{branch}.4")
    if layer.shortcut is not None:
        rules += _unit_tcn_rules(layer.shortcut, f"{prefix}.residual")
    return rules


def _multiscale_graph_rules(layer, prefix):
    return [sd.copy(layer.graph, f"{prefix}.A"), sd.copy(layer.graph_offset, f"{prefix}.PA"),
            *sd.pointwise(layer.mlp, f"{prefix}.mlp.layers.0"), *sd.batch_norm(layer.bn, f"{prefix}.mlp.layers.1")]


def _window_rules(layer, prefix):
    """MSG3DBlock: `gcn3d.1` (ST_MSGCN), `out_conv` (Conv3d (O, C, 1, w, 1)), `out_bn`."""
    w, c, o = layer.window, layer.embed_channels, layer.units
    return [
        *_multiscale_graph_rules(layer.gcn, f"{prefix}.gcn3d.1"),
        sd.Rule(layer.collapse.kernel, [f"{prefix}.out_conv.weight"], [(o, c, 1, w, 1)],
                lambda k: k[:, :, 0, :, 0].transpose(2, 1, 0).reshape(w * c, o)),
        sd.copy(layer.collapse.bias, f"{prefix}.out_conv.bias"),
        *sd.batch_norm(layer.bn, f"{prefix}.out_bn"),
    ]


def _msg3d_rules(model) -> list[sd.Rule]:
    rules = []
    for stage in range(1, 4):
        for i, window in enumerate((3, 5)):
            rules += _window_rules(model.get_layer(f"g3d_{stage}_window_{window}"), f"backbone.gcn3d{stage}.gcn3d.{i}")
        rules += _multiscale_graph_rules(model.get_layer(f"sgcn_{stage}_graph"), f"backbone.sgcn{stage}.0")
        for i in (1, 2):
            rules += _msg3d_temporal_rules(model.get_layer(f"sgcn_{stage}_temporal_{i}"), f"backbone.sgcn{stage}.{i}")
        rules += _msg3d_temporal_rules(model.get_layer(f"tcn_{stage}"), f"backbone.tcn{stage}")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `GCNRecognizer` with the official keys it is made from."""
    v, m, c = model.layout.num_joints, model.num_persons, model.in_channels
    rules = sd.linear(model.get_layer("logits"), "cls_head.fc_cls")
    if model.data_bn_type == "VC":  # official index v * C + c, as ours
        rules += sd.batch_norm(model.get_layer("data_bn"), "backbone.data_bn")
    elif model.data_bn_type == "MVC":  # official (M, V, C) order -> ours (V, M, C)
        rules += _permuted_batch_norm(model.get_layer("data_bn"), "backbone.data_bn", (m, v, c), (1, 0, 2))
    if model.backbone == "msg3d":
        return rules + _msg3d_rules(model)
    for i in range(len(model.stages)):
        block = model.get_layer(f"block_{i}")
        if model.backbone == "ctrgcn":
            prefix = f"backbone.net.{i}"
            rules += _topology_graph_conv_rules(block.gcn, f"{prefix}.gcn1")
            rules += _msg3d_temporal_rules(block.tcn, f"{prefix}.tcn1")
        elif model.backbone == "aagcn":
            prefix = f"backbone.gcn.{i}"
            rules += [*_adaptive_attention_rules(block.gcn, f"{prefix}.gcn"), *_unit_tcn_rules(block.tcn, f"{prefix}.tcn")]
        else:
            prefix = f"backbone.gcn.{i}"
            rules += _graph_conv_rules(block.gcn, f"{prefix}.gcn")
            if block.temporal == "mstcn":
                rules += _multi_branch_rules(block.tcn, f"{prefix}.tcn")
            else:
                rules += _unit_tcn_rules(block.tcn, f"{prefix}.tcn")
        if block.shortcut is not None:
            rules += _unit_tcn_rules(block.shortcut, f"{prefix}.residual")
    return rules


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official PYSKL state dict (key -> array) into a `GCNRecognizer`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    every missing, unexpected or mis-shaped key; nothing is assigned then.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source,
                     ignored_keys=is_unused_official_key)
