"""Official MotionBERT (DSTformer) state-dict keys -> `DSTformer` variables.

Official names: `joints_embed`, `pos_embed` (1, J, C), `temp_embed`
(1, maxlen, 1, C), `blocks_st.<i>` / `blocks_ts.<i>` (norm1_s, attn_s.qkv,
attn_s.proj, norm2_s, mlp_s.fc1, mlp_s.fc2 and the `_t` twins), `ts_attn.<i>`
(the fusion's Linear(2C, 2)), `norm`, `pre_logits.fc` and `head`. Linear
weights are (out, in); the qkv rows are ordered (q|k|v, head, head_dim), as
our fused projection.
"""

from __future__ import annotations

from typing import Mapping

from skeleton_zoo.weights import state_dict as sd

__all__ = ["official_rules", "load_official_state_dict"]


def _block_rules(block, prefix) -> list[sd.Rule]:
    rules = []
    for s in ("s", "t"):
        attention = getattr(block, f"attn_{s}")
        rules += [
            *sd.layer_norm(getattr(block, f"norm1_{s}"), f"{prefix}.norm1_{s}"),
            *sd.linear(attention.qkv, f"{prefix}.attn_{s}.qkv"),
            *sd.linear(attention.proj, f"{prefix}.attn_{s}.proj"),
            *sd.layer_norm(getattr(block, f"norm2_{s}"), f"{prefix}.norm2_{s}"),
            *sd.linear(getattr(block, f"mlp_{s}_fc1"), f"{prefix}.mlp_{s}.fc1"),
            *sd.linear(getattr(block, f"mlp_{s}_fc2"), f"{prefix}.mlp_{s}.fc2"),
        ]
    return rules


def backbone_rules(model, prefix: str = "") -> list[sd.Rule]:
    """The backbone's variables (everything but `head`), official keys under `prefix`."""
    embedding = model.get_layer("embedding")
    joints, dim = embedding.joint_embedding.shape
    frames = embedding.frame_embedding.shape[0]
    rules = [
        *sd.linear(model.get_layer("joints_embed"), f"{prefix}joints_embed"),
        sd.Rule(embedding.joint_embedding, [f"{prefix}pos_embed"], [(1, joints, dim)], lambda a: a[0]),
        sd.Rule(embedding.frame_embedding, [f"{prefix}temp_embed"], [(1, frames, 1, dim)], lambda a: a[0, :, 0]),
        *sd.layer_norm(model.get_layer("norm"), f"{prefix}norm"),
        *sd.linear(model.get_layer("pre_logits"), f"{prefix}pre_logits.fc"),
    ]
    for i in range(model.depth):
        rules += _block_rules(model.get_layer(f"blocks_st_{i}"), f"{prefix}blocks_st.{i}")
        rules += _block_rules(model.get_layer(f"blocks_ts_{i}"), f"{prefix}blocks_ts.{i}")
        fusion = model.get_layer(f"fusion_{i}")
        if fusion.learned:
            rules += sd.linear(fusion.weights_dense, f"{prefix}ts_attn.{i}")
    return rules


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `DSTformer` with the official keys it is made from."""
    return [*backbone_rules(model), *sd.linear(model.get_layer("head"), "head")]


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official DSTformer `state_dict` (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source)
