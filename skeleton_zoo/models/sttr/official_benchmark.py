"""The official ST-TR for the benchmark's `official` backend
(`skeleton_zoo.benchmark._official_worker` loads this file by path, in an
interpreter with torch: it imports only the standard library, numpy and
torch, never skeleton_zoo).

Source "st_tr": github.com/Chiaraplizz/ST-TR, the repository root or its
`code/` folder. Presets `st_tr_spatial_joint`, `st_tr_temporal_joint` and
`st_tr_temporal_agcn_joint`: `st_gcn.net.st_gcn.Model` with the
repository's NTU-60 configuration of the stream; the parent's
(N, T, V, M, C) clips are transposed to the official (N, C, T, V, M) layout
(contiguous) before the timing. `inference_throughput`: eval mode under
`torch.no_grad()`; `training_throughput`: train mode, forward,
`F.cross_entropy` on seeded random labels, backward and
`torch.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)`
(the repository's recipe).

Patched in memory: `Tensor.cuda` is the identity (ST-TR moves its adjacency
matrices with `.cuda(x.get_device())`); `nn.Dropout(inplace=True)` modules
run out of place (ST-TR drops out a ReLU output in place, which PyTorch >= 2
autograd refuses in training); `tqdm` (imported, unused) is stubbed when
missing, and the `st_gcn` package `__init__`, which imports the data
feeders and torchvision, is skipped.
"""

from __future__ import annotations

import importlib
import sys
import types

FAMILY = "sttr"
SOURCE = "st_tr"
SOURCE_HELP = "ST-TR (github.com/Chiaraplizz/ST-TR): the repository root or its code/ folder"
MEASUREMENTS = ("inference_throughput", "training_throughput")
PRESETS = ("st_tr_spatial_joint", "st_tr_temporal_joint", "st_tr_temporal_agcn_joint")
COVERED = ", ".join(PRESETS)


def covers(model: str) -> bool:
    return model in PRESETS


def build(job: dict, measurement: str, patches: list, worker):
    """-> (run(x), x in the official layout, model) of ST-TR's official
    model; `worker`: the `_official_worker` module."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    root = worker.source(job, SOURCE)
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
    if worker.stub("tqdm"):
        patches.append("tqdm stubbed (imported by st_gcn/net/st_gcn.py, unused)")
    worker.cpu_patches(patches)
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
    worker.out_of_place_dropout(model, patches)
    official_x = np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))  # (N, T, V, M, C) -> (N, C, T, V, M)
    if measurement == "inference_throughput":
        return worker.inference(model, lambda model, x: model(x, None, None)), official_x, model
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
