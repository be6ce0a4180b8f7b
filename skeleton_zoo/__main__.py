"""Command line:

    python -m skeleton_zoo list [--family gast] [--layout humaneva15] [--format json]
    python -m skeleton_zoo demo [--weights 27_frame_model.bin] [--out_dir demo]
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # hide CUDA-probe noise on CPU machines

from absl import app, flags

FLAGS = flags.FLAGS
flags.DEFINE_string("family", None, "Only list presets of this family (e.g. gast).")
flags.DEFINE_string("layout", None, "Count parameters for this skeleton layout (e.g. humaneva15).")
flags.DEFINE_enum("format", "table", ["table", "json"], "Output format.")
flags.DEFINE_string("weights", None, "demo: gast_27 weights (e.g. 27_frame_model.bin). Default: random.")
flags.DEFINE_string("causal_weights", None, "demo: gast_27_causal weights for the streamer. Default: random.")
flags.DEFINE_string("out_dir", "demo", "demo: output folder.")

COMMANDS = ("list", "demo")


def _official_cell(weights) -> str:
    if not weights:
        return "-"
    return " + ".join(w["file"] for w in weights) if weights[0]["note"].startswith("weights=") \
        else ", ".join(w["file"] for w in weights)


def _table(rows) -> str:
    columns = ["name", "task", "receptive_field", "layout", "parameters", "official_weights",
               "description"]
    cells = [[c.replace("_", " ") for c in columns]]
    for row in rows:
        cells.append([
            f"{row[c]:,}" if c == "parameters"
            else _official_cell(row[c]) if c == "official_weights"
            else str(row.get(c, "-")) for c in columns
        ])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    hosts, two_stream = {}, False
    for row in rows:
        for w in row["official_weights"]:
            two_stream |= w["note"].startswith("weights=")
            note = f" ({w['note']})" if w["note"] and not w["note"].startswith("weights=") else ""
            hosts.setdefault(w["url"], {})[w["file"] + note] = None
    if hosts:
        lines += ["", "Official weights: skeleton_zoo.load(NAME, weights=FILE), or convert once with "
                      "python -m skeleton_zoo.convert FILE --model NAME"]
        if two_stream:
            lines.append("  (two-stream presets: weights={'spatial': S-TR FILE, 'temporal': T-TR FILE})")
        for url, files in hosts.items():
            lines.append(f"  {url}: {', '.join(files)}")
    return "\n".join(lines)


def main(argv):
    commands = argv[1:]
    if len(commands) != 1 or commands[0] not in COMMANDS:
        raise app.UsageError(
            f"expected one command out of {list(COMMANDS)}, found {commands or 'none'}. "
            "Example: python -m skeleton_zoo list"
        )
    if commands == ["demo"]:
        from skeleton_zoo.demo import run_demo

        run_demo(FLAGS.out_dir, weights=FLAGS.weights, causal_weights=FLAGS.causal_weights)
        return 0
    import skeleton_zoo

    overrides = {"layout": FLAGS.layout} if FLAGS.layout else {}
    try:
        rows = skeleton_zoo.list_models(family=FLAGS.family, **overrides)
    except ValueError as error:
        raise app.UsageError(str(error))
    if FLAGS.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        print(_table(rows))
    return 0


def run():
    app.run(main)


if __name__ == "__main__":
    sys.exit(run())
