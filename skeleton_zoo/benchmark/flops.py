"""FLOPs of traced TensorFlow graphs, by the TensorFlow profiler.

- inference ("tf_profiler_frozen_forward"): the forward graph with its
  variables frozen to constants (`convert_variables_to_constants_v2`);
- training ("tf_profiler_training_step_graph"): the training step's own
  graph: forward, loss, gradients and optimizer update.

The profiler has no statistic for `Einsum` (GAST-Net's graph layers use
`keras.ops.einsum`); `register_einsum_flops` adds one: 2 x the product of the
sizes of all distinct subscripts of a two-operand einsum (broadcast `...`
dimensions count as extra subscripts). TensorFlow's BatchMatMul statistic
reads a `transpose_a` attribute these ops do not have; `count_flops`
recounts those with `adj_x` (the gradient graphs). Elementwise ops count one
FLOP per output element, as the profiler's own registry does.
"""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np

__all__ = ["FLOPS_FORWARD", "FLOPS_TRAINING", "DENSE_OP_TYPES", "einsum_flops", "register_einsum_flops",
           "count_flops"]

FLOPS_FORWARD = "tf_profiler_frozen_forward"
FLOPS_TRAINING = "tf_profiler_training_step_graph"
# Dense op types (the rest are elementwise), e.g. what an analytic count covers.
DENSE_OP_TYPES = ("Conv2D", "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "Einsum")



def einsum_flops(equation: str, shapes) -> int:
    """FLOPs of one `Einsum` op: 2 x the product of the sizes of all distinct
    subscripts of a two-operand einsum (one multiply and one add per term of
    the sum).

    Broadcast dimensions (`...`) count as extra subscripts, aligned from the
    right as in numpy; a size-1 dimension broadcasts against any size. A
    one-operand einsum (transpose, diagonal, reduction) costs one add per
    input element when it sums a subscript away, else nothing.

    Args:
        equation: e.g. "btvc,ckd->btvkd" (implicit output allowed).
        shapes: one fully known shape (sequence of int) per operand.

    Returns:
        The FLOP count, e.g. einsum_flops("ij,jk->ik", [(2, 3), (3, 4)]) == 48.

    Raises:
        ValueError: unknown dimensions, or shapes that do not fit the equation.
    """
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum '{equation}': {len(terms)} operand(s) in the equation, "
                         f"{len(shapes)} shape(s) given.")
    sizes: dict[str, int] = {}
    counts: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        shape = list(shape)
        if any(d is None for d in shape):
            raise ValueError(f"einsum '{equation}': incomplete shape {shape}.")
        if "..." in term:
            left, right = term.split("...")
            broadcast = len(shape) - len(left) - len(right)
            if broadcast < 0:
                raise ValueError(f"einsum '{equation}': shape {shape} has too few dimensions for '{term}'.")
            labels = list(left) + [f"...{broadcast - 1 - i}" for i in range(broadcast)] + list(right)
        else:
            labels = list(term)
        if len(labels) != len(shape):
            raise ValueError(f"einsum '{equation}': shape {shape} does not fit '{term}'.")
        for label, dim in zip(labels, shape):
            dim = int(dim)
            known = sizes.get(label)
            if known is None or known == 1:
                sizes[label] = dim
            elif dim not in (1, known):
                raise ValueError(f"einsum '{equation}': subscript '{label}' is {known} and {dim}.")
            counts[label] = counts.get(label, 0) + 1
    product = math.prod(sizes.values())
    if len(terms) == 1:
        kept = set(output) if arrow else {k for k, n in counts.items() if n == 1}
        summed = {k for k in sizes if not k.startswith("...") and k not in kept}
        return product if summed else 0
    return 2 * product


def _tensor_shape(graph, name: str):
    name = name.lstrip("^")
    return graph.get_tensor_by_name(name if ":" in name else f"{name}:0").shape


def _einsum_statistic(graph, node):
    from tensorflow.python.framework import ops

    equation = node.attr["equation"].s.decode()
    shapes = []
    for name in node.input:
        if name.startswith("^"):  # control dependency
            continue
        shape = _tensor_shape(graph, name)
        if shape.rank is None or not shape.is_fully_defined():
            raise ValueError(f"Einsum '{node.name}': incomplete input shape {shape}.")
        shapes.append(shape.as_list())
    return ops.OpStats("flops", einsum_flops(equation, shapes))


def register_einsum_flops() -> None:
    """Registers `einsum_flops` as TensorFlow's "flops" statistic of the
    `Einsum` op (read by `tf.compat.v1.profiler`). Idempotent."""
    from tensorflow.python.framework import ops

    try:
        ops.RegisterStatistics("Einsum", "flops")(_einsum_statistic)
    except KeyError:  # registered already (a second call, or TensorFlow added one)
        pass


def count_flops(function, freeze: bool = True) -> dict:
    """FLOPs of a traced graph, by the TensorFlow profiler.

    Args:
        function: a `ConcreteFunction` traced with fully known input shapes.
        freeze: profile the graph with its variables frozen to constants
            (`convert_variables_to_constants_v2`): inference. False profiles
            the function's own graph (a training step updates its variables).

    Returns:
        {"total": FLOPs, "by_op": {op type: FLOPs}}; ops the profiler cannot
        count (no statistic, or unknown shapes) count 0. BatchMatMul ops with
        `adj_x` set are recounted (`_batch_matmul_flops`).
    """
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    register_einsum_flops()
    if freeze:
        function = convert_variables_to_constants_v2(function)
    graph = function.graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # the profiler's own deprecation warnings
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # "N ops no flops stats due to incomplete shapes."
            profile = tf.compat.v1.profiler.profile(graph, cmd="scope", options=options)
    finally:
        logger.setLevel(level)
    by_op: dict[str, int] = {}
    total = int(profile.total_float_ops)
    stack = [profile]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if not node.float_ops:
            continue
        try:
            op = graph.get_operation_by_name(node.name)
        except (KeyError, ValueError):
            by_op["unknown"] = by_op.get("unknown", 0) + int(node.float_ops)
            continue
        flops = int(node.float_ops)
        if op.type.startswith("BatchMatMul") and op.get_attr("adj_x"):
            corrected = _batch_matmul_flops(op)
            total += corrected - flops
            flops = corrected
        by_op[op.type] = by_op.get(op.type, 0) + flops
    return {"total": total, "by_op": by_op}


def _batch_matmul_flops(op) -> int:
    """2 x K x output elements of a BatchMatMul* op. TensorFlow's registered
    statistic reads the contraction size K through a `transpose_a` attribute
    these ops do not have (theirs is `adj_x`), so it takes the wrong
    dimension for adj_x=True (the gradient graphs' x^T dy)."""
    a_shape = op.inputs[0].shape
    k = int(a_shape[-2] if op.get_attr("adj_x") else a_shape[-1])
    return 2 * k * int(np.prod(op.outputs[0].shape.as_list(), dtype=np.int64))
