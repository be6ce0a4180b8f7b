"""A training run's directory: what it holds, whether it is finished, and
what a re-run may do with it.

    <out>/run.json            the run's identity: model, dataset, preset options
    <out>/history.json, .csv  one row per finished epoch
    <out>/backup/             resume state (weights, optimizer, epoch), kept after the run ends
    <out>/best.weights.h5, last.weights.h5, logs/, metrics.json and the report files

Re-running the same command resumes an interrupted run, continues a finished
one to a larger `--epochs`, and leaves a finished one untouched otherwise.
Another model, dataset or preset options in the same folder is an error;
`--overwrite` clears the run's files (and only them) to start again.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

from skeleton_zoo.utils.files import write_text

__all__ = ["RUN_FILES", "RUN_FOLDERS", "RunState", "inspect", "claim", "clear"]

RUN_FILES = ("run.json", "history.json", "history.csv", "best.weights.h5", "last.weights.h5", "metrics.json",
             "pose_metrics.json", "pose_metrics.csv", "pose_metrics.md", "classification.json",
             "classification.md", "confusion_matrix.png")
RUN_FOLDERS = ("backup", "logs")


@dataclasses.dataclass
class RunState:
    """What `inspect` found.

    Attributes:
        status: "new" (nothing there), "resume" (fewer epochs than asked, the
            resume state kept) or "complete" (the asked epochs are done).
        completed_epochs: epochs in the history.
    """

    status: str
    completed_epochs: int = 0


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise ValueError(f"--out: '{path}' is not a readable run file ({error}); pass --overwrite to start "
                         f"the run again.") from None


def inspect(out: str, identity: dict, epochs: int, overwrite: bool = False) -> RunState:
    """The state of `out` for a run of `identity` (model, dataset, options)
    to `epochs` epochs. With `overwrite`, an existing run's files are removed.

    Raises:
        ValueError: `out` is not a folder, holds another model's run, or a
            finished run whose resume state is gone and `epochs` asks for more.
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out '{out}' is a file; the run needs a folder.")
    if overwrite:
        clear(out)
        return RunState("new")
    history_path = os.path.join(out, "history.json")
    if not os.path.exists(history_path):
        return RunState("new")
    recorded = _read_json(os.path.join(out, "run.json")) if os.path.exists(os.path.join(out, "run.json")) else None
    if recorded is not None and recorded != identity:
        found = ", ".join(f"{k} {recorded.get(k)!r}" for k in identity if recorded.get(k) != identity[k])
        raise ValueError(f"--out '{out}' holds a run with {found}; this run has "
                         + ", ".join(f"{k} {identity[k]!r}" for k in identity if recorded.get(k) != identity[k])
                         + ". Choose another --out, or pass --overwrite to replace that run.")
    completed = max((int(e["epoch"]) for e in _read_json(history_path)), default=0)
    if completed >= epochs:
        return RunState("complete", completed)
    if not os.path.isdir(os.path.join(out, "backup")):
        raise ValueError(f"--out '{out}' holds a finished run of {completed} epochs without its resume state "
                         f"(backup/), so it cannot continue to {epochs}. Pass --overwrite to train again.")
    return RunState("resume", completed)


def claim(out: str, identity: dict) -> None:
    """Records the run's identity in `out/run.json`."""
    write_text(os.path.join(out, "run.json"), json.dumps(identity, indent=1, sort_keys=True))


def clear(out: str) -> None:
    """Removes a run's files and folders from `out` (nothing else)."""
    for name in RUN_FILES:
        path = os.path.join(out, name)
        if os.path.isfile(path):
            os.remove(path)
    for name in RUN_FOLDERS:
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
