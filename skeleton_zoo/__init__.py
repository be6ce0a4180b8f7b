"""skeleton_zoo: Keras 3 models for skeleton-based human motion.

    import skeleton_zoo
    model = skeleton_zoo.load("gast_243")        # (B, T, 17, 2) -> (B, T - 242, 17, 3)
    skeleton_zoo.load("motionbert")              # (B, T <= 243, 17, 3) -> (B, T, 17, 3)
    skeleton_zoo.load("st_tr_2s_joint")          # (B, T, 25, 2, 3) -> (B, 60) logits
    skeleton_zoo.list_models()                   # every preset, from its declared data
    skeleton_zoo.load("st_tr_2s_joint", weights="ntu60_xsub")   # the authors' weights, cached
    skeleton_zoo.save_preset(model, "my_model"); skeleton_zoo.load("my_model")   # or hf://, kaggle://

Importing the package is cheap: Keras (and TensorFlow) load when a model is
first built. Whenever Keras is imported, the zoo's Keras classes are
registered, so `keras.models.load_model` reads the zoo's `.keras` files.

Layout of the package: `models/` (one folder per family), `tasks/` (pose
lifting, action recognition, ensembles), `weights/`, `formats/`, `datasets/`,
`training/`, `evaluation/`, `inference/`, `benchmark/`, `cli/`, `utils/`.
"""

__version__ = "0.1.0"

from skeleton_zoo.layouts import SkeletonLayout, get_layout
from skeleton_zoo.registry import (
    Family,
    OfficialWeights,
    PaperResult,
    Preset,
    Recipe,
    list_models,
    load,
    preset_names,
    register_family,
    register_preset,
)
from skeleton_zoo.utils.lazy import lazy_attributes

_LAZY = {
    "GASTNet": "skeleton_zoo.models.gast.model",
    "VideoPose3D": "skeleton_zoo.models.videopose3d.model",
    "DSTformer": "skeleton_zoo.models.motionbert.model",
    "MotionAGFormer": "skeleton_zoo.models.motionagformer.model",
    "TCPFormer": "skeleton_zoo.models.tcpformer.model",
    "STTR": "skeleton_zoo.models.sttr.model",
    "Ensemble": "skeleton_zoo.tasks.ensemble",
    "WeightsMismatchError": "skeleton_zoo.weights.state_dict",
    "PoseStreamer": "skeleton_zoo.inference.streaming",
    "save_preset": "skeleton_zoo.weights.preset_dir",
    "upload_preset": "skeleton_zoo.weights.preset_dir",
    "WeightsDownloadError": "skeleton_zoo.weights.hub",
}

__all__ = [
    "Family",
    "OfficialWeights",
    "PaperResult",
    "Preset",
    "Recipe",
    "SkeletonLayout",
    "get_layout",
    "list_models",
    "load",
    "load_model",
    "preset_names",
    "register_family",
    "register_preset",
    *_LAZY,
]

__getattr__ = lazy_attributes(__name__, _LAZY)


def load_model(path, **kwargs):
    """`keras.models.load_model(path, **kwargs)` for a `.keras` file of the zoo."""
    from skeleton_zoo.registry import register_keras_objects

    register_keras_objects()
    import keras

    return keras.models.load_model(path, **kwargs)


def _register_keras_objects_after_import(_keras_module) -> None:
    """Registers the zoo's Keras classes once Keras is imported, unless a
    module of this package is the one importing it (it would then be half
    initialised; `load` and `load_model` register everything themselves)."""
    import sys

    for name, module in list(sys.modules.items()):
        if name.startswith("skeleton_zoo.") and getattr(getattr(module, "__spec__", None), "_initializing", False):
            return
    from skeleton_zoo.registry import register_keras_objects

    register_keras_objects()


def _install_keras_hook() -> None:
    import wrapt

    wrapt.register_post_import_hook(_register_keras_objects_after_import, "keras")


_install_keras_hook()
