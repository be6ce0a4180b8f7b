"""PYSKL's skeleton GCNs (Duan et al., "PYSKL: Towards good practices for
skeleton action recognition", ACM MM 2022), as PYSKL implements them:
ST-GCN++, CTR-GCN, AAGCN and MS-G3D, on NTU-25 3D joints or COCO-17 2D
keypoints.

- `graph`: PYSKL's skeleton graphs (its own edge lists), MS-G3D's
  multi-scale and window graphs;
- `layers`: `unit_gcn`, `unit_tcn`, `mstcn` (ST-GCN++), `unit_ctrgcn` and
  MS-G3D's `MSTCN` (CTR-GCN), `unit_aagcn` (AAGCN), `MSGCN` and the G3D
  window pathway (MS-G3D), and the blocks;
- `model`: `GCNRecognizer` (backbone + `GCNHead`);
- `official_keys`: official PyTorch (mmcv) state-dict keys -> our variables;
- `presets`: the published configurations and checkpoints, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.pyskl.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="pyskl",
    title="PYSKL GCNs",
    task="action_recognition",
    build="skeleton_zoo.models.pyskl.model:build",
    overrides=("layout", "num_classes", "num_persons", "in_channels", "base_channels", "num_stages",
               "inflate_stages", "down_stages", "ch_ratio", "data_bn_type", "graph_mode", "adaptive",
               "graph_residual", "temporal", "temporal_dropout", "dropout", "num_gcn_scales", "num_g3d_scales", "stream",
               "dtype"),
    official_rules="skeleton_zoo.models.pyskl.official_keys:official_rules",
    ignored_official_keys="skeleton_zoo.models.pyskl.official_keys:is_unused_official_key",
    # configs/{stgcn++,ctrgcn,aagcn,msg3d}/*/j.py (the same for all four): SGD lr 0.1 momentum 0.9 Nesterov, weight decay 5e-4 (coupled), cosine annealing per
    # iteration to 0, 16 epochs of a 5x repeated dataset (80 passes), 16 clips x 8 GPUs, 100-frame clips from PYSKL's
    # annotation files (`pyskl_skeleton`; an `*_hrnet_*` config trains the `coco17` layout).
    recipe=registry.Recipe(epochs=80, batch_size=128, learning_rate=0.1, default_dataset="pyskl_skeleton/ntu60_3d_xsub",
                           optimizer="sgd_nesterov", schedule="cosine", momentum=0.9, weight_decay=5e-4),
    keras_modules=("skeleton_zoo.models.pyskl.model",),
), presets=PRESETS)

_LAZY = {
    "GCNRecognizer": "skeleton_zoo.models.pyskl.model",
    **{name: "skeleton_zoo.models.pyskl.layers" for name in (
        "DilatedTemporalConv", "MultiBranchTemporalConv", "SpatialGraphConv", "STGCNBlock",
        "ChannelwiseTopologyGraphConv", "MSG3DTemporalConv", "CTRGCNBlock", "AdaptiveAttentionGraphConv",
        "AAGCNBlock", "MultiScaleGraphConv", "WindowGraphConv3D")},
    **{name: "skeleton_zoo.models.pyskl.graph" for name in ("pyskl_graph", "multiscale_graphs", "window_graph")},
    "load_official_state_dict": "skeleton_zoo.models.pyskl.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
