"""TFLite export (builtin ops only): LiteRT outputs against Keras, dynamic
dimensions, signature names, quantized files and the export-time failure on
ops that are not TFLite builtins. Small models only (no network)."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import keras  # noqa: E402

from export.common import build_specs  # noqa: E402
from export.tflite_export import (  # noqa: E402
    QUANTIZED_TOLERANCE,
    UnsupportedOpError,
    export_tflite,
    quantization_error,
    run_tflite,
    tflite_runner,
    tflite_signature,
)

FP32_TOLERANCE = 1e-4
SMALL_STTR = dict(backbone=[[16, 16, 1], [16, 32, 2]], num_classes=10)


@pytest.fixture(scope="module")
def specs():
    found = build_specs("gast_9", channels=16) + build_specs("gast_9_causal", channels=16)
    found += build_specs("st_tr_spatial_joint", **SMALL_STTR) + build_specs("st_tr_temporal_joint", **SMALL_STTR)
    return {spec.name: spec for spec in found}


SPEC_NAMES = ["gast_9_sequence", "gast_9_single_frame", "gast_9_causal_sequence",
              "gast_9_causal_single_frame", "st_tr_spatial_joint", "st_tr_temporal_joint"]


@pytest.fixture(scope="module")
def exported(specs, tmp_path_factory):
    """(spec name, quantize) -> path, each converted once."""
    out = tmp_path_factory.mktemp("tflite")
    cache = {}

    def get(name, quantize="none"):
        if (name, quantize) not in cache:
            cache[name, quantize] = export_tflite(specs[name], out / f"{name}_{quantize}.tflite", quantize)
        return cache[name, quantize]

    return get


def _other_input(spec, seed=1):
    """A second input: another batch size, and another clip length where frames are dynamic."""
    frames = spec.input_shape[1]
    if frames is None:
        frames = spec.example_frames + 3 if spec.task == "pose_lifting" else spec.example_frames - 11
    shape = (3, frames, *spec.input_shape[2:])
    return np.random.default_rng(seed).normal(scale=0.5, size=shape).astype(np.float32)


def _max_abs(expected, got):
    return {k: float(np.max(np.abs(got[k] - v))) for k, v in expected.items()}


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_fp32_matches_keras_with_dynamic_dims(specs, exported, name):
    spec = specs[name]
    path = exported(name)
    run = tflite_runner(path)  # one interpreter, resized from call to call
    for x in (spec.example_input(), _other_input(spec), spec.example_input(batch=1, seed=2)):
        expected = spec.keras_outputs(x)
        got = run(x)
        assert sorted(got) == sorted(spec.output_names)
        for key, want in expected.items():
            assert got[key].shape == want.shape, (key, x.shape)
        diffs = _max_abs(expected, got)
        assert max(diffs.values()) <= FP32_TOLERANCE, (name, x.shape, diffs)

    from ai_edge_litert.interpreter import Interpreter

    (detail,) = Interpreter(model_path=str(path)).get_input_details()
    dynamic = [-1 if d is None else d for d in spec.input_shape]
    assert list(detail["shape_signature"]) == dynamic


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_signature_names(specs, exported, name):
    spec = specs[name]
    signature = tflite_signature(exported(name))
    assert signature["inputs"] == [spec.input_name]
    assert sorted(signature["outputs"]) == sorted(spec.output_names)


@pytest.mark.parametrize("quantize", ["float16", "dynamic_int8"])
@pytest.mark.parametrize("name", SPEC_NAMES)
def test_quantized_error_within_bound(specs, exported, name, quantize, record_property):
    spec = specs[name]
    path = exported(name, quantize)
    assert path.stat().st_size < exported(name).stat().st_size  # the weights did shrink
    x = spec.example_input()
    errors = quantization_error(spec.keras_outputs(x), run_tflite(path, x))
    record_property("relative_error", errors)
    print(f"{name} {quantize}: relative error {errors} (bound {QUANTIZED_TOLERANCE[quantize]})")
    assert max(errors.values()) <= QUANTIZED_TOLERANCE[quantize], errors
    # Dynamic dimensions still resize.
    x = _other_input(spec)
    got = run_tflite(path, x)
    assert all(got[k].shape == v.shape for k, v in spec.keras_outputs(x).items())


def test_run_rejects_wrong_fixed_dimension(specs, exported):
    spec = specs["gast_9_single_frame"]
    x = np.zeros((1, 8, 17, 2), np.float32)  # one frame short of the receptive field
    with pytest.raises(ValueError, match="keypoints_2d"):
        run_tflite(exported(spec.name), x)


def test_unknown_quantize_mode(specs, tmp_path):
    with pytest.raises(ValueError, match="quantize"):
        export_tflite(specs["gast_9_sequence"], tmp_path / "x.tflite", quantize="int4")


class MatrixInverse(keras.layers.Layer):
    """tf.linalg.inv: MatrixInverse exists only as a Flex (Select TF) op;
    tf.math.erfinv: Erfinv is neither a builtin nor a Flex op (custom)."""

    def call(self, x):
        return tf.linalg.inv(x) + tf.math.erfinv(0.5 * tf.tanh(x))


class TinySpec:
    """The parts of `ExportSpec` that the TFLite exporter uses."""

    name = "tiny_inverse"
    input_name = "matrices"
    input_shape = (None, 3, 3)
    output_names = ("inverse",)

    def __init__(self):
        inputs = keras.Input((3, 3), name=self.input_name)
        outputs = keras.layers.Dense(3, name="project")(MatrixInverse(name="matrix_inverse")(inputs))
        self.model = keras.Model(inputs, outputs, name="tiny")

    def tf_function(self):
        signature = tf.TensorSpec(self.input_shape, tf.float32, name=self.input_name)
        return tf.function(lambda x: {"inverse": self.model(x, training=False)},
                           input_signature=[signature], autograph=False)


def test_non_builtin_op_fails_at_export(tmp_path):
    path = tmp_path / "tiny.tflite"
    path.write_bytes(b"previous export")
    with pytest.raises(UnsupportedOpError) as info:
        export_tflite(TinySpec(), path)
    error = info.value
    assert isinstance(error, ValueError)
    assert sorted(error.ops) == ["tf.Erfinv", "tf.MatrixInverse"]
    message = str(error)
    assert "tf.MatrixInverse" in message and "tf.Erfinv" in message and "'tiny_inverse'" in message
    assert "tiny/matrix_inverse" in message.replace("_1/", "/")  # the Keras layer in the node name
    assert "test_export_tflite.py" in message  # where the op is created
    assert "SavedModel or ONNX" in message
    # Nothing written: the old file is intact and no temporary is left over.
    assert path.read_bytes() == b"previous export"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.tflite"]


def test_unsupported_ops_parsed_from_error_text():
    """Without the converter's structured errors, the op names come from the message."""
    from export.tflite_export import _unsupported_op_error

    text = ("'tf.Svd' op is neither a custom op nor a flex op\n"
            "Some ops are not supported by the native TFLite runtime\nTF Select ops: MatrixInverse, Qr\n")
    error = _unsupported_op_error(TinySpec, RuntimeError(text))
    assert error.ops == ("tf.Svd", "tf.MatrixInverse", "tf.Qr")
    assert _unsupported_op_error(TinySpec, RuntimeError("some other converter failure")) is None
