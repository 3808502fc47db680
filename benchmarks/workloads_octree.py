# SPDX-License-Identifier: MIT
"""Seeded workloads for the octree/quadtree benchmarks (asv suites and benchmarks/compare).
Append-only: changing a generator changes what history measured."""

from __future__ import annotations

import numpy as np


def unit_cube_points(n: int, seed: int = 0) -> np.ndarray:
    """`n` points uniform in the unit cube (the issue's workload)."""
    return np.random.default_rng(seed).random((n, 3))


def radius_for_neighbours(n: int, neighbours: float = 10.0) -> float:
    """Ball radius holding `neighbours` points on average among `n` uniform unit-cube points."""
    return float((neighbours / (n * 4.0 / 3.0 * np.pi)) ** (1.0 / 3.0))


def tick_moves(points: np.ndarray, fraction: float = 0.1, step: float = 1e-3, seed: int = 1):
    """(ids, new_positions) for one tick: `fraction` of the points take a small random step
    (players walking: about 16 studs/s * 1/60 s relative to a 1000-stud world)."""
    rng = np.random.default_rng(seed)
    n = points.shape[0]
    ids = rng.choice(n, size=int(n * fraction), replace=False).astype(np.int64)
    return ids, points[ids] + rng.normal(scale=step, size=(len(ids), 3))


def world_aabbs(n: int, seed: int = 0, world: float = 1000.0) -> np.ndarray:
    """`n` item boxes (n, 6) in a cube of side `world`: centres uniform, half extents 0.25-4
    studs (placed parts, the same size range as common.random_boxes)."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-world / 2, world / 2, size=(n, 3))
    h = rng.uniform(0.25, 4.0, size=(n, 3))
    return np.hstack([c - h, c + h])


def query_boxes(n: int, seed: int = 1, world: float = 1000.0, half: float = 8.0):
    """(lo, hi) of `n` query boxes of half size `half` (a reach / interest check)."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(-world / 2, world / 2, size=(n, 3))
    return c - half, c + half
