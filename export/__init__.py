"""`python -m export`: SavedModel, ONNX and TFLite exports.

Empty for now: the exporter lands with the deployment issue.
"""
