"""Official GAST-Net state-dict keys -> `GASTNet` variables.

The official model (`model/gast_net.py`) names its parts `init_bn`,
`expand_conv`, `expand_bn`, `layers_conv.{2i, 2i+1}`, `layers_bn.{2i, 2i+1}`,
`layers_graph_conv.{i}` and `shrink`. Keys are identical for the sequence and
single-frame official classes, as they are for our two variants.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from skeleton_zoo.models.common import official_temporal_block_rules
from skeleton_zoo.weights import state_dict as sd


def _global_attention_rules(layer, prefix) -> list[sd.Rule]:
    """Per-head official tensors are stacked along our head axis."""
    channels, heads, d = layer.g_kernel.shape
    v = layer.learned_adjacency.shape[-1]
    head = [f"{prefix}.attentions.{k}" for k in range(heads)]

    def stack_kernels(*w):  # each (d, C, 1) -> (C, K, d)
        return np.stack([x[:, :, 0].T for x in w], axis=1)

    rules = []
    for name in ("g", "theta", "phi"):
        rules.append(sd.Rule(getattr(layer, f"{name}_kernel"), [f"{h}.{name}.weight" for h in head],
                             [(d, channels, 1)] * heads, stack_kernels))
        rules.append(sd.Rule(getattr(layer, f"{name}_bias"), [f"{h}.{name}.bias" for h in head],
                             [(d,)] * heads, lambda *b: np.stack(b)))
    rules.append(sd.Rule(layer.score_kernel, [f"{h}.concat_project.0.weight" for h in head],
                         [(1, 2 * d, 1, 1)] * heads, lambda *w: np.stack([x.reshape(2 * d) for x in w])))
    rules.append(sd.Rule(layer.learned_adjacency, [f"{h}.C_k" for h in head],
                         [(v, v)] * heads, lambda *c: np.stack(c)))
    rules += sd.pointwise(layer.cat_conv, f"{prefix}.cat_conv")
    rules += sd.batch_norm(layer.cat_bn, f"{prefix}.cat_bn")
    return rules


def _graph_block_rules(block, prefix) -> list[sd.Rule]:
    local = block.local_graph
    lp = f"{prefix}.local_graph_layer"
    rules = [
        sd.copy(local.gcn_sym.W, f"{lp}.gcn_sym.W"),
        sd.copy(local.gcn_sym.e, f"{lp}.gcn_sym.e"),
        sd.copy(local.gcn_con.W, f"{lp}.gcn_con.W"),
        sd.copy(local.gcn_con.e, f"{lp}.gcn_con.e"),
        *sd.batch_norm(local.bn_1, f"{lp}.bn_1"),
        *sd.batch_norm(local.bn_2, f"{lp}.bn_2"),
        *sd.pointwise(local.cat_conv, f"{lp}.cat_conv"),
        *sd.batch_norm(local.cat_bn, f"{lp}.cat_bn"),
    ]
    rules += _global_attention_rules(block.global_graph, f"{prefix}.global_graph_layer")
    rules += sd.pointwise(block.cat_conv, f"{prefix}.cat_conv")
    rules += sd.batch_norm(block.cat_bn, f"{prefix}.cat_bn")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `GASTNet` with the official keys it is made from."""
    rules = [
        *sd.batch_norm(model.get_layer("init_bn"), "init_bn"),
        *sd.conv2d(model.get_layer("expand_conv"), "expand_conv"),
        *sd.batch_norm(model.get_layer("expand_bn"), "expand_bn"),
        *sd.pointwise(model.get_layer("shrink"), "shrink"),
    ]
    for i in range(len(model.filter_widths)):
        rules += _graph_block_rules(model.get_layer(f"graph_attention_{i}"), f"layers_graph_conv.{i}")
        if i == 0:
            continue
        rules += official_temporal_block_rules(model.get_layer(f"temporal_block_{i}"), 2 * (i - 1), 2)
    return rules


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official GAST-Net `state_dict` (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source)
