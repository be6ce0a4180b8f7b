"""MotionBERT presets, as data: the published DSTformer configurations
(configs/pose3d/*.yaml: depth 5, 8 heads, dim_rep 512, 243-frame clips),
with the authors' released weights.

The authors publish each checkpoint in a OneDrive folder (README "Model Zoo")
and mirror them on Hugging Face (walterzhu/MotionBERT). Parameter counts are
trainable parameters; `tests/models/test_presets.py` checks them.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_HF = "hf://walterzhu/MotionBERT/checkpoint"
_LICENCE = "Apache-2.0 (MotionBERT)"
_H36M_SH = "Human3.6M, Stacked-Hourglass 2D (MotionBERT h36m_sh_conf_cam_source_final.pkl)"

PRESETS = (
    Preset(
        name="motionbert", family="motionbert",
        description="MotionBERT DSTformer, 243-frame clips, dim 512, (x, y, confidence) input",
        config={"dim_feat": 512, "dim_rep": 512, "depth": 5, "num_heads": 8, "mlp_ratio": 2, "max_frames": 243,
                "layout": "h36m17"},
        layout="h36m17", clip_frames=243, parameters={"h36m17": 42_466_317},
        official_weights=(
            # File names carry the official checkpoint folder: every folder holds a `best_epoch.bin`.
            OfficialWeights("FT_MB_release_MB_ft_h36m/best_epoch.bin",
                            "https://1drv.ms/f/s!AvAdh0LSjEOlgSoTqtyR5Zsgi8_Z?e=rn4VJf",
                            dataset=_H36M_SH + ", fine-tuned from the pretrained model (MB_ft_h36m)",
                            tag="h36m_sh_ft", mirrors=(f"{_HF}/pose3d/FT_MB_release_MB_ft_h36m/best_epoch.bin",),
                            metric="MPJPE 37.2 mm", licence=_LICENCE),
            OfficialWeights("MB_train_h36m/best_epoch.bin", "https://1drv.ms/f/s!AvAdh0LSjEOlgSvNejMQ0OHxMGZC?e=KcwBk1",
                            dataset=_H36M_SH + ", from scratch (MB_train_h36m)", tag="h36m_sh_scratch",
                            metric="MPJPE 39.2 mm", licence=_LICENCE),
            OfficialWeights("MB_release/latest_epoch.bin", "https://1drv.ms/f/s!AvAdh0LSjEOlgS425shtVi9e5reN?e=6UeBa2",
                            dataset="pretrained (MB_pretrain): AMASS + Human3.6M + InstaVariety + PoseTrack",
                            note="the pretrained backbone; its head is not a trained pose head", tag="pretrained",
                            licence=_LICENCE),
        ),
        paper=(PaperResult(_H36M_SH + ", fine-tuned", "MPJPE (P1)", 37.2, "mm"),
               PaperResult(_H36M_SH + ", from scratch", "MPJPE (P1)", 39.2, "mm")),
    ),
    Preset(
        name="motionbert_lite", family="motionbert",
        description="MotionBERT-Lite DSTformer, 243-frame clips, dim 256, (x, y, confidence) input",
        config={"dim_feat": 256, "dim_rep": 512, "depth": 5, "num_heads": 8, "mlp_ratio": 4, "max_frames": 243,
                "layout": "h36m17"},
        layout="h36m17", clip_frames=243, parameters={"h36m17": 16_001_549},
        official_weights=(
            OfficialWeights("FT_MB_lite_MB_ft_h36m_global_lite/best_epoch.bin",
                            f"{_HF}/pose3d/FT_MB_lite_MB_ft_h36m_global_lite/best_epoch.bin",
                            dataset=_H36M_SH + ", fine-tuned, global (MB_ft_h36m_global_lite, infer_wild's default)",
                            tag="h36m_sh_ft_global", mirrors=("https://1drv.ms/f/s!AvAdh0LSjEOlgT67igq_cIoYvO2y?e=bfEc73",),
                            licence=_LICENCE),
            OfficialWeights("MB_lite/latest_epoch.bin", "https://1drv.ms/f/s!AvAdh0LSjEOlgS27Ydcbpxlkl0ng?e=rq2Btn",
                            dataset="pretrained (MB_lite)",
                            note="the pretrained backbone; its head is not a trained pose head", tag="pretrained",
                            licence=_LICENCE),
        ),
    ),
)
