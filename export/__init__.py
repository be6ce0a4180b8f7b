"""`python -m export`: SavedModel (TF Serving), ONNX and TFLite exports of the
zoo's presets, each verified against the Keras model.

Modules: `exporter` (`export_preset`: every format, verified), `common`
(`ExportSpec`, `build_specs`: what is exported and under which tensor names,
as the preset's task defines it), `saved_model`, `onnx_export`,
`tflite_export`, `verify`.
"""
