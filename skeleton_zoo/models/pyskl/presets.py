"""PYSKL presets, as data: the published configurations (configs/<model>/
*.py) with the released checkpoints (download.openmmlab.com, one file per
dataset, skeleton source and input stream `j` / `b` / `jm` / `bm`).

Every preset takes `layout="ntu25"` (3D Kinect joints, x y z) or
`layout="coco17"` (2D HRNet keypoints, x y score), `num_classes` and the
input `stream` of its weights ("j", "b", "jm", "bm"). `<model>_4s` is the
four-stream ensemble of the READMEs: one model per stream, class
probabilities fused 2:2:1:1. Parameter counts are trainable parameters at 60
classes; the test checks them against the built models.
"""

import dataclasses

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_HOST = "https://download.openmmlab.com/mmaction/pyskl/ckpt"
_DATASETS = (("ntu60_xsub", "NTU RGB+D 60 X-Sub"), ("ntu60_xview", "NTU RGB+D 60 X-View"),
             ("ntu120_xsub", "NTU RGB+D 120 X-Sub"), ("ntu120_xset", "NTU RGB+D 120 X-Set"))
_STREAMS = {"j": "joint", "b": "bone", "jm": "joint motion", "bm": "bone motion"}
_SKELETONS = {"3dkp": ("official 3D skeletons", "ntu25", "3d"), "hrnet": ("HRNet 2D keypoints", "coco17", "hrnet")}
_LICENCE = "Apache-2.0 (PYSKL)"


def _checkpoints(folder: str, prefix: str):
    """Every released file: dataset x skeleton source x stream, tagged
    `<dataset>_<3d|hrnet>_<stream>`, e.g. "ntu60_xsub_3d_j"."""
    out = []
    for dataset, title in _DATASETS:
        for skeleton, (source, layout, short) in _SKELETONS.items():
            for stream in _STREAMS:
                options = {"layout": layout, "stream": stream, **({"num_classes": 120} if "120" in dataset else {})}
                out.append(OfficialWeights(
                    f"{prefix}_{dataset}_{skeleton}/{stream}.pth",
                    f"{_HOST}/{folder}/{prefix}_{dataset}_{skeleton}/{stream}.pth",
                    dataset=f"{title}, {source}, {_STREAMS[stream]} stream",
                    note=", ".join(f"{key}={value!r}" for key, value in options.items()
                                   if (key, value) != ("stream", "j")),
                    tag=f"{dataset}_{short}_{stream}", options=options, licence=_LICENCE))
    return tuple(out)


def _results(top1):
    """The four-stream (2:2:1:1) 3D top-1 of each dataset, PYSKL README."""
    return tuple(PaperResult(f"{title} (3D, joint + bone + motions, 2:2:1:1)", "top-1", value, "%")
                 for (_, title), value in zip(_DATASETS, top1))


PRESETS = (
    Preset(
        name="stgcn_pp", family="pyskl",
        description="ST-GCN++ (PYSKL): learnable graphs with residual, multi-branch temporal convs, 10 stages",
        config={"backbone": "stgcn", "adaptive": "init", "graph_residual": True, "temporal": "mstcn",
                "data_bn_type": "VC", "layout": "ntu25", "num_classes": 60},
        layout="ntu25", clip_frames=100, num_classes=60,
        parameters={"ntu25": 1_403_144, "coco17": 1_393_016},
        official_weights=_checkpoints("stgcnpp", "stgcnpp"),
        paper=_results((92.1, 97.0, 87.5, 89.8)),
    ),
    Preset(
        name="ctrgcn", family="pyskl",
        description="CTR-GCN (PYSKL): channel-wise topology refinement, multi-scale temporal convs, 10 stages",
        config={"backbone": "ctrgcn", "data_bn_type": "MVC", "layout": "ntu25", "num_classes": 60},
        layout="ntu25", clip_frames=100, num_classes=60,
        parameters={"ntu25": 1_446_672, "coco17": 1_436_496},
        official_weights=_checkpoints("ctrgcn", "ctrgcn_pyskl"),
        paper=_results((92.1, 97.0, 88.1, 89.9)),
    ),
    Preset(
        name="aagcn", family="pyskl",
        description="AAGCN (PYSKL): adaptive data-dependent graphs with spatial, temporal and channel attention",
        config={"backbone": "aagcn", "data_bn_type": "MVC", "layout": "ntu25", "num_classes": 60},
        layout="ntu25", clip_frames=100, num_classes=60,
        parameters={"ntu25": 3_781_668, "coco17": 3_760_228},
        official_weights=_checkpoints("aagcn", "aagcn_pyskl"),
    ),
    Preset(
        name="msg3d", family="pyskl",
        description="MS-G3D (PYSKL): multi-scale graph convs and unified spatio-temporal window graphs",
        config={"backbone": "msg3d", "base_channels": 96, "graph_mode": "binary_adj", "data_bn_type": "MVC",
                "num_gcn_scales": 13, "num_g3d_scales": 6, "layout": "ntu25", "num_classes": 60},
        layout="ntu25", clip_frames=100, num_classes=60,
        parameters={"ntu25": 3_194_595, "coco17": 2_975_763},
        official_weights=_checkpoints("msg3d", "msg3d_pyskl"),
        paper=_results((91.7, 96.9, 87.8, 89.6)),
    ),
)

# PYSKL's four-stream ensembles (`STREAM_WEIGHTS` of `formats.pyskl`).
_FOUR_STREAMS = {"j": 2.0, "b": 2.0, "jm": 1.0, "bm": 1.0}


def _four_streams(single: Preset) -> Preset:
    """The j + b + jm + bm ensemble of a single-stream preset; its published
    top-1 is the ensemble's, and its files are the streams' (`weights={'j':
    FILE, 'b': FILE, ...}`, or a tag such as "ntu60_xsub_3d" for all four)."""
    return Preset(
        name=f"{single.name}_4s", family=single.family,
        description=f"{single.description.split(':')[0]}: joint, bone and motion streams, "
                    "probabilities fused 2:2:1:1",
        streams={stream: single.name for stream in _FOUR_STREAMS},
        stream_options={stream: {"stream": stream} for stream in _FOUR_STREAMS},
        stream_weights=_FOUR_STREAMS, fusion="softmax",
        layout=single.layout, clip_frames=single.clip_frames, num_classes=single.num_classes,
        parameters={layout: 4 * count for layout, count in single.parameters.items()},
        official_weights=tuple(dataclasses.replace(
            w, tag=w.tag.rpartition("_")[0], stream=w.options["stream"],
            options={k: v for k, v in w.options.items() if k != "stream"},
            note=", ".join(n for n in (f"weights={{'{w.options['stream']}': FILE, ...}}",
                                       ", ".join(f"{k}={v!r}" for k, v in w.options.items() if k != "stream")) if n))
            for w in single.official_weights),
        paper=single.paper,
    )


PRESETS = tuple(dataclasses.replace(p, paper=()) for p in PRESETS) + tuple(_four_streams(p) for p in PRESETS)

