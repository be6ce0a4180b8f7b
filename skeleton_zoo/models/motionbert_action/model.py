"""MotionBERT's action recogniser (`lib/model/model_action.py`,
`ActionNet(version='class')`): the DSTformer backbone's representation of
each person, pooled, and a two-layer classification head.

    skeleton (B, T, V, M, C)                 T <= max_frames; (x, y, confidence)
      fold persons into the batch (B * M, T, V, C)
      backbone: DSTformer up to its representation (after tanh), (B * M, T, V, dim_rep)
      dropout
      pool: mean over frames, joints flattened joint-major (V * dim_rep),
        mean over persons (the zero padding person included)
      fc1 (hidden_dim) -> bn (BatchNorm1d) -> relu -> fc2 (num_classes)
    logits (B, num_classes)                  (no softmax)
"""

from __future__ import annotations

import keras
from keras import ops

from skeleton_zoo import layouts as layouts_lib
from skeleton_zoo.formats.motionbert_ntu import INPUT_FEATURES
from skeleton_zoo.models.common import PersonStages, ShapeCheckedModel, batch_norm, dtype_config, linear_fold
from skeleton_zoo.models.motionbert.model import DSTformer
from skeleton_zoo.models.sttr.layers import FoldPersons
from skeleton_zoo.models.sttr.model import _check_skeleton_shape

__all__ = ["MotionBERTAction", "PersonJointFeaturePooling", "build"]

# The nested backbone: `DSTformer(name="backbone").representation_model()`.
BACKBONE_LAYER = "backbone_representation"


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class PersonJointFeaturePooling(keras.layers.Layer):
    """`ActionHeadClassification`'s pooling: mean over frames, the joints'
    features concatenated (joint-major: index j * C + c), mean over persons.

    Args:
        num_persons: int. M, to unfold (B * M, ...) back to (B, M, ...).

    Input: (B * M, T, V, C). Output: (B, V * C).
    """

    def __init__(self, num_persons, **kwargs):
        super().__init__(**kwargs)
        self.num_persons = int(num_persons)

    def call(self, x):
        x = ops.mean(x, axis=1)  # (B * M, V, C)
        x = ops.reshape(x, (-1, self.num_persons, x.shape[1] * x.shape[2]))
        return ops.mean(x, axis=1)

    def person_features(self, x):
        """The pooling of each person alone: (B * M, T, V, C) -> (B * M, V * C)
        (`call` is their mean over persons)."""
        x = ops.mean(x, axis=1)
        return ops.reshape(x, (-1, x.shape[1] * x.shape[2]))

    def compute_output_shape(self, input_shape):
        b, _, v, c = input_shape
        return (None if b is None else b // self.num_persons, None if v is None or c is None else v * c)

    def get_config(self):
        return {**super().get_config(), "num_persons": self.num_persons}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class MotionBERTAction(ShapeCheckedModel):
    """MotionBERT fine-tuned for action classification (the official
    `ActionNet(version='class')`).

    Args:
        num_classes: int. Defaults to 60 (NTU RGB+D 60).
        num_persons: int. M; the official pipeline always feeds 2 (a
            missing second person is zeros). Defaults to 2.
        in_channels: int. Values per joint (the backbone's `dim_in`).
            Defaults to 3 (x, y, confidence).
        hidden_dim: int. Width of the head's fc1 / BatchNorm. Defaults to
            2048 (the official `ActionNet` always builds 2048, whatever its
            `hidden_dim` argument says).
        dropout_ratio: float. Dropout on the representation before pooling
            (training only). Defaults to 0.5 (configs/action/*.yaml).
        dim_feat, dim_rep, depth, num_heads, mlp_ratio, max_frames, layout,
            qkv_bias, qk_scale, att_fuse, dropout, attention_dropout: the
            backbone's, see `DSTformer`. Defaults: the published MotionBERT
            (512, 512, 5, 8, 2, 243, "h36m17", True, None, True, 0, 0).
        dtype: dtype policy passed to every layer. Defaults to Keras' global one.

    Input `skeleton`: (B, T, V, M, in_channels), 1 <= T <= max_frames
    (official clips: 243 frames resampled from each sample).
    Output `logits`: (B, num_classes).
    """

    def __init__(self, num_classes=60, num_persons=2, in_channels=3, hidden_dim=2048, dropout_ratio=0.5,
                 dim_feat=512, dim_rep=512, depth=5, num_heads=8, mlp_ratio=2.0, max_frames=243, layout="h36m17",
                 qkv_bias=True, qk_scale=None, att_fuse=True, dropout=0.0, attention_dropout=0.0, dtype=None,
                 **kwargs):
        layout = layouts_lib.get_layout(layout)
        v, m, c = layout.num_joints, int(num_persons), int(in_channels)
        # The backbone's 3D head (official `backbone.head`) is built here but left out of this model.
        dstformer = DSTformer(dim_in=c, dim_feat=dim_feat, dim_rep=dim_rep, depth=depth, num_heads=num_heads,
                              mlp_ratio=mlp_ratio, max_frames=max_frames, layout=layout, qkv_bias=qkv_bias,
                              qk_scale=qk_scale, att_fuse=att_fuse, dropout=dropout,
                              attention_dropout=attention_dropout, dtype=dtype, name="backbone")
        backbone = dstformer.representation_model()

        # === Functional model ===
        inputs = keras.Input((None, v, m, c), name="skeleton")
        x = FoldPersons(name="fold_persons", dtype=dtype)(inputs)
        x = backbone(x)
        x = keras.layers.Dropout(dropout_ratio, name="dropout", dtype=dtype)(x)
        x = PersonJointFeaturePooling(m, name="pool", dtype=dtype)(x)
        x = keras.layers.Dense(hidden_dim, name="fc1", dtype=dtype)(x)
        x = batch_norm("bn", dtype)(x)
        x = keras.layers.ReLU(name="relu", dtype=dtype)(x)
        outputs = keras.layers.Dense(num_classes, name="fc2", dtype=dtype)(x)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config ===
        self.num_classes, self.num_persons, self.in_channels = int(num_classes), m, c
        self.hidden_dim, self.dropout_ratio = int(hidden_dim), float(dropout_ratio)
        self.dim_feat, self.dim_rep, self.depth = int(dim_feat), int(dim_rep), int(depth)
        self.num_heads, self.mlp_ratio, self.max_frames = int(num_heads), float(mlp_ratio), int(max_frames)
        self.layout = layout
        self.qkv_bias, self.qk_scale, self.att_fuse = bool(qkv_bias), qk_scale, bool(att_fuse)
        self.dropout, self.attention_dropout = float(dropout), float(attention_dropout)
        self._dtype_config = dtype_config(dtype)

    @property
    def backbone(self) -> keras.Model:
        """The DSTformer up to its representation (a nested model, official
        `backbone.get_representation`): (B * M, T, V, C) -> (B * M, T, V, dim_rep)."""
        return self.get_layer(BACKBONE_LAYER)

    @property
    def input_features(self) -> str:
        """What its input holds: "motionbert", the items of MotionBERT's NTU
        preprocessing (`formats.motionbert_ntu`) of PYSKL's HRNet keypoints."""
        return INPUT_FEATURES

    @property
    def clip_frames(self) -> int:
        """Frames of its training / evaluation clips: `max_frames` (the
        official clip_len equals maxlen, 243)."""
        return self.max_frames

    @property
    def feature_layer(self) -> str:
        """The name of the pooling layer: its output (B, V * dim_rep) is the
        input of the official `head.fc1`."""
        return "pool"

    def person_stages(self) -> PersonStages:
        """The model cut where persons are separate (`models.common.PersonStages`):
        `prepare` is the fold, giving [(B * M, T, V, C)]; `person_features`
        the DSTformer representation and the mean over frames (joints
        flattened, V * dim_rep); `head` the mean over persons, fc1, bn, relu
        and fc2."""
        return PersonStages(self, ("fold_persons",), "pool")

    def _batch_norm_folds(self):  # fc1 -> bn; see common.fold_batch_norms
        return [linear_fold(self.get_layer("bn"), self.get_layer("fc1"))]

    def check_input_shape(self, shape):
        """Raises ValueError unless `shape` fits (batch, 1..max_frames, V, M, C)."""
        _check_skeleton_shape(self, shape, self.layout.num_joints, self.num_persons, self.in_channels)
        if shape[1] is not None and shape[1] > self.max_frames:
            expected = (f"(batch, frames <= {self.max_frames}, {self.layout.num_joints}, {self.num_persons}, "
                        f"{self.in_channels})")
            raise ValueError(f"{type(self).__name__} '{self.name}': expected 1 to {self.max_frames} frames on axis 1 "
                             f"of input {expected}, found {shape[1]} (shape {tuple(shape)}); the official pipeline "
                             f"resamples each sample to one clip of that length.")

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_classes": self.num_classes,
            "num_persons": self.num_persons,
            "in_channels": self.in_channels,
            "hidden_dim": self.hidden_dim,
            "dropout_ratio": self.dropout_ratio,
            "dim_feat": self.dim_feat,
            "dim_rep": self.dim_rep,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "max_frames": self.max_frames,
            "layout": self.layout.to_config(),
            "qkv_bias": self.qkv_bias,
            "qk_scale": self.qk_scale,
            "att_fuse": self.att_fuse,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "dtype": self._dtype_config,
        }


def build(preset, **overrides) -> MotionBERTAction:
    """The family's builder (see `skeleton_zoo.registry.Family.build`)."""
    return MotionBERTAction(name=preset.name, **dict(preset.config, **overrides))
