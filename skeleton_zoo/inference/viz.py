"""Rendering 3D (and 2D) skeleton sequences to GIF, MP4 or PNG with matplotlib.

    from skeleton_zoo.inference import viz
    viz.render_animation(poses_3d, "h36m17", "out.gif")            # (T, J, 3)
    viz.render_animation(poses_3d, "h36m17", "out.mp4",            # needs ffmpeg
                         keypoints_2d=kp, layout_2d="coco17")      # (T, J2, 2)
    viz.render_frame(poses_3d[0], "h36m17", "frame.png")           # (J, 3)

Everything is drawn on a private `matplotlib.figure.Figure` with an Agg
canvas: the pyplot state machine is never touched, so this is safe in
scripts, servers and notebooks alike, and needs no display.

Coordinates. 3D poses are taken in the camera frame of GAST-Net and
VideoPose3D outputs: x to the right, y down, z forward (away from the camera).
They are displayed as (-x, -z, -y): the plot's vertical axis is -y, so the
person stands upright, and its horizontal axes are x and the depth z, both
negated. That is (x, z, -y) turned 180 degrees about the vertical (a rotation,
never a mirror image), chosen so that the default `azimuth=70` looks at the
person from near the camera, 20 degrees to its left: the 3D panel shows the
same side of the person as the 2D image. Pass
`coordinates="world"` for poses already in a z-up world frame (e.g.
VideoPose3D after `camera_to_world`); they are then displayed as (x, y, z).
2D keypoints are in image coordinates (x right, y down) and shown with the y
axis pointing down, as on the image.

Colours. A bone (child, parent) takes the side of its child joint in the
layout: `LEFT_COLOR` for `joints_left`, `RIGHT_COLOR` for `joints_right` and
`CENTER_COLOR` for the rest (spine, head...).

Files are written atomically: to a temporary file in the destination folder,
renamed over `path` only once complete, so a failed render leaves nothing.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import numpy as np

from skeleton_zoo.layouts import SkeletonLayout, get_layout
from skeleton_zoo.utils.files import atomic_path

__all__ = [
    "LEFT_COLOR",
    "RIGHT_COLOR",
    "CENTER_COLOR",
    "render_animation",
    "render_frame",
    "bone_sides",
]

LEFT_COLOR = "#1f5fbf"  # blue
RIGHT_COLOR = "#d62728"  # red
CENTER_COLOR = "#303030"  # dark grey
_SIDE_COLORS = {"left": LEFT_COLOR, "right": RIGHT_COLOR, "center": CENTER_COLOR}
_ANIMATION_SUFFIXES = (".gif", ".mp4")
_COORDINATES = ("camera", "world")


# --- inputs -------------------------------------------------------------------
def bone_sides(layout) -> list[tuple[int, int, str]]:
    """(child, parent, side) per bone of `layout`; side is "left", "right" or
    "center", the side of the child joint."""
    layout = get_layout(layout)
    left, right = set(layout.joints_left), set(layout.joints_right)
    return [
        (child, parent, "left" if child in left else "right" if child in right else "center")
        for child, parent in layout.edges
    ]


def _as_people(values, layout: SkeletonLayout, dims: int, name: str, single_frame: bool) -> np.ndarray:
    """Validates poses and returns them as float64 (P, T, J, dims)."""
    where = f"{name} (layout '{layout.name}', {layout.num_joints} joints)"
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{where}: could not be read as a numeric array ({error}); several people must all "
            f"have the same number of frames and joints."
        ) from error
    base = 2 if single_frame else 3
    expected = "(J, {d}) or (P, J, {d})" if single_frame else "(T, J, {d}) or (P, T, J, {d})"
    expected = expected.format(d=dims)
    if array.ndim not in (base, base + 1):
        raise ValueError(f"{where}: expected shape {expected}, found {array.shape}.")
    if array.ndim == base:
        array = array[None]
    if single_frame:
        array = array[:, None]
    if array.shape[-1] != dims:
        raise ValueError(
            f"{where}: expected {dims} coordinates per joint (last axis), found shape "
            f"{tuple(np.shape(values))}; expected {expected}."
        )
    if array.shape[-2] != layout.num_joints:
        raise ValueError(
            f"{where}: expected {layout.num_joints} joints on axis -2, found "
            f"{array.shape[-2]} (shape {tuple(np.shape(values))})."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{where}: no people (shape {tuple(np.shape(values))}).")
    if array.shape[1] == 0:
        raise ValueError(f"{where}: zero frames (shape {tuple(np.shape(values))}).")
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite.all(axis=-1))
        person, frame, joint = (int(v) for v in bad[0])
        at = f"frame {frame}, joint {joint} ('{layout.joint_names[joint]}')"
        if array.shape[0] > 1:
            at = f"person {person}, " + at
        raise ValueError(
            f"{where}: non-finite values (NaN or inf) at {len(bad)} joint position(s), first at "
            f"{at}: {array[person, frame, joint].tolist()}."
        )
    return array


def _to_display(poses: np.ndarray, coordinates: str) -> np.ndarray:
    """Camera frame (x right, y down, z forward) -> plot (-x, -z, -y); world: as is."""
    if coordinates == "camera":
        return np.stack([-poses[..., 0], -poses[..., 2], -poses[..., 1]], axis=-1)
    return poses


def _cube_limits(points: np.ndarray, margin: float = 0.1) -> list[tuple[float, float]]:
    """Equal (lo, hi) limits for each of the 3 axes, centred on the data, covering
    every point in every frame with a relative margin."""
    flat = points.reshape(-1, 3)
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-6) * (1 + margin)
    return [(float(c - half), float(c + half)) for c in centre]


def _square_limits_2d(points: np.ndarray, margin: float = 0.1) -> tuple[tuple[float, float], tuple[float, float]]:
    flat = points.reshape(-1, 2)
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    centre = (lo + hi) / 2
    half = max(float((hi - lo).max()) / 2, 1e-6) * (1 + margin)
    return (centre[0] - half, centre[0] + half), (centre[1] + half, centre[1] - half)  # y down


# --- drawing --------------------------------------------------------------------
class _Scene:
    """One figure: a 3D panel and an optional 2D panel, with artists updated per frame."""

    def __init__(self, poses, layout, kp2d, layout_2d, size, dpi, elevation, azimuth, title, linewidth):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.poses, self.kp2d = poses, kp2d
        self.num_frames = poses.shape[1]
        panels = 1 if kp2d is None else 2
        self.figure = Figure(figsize=(size * panels, size + (0.35 if title else 0.0)), dpi=dpi)
        FigureCanvasAgg(self.figure)
        if title:
            self.figure.suptitle(title)
        top = 0.92 if title else 1.0

        self.ax3d = self.figure.add_subplot(1, panels, panels, projection="3d")
        self.ax3d.view_init(elev=elevation, azim=azimuth)
        (xl, yl, zl) = _cube_limits(poses)
        self.ax3d.set_xlim3d(*xl)
        self.ax3d.set_ylim3d(*yl)
        self.ax3d.set_zlim3d(*zl)
        if hasattr(self.ax3d, "set_box_aspect"):
            # The default (4, 4, 3) squashes height; zoom trims the wide empty margin
            # matplotlib leaves around 3D axes (the limits already hold a 10% margin).
            try:
                self.ax3d.set_box_aspect((1, 1, 1), zoom=1.2)
            except TypeError:  # matplotlib < 3.6: no zoom
                self.ax3d.set_box_aspect((1, 1, 1))
        self.ax3d.set_xticklabels([])
        self.ax3d.set_yticklabels([])
        self.ax3d.set_zticklabels([])
        self.ax3d.tick_params(length=0)
        self.bones3d = self._make_lines(self.ax3d, layout, poses.shape[0], linewidth, three_d=True)

        self.ax2d = None
        if kp2d is not None:
            self.ax2d = self.figure.add_subplot(1, panels, 1)
            xlim, ylim = _square_limits_2d(kp2d)
            self.ax2d.set_xlim(*xlim)
            self.ax2d.set_ylim(*ylim)
            self.ax2d.set_aspect("equal")
            self.ax2d.set_xticks([])
            self.ax2d.set_yticks([])
            self.ax2d.set_title("2D input", fontsize=9)
            self.ax3d.set_title("3D", fontsize=9)
            self.bones2d = self._make_lines(self.ax2d, layout_2d, kp2d.shape[0], linewidth, three_d=False)
        self.figure.subplots_adjust(left=0.02, right=0.98, bottom=0.06, top=top, wspace=0.05)
        self.counter = self.figure.text(0.99, 0.01, "", ha="right", va="bottom", fontsize=7, color="0.4")

    @staticmethod
    def _make_lines(ax, layout, num_people, linewidth, three_d):
        people = []
        empty = ([], [], []) if three_d else ([], [])
        for _ in range(num_people):
            lines = []
            for child, parent, side in bone_sides(layout):
                (line,) = ax.plot(*empty, color=_SIDE_COLORS[side], linewidth=linewidth,
                                  solid_capstyle="round")
                lines.append((child, parent, line))
            (dots,) = ax.plot(*empty, linestyle="none", marker="o", markersize=linewidth * 0.9,
                              color=CENTER_COLOR)
            people.append((lines, dots))
        return people

    def draw(self, frame: int):
        for person, (lines, dots) in enumerate(self.bones3d):
            pose = self.poses[person, frame]
            for child, parent, line in lines:
                seg = pose[[child, parent]]
                line.set_data_3d(seg[:, 0], seg[:, 1], seg[:, 2])
            dots.set_data_3d(pose[:, 0], pose[:, 1], pose[:, 2])
        if self.ax2d is not None:
            for person, (lines, dots) in enumerate(self.bones2d):
                pose = self.kp2d[person, frame]
                for child, parent, line in lines:
                    seg = pose[[child, parent]]
                    line.set_data(seg[:, 0], seg[:, 1])
                dots.set_data(pose[:, 0], pose[:, 1])
        if self.num_frames > 1:
            self.counter.set_text(f"frame {frame + 1}/{self.num_frames}")


def _prepare(poses, layout, keypoints_2d, layout_2d, coordinates, single_frame):
    layout = get_layout(layout)
    if coordinates not in _COORDINATES:
        raise ValueError(f"`coordinates` must be one of {_COORDINATES}, found {coordinates!r}.")
    name3d = "pose_3d" if single_frame else "poses_3d"
    poses = _to_display(_as_people(poses, layout, 3, name3d, single_frame), coordinates)
    kp2d = None
    if keypoints_2d is not None:
        layout_2d = layout if layout_2d is None else get_layout(layout_2d)
        kp2d = _as_people(keypoints_2d, layout_2d, 2, "keypoints_2d", single_frame)
        if kp2d.shape[1] != poses.shape[1]:
            raise ValueError(
                f"keypoints_2d has {kp2d.shape[1]} frames but {name3d} has {poses.shape[1]}; "
                f"they must match."
            )
    elif layout_2d is not None:
        raise ValueError("`layout_2d` was given without `keypoints_2d`.")
    return poses, layout, kp2d, layout_2d


# --- public API ---------------------------------------------------------------------
def render_animation(
    poses_3d,
    layout: "str | SkeletonLayout",
    path: "str | os.PathLike",
    keypoints_2d=None,
    layout_2d: "str | SkeletonLayout | None" = None,
    fps: float = 25,
    size: float = 4.0,
    elevation: float = 15.0,
    azimuth: float = 70.0,
    title: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    *,
    coordinates: str = "camera",
    dpi: int = 100,
    linewidth: float = 3.0,
) -> pathlib.Path:
    """Renders a 3D pose sequence (optionally beside its 2D input) to GIF or MP4.

    Args:
        poses_3d: array-like (T, J, 3), or (P, T, J, 3) / a list of P arrays
            (T, J, 3) for several people, all drawn in the same axes. J must
            be `layout.num_joints`. Camera frame by default (see `coordinates`).
        layout: layout name or `SkeletonLayout` of `poses_3d`.
        path: output file; ".gif" (Pillow, no external tool) or ".mp4"
            (needs ffmpeg on the PATH). Parent folders are created.
        keypoints_2d: optional array-like (T, J2, 2) or (P, T, J2, 2), image
            coordinates (x right, y down), drawn in a 2D panel left of the 3D
            one. T must match `poses_3d`.
        layout_2d: layout of `keypoints_2d`; defaults to `layout`.
        fps: frames per second of the output.
        size: height of the figure and width of each panel, in inches.
        elevation, azimuth: 3D camera angles in degrees (matplotlib
            `view_init`); the vertical plot axis is the person's up direction.
        title: optional figure title.
        progress: optional callable `progress(done, total)`, called after
            each frame is written with done = 1 ... total = T.
        coordinates: "camera" (x right, y down, z forward; displayed as
            (-x, -z, -y), see the module docstring) or "world" (z up; displayed as is).
        dpi: pixels per inch; the output is (size * panels * dpi) x (size * dpi).
        linewidth: bone width in points.

    Returns:
        pathlib.Path of the written file. The 3D axes keep the same equal-scaled
        limits over the whole sequence (they cover every frame), so motion
        through space shows. Each frame carries a "frame i/T" counter. Note
        that GIF encoders merge identical consecutive frames.

    Raises:
        ValueError: bad shapes, joint counts, zero frames, non-finite values,
            an unsupported suffix or mismatched frame counts.
        RuntimeError: ".mp4" requested but ffmpeg is not available.
    """
    from matplotlib import animation

    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in _ANIMATION_SUFFIXES:
        raise ValueError(
            f"render_animation: unsupported output '{path.name}'; the suffix must be one of "
            f"{_ANIMATION_SUFFIXES} (use render_frame for a single image)."
        )
    if not fps > 0:
        raise ValueError(f"render_animation: `fps` must be positive, found {fps}.")
    poses, layout, kp2d, layout_2d = _prepare(poses_3d, layout, keypoints_2d, layout_2d, coordinates, False)
    if suffix == ".gif":
        writer = animation.PillowWriter(fps=fps)
    else:
        if not animation.writers.is_available("ffmpeg"):
            raise RuntimeError(
                "render_animation: writing .mp4 needs ffmpeg, which was not found (looked for "
                f"{__import__('matplotlib').rcParams['animation.ffmpeg_path']!r}). Install ffmpeg "
                "(e.g. `apt-get install ffmpeg` or `conda install ffmpeg`), set "
                "matplotlib.rcParams['animation.ffmpeg_path'], or write a .gif instead."
            )
        writer = animation.FFMpegWriter(fps=fps, codec="h264", extra_args=["-pix_fmt", "yuv420p"])

    scene = _Scene(poses, layout, kp2d, layout_2d, size, dpi, elevation, azimuth, title, linewidth)
    total = scene.num_frames
    with atomic_path(path) as temp:
        with writer.saving(scene.figure, str(temp), dpi):
            for frame in range(total):
                scene.draw(frame)
                writer.grab_frame()
                if progress is not None:
                    progress(frame + 1, total)
    return path


def render_frame(
    pose_3d,
    layout: "str | SkeletonLayout",
    path: "str | os.PathLike",
    keypoints_2d=None,
    layout_2d: "str | SkeletonLayout | None" = None,
    size: float = 4.0,
    elevation: float = 15.0,
    azimuth: float = 70.0,
    title: str | None = None,
    *,
    coordinates: str = "camera",
    dpi: int = 100,
    linewidth: float = 3.0,
) -> pathlib.Path:
    """Renders one 3D pose (optionally beside its 2D input) to an image.

    Args:
        pose_3d: array-like (J, 3), or (P, J, 3) for several people.
        layout: layout name or `SkeletonLayout` of `pose_3d`.
        path: output image; ".png" normally, any format matplotlib's Agg
            canvas saves (".jpg", ".pdf", ".svg"...) works.
        keypoints_2d: optional array-like (J2, 2) or (P, J2, 2), image
            coordinates (x right, y down).
        layout_2d: layout of `keypoints_2d`; defaults to `layout`.
        Other arguments as in `render_animation`.

    Returns:
        pathlib.Path of the written file (written atomically).

    Raises:
        ValueError: bad shapes, joint counts, non-finite values or an
            unsupported image format.
    """
    path = pathlib.Path(path)
    poses, layout, kp2d, layout_2d = _prepare(pose_3d, layout, keypoints_2d, layout_2d, coordinates, True)
    scene = _Scene(poses, layout, kp2d, layout_2d, size, dpi, elevation, azimuth, title, linewidth)
    formats = scene.figure.canvas.get_supported_filetypes()
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in formats:
        raise ValueError(
            f"render_frame: unsupported image format '{path.suffix}' for '{path.name}'; "
            f"expected one of {sorted('.' + f for f in formats)}."
        )
    scene.draw(0)
    with atomic_path(path) as temp:
        scene.figure.savefig(temp, format=fmt, dpi=dpi)
    return path
