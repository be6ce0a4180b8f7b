"""Mixed-precision training: `python -m skeleton_zoo train --precision P`.

- `float32` (default): every op in float32, as the papers trained.
- `mixed_bfloat16`: layers compute in bfloat16 (Keras' `"mixed_bfloat16"`
  dtype policy); variables, BatchNorm / LayerNorm statistics, attention
  softmaxes, the model's outputs and the loss stay in float32. bfloat16 has
  float32's exponent range, so no loss scaling. Fast where the hardware has
  bfloat16 arithmetic (CPUs with AVX512-BF16 or AMX, TPUs, NVIDIA Ampere and
  later); elsewhere it is emulated and slower than float32.
- `mixed_float16`: the same with float16, plus dynamic loss scaling
  (`keras.optimizers.LossScaleOptimizer`) so that small gradients do not
  underflow. For NVIDIA GPUs with tensor cores (Volta and later); CPUs run
  float16 slowly.

Checkpoints hold float32 variables under every precision, so a run's weights
load into a float32 model (and the other way round).
"""

from __future__ import annotations

__all__ = ["PRECISIONS", "model_options", "wrap_optimizer"]

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def model_options(options: dict, precision: str) -> dict:
    """The preset options that build the model for `precision`.

    Args:
        options: preset options (`--option`); a `dtype` there must agree.
        precision: one of `PRECISIONS`.

    Returns:
        `options` with `dtype` set to the policy (float32: unchanged, so a
        float32 run keeps its options, and its run folder, as before).

    Raises:
        ValueError: an unknown precision, or an `--option dtype` that
            contradicts it.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"--precision: expected one of {', '.join(PRECISIONS)}, found {precision!r}.")
    if precision == "float32":
        return dict(options)
    given = options.get("dtype")
    if given is not None and given != precision:
        raise ValueError(f"--option dtype={given} contradicts --precision {precision}: pass one of them.")
    return {**options, "dtype": precision}


def wrap_optimizer(optimizer, precision: str):
    """`optimizer` with dynamic loss scaling for float16; unchanged otherwise.

    Keras' `compile` scales the loss only for models whose own policy is
    mixed_float16; ours set the policy layer by layer, so the scaling is
    added here."""
    if precision != "mixed_float16":
        return optimizer
    import keras

    return keras.optimizers.LossScaleOptimizer(optimizer)
