"""Multi-stream ensembles: N stream models, each on its input features,
scores fused with per-stream weights.

ST-TR's 2s-ST-TR (S-TR + T-TR on the same joints, logits summed) and PYSKL's
joint / bone / motion ensembles (each stream on its own features, class
probabilities weighted 2:2:1:1) are ensembles of separately trained streams.
An ensemble preset names its stream presets (`Preset.streams`, with
`stream_options` and `stream_weights`); `load` builds each stream with its
own family and wraps them here. Nothing in this module knows a family.

    skeleton (B, T, V, M, C_1 + ... + C_F): the streams' distinct input
        features, concatenated on the channel axis in stream order (one
        feature, e.g. ST-TR's joints: the streams share the input as is)
      stream_i on its feature's channels -> (B, num_classes) logits
      fusion "logits":  sum_i w_i logits_i
      fusion "softmax": sum_i w_i softmax(logits_i)
    scores (B, num_classes)
"""

from __future__ import annotations

import keras

from skeleton_zoo.models.common import ShapeCheckedModel, dtype_config

__all__ = ["ChannelSlice", "Ensemble", "FUSIONS", "build_ensemble"]

FUSIONS = ("logits", "softmax")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class ChannelSlice(keras.layers.Layer):
    """Channels [start, stop) of the last axis: one stream's features.

    Args:
        start: int. stop: int.

    Input: (..., C). Output: (..., stop - start).
    """

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, x):
        return x[..., self.start:self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        config = super().get_config()
        config.update({"start": self.start, "stop": self.stop})
        return config


def _features(model) -> str:
    return getattr(model, "input_features", "joint")


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class Ensemble(ShapeCheckedModel):
    """Stream models, each on its input features, their scores fused.

    Args:
        streams: dict of stream name -> `keras.Model` (or its serialised
            config), e.g. {"spatial": s_tr, "temporal": t_tr} or {"j": ...,
            "b": ..., "jm": ..., "bm": ...}. Every stream takes the same
            frames, joints and persons and predicts the same classes.
        fusion: "logits" sums the weighted raw logits (what ST-TR's official
            ensemble script does, and what produced its published numbers) or
            "softmax" sums the weighted class probabilities (PYSKL). Defaults
            to "logits".
        stream_weights: dict stream name -> float, e.g. PYSKL's {"j": 2,
            "b": 2, "jm": 1, "bm": 1}. Defaults to 1 for every stream.

    Input `skeleton`: (B, T, V, M, C): the streams' distinct input features
    (`input_features`, e.g. "joint", or "j+b+jm+bm") concatenated on the
    channel axis; each stream reads its feature's channels.
    Output: (B, num_classes) fused scores: weighted summed logits, or weighted
    summed probabilities in [0, sum of weights] (`to_probabilities` turns
    either into probabilities).
    Attributes: `streams` (name -> model, in order), `fusion`,
    `stream_weights`, `stream_features` (name -> feature), `input_features`,
    `in_channels`, and the first stream's `layout`, `num_persons`,
    `num_classes`.
    """

    def __init__(self, streams, fusion="logits", stream_weights=None, dtype=None, **kwargs):
        if fusion not in FUSIONS:
            raise ValueError(f"Ensemble: `fusion` must be one of {FUSIONS}, found {fusion!r}.")
        if not streams:
            raise ValueError("Ensemble: `streams` must name at least one stream model.")
        models = {name: model if isinstance(model, keras.Model) else keras.saving.deserialize_keras_object(model)
                  for name, model in dict(streams).items()}
        weights = {name: 1.0 for name in models}
        unknown = sorted(set(stream_weights or {}) - set(models))
        if unknown:
            raise ValueError(f"Ensemble: `stream_weights` names {unknown}, which are not streams; the streams "
                             f"are {list(models)}.")
        weights.update({name: float(w) for name, w in dict(stream_weights or {}).items()})
        first = next(iter(models.values()))
        features = {name: _features(model) for name, model in models.items()}
        channels = {}
        for name, model in models.items():
            if (model.input_shape[:-1] != first.input_shape[:-1] or model.output_shape != first.output_shape
                    or channels.setdefault(features[name], model.input_shape[-1]) != model.input_shape[-1]):
                raise ValueError(
                    "Ensemble: the streams must take the same frames, joints and persons (and as many channels "
                    "for the same features) and predict the same classes; found "
                    + ", ".join(f"'{n}' ({features[n]}) {m.input_shape} -> {m.output_shape}"
                                for n, m in models.items()) + ".")
        offsets, total = {}, 0
        for feature, width in channels.items():
            offsets[feature] = (total, total + width)
            total += width
        inputs = keras.Input((*first.input_shape[1:-1], total), name=first.inputs[0].name.split(":")[0])
        scores, stream_tensors = [], []
        for name, model in models.items():
            x = inputs if len(channels) == 1 else ChannelSlice(*offsets[features[name]], name=f"{name}_features",
                                                                dtype=dtype)(inputs)
            score = model(x)
            stream_tensors.append((x, score))
            if fusion == "softmax":
                score = keras.layers.Softmax(name=f"{name}_probabilities", dtype=dtype)(score)
            if weights[name] != 1.0:
                score = keras.layers.Rescaling(weights[name], name=f"{name}_weighted", dtype=dtype)(score)
            scores.append(score)
        outputs = scores[0] if len(scores) == 1 else keras.layers.Add(name="fused", dtype=dtype)(scores)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # === Config ===
        self.streams = models
        self.fusion = fusion
        self.stream_weights = weights
        self.stream_features = features
        self.in_channels = total
        self._config_dtype = dtype_config(dtype)
        self._stream_tensors = tuple(stream_tensors)  # (input, scores) of each stream in this graph

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
    def input_features(self) -> str:
        """The streams' distinct features, "+"-joined in channel order."""
        return "+".join(dict.fromkeys(self.stream_features.values()))

    @property
    def num_classes(self):
        return self.first_stream.num_classes

    def to_probabilities(self, scores):
        """(B, num_classes) outputs -> class probabilities (keras ops: numpy or tensors)."""
        if self.fusion == "softmax":
            return scores / float(sum(self.stream_weights.values()))
        return keras.ops.softmax(scores, axis=-1)

    def stream_stages(self):
        """The ensemble's graph cut at its streams, sharing its layers:
        `(split, fuse)`, where `split(skeleton (B, T, V, M, C))` -> list of each
        stream's input (B, T, V, M, C_i) and `fuse(list of each stream's
        scores (B, num_classes))` -> the fused scores, in stream order. So
        `fuse([stream(x_i) for stream, x_i in zip(streams, split(x))])` is
        the ensemble's output, with the streams run by any means (e.g.
        `inference.empty_persons.EmptyPersonSkipper`)."""
        stream_inputs = [x for x, _ in self._stream_tensors]
        scores = [s for _, s in self._stream_tensors]
        if all(x is self.input for x in stream_inputs):  # one feature: every stream takes the input as is
            def split(skeleton):
                return [skeleton] * len(stream_inputs)
        else:
            split = keras.Model(self.input, stream_inputs, name=f"{self.name}_split")
        if len(scores) == 1 and scores[0] is self.output:  # one stream, its logits as they are
            def fuse(stream_scores):
                (only,) = stream_scores
                return only
        else:
            fuse = keras.Model(scores, self.output, name=f"{self.name}_fuse")
        return split, fuse

    def check_input_shape(self, shape):
        """Raises ValueError unless `shape` fits (batch, frames, V, M, in_channels)."""
        shape = tuple(shape)
        if shape and shape[-1] is not None and shape[-1] != self.in_channels:
            raise ValueError(f"Ensemble '{self.name}': expected {self.in_channels} channels on the last axis "
                             f"(features {self.input_features}), found shape {shape}.")
        if hasattr(self.first_stream, "check_input_shape"):
            self.first_stream.check_input_shape((*shape[:-1], self.first_stream.input_shape[-1]))

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self._config_dtype,
            "streams": {name: keras.saving.serialize_keras_object(model) for name, model in self.streams.items()},
            "fusion": self.fusion,
            "stream_weights": dict(self.stream_weights),
        }


def build_ensemble(preset, overrides):
    """The `Ensemble` of an ensemble preset: each stream preset built with its
    family, its `stream_options` and `overrides` (those its family accepts;
    `fusion` is the ensemble's), fused with the preset's `stream_weights`."""
    from skeleton_zoo import registry

    options = dict(overrides)
    fusion = options.pop("fusion", None) or preset.fusion or "logits"
    streams, accepted = {}, set()
    for stream, name in preset.streams.items():
        stream_preset = registry.get_preset(name)
        family = registry.get_family(stream_preset.family)
        accepted |= set(family.overrides)
        model = registry.resolve(family.build)(stream_preset, **dict(
            preset.stream_options.get(stream, {}), **{k: v for k, v in options.items() if k in family.overrides}))
        model.name = f"{stream}_stream"
        streams[stream] = model
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise TypeError(f"load('{preset.name}'): unexpected option(s) {unknown}; its streams accept "
                        f"{sorted(accepted)}, the ensemble 'fusion'.")
    return Ensemble(streams, fusion=fusion, stream_weights=preset.stream_weights, name=preset.name)
