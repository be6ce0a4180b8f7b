"""The benchmark's `jax` backend, in a child process (`measure` starts it):

    KERAS_BACKEND=jax python -m skeleton_zoo.benchmark._jax_worker JOB.json OUT.json

The Keras backend is fixed per process, so the TensorFlow process of the
benchmark measures JAX in a fresh interpreter with `KERAS_BACKEND=jax` and
`JAX_PLATFORMS` "cpu" or "cuda" (`--device`).

JOB.json: {"model", "overrides", "sizes", "measurements" (inference
measurements to time), "train" (time a training step), "warmup", "repeats",
"latency_repeats", "cpus" (CPU ids to run on; null: the inherited ones),
"inputs" (an .npz of the parent's input array per measurement), "weights"
({measurement: .weights.h5 of the parent's model}, optional)}; or
{"probe": true}: only the versions and devices.

The model is built as the TF rows build it: `export.common.build_specs` with
the task's benchmark options and the same preset options (its BatchNorms
folded, as `build_specs` folds them for the TF rows, whose check already
passed), then given the parent's weights (`model.load_weights` of the file
the parent wrote with `save_weights`: the same network as the TF rows), and
timed on the parent's seeded input arrays:

- inference: `jax.jit` of `model.stateless_call(trainable, non_trainable, x,
  training=False)`, numpy in, numpy out;
- `training_throughput`: a fresh unfolded model (as the TF step uses), one
  jitted step: forward with training=True, the task's loss on the task's
  random targets (`np.random.default_rng(1)`, as the TF step), gradients by
  `jax.value_and_grad` and `optimizer.stateless_apply` of the recipe's
  optimizer; the step's state is carried from call to call (buffers donated),
  the timed call ends when the loss is on the host.

Warm-up calls (tracing and XLA compilation) are untimed; times come from
`skeleton_zoo.utils.timing.time_calls`; the first warm-up call's outputs
are summed (`output_sums`: the float64 sum and sum of |values|) so that the
parent can check that the network is its own.
OUT.json: {"versions", "devices", "backend", "cpus", "results":
[{"measurement", "times_s", "input_shape", "output_sums" (inference)}],
"errors": [{"measurement", "error"}]}. A failing measurement is an entry of
"errors" and the others go on; the exit status is 0 whenever OUT.json was
written.
"""

from __future__ import annotations

import json
import os
import sys

__all__ = ["main"]


def _message(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _info() -> dict:
    """jax / jaxlib / keras versions, the devices, the default backend and the CPUs."""
    from importlib import metadata

    import jax

    versions = {}
    for package in ("jax", "jaxlib", "keras"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"versions": versions, "backend": jax.default_backend(),
            "devices": [f"{d.platform}:{d.id} {getattr(d, 'device_kind', '')}".strip() for d in jax.devices()],
            "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}


def _host(tree):
    """Device arrays -> numpy (waits for the computation)."""
    import jax
    import numpy as np

    return jax.tree_util.tree_map(np.asarray, tree)


def inference_runner(model):
    """`run(x)`: the jitted stateless forward pass of `model`, numpy in and out.

    Args:
        model: a built Keras model (JAX backend).
    """
    import jax

    trainable = [v.value for v in model.trainable_variables]
    non_trainable = [v.value for v in model.non_trainable_variables]

    @jax.jit
    def forward(trainable, non_trainable, x):
        y, _ = model.stateless_call(trainable, non_trainable, x, training=False)
        return y

    return lambda x: _host(forward(trainable, non_trainable, x))


def training_runner(model, optimizer, loss_fn, targets):
    """`run(x)`: one jitted training step of `model` on the batch `x`.

    Args:
        model: a built Keras model (JAX backend).
        optimizer: a Keras optimizer, built on `model.trainable_variables`.
        loss_fn: `loss_fn(targets, outputs)` -> scalar.
        targets: numpy targets of the batch, e.g. (batch,) int32 labels.

    Returns:
        run(x) -> the loss (numpy scalar); the weights, the non-trainable
        state (BatchNorm statistics, dropout seeds) and the optimizer
        variables are updated from call to call, as the TF step's are.
    """
    import jax

    def loss_and_state(trainable, non_trainable, x, y):
        outputs, non_trainable = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, outputs), non_trainable

    gradient = jax.value_and_grad(loss_and_state, has_aux=True)

    def step(trainable, non_trainable, optimizer_variables, x, y):
        (loss, non_trainable), grads = gradient(trainable, non_trainable, x, y)
        trainable, optimizer_variables = optimizer.stateless_apply(optimizer_variables, grads, trainable)
        return loss, trainable, non_trainable, optimizer_variables

    # Donated: the step updates its state in place, as the TF step updates its variables.
    step = jax.jit(step, donate_argnums=(0, 1, 2))
    state = [[v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
             [v.value for v in optimizer.variables]]

    def run(x):
        loss, *state[:] = step(*state, x, targets)
        return _host(loss)

    return run


def output_sums(outputs) -> list:
    """[sum, sum of |values|] (float64) over every output array (a dict, list or one array)."""
    import numpy as np

    leaves = list(outputs.values()) if isinstance(outputs, dict) else (
        list(outputs) if isinstance(outputs, (list, tuple)) else [outputs])
    arrays = [np.asarray(leaf, np.float64) for leaf in leaves]
    return [float(sum(np.sum(a) for a in arrays)), float(sum(np.sum(np.abs(a)) for a in arrays))]


def _inference(job, results, errors):
    import numpy as np

    from export import common
    from skeleton_zoo import registry
    from skeleton_zoo.benchmark.report import LATENCY_MEASUREMENTS
    from skeleton_zoo.models.common import fold_batch_norms
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.utils.timing import time_calls

    preset = registry.get_preset(job["model"])
    task = get_task(preset.task)
    inputs = np.load(job["inputs"])
    specs = common.build_specs(job["model"], fold_batch_norm=False, **task.benchmark_spec_options(job["sizes"], preset),
                               **job["overrides"])
    for spec in specs:
        fold_batch_norms(spec.model)
    jobs = {measurement: spec for measurement, spec, *_ in task.benchmark_jobs(specs, job["sizes"],
                                                                             np.random.default_rng(0))}
    weights = job.get("weights") or {}
    for measurement in job["measurements"]:
        try:
            x = inputs[measurement]
            if measurement not in jobs:
                raise ValueError(f"the task's benchmark jobs are {sorted(jobs)}, not '{measurement}'")
            model = jobs[measurement].model
            if measurement in weights:  # the TF rows' weights (folded there as here)
                model.load_weights(weights[measurement])
            repeats = job["latency_repeats"] if measurement in LATENCY_MEASUREMENTS else job["repeats"]
            run = inference_runner(model)
            sums = output_sums(run(x))  # the first warm-up call
            times = time_calls(run, x, job["warmup"] - 1, repeats)
            results.append({"measurement": measurement, "times_s": times, "input_shape": list(x.shape),
                            "output_sums": sums})
        except Exception as error:  # noqa: BLE001 (recorded, the other measurements go on)
            errors.append({"measurement": measurement, "error": _message(error)})


def _training(job, results):
    import numpy as np

    from skeleton_zoo import registry
    from skeleton_zoo.tasks import get_task
    from skeleton_zoo.training import recipes
    from skeleton_zoo.utils.timing import time_calls

    preset = registry.get_preset(job["model"])
    task = get_task(preset.task)
    recipe = task.recipe(preset)
    x = np.load(job["inputs"])["training_throughput"]
    model = registry.load(job["model"], **job["overrides"])
    optimizer = recipes.make_optimizer(recipe, recipe.learning_rate)
    optimizer.build(model.trainable_variables)
    targets = task.random_targets(model, x.shape[0], np.random.default_rng(1))
    run = training_runner(model, optimizer, task.loss(), targets)
    times = time_calls(run, x, job["warmup"], job["repeats"])
    results.append({"measurement": "training_throughput", "times_s": times, "input_shape": list(x.shape)})


def run_job(job: dict) -> dict:
    """Runs `job` (see the module docstring); returns OUT.json's dict."""
    out = {"results": [], "errors": []}
    out.update(_info())
    if job.get("probe"):
        return out
    try:
        _inference(job, out["results"], out["errors"])
    except Exception as error:  # noqa: BLE001 (the model did not build: every inference measurement fails)
        out["errors"] += [{"measurement": m, "error": _message(error)} for m in job["measurements"]]
    if job.get("train"):
        try:
            _training(job, out["results"])
        except Exception as error:  # noqa: BLE001
            out["errors"].append({"measurement": "training_throughput", "error": _message(error)})
    return out


def main(argv=None) -> int:
    argv = sys.argv if argv is None else argv
    if len(argv) != 3:
        print(f"usage: KERAS_BACKEND=jax python -m {__spec__.name if __spec__ else __name__} JOB.json OUT.json; "
              f"found arguments {argv[1:]}", file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        job = json.load(f)
    if job.get("cpus"):
        # XLA's CPU thread pool is sized by the schedulable CPUs: set them before jax starts.
        os.sched_setaffinity(0, job["cpus"])
    import keras

    if keras.backend.backend() != "jax":
        raise RuntimeError(f"KERAS_BACKEND: expected 'jax', found '{keras.backend.backend()}'.")
    out = run_job(job)
    from skeleton_zoo.benchmark.report import write_json

    write_json(out, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
