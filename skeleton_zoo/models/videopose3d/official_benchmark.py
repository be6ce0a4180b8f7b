"""The official VideoPose3D for the benchmark's `official` backend
(`skeleton_zoo.benchmark._official_worker` loads this file by path, in an
interpreter with torch: it imports only the standard library and torch,
never skeleton_zoo).

Source "videopose3d": the root of github.com/facebookresearch/VideoPose3D.
Its `common/model.py` (which imports only torch.nn) is loaded by path.
`sequence_throughput` times `TemporalModel` (dilated convolutions) on the
parent's padded clip (1, T, 17, 2); `single_frame_latency` times
`TemporalModelOptimized1f` (strided, interchangeable weights) on one
receptive field (1, rf, 17, 2); eval mode under `torch.no_grad()`, the
repository's default dropout (0.25, off in eval mode). Nothing is patched.
"""

from __future__ import annotations

import importlib.util

FAMILY = "videopose3d"
SOURCE = "videopose3d"
SOURCE_HELP = "VideoPose3D (github.com/facebookresearch/VideoPose3D): the repository root"
MEASUREMENTS = ("sequence_throughput", "single_frame_latency")
COVERED = "videopose3d_*"

# Our preset options with an official counterpart: TemporalModel's constructor takes them.
_OPTIONS = ("filter_widths", "channels", "causal")


def covers(model: str) -> bool:
    return model.startswith("videopose3d_")


def build(job: dict, measurement: str, patches: list, worker):
    """-> (run(x), None (the parent's input as it is), model) of
    VideoPose3D's official module for `measurement`; `worker`: the
    `_official_worker` module."""
    root = worker.source(job, SOURCE)
    path = root / "common" / "model.py"
    if not path.is_file():
        raise FileNotFoundError(f"--official_source videopose3d={root}: expected the VideoPose3D repository root "
                                f"(common/model.py), found no such file")
    worker.check_options(job, "VideoPose3D", _OPTIONS)
    spec = importlib.util.spec_from_file_location("_videopose3d_official_model", path)
    official = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(official)
    config = job["config"]
    cls = official.TemporalModel if measurement == "sequence_throughput" else official.TemporalModelOptimized1f
    joints = 17
    model = cls(joints, 2, joints, filter_widths=list(config["filter_widths"]), causal=bool(config.get("causal")),
                channels=int(config["channels"]))
    return worker.inference(model), None, model
