"""ST-TR presets, as data: S-TR, T-TR (also with the adaptive graph: T-TR-agcn)
and the 2s-ST-TR ensemble on joints or joints + bones, and the ST-GCN
baseline, as published for NTU RGB+D (60 classes by default; the NTU-120 files
load with num_classes=120) and Kinetics-Skeleton (the `kinetics_*.pt` files
load with layout="openpose18", num_classes=400).

Parameter counts are trainable parameters with 60 classes;
`tests/models/test_presets.py` checks every number against the built model.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

# The authors ship their weights in the repository's `checkpoint_ST-TR/` folder.
_RAW = "https://github.com/Chiaraplizz/ST-TR/raw/master/checkpoint_ST-TR/"
_JOINT = {"in_channels": 3, "double_channel": False}
_BONE = {"in_channels": 6, "double_channel": True}  # [joints || bones], doubled widths
_DATASETS = {"ntu60_xsub": "NTU RGB+D 60 X-Sub", "ntu60_xview": "NTU RGB+D 60 X-View",
             "ntu120_xsub": "NTU RGB+D 120 X-Sub", "ntu120_xset": "NTU RGB+D 120 X-Set",
             "kinetics": "Kinetics-Skeleton 400"}
# How a file whose dataset differs from the preset's default build loads.
_LOAD_NOTES = {"ntu120": "num_classes=120", "kinetics": "layout='openpose18', num_classes=400"}


def _files(*names, note=""):
    """Official files named `<dataset>_..._<stream>.pt`, with their dataset."""
    out = []
    for name in names:
        dataset = next(d for key, d in _DATASETS.items() if name.startswith(key))
        extra = next((n for prefix, n in _LOAD_NOTES.items() if name.startswith(prefix)), "")
        out.append(OfficialWeights(name, _RAW + name, dataset=dataset,
                                   note=", ".join(n for n in (note, extra) if n)))
    return tuple(out)


_SPATIAL_JOINT = _files("ntu60_xsub_spatial.pt", "ntu60_xview_spatial.pt", "ntu120_xsub_spatial.pt",
                        "ntu120_xset_spatial.pt", "kinetics_spatial.pt")
_TEMPORAL_JOINT = _files("ntu60_xsub_temporal.pt", "ntu60_xview_temporal.pt", "ntu120_xsub_temporal.pt",
                         "ntu120_xset_temporal.pt", "kinetics_temporal.pt")
_SPATIAL_BONE = _files("ntu60_xsub_bones_spatial.pt", "ntu60_xview_bones_spatial.pt", "kinetics_bones_spatial.pt")
_TEMPORAL_BONE = _files("ntu60_xsub_bones_temporal.pt", "ntu60_xview_bones_temporal.pt", "kinetics_bones_temporal.pt")
# T-TR-agcn: published for NTU-120 on joints, for NTU-60 and Kinetics on joints + bones.
_TEMPORAL_AGCN_JOINT = _files("ntu120_xsub_temporal-agcn.pt", "ntu120_xset-temporal-agcn.pt")
_TEMPORAL_AGCN_BONE = _files("ntu60_xsub_bones_temporal-agcn.pt", "ntu60_xview_bones_temporal-agcn.pt",
                             "kinetics_bones_temporal-agcn.pt")


def _streams(spatial, temporal):
    """The stream files of an ensemble preset, each noted with its stream."""
    return tuple(OfficialWeights(w.file, w.url, w.dataset, ", ".join(n for n in (f"weights={{'{stream}': FILE, ...}}",
                                                                                 w.note) if n))
                 for stream, files in (("spatial", spatial), ("temporal", temporal)) for w in files)


PRESETS = (
    Preset(
        name="st_tr_spatial_joint", family="sttr",
        description="S-TR (spatial self-attention), joint input",
        config={"stream": "spatial", **_JOINT}, layout="ntu25", clip_frames=300, num_classes=60,
        parameters={"ntu25": 3_074_826}, official_weights=_SPATIAL_JOINT,
    ),
    Preset(
        name="st_tr_temporal_joint", family="sttr",
        description="T-TR (temporal self-attention), joint input",
        config={"stream": "temporal", **_JOINT}, layout="ntu25", clip_frames=300, num_classes=60,
        parameters={"ntu25": 1_768_358}, official_weights=_TEMPORAL_JOINT,
    ),
    Preset(
        name="st_tr_2s_joint", family="sttr",
        description="2s-ST-TR: S-TR + T-TR streams, joint input, logits summed",
        streams={"spatial": "st_tr_spatial_joint", "temporal": "st_tr_temporal_joint"}, fusion="logits",
        layout="ntu25", clip_frames=300, num_classes=60, parameters={"ntu25": 4_843_184},
        official_weights=_streams(_SPATIAL_JOINT, _TEMPORAL_JOINT),
    ),
    Preset(
        name="st_tr_spatial_bone", family="sttr",
        description="S-TR (spatial self-attention), joint + bone input",
        config={"stream": "spatial", **_BONE}, layout="ntu25", clip_frames=300, num_classes=60,
        parameters={"ntu25": 12_125_324}, official_weights=_SPATIAL_BONE,
    ),
    Preset(
        name="st_tr_temporal_bone", family="sttr",
        description="T-TR (temporal self-attention), joint + bone input",
        config={"stream": "temporal", **_BONE}, layout="ntu25", clip_frames=300, num_classes=60,
        parameters={"ntu25": 6_839_890}, official_weights=_TEMPORAL_BONE,
    ),
    Preset(
        name="st_tr_temporal_agcn_joint", family="sttr",
        description="T-TR-agcn (temporal self-attention, adaptive graph units), joint input",
        config={"stream": "temporal", "adaptive_graph": True, **_JOINT}, layout="ntu25", clip_frames=300,
        num_classes=60, parameters={"ntu25": 2_139_846}, official_weights=_TEMPORAL_AGCN_JOINT,
    ),
    Preset(
        name="st_tr_temporal_agcn_bone", family="sttr",
        description="T-TR-agcn (temporal self-attention, adaptive graph units), joint + bone input",
        config={"stream": "temporal", "adaptive_graph": True, **_BONE}, layout="ntu25", clip_frames=300,
        num_classes=60, parameters={"ntu25": 8_318_930}, official_weights=_TEMPORAL_AGCN_BONE,
    ),
    Preset(
        name="st_tr_2s_bone", family="sttr",
        description="2s-ST-TR: S-TR + T-TR streams, joint + bone input, logits summed",
        streams={"spatial": "st_tr_spatial_bone", "temporal": "st_tr_temporal_bone"}, fusion="logits",
        layout="ntu25", clip_frames=300, num_classes=60, parameters={"ntu25": 18_965_214},
        official_weights=_streams(_SPATIAL_BONE, _TEMPORAL_BONE),
        paper=(PaperResult("NTU RGB+D 60 X-Sub", "top-1", 89.9, "%"),),
    ),
    Preset(
        name="st_gcn", family="sttr",
        description="ST-GCN baseline: graph + temporal convolutions everywhere, joint input",
        config={"stream": "none", "in_channels": 3, "concat_original": False}, layout="ntu25",
        clip_frames=300, num_classes=60, parameters={"ntu25": 3_098_982},
    ),
)
