"""`skeleton_zoo.inference.viz`: GIF/PNG rendering of 3D (and 2D) skeletons, side colours,
input validation and atomic writes."""

import numpy as np
import pytest
from PIL import Image

from skeleton_zoo.inference import viz
from skeleton_zoo.layouts import get_layout

FRAMES = 12


def walking_h36m17(frames=FRAMES):
    """A walking-ish h36m17 sequence (T, 17, 3) in the camera frame (x right,
    y down, z forward), metres; the person faces the camera 3 m away."""
    base = np.array([
        [0, 0, 0], [-0.13, 0, 0], [-0.13, 0.45, 0], [-0.13, 0.9, 0],
        [0.13, 0, 0], [0.13, 0.45, 0], [0.13, 0.9, 0],
        [0, -0.25, 0], [0, -0.5, 0], [0, -0.6, -0.05], [0, -0.72, 0],
        [0.18, -0.48, 0], [0.22, -0.2, 0], [0.24, 0.05, 0],
        [-0.18, -0.48, 0], [-0.22, -0.2, 0], [-0.24, 0.05, 0]])
    out = []
    for t in range(frames):
        s = np.sin(2 * np.pi * t / frames)
        p = base.copy()
        p[[2, 3], 2] += [-0.2 * s, -0.35 * s]  # right leg
        p[[5, 6], 2] += [0.2 * s, 0.35 * s]  # left leg
        p[[12, 13], 2] += [-0.15 * s, -0.3 * s]  # arms swing against the legs
        p[[15, 16], 2] += [0.15 * s, 0.3 * s]
        out.append(p + [0.0, 0.0, 3.0 - 0.03 * t])
    return np.stack(out)


def project(poses, focal=1000.0, centre=500.0):
    return focal * poses[..., :2] / poses[..., 2:3] + centre


@pytest.fixture(scope="module")
def poses():
    return walking_h36m17()


def _rgb(image_path):
    return np.asarray(Image.open(image_path).convert("RGB"), dtype=np.int16)


def _count_colour(pixels, hex_colour, tolerance=30):
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(pixels - target).max(axis=-1) <= tolerance).sum())


def test_bone_sides_follow_child_joint():
    sides = {(c, p): s for c, p, s in viz.bone_sides("h36m17")}
    assert sides[(5, 4)] == "left" and sides[(12, 11)] == "left"
    assert sides[(2, 1)] == "right" and sides[(16, 15)] == "right"
    assert sides[(7, 0)] == "center" and sides[(10, 9)] == "center"
    assert len(sides) == get_layout("h36m17").num_joints - 1


def test_gif_has_one_frame_per_pose(poses, tmp_path):
    calls = []
    out = viz.render_animation(poses, "h36m17", tmp_path / "walk.gif", fps=10,
                               progress=lambda i, n: calls.append((i, n)))
    assert out == tmp_path / "walk.gif" and out.is_file()
    with Image.open(out) as gif:
        assert gif.n_frames == FRAMES
    assert calls == [(i, FRAMES) for i in range(1, FRAMES + 1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.gif"]  # no temp left


def test_png_is_not_blank_and_sides_have_their_colours(poses, tmp_path):
    out = viz.render_frame(poses[3], "h36m17", tmp_path / "frame.png", title="frame 3")
    pixels = _rgb(out)
    assert pixels.shape == (435, 400, 3)  # size 4 in at 100 dpi, plus the title strip
    assert pixels.astype(float).var() > 100.0
    left = _count_colour(pixels, viz.LEFT_COLOR)
    right = _count_colour(pixels, viz.RIGHT_COLOR)
    centre = _count_colour(pixels, viz.CENTER_COLOR)
    assert left > 100 and right > 100 and centre > 50, (left, right, centre)
    assert viz.LEFT_COLOR != viz.RIGHT_COLOR


def test_person_is_upright(poses, tmp_path):
    # Camera y points down: the head (centre colour) must be drawn above every
    # coloured (left/right) bone. Upside down, the legs would rise above the hip.
    pixels = _rgb(viz.render_frame(poses[0], "h36m17", tmp_path / "f.png"))

    def mask(colour):
        target = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
        return np.abs(pixels - target).max(axis=-1) <= 20

    sides = mask(viz.LEFT_COLOR) | mask(viz.RIGHT_COLOR)
    columns = np.nonzero(sides.any(axis=0))[0]
    band = slice(columns.min(), columns.max() + 1)  # the skeleton, not the axis ticks
    centre_rows = np.nonzero(mask(viz.CENTER_COLOR)[:, band].any(axis=1))[0]
    side_rows = np.nonzero(sides.any(axis=1))[0]
    assert centre_rows.min() < side_rows.min() - 10
    # Tall, not squashed: the figure spans most of the panel height.
    assert side_rows.max() - centre_rows.min() > 0.5 * pixels.shape[0]


def test_2d_side_panel(poses, tmp_path):
    kp = project(poses)
    gif = viz.render_animation(poses, "h36m17", tmp_path / "both.gif", keypoints_2d=kp)
    with Image.open(gif) as image:
        assert image.n_frames == FRAMES and image.size == (800, 400)
    png = viz.render_frame(poses[0], "h36m17", tmp_path / "both.png", keypoints_2d=kp[0])
    pixels = _rgb(png)
    assert pixels.shape[:2] == (400, 800)
    left_half, right_half = pixels[:, :400], pixels[:, 400:]
    for half in (left_half, right_half):
        assert _count_colour(half, viz.LEFT_COLOR) > 50 and _count_colour(half, viz.RIGHT_COLOR) > 50


def test_2d_panel_with_another_layout(poses, tmp_path):
    coco = np.random.default_rng(0).uniform(100, 400, size=(FRAMES, 17, 2))
    out = viz.render_animation(poses[:, :, :], "h36m17", tmp_path / "c.gif",
                               keypoints_2d=coco, layout_2d="coco17")
    assert out.is_file()


def test_several_people(poses, tmp_path):
    two = np.stack([poses, poses + [1.0, 0.0, 0.5]])
    out = viz.render_animation(two, "h36m17", tmp_path / "two.gif")
    with Image.open(out) as gif:
        assert gif.n_frames == FRAMES
    assert viz.render_frame(list(two[:, 0]), "h36m17", tmp_path / "two.png").is_file()


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p[:, :16], "expected 17 joints"),
        (lambda p: p[..., :2], "expected 3 coordinates"),
        (lambda p: p[:0], "zero frames"),
        (lambda p: p[0, 0], r"expected shape \(T, J, 3\)"),
        (lambda p: np.where(np.arange(17)[None, :, None] == 5, np.nan, p), r"non-finite.*frame 0, joint 5 \('left_knee'\)"),
        (lambda p: [p, p[:5]], "same number of frames"),
    ],
)
def test_bad_poses_raise(poses, tmp_path, make, match):
    with pytest.raises(ValueError, match=match):
        viz.render_animation(make(poses), "h36m17", tmp_path / "bad.gif")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_raise(poses, tmp_path):
    with pytest.raises(ValueError, match="suffix must be one of"):
        viz.render_animation(poses, "h36m17", tmp_path / "x.avi")
    with pytest.raises(ValueError, match="12 frames but"):
        viz.render_animation(poses[:6], "h36m17", tmp_path / "x.gif", keypoints_2d=project(poses))
    with pytest.raises(ValueError, match="keypoints_2d.*expected 25 joints"):
        viz.render_animation(poses, "h36m17", tmp_path / "x.gif", keypoints_2d=project(poses), layout_2d="ntu25")
    inf = project(poses)
    inf[4, 2, 1] = np.inf
    with pytest.raises(ValueError, match=r"keypoints_2d.*non-finite.*frame 4, joint 2"):
        viz.render_animation(poses, "h36m17", tmp_path / "x.gif", keypoints_2d=inf)
    with pytest.raises(ValueError, match="expected 17 joints"):
        viz.render_frame(poses[0, :10], "h36m17", tmp_path / "x.png")
    with pytest.raises(ValueError, match="unsupported image format"):
        viz.render_frame(poses[0], "h36m17", tmp_path / "x.bmpx")
    with pytest.raises(ValueError, match="Unknown layout"):
        viz.render_frame(poses[0], "h36m71", tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []


def test_failed_render_leaves_no_file(poses, tmp_path):
    target = tmp_path / "walk.gif"

    def explode(i, total):
        if i == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        viz.render_animation(poses, "h36m17", target, progress=explode)
    assert list(tmp_path.iterdir()) == []

    # An existing file is left untouched by a failed render.
    target.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        viz.render_animation(poses, "h36m17", target, progress=explode)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["walk.gif"]


def test_mp4_without_ffmpeg_is_a_clear_error(poses, tmp_path, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(RuntimeError, match="needs ffmpeg"):
        viz.render_animation(poses, "h36m17", tmp_path / "walk.mp4")
    assert list(tmp_path.iterdir()) == []
