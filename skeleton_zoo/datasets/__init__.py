"""tf.data input pipelines from the TFDS builders (`tfds_builders`), for
training and evaluation.

- `common`: preparing a TFDS builder, the shuffle / map / batch tail;
- `poses`: pose-lifting sequences and receptive-field windows;
- `clips`: action-recognition clips.
"""
