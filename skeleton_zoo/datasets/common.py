"""Preparing a TFDS builder and the tail every pipeline shares."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["dataset_info", "known_datasets", "shuffle_map_batch"]

BUILDERS = ("human36m", "humaneva", "kinetics_skeleton", "ntu_rgbd", "pyskl_skeleton")


def known_datasets() -> list[str]:
    """"name/config" of every dataset of the zoo's TFDS builders."""
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401  (registers the builders)

    return [f"{name}/{config.name}" if config else name for name in BUILDERS
            for config in tfds.builder_cls(name).BUILDER_CONFIGS or [None]]


def _unknown(name: str) -> ValueError:
    import difflib

    known = known_datasets()
    close = [k for k in known if k.startswith(name)]  # a config named by its start
    close = close or difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ValueError(f"--dataset '{name}': no such dataset.{hint} The zoo's datasets: {', '.join(known)}.")


def dataset_info(name: str, data_dir=None, manual_dir=None):
    """Prepares (if needed) and returns the TFDS builder `name`, e.g. "human36m/gt".

    Raises:
        ValueError: an unknown dataset or config (the message names the
            closest of the zoo's datasets).
    """
    import tensorflow_datasets as tfds

    import tfds_builders  # noqa: F401  (registers the builders)

    builder_name = name.partition("/")[0]
    if builder_name in BUILDERS:
        if "/" in name and name not in known_datasets():
            raise _unknown(name)
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise _unknown(name) from None
    if not builder.is_prepared():
        config = tfds.download.DownloadConfig(manual_dir=manual_dir) if manual_dir else None
        builder.download_and_prepare(download_config=config)
    return builder


def shuffle_map_batch(ds, function, shuffle_buffer, seed, batch_size, drop_remainder):
    """shuffle (when `shuffle_buffer`) -> parallel deterministic map -> batch -> prefetch,
    sharded by data under multi-worker training."""
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(function, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)
