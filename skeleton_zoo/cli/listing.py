"""Lists the zoo's presets from their declared data (no model is built):

    python -m skeleton_zoo list [--family gast] [--task pose_lifting] [--layout humaneva15] [--format json]

Columns: name, task, frames (receptive field of a lifter, clip length of a
classifier), layout, trainable parameters (for `--layout`, where the preset
declares them), the paper's result, the number of official weight files and
a description; the official files follow the table.
"""

from __future__ import annotations

import json
import posixpath

from absl import flags

from skeleton_zoo.cli.common import FLAGS, start

COLUMNS = ("name", "task", "frames", "layout", "parameters", "paper", "official", "description")


def define_flags() -> None:
    flags.DEFINE_string("family", None, "Only presets of this family (e.g. gast, sttr).")
    flags.DEFINE_enum("task", None, ["pose_lifting", "action_recognition"], "Only presets of this task.")
    flags.DEFINE_string("layout", None, "Parameter counts for this skeleton layout (e.g. humaneva15).")
    flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.")


def _result(r, dataset=False) -> str:
    text = f"{r['metric']} {r['value']:g}{' ' if r['unit'] != '%' else ''}{r['unit']}"
    return f"{text} ({r['dataset']})" if dataset else text


def _cells(row) -> list[str]:
    frames = row["receptive_field"] or row["clip_frames"]
    return [row["name"], row["task"].replace("_", " "), str(frames or "-"), row["layout"],
            f"{row['parameters']:,}" if row["parameters"] is not None else "-",
            "; ".join(map(_result, row["paper"])) or "-",
            str(len(row["official_weights"]) or "-"), row["description"]]


def format_table(rows) -> str:
    """The listing as an aligned text table, then the official weight files."""
    cells = [list(COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    with_results = [row for row in rows if row["paper"]]
    if with_results:
        lines += ["", "Paper results:"]
        lines += [f"  {row['name']}: " + "; ".join(_result(r, dataset=True) for r in row["paper"])
                  for row in with_results]
    with_files = [row for row in rows if row["official_weights"]]
    if with_files:
        lines += ["", "Official weights: skeleton_zoo.load(NAME, weights=FILE), or convert once with "
                      "python -m skeleton_zoo convert FILE --model NAME"]
        if any(row["streams"] for row in with_files):
            lines.append("  (ensembles: one file per stream, weights={'spatial': FILE, 'temporal': FILE} "
                         "or --weights SPATIAL,TEMPORAL)")
        hosts = {}
        for row in with_files:
            files = [w["file"] + (f" ({w['note']})" if w["note"] and not w["note"].startswith("weights=") else "")
                     for w in row["official_weights"]]
            lines.append(f"  {row['name']}: {', '.join(dict.fromkeys(files))}")
            for w in row["official_weights"]:
                host = posixpath.dirname(w["url"]) if w["url"].endswith(w["file"]) else w["url"]
                hosts[host] = None
        lines += ["Published at:"] + [f"  {host}" for host in hosts]
    return "\n".join(lines)


def main(argv) -> int:
    start(argv)
    from skeleton_zoo import registry

    rows = registry.list_models(family=FLAGS.family, layout=FLAGS.layout, task=FLAGS.task)
    print(json.dumps(rows, indent=2) if FLAGS.format == "json" else format_table(rows))
    return 0
