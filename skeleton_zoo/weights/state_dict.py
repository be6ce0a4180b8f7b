"""Assigning official PyTorch state dicts to Keras models.

This is the single boundary where PyTorch layouts (channels-first, (out, in,
kh, kw) kernels) become Keras layouts. A model family describes how its
variables are made from official keys as a list of `Rule`s; `assign` checks
the whole state dict first (missing, unexpected and mismatched keys, all
reported together) and only then writes, so a failed load changes nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Sequence

import numpy as np

__all__ = ["Rule", "WeightsMismatchError", "assign", "check", "batch_norm", "conv2d", "pointwise", "copy"]

# Bookkeeping entries of torch.nn.BatchNorm that carry no weights.
IGNORED_SUFFIXES = (".num_batches_tracked",)


class WeightsMismatchError(ValueError):
    """A state dict does not fit a model: lists every missing, unexpected and
    mismatched key."""


@dataclasses.dataclass
class Rule:
    """How one Keras variable is made from official state-dict entries.

    Attributes:
        variable: the target `keras.Variable`.
        keys: official keys read, in the order `convert` takes them.
        shapes: the official (PyTorch) shape expected for each key.
        convert: function of the arrays of `keys` returning the value, in the
            variable's shape.
    """

    variable: object
    keys: Sequence[str]
    shapes: Sequence[tuple]
    convert: Callable[..., np.ndarray]


def copy(variable, key) -> Rule:
    """Same shape on both sides."""
    return Rule(variable, [key], [tuple(variable.shape)], lambda a: a)


def batch_norm(layer, prefix) -> list[Rule]:
    """torch BatchNorm{1,2}d -> keras BatchNormalization."""
    return [
        copy(layer.gamma, f"{prefix}.weight"),
        copy(layer.beta, f"{prefix}.bias"),
        copy(layer.moving_mean, f"{prefix}.running_mean"),
        copy(layer.moving_variance, f"{prefix}.running_var"),
    ]


def conv2d(layer, prefix, bias=None) -> list[Rule]:
    """torch Conv2d weight (out, in, kh, kw) -> keras Conv2D kernel (kh, kw, in, out)."""
    kh, kw, c_in, c_out = layer.kernel.shape
    rules = [Rule(layer.kernel, [f"{prefix}.weight"], [(c_out, c_in, kh, kw)], lambda w: w.transpose(2, 3, 1, 0))]
    if layer.bias is not None:
        rules.append(copy(layer.bias, f"{prefix}.bias"))
    return rules


def pointwise(layer, prefix, torch_kernel_dims=2) -> list[Rule]:
    """torch 1x1 Conv{1,2}d weight (out, in, 1[, 1]) -> keras Dense kernel (in, out)."""
    c_in, c_out = layer.kernel.shape
    shape = (c_out, c_in) + (1,) * (torch_kernel_dims)
    rules = [Rule(layer.kernel, [f"{prefix}.weight"], [shape], lambda w: w.reshape(c_out, c_in).T)]
    if layer.bias is not None:
        rules.append(copy(layer.bias, f"{prefix}.bias"))
    return rules


def linear(layer, prefix) -> list[Rule]:
    """torch Linear weight (out, in) -> keras Dense kernel (in, out)."""
    return pointwise(layer, prefix, torch_kernel_dims=0)


def layer_norm(layer, prefix) -> list[Rule]:
    """torch LayerNorm -> keras LayerNormalization."""
    return [copy(layer.gamma, f"{prefix}.weight"), copy(layer.beta, f"{prefix}.bias")]


def _shape(value) -> tuple:
    return tuple(np.shape(value))


def check(rules: Sequence[Rule], state_dict: Mapping, *, model_name: str, source: str,
          ignored_keys: Callable[[str], bool] | None = None) -> set:
    """Raises `WeightsMismatchError` listing every missing, unexpected and
    mis-shaped key of `state_dict` against `rules`; returns the keys used."""
    used = set()
    missing, mismatched = [], []
    for rule in rules:
        for key, expected in zip(rule.keys, rule.shapes):
            used.add(key)
            if key not in state_dict:
                missing.append(key)
            elif _shape(state_dict[key]) != tuple(expected):
                mismatched.append(f"{key}: expected {tuple(expected)}, found {_shape(state_dict[key])}")
    unexpected = [
        k for k in state_dict
        if k not in used
        and not k.endswith(IGNORED_SUFFIXES)
        and not (ignored_keys and ignored_keys(k))
    ]
    if missing or unexpected or mismatched:
        lines = [f"Weights from {source} do not fit model '{model_name}':"]
        for title, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
            if keys:
                shown = keys[:20] + ([f"... and {len(keys) - 20} more"] if len(keys) > 20 else [])
                lines.append(f"  {title} ({len(keys)}): " + ", ".join(shown))
        raise WeightsMismatchError("\n".join(lines))
    return used


def assign(rules: Sequence[Rule], state_dict: Mapping, *, model_name: str, source: str,
           ignored_keys: Callable[[str], bool] | None = None) -> int:
    """Checks `state_dict` against `rules` (see `check`), then assigns every variable.

    Args:
        rules: the model family's rules (every variable to load).
        state_dict: mapping of official key -> array-like.
        model_name: preset or model name, for error messages.
        source: where the state dict came from (a file path or "mapping").
        ignored_keys: predicate for extra official keys a loader may accept
            and drop (besides BatchNorm's `num_batches_tracked`).

    Returns:
        The number of state-dict entries read into variables.

    Raises:
        WeightsMismatchError: listing all missing, unexpected and mismatched
            keys; nothing is assigned in that case.
    """
    used = check(rules, state_dict, model_name=model_name, source=source, ignored_keys=ignored_keys)
    values = []
    for rule in rules:
        value = np.asarray(rule.convert(*(np.asarray(state_dict[k], dtype=np.float32) for k in rule.keys)))
        if value.shape != tuple(rule.variable.shape):  # a bug in a rule, not in the file
            raise AssertionError(f"rule for {rule.keys} produced {value.shape}, variable is {rule.variable.shape}")
        values.append(value)
    for rule, value in zip(rules, values):
        rule.variable.assign(value.astype(rule.variable.dtype))
    return len(used)
