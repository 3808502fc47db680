# SPDX-License-Identifier: MIT
"""Edge cases of the 2D exact A* kernel (csrc/src/grid_astar_exact_2d.cpp): its bit-packed,
padded copy of the grid puts rows end to end, so row and word boundaries fall at every column
for some width; its closed set is cleared between the queries of a batch; its bucket queue
must pop in exact f order. References: scipy.sparse.csgraph Dijkstra (oracles_pathfinding),
the step-by-step path checker, and closed-form costs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_pathfinding import check_path, dijkstra_costs

from fbsim import pathfinding as pf

WIDTHS = [1, 2, 3, 7, 8, 9, 62, 63, 64, 65, 66, 127, 128, 129]


def _queries(rng, grid, count):
    free = np.argwhere(grid)
    # Border cells first: the padded copy's edges are where an off-by-one would show.
    border = free[
        (free[:, 0] == 0)
        | (free[:, 1] == 0)
        | (free[:, 0] == grid.shape[0] - 1)
        | (free[:, 1] == grid.shape[1] - 1)
    ]
    pool = np.concatenate([border, free]) if len(border) else free
    starts = pool[rng.choice(len(pool), count)]
    goals = pool[rng.choice(len(pool), count)]
    return starts, goals


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("conn", [4, 8])
def test_widths_around_word_boundaries_match_scipy(width, conn, rng):
    for height in (1, 2, 5, 17):
        for density in (0.0, 0.2, 0.4):
            grid = rng.random((height, width)) >= density
            if not grid.any():
                continue
            starts, goals = _queries(rng, grid, 12)
            ref = dijkstra_costs(grid, starts, goals, conn)
            # One batch on one worker: the closed set and node state are reused, so a query
            # that left bits behind would corrupt the next one.
            got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=1)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
            for i in range(3):
                path, cost = pf.astar(grid, starts[i], goals[i], connectivity=conn)
                if math.isinf(ref[i]):
                    assert path.shape == (0, 2)
                    assert math.isinf(cost)
                else:
                    assert tuple(path[0]) == tuple(starts[i])
                    assert tuple(path[-1]) == tuple(goals[i])
                    assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)


@pytest.mark.parametrize("width", [1, 63, 64, 65])
@pytest.mark.parametrize("conn", [4, 8])
def test_unreachable_goal_and_start_equals_goal(width, conn):
    grid = np.ones((9, width), bool)
    grid[4, :] = False  # a full wall: the lower half is sealed off
    path, cost = pf.astar(grid, (0, 0), (8, width - 1), connectivity=conn)
    assert path.shape == (0, 2)
    assert cost == math.inf
    assert math.isinf(pf.astar_many(grid, [(0, width - 1)], [(8, 0)], connectivity=conn)[0])
    for cell in [(0, 0), (8, width - 1), (3, width // 2)]:
        path, cost = pf.astar(grid, cell, cell, connectivity=conn)
        assert cost == 0.0
        np.testing.assert_array_equal(path, [cell])


@pytest.mark.parametrize("width", [63, 64, 65, 256, 257])
def test_diagonal_gap_at_word_boundary_is_not_cut(width):
    # Two diagonal neighbours free, the orthogonal cells between them blocked, at the columns
    # where the bit copy's words meet: the diagonal is illegal, the goal is unreachable.
    grid = np.zeros((2, width), bool)
    grid[0, width - 2] = True
    grid[1, width - 1] = True
    path, cost = pf.astar(grid, (0, width - 2), (1, width - 1))
    assert math.isinf(cost)
    assert len(path) == 0
    grid[0, width - 1] = True  # open one orthogonal cell: two unit moves
    assert pf.astar(grid, (0, width - 2), (1, width - 1))[1] == 2.0
    grid[1, width - 2] = True  # both open: the diagonal is legal
    assert pf.astar(grid, (0, width - 2), (1, width - 1))[1] == pytest.approx(math.sqrt(2))


@pytest.mark.parametrize("width", [255, 256, 257, 513])
@pytest.mark.parametrize("conn", [4, 8])
def test_short_queries_across_packing_blocks_match_scipy(width, conn, rng):
    # The passability bits are packed lazily, 256 columns of a row at a time, when a search
    # first comes near them: short queries that start or end at a block's edge see only the
    # blocks they touched, so a block left unpacked would read as a wall.
    grid = rng.random((9, width)) >= 0.25
    edges = [c for c in (0, 1, 254, 255, 256, 257, 511, 512) if c < width]
    starts, goals = [], []
    for _ in range(120):
        c = int(rng.choice(edges))
        starts.append((int(rng.integers(9)), c))
        goals.append((int(rng.integers(9)), int(np.clip(c + rng.integers(-3, 4), 0, width - 1))))
    keep = [i for i in range(len(starts)) if grid[starts[i]] and grid[goals[i]]]
    starts, goals = np.array(starts)[keep], np.array(goals)[keep]
    ref = dijkstra_costs(grid, starts, goals, conn)
    assert np.isfinite(ref).sum() > 20  # the check is not vacuous
    for i in range(len(starts)):  # one call each: every query starts from nothing packed
        path, cost = pf.astar(grid, starts[i], goals[i], connectivity=conn)
        if math.isinf(ref[i]):
            assert math.isinf(cost)
            assert path.shape == (0, 2)
        else:
            assert cost == pytest.approx(ref[i], rel=1e-12)
            assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)
    got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=1)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_open_corridor_costs_are_exact():
    # Closed form: an open h x w grid, corner to corner, costs (w - h) + (h - 1) sqrt2 moves
    # 8-connected and (h - 1) + (w - 1) 4-connected; expansions equal the path cells.
    for h, w in [(1, 64), (2, 65), (63, 200), (64, 64), (65, 1000)]:
        grid = np.ones((h, w), bool)
        goal = (h - 1, w - 1)
        c8, e8 = pf.astar_many(grid, [(0, 0)], [goal], return_expansions=True)
        d = min(h, w) - 1
        assert c8[0] == pytest.approx(max(h, w) - 1 - d + d * math.sqrt(2), rel=1e-14)
        c4, e4 = pf.astar_many(grid, [(0, 0)], [goal], connectivity=4, return_expansions=True)
        assert c4[0] == h + w - 2
        assert e8[0] == max(h, w)
        assert e4[0] == h + w - 1


@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 6),
    st.integers(1, 140),
    st.floats(0.0, 0.5),
    st.sampled_from([4, 8]),
)
def test_narrow_and_wide_grids_match_scipy_property(seed, h, w, density, conn):
    rng = np.random.default_rng(seed)
    grid = rng.random((h, w)) >= density
    if not grid.any():
        return
    starts, goals = _queries(rng, grid, 8)
    ref = dijkstra_costs(grid, starts, goals, conn)
    got = pf.astar_many(grid, starts, goals, connectivity=conn)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_batch_reuses_state_across_many_queries(rng):
    # Hundreds of queries on one worker's store, alternating short and long, reachable and
    # not: every one must match the reference independently of the ones before it.
    grid = rng.random((65, 64)) >= 0.3
    grid[:, 31] = False
    grid[::7, 31] = True
    starts, goals = _queries(rng, grid, 300)
    for conn in (4, 8):
        ref = dijkstra_costs(grid, starts, goals, conn)
        got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=1)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def _octile2(d: np.ndarray, conn: int) -> np.ndarray:
    # The kernel's heuristic, derived independently: Manhattan (4) or octile (8) distance.
    a = np.abs(d)
    hi, lo = a.max(axis=1), a.min(axis=1)
    if conn == 4:
        return (hi + lo).astype(float)
    return (hi - lo) + lo * math.sqrt(2)


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([4, 8]),
    st.floats(0.0, 0.45),
    st.integers(1, 40),
    st.integers(1, 70),
)
@settings(max_examples=150, deadline=None)
def test_expansions_stay_in_the_astar_window(seed, conn, density, h, w):
    # Ties among equal f pop in any order (LIFO), so the expansion count is not fixed, but
    # with a consistent heuristic A* must expand every cell with g*(n) + h(n) < C* and none
    # with g*(n) + h(n) > C* (g* from scipy's Dijkstra, h derived above): a kernel that popped
    # out of f order, or closed a cell before its g was optimal, would leave this window.
    from oracles_pathfinding import grid_graph
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(seed)
    grid = rng.random((h, w)) >= density
    free = np.argwhere(grid)
    if len(free) < 2:
        return
    s, g = free[rng.choice(len(free), 2, replace=False)]
    dist = dijkstra(grid_graph(grid, conn), directed=True, indices=s[0] * w + s[1])
    cells = np.array(np.unravel_index(np.arange(grid.size), grid.shape)).T
    f = dist + _octile2(cells - g, conn)
    c_star = dist[g[0] * w + g[1]]
    path, cost = pf.astar(grid, tuple(s), tuple(g), connectivity=conn)
    _, exp = pf.astar_many(grid, [s], [g], connectivity=conn, return_expansions=True)
    if np.isinf(c_star):  # the whole component of the start is expanded
        assert math.isinf(cost)
        assert exp[0] == np.isfinite(dist).sum()
        return
    assert np.sum(f < c_star - 1e-9) <= exp[0] <= np.sum(f <= c_star + 1e-9)
    assert cost == pytest.approx(c_star, rel=1e-12)
    # Whichever of several optimal paths the tie order picks, it is a legal one of cost C*.
    assert tuple(path[0]) == tuple(s)
    assert tuple(path[-1]) == tuple(g)
    assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)


def test_expansion_window_on_the_benchmark_grid():
    # The 1024^2 benchmark query at a smaller size (same generator): plateaus of equal f are
    # large on random grids, where the LIFO tie order matters most.
    from oracles_pathfinding import grid_graph
    from scipy.sparse.csgraph import dijkstra

    rng = np.random.default_rng(7)
    n = 160
    grid = rng.random((n, n)) >= 0.2
    grid[0, 0] = grid[-1, -1] = True
    for conn in (4, 8):
        dist = dijkstra(grid_graph(grid, conn), directed=True, indices=0)
        cells = np.array(np.unravel_index(np.arange(grid.size), grid.shape)).T
        f = dist + _octile2(cells - (n - 1), conn)
        c_star = dist[-1]
        got, exp = pf.astar_many(
            grid, [(0, 0)], [(n - 1, n - 1)], connectivity=conn, return_expansions=True
        )
        assert got[0] == pytest.approx(c_star, rel=1e-12)
        assert np.sum(f < c_star - 1e-9) <= exp[0] <= np.sum(f <= c_star + 1e-9)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 40),
    st.integers(2, 70),
    st.floats(0.15, 0.5),
)
@settings(max_examples=120, deadline=None)
def test_parent_move_pruning_keeps_costs_on_cluttered_grids(seed, h, w, density):
    # 8-connected, a cell skips moves to cells its parent reaches in one legal step; whether
    # that step is legal hinges on the blocked corners around it, so dense clutter is where
    # a wrong pruning table would lose a shortest path (a cost above scipy's) or cut a corner
    # (an invalid path).
    rng = np.random.default_rng(seed)
    grid = rng.random((h, w)) >= density
    free = np.argwhere(grid)
    if len(free) == 0:
        return
    starts = free[rng.integers(0, len(free), 12)]
    goals = free[rng.integers(0, len(free), 12)]
    ref = dijkstra_costs(grid, starts, goals, 8)
    got = pf.astar_many(grid, starts, goals, connectivity=8)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    for s, g, c in zip(starts[:4], goals[:4], ref[:4], strict=True):
        path, cost = pf.astar(grid, s, g, connectivity=8)
        if np.isfinite(c):
            assert check_path(grid, path, 8) == pytest.approx(cost, rel=1e-12)
            assert cost == pytest.approx(c, rel=1e-12)
        else:
            assert path.shape == (0, 2)


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([256, 257, 300, 511, 512, 513, 530, 769]),
    st.integers(1, 6),
    st.sampled_from([4, 8]),
)
@settings(max_examples=40, deadline=None)
def test_block_boundaries_of_a_grid_edited_in_place_match_scipy(seed, w, h, conn):
    # The packed passability is built 256 columns at a time, a whole block with one write
    # per word that keeps the neighbouring blocks' bits (bit 0 of its first word is the
    # previous block's last cell, the rest of its last word the next block's) and overwrites
    # the bits a previous call left there (astar() keeps its state per thread and repacks
    # the same array after an in-place edit). Cells at the block seams (columns 254-257,
    # 510-513) are toggled between calls; queries run both ways (the kernel orders its moves
    # by whether the goal comes after the start). A stale or clobbered bit shows as a cost
    # below scipy's (a blocked cell walked through) or above it (a free cell taken as
    # blocked), or an invalid path.
    rng = np.random.default_rng(seed)
    grid = rng.random((h, w)) >= 0.1
    seams = [c for c in (0, 1, 254, 255, 256, 257, 510, 511, 512, 513, w - 1) if c < w]
    for _ in range(4):
        # A query from one end to the other across every seam, in both directions.
        free = np.argwhere(grid)
        left, right = free[free[:, 1] < 4], free[free[:, 1] >= w - 4]
        if len(left) and len(right):
            s, g = left[rng.integers(len(left))], right[rng.integers(len(right))]
            ref = dijkstra_costs(grid, [s, g], [g, s], conn)
            for a, b, r in ((s, g, ref[0]), (g, s, ref[1])):
                path, cost = pf.astar(grid, tuple(a), tuple(b), connectivity=conn)
                if math.isinf(r):
                    assert math.isinf(cost)
                else:
                    assert cost == pytest.approx(r, rel=1e-12)
                    assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)
        # Edit in place (same array, same address): flip cells at the seams.
        rows = rng.integers(0, h, 6)
        cols = np.array(seams)[rng.integers(0, len(seams), 6)]
        grid[rows, cols] = ~grid[rows, cols]
