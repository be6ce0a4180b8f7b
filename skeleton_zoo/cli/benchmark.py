"""CPU (or GPU) inference and training speed, against the hardware peak and
the official PyTorch figures (`skeleton_zoo.benchmark`):

    python -m skeleton_zoo benchmark                           # every default model and backend
    python -m skeleton_zoo benchmark --quick --out quick.json  # smaller sizes, fewer repeats
    python -m skeleton_zoo benchmark --models gast_9 --backends keras,onnxruntime --option channels=16
    python -m skeleton_zoo benchmark --device gpu              # on TensorFlow's first GPU
    python -m skeleton_zoo benchmark --models gast_27 --backends keras,official \
        --official_python ~/torch/bin/python --official_source gast=~/GAST-Net-3DPoseEstimation

Prints a markdown table and writes the JSON report (rewritten after every
measurement). A failing backend is recorded and the run goes on; the exit
status is then 1.
"""

from __future__ import annotations

import sys

from absl import flags

from skeleton_zoo.benchmark._official_worker import SOURCES
from skeleton_zoo.benchmark.measure import BACKENDS, DEFAULT_BACKENDS, DEFAULT_MODELS, DEVICES, QUICK_MODELS
from skeleton_zoo.cli.common import FLAGS, check_output_files, define_option_flag, define_overwrite_flag, start


def define_flags() -> None:
    flags.DEFINE_list("models", None, "Presets (python -m skeleton_zoo list), of any task. Default: "
                                      f"{','.join(DEFAULT_MODELS)} (quick: {','.join(QUICK_MODELS)}).")
    flags.DEFINE_list("backends", list(DEFAULT_BACKENDS), f"Subset of {', '.join(BACKENDS)} (jax: in a "
                                                          "KERAS_BACKEND=jax child process; official: the official "
                                                          "PyTorch code in an --official_python child; *_int8 / "
                                                          "tflite_float16: quantised exports; skip_empty_persons: "
                                                          "action models on an NTU-60 one/two-person mix; these "
                                                          "three kinds are opt-in).")
    flags.DEFINE_enum("device", "cpu", list(DEVICES), "cpu: GPUs hidden from TensorFlow. gpu: keras / xla / jax on "
                                                      "the first GPU (onnxruntime with CUDA only, no tflite); an "
                                                      "error when TensorFlow sees no GPU.")
    flags.DEFINE_bool("quick", False, "Smaller sizes and fewer repeats (243 output frames, 64-frame clips, "
                                      "3 repeats, 20 latency repeats, 1 warm-up).")
    flags.DEFINE_string("out", "bench.json", "JSON report, rewritten after every measurement.")
    flags.DEFINE_integer("threads", 0, "CPU threads of TensorFlow (intra-op), ONNX Runtime and LiteRT, CPUs of "
                                       "the jax process; 0: every CPU of the process.")
    flags.DEFINE_integer("repeats", None, "Timed calls per measurement. Default: 10, latency 50 "
                                          "(quick: 3 / 20).")
    flags.DEFINE_integer("warmup", None, "Untimed calls before each measurement. Default 2 (quick 1).")
    flags.DEFINE_integer("frames", None, "Pose lifting: output frames of the sequence measurement. "
                                         "Default 1000 (quick 243).")
    flags.DEFINE_integer("clip_frames", None, "Action recognition: frames per clip. Default 300 (quick 64).")
    flags.DEFINE_integer("batch", None, "Action recognition: clips per call. Default 4.")
    flags.DEFINE_string("official_python", None, "Python interpreter with torch and numpy for the official backend "
                                                 "(the official PyTorch code timed in the same run).")
    flags.DEFINE_multi_string("official_source", [], "NAME=DIR: a checkout of an official repository, NAME one of "
                                                     f"{', '.join(SOURCES)}. Repeatable.")
    flags.DEFINE_alias("official-python", "official_python")
    flags.DEFINE_alias("official-source", "official_source")
    define_option_flag()
    define_overwrite_flag("--out report")


def main(argv) -> int:
    overrides = start(argv)  # the exporters log every SavedModel they write at INFO
    from skeleton_zoo.benchmark import format_table, run_benchmark

    check_output_files(FLAGS.overwrite, out=FLAGS.out or None)
    report = run_benchmark(FLAGS.models, FLAGS.backends, quick=FLAGS.quick, out=FLAGS.out or None,
                           threads=FLAGS.threads, repeats=FLAGS.repeats, frames=FLAGS.frames,
                           clip_frames=FLAGS.clip_frames, batch=FLAGS.batch, overrides=overrides,
                           warmup=FLAGS.warmup, device=FLAGS.device, official_python=FLAGS.official_python,
                           official_sources=FLAGS.official_source)
    print(format_table(report))
    if FLAGS.out:
        print(f"\nReport written to {FLAGS.out}")
    for e in report["errors"]:
        print(f"error: {e['model']} {e['backend']} {e['measurement']}: {e['error']}", file=sys.stderr)
    return 1 if report["errors"] else 0
