"""ST-TR models: S-TR, T-TR and the ST-GCN baseline (the two-stream 2s-ST-TR
is an ensemble preset of two of them, see `skeleton_zoo.tasks.ensemble`).

    skeleton (B, T, V, M, C)
      data_bn over (V, M, C) features -> fold persons into the batch (B * M, T, V, C)
      stem_graph (GraphConv, or AdaptiveGraphConv when adaptive_graph, C -> 64)
        -> stem_temporal (TemporalConv 64, kernel 9)
      block_0 .. block_8 (STTRBlock; channels 64 x3, 128 x3, 256 x3; stride 2 at blocks 3 and 6)
          block_3's input is [features || raw coordinates] when concat_original
          S-TR: spatial unit = SSA once channels >= 128 (256 when doubled)
          T-TR: temporal unit = TSA from the same point on
          the other spatial units: GraphConv, or AdaptiveGraphConv (the `agcn` models)
      mean over joints, persons, frames -> logits (Dense)
    logits (B, num_classes)
"""

from __future__ import annotations

import keras

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.models.common import PersonStages, ShapeCheckedModel, batch_norm, dtype_config
from skeleton_zoo.models.sttr import layers as sttr_layers

# (in, out, stride) of the published backbone (official `default_backbone`).
DEFAULT_BACKBONE = (
    (64, 64, 1), (64, 64, 1), (64, 64, 1),
    (64, 128, 2), (128, 128, 1), (128, 128, 1),
    (128, 256, 2), (256, 256, 1), (256, 256, 1),
)
STREAMS = ("spatial", "temporal", "none")


def _check_skeleton_shape(model, shape, joints, persons, channels):
    where = f"{type(model).__name__} '{model.name}'"
    expected = f"(batch, frames, {joints}, {persons}, {channels})"
    shape = tuple(shape)
    if len(shape) != 5:
        raise ValueError(f"{where}: expected input of rank 5 {expected}, found shape {shape}.")
    for axis, name, want in ((2, "joints", joints), (3, "persons", persons), (4, "channels", channels)):
        if shape[axis] is not None and shape[axis] != want:
            raise ValueError(
                f"{where}: expected {want} {name} on axis {axis} of input {expected}, "
                f"found {shape[axis]} (shape {shape})."
            )
    if shape[1] is not None and shape[1] < 1:
        raise ValueError(f"{where}: the clip has no frames (shape {shape}).")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class STTR(ShapeCheckedModel):
    """One ST-TR stream (or the ST-GCN baseline).

    Args:
        stream: "spatial" (S-TR: SSA replaces graph convolutions), "temporal"
            (T-TR: TSA replaces temporal convolutions) or "none" (ST-GCN).
        in_channels: int. 3 for joints, 6 for joints + bones. Defaults to 3.
        num_classes: int. 60 (NTU-60) or 120 (NTU-120). Defaults to 60.
        num_persons: int. M. Defaults to 2.
        layout: layout name, `SkeletonLayout` or config dict. Defaults to "ntu25".
        backbone: sequence of (in, out, stride) per block, before doubling.
            Defaults to the published 9-block backbone.
        double_channel: bool. Double every width (the bone models). Defaults to False.
        concat_original: bool. Concatenate the raw input to block 3's input.
            Defaults to True.
        attention_from: int or None. Blocks with at least this many output
            channels use attention. Defaults to 128 (256 when doubled).
        num_heads: int. Defaults to 8.
        key_factor: float. dk = int(key_factor * channels). Defaults to 0.25.
        dropout: float. Dropout before each block's temporal conv. Defaults to 0.5.
        drop_connect: bool. DropConnect on attention weights in training. Defaults to True.
        data_normalization: bool. Data BN inside SSA/TSA. Defaults to True.
        skip_connection: bool. Skip connections of SSA/TSA. Defaults to True.
        adaptive_graph: bool. 2s-AGCN's adaptive graph units (`AdaptiveGraphConv`)
            wherever a graph convolution is used: the official `agcn: True`
            (the released `*-temporal-agcn.pt` models). Defaults to False.

    Input `skeleton`: (B, T, V, M, in_channels), any T >= 1.
    Output `logits`: (B, num_classes).
    """

    def __init__(self, stream="spatial", in_channels=3, num_classes=60, num_persons=2,
                 layout="ntu25", backbone=DEFAULT_BACKBONE, double_channel=False,
                 concat_original=True, attention_from=None, num_heads=8, key_factor=0.25,
                 dropout=0.5, drop_connect=True, data_normalization=True, skip_connection=True,
                 adaptive_graph=False, dtype=None, **kwargs):
        if stream not in STREAMS:
            raise ValueError(f"STTR: `stream` must be one of {STREAMS}, found {stream!r}.")
        layout = layouts_lib.get_layout(layout)
        backbone = tuple(tuple(int(v) for v in unit) for unit in backbone)
        scale = 2 if double_channel else 1
        if attention_from is None:
            attention_from = 128 * scale
        v, m, c = layout.num_joints, int(num_persons), int(in_channels)
        attention_options = dict(
            num_heads=num_heads, key_factor=key_factor, data_normalization=data_normalization,
            skip_connection=skip_connection, drop_connect=drop_connect,
        )

        # === Functional model ===
        inputs = keras.Input((None, v, m, c), name="skeleton")
        raw = sttr_layers.FoldPersons(name="fold_raw", dtype=dtype)(inputs)
        x = keras.layers.Reshape((-1, v * m * c), name="flatten_features", dtype=dtype)(inputs)
        x = batch_norm("data_bn", dtype)(x)
        x = keras.layers.Reshape((-1, v, m, c), name="unflatten_features", dtype=dtype)(x)
        x = sttr_layers.FoldPersons(name="fold_persons", dtype=dtype)(x)
        stem = backbone[0][0] * scale
        graph_unit = "adaptive_graph" if adaptive_graph else "graph"
        graph_conv = sttr_layers.AdaptiveGraphConv if adaptive_graph else sttr_layers.GraphConv
        x = graph_conv(stem, layout, name="stem_graph", dtype=dtype)(x)
        x = sttr_layers.TemporalConv(stem, 9, 1, 0.0, name="stem_temporal", dtype=dtype)(x)
        for i, (_, out, stride) in enumerate(backbone):
            out *= scale
            if i == 3 and concat_original:
                x = keras.layers.Concatenate(name="concat_original", dtype=dtype)([x, raw])
            attend = out >= attention_from
            x = sttr_layers.STTRBlock(
                out, stride,
                spatial="attention" if attend and stream == "spatial" else graph_unit,
                temporal="attention" if attend and stream == "temporal" else "conv",
                layout=layout, dropout=dropout, name=f"block_{i}", dtype=dtype, **attention_options,
            )(x)
        x = sttr_layers.PersonJointTimePooling(m, name="pool", dtype=dtype)(x)
        outputs = keras.layers.Dense(num_classes, name="logits", dtype=dtype)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.stream = stream
        self.in_channels = c
        self.num_classes = int(num_classes)
        self.num_persons = m
        self.layout = layout
        self.backbone = backbone
        self.double_channel = bool(double_channel)
        self.concat_original = bool(concat_original)
        self.attention_from = int(attention_from)
        self.num_heads = int(num_heads)
        self.key_factor = float(key_factor)
        self.dropout = float(dropout)
        self.drop_connect = bool(drop_connect)
        self.data_normalization = bool(data_normalization)
        self.skip_connection = bool(skip_connection)
        self.adaptive_graph = bool(adaptive_graph)
        self._dtype_config = dtype_config(dtype)

    @property
    def input_features(self) -> str:
        """What the input channels hold: "joint" (xyz) or "joint+bone"
        ([xyz || bone vector], the bone models' 6 channels)."""
        return "joint+bone" if self.in_channels == 6 else "joint"

    def check_input_shape(self, shape):
        """Raises ValueError unless `shape` fits (batch, frames, V, M, C)."""
        _check_skeleton_shape(self, shape, self.layout.num_joints, self.num_persons, self.in_channels)

    def person_stages(self) -> PersonStages:
        """The model cut where persons are separate (`models.common.PersonStages`):
        `prepare` is data_bn over the (V, M, C) features (per person slot) and
        the fold, giving [normalised (B * M, T, V, C), raw (B * M, T, V, C)]
        (the raw input only with `concat_original`, for block 3);
        `person_features` the stem, blocks and the mean over joints and frames."""
        concat = self.concat_original and len(self.backbone) > 3  # the raw input joins block 3's
        folds = ("fold_persons", "fold_raw") if concat else ("fold_persons",)
        return PersonStages(self, folds, "pool")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "stream": self.stream,
            "in_channels": self.in_channels,
            "num_classes": self.num_classes,
            "num_persons": self.num_persons,
            "layout": self.layout.to_config(),
            "backbone": [list(unit) for unit in self.backbone],
            "double_channel": self.double_channel,
            "concat_original": self.concat_original,
            "attention_from": self.attention_from,
            "num_heads": self.num_heads,
            "key_factor": self.key_factor,
            "dropout": self.dropout,
            "drop_connect": self.drop_connect,
            "data_normalization": self.data_normalization,
            "skip_connection": self.skip_connection,
            "adaptive_graph": self.adaptive_graph,
            "dtype": self._dtype_config,
        }


def build(preset, **overrides) -> STTR:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return STTR(name=preset.name, **dict(preset.config, **overrides))
