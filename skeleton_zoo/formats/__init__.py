"""Raw-file readers and conversions, free of TFDS: the `tfds_builders` and the
inference commands build on them.

- `ntu`: NTU RGB+D `.skeleton` files and the official ST-TR preprocessing;
- `videopose3d`: VideoPose3D / GAST-Net `.npz` datasets and camera pairing;
- `camera`: screen normalisation and camera transforms;
- `keypoints`: keypoint orders (COCO-17, OpenPose, Human3.6M, HumanEva);
- `keypoint_files`: detector outputs to lift (GAST JSON, COCO results,
  OpenPose folders, arrays).
"""
