"""VideoPose3D (Pavllo et al.): temporal convolutions over 2D keypoint sequences.

- `model`: `VideoPose3D` (dilated "sequence" and strided "single_frame"
  variants, the official `TemporalModel` / `TemporalModelOptimized1f`); its
  temporal stages are `skeleton_zoo.models.common.TemporalBlock`;
- `official_keys`: official PyTorch state-dict keys -> our variables;
- `presets`: the published configurations, as data.

Importing this package registers the family and its presets (no Keras
import); the Keras classes load on first use.
"""

from skeleton_zoo import registry
from skeleton_zoo.models.videopose3d.presets import PRESETS
from skeleton_zoo.utils.lazy import lazy_attributes

FAMILY = registry.register_family(registry.Family(
    name="videopose3d",
    title="VideoPose3D",
    task="pose_lifting",
    build="skeleton_zoo.models.videopose3d.model:VideoPose3D.from_preset",
    overrides=("variant", "layout", "causal", "dropout", "channels", "num_joints_out", "dtype"),
    official_rules="skeleton_zoo.models.videopose3d.official_keys:official_rules",
    # run.py's defaults: Adam (amsgrad), lr 1e-3 x0.95 per epoch, batch 1024, 60 epochs, dropout 0.25,
    # BatchNorm momentum decayed from 0.1 to 0.001 over the run.
    recipe=registry.Recipe(epochs=60, batch_size=1024, learning_rate=1e-3,
                           default_dataset="human36m/cpn_ft_h36m_dbb", optimizer="adam",
                           schedule="exponential", lr_decay=0.95, bn_momentum_decay=(0.1, 0.001)),
    variants=("sequence", "single_frame"),
    keras_modules=("skeleton_zoo.models.videopose3d.model",),
), presets=PRESETS)

_LAZY = {
    "VideoPose3D": "skeleton_zoo.models.videopose3d.model",
    "load_official_state_dict": "skeleton_zoo.models.videopose3d.official_keys",
}
__all__ = ["FAMILY", "PRESETS", *_LAZY]

__getattr__ = lazy_attributes(__name__, _LAZY)
