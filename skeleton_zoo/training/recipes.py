"""Optimizers and learning-rate schedules of the papers' recipes
(`skeleton_zoo.registry.Recipe`, declared by each family).

- "adam": Adam with amsgrad (VideoPose3D / GAST-Net), eps 1e-8;
- "adamw": AdamW with decoupled weight decay `weight_decay` (MotionBERT and
  the transformer lifters), eps 1e-8;
- "sgd_nesterov": SGD, Nesterov momentum, PyTorch-style coupled L2 weight
  decay (`SGDWithL2`; ST-TR, PYSKL).
- "exponential": lr x `lr_decay` after every epoch;
- "steps": lr x0.1 at each fraction of the epochs in `lr_drops`;
- "cosine": lr (1 + cos(pi step / total steps)) / 2 at every step, to 0
  (mmcv's `CosineAnnealing` with `by_epoch=False, min_lr=0`; PYSKL).
"""

from __future__ import annotations

import keras

__all__ = ["SGDWithL2", "make_schedule", "make_optimizer"]


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SGDWithL2(keras.optimizers.SGD):
    """SGD with PyTorch's `weight_decay`: `l2 * variable` is added to the
    (already all-reduced) gradient before momentum, as `torch.optim.SGD`
    does, unlike Keras' decoupled `weight_decay`.

    Args:
        l2: float, the decay factor (ST-TR: 1e-4). Other arguments as `SGD`.
    """

    def __init__(self, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l2 = l2

    def update_step(self, gradient, variable, learning_rate):
        if self.l2:
            gradient = gradient + keras.ops.cast(self.l2, variable.dtype) * variable
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2}


def make_schedule(recipe, learning_rate: float, steps_per_epoch: int, epochs: int, lr_decay=None):
    """The recipe's learning rate as a function of the optimizer step."""
    if recipe.schedule == "exponential":
        return keras.optimizers.schedules.ExponentialDecay(
            learning_rate, decay_steps=steps_per_epoch, decay_rate=recipe.lr_decay if lr_decay is None else lr_decay,
            staircase=True)
    if recipe.schedule == "steps":
        if not recipe.lr_drops:
            return learning_rate
        # The first step of epoch 61 (of 120) runs at lr / 10; the schedule switches after a boundary.
        boundaries = [int(round(f * epochs)) * steps_per_epoch - 1 for f in recipe.lr_drops]
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries, [learning_rate * 0.1 ** k for k in range(len(boundaries) + 1)])
    if recipe.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps_per_epoch * epochs, alpha=0.0)
    raise ValueError(f"Recipe: unknown schedule {recipe.schedule!r}; expected 'exponential', 'steps' or 'cosine'.")


def make_optimizer(recipe, learning_rate):
    """The recipe's optimizer; `learning_rate` is a float or a schedule."""
    if recipe.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, amsgrad=True, epsilon=1e-8)
    if recipe.optimizer == "adamw":  # torch.optim.AdamW: decoupled weight decay, eps 1e-8
        return keras.optimizers.AdamW(learning_rate, weight_decay=recipe.weight_decay, epsilon=1e-8)
    if recipe.optimizer == "sgd_nesterov":
        return SGDWithL2(learning_rate=learning_rate, momentum=recipe.momentum, nesterov=True, l2=recipe.weight_decay)
    raise ValueError(f"Recipe: unknown optimizer {recipe.optimizer!r}; expected 'adam', 'adamw' or 'sgd_nesterov'.")
