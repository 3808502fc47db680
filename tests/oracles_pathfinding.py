# SPDX-License-Identifier: MIT
"""Independent references for fbsim.pathfinding: numpy graph construction + scipy's Dijkstra,
a step-by-step path checker, and a closed-box segment test. No code shared with fbsim."""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse
from scipy.sparse.csgraph import dijkstra


def _as_costs(grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid)
    if grid.dtype == bool:
        return np.where(grid, 1.0, np.inf)
    return grid.astype(float)


def _moves(ndim: int, connectivity: int):
    """Displacements of a connectivity, by number of non-zero axes (4/6: 1, 8/18: 2, 26: 3)."""
    max_axes = {4: 1, 6: 1, 8: 2, 18: 2, 26: 3}[connectivity]
    for d in itertools.product((-1, 0, 1), repeat=ndim):
        k = sum(v != 0 for v in d)
        if 0 < k <= max_axes:
            yield d


def _shift_view(a: np.ndarray, d) -> tuple:
    """Slices src, dst such that a[dst] is a shifted by d relative to a[src]."""
    src, dst = [], []
    for v, n in zip(d, a.shape, strict=False):
        src.append(slice(max(0, -v), n - max(0, v)))
        dst.append(slice(max(0, v), n - max(0, -v)))
    return tuple(src), tuple(dst)


def grid_graph(grid: np.ndarray, connectivity: int) -> scipy.sparse.csr_matrix:
    """Directed move graph: edge a -> b for every legal move, weight |b - a| * cost(b).
    Legal: every cell of the bounding box of a and b is free (no corner cutting)."""
    costs = _as_costs(grid)
    free = np.isfinite(costs)
    ndim = costs.ndim
    index = np.arange(costs.size).reshape(costs.shape)
    rows, cols, weights = [], [], []
    for d in _moves(ndim, connectivity):
        ok = np.ones(costs.shape, bool)
        src, _dst = _shift_view(costs, d)
        ok_view = np.zeros(costs.shape, bool)
        ok_view[src] = True
        # Every cell a + (d masked to a subset of its non-zero axes) must be free.
        nz = [i for i, v in enumerate(d) if v]
        for r in range(len(nz) + 1):
            for sub in itertools.combinations(nz, r):
                dd = tuple(d[i] if i in sub else 0 for i in range(ndim))
                s2, t2 = _shift_view(costs, dd)
                shifted = np.zeros(costs.shape, bool)
                shifted[s2] = free[t2]
                ok &= shifted
        ok &= ok_view
        a = index[ok]
        b = a + int(np.dot(d, [int(np.prod(costs.shape[i + 1 :])) for i in range(ndim)]))
        length = math.sqrt(sum(v * v for v in d))
        rows.append(a)
        cols.append(b)
        weights.append(length * costs.reshape(-1)[b])
    n = costs.size
    return scipy.sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )


def dijkstra_costs(grid, starts, goals, connectivity: int) -> np.ndarray:
    """Shortest path costs (inf when unreachable) by scipy.sparse.csgraph.dijkstra."""
    grid = np.asarray(grid)
    g = grid_graph(grid, connectivity)
    flat_s = np.ravel_multi_index(np.asarray(starts).T, grid.shape)
    flat_g = np.ravel_multi_index(np.asarray(goals).T, grid.shape)
    uniq, inv = np.unique(flat_s, return_inverse=True)
    dist = dijkstra(g, directed=True, indices=uniq)
    return dist[inv, flat_g]


def cost_to_go(grid, goals, connectivity: int) -> np.ndarray:
    """Cost from every cell to its nearest goal: Dijkstra on the transposed graph."""
    grid = np.asarray(grid)
    g = grid_graph(grid, connectivity).T.tocsr()
    flat = np.ravel_multi_index(np.asarray(goals).T, grid.shape)
    dist = dijkstra(g, directed=True, indices=flat, min_only=True)
    return dist.reshape(grid.shape)


def check_path(grid, path, connectivity: int) -> float:
    """Asserts every step of `path` is a legal move and returns the summed step cost."""
    costs = _as_costs(grid)
    path = np.asarray(path)
    allowed = {tuple(d) for d in _moves(costs.ndim, connectivity)}
    total = 0.0
    for a, b in itertools.pairwise(path):
        d = tuple(int(v) for v in b - a)
        assert d in allowed, f"step {a} -> {b} is not a move"
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        box = costs[tuple(slice(int(x), int(y) + 1) for x, y in zip(lo, hi, strict=False))]
        assert np.all(np.isfinite(box)), f"step {a} -> {b} cuts a corner or enters a wall"
        total += math.sqrt(sum(v * v for v in d)) * costs[tuple(b)]
    return total


def segment_touches_blocked(grid, a, b) -> bool:
    """True when the segment between cell centres a and b meets any blocked cell, each cell a
    closed unit box centred on its integer coordinate (slab test)."""
    costs = _as_costs(grid)
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    blocked = np.argwhere(~np.isfinite(costs)).astype(float)
    if len(blocked) == 0:
        return False
    lo, hi = blocked - 0.5, blocked + 0.5
    d = b - a
    t0 = np.zeros(len(blocked))
    t1 = np.ones(len(blocked))
    for k in range(costs.ndim):
        if d[k] == 0:
            inside = (a[k] >= lo[:, k]) & (a[k] <= hi[:, k])
            t0 = np.where(inside, t0, 2.0)
            continue
        ta = (lo[:, k] - a[k]) / d[k]
        tb = (hi[:, k] - a[k]) / d[k]
        t0 = np.maximum(t0, np.minimum(ta, tb))
        t1 = np.minimum(t1, np.maximum(ta, tb))
    return bool(np.any(t0 <= t1))
