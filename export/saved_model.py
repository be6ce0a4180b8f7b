"""SavedModel export for TF Serving: versioned folders, named signatures,
warmup requests and a `models.config` for everything under the output folder.

Layout: `<out>/<preset>/<version>/{saved_model.pb, variables/, assets.extra/
tf_serving_warmup_requests}`. Pose-lifting presets get two signatures,
`serving_default` (the dilated sequence network) and `single_frame` (the
strided network, one receptive field in, its pose out); classifiers get
`serving_default` with `logits` and `probabilities`.
"""

from __future__ import annotations

import pathlib

import numpy as np

from export.common import ExportSpec
from skeleton_zoo.utils.files import atomic_directory, make_folder, write_text

__all__ = ["check_version", "next_version", "export_saved_model", "run_saved_model", "write_models_config",
           "read_warmup_requests", "signature_name"]

WARMUP_FILE = "tf_serving_warmup_requests"


def signature_name(spec: ExportSpec) -> str:
    """The signature a spec is served under."""
    return "single_frame" if spec.variant == "single_frame" else "serving_default"


def check_version(version) -> None:
    """None (the next free one) or a positive integer: TF Serving loads versions 1, 2, ..."""
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        raise ValueError(f"--version: expected a positive integer (TF Serving loads versions 1, 2, ...), "
                         f"found {version!r}.")


def next_version(model_dir) -> int:
    """1 + the largest numeric version folder in `model_dir` (1 when none)."""
    model_dir = pathlib.Path(model_dir)
    versions = [int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit()] \
        if model_dir.exists() else []
    return max(versions, default=0) + 1


def _warmup_records(specs, model_name, batch=1):
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2  # noqa: F401
    import tensorflow as tf

    for spec in specs:
        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = signature_name(spec)
        request.inputs[spec.input_name].CopyFrom(tf.make_tensor_proto(spec.example_input(batch=batch)))
        log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
        yield log.SerializeToString()


def export_saved_model(specs: list[ExportSpec], out, version: int | None = None) -> pathlib.Path:
    """Writes `<out>/<preset>/<version>/` for TF Serving; never overwrites.

    Args:
        specs: the specs of one preset (one or two signatures).
        out: output root.
        version: version number; None = the next free one.

    Returns:
        The version folder.

    Raises:
        ValueError: `version` is not a positive integer (TF Serving loads only those).
        FileExistsError: `version` exists already.
    """
    import keras
    import tensorflow as tf

    check_version(version)
    preset = specs[0].preset
    model_dir = pathlib.Path(out) / preset
    make_folder(model_dir, "--out")
    version = next_version(model_dir) if version is None else version
    target = model_dir / str(version)
    if target.exists():
        raise FileExistsError(f"--version {version}: '{target}' exists already; exports never "
                              f"overwrite (leave --version out for the next free one).")
    archive = keras.export.ExportArchive()
    for spec in specs:
        # Not `archive.track(model)`: the endpoints' variables are tracked anyway, and
        # tracking the model too stores every weight twice (Keras and backend copies).
        signature = tf.TensorSpec(spec.input_shape, tf.float32, name=spec.input_name)
        archive.add_endpoint(signature_name(spec), spec.outputs, input_signature=[signature])
    with atomic_directory(target) as staging:  # a version appears complete or not at all
        archive.write_out(str(staging), verbose=False)
        extra = staging / "assets.extra"
        extra.mkdir(exist_ok=True)
        with tf.io.TFRecordWriter(str(extra / WARMUP_FILE)) as writer:
            for record in _warmup_records(specs, preset):
                writer.write(record)
    return target


def run_saved_model(path, spec: ExportSpec, x) -> dict:
    """Runs a spec's signature of an exported SavedModel -> {output name: array}."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    outputs = loaded.signatures[signature_name(spec)](**{spec.input_name: tf.constant(x)})
    return {k: np.asarray(v) for k, v in outputs.items()}


def read_warmup_requests(path) -> list:
    """The `PredictionLog`s of a version folder's warmup file."""
    from tensorflow_serving.apis import prediction_log_pb2
    import tensorflow as tf

    logs = []
    for record in tf.data.TFRecordDataset(str(pathlib.Path(path) / "assets.extra" / WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log)
    return logs


def write_models_config(out) -> pathlib.Path:
    """`<out>/models.config` listing every model folder with versions under `out`."""
    out = pathlib.Path(out).resolve()
    entries = []
    for model_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        if any(v.is_dir() and v.name.isdigit() and (v / "saved_model.pb").exists() for v in model_dir.iterdir()):
            entries.append(f'  config {{\n    name: "{model_dir.name}"\n    base_path: "{model_dir}"\n'
                           f'    model_platform: "tensorflow"\n  }}\n')
    return write_text(out / "models.config", "model_config_list {\n" + "".join(entries) + "}\n")
