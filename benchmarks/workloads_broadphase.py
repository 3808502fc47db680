# SPDX-License-Identifier: MIT
"""Seeded broad-phase workloads shared by the asv suite and benchmarks/compare. Append-only."""

from __future__ import annotations

import numpy as np


def cube_side(n: int, overlaps: float = 3.0) -> float:
    """Side of the cube in which n boxes with half extents U(0.25, 1) overlap ~`overlaps` others.

    Two boxes overlap on an axis when their centres are within the sum of their half extents
    (mean 2 * 0.625 = 1.25 each side, so an interval of mean width 2.5); in 3D the chance is
    (2.5 / L)^3, so n (2.5 / L)^3 = overlaps.
    """
    return 2.5 * (max(n, 1) / overlaps) ** (1.0 / 3.0)


def uniform_boxes(n: int, seed: int = 0):
    """(ids, lo, hi, centers, half): n boxes, half extents 0.25-1, uniform in the cube."""
    rng = np.random.default_rng(seed)
    side = cube_side(n)
    centers = rng.uniform(0.0, side, size=(n, 3))
    half = rng.uniform(0.25, 1.0, size=(n, 3))
    ids = np.arange(n, dtype=np.int64)
    return ids, centers - half, centers + half, centers, half


def tick_moves(n: int, fraction: float = 0.1, step: float = 0.27, seed: int = 1):
    """Which boxes move in a tick (`fraction` of them, sorted) and by how much: up to `step`
    studs per axis (walk speed 16 studs/s at 60 ticks/s)."""
    rng = np.random.default_rng(seed)
    moved = np.sort(rng.choice(n, size=int(n * fraction), replace=False)).astype(np.int64)
    delta = rng.uniform(-step, step, size=(len(moved), 3))
    return moved, delta


def query_boxes(n_queries: int, n: int, size: float = 4.0, seed: int = 2):
    """n_queries cubes of side `size` inside the workload's cube."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.0, cube_side(n), size=(n_queries, 3))
    return c - size / 2, c + size / 2


def rays(n_rays: int, n: int, length: float = 50.0, seed: int = 3):
    """n_rays segments of `length` studs from random points in random directions."""
    rng = np.random.default_rng(seed)
    o = rng.uniform(0.0, cube_side(n), size=(n_rays, 3))
    d = rng.normal(size=(n_rays, 3))
    return o, d, np.full(n_rays, length)


def crowded_wall(scene: str, n_side: int = 200, seed: int = 0):
    """Boxes sharing min x in crowded cells (issue #4, round 7). Returns (plate, ids, lo, hi,
    cell_size): "baseplate": n_side^2 unit bricks as a wall in the y-z plane at x = 0, after a
    2048-stud baseplate inserted alone (plate = (lo, hi), automatic cell size, cell_size None);
    "explicit": the same wall under cell_size=64; "specks": n_side^2 specks of 0.01 studs in
    one 64-stud cell, all with min x = 1 (cell_size=64)."""
    n = n_side * n_side
    if scene == "specks":
        rng = np.random.default_rng(seed)
        lo = np.stack([np.ones(n), rng.uniform(0, 63, n), rng.uniform(0, 63, n)], 1)
        hi = lo + 0.01
    else:
        y, z = np.meshgrid(np.arange(float(n_side)), np.arange(float(n_side)), indexing="ij")
        lo = np.stack([np.zeros(n), y.ravel(), z.ravel()], 1)
        hi = lo + 1.0
    plate = None
    if scene == "baseplate":
        plate = (np.array([[-1024.0, -2.0, -1024.0]]), np.array([[1024.0, -1.0, 1024.0]]))
    cell = None if scene == "baseplate" else 64.0
    return plate, np.arange(n, dtype=np.int64), lo, hi, cell


def hostile_crowd(scene: str, seed: int = 0):
    """Crowded levels a client can build on purpose (issue #4, round 8). Returns (ids, lo, hi,
    cell_size, buffered) where `buffered` boxes (a slice of the ids) are to be inserted after the
    rest in batches of 400, so they stay in SpatialHash's side buffer:
    "wide65": 40,000 specks (0.01 x 0.25 x 0.25, no overlaps) in one 64-stud cell plus 65 flat
    60 x 60 plates elsewhere on the same level (cell_size=64);
    "rods_mixed": three bundles of 10,000 parallel thin rods (0.05 x 0.05 x 50), one along each
    axis, apart (automatic cell size);
    "buffered": 64,000 specks of 0.01 in one 64-stud cell plus 4,000 more buffered
    (cell_size=64); "cliff33": 200,000 unit bricks (automatic cell size ~1.01) plus 33 specks
    in one cell, one more than a dense cell pass takes."""
    if scene == "cliff33":
        rng = np.random.default_rng(seed)
        n = 200_000
        side = (n / 0.3) ** (1.0 / 3.0)
        lo = rng.uniform(0.0, side, size=(n, 3))
        slo = np.full((33, 3), side / 2 + 0.3) + np.arange(33)[:, None] * np.array(
            [0.0, 0.0, 0.001]
        )
        lo, hi = np.vstack([lo, slo]), np.vstack([lo + 1.0, slo + 1e-4])
        return np.arange(len(lo), dtype=np.int64), lo, hi, None, slice(0, 0)
    if scene == "wide65":
        k = 100
        g = np.arange(k) * (60.0 / k)
        x, y, z = np.meshgrid(np.arange(4) * 1.0, g, g, indexing="ij")
        lo = np.stack([x.ravel(), y.ravel(), z.ravel()], 1)
        hi = lo + np.array([0.01, 0.25, 0.25])
        plo = np.array([[1000.0 + 100 * i, 0.0, 0.0] for i in range(65)])
        lo, hi = np.vstack([lo, plo]), np.vstack([hi, plo + np.array([0.01, 60.0, 60.0])])
        return np.arange(len(lo), dtype=np.int64), lo, hi, 64.0, slice(0, 0)
    if scene == "rods_mixed":
        k = 100
        a, b = np.meshgrid(np.arange(k) * 0.3, np.arange(k) * 0.3, indexing="ij")
        los, his = [], []
        for ax in range(3):
            other = [d for d in range(3) if d != ax]
            lo = np.zeros((k * k, 3))
            lo[:, other[0]], lo[:, other[1]] = a.ravel(), b.ravel()
            lo[:, ax] = 100.0 * ax
            hi = lo + 0.05
            hi[:, ax] = lo[:, ax] + 50.0
            los.append(lo)
            his.append(hi)
        lo, hi = np.vstack(los), np.vstack(his)
        return np.arange(len(lo), dtype=np.int64), lo, hi, None, slice(0, 0)
    rng = np.random.default_rng(seed)
    n0, nb = 64_000, 4_000
    lo = rng.uniform(0.0, 63.0, size=(n0 + nb, 3))
    return np.arange(n0 + nb, dtype=np.int64), lo, lo + 0.01, 64.0, slice(n0, n0 + nb)
