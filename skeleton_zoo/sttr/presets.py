"""ST-TR presets: S-TR, T-TR and 2s-ST-TR on joints or joints + bones, and
the ST-GCN baseline, as published for NTU RGB+D (60 classes by default)."""

from __future__ import annotations

from skeleton_zoo import registry
from skeleton_zoo.sttr.convert import load_official_state_dict
from skeleton_zoo.sttr.model import STTR, TwoStreamSTTR

_STREAM_OPTIONS = (
    "num_classes", "num_persons", "layout", "backbone", "concat_original", "dropout",
    "drop_connect", "data_normalization", "skip_connection", "num_heads", "key_factor",
    "attention_from",
)

# Joints: 3 channels. Bones: joints + bones, 6 channels, doubled widths.
_INPUTS = {
    "joint": {"in_channels": 3, "double_channel": False},
    "bone": {"in_channels": 6, "double_channel": True},
}


# The authors ship NTU-60 weights in the repository's `checkpoint_ST-TR/`
# folder; files named *_bones_* are the joint+bones models.
_CHECKPOINTS = "https://github.com/Chiaraplizz/ST-TR/tree/master/code/checkpoint_ST-TR"


def _official(stream: str, input_kind: str, two_stream=False) -> registry.OfficialWeights:
    title = {"spatial": "S-TR", "temporal": "T-TR"}[stream]
    kind = "*_bones_*.pt" if input_kind == "bone" else "joints .pt"
    note = f"weights={{'{stream}': FILE, ...}}" if two_stream else ""
    return registry.OfficialWeights(f"{title} {kind}", _CHECKPOINTS, note=note)


def _build(preset, fusion=None, **overrides):
    config = dict(preset.config)
    if "spatial" in config:  # two-stream
        streams = {s: dict(config[s], **overrides) for s in ("spatial", "temporal")}
        return TwoStreamSTTR(streams["spatial"], streams["temporal"], fusion=fusion or config["fusion"],
                             name=preset.name)
    if fusion is not None:
        raise TypeError(f"load('{preset.name}'): `fusion` applies to two-stream presets only.")
    return STTR(name=preset.name, **dict(config, **overrides))


def _describe(model):
    return {"layout": (model.spatial_stream if hasattr(model, "spatial_stream") else model).layout.name}


registry.register_family(
    registry.Family(
        name="sttr",
        build=_build,
        load_official=load_official_state_dict,
        describe=_describe,
        overrides=_STREAM_OPTIONS + ("fusion",),
    )
)

for _input, _options in _INPUTS.items():
    for _stream, _title in (("spatial", "S-TR"), ("temporal", "T-TR")):
        registry.register_preset(
            registry.Preset(
                name=f"st_tr_{_stream}_{_input}",
                family="sttr",
                task="action_recognition",
                description=f"{_title} ({'spatial' if _stream == 'spatial' else 'temporal'} self-attention), {_input} input",
                config={"stream": _stream, **_options},
                official_weights=(_official(_stream, _input),),
            )
        )
    registry.register_preset(
        registry.Preset(
            name=f"st_tr_2s_{_input}",
            family="sttr",
            task="action_recognition",
            description=f"2s-ST-TR: S-TR + T-TR streams, {_input} input, logits summed",
            config={
                "spatial": {"stream": "spatial", **_options},
                "temporal": {"stream": "temporal", **_options},
                "fusion": "logits",
            },
            official_weights=(_official("spatial", _input, True), _official("temporal", _input, True)),
        )
    )

registry.register_preset(
    registry.Preset(
        name="st_gcn",
        family="sttr",
        task="action_recognition",
        description="ST-GCN baseline: graph + temporal convolutions everywhere, joint input",
        config={"stream": "none", "in_channels": 3, "concat_original": False},
    )
)
