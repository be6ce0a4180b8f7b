"""`python -m skeleton_zoo demo`: the whole pose-lifting path, offline.

Lifts a synthetic 2D walk shipped with the package (`data/demo_walk_coco17.npz`:
60 frames of COCO-17 keypoints in a 1280x720 image at 25 fps, made
procedurally: a side-on walk with swinging limbs and three weak wrist
detections) with gast_27, renders `demo.gif`, and runs the real-time streamer
(gast_27_causal) over the same frames. Without weights the models are randomly
initialised, and the demo says so.
"""

from __future__ import annotations

import importlib.resources
import pathlib
import time

import numpy as np

__all__ = ["DEMO_CLIP", "OUTPUTS", "run_demo"]

DEMO_CLIP = "data/demo_walk_coco17.npz"
OUTPUTS = ("poses.npz", "demo.gif", "demo.png", "streamed.npy")


def _clip_path() -> pathlib.Path:
    return pathlib.Path(str(importlib.resources.files("skeleton_zoo").joinpath(DEMO_CLIP)))


def run_demo(out_dir="demo", weights=None, causal_weights=None, echo=print) -> dict:
    """Runs the demo; returns the paths written and the streaming speed.

    Args:
        out_dir: folder for `poses.npz`, `demo.gif`, `demo.png`.
        weights: gast_27 weights (a file, e.g. `27_frame_model.bin`, or a tag);
            None: the official weights when they are in the cache, else random.
        causal_weights: gast_27_causal weights for the streamer; None as
            `weights`.
    """
    import keras

    import skeleton_zoo
    from skeleton_zoo.inference import lift, viz
    from skeleton_zoo.formats.camera import normalize_screen_coordinates
    from skeleton_zoo.inference.streaming import PoseStreamer
    from skeleton_zoo.utils.files import atomic_write, make_folder

    out = pathlib.Path(out_dir)
    make_folder(out, "--out_dir")
    from skeleton_zoo import registry
    from skeleton_zoo.weights import hub

    chosen = {}
    for name, given, flag in (("gast_27", weights, "--weights"), ("gast_27_causal", causal_weights,
                                                                   "--causal_weights")):
        preset = registry.get_preset(name)
        if given is None and hub.available(preset):
            given = "official"
            echo(f"Using {name}'s official weights from the cache.")
        elif given is None:
            echo(f"Note: no weights for {name}: it is randomly initialised, so its 3D poses are not meaningful. "
                 f"{hub.how_to_get(preset)}; or pass {flag} FILE.")
        chosen[name] = given
    weights, causal_weights = chosen["gast_27"], chosen["gast_27_causal"]
    start = time.perf_counter()
    echo(f"1/3 Lifting {_clip_path().name} (60 frames) with gast_27 ...")
    result = lift.lift_file(_clip_path(), model=skeleton_zoo.load("gast_27", weights=weights))
    lift.save_result(result, out / "poses.npz")
    echo(f"    {int(result['filled'].sum())} weak joints interpolated; {time.perf_counter() - start:.1f} s")

    echo("2/3 Rendering demo.gif ...")
    poses, keypoints = result["poses_3d"][0], result["keypoints_2d"][0]
    bar = keras.utils.Progbar(len(poses), unit_name="frame")
    viz.render_animation(poses, "h36m17", out / "demo.gif", keypoints_2d=keypoints, fps=25,
                         progress=lambda done, total: bar.update(done))
    viz.render_frame(poses[len(poses) // 2], "h36m17", out / "demo.png", keypoints_2d=keypoints[len(poses) // 2])

    echo("3/3 Streaming the same frames through gast_27_causal, one at a time ...")
    with np.load(_clip_path()) as clip:
        frames = normalize_screen_coordinates(clip["keypoints"], w=int(clip["width"]), h=int(clip["height"]))
    from skeleton_zoo.formats.keypoints import coco17_to_h36m17

    frames = coco17_to_h36m17(frames).astype(np.float32)  # affine: normalising first changes nothing
    streamer = PoseStreamer("gast_27_causal", weights=causal_weights)
    streamer.push(frames[0])  # compile
    streamer.reset()
    tick = time.perf_counter()
    streamed = np.stack([streamer.push(frame) for frame in frames])
    fps = len(frames) / (time.perf_counter() - tick)
    with atomic_write(out / "streamed.npy", "wb") as f:
        np.save(f, streamed)
    echo(f"    {fps:.0f} frames/s on this machine ({1000 / fps:.1f} ms per frame)")
    written = {"poses": out / "poses.npz", "gif": out / "demo.gif", "png": out / "demo.png",
               "streamed": out / "streamed.npy"}
    echo("Wrote: " + ", ".join(str(p) for p in written.values()))
    return {**{k: str(v) for k, v in written.items()}, "stream_fps": fps}
