"""The benchmark report: its JSON (schema `skeleton_zoo/data/benchmark.schema.json`,
written atomically), the official PyTorch reference figures (the fallback
when the run has no same-run `official` row), the fastest inference backend
of every model, and the markdown table with the machine, threads and notes."""

from __future__ import annotations

import json

from skeleton_zoo.utils.files import atomic_write

__all__ = ["SCHEMA_VERSION", "OFFICIAL_REFERENCE", "REFERENCE_SIZES", "REFERENCE_THREADS", "UNITS",
           "LATENCY_MEASUREMENTS", "TABLE_HEADER", "UNCOMPARED_BACKENDS", "write_json", "jsonable",
           "fastest_backends", "format_table"]

# 2: jax rows, settings.device and threads.jax, machine.gpus, gemm.device, fastest.
# 3: the official backend (same-run official rows, official_source, settings.official, threads.official) and
#    the quantised backends (precision, accuracy).
# 4: the official code in two rounds, before and after our rows (official rows' rounds, speedup_range).
SCHEMA_VERSION = 4

# The official PyTorch implementations on 2 CPU cores, at `REFERENCE_SIZES`, measured on other days
# (the machine's speed varies from day to day): the fallback of rows without a same-run official row,
# labelled `official_source` "reference_constant". measurement -> preset -> value in the measurement's unit.
# Transformer lifters: one clip of their length at batch 1 (PyTorch 2.13 CPU, 2 threads, 2026-12-01).
OFFICIAL_REFERENCE = {
    "sequence_throughput": {  # frames/s
        "gast_27": 239.0, "gast_81": 210.0, "gast_243": 209.0,
        "videopose3d_27": 8145.0, "videopose3d_81": 5099.0, "videopose3d_243": 3396.0,
        "motionbert": 82.2, "motionbert_lite": 163.9,
        "motionagformer_xs": 390.3, "motionagformer_s": 238.2, "motionagformer_b": 136.1, "motionagformer_l": 75.1,
        "tcpformer_243": 37.1, "tcpformer_81": 71.0,
    },
    "single_frame_latency": {"gast_27": 12.0, "gast_81": 15.0, "gast_243": 23.8,  # ms
                             "videopose3d_27": 5.33, "videopose3d_81": 8.93, "videopose3d_243": 19.1},
    # clips/s at batch 4 of min(300, the preset's clip) frames, 2 persons: inference in eval mode under no_grad;
    # training: forward, cross-entropy, backward and the repository's optimizer step (PYSKL: SGD Nesterov with
    # weight decay; ST-TR: SGD Nesterov; MotionBERT: AdamW with its backbone / head groups). The official modules
    # of MS-G3D (`out += res` after a ReLU) and ST-TR (`Dropout(inplace=True)` on a ReLU output) modify tensors
    # autograd needs, which PyTorch 2.13 refuses; for timing those two operations were made out of place.
    "inference_throughput": {"st_tr_spatial_joint": 4.3, "st_tr_temporal_joint": 6.7,
                             "stgcn_pp": 6.85, "ctrgcn": 7.6, "aagcn": 5.72, "msg3d": 1.22,
                             "st_tr_temporal_agcn_joint": 1.7, "motionbert_action": 0.0805},
    "training_throughput": {"st_tr_spatial_joint": 1.42, "st_tr_temporal_joint": 0.73,
                            "stgcn_pp": 2.19, "ctrgcn": 2.11, "aagcn": 1.61, "msg3d": 0.483,
                            "st_tr_temporal_agcn_joint": 0.302, "motionbert_action": 0.0235},
}
REFERENCE_SIZES = {"frames": 1000, "clip_frames": 300, "batch": 4}
REFERENCE_THREADS = 2

UNITS = {"sequence_throughput": "frames/s", "single_frame_latency": "ms",
         "inference_throughput": "clips/s", "training_throughput": "clips/s",
         "ntu60_mix_inference_throughput": "clips/s"}
LATENCY_MEASUREMENTS = ("single_frame_latency",)
# Not our float32 backends: never the fastest, never compared with the official code (the quantised
# rows trade accuracy for speed; the official rows are the comparison itself).
UNCOMPARED_BACKENDS = ("official", "onnxruntime_int8", "onnxruntime_dynamic_int8", "tflite_int8", "tflite_float16")
CONSTANT_MARK = "†"


def write_json(report: dict, out) -> None:
    """Writes `report` to `out` atomically."""
    with atomic_write(out) as f:
        json.dump(report, f, indent=1)
        f.write("\n")


def jsonable(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def fastest_backends(results: list) -> list[dict]:
    """The fastest of our float32 backends on every model's inference
    measurement: the highest throughput, or the lowest latency (the official
    and quantised rows, `UNCOMPARED_BACKENDS`, are left out).

    Args:
        results: the report's result rows.

    Returns:
        [{"model", "measurement", "backend", "value", "unit"}], in the order
        the measurements first appear.
    """
    best = {}
    for r in results:
        if r["measurement"] == "training_throughput" or r["backend"] in UNCOMPARED_BACKENDS:
            continue
        key = r["model"], r["measurement"]
        lower = r["measurement"] in LATENCY_MEASUREMENTS
        if key not in best or (r["value"] < best[key]["value"] if lower else r["value"] > best[key]["value"]):
            best[key] = {"model": r["model"], "measurement": r["measurement"], "backend": r["backend"],
                         "value": r["value"], "unit": r["unit"]}
    return list(best.values())


def _num(value) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


TABLE_HEADER = ("model", "backend", "precision", "measurement", "value (unit)", "p50 / p90 ms", "official PyTorch",
                "× official", "GFLOP per output", "GFLOP/s", "% of peak")


def _precision(r: dict) -> str:
    """"float32", or e.g. "int8 (max 2.1 mm)" / "int8 (top-1 100%, logits ±0.08)" / "float16 (rel 3e-04)"."""
    precision, accuracy = r.get("precision") or "float32", r.get("accuracy")
    if not accuracy:
        return precision
    if accuracy.get("max_abs_error_mm") is not None:
        return f"{precision} (max {accuracy['max_abs_error_mm']:.3g} mm)"
    if accuracy.get("top1_agreement") is not None:
        return f"{precision} (top-1 {100 * accuracy['top1_agreement']:.0f}%, logits ±{accuracy['max_logit_diff']:.2g})"
    return f"{precision} (rel {accuracy['relative']:.1e})"


def format_table(report: dict) -> str:
    """The report as a markdown table (one row per result or error), followed
    by the machine, threads and notes."""
    rows = []
    constants = False
    for r in report["results"]:
        mark = ""
        if r.get("official") and r.get("official_source") == "reference_constant":
            mark, constants = f" {CONSTANT_MARK}", True
        official = f"{_num(r['official'])} {r['unit']}{mark}" if r.get("official") else "-"
        speedup = f"{r['speedup_vs_official']:.2f}×{mark}" if r.get("speedup_vs_official") else "-"
        if r.get("speedup_range"):
            speedup += " ({:.2f}–{:.2f})".format(*r["speedup_range"])
        value = f"{_num(r['value'])} {r['unit']}"
        if len(r.get("rounds") or ()) > 1:
            value += " (" + ", ".join(_num(round_["value"]) for round_ in r["rounds"]) + ")"
        per_output = _num(r["flops_per_output"] / 1e9) if r.get("flops_per_output") is not None else "-"
        peak = f"{100 * r['fraction_of_peak']:.1f}%" if r.get("fraction_of_peak") is not None else "-"
        rows.append((r["model"], r["backend"], _precision(r), r["measurement"], value,
                     f"{r['p50_ms']:.2f} / {r['p90_ms']:.2f}", official, speedup, per_output,
                     _num(r.get("gflops_per_s")), peak))
    for e in report["errors"]:
        message = " ".join(str(e["error"]).split())
        message = message if len(message) <= 100 else message[:97] + "..."
        rows.append((e["model"], e["backend"], "-", e["measurement"], f"error: {message}".replace("|", "/"),
                     *("-",) * 6))
    lines = ["| " + " | ".join(TABLE_HEADER) + " |", "|" + "|".join("---" for _ in TABLE_HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append("")
    if any(r.get("official_source") == "same_run" for r in report["results"]):
        lines.append("official PyTorch without a mark: the official rows of this run (same input, same threads).")
    if any(len(r.get("rounds") or ()) > 1 for r in report["results"]):
        lines.append("The official code ran before and after our rows: its value is the median of both rounds' times "
                     "(each round's value in brackets); × official in brackets: against the faster and the slower "
                     "round.")
    if constants:
        lines.append(f"{CONSTANT_MARK} Not measured in this run: the official PyTorch figure measured on "
                     f"{REFERENCE_THREADS} cores on another day (`report.OFFICIAL_REFERENCE`); the machine's speed "
                     f"varies from day to day, so this ratio is indicative only. --backends ...,official "
                     f"--official_python PATH measures it in the same run.")
    machine, settings = report["machine"], report["settings"]
    cpu = machine["cpu"]
    simd = cpu["simd"] + (f" (executed as {cpu['effective_simd_bits']}-bit halves)"
                          if cpu["effective_simd_bits"] != cpu["simd_bits"] else "")
    gemm = machine.get("gemm")
    gemm_text = (f"{gemm['gflops_per_s']:.1f} GFLOP/s (float32 {gemm['size']}x{gemm['size']} tf.matmul)"
                 if gemm else "not measured")
    gpus = machine.get("gpus")
    if gpus:
        gemm_text += f" on {gemm['device']}" if gemm else ""
        gpu_text = "; ".join(f"{g['device']} {g['name']}"
                             + (f", {g['memory_total_mib'] / 1024:.0f} GiB" if g.get("memory_total_mib") else "")
                             + (f", compute capability {g['compute_capability']}" if g.get("compute_capability")
                                else "") for g in gpus)
        lines.append(f"GPUs: {gpu_text}; keras / xla / jax run on GPU:0; GEMM ceiling {gemm_text}.")
        lines.append(f"Machine (host): {cpu['model']} ({cpu['vendor']}, family {cpu['family']}), {cpu['cores']} "
                     f"cores; no peak for the GPU run.")
    else:
        lines.append(f"Machine: {cpu['model']} ({cpu['vendor']}, family {cpu['family']}), {cpu['cores']} cores, "
                     f"{simd}{', FMA' if cpu['fma'] else ''}; peak {machine['peak_formula']} "
                     f"(clock: {cpu['clock_source']}); GEMM ceiling {gemm_text}.")
    t = settings["threads"]
    lines.append(f"Threads: TensorFlow intra-op {t['tf_intra']}, inter-op {t['tf_inter']}; "
                 + (f"JAX (XLA) {t['jax']} CPUs; " if "jax" in t else "")
                 + f"onnxruntime intra-op {t['onnxruntime']}, inter-op 1; LiteRT {t['tflite']}"
                 + (f"; official PyTorch {t['official']} (interop 1)" if "official" in t else "") + ".")
    official = settings.get("official")
    if official:
        versions = official.get("versions") or {}
        sources = "; ".join(f"{k} {v['path']}" + (f" @ {v['commit'][:10]}" if v.get("commit") else "")
                            for k, v in official["sources"].items())
        lines.append(f"Official PyTorch: {official['python']}"
                     + (f" (torch {versions['torch']})" if versions.get("torch") else "")
                     + (f"; sources {sources}" if sources else "; no --official_source") + ".")
    fastest = fastest_backends(report["results"])
    if fastest:
        lines.append("Fastest inference backend: " + "; ".join(
            f"{f['model']} {f['measurement']} {f['backend']} ({_num(f['value'])} {f['unit']})" for f in fastest)
            + ".")
    lines.append(f"Settings: {'device gpu, ' if settings.get('device') == 'gpu' else ''}"
                 f"{'quick, ' if settings['quick'] else ''}frames {settings['frames']}, clip_frames "
                 f"{settings['clip_frames']}, batch {settings['batch']}, warm-up {settings['warmup']}, repeats "
                 f"{settings['repeats']} (latency {settings['latency_repeats']})"
                 + (f", options {settings['options']}" if settings["options"] else "") + ".")
    if not any(r.get("official") for r in report["results"]) and not official:
        lines.append(f"Official references are shown only at their sizes (frames {REFERENCE_SIZES['frames']}; "
                     f"{REFERENCE_SIZES['clip_frames']}-frame clips, batch {REFERENCE_SIZES['batch']}), without "
                     f"--quick or --option.")
    over = [r for r in report["results"] if (r.get("fraction_of_peak") or 0) > 1]
    if over and machine.get("peak_gflops_per_s"):
        note = (f"the GEMM ceiling is {100 * gemm['gflops_per_s'] / machine['peak_gflops_per_s']:.0f}% of it"
                if gemm and machine.get("peak_gflops_per_s") else "")
        lines.append(f"Note: % of peak exceeds 100% in {len(over)} row(s): the peak uses the clock "
                     f"{cpu['clock_ghz']:.3g} GHz from {cpu['clock_source']}, below the turbo clock the cores "
                     f"actually run at" + (f" ({note})" if note else "") + ".")
    for note in report.get("notes", []):
        lines.append(f"Note: {note}")
    return "\n".join(lines)
