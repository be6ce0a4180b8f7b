"""GAST-Net presets: the published receptive fields, each with a causal twin."""

from __future__ import annotations

import math

from skeleton_zoo import registry
from skeleton_zoo.gast.convert import load_official_state_dict
from skeleton_zoo.gast.model import GASTNet

# The authors' model zoo (Google Drive; Baidu mirror
# https://pan.baidu.com/s/1AVPEtpuwLqYjDC3f9Ita0A, code ietc), per their README.
_ZOO = "https://drive.google.com/drive/folders/194Btr2L2FJ7jWaH4c1mpNysvKZOcEb1K"
_OFFICIAL = {
    "gast_27": (
        registry.OfficialWeights(
            "27_frame_model.bin", "https://drive.google.com/file/d/1vh29QoxIfNT4Roqw1SuHDxxKex53xlOB"),
        registry.OfficialWeights("27_frame_model_toe.bin", _ZOO, note="with layout='h36m19', body + toes"),
    ),
    "gast_81": (
        registry.OfficialWeights(
            "81_frame_model.bin", "https://drive.google.com/file/d/12n-CyDhImxwHmakfA24n5Nz7J6QXj83f"),
    ),
    "gast_27_causal": (registry.OfficialWeights("27_frame_model_causal.bin", _ZOO),),
    "gast_81_causal": (registry.OfficialWeights("81_frame_model_causal.bin", _ZOO),),
}

# name -> (filter widths, channels), as published (Table 6 of the paper).
_CONFIGS = {
    "gast_9": ((3, 3), 128),
    "gast_27": ((3, 3, 3), 128),
    "gast_81": ((3, 3, 3, 3), 64),
    "gast_243": ((3, 3, 3, 3, 3), 32),
}


def _build(preset, variant="sequence", layout=None, **overrides):
    config = dict(preset.config, variant=variant, **overrides)
    if layout is not None:
        config["layout"] = layout
    return GASTNet(name=preset.name, **config)


def _describe(model):
    return {"receptive_field": model.receptive_field, "layout": model.layout.name}


registry.register_family(
    registry.Family(
        name="gast",
        build=_build,
        load_official=load_official_state_dict,
        describe=_describe,
        overrides=("variant", "layout", "causal", "dropout", "num_heads", "channels"),
    )
)

for _name, (_widths, _channels) in _CONFIGS.items():
    _rf = math.prod(_widths)
    for _causal in (False, True):
        _preset_name = _name + ("_causal" if _causal else "")
        registry.register_preset(
            registry.Preset(
                name=_preset_name,
                family="gast",
                task="pose_lifting",
                description=(
                    f"GAST-Net, {_rf}-frame receptive field, {_channels} channels"
                    + (", causal (past frames only)" if _causal else "")
                ),
                config={
                    "filter_widths": _widths,
                    "channels": _channels,
                    "causal": _causal,
                    "layout": "h36m17",
                },
                official_weights=_OFFICIAL.get(_preset_name, ()),
            )
        )
