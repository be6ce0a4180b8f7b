"""Lists the zoo's presets from their declared data (no model is built):

    python -m skeleton_zoo list [--family gast] [--task pose_lifting] [--layout humaneva15] [--format json]

Columns: name, task, frames (receptive field of a lifter, clip length of a
classifier), layout, trainable parameters (for `--layout`, where the preset
declares them), the paper's result, the number of trained weights in the
catalogue and a description; the weights tags (`load(NAME, weights=TAG)`)
follow the table.
"""

from __future__ import annotations

import json

from absl import flags

from skeleton_zoo.cli.common import FLAGS, start

COLUMNS = ("name", "task", "frames", "layout", "parameters", "paper", "weights", "description")


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
            str(len(row["weights_tags"]) or "-"), row["description"]]


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
    with_tags = [row for row in rows if row["weights_tags"]]
    if with_tags:
        lines += ["", "Trained weights by name: skeleton_zoo.load(NAME, weights=TAG) or --weights TAG (the first "
                      "tag is 'official'); downloaded once, verified and cached. A file of your own: weights=FILE."]
        for row in with_tags:
            tags = []
            for tag in row["weights_tags"]:
                entries = [w for w in row["official_weights"] if w["tag"] == tag]
                options = {k: v for w in entries for k, v in w["options"].items() if (k, v) != ("stream", "j")}
                detail = ", ".join([*(w["file"] for w in entries if not row["streams"]),
                                    *(f"{k}={v!r}" for k, v in options.items())])
                tags.append(f"{tag} ({detail})" if detail else tag)
            lines.append(f"  {row['name']}: {', '.join(tags)}")
        hosts = {}
        for row in with_tags:
            for w in row["official_weights"]:
                host = w["url"][:-len(w["file"])].rstrip("/") if w["url"].endswith(w["file"]) else w["url"]
                hosts[host] = None
        lines += ["Published at:"] + [f"  {host}" for host in hosts]
    return "\n".join(lines)


def main(argv) -> int:
    start(argv)
    from skeleton_zoo import registry

    rows = registry.list_models(family=FLAGS.family, layout=FLAGS.layout, task=FLAGS.task)
    print(json.dumps(rows, indent=2) if FLAGS.format == "json" else format_table(rows))
    return 0
