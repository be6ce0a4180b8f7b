"""VideoPose3D presets, as data: the published 1024-channel models (receptive
fields 27, 81, 243, and the causal 243), with the authors' released weights.

Parameter counts are trainable parameters for each skeleton layout;
`tests/models/test_presets.py` checks every number against the built model.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_HOST = "https://dl.fbaipublicfiles.com/video-pose-3d/"
_H36M_CPN = "Human3.6M, CPN 2D (cpn_ft_h36m_dbb)"
_LICENCE = "CC BY-NC 4.0 (VideoPose3D)"


def _preset(name, widths, causal, description, **data):
    return Preset(name=name, family="videopose3d", description=description,
                  config={"filter_widths": widths, "channels": 1024, "causal": causal, "layout": "h36m17"},
                  layout="h36m17", **data)


PRESETS = (
    _preset("videopose3d_27", (3, 3, 3), False, "VideoPose3D, 27-frame receptive field, 1024 channels",
            receptive_field=27, parameters={"h36m17": 8_555_571, "humaneva15": 8_537_133},
            official_weights=(
                OfficialWeights("pretrained_humaneva15_detectron.bin", _HOST + "pretrained_humaneva15_detectron.bin",
                                dataset="HumanEva-I, Detectron 2D", note="with layout='humaneva15'",
                                tag="humaneva15_detectron", options={"layout": "humaneva15"}, licence=_LICENCE),)),
    _preset("videopose3d_81", (3, 3, 3, 3), False, "VideoPose3D, 81-frame receptive field, 1024 channels",
            receptive_field=81, parameters={"h36m17": 12_753_971, "humaneva15": 12_735_533}),
    _preset("videopose3d_243", (3, 3, 3, 3, 3), False, "VideoPose3D, 243-frame receptive field, 1024 channels",
            receptive_field=243, parameters={"h36m17": 16_952_371, "humaneva15": 16_933_933},
            official_weights=(
                OfficialWeights("pretrained_h36m_cpn.bin", _HOST + "pretrained_h36m_cpn.bin", dataset=_H36M_CPN,
                                tag="h36m_cpn", metric="MPJPE 46.8 mm", licence=_LICENCE),
                OfficialWeights("pretrained_h36m_detectron_coco.bin", _HOST + "pretrained_h36m_detectron_coco.bin",
                                dataset="Human3.6M, Detectron 2D (detectron_pt_coco)",
                                note="2D input in COCO-17 order", tag="h36m_detectron_coco", licence=_LICENCE),
            ),
            paper=(PaperResult(_H36M_CPN, "MPJPE (P1)", 46.8, "mm"),)),
    _preset("videopose3d_243_causal", (3, 3, 3, 3, 3), True,
            "VideoPose3D, 243-frame receptive field, 1024 channels, causal (past frames only)",
            receptive_field=243, parameters={"h36m17": 16_952_371, "humaneva15": 16_933_933}),
)
