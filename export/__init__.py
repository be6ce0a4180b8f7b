"""`python -m export`: SavedModel (TF Serving), ONNX and TFLite exports of the
zoo's presets, each verified against the Keras model.

Modules: `common` (`ExportSpec`, `build_specs`: what is exported and under
which tensor names), `saved_model`, `onnx_export`, `tflite_export`, `verify`.
"""
