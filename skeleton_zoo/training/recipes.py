"""Optimizers and learning-rate schedules of the papers' recipes
(`skeleton_zoo.registry.Recipe`, declared by each family).

- "adam": Adam with amsgrad (VideoPose3D / GAST-Net), eps 1e-8;
- "adamw": AdamW with decoupled weight decay `weight_decay` (MotionBERT and
  the transformer lifters), eps 1e-8;
- "sgd_nesterov": SGD, Nesterov momentum, PyTorch-style coupled L2 weight
  decay (`SGDWithL2`; ST-TR, PYSKL).
- `lr_multipliers` (variable-path prefix -> factor, e.g. MotionBERT's action
  head at 10x the backbone's rate): torch's parameter groups. The factor
  scales the update step and AdamW's decoupled weight decay of the matching
  variables (`AdamWWithMultipliers`, `SGDWithL2`).
- "exponential": lr x `lr_decay` after every epoch;
- "steps": lr x0.1 at each fraction of the epochs in `lr_drops`;
- "cosine": lr (1 + cos(pi step / total steps)) / 2 at every step, to 0
  (mmcv's `CosineAnnealing` with `by_epoch=False, min_lr=0`; PYSKL).
"""

from __future__ import annotations

import keras

__all__ = ["LearningRateMultipliers", "AdamWWithMultipliers", "SGDWithL2", "make_schedule", "make_optimizer"]


def _multiplier_prefix(path: str, prefixes) -> str | None:
    """The longest of `prefixes` that `path` starts with, whole components
    only ("head" matches "head/kernel", not "header/kernel"); None if none.

    Args:
        path: a variable's `path`, e.g. "fc1/kernel". prefixes: iterable of str.
    """
    matches = [p for p in prefixes if path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/")]
    return max(matches, key=len) if matches else None


class LearningRateMultipliers:
    """Mixin for a Keras optimizer: per-variable learning-rate factors, as
    torch's parameter groups (each group's `lr`). The variables whose `path`
    starts with a key of `lr_multipliers` run at `learning_rate * factor` (a
    float or a schedule's value at the step), in the update step and in the
    decoupled weight decay (`torch.optim.AdamW`: p -= lr_g * wd * p, then the
    Adam step at lr_g); the others at factor 1. A key matching no variable is
    a ValueError when the optimizer is built.

    Args:
        lr_multipliers: mapping str -> float (variable-path prefix -> factor).
            Other arguments as the optimizer's.
    """

    def __init__(self, *args, lr_multipliers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lr_multipliers = {str(k): float(v) for k, v in dict(lr_multipliers or {}).items()}
        self._lr_factors = {}

    def build(self, variables):
        super().build(variables)
        matched = set()
        for variable in variables:
            prefix = _multiplier_prefix(variable.path, self.lr_multipliers)
            if prefix is not None:
                matched.add(prefix)
                self._lr_factors[self._var_key(variable)] = self.lr_multipliers[prefix]
        unknown = sorted(set(self.lr_multipliers) - matched)
        if unknown:
            raise ValueError(f"{type(self).__name__}: lr_multipliers prefixes {unknown} match no variable path; "
                             f"expected prefixes of paths such as {[v.path for v in variables[:5]]}.")

    def _apply_weight_decay(self, variables):
        # Done per variable in `update_step`, at the variable's own rate (it runs there under tf.distribute too).
        pass

    def update_step(self, gradient, variable, learning_rate):
        factor = self._lr_factors.get(self._var_key(variable), 1.0)
        if factor != 1.0:
            learning_rate = keras.ops.cast(learning_rate, variable.dtype) * keras.ops.cast(factor, variable.dtype)
        if self.weight_decay is not None and self._use_weight_decay(variable):
            decay = keras.ops.cast(learning_rate, variable.dtype) * keras.ops.cast(self.weight_decay, variable.dtype)
            self.assign_sub(variable, variable * decay)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "lr_multipliers": dict(self.lr_multipliers)}


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class AdamWWithMultipliers(LearningRateMultipliers, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` with `lr_multipliers` (see
    `LearningRateMultipliers`): `torch.optim.AdamW` with parameter groups.

    Args:
        lr_multipliers: mapping str -> float. Other arguments as `AdamW`.
    """


@keras.saving.register_keras_serializable(package="skeleton_zoo")
class SGDWithL2(LearningRateMultipliers, keras.optimizers.SGD):
    """SGD with PyTorch's `weight_decay`: `l2 * variable` is added to the
    (already all-reduced) gradient before momentum, as `torch.optim.SGD`
    does, unlike Keras' decoupled `weight_decay`.

    Args:
        l2: float, the decay factor (ST-TR: 1e-4). lr_multipliers: see
            `LearningRateMultipliers`. Other arguments as `SGD`.
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
    """The recipe's optimizer; `learning_rate` is a float or a schedule. The
    recipe's `lr_multipliers` are checked against the variables when it is
    built."""
    multipliers = dict(recipe.lr_multipliers)
    if recipe.optimizer == "adam":
        if multipliers:
            raise ValueError("Recipe: lr_multipliers need optimizer 'adamw' or 'sgd_nesterov', found 'adam'.")
        return keras.optimizers.Adam(learning_rate, amsgrad=True, epsilon=1e-8)
    if recipe.optimizer == "adamw":  # torch.optim.AdamW: decoupled weight decay, eps 1e-8
        if multipliers:
            return AdamWWithMultipliers(learning_rate, weight_decay=recipe.weight_decay, epsilon=1e-8,
                                        lr_multipliers=multipliers)
        return keras.optimizers.AdamW(learning_rate, weight_decay=recipe.weight_decay, epsilon=1e-8)
    if recipe.optimizer == "sgd_nesterov":
        return SGDWithL2(learning_rate=learning_rate, momentum=recipe.momentum, nesterov=True, l2=recipe.weight_decay,
                         lr_multipliers=multipliers)
    raise ValueError(f"Recipe: unknown optimizer {recipe.optimizer!r}; expected 'adam', 'adamw' or 'sgd_nesterov'.")
