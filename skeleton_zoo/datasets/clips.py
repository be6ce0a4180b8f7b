"""Action-recognition clips as model input, made as the model's official
pipeline makes them:

- ST-TR-style (input features `layouts.skeleton_features`, "joint",
  "joint+bone"): the `ntu_rgbd` and `kinetics_skeleton` builders' examples,
  padded as the official pipeline pads;
- PYSKL's (input a PYSKL stream "j" / "b" / "jm" / "bm"): the
  `pyskl_skeleton` builder's videos through `formats.pyskl`, the configs'
  train pipeline (one random 100-frame clip per video) or val pipeline (one
  seeded clip);
- MotionBERT's (input "motionbert"): the `pyskl_skeleton` builder's HRNet
  videos through `formats.motionbert_ntu`, one 243-frame item per video
  (train: random resampling, random_move, crop_scale [1, 3]; test:
  deterministic, crop_scale [2, 2]).

`clip_source` says which one fits a model and a dataset, or why none does."""

from __future__ import annotations

from skeleton_zoo.datasets.common import dataset_info, shuffle_map_batch
from skeleton_zoo.layouts import get_layout, skeleton_features

__all__ = ["load_action_clips", "clip_source"]

# Builders of ST-TR-style clips (-> their layout); PYSKL's clips come from `pyskl_skeleton`.
_STTR_LAYOUTS = {"ntu_rgbd": "ntu25", "kinetics_skeleton": "openpose18"}
_PYSKL_EXAMPLES = "pyskl_skeleton/ntu60_3d_xsub (3D joints) or pyskl_skeleton/ntu60_hrnet_xsub (2D HRNet)"


def clip_source(features: str, builder, name: str) -> str:
    """Which pipeline makes clips of `features` from `builder`'s dataset.

    Args:
        features: the model's `input_features`: ST-TR-style parts ("joint",
            "joint+bone", ...), PYSKL streams ("j", "b", "jm", "bm", or
            an ensemble's "j+b+jm+bm") or "motionbert".
        builder: the TFDS builder of `name`.
        name: the dataset, as the user gave it (for messages).

    Returns:
        "pyskl", "motionbert" or "sttr".

    Raises:
        ValueError: the model's input is not made from this dataset (a
            PYSKL model on `ntu_rgbd`, an ST-TR model on `pyskl_skeleton`).
    """
    from skeleton_zoo.formats.motionbert_ntu import INPUT_FEATURES as MOTIONBERT
    from skeleton_zoo.formats.pyskl import STREAMS

    if features == MOTIONBERT:
        if builder.name != "pyskl_skeleton" or "img_shape" not in builder.info.features:
            config = f"/{builder.builder_config.name}" if builder.builder_config else ""
            raise ValueError(f"--dataset '{name}': MotionBERT's action clips are made from PYSKL's HRNet 2D "
                             f"keypoints, a pyskl_skeleton *_hrnet_* config (e.g. pyskl_skeleton/ntu60_hrnet_xsub, "
                             f"its recipe's default), not '{builder.name}{config}'.")
        return "motionbert"
    pyskl_input = all(part in STREAMS for part in str(features).split("+"))
    if builder.name == "pyskl_skeleton":
        if not pyskl_input:
            raise ValueError(f"--dataset '{name}': PYSKL's annotation files make clips for models whose input is "
                             f"a PYSKL stream ({', '.join(STREAMS)}: stgcn_pp, ctrgcn, aagcn, msg3d); this model's "
                             f"input is '{features}' (ST-TR-style clips come from "
                             f"{', '.join(sorted(_STTR_LAYOUTS))}).")
        return "pyskl"
    if pyskl_input:
        raise ValueError(f"--dataset '{name}': the model's input is PYSKL's stream '{features}', which PYSKL's "
                         f"pipeline makes from its annotation files, not from '{builder.name}'. Use a "
                         f"pyskl_skeleton dataset, e.g. {_PYSKL_EXAMPLES}.")
    if builder.name not in _STTR_LAYOUTS:
        raise ValueError(f"--dataset '{name}': ST-TR-style clips are made from {sorted(_STTR_LAYOUTS)}, not "
                         f"'{builder.name}'.")
    return "sttr"


def load_action_clips(name: str, split: str, features: str, batch_size: int, shuffle: bool = True,
                      seed: int = 0, data_dir=None, manual_dir=None, frames: int | None = None,
                      builder=None, drop_remainder: bool = False, test_mode: bool | None = None):
    """Clips of a split as model input, by the model's official pipeline
    (`clip_source`).

    ST-TR-style (`ntu_rgbd`, `kinetics_skeleton`): every example padded as
    the official pipeline pads; Kinetics-Skeleton's train pipeline then
    applies ST-TR's Kinetics train feeder (`_kinetics_train_clips`: 150
    random consecutive frames, random_move), NTU's nothing. PYSKL's (`pyskl_skeleton`): per video
    PreNormalize3D / PreNormalize2D, the stream(s), UniformSampleFrames of one
    clip, FormatGCNInput(num_person=2) (`formats.pyskl`). In train mode
    (PYSKL's `test_mode=False`) the clip is random: each video draws from its
    own `np.random.RandomState`, seeded from a stream of `seed` that differs
    every epoch (`_video_seeds`); in test mode it is the val pipeline's
    (seed 255), the same every time. MotionBERT's (`pyskl_skeleton` HRNet
    configs): per video the official NTU item (`_motionbert_clips`).

    Args:
        name: TFDS name, e.g. "ntu_rgbd/xsub60", "kinetics_skeleton" or
            "pyskl_skeleton/ntu60_3d_xsub".
        split: "train" or "test" ("validation" for Kinetics).
        features: the model's input features: "joint" (3 channels),
            "joint+bone" (6: [joints || bones]), ... (`layouts.skeleton_features`),
            or PYSKL streams "j", "b", "jm", "bm" (3 channels each; "+"-joined
            for an ensemble, side by side in that order), or "motionbert".
        batch_size: global batch size.
        shuffle: shuffle the examples (seeded by `seed`).
        seed: the run's seed (shuffling; PYSKL's train-mode sampling).
        frames: clip length. Defaults to the official one: 300 (ST-TR), 100 (PYSKL),
            243 (MotionBERT).
        test_mode: PYSKL, MotionBERT and Kinetics-Skeleton: the val / test
            pipeline (True) or the train pipeline (False). Defaults to
            `split != "train"`.

    Returns:
        `tf.data.Dataset` of `(skeleton (B, frames, V, 2, 3 per part), label (B,))`, V = 25
        (NTU 3D), 17 (PYSKL's HRNet COCO-17) or 18 (Kinetics; 150 frames in its train pipeline).
    """

    from tfds_builders import kinetics_skeleton, ntu_rgbd

    builder = builder or dataset_info(name, data_dir, manual_dir)
    source = clip_source(features, builder, name)
    if source == "motionbert":
        return _motionbert_clips(builder, split, batch_size, shuffle, seed, frames or 243, drop_remainder,
                                 split != "train" if test_mode is None else test_mode)
    if source == "pyskl":
        return _pyskl_clips(builder, split, features, batch_size, shuffle, seed, frames or 100, drop_remainder,
                            split != "train" if test_mode is None else test_mode)
    frames = frames or 300
    # the builder -> how its examples become official-length clips
    pad = {"ntu_rgbd": ntu_rgbd.pad_to_official_length,
           "kinetics_skeleton": kinetics_skeleton.pad_to_official_length}[builder.name]
    layout = get_layout(_STTR_LAYOUTS[builder.name])

    def clip(example):
        joints = pad(example, frames)["joints"]  # (frames, V, 2, 3)
        return skeleton_features(joints, features, layout, joint_axis=1), example["label"]

    if builder.name == "kinetics_skeleton" and not (split != "train" if test_mode is None else test_mode):
        return _map_videos(builder, split, _kinetics_train_feeder(clip), batch_size, shuffle, seed, drop_remainder,
                           seeded=True)
    return _map_videos(builder, split, clip, batch_size, shuffle, seed, drop_remainder)


def _map_videos(builder, split, function, batch_size, shuffle, seed, drop_remainder, seeded=False):
    """The split's examples (files and a buffer of up to 4096 shuffled with
    `seed`) through `function`, batched. `seeded`: `function(example,
    video_seed)`, the seeds from `_video_seeds` zipped in the stored order, so
    a video's draws do not depend on the shuffle buffer."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    ds = builder.as_dataset(split=split, shuffle_files=shuffle, read_config=tfds.ReadConfig(shuffle_seed=seed))
    if seeded:
        ds = tf.data.Dataset.zip((ds, _video_seeds(seed)))
    buffer = min(builder.info.splits[split].num_examples, 4096) if shuffle else 0
    return shuffle_map_batch(ds, function, buffer, seed, batch_size, drop_remainder)


# ST-TR's Kinetics `train_feeder_args` (config/st_gcn/kinetics-skeleton/train.yaml; its test feeder has none).
# ST-TR's NTU configs set no augmentation.
_KINETICS_TRAIN_FEEDER = {"random_choose": True, "random_move": True, "window_size": 150}


def _kinetics_train_feeder(clip):
    """`clip` (example -> padded input features, label) followed by ST-TR's
    Kinetics train feeder on the features
    (`formats.stgcn_feeder.train_feeder` with `_KINETICS_TRAIN_FEEDER`): 150 random consecutive
    frames of the 300, randomly rotated, scaled and translated; each video's
    draws are seeded from `_video_seeds` (new every epoch)."""
    import tensorflow as tf

    from skeleton_zoo.formats import stgcn_feeder

    def augmented(example, video_seed):
        features, label = clip(example)  # (300, V, M, C)

        def feeder(x, s):
            return stgcn_feeder.train_feeder(x, int(s) % 2 ** 32, **_KINETICS_TRAIN_FEEDER)

        out = tf.numpy_function(feeder, [features, video_seed], tf.float32, stateful=False)
        out.set_shape((_KINETICS_TRAIN_FEEDER["window_size"], *features.shape[1:]))
        return out, label

    return augmented


def _video_seeds(seed: int):
    """An endless `tf.data.Dataset` of int64 seeds, one per video: the same
    sequence for the same `seed` (and TF global seed), a new one every
    time the dataset is iterated (every epoch)."""
    import tensorflow as tf

    return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)


def _pyskl_clips(builder, split, features, batch_size, shuffle, seed, clip_len, drop_remainder, test_mode):
    """PYSKL's train / val pipeline on `pyskl_skeleton` videos (see `load_action_clips`)."""
    import numpy as np
    import tensorflow as tf

    from skeleton_zoo.formats import pyskl

    from tfds_builders.pyskl_skeleton import keypoint_dtype

    info = builder.info
    layout = info.metadata["layout"]  # "ntu25" (3D) or "coco17" (HRNet 2D with scores)
    stored = keypoint_dtype(info)
    _, num_joints, num_persons, channels = info.features["joints"].shape
    is_2d = "img_shape" in info.features
    streams = str(features).split("+")

    def video_clip(joints, img_shape, video_seed):
        keypoint = np.transpose(joints, (2, 0, 1, 3))  # (T, V, M, C) -> PYSKL's (M, T, V, C)
        if not is_2d:  # PreNormalize3D computes in the file's dtype (PreNormalize2D in float32)
            keypoint = keypoint.astype(stored)
        kwargs = (dict(keypoint=keypoint[..., :2], keypoint_score=keypoint[..., 2], img_shape=tuple(img_shape))
                  if is_2d else dict(keypoint=keypoint))
        parts = []
        for stream in streams:  # every stream of a video samples the same frames
            if test_mode:
                clip = pyskl.test_clips(**kwargs, stream=stream, layout=layout, clip_len=clip_len, num_clips=1,
                                        num_person=num_persons)[0][0]
            else:
                rng = np.random.RandomState(int(video_seed) % 2 ** 32)
                clip = pyskl.train_clip(**kwargs, stream=stream, layout=layout, clip_len=clip_len,
                                        num_person=num_persons, rng=rng)[0]
            parts.append(clip)
        return np.concatenate(parts, axis=-1).astype(np.float32)

    def clip(example, video_seed):
        img_shape = example["img_shape"] if is_2d else tf.zeros((2,), tf.int32)
        skeleton = tf.numpy_function(video_clip, [example["joints"], img_shape, video_seed], tf.float32,
                                     stateful=False)
        skeleton.set_shape((clip_len, num_joints, num_persons, channels * len(streams)))
        return skeleton, example["label"]

    return _map_videos(builder, split, clip, batch_size, shuffle, seed, drop_remainder, seeded=True)


def _motionbert_clips(builder, split, batch_size, shuffle, seed, clip_len, drop_remainder, test_mode):
    """MotionBERT's NTU items (`formats.motionbert_ntu.action_clip`) of
    `pyskl_skeleton` HRNet videos, one per video: (clip_len, 17 H36M joints,
    2 persons, (x, y, score)).

    Train mode: random_move and the crop ratio draw from a `RandomState`
    seeded per video from `_video_seeds` (new every epoch); the resampling's
    is seeded from `seed` and the video's name, so it is the same every epoch,
    as the official draws it once when its dataset is built. A video with one
    person is tracked as one (the builder's zero second person is not
    tracked); of more than two, the first two are used (the builder keeps
    those; the official would carry the others along, their x, y zeroed by
    `human_tracking`).
    """
    import zlib

    import numpy as np
    import tensorflow as tf

    from skeleton_zoo.formats import motionbert_ntu
    from tfds_builders.pyskl_skeleton import keypoint_dtype

    stored = keypoint_dtype(builder.info)

    def video_clip(joints, img_shape, num_persons, frame_dir, video_seed):
        persons = min(max(int(num_persons), 1), 2)
        keypoint = np.transpose(joints[:, :, :persons], (2, 0, 1, 3))  # (T, V, M, C) -> (M, T, V, C)
        xy = keypoint[..., :2].astype(stored)  # the official make_cam computes in the file's float16
        if test_mode:
            return motionbert_ntu.action_clip(xy, keypoint[..., 2], tuple(img_shape), clip_len)
        resample_rng = np.random.RandomState([seed % 2 ** 32, zlib.crc32(frame_dir)])
        return motionbert_ntu.action_clip(xy, keypoint[..., 2], tuple(img_shape), clip_len, train=True,
                                          rng=np.random.RandomState(int(video_seed) % 2 ** 32),
                                          resample_rng=resample_rng)

    def clip(example, video_seed):
        skeleton = tf.numpy_function(
            video_clip, [example["joints"], example["img_shape"], example["num_persons"], example["frame_dir"],
                         video_seed], tf.float32, stateful=False)
        skeleton.set_shape((clip_len, 17, 2, 3))
        return skeleton, example["label"]

    return _map_videos(builder, split, clip, batch_size, shuffle, seed, drop_remainder, seeded=True)
