"""PYSKL's skeleton recognisers (`RecognizerGCN`: a GCN backbone and
`GCNHead`), channels-last.

    skeleton (B, T, V, M, C)
      data_bn: BatchNorm over (V, C) features shared by the persons ("VC",
        ST-GCN++) or over (M, V, C) ("MVC")
      fold persons into the batch (B * M, T, V, C)
      block_0 .. block_{n-1} (STGCNBlock, CTRGCNBlock or AAGCNBlock): block_0 maps C -> base_channels
        without residual; widths x ch_ratio at `inflate_stages`, stride 2 at
        `down_stages` (1-based stage numbers, as PYSKL's)
      (MS-G3D instead: three stages of ReLU(spatial pathway + G3D pathways),
        then a multi-scale temporal conv; widths base, 2 base, 4 base)
      GCNHead: mean over frames and joints, then over persons (zero persons
        included), dropout, Linear
    logits (B, num_classes)      (no softmax)
"""

from __future__ import annotations

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.formats.pyskl import STREAMS
from skeleton_zoo.models.common import PersonStages, ShapeCheckedModel, batch_norm, dtype_config
from skeleton_zoo.models.pyskl import layers as pyskl_layers
from skeleton_zoo.models.pyskl.graph import INWARD_EDGES
from skeleton_zoo.models.sttr.layers import FoldPersons, PersonJointTimePooling
from skeleton_zoo.models.sttr.model import _check_skeleton_shape

BACKBONES = ("stgcn", "ctrgcn", "aagcn", "msg3d")
DATA_BN_TYPES = ("VC", "MVC", None)
_EPS = 1e-4  # PYSKL's int(base * ratio ** k + EPS)


def stage_plan(backbone, in_channels, base_channels, num_stages, inflate_stages, down_stages, ch_ratio):
    """PYSKL's stage widths: [(in, out, stride, residual)] per block. CTR-GCN
    always has the first block and doubles at each inflation (no ch_ratio)."""
    if backbone == "msg3d":  # three fixed stages: base, 2 base (stride 2), 4 base (stride 2)
        return [(in_channels, base_channels, 1, True), (base_channels, 2 * base_channels, 2, True),
                (2 * base_channels, 4 * base_channels, 2, True)]
    if backbone in ("ctrgcn", "aagcn"):  # out = in * (1 + inflate): ch_ratio is not an option there
        ch_ratio = 2
    plan = []
    if in_channels != base_channels or backbone == "ctrgcn":
        plan.append((in_channels, base_channels, 1, False))
    width, inflations = base_channels, 0
    for stage in range(2, num_stages + 1):
        inflations += stage in inflate_stages
        out = int(base_channels * ch_ratio ** inflations + _EPS)
        plan.append((width, out, 1 + (stage in down_stages), True))
        width = out
    return plan


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class GCNRecognizer(ShapeCheckedModel):
    """A PYSKL GCN recogniser: ST-GCN++ (`backbone="stgcn"` with
    `adaptive="init"`, `graph_residual=True`, `temporal="mstcn"`) or CTR-GCN
    (`backbone="ctrgcn"`), AAGCN (`backbone="aagcn"`) or MS-G3D
    (`backbone="msg3d"`, `base_channels=96`, `graph_mode="binary_adj"`), the
    last three with `data_bn_type="MVC"`. MS-G3D ignores the stage options.

    Args:
        backbone: str. "stgcn", "ctrgcn", "aagcn" or "msg3d". Defaults to "stgcn".
        layout: str. "ntu25" (3D Kinect joints, x y z) or "coco17" (2D
            keypoints, x y score). Defaults to "ntu25".
        num_classes: int. Defaults to 60.
        num_persons: int. M. Defaults to 2.
        in_channels: int. Defaults to 3.
        base_channels: int. Defaults to 64.
        num_stages: int. Defaults to 10.
        inflate_stages: sequence of int. Defaults to (5, 8).
        down_stages: sequence of int. Defaults to (5, 8).
        ch_ratio: float. Defaults to 2.
        data_bn_type: "VC", "MVC" or None. Defaults to "VC".
        graph_mode: str. "spatial". Defaults to "spatial".
        adaptive: ST-GCN graph adaptivity (None, "init", "offset",
            "importance"). Defaults to "init".
        graph_residual: bool. ST-GCN's graph-conv residual. Defaults to True.
        temporal: ST-GCN's temporal module, "mstcn" or "unit_tcn". Defaults
            to "mstcn".
        temporal_dropout: float. Dropout in every block's temporal module
            but the first. Defaults to 0.
        dropout: float. Dropout before the classifier. Defaults to 0.
        num_gcn_scales: int. MS-G3D's hop distances of the spatial
            pathway. Defaults to 13.
        num_g3d_scales: int. MS-G3D's hop distances of the window graphs.
            Defaults to 6.
        stream: str. What the input holds, PYSKL's `GenSkeFeat` stream
            (`formats.pyskl.skeleton_stream`): "j" (joints), "b" (bones),
            "jm" / "bm" (their motion); the architecture is the same, the
            released weights differ per stream. Defaults to "j".

    Input `skeleton`: (B, T, V, M, in_channels), any T >= 1.
    Output `logits`: (B, num_classes).
    """

    def __init__(self, backbone="stgcn", layout="ntu25", num_classes=60, num_persons=2, in_channels=3,
                 base_channels=64, num_stages=10, inflate_stages=(5, 8), down_stages=(5, 8), ch_ratio=2,
                 data_bn_type="VC", graph_mode="spatial", adaptive="init", graph_residual=True, temporal="mstcn",
                 temporal_dropout=0.0, dropout=0.0, num_gcn_scales=13, num_g3d_scales=6, stream="j", dtype=None,
                 **kwargs):
        if backbone not in BACKBONES:
            raise ValueError(f"GCNRecognizer: `backbone` must be one of {BACKBONES}, found {backbone!r}.")
        if data_bn_type not in DATA_BN_TYPES:
            raise ValueError(f"GCNRecognizer: `data_bn_type` must be one of {DATA_BN_TYPES}, "
                             f"found {data_bn_type!r}.")
        if stream not in STREAMS:
            raise ValueError(f"GCNRecognizer: `stream` must be one of {STREAMS} (PYSKL's GenSkeFeat streams), "
                             f"found {stream!r}.")
        layout = layouts_lib.get_layout(layout)
        if layout.name not in INWARD_EDGES:
            raise ValueError(f"GCNRecognizer: `layout` must be one of {sorted(INWARD_EDGES)} (PYSKL's graphs), "
                             f"found {layout.name!r}.")
        v, m, c = layout.num_joints, int(num_persons), int(in_channels)
        plan = stage_plan(backbone, c, int(base_channels), int(num_stages), tuple(inflate_stages), tuple(down_stages),
                          ch_ratio)

        # === Functional model ===
        inputs = keras.Input((None, v, m, c), name="skeleton")
        x = inputs
        if data_bn_type == "MVC":
            x = keras.layers.Reshape((-1, v * m * c), name="flatten_features", dtype=dtype)(x)
            x = batch_norm("data_bn", dtype)(x)
            x = keras.layers.Reshape((-1, v, m, c), name="unflatten_features", dtype=dtype)(x)
        x = FoldPersons(name="fold_persons", dtype=dtype)(x)
        if data_bn_type == "VC":
            x = keras.layers.Reshape((-1, v * c), name="flatten_features", dtype=dtype)(x)
            x = batch_norm("data_bn", dtype)(x)
            x = keras.layers.Reshape((-1, v, c), name="unflatten_features", dtype=dtype)(x)
        if backbone == "msg3d":
            x = _msg3d_backbone(x, plan, layout.name, int(num_gcn_scales), int(num_g3d_scales), temporal_dropout,
                                dtype)
        for i, (_, out, stride, residual) in enumerate(plan if backbone != "msg3d" else ()):
            drop = temporal_dropout if i else 0.0
            if backbone == "ctrgcn":
                block = pyskl_layers.CTRGCNBlock(out, stride, residual, layout=layout.name, graph_mode=graph_mode,
                                                 dropout=drop, name=f"block_{i}", dtype=dtype)
            elif backbone == "aagcn":
                block = pyskl_layers.AAGCNBlock(out, stride, residual, layout=layout.name, graph_mode=graph_mode,
                                                dropout=drop, name=f"block_{i}", dtype=dtype)
            else:
                block = pyskl_layers.STGCNBlock(
                    out, stride, residual, layout=layout.name, graph_mode=graph_mode, adaptive=adaptive,
                    graph_residual=graph_residual, temporal=temporal, dropout=drop, name=f"block_{i}", dtype=dtype)
            x = block(x)
        x = PersonJointTimePooling(m, name="pool", dtype=dtype)(x)
        x = keras.layers.Dropout(dropout, name="dropout", dtype=dtype)(x)
        outputs = keras.layers.Dense(num_classes, name="logits", dtype=dtype)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.backbone = backbone
        self.layout = layout
        self.num_classes = int(num_classes)
        self.num_persons = m
        self.in_channels = c
        self.base_channels = int(base_channels)
        self.num_stages = int(num_stages)
        self.inflate_stages = tuple(int(s) for s in inflate_stages)
        self.down_stages = tuple(int(s) for s in down_stages)
        self.ch_ratio = ch_ratio
        self.data_bn_type = data_bn_type
        self.graph_mode = graph_mode
        self.adaptive = adaptive
        self.graph_residual = bool(graph_residual)
        self.temporal = temporal
        self.temporal_dropout = float(temporal_dropout)
        self.dropout = float(dropout)
        self.num_gcn_scales = int(num_gcn_scales)
        self.num_g3d_scales = int(num_g3d_scales)
        self.stream = stream
        self.stages = plan
        self._dtype_config = dtype_config(dtype)

    @property
    def feature_layer(self) -> str:
        """The name of the backbone's last layer: its output (B * M, T', V, C)
        is PYSKL's backbone feature map."""
        return "tcn_3" if self.backbone == "msg3d" else f"block_{len(self.stages) - 1}"

    @property
    def input_features(self) -> str:
        """What the input channels hold: PYSKL's stream, "j", "b", "jm" or "bm"
        (made by `formats.pyskl`'s test pipeline, not `layouts.skeleton_features`)."""
        return self.stream

    def check_input_shape(self, shape):
        """Raises ValueError unless `shape` fits (batch, frames, V, M, C)."""
        _check_skeleton_shape(self, shape, self.layout.num_joints, self.num_persons, self.in_channels)

    def person_stages(self) -> PersonStages:
        """The model cut where persons are separate (`models.common.PersonStages`):
        `prepare` is the "MVC" data BN (per person slot) and the fold, giving
        [(B * M, T, V, C)]; `person_features` the "VC" data BN (shared by the
        slots), the backbone and the mean over frames and joints; `head` the
        mean over persons, dropout and the classifier."""
        return PersonStages(self, ("fold_persons",), "pool")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": self.backbone,
            "layout": self.layout.name,
            "num_classes": self.num_classes,
            "num_persons": self.num_persons,
            "in_channels": self.in_channels,
            "base_channels": self.base_channels,
            "num_stages": self.num_stages,
            "inflate_stages": list(self.inflate_stages),
            "down_stages": list(self.down_stages),
            "ch_ratio": self.ch_ratio,
            "data_bn_type": self.data_bn_type,
            "graph_mode": self.graph_mode,
            "adaptive": self.adaptive,
            "graph_residual": self.graph_residual,
            "temporal": self.temporal,
            "temporal_dropout": self.temporal_dropout,
            "dropout": self.dropout,
            "num_gcn_scales": self.num_gcn_scales,
            "num_g3d_scales": self.num_g3d_scales,
            "stream": self.stream,
            "dtype": self._dtype_config,
        }


def _msg3d_backbone(x, plan, layout, gcn_scales, g3d_scales, temporal_dropout, dtype):
    """MS-G3D's three stages (PYSKL `MSG3D.forward`) on (B * M, T, V, C)."""
    for stage, (c_in, out, stride, _) in enumerate(plan, start=1):
        g3d = [pyskl_layers.WindowGraphConv3D(out, g3d_scales, window, stride, layout,
                                              name=f"g3d_{stage}_window_{window}", dtype=dtype)(x)
               for window in (3, 5)]
        # The spatial pathway's graph conv keeps the width after the first stage (which maps 3 -> base).
        h = pyskl_layers.MultiScaleGraphConv(out if stage == 1 else c_in, gcn_scales, layout,
                                             name=f"sgcn_{stage}_graph", dtype=dtype)(x)
        h = pyskl_layers.MSG3DTemporalConv(out, stride=stride, name=f"sgcn_{stage}_temporal_1", dtype=dtype)(h)
        h = pyskl_layers.MSG3DTemporalConv(out, activation=False, name=f"sgcn_{stage}_temporal_2", dtype=dtype)(h)
        x = keras.layers.Add(name=f"pathways_{stage}", dtype=dtype)([h, *g3d])
        x = keras.layers.ReLU(name=f"pathways_{stage}_relu", dtype=dtype)(x)
        x = pyskl_layers.MSG3DTemporalConv(out, dropout=temporal_dropout, name=f"tcn_{stage}", dtype=dtype)(x)
    return x


def build(preset, **overrides) -> GCNRecognizer:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return GCNRecognizer(name=preset.name, **dict(preset.config, **overrides))
