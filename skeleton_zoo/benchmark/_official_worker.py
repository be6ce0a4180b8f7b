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

The official modules are imported from the untouched checkout: its folder
goes first on `sys.path`, and what a CPU run needs is patched in memory,
never in the files (each patch applied is listed in OUT.json's "patches"):

- `Tensor.cuda` is the identity (ST-TR moves its adjacency matrices with
  `.cuda(x.get_device())`, which fails on a CPU tensor);
- `nn.Dropout(inplace=True)` modules run out of place (ST-TR drops out a
  ReLU output in place, which PyTorch >= 2 autograd refuses in training);
- modules the model files import but do not use are stubbed when missing
  (GAST-Net: `torchsummary`; ST-TR: `tqdm`, and the `st_gcn` package
  `__init__`, which imports the data feeders and torchvision, is skipped);
- GAST-Net's adjacency matrix is computed here with numpy, as its
  `common.graph_utils.adj_mx_from_skeleton(..., sparse=False)` computes it
  (that module needs scipy): the Human3.6M 17-joint skeleton, symmetric,
  self-loops, row-normalised.

Models (`MODELS`): GAST-Net (`gast_*`, source "gast"):
`sequence_throughput` with `model.gast_net.SpatioTemporalModel` (the
layer-by-layer dilated network) on the parent's padded clip (1, T, 17, 2),
`single_frame_latency` with `SpatioTemporalModelOptimized1f` (strided) on
one receptive field (1, rf, 17, 2); dropout 0.05 as the official inference
script. ST-TR (`st_tr_spatial_joint`, `st_tr_temporal_joint`,
`st_tr_temporal_agcn_joint`, source "st_tr", the repository root or its
`code/` folder): `st_gcn.net.st_gcn.Model` with the repository's NTU-60
configuration of the stream; the parent's (N, T, V, M, C) clips are
transposed to the official (N, C, T, V, M) layout (contiguous) before the
timing. `inference_throughput`: eval mode under `torch.no_grad()`;
`training_throughput`: train mode, forward, `F.cross_entropy` on seeded
random labels, backward and `torch.optim.SGD(lr=0.1, momentum=0.9,
nesterov=True, weight_decay=1e-4)` (the repository's recipe). Weights are
PyTorch's default initialisation (`torch.manual_seed(0)`).

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

# --official_source NAME -> what NAME is.
SOURCES = {
    "gast": "GAST-Net (github.com/fabro66/GAST-Net-3DPoseEstimation): the repository root",
    "st_tr": "ST-TR (github.com/Chiaraplizz/ST-TR): the repository root or its code/ folder",
}
# The Human3.6M 17-joint skeleton of GAST-Net's inference script (reconstruction.py).
_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
# Our preset options with an official counterpart: GAST-Net's constructor takes them.
_GAST_OPTIONS = ("filter_widths", "channels", "causal")


def _gast(name):
    return name.startswith("gast_")


# family -> (source NAME, the measurements the worker times)
MODELS = {
    "gast": ("gast", ("sequence_throughput", "single_frame_latency")),
    "sttr": ("st_tr", ("inference_throughput", "training_throughput")),
}
_STTR_PRESETS = ("st_tr_spatial_joint", "st_tr_temporal_joint", "st_tr_temporal_agcn_joint")
# family -> which of its presets the worker builds (the keys of `MODELS`).
_COVERED = {"gast": _gast, "sttr": _STTR_PRESETS.__contains__}


def supported(model: str, family: str) -> str | None:
    """None when the worker has the official counterpart of preset `model`
    (of `family`), else why not (one sentence)."""
    if _COVERED.get(family, lambda name: False)(model):
        return None
    return (f"no official PyTorch counterpart of '{model}' in the benchmark's official backend (it times "
            f"gast_*, {', '.join(_STTR_PRESETS)})")


def _message(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _stub(name: str, **attributes) -> bool:
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


def _cpu_patches(patches: list) -> None:
    """`Tensor.cuda` -> identity: the official modules move constants with
    `.cuda(x.get_device())` in `forward`, which fails on a CPU tensor."""
    import torch

    if getattr(torch.Tensor.cuda, "_skeleton_zoo_cpu", False):
        return

    def cuda(self, *args, **kwargs):
        return self

    cuda._skeleton_zoo_cpu = True
    torch.Tensor.cuda = cuda
    patches.append("torch.Tensor.cuda -> identity (CPU run)")


def _out_of_place_dropout(model, patches: list) -> None:
    import torch.nn as nn

    count = 0
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.inplace:
            module.inplace = False
            count += 1
    if count:
        patches.append(f"{count} nn.Dropout(inplace=True) -> out of place (PyTorch >= 2 autograd refuses the "
                       f"in-place form on a ReLU output)")


def _source(job: dict, name: str) -> pathlib.Path:
    folder = (job.get("sources") or {}).get(name)
    if not folder:
        raise RuntimeError(f"no checkout of the official repository: pass --official_source {name}=DIR "
                           f"({SOURCES[name]})")
    return pathlib.Path(folder)


def _gast_adjacency(num_joints: int):
    """GAST-Net's `adj_mx_from_skeleton(skeleton)` (sparse=False) with numpy:
    (J, J) float32, symmetric edges plus self-loops, rows summing to 1."""
    import numpy as np
    import torch

    if num_joints != len(_H36M_PARENTS):
        raise ValueError(f"the official GAST-Net skeleton has {len(_H36M_PARENTS)} joints, not {num_joints}")
    adj = np.eye(num_joints, dtype=np.float64)
    for joint, parent in enumerate(_H36M_PARENTS):
        if parent >= 0:
            adj[joint, parent] = adj[parent, joint] = 1.0
    adj /= adj.sum(axis=1, keepdims=True)
    return torch.tensor(adj, dtype=torch.float)


def _build_gast(job: dict, measurement: str, patches: list):
    """-> (run(x), x, parameters) of GAST-Net's official module for `measurement`."""
    import torch

    root = _source(job, "gast")
    if not (root / "model" / "gast_net.py").is_file():
        raise FileNotFoundError(f"--official_source gast={root}: expected the GAST-Net repository root "
                                f"(model/gast_net.py), found no such file")
    extra = sorted(set(job.get("overrides") or {}) - set(_GAST_OPTIONS))
    if extra:
        raise ValueError(f"the official GAST-Net has no option {', '.join(extra)} (it takes "
                         f"{', '.join(_GAST_OPTIONS)})")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if _stub("torchsummary", summary=lambda *args, **kwargs: None):
        patches.append("torchsummary stubbed (imported by model/gast_net.py, unused)")
    gast_net = importlib.import_module("model.gast_net")
    config = job["config"]
    cls = (gast_net.SpatioTemporalModel if measurement == "sequence_throughput"
           else gast_net.SpatioTemporalModelOptimized1f)
    joints = 17
    model = cls(_gast_adjacency(joints), joints, 2, joints, filter_widths=list(config["filter_widths"]),
                causal=bool(config.get("causal", False)), dropout=0.05, channels=int(config["channels"]))
    model.eval()

    def run(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    return run, None, model


def _build_sttr(job: dict, measurement: str, patches: list):
    """-> (run(x), x in the official layout, model) of ST-TR's official model."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    root = _source(job, "st_tr")
    code = root / "code" if (root / "code" / "st_gcn").is_dir() else root
    if not (code / "st_gcn" / "net" / "st_gcn.py").is_file():
        raise FileNotFoundError(f"--official_source st_tr={root}: expected the ST-TR repository root (with "
                                f"code/st_gcn/net/st_gcn.py), found no such file")
    if job.get("overrides"):
        raise ValueError(f"the official ST-TR model is built from the repository's configuration; it has no "
                         f"option {', '.join(sorted(job['overrides']))}")
    if str(code) not in sys.path:
        sys.path.insert(0, str(code))
    if "st_gcn" not in sys.modules:  # its __init__ imports the feeders (torchvision): skipped
        package = types.ModuleType("st_gcn")
        package.__path__ = [str(code / "st_gcn")]
        sys.modules["st_gcn"] = package
        patches.append("st_gcn/__init__.py skipped (imports the data feeders and torchvision)")
    if _stub("tqdm"):
        patches.append("tqdm stubbed (imported by st_gcn/net/st_gcn.py, unused)")
    _cpu_patches(patches)
    importlib.import_module("st_gcn.graph")  # as the skipped __init__ does (the model imports it by name)
    st_gcn = importlib.import_module("st_gcn.net.st_gcn")
    spatial = job["model"].startswith("st_tr_spatial")
    x = np.load(job["inputs"][measurement])
    clips, frames, joints, persons, channels = x.shape
    model = st_gcn.Model(
        channel=channels, num_class=int(job["num_classes"]), window_size=frames, num_point=joints,
        num_person=persons, attention=spatial, only_attention=True, tcn_attention=not spatial,
        only_temporal_attention=True, attention_3=False, relative=False, kernel_temporal=9, double_channel=False,
        drop_connect=True, concat_original=True, dv=0.25, dk=0.25, Nh=8, dim_block1=10, dim_block2=30,
        dim_block3=75, all_layers=False, data_normalization=True, visualization=False, skip_conn=True,
        adjacency=False, bn_flag=True, weight_matrix=2, device=0, n=4, more_channels=False, use_data_bn=True,
        mask_learning=True, graph="st_gcn.graph.NTU_RGB_D", graph_args={"labeling_mode": "spatial"},
        agcn="agcn" in job["model"])
    _out_of_place_dropout(model, patches)
    official_x = np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))  # (N, T, V, M, C) -> (N, C, T, V, M)
    if measurement == "inference_throughput":
        model.eval()

        def run(x):
            with torch.no_grad():
                return model(torch.from_numpy(x), None, None).numpy()

        return run, official_x, model
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    labels = torch.randint(0, int(job["num_classes"]), (clips,), generator=torch.Generator().manual_seed(1))

    def step(x):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(torch.from_numpy(x), None, None), labels)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, official_x, model


_BUILDERS = {"gast": _build_gast, "sttr": _build_sttr}


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
    builder = _BUILDERS.get(job.get("family"))
    for measurement in measurements:
        try:
            if why or builder is None:
                raise ValueError(why or f"no official builder for family '{job.get('family')}'")
            if measurement not in MODELS[job["family"]][1]:
                raise ValueError(f"the official backend does not time '{measurement}' for {job['model']}")
            torch.manual_seed(0)
            run, x, model = builder(job, measurement, out["patches"])
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
