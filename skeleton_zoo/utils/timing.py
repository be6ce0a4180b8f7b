"""The one timing loop, shared by export verification and the benchmark."""

from __future__ import annotations

import time

import numpy as np

__all__ = ["time_calls", "latency_ms"]


def time_calls(run, x, warmup: int, repeats: int) -> list[float]:
    """Seconds of `repeats` calls `run(x)` after `warmup` untimed ones."""
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return times


def latency_ms(run, x, repeats: int = 30, warmup: int = 3) -> float:
    """Median wall time of `run(x)` in milliseconds."""
    return float(np.median(time_calls(run, x, warmup, repeats)) * 1000)
