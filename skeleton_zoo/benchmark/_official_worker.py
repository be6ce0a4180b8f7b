"""The benchmark's `official` backend: the official PyTorch code, timed in a
child process of the same run (`measure` starts it):

    OFFICIAL_PYTHON .../skeleton_zoo/benchmark/_official_worker.py JOB.json OUT.json

Run as a script by the interpreter given with `--official_python`, so it
imports only the standard library, numpy and torch (never skeleton_zoo,
keras or tensorflow); `measure` imports it only for its tables
(`SOURCES`, `MODELS`, `supported`).

JOB.json: {"model", "family", "config" (the preset's configuration with the
`--option` overrides applied), "overrides", "num_classes", "sources"
({NAME: DIR} of `--official_source`), "measurements" (to time), "warmup",
"repeats", "latency_repeats", "threads", "inputs" ({measurement: .npy path},
the parent's input arrays)}; or {"probe": true}: only the versions.

Each covered family has an `official_benchmark.py` in its folder
(skeleton_zoo/models/<family>/), loaded here by path: `FAMILY`, `SOURCE`
(the --official_source NAME) and `SOURCE_HELP`, `MEASUREMENTS` (what it
times), `covers(preset)` and `COVERED` (which presets, in words), and
`build(job, measurement, patches, worker)` -> (run(x), x or None, model),
given this module as `worker`. Covered now: GAST-Net (`gast_*`), VideoPose3D
(`videopose3d_*`) and ST-TR (S-TR, T-TR, T-TR-agcn on joints); each file
says what it builds and patches.

The official modules are imported from the untouched checkout; what a CPU
run needs is patched in memory, never in the files (each patch applied is
listed in OUT.json's "patches"; the helpers below: `stub`, `cpu_patches`,
`out_of_place_dropout`). Weights are PyTorch's default initialisation
(`torch.manual_seed(0)` before each build).

Every timed call goes from the numpy input to a numpy output (inference) or
to the loss as a Python float (training), as the parent's rows; `warmup`
untimed calls first; `torch.set_num_threads(threads)`,
`torch.set_num_interop_threads(1)`.

OUT.json: {"versions", "threads", "patches", "results": [{"measurement",
"times_s", "input_shape", "parameters"}], "errors": [{"measurement",
"error"}]}. A failing measurement (torch missing, no checkout, an option the
official model lacks) is an entry of "errors" and the others go on; the exit
status is 0 whenever OUT.json was written.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import platform
import sys
import types

__all__ = ["MODELS", "SOURCES", "main", "supported"]


def _load_families() -> list:
    """The `official_benchmark.py` modules of the family folders, loaded by path (this process cannot import
    the package)."""
    modules = []
    for path in sorted((pathlib.Path(__file__).resolve().parents[1] / "models").glob("*/official_benchmark.py")):
        spec = importlib.util.spec_from_file_location(f"_skeleton_zoo_official_{path.parent.name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


_FAMILIES = {module.FAMILY: module for module in _load_families()}
# --official_source NAME -> what NAME is.
SOURCES = {module.SOURCE: module.SOURCE_HELP for module in _FAMILIES.values()}
# family -> (source NAME, the measurements the worker times)
MODELS = {family: (module.SOURCE, tuple(module.MEASUREMENTS)) for family, module in _FAMILIES.items()}


def supported(model: str, family: str) -> str | None:
    """None when the worker has the official counterpart of preset `model`
    (of `family`), else why not (one sentence)."""
    module = _FAMILIES.get(family)
    if module is not None and module.covers(model):
        return None
    covered = "; ".join(module.COVERED for module in _FAMILIES.values())
    return f"no official PyTorch counterpart of '{model}' in the benchmark's official backend (it times {covered})"


def _message(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


# --- helpers of the family builders -------------------------------------------------------------
def stub(name: str, **attributes) -> bool:
    """Installs an empty module `name` when it cannot be imported -> whether stubbed."""
    if name in sys.modules or importlib.util.find_spec(name) is not None:
        return False
    module = types.ModuleType(name)
    # A spec, as an imported module has: importlib.util.find_spec raises on a module without one (torch's
    # optimizers ask it for tqdm).
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attributes)
    sys.modules[name] = module
    return True


def cpu_patches(patches: list) -> None:
    """`Tensor.cuda` -> identity: official modules that move constants with
    `.cuda(x.get_device())` in `forward` fail on a CPU tensor."""
    import torch

    if getattr(torch.Tensor.cuda, "_skeleton_zoo_cpu", False):
        return

    def cuda(self, *args, **kwargs):
        return self

    cuda._skeleton_zoo_cpu = True
    torch.Tensor.cuda = cuda
    patches.append("torch.Tensor.cuda -> identity (CPU run)")


def out_of_place_dropout(model, patches: list) -> None:
    """`nn.Dropout(inplace=True)` modules of `model` -> out of place."""
    import torch.nn as nn

    count = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.inplace:
            module.inplace = False
            count += 1
    if count:
        patches.append(f"{count} nn.Dropout(inplace=True) -> out of place (PyTorch >= 2 autograd refuses the "
                       f"in-place form on a ReLU output)")


def source(job: dict, name: str) -> pathlib.Path:
    """The checkout given as --official_source NAME=DIR."""
    folder = (job.get("sources") or {}).get(name)
    if not folder:
        raise RuntimeError(f"no checkout of the official repository: pass --official_source {name}=DIR "
                           f"({SOURCES[name]})")
    return pathlib.Path(folder)


def check_options(job: dict, title: str, options) -> None:
    """Raises ValueError for an --option the official constructor lacks."""
    extra = sorted(set(job.get("overrides") or {}) - set(options))
    if extra:
        raise ValueError(f"the official {title} has no option {', '.join(extra)} (it takes {', '.join(options)})")


def inference(model, call=None):
    """-> run(x): `model` in eval mode under `torch.no_grad()`, numpy in, numpy out; `call(model, x)` for a
    forward pass with more arguments than the input."""
    import torch

    model.eval()

    def run(x):
        with torch.no_grad():
            x = torch.from_numpy(x)
            return (model(x) if call is None else call(model, x)).numpy()

    return run


def _time_calls(run, x, warmup: int, repeats: int) -> list:
    """`skeleton_zoo.utils.timing.time_calls`, the one timing loop, loaded by path: the module needs only the
    standard library and numpy, and this process cannot import the package."""
    path = pathlib.Path(__file__).resolve().parents[1] / "utils" / "timing.py"
    spec = importlib.util.spec_from_file_location("_skeleton_zoo_timing", path)
    timing = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timing)
    return timing.time_calls(run, x, warmup, repeats)


def _versions() -> dict:
    versions = {"python": platform.python_version(), "torch": None, "numpy": None}
    for package in ("torch", "numpy"):
        try:
            versions[package] = importlib.import_module(package).__version__
        except Exception:  # noqa: BLE001 (reported as missing)
            pass
    return versions


def run_job(job: dict) -> dict:
    """Runs `job` (see the module docstring); returns OUT.json's dict."""
    out = {"versions": _versions(), "threads": None, "patches": [], "results": [], "errors": []}
    if job.get("probe"):
        return out
    measurements = list(job.get("measurements") or [])
    try:
        import numpy as np
        import torch
    except Exception as error:  # noqa: BLE001 (every measurement fails; the parent goes on)
        reason = f"{sys.executable} cannot import torch / numpy: {_message(error)}"
        out["errors"] = [{"measurement": m, "error": reason} for m in measurements]
        return out
    torch.set_num_threads(int(job["threads"]))
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only before any parallel work; a fresh process has done none
        pass
    out["threads"] = torch.get_num_threads()
    why = supported(job["model"], job.get("family", ""))
    module = _FAMILIES.get(job.get("family"))
    for measurement in measurements:
        try:
            if why:
                raise ValueError(why)
            if measurement not in MODELS[job["family"]][1]:
                raise ValueError(f"the official backend does not time '{measurement}' for {job['model']}")
            torch.manual_seed(0)
            run, x, model = module.build(job, measurement, out["patches"], sys.modules[__name__])
            parent_x = np.load(job["inputs"][measurement])
            x = parent_x if x is None else x
            repeats = job["latency_repeats"] if measurement == "single_frame_latency" else job["repeats"]
            times = _time_calls(run, x, int(job["warmup"]), int(repeats))
            out["results"].append({"measurement": measurement, "times_s": times,
                                   "input_shape": list(parent_x.shape),
                                   "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad)})
        except Exception as error:  # noqa: BLE001 (recorded, the other measurements go on)
            out["errors"].append({"measurement": measurement, "error": _message(error)})
    out["patches"] = list(dict.fromkeys(out["patches"]))
    return out


def _write(out: dict, path: str) -> None:
    """Writes OUT.json atomically (a temporary file renamed)."""
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as f:
        json.dump(out, f)
    os.replace(temporary, path)


def main(argv=None) -> int:
    argv = sys.argv if argv is None else argv
    if len(argv) != 3:
        print(f"usage: PYTHON {pathlib.Path(__file__).name} JOB.json OUT.json; found arguments {argv[1:]}",
              file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        job = json.load(f)
    _write(run_job(job), argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
