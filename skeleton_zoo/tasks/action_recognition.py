"""Skeleton action recognition: a clip of skeletons in, class scores out.

The contract of a classifier (`ActionRecognition.required_attributes`):

    model(skeleton (B, T, V, M, C)) -> scores (B, num_classes)
    model.layout          SkeletonLayout of the V joints
    model.num_persons     M
    model.in_channels     C
    model.num_classes
    model.input_features  optional: what the C channels hold, "joint" (the
                          default), "joint+bone" (`layouts.skeleton_features`),
                          or a PYSKL stream "j" / "b" / "jm" / "bm"
                          (`formats.pyskl`; evaluated with PYSKL's protocol),
                          or "motionbert" (`formats.motionbert_ntu`: PYSKL's
                          HRNet keypoints as H36M-17, one item per video)
    model.clip_frames     optional: frames of its training / evaluation clips
                          (default: the pipeline's official length, 300 ST-TR,
                          100 PYSKL, 243 MotionBERT)
    model.to_probabilities(scores)  optional: scores -> class probabilities
                          (default: softmax of logits)

Training: cross-entropy, top-1 / top-5, on the model's official clips
(`datasets.clips.load_action_clips`): ST-TR's 300-frame padded clips
(`ntu_rgbd`, `kinetics_skeleton`), or PYSKL's train pipeline, one random
100-frame clip per video, validated on its val pipeline's one seeded clip
and tested on its 10 (`pyskl_skeleton`; the model's layout follows it), or
MotionBERT's NTU items (`pyskl_skeleton` HRNet configs: random train items,
the deterministic test item per video for validation and evaluation).
Evaluation: top-1 / top-5 per stream and fused (ensembles), per-class
accuracy, confusion matrix. Export: `skeleton` -> `logits`, `probabilities`.
"""

from __future__ import annotations

from skeleton_zoo.registry import Recipe
from skeleton_zoo.tasks.base import EvaluationOptions, Task, TrainingData

__all__ = ["ActionRecognition", "TASK", "input_features", "probabilities"]


def input_features(model) -> str:
    """What the model's input channels hold (see `layouts.skeleton_features`)."""
    return getattr(model, "input_features", "joint")


def probabilities(model, scores):
    """(B, num_classes) model outputs -> class probabilities (keras ops, so
    numpy arrays and traced tensors alike): the model's own
    `to_probabilities` when it has one (an ensemble fusing probabilities
    outputs their sum), else the softmax of the logits."""
    import keras

    to_probabilities = getattr(model, "to_probabilities", None)
    if to_probabilities is not None:
        return to_probabilities(scores)
    return keras.ops.softmax(scores, axis=-1)


def _streams(model, name) -> dict:
    """{stream name: model} of an ensemble, else {name: model}."""
    from skeleton_zoo.tasks.ensemble import Ensemble

    return dict(model.streams) if isinstance(model, Ensemble) else {name: model}


class ActionRecognition(Task):
    name = "action_recognition"
    # ST-TR's NTU recipe, for classifiers whose family declares none.
    default_recipe = Recipe(epochs=120, batch_size=32, learning_rate=0.1, default_dataset="ntu_rgbd/xsub60",
                            optimizer="sgd_nesterov", schedule="steps", lr_drops=(0.5, 0.75), momentum=0.9,
                            weight_decay=1e-4)
    monitor, monitor_mode = "val_top1", "max"
    required_attributes = ("layout", "num_persons", "in_channels", "num_classes")
    input_name, output_names = "skeleton", ("logits", "probabilities")
    dataset_features = ("joints", "label")
    example_datasets = ("ntu_rgbd/xsub60", "ntu_rgbd/xview60", "ntu_rgbd/xsub120", "ntu_rgbd/xset120",
                        "kinetics_skeleton", "pyskl_skeleton/ntu60_3d_xsub")
    benchmark_measurements = ("inference_throughput",)
    benchmark_trains = True

    def describe(self, model) -> dict:
        return {"layout": model.layout.name, "classes": model.num_classes}

    def build(self, preset, weights=None, options=None, builder=None, training: bool = False):
        from skeleton_zoo import registry

        num_classes = layout = None
        if builder is not None and "label" in builder.info.features.keys():
            num_classes = builder.info.features["label"].num_classes
        if builder is not None:
            layout = (builder.info.metadata or {}).get("layout")  # pyskl_skeleton: "ntu25" (3D) or "coco17" (HRNet)
            if layout not in preset.parameters:  # not a layout it is built for: MotionBERT's clips are h36m17
                layout = None
        defaults = {"num_classes": num_classes, "layout": layout,
                    **(dict(self.recipe(preset).model_options) if training else {})}
        model = registry.load(preset.name, weights=weights, **self.options_for(preset, dict(options or {}), defaults))
        self.check_model(model)
        if layout and model.layout.name != layout:
            dataset = builder.name + (f"/{builder.builder_config.name}" if builder.builder_config else "")
            raise ValueError(f"--dataset '{dataset}' holds '{layout}' skeletons, the model {preset.name} has layout "
                             f"'{model.layout.name}' (--option layout): leave --option layout out to take the "
                             f"dataset's, or pick a --dataset of layout '{model.layout.name}'.")
        return model

    def training_data(self, model, config, builder, batch_size: int) -> TrainingData:
        from skeleton_zoo.datasets.clips import clip_source, load_action_clips

        features, frames = input_features(model), getattr(model, "clip_frames", None)
        train = load_action_clips(config.dataset, "train", features, batch_size, seed=config.seed, builder=builder,
                                  frames=frames)
        held_out = "test" if "test" in builder.info.splits else "validation"
        validation = load_action_clips(config.dataset, held_out, features, batch_size, shuffle=False,
                                       builder=builder, frames=frames)
        # PYSKL validates on one clip per video (its val pipeline) and tests on 10 (the test pipeline).
        evaluation = validation
        if clip_source(features, builder, config.dataset) == "pyskl":
            evaluation = builder.as_dataset(split=held_out, shuffle_files=False)
        return TrainingData(train, validation, builder.info.splits["train"].num_examples, evaluation)

    def loss(self, recipe=None):
        import keras

        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def metrics(self) -> list:
        import keras

        return [keras.metrics.SparseCategoricalAccuracy(name="top1"),
                keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5")]

    def evaluate_trained(self, model, data: TrainingData, builder, out: str) -> dict:
        """`evaluate`'s protocol on the held-out split: ST-TR's clips, or
        PYSKL's 10-clip test pipeline for a PYSKL stream."""
        from skeleton_zoo.evaluation.protocols import evaluate_action_models, evaluate_pyskl_protocol
        from skeleton_zoo.formats.pyskl import STREAMS

        if input_features(model) in STREAMS:
            return {"protocol": "pyskl", **evaluate_pyskl_protocol({model.name: model}, data.evaluation, builder,
                                                                   out=out)}
        return evaluate_action_models({model.name: model}, data.evaluation, builder, out=out)

    def evaluate(self, model, preset, dataset: str, builder, options: EvaluationOptions, out: str) -> dict:
        """ST-TR's protocol (the whole padded clip, one score per clip), or
        PYSKL's (10 clips of 100 frames per video, probabilities averaged)
        for models whose input is a PYSKL stream."""
        from skeleton_zoo.datasets.clips import clip_source, load_action_clips
        from skeleton_zoo.evaluation.protocols import evaluate_action_models, evaluate_pyskl_protocol
        from skeleton_zoo.formats.pyskl import STREAMS

        clip_source(input_features(model), builder, dataset)  # a PYSKL model on ntu_rgbd, ST-TR on pyskl_skeleton
        split = options.split or ("test" if "test" in builder.info.splits else "validation")
        streams = _streams(model, preset.name)
        if all(input_features(m) in STREAMS for m in streams.values()):
            videos = builder.as_dataset(split=split, shuffle_files=False)
            result = evaluate_pyskl_protocol(streams, videos, builder, out=out,
                                             weights=getattr(model, "stream_weights", None),
                                             batch_size=options.batch_size,
                                             num_videos=builder.info.splits[split].num_examples,
                                             skip_empty_persons=options.skip_empty_persons)
            return {"split": split, "protocol": "pyskl", **result}
        ds = load_action_clips(dataset, split, input_features(model), options.batch_size, shuffle=False,
                               builder=builder, frames=getattr(model, "clip_frames", None),
                               test_mode=True)  # the test pipeline, also for --split train
        result = evaluate_action_models(streams, ds, builder, out=out, fusion=getattr(model, "fusion", "logits"),
                                        skip_empty_persons=options.skip_empty_persons)
        return {"split": split, **result}

    def export_specs(self, preset, weights=None, variants=None, frames=None, options=None) -> list:
        """One entry point: `skeleton` (batch, frames, V, M, C), frames dynamic
        unless `frames` is given -> `logits` and `probabilities` (batch, classes)."""
        from export.common import ExportSpec
        from skeleton_zoo import registry

        model = registry.load(preset.name, weights=weights, **dict(options or {}))
        self.check_model(model)
        shape = (None, frames, model.layout.num_joints, model.num_persons, model.in_channels)
        return [ExportSpec(preset.name, self.name, None, model, self.input_name, shape, self.output_names,
                           example_frames=frames or 32)]

    def export_outputs(self, spec, y) -> dict:
        return {"logits": y, "probabilities": probabilities(spec.model, y)}

    def benchmark_spec_options(self, sizes: dict, preset) -> dict:
        """Clips of `clip_frames`, at most the preset's own clip length (PYSKL's
        100, MotionBERT's 243: what the model was trained on, or can take)."""
        return {"frames": min(sizes["clip_frames"], preset.clip_frames or sizes["clip_frames"])}

    def benchmark_jobs(self, specs, sizes: dict, rng) -> list:
        """`inference_throughput`: clips (batch, clip_frames, V, M, C)."""
        import numpy as np

        (spec,) = specs
        batch = sizes["batch"]
        x = (rng.standard_normal((batch, *spec.input_shape[1:])) * 0.5).astype(np.float32)
        return [("inference_throughput", spec, x, batch, batch)]

    def random_targets(self, model, batch: int, rng):
        import numpy as np

        return rng.integers(0, model.num_classes, size=batch).astype(np.int32)


TASK = ActionRecognition()
