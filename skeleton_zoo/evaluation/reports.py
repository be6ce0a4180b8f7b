"""Paper-style evaluation reports.

Pose lifting (Human3.6M / HumanEva-I, VideoPose3D protocol):
    records = [{"action": "Walking 1", "subject": "S9", "num_frames": 3200,
                "mpjpe": 45.1, "p_mpjpe": 34.0, "n_mpjpe": 43.2, "mpjve": 2.9}, ...]
    result = action_table(records)     # {"mpjpe": {"Walking": ..., "Avg": ...}, ...}
    print(format_table(result)); write_json(result, "h36m.json"); write_csv(result, "h36m.csv")

Action recognition (NTU RGB+D, ST-TR protocol):
    report = classification_report({"spatial": s_logits, "temporal": t_logits}, labels, class_names)
    print(format_classification(report))
    save_confusion_matrix_png(report["results"]["fused"]["confusion_matrix"], class_names, "cm.png")
    write_json(report, "ntu.json")
"""

from __future__ import annotations

import csv
import json
import math
import os
import pathlib
from collections.abc import Mapping, Sequence

import numpy as np

from skeleton_zoo.evaluation.metrics import top_k_accuracy
from skeleton_zoo.formats.videopose3d import action_type
from skeleton_zoo.utils.files import atomic_write, write_text

__all__ = [
    "POSE_METRICS",
    "METRIC_LABELS",
    "H36M_ACTION_ORDER",
    "action_name",
    "action_table",
    "format_table",
    "write_json",
    "write_csv",
    "classification_report",
    "format_classification",
    "save_confusion_matrix_png",
]

#: Per-sequence metrics `action_table` knows, in the order tables show them.
POSE_METRICS = ("mpjpe", "p_mpjpe", "n_mpjpe", "mpjve")

#: Row labels of `format_table` (VideoPose3D's names for the protocols).
METRIC_LABELS = {
    "mpjpe": "Protocol #1 (MPJPE)",
    "p_mpjpe": "Protocol #2 (P-MPJPE)",
    "n_mpjpe": "Protocol #3 (N-MPJPE)",
    "mpjve": "MPJVE",
}

#: Column order of the Human3.6M tables in the papers. Actions not listed
#: here (HumanEva-I's Walk/Jog/Box, ...) follow in order of first appearance.
H36M_ACTION_ORDER = (
    "Directions",
    "Discussion",
    "Eating",
    "Greeting",
    "Phoning",
    "Photo",
    "TakingPhoto",
    "Posing",
    "Purchases",
    "Sitting",
    "SittingDown",
    "Smoking",
    "Waiting",
    "WalkDog",
    "WalkingDog",
    "Walking",
    "WalkTogether",
)

AVG = "Avg"


# ---------------------------------------------------------------------------
# Pose lifting
# ---------------------------------------------------------------------------


def action_name(sequence_name: str) -> str:
    """The action a sequence belongs to, as VideoPose3D's run.py groups them
    (`skeleton_zoo.formats.videopose3d.action_type`: "Walking 1" -> "Walking")."""
    return action_type(str(sequence_name))


def _field(record, key, index):
    if isinstance(record, Mapping):
        if key not in record:
            raise ValueError(
                f"action_table: `errors_by_sequence[{index}]` must have the key {key!r}; "
                f"found keys {sorted(record)}"
            )
        return record[key]
    if not hasattr(record, key):
        raise ValueError(
            f"action_table: `errors_by_sequence[{index}]` must be a mapping or object with "
            f"{key!r}; found {type(record).__name__}"
        )
    return getattr(record, key)


def _has(record, key):
    return key in record if isinstance(record, Mapping) else hasattr(record, key)


def action_table(errors_by_sequence: Sequence, metrics: Sequence[str] | None = None) -> dict:
    """Per-action errors, aggregated as VideoPose3D's run.py does.

    Args:
        errors_by_sequence: a non-empty list of records, one per evaluated
            sequence (subject x action x camera), each a mapping (or object
            with attributes) with
            - "action": the sequence name, e.g. "Walking 1";
            - "subject": e.g. "S9" (informative, not used for grouping);
            - "num_frames": positive int, the frames the errors average over;
            - one float per metric, in mm: "mpjpe", "p_mpjpe", "n_mpjpe",
              "mpjve" (any subset, the same for every record).
        metrics: the metric keys to aggregate; default: those of `POSE_METRICS`
            present in the first record.

    Returns:
        `{metric: {action: value, ..., "Avg": value}}` in mm. A sequence's
        action is its name up to the first space ("Walking 1" and "Walking"
        -> "Walking"; "WalkDog", "WalkTogether" stay distinct). Within an
        action the per-sequence values are averaged weighted by "num_frames"
        (what evaluating all its frames at once gives); "Avg" is the
        unweighted mean over actions, as in the papers' tables. Actions are
        ordered as in `H36M_ACTION_ORDER`, others by first appearance.
    """
    if isinstance(errors_by_sequence, (str, bytes, Mapping)) or not isinstance(
        errors_by_sequence, Sequence
    ):
        raise ValueError(
            "action_table: `errors_by_sequence` must be a list of per-sequence records; "
            f"found {type(errors_by_sequence).__name__}"
        )
    if not errors_by_sequence:
        raise ValueError("action_table: `errors_by_sequence` must not be empty; found 0 records")
    if metrics is None:
        metrics = [m for m in POSE_METRICS if _has(errors_by_sequence[0], m)]
        if not metrics:
            raise ValueError(
                f"action_table: records must carry at least one of {list(POSE_METRICS)}; "
                f"found none in `errors_by_sequence[0]`"
            )
    metrics = list(metrics)

    sums = {}  # action -> (frames, {metric: weighted sum})
    for index, record in enumerate(errors_by_sequence):
        action = action_name(_field(record, "action", index))
        if action == AVG:
            raise ValueError(f"action_table: action name {AVG!r} is reserved for the average column")
        frames = _field(record, "num_frames", index)
        if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames <= 0:
            raise ValueError(
                f"action_table: `errors_by_sequence[{index}]['num_frames']` must be a positive "
                f"integer; found {frames!r}"
            )
        total_frames, weighted = sums.setdefault(action, [0, dict.fromkeys(metrics, 0.0)])
        for metric in metrics:
            value = _field(record, metric, index)
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = float("nan")
            if not math.isfinite(value):
                raise ValueError(
                    f"action_table: `errors_by_sequence[{index}][{metric!r}]` must be a finite "
                    f"number (mm); found {_field(record, metric, index)!r}"
                )
            weighted[metric] += value * int(frames)
        sums[action][0] = total_frames + int(frames)

    order = {name: i for i, name in enumerate(H36M_ACTION_ORDER)}
    seen = list(sums)
    actions = sorted(seen, key=lambda a: (0, order[a], 0) if a in order else (1, 0, seen.index(a)))
    result = {}
    for metric in metrics:
        per_action = {a: sums[a][1][metric] / sums[a][0] for a in actions}
        per_action[AVG] = float(np.mean([per_action[a] for a in actions]))
        result[metric] = per_action
    return result


def _fmt(value, decimals):
    if value is None:
        return "-"
    value = float(value)
    return "-" if not math.isfinite(value) else f"{value:.{decimals}f}"


def _columns(result):
    columns = []
    for per_action in result.values():
        for name in per_action:
            if name != AVG and name not in columns:
                columns.append(name)
    return columns + [AVG]


def _check_result(result, function):
    if not isinstance(result, Mapping) or not result or not all(
        isinstance(v, Mapping) for v in result.values()
    ):
        raise ValueError(
            f"{function}: `result` must be a non-empty dict metric -> {{action: value}} "
            f"(what action_table returns); found {type(result).__name__}"
        )


def format_table(result: Mapping, decimals: int = 1) -> str:
    """Markdown table of an `action_table` result: one row per metric
    (protocol), one column per action plus "Avg", values in mm with
    `decimals` decimals ("-" where a value is missing)."""
    _check_result(result, "format_table")
    columns = _columns(result)
    lines = [
        "| Metric (mm) | " + " | ".join(columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for metric, per_action in result.items():
        cells = [_fmt(per_action.get(c), decimals) for c in columns]
        lines.append(f"| {METRIC_LABELS.get(metric, metric)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_csv(result: Mapping, path) -> pathlib.Path:
    """Writes an `action_table` result as CSV: header `metric,<actions...>,Avg`,
    one row per metric key, full-precision values in mm (empty where missing).
    Returns the path."""
    _check_result(result, "write_csv")
    path = pathlib.Path(path)
    columns = _columns(result)
    with atomic_write(path, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["metric", *columns])
        for metric, per_action in result.items():
            writer.writerow([metric, *(repr(float(per_action[c])) if c in per_action else "" for c in columns)])
    return path


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, (str, type(None))):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"write_json: cannot serialise a {type(value).__name__} ({value!r})")


def write_json(result: Mapping, path) -> pathlib.Path:
    """Writes an `action_table` result or a `classification_report` as JSON
    (numpy arrays become lists, NaN / inf become null). Returns the path."""
    if not isinstance(result, Mapping):
        raise ValueError(f"write_json: `result` must be a dict; found {type(result).__name__}")
    return write_text(path, json.dumps(_jsonable(result), indent=2) + "\n")


# ---------------------------------------------------------------------------
# Action recognition
# ---------------------------------------------------------------------------

FUSED = "fused"


def _softmax(logits):
    shifted = logits - np.max(logits, axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=1, keepdims=True)


def _evaluate_scores(scores, labels, num_classes, top_k):
    predicted = np.argmax(scores, axis=1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    counts = confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(counts > 0, np.diag(confusion) / np.maximum(counts, 1), np.nan)
    entry = {f"top{k}": top_k_accuracy(scores, labels, k) for k in top_k}
    entry["per_class_accuracy"] = per_class
    entry["confusion_matrix"] = confusion
    return entry


def classification_report(
    logits_by_stream: Mapping[str, np.ndarray],
    labels,
    class_names: Sequence[str] | None,
    fusion: str = "logits",
    weights: Mapping[str, float] | None = None,
) -> dict:
    """Top-1 / top-5, per-class accuracy and confusion matrix per stream.

    Args:
        logits_by_stream: `{stream name: (N, num_classes) scores}`, e.g.
            `{"spatial": ..., "temporal": ...}` (logits, or probabilities);
            every stream scores the same N samples in the same order.
        labels: `(N,)` integer class indices in `[0, num_classes)`.
        class_names: `num_classes` names (None: "0", "1", ...).
        fusion: how the fused score of several streams is made: "logits"
            (weighted sum of the scores as given: ST-TR's two-stream
            evaluation on logits, PYSKL's on clip-averaged probabilities) or
            "softmax" (weighted sum of their softmax probabilities).
        weights: stream name -> weight in the fused sum (PYSKL's 2:2:1:1).
            Defaults to 1 for every stream.

    Returns:
        dict with "num_samples", "num_classes", "class_names",
        "class_counts" `(num_classes,)`, "fusion", "top_k" (`[1, 5]`; 5
        becomes num_classes when there are fewer classes), "primary" (the
        fused entry if any, else the first stream) and "results":
        `{stream or "fused": {"top1": float, "top5": float,
        "per_class_accuracy": (num_classes,) float array (NaN for classes
        without samples), "confusion_matrix": (num_classes, num_classes) int64
        counts, rows = true class, columns = argmax prediction}}`.
        Accuracies are fractions in [0, 1]. Top-k counts a label tied at the
        k-th place as a hit (`metrics.top_k_accuracy`); the confusion matrix
        uses the first argmax.
    """
    if not isinstance(logits_by_stream, Mapping) or not logits_by_stream:
        raise ValueError(
            "classification_report: `logits_by_stream` must be a non-empty dict "
            f"stream name -> (N, num_classes) scores; found {logits_by_stream!r:.80}"
        )
    if fusion not in ("logits", "softmax"):
        raise ValueError(
            f"classification_report: `fusion` must be 'logits' or 'softmax'; found {fusion!r}"
        )
    if FUSED in logits_by_stream:
        raise ValueError(
            f"classification_report: stream name {FUSED!r} is reserved for the fused scores; "
            f"found it in `logits_by_stream` {list(logits_by_stream)}"
        )
    streams = {}
    shape = None
    for name, scores in logits_by_stream.items():
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
            raise ValueError(
                f"classification_report: `logits_by_stream[{name!r}]` must be (N, num_classes) "
                f"with N, num_classes >= 1; found shape {scores.shape}"
            )
        if shape is None:
            shape = scores.shape
        elif scores.shape != shape:
            raise ValueError(
                f"classification_report: `logits_by_stream[{name!r}]` must have the shape of the "
                f"first stream {shape}; found {scores.shape}"
            )
        if not np.all(np.isfinite(scores)):
            raise ValueError(
                f"classification_report: `logits_by_stream[{name!r}]` must be finite; found NaN or inf"
            )
        streams[str(name)] = scores
    n, num_classes = shape

    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(
            f"classification_report: `labels` must have shape ({n},) to match the scores {shape}; "
            f"found {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"classification_report: `labels` must be integers; found dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(
            f"classification_report: `labels` must lie in [0, {num_classes}); "
            f"found values in [{labels.min()}, {labels.max()}]"
        )
    labels = labels.astype(np.int64)

    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    class_names = [str(c) for c in class_names]
    if len(class_names) != num_classes:
        raise ValueError(
            f"classification_report: `class_names` must have {num_classes} entries (the scores' "
            f"second axis); found {len(class_names)}"
        )

    top_k = [1, min(5, num_classes)] if num_classes > 1 else [1]
    results = {name: _evaluate_scores(s, labels, num_classes, top_k) for name, s in streams.items()}
    primary = next(iter(streams))
    if len(streams) > 1:
        weights = {name: 1.0 for name in streams} | {str(k): float(v) for k, v in dict(weights or {}).items()}
        if set(weights) != set(streams):
            raise ValueError(f"classification_report: `weights` must name the streams {list(streams)}; "
                             f"found {sorted(weights)}")
        fused = sum(weights[name] * (scores if fusion == "logits" else _softmax(scores))
                    for name, scores in streams.items())
        results[FUSED] = _evaluate_scores(fused, labels, num_classes, top_k)
        primary = FUSED
    return {
        "num_samples": int(n),
        "num_classes": int(num_classes),
        "class_names": class_names,
        "class_counts": np.bincount(labels, minlength=num_classes),
        "fusion": fusion,
        "weights": {name: float(w) for name, w in (weights or {}).items()} if len(streams) > 1 else {},
        "top_k": top_k,
        "primary": primary,
        "results": results,
    }


def _percent(value):
    value = float(value)
    return "-" if not math.isfinite(value) else f"{100.0 * value:.2f}"


def format_classification(report: Mapping) -> str:
    """Markdown text of a `classification_report`: a top-k table (one row per
    stream and the fused scores, accuracies in %) and a per-class accuracy
    table (one row per class: index, name, number of samples, accuracy in %
    for every stream; "-" for classes without samples)."""
    required = ("results", "top_k", "class_names", "class_counts")
    if not isinstance(report, Mapping) or any(k not in report for k in required):
        raise ValueError(
            f"format_classification: `report` must be a classification_report dict with keys "
            f"{list(required)}; found {sorted(report) if isinstance(report, Mapping) else type(report).__name__}"
        )
    results = report["results"]
    top_k = list(report["top_k"])
    fusion = report.get("fusion", "logits")
    lines = [
        f"## Top-k accuracy (%), {report.get('num_samples', '?')} samples, "
        f"{report.get('num_classes', len(report['class_names']))} classes",
        "",
        "| Stream | " + " | ".join(f"Top-{k}" for k in top_k) + " |",
        "|---|" + "---:|" * len(top_k),
    ]
    for name, entry in results.items():
        weights = report.get("weights") or {}
        ratio = ":".join(f"{w:g}" for w in weights.values()) if len(set(weights.values())) > 1 else ""
        label = (f"fused ({fusion}" + (f", weights {ratio}" if ratio else "") + ")") if name == FUSED else name
        lines.append(f"| {label} | " + " | ".join(_percent(entry[f'top{k}']) for k in top_k) + " |")
    names = list(results)
    lines += [
        "",
        "## Per-class accuracy (%)",
        "",
        "| # | Class | Samples | " + " | ".join(names) + " |",
        "|---:|---|---:|" + "---:|" * len(names),
    ]
    counts = np.asarray(report["class_counts"])
    for i, class_name in enumerate(report["class_names"]):
        cells = [_percent(results[name]["per_class_accuracy"][i]) for name in names]
        lines.append(f"| {i} | {class_name} | {int(counts[i])} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def save_confusion_matrix_png(
    matrix,
    class_names: Sequence[str] | None,
    path,
    normalize: bool = True,
    title: str | None = None,
    dpi: int = 150,
) -> pathlib.Path:
    """Writes a confusion matrix as a PNG heat map (matplotlib, Agg canvas;
    pyplot's global backend is not touched).

    Args:
        matrix: `(num_classes, num_classes)` counts, rows = true class,
            columns = predicted class.
        class_names: `num_classes` names (None: indices), shown as
            "index name" on the rows; columns show indices only.
        path: the output file (parents are created).
        normalize: divide each row by its count (rows without samples stay 0),
            so the colours are per-class recall in [0, 1].
        title: figure title (default "Confusion matrix", "(row-normalised)"
            appended when `normalize`).
        dpi: resolution. The figure grows with the number of classes and the
            fonts shrink (60 / 120 NTU classes stay legible when zoomed);
            cell values are printed only up to 20 classes.

    Returns:
        The path written.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(
            "save_confusion_matrix_png: `matrix` must be a square (num_classes, num_classes) "
            f"array; found shape {matrix.shape}"
        )
    num_classes = matrix.shape[0]
    if class_names is None:
        class_names = [str(i) for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise ValueError(
            f"save_confusion_matrix_png: `class_names` must have {num_classes} entries (the "
            f"matrix side); found {len(class_names)}"
        )
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("save_confusion_matrix_png needs matplotlib: pip install matplotlib") from error

    values = matrix.astype(np.float64)
    if normalize:
        rows = values.sum(axis=1, keepdims=True)
        values = np.divide(values, rows, out=np.zeros_like(values), where=rows > 0)
    title = title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix")

    side = float(np.clip(0.14 * num_classes + 3.0, 6.0, 22.0))
    font = float(np.clip(260.0 / num_classes, 3.5, 9.0))
    fig = Figure(figsize=(side + 1.5, side), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(
        values,
        cmap="Blues",
        interpolation="nearest",
        vmin=0.0,
        vmax=1.0 if normalize else max(float(values.max()), 1.0),
    )
    colorbar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    colorbar.ax.tick_params(labelsize=max(font, 6.0))
    colorbar.set_label("fraction of the true class" if normalize else "samples", fontsize=max(font, 6.0))
    ticks = np.arange(num_classes)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xticklabels([str(i) for i in ticks], fontsize=font, rotation=90)
    ax.set_yticklabels(
        [f"{i} {name[:40]}" if str(i) != str(name) else str(i) for i, name in enumerate(class_names)],
        fontsize=font,
    )
    ax.set_xlabel("predicted class", fontsize=max(font, 8.0))
    ax.set_ylabel("true class", fontsize=max(font, 8.0))
    ax.set_title(title, fontsize=max(font + 2.0, 10.0))
    if num_classes <= 20:
        for i in range(num_classes):
            for j in range(num_classes):
                text = f"{values[i, j]:.2f}" if normalize else str(int(matrix[i, j]))
                colour = "white" if values[i, j] > 0.5 * (1.0 if normalize else values.max()) else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=font, color=colour)
    fig.tight_layout()
    path = pathlib.Path(path)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", bbox_inches="tight")  # keep long class names inside the image
    return path
