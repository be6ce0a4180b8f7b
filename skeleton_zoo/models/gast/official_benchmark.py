"""The official GAST-Net for the benchmark's `official` backend
(`skeleton_zoo.benchmark._official_worker` loads this file by path, in an
interpreter with torch: it imports only the standard library, numpy and
torch, never skeleton_zoo).

Source "gast": the root of github.com/fabro66/GAST-Net-3DPoseEstimation.
`sequence_throughput` times `model.gast_net.SpatioTemporalModel` (the
layer-by-layer dilated network) on the parent's padded clip (1, T, 17, 2);
`single_frame_latency` times `SpatioTemporalModelOptimized1f` (strided) on
one receptive field (1, rf, 17, 2); dropout 0.05 as the official inference
script, eval mode under `torch.no_grad()`.

Patched in memory: `torchsummary` (imported by model/gast_net.py, unused) is
stubbed when missing, and the adjacency matrix is computed here with numpy,
as `common.graph_utils.adj_mx_from_skeleton(..., sparse=False)` computes it
(that module needs scipy): the Human3.6M 17-joint skeleton, symmetric,
self-loops, row-normalised.
"""

from __future__ import annotations

import importlib
import sys

FAMILY = "gast"
SOURCE = "gast"
SOURCE_HELP = "GAST-Net (github.com/fabro66/GAST-Net-3DPoseEstimation): the repository root"
MEASUREMENTS = ("sequence_throughput", "single_frame_latency")
COVERED = "gast_*"

# The Human3.6M 17-joint skeleton of GAST-Net's inference script (reconstruction.py).
_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
# Our preset options with an official counterpart: GAST-Net's constructor takes them.
_OPTIONS = ("filter_widths", "channels", "causal")


def covers(model: str) -> bool:
    return model.startswith("gast_")


def _adjacency(num_joints: int):
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


def build(job: dict, measurement: str, patches: list, worker):
    """-> (run(x), None (the parent's input as it is), model) of GAST-Net's
    official module for `measurement`; `worker`: the `_official_worker`
    module (its checkout and stub helpers)."""
    root = worker.source(job, SOURCE)
    if not (root / "model" / "gast_net.py").is_file():
        raise FileNotFoundError(f"--official_source gast={root}: expected the GAST-Net repository root "
                                f"(model/gast_net.py), found no such file")
    worker.check_options(job, "GAST-Net", _OPTIONS)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    if worker.stub("torchsummary", summary=lambda *args, **kwargs: None):
        patches.append("torchsummary stubbed (imported by model/gast_net.py, unused)")
    gast_net = importlib.import_module("model.gast_net")
    config = job["config"]
    cls = (gast_net.SpatioTemporalModel if measurement == "sequence_throughput"
           else gast_net.SpatioTemporalModelOptimized1f)
    joints = 17
    model = cls(_adjacency(joints), joints, 2, joints, filter_widths=list(config["filter_widths"]),
                causal=bool(config.get("causal", False)), dropout=0.05, channels=int(config["channels"]))
    return worker.inference(model), None, model
