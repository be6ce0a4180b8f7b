"""TCPFormer presets, as data: the published Human3.6M configurations
(configs/h36m/TCPFormer_h36m_{243,81}.yaml: 16 blocks of 128 channels, 8
heads, layer scale 1e-5), with the authors' released weights (Google Drive,
README "Evaluation").

Parameter counts are trainable parameters; `tests/models/test_presets.py`
checks them against the built models.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_H36M_SH = "Human3.6M, Stacked-Hourglass 2D (MotionBERT h36m_sh_conf_cam_source_final.pkl)"


def _preset(frames, parameters, file, drive_id, mpjpe):
    return Preset(
        name=f"tcpformer_{frames}", family="tcpformer",
        description=f"TCPFormer, {frames}-frame clips ({frames // 3} pose queries), 16 blocks of 128 channels",
        config={"n_layers": 16, "dim_feat": 128, "num_frames": frames, "layout": "h36m17"},
        layout="h36m17", clip_frames=frames, parameters={"h36m17": parameters},
        official_weights=(OfficialWeights(file, f"https://drive.google.com/file/d/{drive_id}/view", dataset=_H36M_SH,
                                          tag="h36m_sh", metric=f"MPJPE {mpjpe} mm",
                                          licence="MIT (TCPFormer README)"),),
        paper=(PaperResult(_H36M_SH, "MPJPE (P1)", mpjpe, "mm"),),
    )


PRESETS = (
    _preset(243, 35_118_259, "TCPFormer_h36m_243_379.pth.tr", "1xiCQaYOWlNBR4uZVGmFJ644mB4tPH-Gq", 37.9),
    _preset(81, 35_000_755, "TCPFormer_h36m_81_405.pth.tr", "14D_gfCflgl67-nl0L2MJijbARizbphnP", 40.5),
)
