"""ST-TR presets, as data: S-TR, T-TR (also with the adaptive graph: T-TR-agcn)
and the 2s-ST-TR ensemble on joints or joints + bones, and the ST-GCN
baseline, as published for NTU RGB+D (60 classes by default; the NTU-120 files
load with num_classes=120) and Kinetics-Skeleton (the `kinetics_*.pt` files
load with layout="openpose18", num_classes=400).

Parameter counts are trainable parameters with 60 classes;
`tests/models/test_presets.py` checks every number against the built model.
"""

import dataclasses

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

# The authors ship their weights in the repository's `checkpoint_ST-TR/` folder.
_RAW = "https://github.com/Chiaraplizz/ST-TR/raw/master/checkpoint_ST-TR/"
_JOINT = {"in_channels": 3, "double_channel": False}
_BONE = {"in_channels": 6, "double_channel": True}  # [joints || bones], doubled widths
_DATASETS = {"ntu60_xsub": "NTU RGB+D 60 X-Sub", "ntu60_xview": "NTU RGB+D 60 X-View",
             "ntu120_xsub": "NTU RGB+D 120 X-Sub", "ntu120_xset": "NTU RGB+D 120 X-Set",
             "kinetics": "Kinetics-Skeleton 400"}
# The `load` options of a file whose dataset differs from the preset's default build.
_LOAD_OPTIONS = {"ntu120": {"num_classes": 120}, "kinetics": {"layout": "openpose18", "num_classes": 400}}
_LICENCE = "MIT (ST-TR repository)"
# Git object ids of the files in the authors' repository (commit 4976552b): the
# content check of a download (`skeleton_zoo.weights.hub`).
_GIT_BLOB_SHA1 = {
    "kinetics_bones_spatial.pt": "edf128910ff2e89721d4e13b3219b83a26bcf960",
    "kinetics_bones_temporal-agcn.pt": "6e9fe44fb2cf10f4e2aa4b7ef5c371abaefcd9af",
    "kinetics_bones_temporal.pt": "f2a09f270e8dee09dd3e94002c715312fb25d7af",
    "kinetics_spatial.pt": "a778201e697cf60c2aeb2de3696451166776c27d",
    "kinetics_temporal.pt": "733b76a923209c16f4e2bcd596d14407430dff99",
    "ntu120_xset-temporal-agcn.pt": "3d9b5cfc265e3fa9cf3ec891a8db7d66606dfd35",
    "ntu120_xset_spatial.pt": "339e20f64cf7f2b5a15d0e1188482ba228534010",
    "ntu120_xset_temporal.pt": "c04f388c3d4b68b0c9daac859f88c4e3662ba07a",
    "ntu120_xsub_spatial.pt": "f4584fb75e1da8e142d1db3762c20ab0f1ed2a2a",
    "ntu120_xsub_temporal-agcn.pt": "7b42480b5545908bde5a956c17b4b0eec1cabcb8",
    "ntu120_xsub_temporal.pt": "4b31eafde19376ce4f58e82ce9340d0cca010127",
    "ntu60_xsub_bones_spatial.pt": "2ae95fc37c09250627ef07005d7b5213c2f5e9cc",
    "ntu60_xsub_bones_temporal-agcn.pt": "713c1a3bbc6debd180ab0a3aea0dda4b24ec22d9",
    "ntu60_xsub_bones_temporal.pt": "a3d795387f9a6c8f1cad9a99fe60d034f4b1dd64",
    "ntu60_xsub_spatial.pt": "8cbf1e3da7a02dfd1c969b446b9067103f7b2c90",
    "ntu60_xsub_temporal.pt": "9cab75fc45ab46b7ddd2e5e562f5762b76a4fdea",
    "ntu60_xview_bones_spatial.pt": "a1f0398092d31a29ab8a6fc9dd208f864d972b63",
    "ntu60_xview_bones_temporal-agcn.pt": "1bd7f169bf4af111c7f68c0371b3e89803bcbf93",
    "ntu60_xview_bones_temporal.pt": "159e39e147bd4d099a79993fa76b9f105433b565",
    "ntu60_xview_spatial.pt": "6ab4a4ac787f84700e444941850771ff7e7fd9eb",
    "ntu60_xview_temporal.pt": "06470b85b46a9c547fdd88d4090a5c0f4d528a1f",
}


def _options_note(options) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in options.items())


def _files(*names, note=""):
    """Official files named `<dataset>_..._<stream>.pt`, with their dataset;
    tagged by dataset ("ntu60_xsub", ..., "kinetics")."""
    out = []
    for name in names:
        tag, dataset = next((key, d) for key, d in _DATASETS.items() if name.startswith(key))
        options = next((o for prefix, o in _LOAD_OPTIONS.items() if name.startswith(prefix)), {})
        out.append(OfficialWeights(name, _RAW + name, dataset=dataset,
                                   note=", ".join(n for n in (note, _options_note(options)) if n), tag=tag,
                                   options=options, git_blob_sha1=_GIT_BLOB_SHA1[name], licence=_LICENCE))
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
    """The stream files of an ensemble preset, each noted with its stream;
    a tag loads both streams' files of that dataset."""
    return tuple(dataclasses.replace(w, stream=stream, note=", ".join(
        n for n in (f"weights={{'{stream}': FILE, ...}}", w.note) if n))
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
