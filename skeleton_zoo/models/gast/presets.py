"""GAST-Net presets, as data: the published receptive fields (Table 6 of the
paper: filter widths and channels), each with a causal twin.

Parameter counts are trainable parameters for each skeleton layout the
authors publish weights or results for; `tests/models/test_presets.py`
checks every number against the built model.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

# The authors' model zoo (Google Drive; Baidu mirror
# https://pan.baidu.com/s/1AVPEtpuwLqYjDC3f9Ita0A, code ietc), per their README.
_ZOO = "https://drive.google.com/drive/folders/194Btr2L2FJ7jWaH4c1mpNysvKZOcEb1K"
_H36M_CPN = "Human3.6M, CPN 2D (cpn_ft_h36m_dbb)"
_LICENCE = "none stated (GAST-Net repository has no licence file)"

PRESETS = (
    Preset(
        name="gast_9", family="gast", description="GAST-Net, 9-frame receptive field, 128 channels",
        config={"filter_widths": (3, 3), "channels": 128, "causal": False, "layout": "h36m17"},
        layout="h36m17", receptive_field=9,
        parameters={"h36m17": 1_617_164, "humaneva15": 1_613_196, "h36m19": 1_622_348},
    ),
    Preset(
        name="gast_9_causal", family="gast",
        description="GAST-Net, 9-frame receptive field, 128 channels, causal (past frames only)",
        config={"filter_widths": (3, 3), "channels": 128, "causal": True, "layout": "h36m17"},
        layout="h36m17", receptive_field=9,
        parameters={"h36m17": 1_617_164, "humaneva15": 1_613_196, "h36m19": 1_622_348},
    ),
    Preset(
        name="gast_27", family="gast", description="GAST-Net, 27-frame receptive field, 128 channels",
        config={"filter_widths": (3, 3, 3), "channels": 128, "causal": False, "layout": "h36m17"},
        layout="h36m17", receptive_field=27,
        parameters={"h36m17": 6_915_984, "humaneva15": 6_907_152, "h36m19": 6_927_600},
        official_weights=(
            OfficialWeights("27_frame_model.bin", "https://drive.google.com/file/d/1vh29QoxIfNT4Roqw1SuHDxxKex53xlOB",
                            dataset=_H36M_CPN, tag="h36m_cpn", metric="MPJPE 46.2 mm", licence=_LICENCE),
            OfficialWeights("27_frame_model_toe.bin", _ZOO, note="with layout='h36m19', body + toes",
                            tag="h36m_cpn_toe", options={"layout": "h36m19"}, licence=_LICENCE),
        ),
        paper=(PaperResult(_H36M_CPN, "MPJPE (P1)", 46.2, "mm"), PaperResult(_H36M_CPN, "P-MPJPE (P2)", 36.0, "mm")),
    ),
    Preset(
        name="gast_27_causal", family="gast",
        description="GAST-Net, 27-frame receptive field, 128 channels, causal (past frames only)",
        config={"filter_widths": (3, 3, 3), "channels": 128, "causal": True, "layout": "h36m17"},
        layout="h36m17", receptive_field=27,
        parameters={"h36m17": 6_915_984, "humaneva15": 6_907_152, "h36m19": 6_927_600},
        official_weights=(OfficialWeights("27_frame_model_causal.bin", _ZOO, dataset=_H36M_CPN, tag="h36m_cpn",
                                          licence=_LICENCE),),
    ),
    Preset(
        name="gast_81", family="gast", description="GAST-Net, 81-frame receptive field, 64 channels",
        config={"filter_widths": (3, 3, 3, 3), "channels": 64, "causal": False, "layout": "h36m17"},
        layout="h36m17", receptive_field=81,
        parameters={"h36m17": 7_054_612, "humaneva15": 7_044_948, "h36m19": 7_067_284},
        official_weights=(
            OfficialWeights("81_frame_model.bin", "https://drive.google.com/file/d/12n-CyDhImxwHmakfA24n5Nz7J6QXj83f",
                            dataset=_H36M_CPN, tag="h36m_cpn", metric="MPJPE 45.7 mm", licence=_LICENCE),
        ),
        paper=(PaperResult(_H36M_CPN, "MPJPE (P1)", 45.7, "mm"), PaperResult(_H36M_CPN, "P-MPJPE (P2)", 35.9, "mm")),
    ),
    Preset(
        name="gast_81_causal", family="gast",
        description="GAST-Net, 81-frame receptive field, 64 channels, causal (past frames only)",
        config={"filter_widths": (3, 3, 3, 3), "channels": 64, "causal": True, "layout": "h36m17"},
        layout="h36m17", receptive_field=81,
        parameters={"h36m17": 7_054_612, "humaneva15": 7_044_948, "h36m19": 7_067_284},
        official_weights=(OfficialWeights("81_frame_model_causal.bin", _ZOO, dataset=_H36M_CPN, tag="h36m_cpn",
                                          licence=_LICENCE),),
    ),
    Preset(
        name="gast_243", family="gast", description="GAST-Net, 243-frame receptive field, 32 channels",
        config={"filter_widths": (3, 3, 3, 3, 3), "channels": 32, "causal": False, "layout": "h36m17"},
        layout="h36m17", receptive_field=243,
        parameters={"h36m17": 7_091_736, "humaneva15": 7_081_528, "h36m19": 7_105_080},
        paper=(PaperResult(_H36M_CPN, "MPJPE (P1)", 44.9, "mm"),),
    ),
    Preset(
        name="gast_243_causal", family="gast",
        description="GAST-Net, 243-frame receptive field, 32 channels, causal (past frames only)",
        config={"filter_widths": (3, 3, 3, 3, 3), "channels": 32, "causal": True, "layout": "h36m17"},
        layout="h36m17", receptive_field=243,
        parameters={"h36m17": 7_091_736, "humaneva15": 7_081_528, "h36m19": 7_105_080},
    ),
)
