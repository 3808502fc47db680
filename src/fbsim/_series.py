# SPDX-License-Identifier: MIT
"""Bounded per-tick diagnostics for long runs (issue 10: memory flat after warm-up).

A server that runs for days must not keep one Python float per tick, nor one track point per
player every few ticks: both grow without bound (a 36,000-tick ``fbsim simulate`` at 200
players kept ~6 MB of tick timings and ~134 MB of track tuples). These two containers keep what the report and the plot need in bounded
memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

#: Samples a :class:`TickSeries` keeps for percentiles: 9 minutes of ticks at 60 ticks/s
#: (256 KiB per series).
TICK_WINDOW = 32_768
#: Points a :class:`Track` keeps at most (it halves its resolution when full).
TRACK_POINTS = 256


class TickSeries:
    """A per-tick measurement: exact running count, total and max over the whole run, plus the
    last ``window`` samples for percentiles.

    The samples live in a float64 ring buffer allocated up front (8 x ``window`` bytes), so
    memory is flat from the first tick however long the run. ``len()`` and ``np.asarray()``
    are the retained samples (the most recent ``min(count, window)``), oldest first.
    """

    __slots__ = ("_ring", "count", "max", "total")

    def __init__(self, window: int = TICK_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self._ring = np.empty(window, dtype=np.float64)
        self.count = 0
        self.total = 0.0
        self.max = -math.inf

    @property
    def window(self) -> int:
        return len(self._ring)

    def append(self, value: float) -> None:
        value = float(value)
        self._ring[self.count % len(self._ring)] = value
        self.count += 1
        self.total += value
        self.max = max(self.max, value)

    def __len__(self) -> int:
        return min(self.count, len(self._ring))

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        n, w = self.count, len(self._ring)
        a = self._ring[:n].copy() if n <= w else np.roll(self._ring, -(n % w))
        return a if dtype is None else a.astype(dtype)

    def __iter__(self) -> Iterator[float]:
        return iter(np.asarray(self).tolist())

    def summary(self) -> dict[str, float]:
        """p50 and p99 of the retained samples, the exact max of the whole run (0 if empty)."""
        if not self.count:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}
        a = np.asarray(self)
        return {
            "p50": round(float(np.percentile(a, 50)), 4),
            "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(self.max, 4),
        }


class Track:
    """A polyline sampled over the whole run in at most ``max_points`` points.

    Every ``stride``-th appended point is kept; when ``max_points`` are held, every other one
    is dropped and the stride doubles, so the kept points stay evenly spaced over the run and
    the first point is always kept. The points live in one float64 array allocated on the
    first append (16 x ``max_points`` bytes: 4 KiB per player by default), so a player's track
    costs the same after one second as after a day. Used for the plot's player tracks.
    """

    __slots__ = ("_n", "_pts", "_seen", "max_points", "stride")

    def __init__(self, max_points: int = TRACK_POINTS) -> None:
        if max_points < 2:
            raise ValueError(f"max_points must be >= 2, got {max_points}")
        self.max_points = max_points
        self._pts: np.ndarray | None = None
        self._n = 0
        self.stride = 1
        self._seen = 0

    def append(self, point: tuple[float, float]) -> None:
        if self._pts is None:
            self._pts = np.empty((self.max_points, 2), dtype=np.float64)
        if self._seen % self.stride == 0:
            if self._n >= self.max_points:
                kept = self._pts[: self._n : 2].copy()
                self._n = len(kept)
                self._pts[: self._n] = kept
                self.stride *= 2
            if self._seen % self.stride == 0:
                self._pts[self._n] = point
                self._n += 1
        self._seen += 1

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return iter([tuple(p) for p in np.asarray(self).tolist()])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = np.empty((0, 2), dtype=np.float64) if self._pts is None else self._pts[: self._n].copy()
        return a if dtype is None else a.astype(dtype)
