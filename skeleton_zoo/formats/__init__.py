"""Raw-file readers and conversions, free of TFDS: the `tfds_builders` and the
inference commands build on them.

- `ntu`: NTU RGB+D `.skeleton` files and the official ST-TR preprocessing;
- `kinetics`: Kinetics-Skeleton JSON files and the official ST-GCN / ST-TR
  conversion; `stgcn_feeder`: ST-GCN's train-time augmentation;
- `pyskl_annotations`: PYSKL's annotation pickles (NTU 3D / HRNet 2D),
  validated, channels-last; `pyskl`: PYSKL's test pipeline;
- `motionbert_ntu`: MotionBERT's NTU action items from PYSKL's HRNet keypoints;
- `videopose3d`: VideoPose3D / GAST-Net `.npz` datasets and camera pairing;
- `camera`: screen normalisation and camera transforms;
- `keypoints`: keypoint orders (COCO-17, OpenPose, Human3.6M, HumanEva);
- `keypoint_files`: detector outputs to lift (GAST JSON, COCO results,
  OpenPose folders, arrays).
"""
