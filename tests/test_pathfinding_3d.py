# SPDX-License-Identifier: MIT
"""The 3D uniform-grid A* kernel (csrc/src/grid_astar_exact_3d.cpp) on its own edge cases:
grid borders and 1-voxel-thin dimensions (the neighbourhood read), unreachable goals, and
searches whose f range sweeps the bucket ring of the open list many times over (long detours)
or piles many entries into one bucket (open plateaus). References: scipy.sparse.csgraph
Dijkstra on the same move graph (oracles_pathfinding), an independent step checker, and
closed-form costs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_pathfinding import check_path, dijkstra_costs

from fbsim import pathfinding as pf

CONNS = (6, 18, 26)


def _check_queries(grid, starts, goals, conn):
    ref = dijkstra_costs(grid, starts, goals, conn)
    got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=2)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    for s, g, want in zip(starts[:3], goals[:3], ref[:3], strict=False):
        path, cost = pf.astar(grid, s, g, connectivity=conn)
        if np.isfinite(want):
            assert cost == pytest.approx(want, rel=1e-12)
            assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)
            assert tuple(path[0]) == tuple(s)
            assert tuple(path[-1]) == tuple(g)
        else:
            assert math.isinf(cost)
            assert path.shape == (0, 3)


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from(CONNS),
    st.sampled_from([0, 1, 2]),
    st.integers(1, 12),
    st.integers(2, 12),
    st.floats(0.0, 0.45),
)
@settings(max_examples=60, deadline=None)
def test_thin_and_odd_shapes_match_scipy(seed, conn, thin_axis, thin, other, density):
    # One axis 1..12 voxels (1: every cell is on the border along it), the others any size:
    # shapes that are not multiples of anything, with starts/goals on the faces and corners.
    rng = np.random.default_rng(seed)
    shape = [int(v) for v in rng.integers(2, other + 1, 3)]
    shape[thin_axis] = thin
    grid = rng.random(shape) >= density
    free = np.argwhere(grid)
    if len(free) == 0:
        return
    starts = free[rng.choice(len(free), 8)]
    goals = free[rng.choice(len(free), 8)]
    _check_queries(grid, starts, goals, conn)


@pytest.mark.parametrize("conn", CONNS)
def test_corner_to_corner_along_every_face_and_edge(conn):
    # Starts and goals at the 8 corners of a grid with a random blocked interior: every path
    # hugs borders, where the neighbourhood read must treat outside voxels as blocked.
    rng = np.random.default_rng(conn)
    grid = rng.random((7, 9, 11)) >= 0.3
    corners = np.array([(z, r, c) for z in (0, 6) for r in (0, 8) for c in (0, 10)], dtype=np.int64)
    grid[tuple(corners.T)] = True
    starts = np.repeat(corners, len(corners), axis=0)
    goals = np.tile(corners, (len(corners), 1))
    _check_queries(grid, starts, goals, conn)


@pytest.mark.parametrize("conn", CONNS)
def test_sealed_goal_is_unreachable(conn):
    # A goal inside a closed shell: inf and an empty path, after flooding the outside.
    grid = np.ones((12, 13, 14), bool)
    grid[4:9, 4:9, 4:9] = False
    grid[5:8, 5:8, 5:8] = True  # hollow inside, sealed by a 1-voxel wall
    got = pf.astar_many(grid, [[0, 0, 0], [6, 6, 6]], [[6, 6, 6], [0, 0, 0]], connectivity=conn)
    assert np.all(np.isinf(got))
    path, cost = pf.astar(grid, (0, 0, 0), (6, 6, 6), connectivity=conn)
    assert math.isinf(cost)
    assert path.shape == (0, 3)
    # Inside the shell the search still works.
    _check_queries(grid, np.array([[5, 5, 5]]), np.array([[7, 7, 7]]), conn)


def _serpentine(n_walls: int, side: int, depth: int) -> np.ndarray:
    # Walls across the column axis with one gap each, alternating sides: the optimum detours
    # through every gap, so f rises by many units (the ring of f buckets wraps many times).
    cols = 2 * n_walls + 1
    grid = np.ones((depth, side, cols), bool)
    for k in range(n_walls):
        c = 2 * k + 1
        grid[:, :, c] = False
        gap = side - 1 if k % 2 == 0 else 0
        grid[:, gap, c] = True
    return grid


@pytest.mark.parametrize("conn", CONNS)
def test_long_detour_matches_scipy(conn):
    grid = _serpentine(n_walls=12, side=30, depth=3)
    cols = grid.shape[2]
    starts = np.array([[0, 0, 0], [1, 15, 0], [2, 29, cols - 1]])
    goals = np.array([[2, 0, cols - 1], [0, 29, cols - 1], [0, 0, 0]])
    _check_queries(grid, starts, goals, conn)


def test_long_detour_cost_closed_form():
    # depth 1, 6-connected: the walk is 12 gaps x (29 across + 2 through) less the part the
    # start and goal save; counted independently: col steps 24, row steps 12 * 29 = 348.
    grid = _serpentine(n_walls=12, side=30, depth=1)
    cols = grid.shape[2]
    got = pf.astar_many(grid, [[0, 0, 0]], [[0, 0, cols - 1]], connectivity=6)
    assert got[0] == (cols - 1) + 12 * 29


@pytest.mark.parametrize("conn", CONNS)
def test_open_plateau_with_pillars_matches_scipy(conn):
    # A mostly empty cube with sparse pillars: many open voxels share one f (one big bucket),
    # the case the sorted current bucket is for.
    rng = np.random.default_rng(7)
    grid = np.ones((16, 40, 40), bool)
    for _ in range(60):
        r, c = rng.integers(0, 40, 2)
        grid[:, r, c] = False
    grid[:, 18:22, 2:38] = False  # a wall the searches must go around
    free = np.argwhere(grid)
    starts = free[rng.choice(len(free), 10)]
    goals = free[rng.choice(len(free), 10)]
    _check_queries(grid, starts, goals, conn)


def test_results_do_not_depend_on_query_order_or_workers():
    # Search state and the bucket ring are reused between the queries of a worker: a query
    # gives the same cost and expansions whatever ran before it.
    rng = np.random.default_rng(3)
    grid = rng.random((10, 20, 20)) >= 0.25
    free = np.argwhere(grid)
    starts = free[rng.choice(len(free), 30)]
    goals = free[rng.choice(len(free), 30)]
    c1, e1 = pf.astar_many(grid, starts, goals, connectivity=26, return_expansions=True)
    perm = rng.permutation(30)
    c2, e2 = pf.astar_many(
        grid, starts[perm], goals[perm], connectivity=26, workers=3, return_expansions=True
    )
    np.testing.assert_array_equal(c2, c1[perm])
    np.testing.assert_array_equal(e2, e1[perm])
    np.testing.assert_allclose(c1, dijkstra_costs(grid, starts, goals, 26), rtol=1e-12)


def _octile3(d: np.ndarray, conn: int) -> np.ndarray:
    # Obstacle-free distance for |deltas| d (n x 3), derived here: sort a >= b >= c; 6: one
    # axis per move; 18: as many sqrt(2) moves as the two smaller axes and the total allow;
    # 26: c sqrt(3) moves, then b - c sqrt(2) moves, then a - b unit moves.
    s = -np.sort(-np.abs(d), axis=1)
    a, b, c = s[:, 0], s[:, 1], s[:, 2]
    if conn == 6:
        return (a + b + c).astype(float)
    if conn == 18:
        m = np.minimum((a + b + c) // 2, b + c)
        return (a + b + c - 2 * m) + m * math.sqrt(2)
    return (a - b) + (b - c) * math.sqrt(2) + c * math.sqrt(3)


@given(st.integers(0, 2**32 - 1), st.sampled_from(CONNS), st.floats(0.0, 0.4))
@settings(max_examples=40, deadline=None)
def test_expansions_are_exactly_the_astar_set(seed, conn, density):
    # With a consistent heuristic, A* expands every cell with g*(n) + h(n) < C* and none with
    # g*(n) + h(n) > C* (g* from scipy's Dijkstra, h derived above). A kernel that popped out
    # of f order, or closed a cell early, would leave this window.
    from oracles_pathfinding import grid_graph
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(2, 9, 3))
    grid = rng.random(shape) >= density
    free = np.argwhere(grid)
    if len(free) < 2:
        return
    s, g = free[rng.choice(len(free), 2, replace=False)]
    dist = dijkstra(grid_graph(grid, conn), directed=True, indices=np.ravel_multi_index(s, shape))
    cells = np.array(np.unravel_index(np.arange(grid.size), shape)).T
    f = dist + _octile3(cells - g, conn)
    c_star = dist[np.ravel_multi_index(g, shape)]
    _, exp = pf.astar_many(grid, [s], [g], connectivity=conn, return_expansions=True)
    if np.isinf(c_star):  # the whole component of the start is expanded
        assert exp[0] == np.isfinite(dist).sum()
    else:
        assert np.sum(f < c_star - 1e-9) <= exp[0] <= np.sum(f <= c_star + 1e-9)
