"""A plug-in action-recognition family for the tests: a pointwise layer,
mean pooling and a linear classifier, registered through the public API only."""

import keras

import skeleton_zoo


@keras.saving.register_keras_serializable(package="toy")
class MeanPoolClassifier(keras.Model):
    """(B, T, V, M, C) -> (B, num_classes) logits."""

    def __init__(self, num_classes=60, layout="ntu25", num_persons=2, in_channels=3, hidden=16, dtype=None,
                 **kwargs):
        layout = skeleton_zoo.get_layout(layout)
        inputs = keras.Input((None, layout.num_joints, num_persons, in_channels), name="skeleton")
        x = keras.layers.Dense(hidden, activation="relu", dtype=dtype)(inputs)
        x = keras.layers.Reshape((-1, hidden), dtype=dtype)(x)  # (B, T * V * M, hidden)
        x = keras.layers.GlobalAveragePooling1D(dtype=dtype)(x)
        super().__init__(inputs, keras.layers.Dense(num_classes, dtype=dtype)(x), **kwargs)
        self.num_classes, self.layout, self.num_persons = num_classes, layout, num_persons
        self.in_channels, self.hidden, self.dtype_config = in_channels, hidden, dtype

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "num_classes": self.num_classes,
                "layout": self.layout.to_config(), "num_persons": self.num_persons,
                "in_channels": self.in_channels, "hidden": self.hidden, "dtype": self.dtype_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def build(preset, **overrides):
    return MeanPoolClassifier(name=preset.name, **dict(preset.config, **overrides))


skeleton_zoo.register_family(skeleton_zoo.Family(
    name="toy_classifier", title="Toy classifier", task="action_recognition", build=build,
    overrides=("num_classes", "hidden"), keras_modules=("toy_classifier",),
    recipe=skeleton_zoo.Recipe(epochs=1, batch_size=2, learning_rate=0.01, default_dataset="ntu_rgbd/xsub60",
                               optimizer="sgd_nesterov", schedule="steps")))
skeleton_zoo.register_preset(skeleton_zoo.Preset(
    name="toy_mean_pool", family="toy_classifier", description="mean-pooling classifier (tests)",
    config={"hidden": 16}, layout="ntu25", clip_frames=300, num_classes=60, parameters={"ntu25": 1_084}))
