# SPDX-License-Identifier: MIT
"""astar() keeps its exact-search state per thread between calls on bool grids (the node
array, packed bits and buffers; up to fbsim's 64 MiB cap, see grid_astar in pathfinding.hpp).
What that reuse could break: a later call on another grid, on the same array edited in place,
after a grid above the cap, or in another thread at the same time. Every cost is checked
against scipy.sparse.csgraph Dijkstra (oracles_pathfinding) or a closed form, every path with
the step-by-step checker."""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from oracles_pathfinding import check_path, dijkstra_costs

from fbsim import pathfinding as pf

SQ2 = math.sqrt(2.0)
SQ3 = math.sqrt(3.0)

# (shape, connectivity): 2D and 3D, small to a few thousand cells.
CASES = [
    ((1, 7), 4),
    ((9, 1), 8),
    ((40, 63), 8),
    ((65, 30), 4),
    ((100, 129), 8),
    ((64, 64), 4),
    ((6, 9, 11), 26),
    ((5, 12, 7), 6),
    ((8, 8, 8), 18),
]


def _workload(seed: int, count: int):
    """Grids of varying shape and density, each with a few queries and Dijkstra costs."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        shape, conn = CASES[k % len(CASES)]
        grid = rng.random(shape) >= rng.uniform(0.0, 0.35)
        free = np.argwhere(grid)
        if len(free) == 0:
            continue
        starts = free[rng.choice(len(free), 3)]
        goals = free[rng.choice(len(free), 3)]
        out.append((grid, conn, starts, goals, dijkstra_costs(grid, starts, goals, conn)))
    return out


def _check(grid, conn, start, goal, ref) -> None:
    path, cost = pf.astar(grid, start, goal, connectivity=conn)
    if math.isinf(ref):
        assert math.isinf(cost)
        assert path.shape == (0, grid.ndim)
        return
    assert cost == pytest.approx(ref, rel=1e-12, abs=1e-12)
    assert tuple(path[0]) == tuple(start)
    assert tuple(path[-1]) == tuple(goal)
    assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12, abs=1e-12)


def test_many_grids_in_one_thread_match_scipy():
    for grid, conn, starts, goals, ref in _workload(1, 36):
        for s, g, r in zip(starts, goals, ref, strict=True):
            _check(grid, conn, s, g, r)


def test_grid_edited_in_place_between_calls_matches_scipy(rng):
    # Same array object (same address and shape) with new contents: the packed passability
    # of the previous call must not be used again.
    for conn in (4, 8):
        grid = np.ones((70, 90), dtype=bool)
        start, goal = (0, 0), (69, 89)
        for _ in range(8):
            _check(grid, conn, start, goal, dijkstra_costs(grid, [start], [goal], conn)[0])
            grid[...] = rng.random(grid.shape) >= rng.uniform(0.0, 0.4)
            grid[start] = grid[goal] = True
        # A wall that cuts the goal off, then removed again.
        grid[:] = True
        grid[:, 45] = False
        _check(grid, conn, start, goal, math.inf)
        grid[:, 45] = True
        _check(grid, conn, start, goal, dijkstra_costs(grid, [start], [goal], conn)[0])


def test_grid_above_retention_cap_then_small_grids():
    # 3000 x 3000 (8 B per cell: 72 MB of 2D node state) and 200 x 200 x 150 (12 B per cell:
    # 72 MB in 3D) exceed the 64 MiB cap, so their state is freed after the call; open grids
    # have closed-form costs. The small grids before and after use Dijkstra.
    small = _workload(2, 6)
    for grid, conn, starts, goals, ref in small:
        _check(grid, conn, starts[0], goals[0], ref[0])
    big2 = np.ones((3000, 3000), dtype=bool)
    _check(big2, 8, (1500, 1500), (1507, 1502), 5 + 2 * SQ2)
    _check(big2, 4, (2990, 5), (2999, 0), 14.0)
    for grid, conn, starts, goals, ref in small:
        _check(grid, conn, starts[1], goals[1], ref[1])
    big3 = np.ones((200, 200, 150), dtype=bool)
    _check(big3, 26, (100, 100, 75), (103, 101, 77), 1 + SQ2 + SQ3)
    for grid, conn, starts, goals, ref in small:
        _check(grid, conn, starts[2], goals[2], ref[2])
    # Back to the big 2D grid, now with a wall of one gap (a detour through column 2999).
    big2[1000, :-1] = False
    path, cost = pf.astar(big2, (999, 2990), (1001, 2990), connectivity=4)
    assert cost == 2 * 9 + 2
    assert check_path(big2, path, 4) == cost


def test_concurrent_threads_each_match_scipy():
    # Several Python threads call astar (GIL released in the kernel) on different grids at
    # once, each with its own retained state.
    work = [_workload(seed, 18) for seed in range(10, 14)]
    barrier = threading.Barrier(len(work))

    def run(items) -> None:
        barrier.wait()
        for _ in range(3):
            for grid, conn, starts, goals, ref in items:
                for s, g, r in zip(starts, goals, ref, strict=True):
                    _check(grid, conn, s, g, r)

    with ThreadPoolExecutor(len(work)) as ex:
        for f in [ex.submit(run, items) for items in work]:
            f.result()  # re-raises a failed check


def test_concurrent_threads_share_one_grid_match_scipy(rng):
    grid = rng.random((120, 150)) >= 0.25
    free = np.argwhere(grid)
    starts = free[rng.choice(len(free), 24)]
    goals = free[rng.choice(len(free), 24)]
    ref = {c: dijkstra_costs(grid, starts, goals, c) for c in (4, 8)}

    def run(conn: int, order) -> None:
        for i in order:
            _check(grid, conn, starts[i], goals[i], ref[conn][i])

    with ThreadPoolExecutor(4) as ex:
        futures = [ex.submit(run, 4 + 4 * (k % 2), rng.permutation(24)) for k in range(4)]
        for f in futures:
            f.result()
