"""MotionAGFormer presets, as data: the published Human3.6M configurations
(configs/h36m/MotionAGFormer-{xsmall,small,base,large}.yaml: 8 heads, K = 2
temporal neighbours, dim_rep 512), with the authors' released weights
(Google Drive, README "Evaluation").

Parameter counts are trainable parameters; `tests/models/test_presets.py`
checks them against the built models.
"""

from skeleton_zoo.registry import OfficialWeights, PaperResult, Preset

_H36M_SH = "Human3.6M, Stacked-Hourglass 2D (MotionBERT h36m_sh_conf_cam_source_final.pkl)"
_LICENCE = "Apache-2.0 (MotionAGFormer)"


def _drive(file_id: str) -> str:
    return f"https://drive.google.com/file/d/{file_id}/view"


def _preset(name, title, n_layers, dim_feat, frames, parameters, h36m_id, mpi_id, mpjpe):
    mpi_note = ("MPI-INF-3DHP weights: n_frames 81, use num_frames=81, layout as here" if frames == 243
                else "MPI-INF-3DHP weights: same configuration")
    return Preset(
        name=name, family="motionagformer",
        description=f"MotionAGFormer-{title}, {frames}-frame clips, {n_layers} blocks of {dim_feat} channels",
        config={"n_layers": n_layers, "dim_feat": dim_feat, "num_frames": frames, "layout": "h36m17"},
        layout="h36m17", clip_frames=frames, parameters={"h36m17": parameters},
        official_weights=(
            OfficialWeights(f"motionagformer-{title.lower()}-h36m.pth.tr", _drive(h36m_id), dataset=_H36M_SH,
                            tag="h36m_sh", metric=f"MPJPE {mpjpe} mm", licence=_LICENCE),
            OfficialWeights(f"motionagformer-{title.lower()}-mpi.pth.tr", _drive(mpi_id),
                            dataset="MPI-INF-3DHP (ground-truth 2D)", note=mpi_note, tag="mpi_inf_3dhp",
                            options={"num_frames": 81} if frames == 243 else {}, licence=_LICENCE),
        ),
        paper=(PaperResult(_H36M_SH, "MPJPE (P1)", mpjpe, "mm"),),
    )


PRESETS = (
    _preset("motionagformer_xs", "XS", 12, 64, 27, 2_241_531, "1Pab7cPvnWG8NOVd0nnL1iqAfYCUY4hDH",
            "1FebsaA-DGqB0Pba_dVXCQDedfG13Zu5O", 45.1),
    _preset("motionagformer_s", "S", 26, 64, 81, 4_817_119, "1DrF7WZdDvRPsH12gQm5DPXbviZ4waYFf",
            "1RzTGl_9d_wm34ZnBqkQWqy22kOOq0Dx5", 42.5),
    _preset("motionagformer_b", "B", 16, 128, 243, 11_723_811, "1Iii5EwsFFm9_9lKBUPfN8bV5LmfkNUMP",
            "18Pz0qQp7DvrrvDNqFtem5O5cBHBBAGg-", 38.4),
    _preset("motionagformer_l", "L", 26, 128, 243, 19_007_111, "1WI8QSsD84wlXIdK1dLp6hPZq4FPozmVZ",
            "10am2CelOV5Nt2NDhcEEMgFpdcuKN3J3G", 38.4),
)
