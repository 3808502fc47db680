# SPDX-License-Identifier: MIT
"""Side-by-side timing for benchmarks/compare: contenders run in turn within every round.

A shared, noisy machine slows whole stretches of time, so timing each contender in its own block
would compare different loads; alternating them round by round exposes all of them to the same
load, and a ratio taken within one round cancels most of it.
"""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path


class Timings(dict):
    """Seconds per contender: ``timings[name]`` is a list with one entry per round."""

    def median(self, name: str) -> float:
        return statistics.median(self[name])

    def medians(self) -> dict[str, float]:
        return {name: statistics.median(v) for name, v in self.items()}

    def ratio(self, num: str, den: str) -> float:
        """Median over rounds of num/den measured in the same round."""
        return statistics.median(a / b for a, b in zip(self[num], self[den], strict=True))


def alternate(
    contenders: dict[str, Callable[[], object]],
    repeats: int,
    warmup: bool = False,
    clock: Callable[[], float] = time.perf_counter,
) -> Timings:
    """Runs every contender once per round for ``repeats`` rounds (after one untimed call each
    when ``warmup``); ``clock`` may be ``time.thread_time`` to count only this thread's CPU."""
    times = Timings({name: [] for name in contenders})
    if warmup:
        for fn in contenders.values():
            fn()
    for _ in range(repeats):
        for name, fn in contenders.items():
            t0 = clock()
            fn()
            times[name].append(clock() - t0)
    return times


def cpu_model() -> str:
    """The CPU's model name, for the machine line of a performance table."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
