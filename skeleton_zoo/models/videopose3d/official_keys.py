"""Official VideoPose3D state-dict keys -> `VideoPose3D` variables.

The official model (`common/model.py`) names its parts `expand_conv` (C, J*F,
w0), `expand_bn`, `layers_conv.{2i}` (C, C, w_i, the temporal convs),
`layers_conv.{2i+1}` (C, C, 1), `layers_bn.*` and `shrink` (J_out*3, C, 1,
with bias): Conv1d over time on joints flattened as j * F + f, the order our
reshape gives. Keys are identical for `TemporalModel` and
`TemporalModelOptimized1f`, as they are for our two variants.
"""

from __future__ import annotations

from typing import Mapping

from skeleton_zoo.models.common import official_temporal_block_rules
from skeleton_zoo.weights import state_dict as sd

__all__ = ["official_rules", "load_official_state_dict"]


def _temporal_conv(layer, key) -> sd.Rule:
    """torch Conv1d weight (out, in, w) -> our (w, 1) Conv2D kernel (w, 1, in, out)."""
    w, _, c_in, c_out = layer.kernel.shape
    return sd.Rule(layer.kernel, [key], [(c_out, c_in, w)], lambda a: a.transpose(2, 1, 0)[:, None])


def official_rules(model) -> list[sd.Rule]:
    """Every variable of a `VideoPose3D` with the official keys it is made from."""
    rules = [
        _temporal_conv(model.get_layer("expand_conv"), "expand_conv.weight"),
        *sd.batch_norm(model.get_layer("expand_bn"), "expand_bn"),
        *sd.pointwise(model.get_layer("shrink"), "shrink", torch_kernel_dims=1),
    ]
    for i in range(1, len(model.filter_widths)):
        rules += official_temporal_block_rules(model.get_layer(f"temporal_block_{i}"), 2 * (i - 1), 1)
    return rules


def load_official_state_dict(model, state_dict: Mapping, source: str = "a state-dict mapping") -> int:
    """Loads an official VideoPose3D `state_dict` (key -> array) into `model`.

    Returns the number of entries used. Raises `WeightsMismatchError` naming
    the model, the source and every missing, unexpected or mis-shaped key.
    """
    return sd.assign(official_rules(model), state_dict, model_name=model.name, source=source)
