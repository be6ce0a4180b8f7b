"""Paper-style evaluation of pose-lifting and action-recognition models.

Pose lifting: the dilated sequence network over whole test sequences
(edge-padded by half a receptive field, shifted for causal models, as
VideoPose3D's `UnchunkedGenerator`), averaged with its prediction on the
mirrored input (test-time flip); MPJPE (Protocol #1), P-MPJPE (#2), N-MPJPE
and MPJVE in mm, per action as the papers' tables (`skeleton_zoo.reports`).
Action recognition: top-1 / top-5 per stream and fused, per-class accuracy,
confusion matrix PNG.

Used by `python -m skeleton_zoo.evaluate` and at the end of training.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["sequence_twin", "predict_sequences", "evaluate_pose_model", "evaluate_action_models"]


def sequence_twin(model):
    """The dilated sequence GAST-Net sharing `model`'s weights (any variant)."""
    from skeleton_zoo.gast import GASTNet

    if model.variant == "sequence":
        return model
    twin = GASTNet.from_config({**model.get_config(), "variant": "sequence"})
    twin.set_weights(model.get_weights())
    return twin


def predict_sequences(model, keypoints_2d, flip: bool = True):
    """3D poses for whole sequences, one output frame per input frame.

    Args:
        model: a `GASTNet` (either variant; its sequence twin runs).
        keypoints_2d: list of (T_i, J, 2) arrays, normalised screen coordinates.
        flip: average with the prediction on the mirrored input, mirrored back.

    Returns:
        list of (T_i, J, 3) float32 root-relative poses.
    """
    import tensorflow as tf

    from skeleton_zoo.pipelines import flip_pose

    model = sequence_twin(model)
    pad, shift = (model.receptive_field - 1) // 2, model.causal_shift
    run = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    out = []
    for x in keypoints_2d:
        padded = np.pad(x, ((pad + shift, pad - shift), (0, 0), (0, 0)), mode="edge")  # as VideoPose3D
        batch = np.stack([padded, flip_pose(padded, model.layout)]) if flip else padded[None]
        y = run(tf.constant(batch, tf.float32)).numpy()
        if flip:
            y = (y[0] + flip_pose(y[1], model.layout)) / 2
        else:
            y = y[0]
        out.append(y.astype(np.float32))
    return out


def evaluate_pose_model(model, sequences, flip: bool = True, out: str | None = None) -> dict:
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE (mm) per action and averaged.

    Args:
        model: a `GASTNet`.
        sequences: `skeleton_zoo.pipelines.PoseSequences` (test split).
        flip: test-time flip averaging.
        out: folder for `pose_metrics.json`, `pose_metrics.csv`, `pose_metrics.md`.

    Returns:
        `{"mpjpe": Avg, "p_mpjpe": ..., "n_mpjpe": ..., "mpjve": ..., "per_action": table}`.
    """
    from skeleton_zoo import metrics, reports

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
    if out:
        os.makedirs(out, exist_ok=True)
        reports.write_json(table, os.path.join(out, "pose_metrics.json"))
        reports.write_csv(table, os.path.join(out, "pose_metrics.csv"))
        with open(os.path.join(out, "pose_metrics.md"), "w") as f:
            f.write(reports.format_table(table) + "\n")
    return {**{k: float(table[k]["Avg"]) for k in keys}, "per_action": reports._jsonable(table)}


def evaluate_action_models(models: dict, dataset, builder, out: str | None = None,
                           fusion: str = "logits") -> dict:
    """Top-1 / top-5 per stream (and fused), per-class accuracy, confusion matrix.

    Args:
        models: `{stream name: model}`, e.g. `{"spatial": s_tr, "temporal": t_tr}`.
        dataset: `(skeleton, label)` batches, not shuffled.
        builder: the TFDS builder (for class names).
        out: folder for `classification.json`, `classification.md`, `confusion_matrix.png`.

    Returns:
        `{"top1": ..., "top5": ..., "streams": {name: {"top1", "top5"}}}` of the primary entry.
    """
    from skeleton_zoo import reports

    labels = np.concatenate([y.numpy() for _, y in dataset])
    logits = {name: model.predict(dataset.map(lambda x, y: x), verbose=0) for name, model in models.items()}
    names = builder.info.features["label"].names if "label" in builder.info.features.keys() else None
    report = reports.classification_report(logits, labels, names, fusion=fusion)
    for stream, result in report["results"].items():
        print(f"{stream}: top-1 {100 * result['top1']:.2f}%, top-5 {100 * result['top5']:.2f}% "
              f"({report['num_samples']} clips)")
    primary = report["results"][report["primary"]]
    if out:
        os.makedirs(out, exist_ok=True)
        reports.write_json(report, os.path.join(out, "classification.json"))
        with open(os.path.join(out, "classification.md"), "w") as f:
            f.write(reports.format_classification(report) + "\n")
        reports.save_confusion_matrix_png(primary["confusion_matrix"], report["class_names"],
                                          os.path.join(out, "confusion_matrix.png"))
    return {"top1": float(primary["top1"]), "top5": float(primary["top5"]),
            "streams": {k: {"top1": float(v["top1"]), "top5": float(v["top5"])}
                        for k, v in report["results"].items()}}
