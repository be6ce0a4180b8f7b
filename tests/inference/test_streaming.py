"""PoseStreamer: frame-by-frame causal lifting equals the offline causal
sequence model on the whole (edge-padded) clip at every frame."""

import numpy as np
import pytest

import skeleton_zoo
from skeleton_zoo.evaluation.protocols import predict_sequences
from skeleton_zoo.inference.streaming import PoseStreamer


@pytest.fixture(scope="module")
def streamer_and_sequence():
    streamer = PoseStreamer("gast_9_causal", channels=16)
    seq = skeleton_zoo.load("gast_9_causal", variant="sequence", channels=16)
    seq.set_weights(streamer.model.get_weights())
    return streamer, seq


def _clip(seed, frames=30, joints=17):
    rng = np.random.default_rng(seed)
    # a smooth-ish random walk in normalised screen coordinates
    return (rng.uniform(-0.5, 0.5, (1, joints, 2))
            + np.cumsum(rng.normal(0, 0.02, (frames, joints, 2)), axis=0)).astype(np.float32)


def _offline(seq, clip):
    return predict_sequences(seq, [clip], flip=False)[0]


def test_streamer_matches_offline_causal_sequence_model(streamer_and_sequence):
    streamer, seq = streamer_and_sequence
    assert streamer.receptive_field == 9 and streamer.model.variant == "single_frame"
    clip = _clip(0)
    expected = _offline(seq, clip)
    assert expected.shape == (30, 17, 3)
    streamer.reset()
    for t, frame in enumerate(clip):
        pose = streamer.push(frame)
        assert pose.shape == (17, 3) and pose.dtype == np.float32
        # includes the first rf - 1 frames, where the past is edge padded
        np.testing.assert_allclose(pose, expected[t], atol=1e-4, rtol=0, err_msg=f"frame {t}")
    assert streamer.frames_seen == 30


def test_output_uses_only_past_frames(streamer_and_sequence):
    streamer, seq = streamer_and_sequence
    clip = _clip(1, frames=12)
    streamer.reset()
    first = streamer.push_many(clip[:6])
    changed = clip.copy()
    changed[6:] += 1.0  # the future differs
    streamer.reset()
    np.testing.assert_array_equal(streamer.push_many(changed[:6]), first)


def test_reset_restarts_the_clip(streamer_and_sequence):
    streamer, seq = streamer_and_sequence
    a, b = _clip(2, frames=15), _clip(3, frames=12)
    streamer.reset()
    streamer.push_many(a)
    streamer.reset()
    assert streamer.frames_seen == 0
    np.testing.assert_allclose(streamer.push_many(b), _offline(seq, b), atol=1e-4, rtol=0)


def test_push_many_equals_push(streamer_and_sequence):
    streamer, _ = streamer_and_sequence
    clip = _clip(4, frames=11)
    streamer.reset()
    many = streamer.push_many(clip)
    streamer.reset()
    np.testing.assert_array_equal(many, np.stack([streamer.push(f) for f in clip]))


def test_non_causal_preset_refused():
    with pytest.raises(ValueError, match="not causal"):
        PoseStreamer("gast_9", channels=16)
    with pytest.raises(ValueError, match="not causal"):
        PoseStreamer("gast_9_causal", channels=16, causal=False)


def test_wrong_shape_refused(streamer_and_sequence):
    streamer, _ = streamer_and_sequence
    streamer.reset()
    for bad in (np.zeros((17, 3)), np.zeros((16, 2)), np.zeros((1, 17, 2)), np.zeros(34)):
        with pytest.raises(ValueError, match=r"expected one frame of shape \(17, 2\).*found shape"):
            streamer.push(bad)
    assert streamer.frames_seen == 0  # nothing was buffered
    with pytest.raises(ValueError, match="push_many"):
        streamer.push_many(np.zeros((5, 34)))
