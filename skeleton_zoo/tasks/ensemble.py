"""Multi-stream ensembles: N stream models on the same input, scores fused.

ST-TR's 2s-ST-TR (S-TR + T-TR) and PYSKL's joint / bone / motion ensembles
are ensembles of separately trained streams. An ensemble preset names its
stream presets (`Preset.streams`); `load` builds each stream with its own
family and wraps them here. Nothing in this module knows a family.

    skeleton (B, T, V, M, C)
      stream_1 ... stream_N  -> (B, num_classes) logits each
      fusion "logits":  sum of the logits
      fusion "softmax": sum of the class probabilities (in [0, N])
    scores (B, num_classes)
"""

from __future__ import annotations

import keras

from skeleton_zoo.models.common import ShapeCheckedModel, dtype_config

__all__ = ["Ensemble", "FUSIONS", "build_ensemble"]

FUSIONS = ("logits", "softmax")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class Ensemble(ShapeCheckedModel):
    """Stream models on one input, their scores summed.

    Args:
        streams: dict of stream name -> `keras.Model` (or its serialised
            config), e.g. {"spatial": s_tr, "temporal": t_tr}. Every stream
            takes the same input shape and predicts the same classes.
        fusion: "logits" sums the raw logits (what ST-TR's official ensemble
            script does, and what produced its published numbers) or
            "softmax" sums the class probabilities. Defaults to "logits".

    Input: the streams' input, e.g. `skeleton` (B, T, V, M, C).
    Output: (B, num_classes) fused scores: summed logits, or summed
    probabilities in [0, N] (`to_probabilities` turns either into
    probabilities).
    Attributes: `streams` (name -> model, in order), `fusion`, and the first
    stream's `layout`, `num_persons`, `in_channels`, `input_features`,
    `num_classes`.
    """

    def __init__(self, streams, fusion="logits", dtype=None, **kwargs):
        if fusion not in FUSIONS:
            raise ValueError(f"Ensemble: `fusion` must be one of {FUSIONS}, found {fusion!r}.")
        if not streams:
            raise ValueError("Ensemble: `streams` must name at least one stream model.")
        models = {name: model if isinstance(model, keras.Model) else keras.saving.deserialize_keras_object(model)
                  for name, model in dict(streams).items()}
        first = next(iter(models.values()))
        for name, model in models.items():
            if model.input_shape != first.input_shape or model.output_shape != first.output_shape:
                raise ValueError(
                    "Ensemble: the streams must take the same input and predict the same classes; found "
                    + ", ".join(f"'{n}' {m.input_shape} -> {m.output_shape}" for n, m in models.items()) + ".")
        inputs = keras.Input(first.input_shape[1:], name=first.inputs[0].name.split(":")[0])
        scores = [model(inputs) for model in models.values()]
        if fusion == "softmax":
            scores = [keras.layers.Softmax(name=f"{name}_probabilities", dtype=dtype)(s)
                      for name, s in zip(models, scores)]
        outputs = scores[0] if len(scores) == 1 else keras.layers.Add(name="fused", dtype=dtype)(scores)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.streams = models
        self.fusion = fusion
        self._config_dtype = dtype_config(dtype)

    # The task attributes of a classifier are its first stream's.
    @property
    def first_stream(self):
        return next(iter(self.streams.values()))

    @property
    def layout(self):
        return self.first_stream.layout

    @property
    def num_persons(self):
        return self.first_stream.num_persons

    @property
    def in_channels(self):
        return self.first_stream.in_channels

    @property
    def input_features(self):
        return getattr(self.first_stream, "input_features", "joint")

    @property
    def num_classes(self):
        return self.first_stream.num_classes

    def to_probabilities(self, scores):
        """(B, num_classes) outputs -> class probabilities (keras ops: numpy or tensors)."""
        if self.fusion == "softmax":
            return scores / float(len(self.streams))
        return keras.ops.softmax(scores, axis=-1)

    def check_input_shape(self, shape):
        if hasattr(self.first_stream, "check_input_shape"):
            self.first_stream.check_input_shape(shape)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self._config_dtype,
            "streams": {name: keras.saving.serialize_keras_object(model) for name, model in self.streams.items()},
            "fusion": self.fusion,
        }


def build_ensemble(preset, overrides):
    """The `Ensemble` of an ensemble preset: each stream preset built with its
    family and `overrides` (those its family accepts; `fusion` is the ensemble's)."""
    from skeleton_zoo import registry

    options = dict(overrides)
    fusion = options.pop("fusion", None) or preset.fusion or "logits"
    streams, accepted = {}, set()
    for stream, name in preset.streams.items():
        stream_preset = registry.get_preset(name)
        family = registry.get_family(stream_preset.family)
        accepted |= set(family.overrides)
        model = registry.resolve(family.build)(stream_preset, **{k: v for k, v in options.items()
                                                                  if k in family.overrides})
        model.name = f"{stream}_stream"
        streams[stream] = model
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"load('{preset.name}'): unexpected option(s) {unknown}; its streams accept "
                        f"{sorted(accepted)}, the ensemble 'fusion'.")
    return Ensemble(streams, fusion=fusion, name=preset.name)
