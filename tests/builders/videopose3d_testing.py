"""Helpers shared by the tests of the VideoPose3D-format builders (`human36m`, `humaneva`)."""

import os
import shutil

import numpy as np
import tensorflow_datasets as tfds

from skeleton_zoo.weights.safe_pickle import load_npz


def rotation_matrix(q):
    """(3, 3) camera-to-world rotation matrix of a unit quaternion q = (w, x, y, z)."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def prepare(name, tmp_path, manual_dir, config="gt"):
    """Builds `name` (config name or object) from `manual_dir` under tmp_path/data."""
    builder = tfds.builder(name, config=config, data_dir=tmp_path / "data")
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=os.fspath(manual_dir)))
    return builder


def examples(builder, split):
    """The examples of `split` as numpy, keyed "subject/action/camera"."""
    return {f"{ex['subject'].decode()}/{ex['action'].decode()}/{ex['camera']}": ex
            for ex in tfds.as_numpy(builder.as_dataset(split=split))}


def load_pickled(path, key):
    """The dict stored as the pickled object array `key` of a VideoPose3D npz."""
    return load_npz(path)[key].item()


def save_pickled(path, **arrays):
    """`np.savez` that stores dict values as pickled 0-d object arrays, as VideoPose3D does."""
    np.savez(path, **{k: np.array(v, dtype=object) if isinstance(v, dict) else v
                      for k, v in arrays.items()})


def make_manual_dir(path, *files):
    """Makes the directory `path` holding copies of `files`; returns `path`."""
    path.mkdir(parents=True)
    for file in files:
        shutil.copy(file, path)
    return path
