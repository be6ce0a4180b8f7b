"""A plug-in pose-lifting family for the tests: a per-frame MLP, registered
through the public API only (receptive field 1, any 2D->3D layout)."""

import keras

import skeleton_zoo


@keras.saving.register_keras_serializable(package="toy")
class MLPLifter(keras.Model):
    """(B, T, J, 2) -> (B, T, J, 3), one frame at a time."""

    def __init__(self, layout="h36m17", hidden=32, dtype=None, **kwargs):
        layout = skeleton_zoo.get_layout(layout)
        joints = layout.num_joints
        inputs = keras.Input((None, joints, 2), name="keypoints_2d")
        x = keras.layers.Reshape((-1, joints * 2), dtype=dtype)(inputs)
        x = keras.layers.Dense(hidden, activation="relu", dtype=dtype)(x)
        x = keras.layers.Dense(joints * 3, dtype=dtype)(x)
        super().__init__(inputs, keras.layers.Reshape((-1, joints, 3), dtype=dtype)(x), **kwargs)
        self.layout, self.hidden, self.dtype_config = layout, hidden, dtype
        self.receptive_field, self.causal = 1, False  # the pose-lifting contract

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "layout": self.layout.to_config(),
                "hidden": self.hidden, "dtype": self.dtype_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build(preset, **overrides):
    return MLPLifter(name=preset.name, **dict(preset.config, **overrides))


skeleton_zoo.register_family(skeleton_zoo.Family(
    name="toy_lifter", title="Toy MLP lifter", task="pose_lifting", build=build,
    overrides=("layout", "hidden"), keras_modules=("toy_lifter",),
    recipe=skeleton_zoo.Recipe(epochs=1, batch_size=64, learning_rate=1e-3, default_dataset="human36m/gt")))
skeleton_zoo.register_preset(skeleton_zoo.Preset(
    name="toy_mlp_lifter", family="toy_lifter", description="per-frame MLP lifter (tests)",
    config={"hidden": 32}, layout="h36m17", receptive_field=1, parameters={"h36m17": 2_803}))
