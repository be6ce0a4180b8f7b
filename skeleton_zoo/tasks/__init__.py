"""Tasks: what every model of one kind shares, written once.

- `pose_lifting`: 2D keypoints -> 3D poses (GAST-Net, VideoPose3D, ...);
- `action_recognition`: skeleton clips -> class scores (ST-TR, PYSKL, ...);
- `ensemble`: multi-stream ensembles with a fusion rule;
- `base`: the `Task` interface the pipelines call.

    task = get_task(preset.task)
    model = task.build(preset, weights, options, builder)
"""

from __future__ import annotations

import importlib

__all__ = ["get_task", "TASK_MODULES"]

TASK_MODULES = {
    "pose_lifting": "skeleton_zoo.tasks.pose_lifting",
    "action_recognition": "skeleton_zoo.tasks.action_recognition",
}


def get_task(name: str):
    """The `Task` object of "pose_lifting" or "action_recognition"."""
    if name not in TASK_MODULES:
        raise ValueError(f"Unknown task '{name}'; expected one of {list(TASK_MODULES)}.")
    return importlib.import_module(TASK_MODULES[name]).TASK
