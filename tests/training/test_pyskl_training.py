"""PYSKL's training pipeline on the `pyskl_skeleton` builder's dummy data:
the train clips (one random clip per video, per-run seeded, new every epoch)
and the validation clips (the val pipeline's seeded clip) equal
`formats.pyskl` applied by hand; a tiny ST-GCN++ trains with the family's
recipe; models and datasets of the other pipeline, or of another layout,
are refused before a run folder exists."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from skeleton_zoo import registry
from skeleton_zoo.datasets.clips import _video_seeds, clip_source, load_action_clips
from skeleton_zoo.formats import pyskl, pyskl_annotations
from skeleton_zoo.tasks import get_task
from skeleton_zoo.training import trainer as training

import tfds_builders  # noqa: F401  (registers the builders)
from tfds_builders.pyskl_skeleton import pyskl_skeleton

TINY = {"base_channels": 8, "num_stages": 1}  # the smallest ST-GCN++ (6 temporal branches need 8 channels)


@pytest.fixture(scope="module")
def data_dir(pyskl_data_dir):
    return pyskl_data_dir


def _annotations(config):
    """The dummy annotation file's videos by frame_dir, as stored (float16, as PYSKL's files)."""
    data = pyskl_annotations.read_annotations(
        pyskl_skeleton._HERE / "dummy_data" / pyskl_skeleton.PysklSkeleton.builder_configs[config].pkl_file)
    return {a["frame_dir"]: a for a in data.annotations}


def _by_hand(video, features, layout, clip_len, seed=None, annotations=None):
    """`formats.pyskl` on one video of the annotation file, its first 2 persons as stored (the
    pipelines compute in the file's float16): train_clip with RandomState(seed), or the val
    pipeline's clip."""
    annotation = annotations[video["frame_dir"].decode()]
    kwargs = dict(keypoint=annotation["keypoint"][:2])
    if layout == "coco17":
        kwargs = dict(keypoint=annotation["keypoint"][:2], keypoint_score=annotation["keypoint_score"][:2],
                      img_shape=tuple(annotation["img_shape"]))
    clips = []
    for stream in features.split("+"):
        if seed is None:
            clips.append(pyskl.test_clips(**kwargs, stream=stream, layout=layout, clip_len=clip_len, num_clips=1)[0][0])
        else:
            rng = np.random.RandomState(int(seed) % 2 ** 32)
            clips.append(pyskl.train_clip(**kwargs, stream=stream, layout=layout, clip_len=clip_len, rng=rng)[0])
    return np.concatenate(clips, axis=-1)


@pytest.mark.parametrize("config,features,frames", [
    ("ntu60_3d_xsub", "j", None),          # PYSKL's 100 frames: the dummy videos (7-15 frames) wrap around
    ("ntu60_3d_xsub", "bm", 8),            # 9 and 15 frames: consecutive frames with random skips
    ("ntu60_hrnet_xsub", "jm", 5),         # 12 and 15 frames: one random frame per segment
    ("ntu60_hrnet_xsub", "j+b", 8),        # an ensemble's streams side by side, the same frames
])
def test_train_and_validation_clips_are_pyskl_pipelines_applied_by_hand(data_dir, config, features, frames):
    builder = tfds.builder(f"pyskl_skeleton/{config}", data_dir=data_dir)
    layout = builder.info.metadata["layout"]
    assert pyskl_skeleton.keypoint_dtype(builder.info) == "float16"
    annotations = _annotations(config)
    clip_len = frames or 100
    seed = 7
    train = load_action_clips(builder.name, "train", features, 8, shuffle=False, seed=seed, frames=frames,
                              builder=builder)
    epochs = [next(iter(train)) for _ in range(2)]
    videos = list(tfds.as_numpy(builder.as_dataset(split="train", shuffle_files=False)))
    seeds = _video_seeds(seed).take(len(videos))
    for (clips, labels), epoch_seeds in zip(epochs, [list(seeds.as_numpy_iterator()) for _ in range(2)]):
        assert clips.shape == (len(videos), clip_len, 17 if layout == "coco17" else 25, 2, 3 * len(features.split("+")))
        np.testing.assert_array_equal(labels, [v["label"] for v in videos])
        expected = [_by_hand(v, features, layout, clip_len, s, annotations) for v, s in zip(videos, epoch_seeds)]
        np.testing.assert_array_equal(clips.numpy(), np.stack(expected))
    assert not np.array_equal(epochs[0][0], epochs[1][0])  # a new random clip every epoch
    # The same run seed gives the same clips; each video keeps its clip when the examples are shuffled.
    again = next(iter(load_action_clips(builder.name, "train", features, 8, shuffle=True, seed=seed, frames=frames,
                                        builder=builder)))
    order = [list(again[1].numpy()).index(v["label"]) for v in videos]
    np.testing.assert_array_equal(again[0].numpy()[order], epochs[0][0].numpy())

    if layout == "ntu25":  # PreNormalize3D in float16 is not the float32 computation: the dtype is kept
        video = annotations[videos[0]["frame_dir"].decode()]["keypoint"][:2]
        assert np.abs(pyskl.pre_normalize_3d(video) - pyskl.pre_normalize_3d(video.astype(np.float32))).max() > 1e-4
    validation = load_action_clips(builder.name, "test", features, 8, shuffle=False, frames=frames, builder=builder)
    test_videos = list(tfds.as_numpy(builder.as_dataset(split="test", shuffle_files=False)))
    expected = np.stack([_by_hand(v, features, layout, clip_len, annotations=annotations) for v in test_videos])
    for _ in range(2):  # PYSKL's val pipeline: seeded, the same every time
        clips, labels = next(iter(validation))
        np.testing.assert_array_equal(clips.numpy(), expected)
        np.testing.assert_array_equal(labels, [v["label"] for v in test_videos])


def test_stgcn_pp_trains_per_stream_with_the_pyskl_recipe(data_dir, tmp_path):
    """The family's default dataset (PYSKL's NTU-60 X-Sub 3D file), a motion stream, cosine lr from 0.1; the
    final evaluation is PYSKL's 10-clip test protocol."""
    recipe = registry.get_family("pyskl").recipe
    assert recipe.default_dataset == "pyskl_skeleton/ntu60_3d_xsub"
    config = training.TrainConfig(model="stgcn_pp", data_dir=data_dir, out=str(tmp_path), epochs=1, batch_size=2,
                                  options={**TINY, "stream": "jm"}, verbose=0)
    result = training.train(config)
    assert result["dataset"] == "pyskl_skeleton/ntu60_3d_xsub"
    (epoch,) = result["history"]
    assert np.isfinite(epoch["loss"]) and {"top1", "val_top1", "val_top5"} <= set(epoch)
    np.testing.assert_allclose(epoch["learning_rate"], 0.1, rtol=1e-6)
    assert result["metrics"]["protocol"] == "pyskl" and set(result["metrics"]["streams"]) == {"stgcn_pp"}
    model = registry.load("stgcn_pp", stream="jm", **TINY)
    model.load_weights(tmp_path / "best.weights.h5")


def test_the_layout_follows_the_dataset_and_other_pipelines_are_refused(data_dir, tmp_path):
    task = get_task("action_recognition")
    hrnet = tfds.builder("pyskl_skeleton/ntu60_hrnet_xsub", data_dir=data_dir)
    model = task.build(registry.get_preset("stgcn_pp"), options=TINY, builder=hrnet, training=True)
    assert model.layout.name == "coco17" and model.input_shape[2] == 17

    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"--dataset 'pyskl_skeleton/ntu60_hrnet_xsub' holds 'coco17' skeletons, "
                                         r"the model stgcn_pp has layout 'ntu25' \(--option layout\): leave --option "
                                         r"layout out"):
        training.train(training.TrainConfig(model="stgcn_pp", dataset="pyskl_skeleton/ntu60_hrnet_xsub",
                                            data_dir=data_dir, out=str(out), options={**TINY, "layout": "ntu25"}))
    with pytest.raises(ValueError, match=r"--dataset 'pyskl_skeleton/ntu60_3d_xsub': PYSKL's annotation files make "
                                         r"clips for models whose input is a PYSKL stream .* input is 'joint'"):
        training.train(training.TrainConfig(model="st_tr_temporal_joint", dataset="pyskl_skeleton/ntu60_3d_xsub",
                                            data_dir=data_dir, out=str(out),
                                            options={"backbone": [[16, 16, 1], [16, 32, 2]]}))
    assert not out.exists()
    ntu = tfds.builder("ntu_rgbd/xsub60", data_dir=str(tmp_path / "unprepared"))
    with pytest.raises(ValueError, match=r"--dataset 'ntu_rgbd/xsub60': the model's input is PYSKL's stream 'bm'.*"
                                         r"not from 'ntu_rgbd'\. Use a pyskl_skeleton dataset"):
        clip_source("bm", ntu, "ntu_rgbd/xsub60")
    assert clip_source("joint+bone", ntu, "ntu_rgbd/xsub60") == "sttr"
    with pytest.raises(ValueError, match=r"Train stgcn_pp --option stream=j, stgcn_pp --option stream=b, .*"
                                         r"stgcn_pp --option stream=bm, then evaluate stgcn_pp_4s with "
                                         r"--weights J,B,JM,BM"):
        training.train(training.TrainConfig(model="stgcn_pp_4s", data_dir=data_dir, out=str(out)))
