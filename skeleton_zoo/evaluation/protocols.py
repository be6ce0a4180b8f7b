"""Paper-style evaluation protocols of the two tasks.

Pose lifting: the (dilated) sequence network over whole test sequences
(edge-padded by half a receptive field, shifted for causal models, as
VideoPose3D's `UnchunkedGenerator`), averaged with its prediction on the
mirrored input (test-time flip); MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE
and MPJVE in mm, per action as the papers' tables (`skeleton_zoo.evaluation.reports`).
Action recognition: top-1 / top-5 per stream and fused, per-class accuracy,
confusion matrix PNG; for PYSKL's models, PYSKL's test protocol (every video
pre-normalised, its stream features made, 10 clips of 100 frames sampled,
softmax averaged over the clips, streams fused with their weights).

Used by `python -m skeleton_zoo evaluate` and at the end of training, through the tasks.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["sequence_lifter", "predict_sequences", "evaluate_pose_model", "evaluate_motionbert_protocol",
           "evaluate_action_models", "pyskl_video_scores", "evaluate_pyskl_protocol"]


def sequence_lifter(model, flip: bool = True):
    """A function lifting one whole sequence (see `predict_sequences`), built
    once (the model is traced once on TensorFlow).

    Returns:
        `lift(keypoints (T, J, F)) -> poses (T, J, 3)` float32.
    """
    import keras

    from skeleton_zoo.datasets.poses import flip_pose
    from skeleton_zoo.tasks.pose_lifting import (causal_shift, clip_frames, clip_slices, resample_indices,
                                                 with_confidence, with_variant)

    model = with_variant(model, "sequence")
    clip = clip_frames(model)
    fixed = clip is not None and getattr(model, "fixed_clip", False)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    else:
        run = lambda x: model(x, training=False)  # noqa: E731

    def lift(x):  # (T, J, F) -> (T, J, 3), flip-averaged
        batch = np.stack([x, flip_pose(x, model.layout)]) if flip else x[None]
        y = keras.ops.convert_to_numpy(run(keras.ops.convert_to_tensor(batch, "float32")))
        return (y[0] + flip_pose(y[1], model.layout)) / 2 if flip else y[0]

    def lift_sequence(x):
        x = with_confidence(x, model)
        if clip is not None:
            parts = []
            for part in clip_slices(len(x), clip):
                frames = part.stop - part.start
                if fixed and frames < clip:  # stretched by repeated frames, mapped back
                    indices, back = resample_indices(frames, clip)
                    parts.append(lift(x[part][indices])[back])
                else:
                    parts.append(lift(x[part]))
            y = np.concatenate(parts)
        else:
            pad, shift = (model.receptive_field - 1) // 2, causal_shift(model)
            y = lift(np.pad(x, ((pad + shift, pad - shift), (0, 0), (0, 0)), mode="edge"))  # as VideoPose3D
        return y.astype(np.float32)

    return lift_sequence


def predict_sequences(model, keypoints_2d, flip: bool = True):
    """3D poses for whole sequences, one output frame per input frame.

    Receptive-field lifters run once per sequence, edge-padded (VideoPose3D's
    `UnchunkedGenerator`); sequence-to-sequence lifters run on consecutive
    clips of `model.clip_frames`, the last one shorter (MotionBERT's
    `infer_wild.py`) or, for fixed-clip models, stretched to a whole clip by
    repeated frames and mapped back (MotionAGFormer's demo).

    Args:
        model: a pose-lifting model (a family's strided variant runs as its
            dilated "sequence" twin, same weights).
        keypoints_2d: list of (T_i, J, 2) arrays, normalised screen
            coordinates, or (T_i, J, 3) with the detection confidence for
            models that take it (given (T_i, J, 2), they get confidence 1).
        flip: average with the prediction on the mirrored input, mirrored back.

    Returns:
        list of (T_i, J, 3) float32 root-relative poses.
    """
    lift = sequence_lifter(model, flip)
    return [lift(x) for x in keypoints_2d]


def evaluate_motionbert_protocol(model, builder, split: str = "test", flip: bool = True,
                                 out: str | None = None) -> dict:
    """MotionBERT's official Human3.6M scoring (train.py `evaluate`) of any
    lifter on the `human36m_motionbert` dataset: clips of the model's length
    (243 for receptive-field lifters, which see each clip edge-padded),
    flip-averaged, root set to 0, de-normalised by the camera width, times the
    per-frame 2.5D factor, root-relative MPJPE / P-MPJPE / acceleration error
    (mm) per frame averaged over covering clips, per action, then over
    actions; the three official videos skipped.

    Returns:
        `{"mpjpe", "p_mpjpe", "acceleration_error", "per_action", "num_frames", "skipped"}`.
    """
    import json

    import tensorflow_datasets as tfds

    from skeleton_zoo.formats import motionbert_h36m
    from skeleton_zoo.tasks.pose_lifting import clip_frames
    from skeleton_zoo.utils.files import write_text

    lift = sequence_lifter(model, flip)
    features = int(getattr(model, "in_features", 2))
    clip = clip_frames(model) or 243
    videos = []
    for example in tfds.as_numpy(builder.as_dataset(split=split)):
        w, h = (int(v) for v in example["resolution"])
        videos.append(motionbert_h36m.MotionBERTVideo(
            source=example["source"].decode(), action=example["action"].decode(), camera=example["camera"].decode(),
            resolution=(w, h),
            keypoints_2d=np.concatenate([example["keypoints_2d"], example["confidence"][..., None]], axis=-1),
            pose_3d=example["pose_3d"], joints_2_5d=example["joints_2_5d"], factor_2_5d=example["factor_2_5d"]))

    def predict(video, frames):
        y = lift(video.keypoints_2d[frames][..., :features]).astype(np.float64)
        y[:, 0] = 0  # rootrel: the root of the prediction set to 0, as the official test loop
        return y

    result = motionbert_h36m.score_videos(videos, predict, clip)
    result = {"protocol": "motionbert", "clip_frames": clip, **result}
    if out:
        os.makedirs(out, exist_ok=True)
        write_text(os.path.join(out, "pose_metrics.json"), json.dumps(result, indent=2))
    return result


def evaluate_pose_model(model, sequences, flip: bool = True, out: str | None = None) -> dict:
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE (mm) per action and averaged.

    Args:
        model: a pose-lifting model.
        sequences: `skeleton_zoo.datasets.poses.PoseSequences` (test split).
        flip: test-time flip averaging.
        out: folder for `pose_metrics.json`, `pose_metrics.csv`, `pose_metrics.md`.

    Returns:
        `{"mpjpe": Avg, "p_mpjpe": ..., "n_mpjpe": ..., "mpjve": ..., "per_action": table}`.
    """
    from skeleton_zoo.evaluation import metrics, reports
    from skeleton_zoo.utils.files import write_text

    predictions = predict_sequences(model, sequences.keypoints_2d, flip=flip)
    records = []
    for pred, target, action, subject in zip(predictions, sequences.poses_3d, sequences.actions,
                                             sequences.subjects):
        record = {"action": action, "subject": subject, "num_frames": len(target),
                  "mpjpe": 1000 * metrics.mpjpe(pred, target),
                  "p_mpjpe": 1000 * metrics.p_mpjpe(pred, target),
                  "n_mpjpe": 1000 * metrics.n_mpjpe(pred, target)}
        if len(target) > 1:
            record["mpjve"] = 1000 * metrics.mpjve(pred, target)
        records.append(record)
    keys = ["mpjpe", "p_mpjpe", "n_mpjpe"] + (["mpjve"] if all("mpjve" in r for r in records) else [])
    table = reports.action_table(records, metrics=keys)
    print(reports.format_table(table))
    if out:  # the writers make the folder
        reports.write_json(table, os.path.join(out, "pose_metrics.json"))
        reports.write_csv(table, os.path.join(out, "pose_metrics.csv"))
        write_text(os.path.join(out, "pose_metrics.md"), reports.format_table(table) + "\n")
    return {**{k: float(table[k]["Avg"]) for k in keys}, "per_action": reports._jsonable(table)}


def _report_classification(logits: dict, labels, builder, out, fusion, weights=None, unit="clips") -> dict:
    """The classification report of `{stream: (N, classes) scores}`, printed and written to `out`."""
    from skeleton_zoo.evaluation import reports
    from skeleton_zoo.utils.files import write_text

    names = builder.info.features["label"].names if "label" in builder.info.features.keys() else None
    report = reports.classification_report(logits, labels, names, fusion=fusion, weights=weights)
    for stream, result in report["results"].items():
        print(f"{stream}: top-1 {100 * result['top1']:.2f}%, top-5 {100 * result['top5']:.2f}% "
              f"({report['num_samples']} {unit})")
    primary = report["results"][report["primary"]]
    if out:
        reports.write_json(report, os.path.join(out, "classification.json"))
        write_text(os.path.join(out, "classification.md"), reports.format_classification(report) + "\n")
        reports.save_confusion_matrix_png(primary["confusion_matrix"], report["class_names"],
                                          os.path.join(out, "confusion_matrix.png"))
    return {"top1": float(primary["top1"]), "top5": float(primary["top5"]),
            "streams": {k: {"top1": float(v["top1"]), "top5": float(v["top5"])}
                        for k, v in report["results"].items()}}


def evaluate_action_models(models: dict, dataset, builder, out: str | None = None,
                           fusion: str = "logits", skip_empty_persons: bool = True) -> dict:
    """Top-1 / top-5 per stream (and fused), per-class accuracy, confusion matrix.

    Args:
        models: `{stream name: model}`, e.g. `{"spatial": s_tr, "temporal": t_tr}`.
        dataset: `(skeleton, label)` batches, not shuffled.
        builder: the TFDS builder (for class names).
        out: folder for `classification.json`, `classification.md`, `confusion_matrix.png`.
        skip_empty_persons: run zero-padded persons once per clip length
            (`inference.empty_persons`; the same logits up to float rounding)
            for the models that support it. Defaults to True.

    Returns:
        `{"top1": ..., "top5": ..., "streams": {name: {"top1", "top5"}}}` of the primary entry.
    """
    from skeleton_zoo.inference.empty_persons import EmptyPersonSkipper, scorer

    labels = np.concatenate([y.numpy() for _, y in dataset])
    logits = {}
    for name, model in models.items():
        run = scorer(model, skip_empty_persons)
        if isinstance(run, EmptyPersonSkipper):
            logits[name] = np.concatenate([run(x.numpy()) for x, _ in dataset], axis=0)
        else:
            logits[name] = model.predict(dataset.map(lambda x, y: x), verbose=0)
    return _report_classification(logits, labels, builder, out, fusion)


def pyskl_video_scores(model, joints, layout: str, img_shape=None, clip_len: int = 100, num_clips: int = 10,
                       batch_size: int = 16):
    """PYSKL's test-time score of videos for one single-stream model: the
    whole pipeline of `formats.pyskl.test_clips` (pre-normalisation, the
    model's stream, `num_clips` uniformly sampled clips), softmax averaged
    over the clips (`RecognizerGCN.forward_test`).

    Args:
        model: a classifier whose `input_features` is a PYSKL stream.
        joints: list of (T, V, M, 3) arrays, our layout: NTU x y z, or COCO
            x y (pixels) and score; in their source's dtype (PYSKL's files:
            float16, which PreNormalize3D computes in).
        layout: "ntu25" or "coco17".
        img_shape: COCO only: list of (height, width), one per video.
        clip_len, num_clips: UniformSampleFrames' test setting. Defaults 100, 10.
        batch_size: clips per model call.

    Returns:
        (videos, num_classes) float64 probabilities.
    """
    from skeleton_zoo.formats import pyskl

    clips = []
    for i, video in enumerate(joints):
        keypoint = np.transpose(np.asarray(video), (2, 0, 1, 3))  # (M, T, V, C)
        if not np.issubdtype(keypoint.dtype, np.floating):
            keypoint = keypoint.astype(np.float32)
        if layout == "coco17":
            clip, _ = pyskl.test_clips(keypoint[..., :2], model.input_features, layout, keypoint[..., 2],
                                       tuple(img_shape[i]), clip_len, num_clips, model.num_persons)
        else:
            clip, _ = pyskl.test_clips(keypoint, model.input_features, layout, None, clip_len=clip_len,
                                       num_clips=num_clips, num_person=model.num_persons)
        clips.append(clip)
    logits = model.predict(np.concatenate(clips), batch_size=batch_size, verbose=0)
    return pyskl.clip_probabilities(logits.reshape(len(clips), num_clips, -1))


def evaluate_pyskl_protocol(models: dict, dataset, builder, out: str | None = None, weights=None,
                            clip_len: int = 100, num_clips: int = 10, batch_size: int = 16,
                            num_videos: int | None = None, videos_per_step: int = 64,
                            skip_empty_persons: bool = True) -> dict:
    """PYSKL's test protocol: per video, each stream's clip-averaged
    probabilities (`pyskl_video_scores`); the ensemble is their weighted sum
    (PYSKL's 2:2:1:1 for j, b, jm, bm). Reports top-1 / top-5 per stream and
    fused, per-class accuracy and the confusion matrix.

    Args:
        models: `{stream name: single-stream PYSKL model}`.
        dataset: a `tf.data.Dataset` of `pyskl_skeleton` examples (`joints`
            (T, V, M, 3), `label`, and `img_shape` for 2D), not batched.
        builder: the TFDS builder (class names).
        out: folder for the report files.
        weights: `{stream name: weight}`; default 1 each.
        clip_len, num_clips: UniformSampleFrames' test setting. Defaults 100, 10.
        batch_size: clips per model call. num_videos: for the progress bar.
        skip_empty_persons: as `evaluate_action_models`. Defaults to True.

    Returns:
        `{"top1", "top5", "streams": {name: {"top1", "top5"}}}` (fractions).
    """
    import keras

    from tfds_builders.pyskl_skeleton import keypoint_dtype

    from skeleton_zoo.inference.empty_persons import scorer

    models = {name: scorer(model, skip_empty_persons) for name, model in models.items()}  # made once: cached
    first = next(iter(models.values()))
    layout = first.layout.name
    stored = keypoint_dtype(builder.info)
    progress = keras.utils.Progbar(num_videos, unit_name="video")
    scores = {name: [] for name in models}
    labels = []

    def flush(batch):
        if not batch:
            return
        shapes = [e.get("img_shape") for e in batch]
        # PreNormalize3D computes in the file's dtype (PYSKL's float16); PreNormalize2D in float32
        joints = [e["joints"] if layout == "coco17" else e["joints"].astype(stored) for e in batch]
        for name, model in models.items():
            scores[name].append(pyskl_video_scores(model, joints, layout, shapes, clip_len, num_clips, batch_size))
        labels.extend(int(e["label"]) for e in batch)
        progress.add(len(batch))

    batch = []
    for example in dataset.as_numpy_iterator():
        batch.append(example)
        if len(batch) == videos_per_step:
            flush(batch)
            batch = []
    flush(batch)
    if not labels:
        raise ValueError("evaluate: the split holds no videos.")
    probabilities = {name: np.concatenate(s) for name, s in scores.items()}
    return _report_classification(probabilities, np.asarray(labels), builder, out, "logits", weights, "videos")
