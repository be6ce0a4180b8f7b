"""ST-GCN's train feeder (`feeder/tools.py`, used by ST-TR's Kinetics
configs) on one example, numpy: random_shift, random_choose / auto_pading,
random_move, in the official order, drawing from seeded generators.
Tensors are the official (C, T, V, M) inside, ours (T, V, M, C) at
`train_feeder`."""

from __future__ import annotations

import numpy as np

__all__ = ["train_feeder"]


def train_feeder(data, seed: int, random_choose: bool = False, random_shift: bool = False,
                 random_move: bool = False, window_size: int = -1):
    """ST-TR's train feeder (`Feeder_kinetics.__getitem__`, ST-GCN's
    `feeder/tools.py`) on one example, in the official order: random_shift,
    random_choose (else auto_pading to `window_size`), random_move. The
    official draws from Python's `random` and numpy's global generator; here
    from `random.Random(seed)` and `np.random.RandomState(seed)`, the same
    streams as both seeded with `seed`.

    Args:
        data: (T, V, M, C) input features. random_move turns and shifts
            channels 0 and 1 only (x, y; the bones of a joint+bone input stay
            as they are, as in the official 6-channel data; zero joints move).
        seed: int in [0, 2**32).
        random_choose, random_shift, random_move, window_size: the feeder's
            arguments (defaults: none, as ST-TR's NTU configs and test feeders).

    Returns:
        (T', V, M, C) float32; T' = `window_size` with random_choose.
    """
    import random

    py_random, np_random = random.Random(seed), np.random.RandomState(seed)
    x = np.array(np.transpose(data, (3, 0, 1, 2)))  # the official (C, T, V, M), a copy as `np.array(data[i])`
    if random_shift:
        x = _random_shift(x, py_random)
    if random_choose:
        x = _random_choose(x, window_size, py_random)
    elif window_size > 0:
        x = _auto_pading(x, window_size, py_random)
    if random_move:
        x = _random_move(x, py_random, np_random)
    return np.ascontiguousarray(np.transpose(x, (1, 2, 3, 0)), dtype=np.float32)


# ST-GCN's feeder tools (ST-TR's `st_gcn/feeder/tools.py`) on (C, T, V, M), `random` / `np.random` passed in.
def _auto_pading(data, size, py_random, random_pad=False):
    C, T, V, M = data.shape
    if T < size:
        begin = py_random.randint(0, size - T) if random_pad else 0
        padded = np.zeros((C, size, V, M))  # float64, as the official
        padded[:, begin:begin + T] = data
        return padded
    return data


def _random_choose(data, size, py_random, auto_pad=True):
    C, T, V, M = data.shape
    if T == size:
        return data
    if T < size:
        return _auto_pading(data, size, py_random, random_pad=True) if auto_pad else data
    begin = py_random.randint(0, T - size)
    return data[:, begin:begin + size]


def _random_shift(data, py_random):
    C, T, V, M = data.shape
    shifted = np.zeros(data.shape)
    valid = (data != 0).sum(axis=3).sum(axis=2).sum(axis=0) > 0
    begin = valid.argmax()
    end = len(valid) - valid[::-1].argmax()
    size = end - begin
    bias = py_random.randint(0, T - size)
    shifted[:, bias:bias + size] = data[:, begin:end]
    return shifted


def _random_move(data, py_random, np_random, angle_candidate=(-10., -5., 0., 5., 10.),
                 scale_candidate=(0.9, 1.0, 1.1), transform_candidate=(-0.2, -0.1, 0.0, 0.1, 0.2),
                 move_time_candidate=(1,)):
    C, T, V, M = data.shape
    move_time = py_random.choice(move_time_candidate)
    node = np.arange(0, T, T * 1.0 / move_time).round().astype(int)
    node = np.append(node, T)
    num_node = len(node)
    A = np_random.choice(angle_candidate, num_node)
    S = np_random.choice(scale_candidate, num_node)
    T_x = np_random.choice(transform_candidate, num_node)
    T_y = np_random.choice(transform_candidate, num_node)
    a, s, t_x, t_y = np.zeros(T), np.zeros(T), np.zeros(T), np.zeros(T)
    for i in range(num_node - 1):  # linear between the nodes
        a[node[i]:node[i + 1]] = np.linspace(A[i], A[i + 1], node[i + 1] - node[i]) * np.pi / 180
        s[node[i]:node[i + 1]] = np.linspace(S[i], S[i + 1], node[i + 1] - node[i])
        t_x[node[i]:node[i + 1]] = np.linspace(T_x[i], T_x[i + 1], node[i + 1] - node[i])
        t_y[node[i]:node[i + 1]] = np.linspace(T_y[i], T_y[i + 1], node[i + 1] - node[i])
    theta = np.array([[np.cos(a) * s, -np.sin(a) * s],
                      [np.sin(a) * s, np.cos(a) * s]])
    for i_frame in range(T):  # in place, float64 products stored in the data's dtype
        xy = data[0:2, i_frame, :, :]
        new_xy = np.dot(theta[:, :, i_frame], xy.reshape(2, -1))
        new_xy[0] += t_x[i_frame]
        new_xy[1] += t_y[i_frame]
        data[0:2, i_frame, :, :] = new_xy.reshape(2, V, M)
    return data
