"""Classifies skeleton clips with an action-recognition preset (`skeleton_zoo.inference.classify`):

    python -m skeleton_zoo classify S001C001P001R001A001.skeleton --model st_tr_2s_joint \\
        --weights s_tr.pt,t_tr.pt
    python -m skeleton_zoo classify clip.npz --model st_tr_spatial_bone --weights s_tr_bones.pt --json
    python -m skeleton_zoo classify ntu60_3danno.pkl --split xsub_val --model stgcn_pp_4s \\
        --weights j.pth,b.pth,jm.pth,bm.pth

Inputs: raw NTU `.skeleton` files (normalised as the `ntu_rgbd` builder does)
or `.npz` files with normalised `joints` (`skeleton_zoo.formats.clip_files`),
cut or zero-padded to 300 frames; PYSKL annotation pickles (every video, or
those of `--split` / `--videos`); 2D keypoint files for PYSKL's COCO-17
models. Output: the `--top` classes of each file (of each video of a pickle:
its frame_dir, file and label) (rank, class index, name, probability);
`--json` writes only a JSON list of `{"file", "top": [{"rank", "index",
"name", "probability"}]}` (pickles: also "video", "label") to stdout.

Every file is read and checked before anything is printed. A bad input file
prints one line `error: FILE: PROBLEM` on stderr and exits with status 2; a
model or weights problem prints `error: ...` and exits with status 1.
"""

from __future__ import annotations

import json
import sys

from absl import app, flags

from skeleton_zoo.cli.common import FLAGS, check_output_files, define_model_flags, define_overwrite_flag, start


def define_flags() -> None:
    define_model_flags(model_help="Action-recognition preset, e.g. st_tr_2s_joint (see `python -m skeleton_zoo "
                                  "list`).")
    flags.DEFINE_bool("json", False, "Print only a JSON list of {file, top: [{rank, index, name, "
                                     "probability}]} to stdout.")
    flags.DEFINE_integer("top", 5, "Classes listed per file.", lower_bound=1)
    flags.DEFINE_string("render", None, "Also render the first file's skeletons (.gif, .mp4 or .png).")
    flags.DEFINE_integer("batch_size", 8, "Clips per model call.", lower_bound=1)
    flags.DEFINE_float("width", None, "Image width in pixels of 2D keypoint files (when the file does not say).",
                       lower_bound=1)
    flags.DEFINE_float("height", None, "Image height in pixels of 2D keypoint files.", lower_bound=1)
    flags.DEFINE_list("videos", None, "PYSKL annotation pickles: only videos whose frame_dir starts with these "
                                      "prefixes, e.g. S001C001P001R001A001,S002. Default: all.")
    flags.DEFINE_string("split", None, "PYSKL annotation pickles: only the videos of this split of the file, "
                                       "e.g. xsub_val. Default: every video.")
    flags.DEFINE_bool("skip_empty_persons", True, "Run all-zero (padding) persons once per clip length instead of "
                                                  "in every clip (the same scores up to float rounding); "
                                                  "--noskip_empty_persons runs the plain model.")
    define_overwrite_flag("--render file")


def main(argv) -> int:
    overrides = start(argv, positional=True)
    paths = argv[1:]
    if not paths:
        raise app.UsageError("expected the .skeleton, .npz, .pkl or 2D keypoint file(s) to classify. Examples: "
                             "python -m skeleton_zoo classify S001C001P001R001A001.skeleton "
                             "--model st_tr_2s_joint --weights s_tr.pt,t_tr.pt; python -m skeleton_zoo classify "
                             "detections.json --model stgcn_pp --option layout=coco17 --weights j.pth")
    from skeleton_zoo.formats.clip_files import SUFFIXES
    from skeleton_zoo.inference import classify

    check_output_files(FLAGS.overwrite, render=FLAGS.render)
    if FLAGS.render and not paths[0].lower().endswith(SUFFIXES):
        raise app.UsageError(f"--render draws an NTU clip: the first file must be .skeleton or .npz, found "
                             f"'{paths[0]}'.")
    results = classify.classify_files(paths, FLAGS.model, weights=FLAGS.weights, top=FLAGS.top,
                                      overrides=overrides, batch_size=FLAGS.batch_size, width=FLAGS.width,
                                      height=FLAGS.height, videos=FLAGS.videos, split=FLAGS.split,
                                      skip_empty_persons=FLAGS.skip_empty_persons)
    if FLAGS.weights is None:
        print(f"warning: no --weights given: '{FLAGS.model}' is randomly initialised, its predictions are "
              f"meaningless.", file=sys.stderr)
    if FLAGS.render:
        try:
            classify.render_clip(paths[0], FLAGS.render)
        except (ValueError, RuntimeError, OSError) as error:
            raise RuntimeError(f"--render {FLAGS.render}: {error}") from error
    print(json.dumps(results, indent=1) if FLAGS.json else classify.format_results(results))
    return 0
