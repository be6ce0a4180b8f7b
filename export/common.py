"""What every export format needs to know about a model: `ExportSpec`.

A spec is one exported entry point: a Keras model wrapped as a `tf.function`
with a named input and named outputs, and a seeded example input for
verification. The preset's task decides the entry points and their outputs
(`skeleton_zoo.tasks`, `Task.export_specs` / `Task.export_outputs`):

- pose lifting, variant "sequence": `keypoints_2d` (batch, frames, J, 2), frames
  dynamic (at least one receptive field) -> `poses_3d` (batch, frames - rf + 1, J, 3);
- pose lifting, variant "single_frame": `keypoints_2d` (batch, rf, J, 2) ->
  `poses_3d` (batch, J, 3);
- action recognition: `skeleton` (batch, frames, J, persons, channels), frames
  dynamic unless `frames` is given -> `logits` (the model's scores) and
  `probabilities` (batch, classes): the softmax of the logits, or for an
  ensemble fusing probabilities the mean of its streams' probabilities.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

__all__ = ["ExportSpec", "build_specs"]


@dataclasses.dataclass
class ExportSpec:
    """One exported entry point.

    Attributes:
        preset: preset name, e.g. "gast_243".
        task: the preset's task name, "pose_lifting" or "action_recognition".
        variant: "sequence", "single_frame", or None (classifiers).
        model: the Keras model.
        input_name: "keypoints_2d" or "skeleton".
        input_shape: tuple with None for dynamic dimensions (batch always None).
        output_names: ("poses_3d",) or ("logits", "probabilities").
        example_frames: frames of the verification input.
    """

    preset: str
    task: str
    variant: str | None
    model: object
    input_name: str
    input_shape: tuple
    output_names: tuple
    example_frames: int

    @property
    def name(self) -> str:
        """File-name stem, e.g. "gast_243_single_frame"."""
        return self.preset + (f"_{self.variant}" if self.variant else "")

    def outputs(self, x) -> dict:
        """Named outputs of the Keras model on `x` (TF ops only, traceable)."""
        import tensorflow as tf

        from skeleton_zoo.tasks import get_task

        y = self.model(x, training=False)
        named = get_task(self.task).export_outputs(self, y)
        return {name: tf.identity(value, name=name) for name, value in named.items()}

    def tf_function(self) -> Callable:
        """The entry point as a `tf.function` with its input signature."""
        import tensorflow as tf

        spec = tf.TensorSpec(self.input_shape, tf.float32, name=self.input_name)
        return tf.function(self.outputs, input_signature=[spec], autograph=False)

    def example_input(self, batch: int = 2, seed: int = 0) -> np.ndarray:
        """Seeded random input of the spec's shape (dynamic dims filled in)."""
        shape = [batch] + [self.example_frames if d is None else d for d in self.input_shape[1:]]
        return np.random.default_rng(seed).normal(scale=0.5, size=shape).astype(np.float32)

    def keras_outputs(self, x) -> dict:
        return {k: np.asarray(v) for k, v in self.outputs(x).items()}


# Folding a BatchNorm into its convolution reorders float operations; the
# folded model must match the original this closely on the example input.
FOLD_TOLERANCE = 1e-4


def _fold(spec: ExportSpec) -> ExportSpec:
    """Folds the spec's model's BatchNorms into their convolutions (see
    `skeleton_zoo.models.common.fold_batch_norms`) and checks the outputs."""
    from skeleton_zoo.models.common import fold_batch_norms

    x = spec.example_input()
    before = spec.keras_outputs(x)
    fold_batch_norms(spec.model)
    after = spec.keras_outputs(x)
    diff = max(float(np.max(np.abs(after[k] - before[k]))) for k in before)
    if not diff <= FOLD_TOLERANCE:
        raise RuntimeError(f"{spec.name}: folding BatchNorm into the convolutions changed the outputs by "
                           f"{diff:.3g} > {FOLD_TOLERANCE:g}; export with fold_batch_norm=False.")
    return spec


def build_specs(model_name: str, weights=None, variants=None, frames: int | None = None,
                fold_batch_norm: bool = True, **overrides) -> list[ExportSpec]:
    """The preset's exported entry points, as its task defines them: the
    variants of a pose-lifting model, or one classifier (ensembles export the
    fused model).

    Args:
        model_name: preset name.
        weights: passed to `skeleton_zoo.load` (official checkpoint, Keras file, ...).
        variants: pose lifting: which variants (default: both).
        frames: classifiers: fixed clip length (None: dynamic).
        fold_batch_norm: fold every BatchNorm that follows a convolution into
            it (inference graph without the BN arithmetic), after checking
            that the outputs stay within `FOLD_TOLERANCE`. Defaults to True.
        **overrides: preset options.
    """
    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task

    preset = registry.get_preset(model_name)
    specs = get_task(preset.task).export_specs(preset, weights=weights, variants=variants, frames=frames,
                                               options=overrides)
    return [_fold(spec) for spec in specs] if fold_batch_norm else specs
