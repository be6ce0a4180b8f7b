"""Official TCPFormer (`MemoryInducedTransformer`) state-dict keys -> `TCPFormer` variables.

Official names: `joints_embed`, `pos_embed`, `center_pose` (T/3, J, C),
`center_pos_embed` (1, J, C), `layers.<i>.{att_spatial, att_temporal,
graph_spatial, graph_temporal}` (TransBlocks: `layer_scale_1/2`, `norm1`,
`mixer.qkv`, `mixer.proj`, `norm2`, `mlp.fc1/fc2`), `layers.<i>.fusion`,
`temporal_layers.<i>.{local_attention_list.<c>, loacl_mlps.<c> (sic),
local_norms.<k>}`, `temporal_layers.<i>.cross_temporal.*` (MIBlock:
`layer_scale_1..8`, `att_weight`, the norms, `center_full` / `full_center`
(`wq`, `wk`, `wv`, `proj`), `map_sa_self`, `map_sum` (`qkv`, `proj`) and
the MLPs), `norm`, `rep_logit.fc`, `head`. The memory blocks' six
`layer_scale` constants are not in the state dict (a plain Python list).
"""

from __future__ import annotations

from typing import Mapping

from skeleton_zoo.models.motionagformer.official_keys import unit_rules
from skeleton_zoo.weights import state_dict as sd

__all__ = ["official_rules", "load_official_state_dict"]


def _attention(layer, prefix):
    return [*sd.linear(layer.qkv, f"{prefix}.qkv"), *sd.linear(layer.proj, f"{prefix}.proj")]


def _feed_forward(layer, prefix):
    return [*sd.linear(layer.fc1, f"{prefix}.fc1"), *sd.linear(layer.fc2, f"{prefix}.fc2")]


def _memory_rules(local, cross, prefix) -> list[sd.Rule]:
    rules = []
    for c in range(3):
        rules += _attention(local.attentions[c], f"{prefix}.local_attention_list.{c}")
        rules += _feed_forward(local.mlps[c], f"{prefix}.loacl_mlps.{c}")
    for k in range(6):
        rules += sd.layer_norm(local.norms[k], f"{prefix}.local_norms.{k}")
    p = f"{prefix}.cross_temporal"
    for name in ("center_full", "full_center"):
        layer = getattr(cross, name)
        rules += [*sd.linear(layer.wq, f"{p}.{name}.wq"), *sd.linear(layer.wk, f"{p}.{name}.wk"),
                  *sd.linear(layer.wv, f"{p}.{name}.wv"), *sd.linear(layer.proj, f"{p}.{name}.proj")]
    rules += _attention(cross.map_sa_self, f"{p}.map_sa_self") + _attention(cross.map_sum, f"{p}.map_sum")
    for name in cross.MLPS:
        rules += _feed_forward(getattr(cross, name), f"{p}.{name}")
    for name in cross.NORMS:
        rules += sd.layer_norm(getattr(cross, name), f"{p}.{name}")
    rules += [sd.copy(scale, f"{p}.layer_scale_{i}") for i, scale in enumerate(cross.layer_scales, start=1)]
    return rules + [sd.copy(cross.att_weight, f"{p}.att_weight")]


def backbone_rules(model, prefix: str = "") -> list[sd.Rule]:
    """Every variable but the `head`'s, official keys under `prefix`."""
    embed, queries = model.get_layer("embed"), model.get_layer("pose_queries")
    joints, dim = embed.joint_embedding.shape
    rules = [
        *sd.linear(model.get_layer("joints_embed"), f"{prefix}joints_embed"),
        sd.Rule(embed.joint_embedding, [f"{prefix}pos_embed"], [(1, joints, dim)], lambda a: a[0]),
        sd.copy(queries.center_pose, f"{prefix}center_pose"),
        sd.Rule(queries.center_pos_embed, [f"{prefix}center_pos_embed"], [(1, joints, dim)], lambda a: a[0]),
        *sd.layer_norm(model.get_layer("norm"), f"{prefix}norm"),
        *sd.linear(model.get_layer("rep_logit"), f"{prefix}rep_logit.fc"),
    ]
    for i in range(model.n_layers):
        for branch in ("att_spatial", "att_temporal", "graph_spatial", "graph_temporal"):
            rules += unit_rules(model.get_layer(f"layers_{i}_{branch}"), f"{prefix}layers.{i}.{branch}")
        rules += sd.linear(model.get_layer(f"layers_{i}_fusion").weights_dense, f"{prefix}layers.{i}.fusion")
        rules += _memory_rules(model.get_layer(f"temporal_layers_{i}_local"),
                               model.get_layer(f"temporal_layers_{i}_cross"), f"{prefix}temporal_layers.{i}")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `TCPFormer` with the official keys it is made from."""
    return [*backbone_rules(model), *sd.linear(model.get_layer("head"), "head")]


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official TCPFormer `state_dict` (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source)
