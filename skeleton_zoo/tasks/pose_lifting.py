"""Pose lifting: 2D keypoints in, root-relative 3D poses out.

The contract of a lifter (`PoseLifting.required_attributes`):

    model(keypoints_2d (B, T, J, 2)) -> poses_3d (B, T - receptive_field + 1, J, 3)
    model.layout            SkeletonLayout of the J joints (2D and 3D alike)
    model.receptive_field   input frames per output frame (odd)
    model.causal            True when an output frame sees only past frames

Sequence-to-sequence lifters (MotionBERT, the transformer lifters) lift a
whole clip at once; they also have

    model.clip_frames       the clip length of one call; model(keypoints_2d
                            (B, T, J, F)) -> poses_3d (B, T, J, 3), one output
                            per input frame, T <= clip_frames
    model.fixed_clip        True when T must equal clip_frames
    model.in_features       F: 2 (x, y) or 3 (x, y, confidence)

and their `receptive_field` is `clip_frames` (every output sees the clip).
Long sequences run in consecutive clips (`clip_slices`); a short last clip
runs as it is, or, for fixed-clip models, stretched by repeating frames and
mapped back (`resample_indices`, MotionAGFormer's demo).

A family may also build a faster "single_frame" variant with the same
weights (`Family.variants`, `load(..., variant=...)`): it takes exactly one
receptive field and predicts its centre frame (its last frame when causal).
Families without one are trained and exported with the sequence model on
one receptive field, which computes the same.

Training (VideoPose3D's protocol): one window of one receptive field per
frame (clips of `clip_frames`, stride n / 3, for sequence-to-sequence
lifters), MPJPE loss, flip augmentation. Evaluation: whole test sequences,
edge-padded, test-time flip, MPJPE / P-MPJPE / N-MPJPE / MPJVE per action;
on `human36m_motionbert`, MotionBERT's official clip protocol (2.5D factor).
Export: `keypoints_2d` -> `poses_3d`, both variants.
"""

from __future__ import annotations

from skeleton_zoo.registry import Recipe
from skeleton_zoo.tasks.base import EvaluationOptions, Task, TrainingData

__all__ = ["PoseLifting", "TASK", "with_variant", "causal_shift", "clip_frames", "clip_slices", "resample_indices",
           "with_confidence", "VARIANTS"]

VARIANTS = ("sequence", "single_frame")


def causal_shift(model) -> int:
    """Frames of look-back beyond the centre: pad a clip by this many extra
    frames at the start (and as many fewer at the end) so output frame t only
    sees input frames <= t. 0 for non-causal models."""
    return (model.receptive_field - 1) // 2 if model.causal else 0


def clip_frames(model) -> int | None:
    """The clip length of a sequence-to-sequence lifter; None for a
    receptive-field lifter (GAST-Net, VideoPose3D)."""
    frames = getattr(model, "clip_frames", None)
    return None if frames is None else int(frames)


def clip_slices(num_frames: int, clip: int) -> list[slice]:
    """Consecutive clips covering `num_frames` frames, as MotionBERT's
    `infer_wild.py`: [0, clip), [clip, 2 clip), ...; the last one is shorter."""
    if num_frames < 1 or clip < 1:
        raise ValueError(f"clip_slices: expected at least one frame and a positive clip, found {num_frames}, {clip}.")
    return [slice(start, min(start + clip, num_frames)) for start in range(0, num_frames, clip)]


def resample_indices(num_frames: int, clip: int):
    """Frame indices stretching `num_frames` frames to `clip` by repetition,
    floor(linspace(0, num_frames, clip)), and the positions that map the
    lifted clip back (the first of each repeated frame): MotionAGFormer's
    demo for a clip shorter than a fixed-length model's.

    Returns:
        `(indices (clip,), back (num_frames,))`, int arrays.
    """
    import numpy as np

    indices = np.clip(np.floor(np.linspace(0, num_frames, num=clip, endpoint=False)), 0, num_frames - 1)
    indices = indices.astype(np.int64)
    return indices, np.unique(indices, return_index=True)[1]


def with_confidence(keypoints, model, scores=None):
    """Keypoints as `model` takes them: (..., J, 2) x, y, with the detection
    confidence appended as a third channel when `model.in_features == 3`
    (`scores` (..., J), or 1 where no detector score exists, e.g. ground-truth
    or CPN 2D). Inputs that already have the model's channels pass through.

    Raises:
        ValueError: channels that fit neither.
    """
    import numpy as np

    keypoints = np.asarray(keypoints, np.float32)
    features = int(getattr(model, "in_features", 2))
    if keypoints.shape[-1] == features:
        return keypoints
    if keypoints.shape[-1] == 2 and features == 3:
        confidence = np.ones(keypoints.shape[:-1], np.float32) if scores is None else np.asarray(scores, np.float32)
        return np.concatenate([keypoints, confidence[..., None]], axis=-1)
    raise ValueError(f"model '{model.name}' takes {features} values per joint, found keypoints of shape "
                     f"{keypoints.shape}.")


def with_variant(model, variant: str):
    """`model` as `variant` ("sequence" or "single_frame"), sharing its weights.

    A family with variants rebuilds the model from its config with another
    `variant` and copies the weights; a model without a `variant` attribute
    is its own twin (run on one receptive field, it is the single-frame form).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {list(VARIANTS)}, found {variant!r}.")
    if getattr(model, "variant", variant) == variant:
        return model
    twin = type(model).from_config({**model.get_config(), "variant": variant})
    twin.set_weights(model.get_weights())
    return twin


class PoseLifting(Task):
    name = "pose_lifting"
    # VideoPose3D's recipe, for lifters whose family declares none.
    default_recipe = Recipe(epochs=80, batch_size=128, learning_rate=1e-3, default_dataset="human36m/cpn_ft_h36m_dbb",
                            optimizer="adam", schedule="exponential", lr_decay=0.95)
    monitor, monitor_mode = "val_loss", "min"
    required_attributes = ("layout", "receptive_field", "causal")
    input_name, output_names = "keypoints_2d", ("poses_3d",)
    dataset_features = ("keypoints_2d", "pose_3d")
    example_datasets = ("human36m/cpn_ft_h36m_dbb", "human36m/gt", "humaneva/gt", "humaneva/detectron_pt_coco")
    benchmark_measurements = ("sequence_throughput", "single_frame_latency")

    def describe(self, model) -> dict:
        return {"receptive_field": model.receptive_field, "layout": model.layout.name}

    @staticmethod
    def variants(preset) -> tuple[str, ...]:
        from skeleton_zoo import registry

        return registry.get_family(preset.family).variants

    def load(self, preset, weights=None, options=None, variant: str = "sequence"):
        """`skeleton_zoo.load` of a lifter as `variant` (the family's own
        variant when it has one)."""
        from skeleton_zoo import registry

        options = dict(options or {})
        if variant in self.variants(preset):
            options["variant"] = variant
        model = registry.load(preset.name, weights=weights, **options)
        self.check_model(model)
        return model

    def build(self, preset, weights=None, options=None, builder=None, training: bool = False):
        layout = ((builder.info.metadata or {}).get("layout_3d") if builder is not None else None)
        defaults = {"layout": layout, **(dict(self.recipe(preset).model_options) if training else {})}
        options = self.options_for(preset, dict(options or {}), defaults)
        # The strided twin trains faster; the dilated sequence twin (same weights) evaluates.
        model = self.load(preset, weights, options, "single_frame" if training else "sequence")
        if layout and model.layout.name != layout:
            raise ValueError(f"--model {preset.name}: the dataset's joints are in layout '{layout}', the model "
                             f"lifts '{model.layout.name}', and its family has no `layout` option.")
        return model

    def training_data(self, model, config, builder, batch_size: int) -> TrainingData:
        from skeleton_zoo.datasets import poses

        test_split = "test" if "test" in builder.info.splits else "validation"
        train_seq, test_seq = (
            poses.load_pose_sequences(config.dataset, split, downsample=config.downsample, builder=builder,
                                      actions=config.actions)
            for split in ("train", test_split))
        clip = clip_frames(model)
        if clip is not None:  # MotionBERT's split_clips: stride n / 3 for training, n for testing
            options = dict(batch_size=batch_size, in_features=model.in_features)
            train = poses.pose_clips(train_seq, clip, max(clip // 3, 1), shuffle=True, flip=config.flip,
                                     seed=config.seed, **options)
            validation = poses.pose_clips(test_seq, clip, clip, shuffle=False, flip=False, **options)
            clips = sum(map(len, poses.clip_starts([len(x) for x in train_seq.keypoints_2d], clip, max(clip // 3, 1))))
            return TrainingData(train, validation, clips * (2 if config.flip else 1), test_seq)
        rf, causal = model.receptive_field, model.causal
        train = poses.pose_windows(train_seq, rf, causal, batch_size, shuffle=True, flip=config.flip,
                                   seed=config.seed)
        validation = poses.pose_windows(test_seq, rf, causal, batch_size, shuffle=False, flip=False)
        return TrainingData(train, validation, train_seq.num_frames * (2 if config.flip else 1), test_seq)

    def loss(self, recipe=None):
        """MPJPE; with a recipe's `loss_weights` ({"scale", "velocity"}), MotionBERT's clip loss."""
        from skeleton_zoo.evaluation.metrics import MotionLoss, MPJPELoss

        weights = dict(recipe.loss_weights) if recipe is not None else {}
        if not weights:
            return MPJPELoss()
        unknown = sorted(set(weights) - {"scale", "velocity"})
        if unknown:
            raise ValueError(f"Recipe.loss_weights: unknown terms {unknown}; pose lifting has 'scale' and 'velocity'.")
        return MotionLoss(scale_weight=weights.get("scale", 0.0), velocity_weight=weights.get("velocity", 0.0))

    @staticmethod
    def _motionbert_protocol(builder) -> bool:
        """Datasets in MotionBERT's preprocessing are scored with its protocol."""
        return (builder.info.metadata or {}).get("protocol") == "motionbert"

    def evaluate_trained(self, model, data: TrainingData, builder, out: str) -> dict:
        from skeleton_zoo.evaluation import protocols

        if self._motionbert_protocol(builder):
            return protocols.evaluate_motionbert_protocol(model, builder, out=out)
        return protocols.evaluate_pose_model(model, data.evaluation, out=out)

    def evaluate(self, model, preset, dataset: str, builder, options: EvaluationOptions, out: str) -> dict:
        from skeleton_zoo.datasets import poses
        from skeleton_zoo.evaluation.protocols import evaluate_motionbert_protocol, evaluate_pose_model

        split = options.split or ("test" if "test" in builder.info.splits else "validation")
        if self._motionbert_protocol(builder):
            return {"split": split, **evaluate_motionbert_protocol(model, builder, split, options.flip, out)}
        sequences = poses.load_pose_sequences(dataset, split, downsample=options.downsample, builder=builder,
                                              actions=options.actions)
        return {"split": split, **evaluate_pose_model(model, sequences, flip=options.flip, out=out)}

    def export_specs(self, preset, weights=None, variants=None, frames=None, options=None) -> list:
        """Pose lifting, per variant:

        - "sequence": `keypoints_2d` (batch, frames, J, 2), frames dynamic (at
          least one receptive field) -> `poses_3d` (batch, frames - rf + 1, J, 3);
        - "single_frame": `keypoints_2d` (batch, rf, J, 2) -> `poses_3d` (batch, J, 3);
        - sequence-to-sequence lifters, "sequence" only: `keypoints_2d`
          (batch, clip_frames, J, F) -> `poses_3d` (batch, clip_frames, J, 3),
          the clip length fixed.
        """
        from export.common import ExportSpec

        if preset.clip_frames is not None:
            if variants and set(variants) != {"sequence"}:
                raise ValueError(f"--variant: '{preset.name}' lifts whole clips and exports only the 'sequence' "
                                 f"variant, found {list(variants)}.")
            model = self.load(preset, weights, options)
            clip, joints = clip_frames(model), model.layout.num_joints
            return [ExportSpec(preset.name, self.name, "sequence", model, self.input_name,
                               (None, clip, joints, model.in_features), self.output_names, example_frames=clip)]
        specs = []
        for variant in variants or VARIANTS:
            if variant not in VARIANTS:
                raise ValueError(f"--variant: expected one of {list(VARIANTS)}, found '{variant}'.")
            model = self.load(preset, weights, options, variant)
            rf, joints = model.receptive_field, model.layout.num_joints
            in_features = getattr(model, "in_features", 2)
            sequence = variant == "sequence"
            specs.append(ExportSpec(preset.name, self.name, variant, model, self.input_name,
                                    (None, None if sequence else rf, joints, in_features), self.output_names,
                                    example_frames=rf + 8 if sequence else rf))
        return specs

    def export_outputs(self, spec, y) -> dict:
        if spec.variant == "single_frame":
            y = y[:, 0]  # (batch, 1, J, 3) -> (batch, J, 3)
        return {"poses_3d": y}

    def benchmark_spec_options(self, sizes: dict, preset) -> dict:
        return {"variants": ("sequence",) if preset.clip_frames is not None else VARIANTS}

    def benchmark_measurements_for(self, preset) -> tuple[str, ...]:
        return ("sequence_throughput",) if preset.clip_frames is not None else self.benchmark_measurements

    def benchmark_jobs(self, specs, sizes: dict, rng) -> list:
        """`sequence_throughput`: the sequence network on one clip of
        `frames + rf - 1` keypoints (edge-padded as `lift` pads), giving
        `frames` poses, batch 1. `single_frame_latency`: the single-frame
        network on one receptive field, batch 1. Sequence-to-sequence
        lifters: `sequence_throughput` on one clip of `clip_frames`, batch 1."""
        import dataclasses

        import numpy as np

        if clip_frames(specs[0].model) is not None:  # one clip, batch 1: frames/s
            spec = specs[0]
            x = (rng.standard_normal((1, *spec.input_shape[1:])) * 0.5).astype(np.float32)
            return [("sequence_throughput", spec, x, x.shape[1], x.shape[1])]
        sequence, single = specs
        model = sequence.model
        rf, joints, features = model.receptive_field, model.layout.num_joints, sequence.input_shape[-1]
        frames = sizes["frames"]
        keypoints = (rng.standard_normal((1, frames, joints, features)) * 0.5).astype(np.float32)
        pad, shift = (rf - 1) // 2, causal_shift(model)
        x_sequence = np.pad(keypoints, ((0, 0), (pad + shift, pad - shift), (0, 0), (0, 0)), mode="edge")
        x_single = (rng.standard_normal((1, rf, joints, features)) * 0.5).astype(np.float32)
        sequence = dataclasses.replace(sequence, input_shape=(None, x_sequence.shape[1], joints, features))
        return [("sequence_throughput", sequence, x_sequence, frames, frames),
                ("single_frame_latency", single, x_single, 1, 1)]


TASK = PoseLifting()
