"""MotionBERT action-recognition presets, as data: the published NTU RGB+D
60 configuration (configs/action/MB_ft_NTU60_{xsub,xview}.yaml: the
MotionBERT backbone, 243-frame clips, hidden 2048, dropout 0.5) with the
authors' fine-tuned checkpoints (README "Model Zoo", OneDrive folders).

Input is PYSKL's HRNet 2D keypoints converted to H36M-17 with their score as
the third channel, two persons. Parameter counts are trainable parameters;
`tests/models/test_presets.py` checks them against the built model.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_NTU_2D = "HRNet 2D keypoints (PYSKL ntu60_hrnet.pkl) as H36M-17, fine-tuned from the pretrained MotionBERT"

PRESETS = (
    Preset(
        name="motionbert_action", family="motionbert_action",
        description="MotionBERT DSTformer (dim 512) + classification head (hidden 2048), 243-frame clips, 2 persons",
        config={"dim_feat": 512, "dim_rep": 512, "depth": 5, "num_heads": 8, "mlp_ratio": 2, "max_frames": 243,
                "hidden_dim": 2048, "dropout_ratio": 0.5, "num_classes": 60, "num_persons": 2, "layout": "h36m17"},
        layout="h36m17", clip_frames=243, num_classes=60,
        # train_action.py reports 60,421,193: every ActionNet parameter, including the backbone's unused 3D head
        # (backbone.head, Linear(512, 3): 512 * 3 + 3 = 1,539), which this model does not build.
        # 60,421,193 - 1,539 = 60,419,654 = backbone 42,464,778 (DSTformer 42,466,317 - 1,539)
        # + fc1 8,704 * 2,048 + 2,048 + bn 2 * 2,048 + fc2 2,048 * 60 + 60 (head 17,954,876).
        parameters={"h36m17": 60_419_654},
        official_weights=(
            OfficialWeights("FT_MB_release_MB_ft_NTU60_xsub/best_epoch.bin",
                            "https://1drv.ms/f/s!AvAdh0LSjEOlgTX23yT_NO7RiZz-?e=nX6w2j",
                            dataset=f"NTU RGB+D 60 X-Sub, {_NTU_2D} (MB_ft_NTU60_xsub)", tag="ntu60_xsub",
                            metric="top-1 93.0 % (paper)", licence="Apache-2.0 (MotionBERT)"),
            OfficialWeights("FT_MB_release_MB_ft_NTU60_xview/best_epoch.bin",
                            "https://1drv.ms/f/s!AvAdh0LSjEOlgTaNiXw2Nal-g37M?e=lSkE4T",
                            dataset=f"NTU RGB+D 60 X-View, {_NTU_2D} (MB_ft_NTU60_xview)", tag="ntu60_xview",
                            metric="top-1 97.2 % (paper)", licence="Apache-2.0 (MotionBERT)"),
        ),
        # The paper's values; the repository README's Model Zoo lists them the other way round (x-sub 97.2).
        paper=(PaperResult("NTU RGB+D 60 X-Sub (HRNet 2D, fine-tuned)", "top-1", 93.0, "%"),
               PaperResult("NTU RGB+D 60 X-View (HRNet 2D, fine-tuned)", "top-1", 97.2, "%")),
    ),
)
