"""Training with the papers' recipes on `model.fit` and `tf.distribute`.

- `trainer`: `TrainConfig`, `train` (what `python -m skeleton_zoo train` runs);
- `recipes`: the recipes' optimizers and schedules, `SGDWithL2`;
- `callbacks`: the resumable run history and the NaN guard;
- `distribute`: strategies, synchronized BatchNorm, multi-worker runs.
"""

from skeleton_zoo.utils.lazy import lazy_attributes

_LAZY = {
    "TrainConfig": "skeleton_zoo.training.trainer",
    "train": "skeleton_zoo.training.trainer",
    "NaNLossError": "skeleton_zoo.training.trainer",
    "build_training_model": "skeleton_zoo.training.trainer",
    "SGDWithL2": "skeleton_zoo.training.recipes",
    "make_optimizer": "skeleton_zoo.training.recipes",
    "make_schedule": "skeleton_zoo.training.recipes",
    "make_strategy": "skeleton_zoo.training.distribute",
    "synchronize_batch_norm": "skeleton_zoo.training.distribute",
}
__all__ = list(_LAZY)
__getattr__ = lazy_attributes(__name__, _LAZY)
