"""Inference on your own data, one module per job:

- `lift`: 2D keypoint files -> 3D poses (any pose-lifting preset);
- `streaming`: `PoseStreamer`, frame-by-frame lifting with a causal lifter;
- `classify`: NTU clips -> action classes (any action-recognition preset);
- `empty_persons`: `EmptyPersonSkipper`, action inference that runs the
  all-zero (padding) persons once per clip length, not in every clip;
- `viz`: skeleton pictures and animations;
- `demo`: the offline demo.
"""
