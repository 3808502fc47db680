# SPDX-License-Identifier: MIT
"""fbsim.pathfinding against the Moving AI benchmark optima, scipy's Dijkstra on the same move
graph (oracles_pathfinding), and an independent step-by-step path checker."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles_pathfinding import (
    check_path,
    cost_to_go,
    dijkstra_costs,
    segment_touches_blocked,
)

import fbsim
from fbsim import pathfinding as pf

# CI clones the repo next to shared/ (parents[2]); worktrees sit one level deeper, so the
# nearest ancestor holding shared/data/movingai wins. FBSIM_MOVINGAI_DATA overrides both.
_HERE = Path(__file__).resolve()
DATA = Path(
    os.environ.get("FBSIM_MOVINGAI_DATA", _HERE.parents[2] / "shared" / "data" / "movingai")
)
if "FBSIM_MOVINGAI_DATA" not in os.environ and not DATA.is_dir():
    for _p in _HERE.parents[2:]:
        if (_p / "shared" / "data" / "movingai").is_dir():
            DATA = _p / "shared" / "data" / "movingai"
            break
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"Moving AI data not found at {DATA} (clone next to shared/)"
)

# Scenario files: (scen, map, relative tolerance?) per SOURCES.md: 6 significant digits for the
# original-benchmark arena and AcrosstheCape files, 8 decimals (1e-6 absolute) otherwise.
SCENARIOS = {
    "arena.map.scen": ("arena.map", True),
    "AcrosstheCape.map.scen": ("AcrosstheCape.map", True),
    "maze512-32-9.map.scen": ("maze512-32-9.map", False),
    "Berlin_1_256-random-1.scen": ("Berlin_1_256.map", False),
    "Paris_1_256-random-1.scen": ("Paris_1_256.map", False),
    "den520d-random-1.scen": ("den520d.map", False),
    "brc202d-random-1.scen": ("brc202d.map", False),
    "room-64-64-8-random-1.scen": ("room-64-64-8.map", False),
    "maze-32-32-2-random-1.scen": ("maze-32-32-2.map", False),
    "random-64-64-20-random-1.scen": ("random-64-64-20.map", False),
    "random-32-32-20-random-1.scen": ("random-32-32-20.map", False),
    "random-32-32-10-random-1.scen": ("random-32-32-10.map", False),
}
BIG = {"AcrosstheCape.map.scen", "maze512-32-9.map.scen", "brc202d-random-1.scen"}


def _load(scen_name):
    scen_map, rel = SCENARIOS[scen_name]
    rows = pf.load_movingai_scen(DATA / scen_name)
    grid = pf.load_movingai_map(DATA / scen_map)
    starts = np.stack([rows["sy"], rows["sx"]], axis=1)
    goals = np.stack([rows["gy"], rows["gx"]], axis=1)
    return grid, rows, starts, goals, rel


def _assert_matches(costs, optimal, rel):
    tol = 1e-5 * np.abs(optimal) if rel else 1e-6
    bad = np.flatnonzero(~(np.abs(costs - optimal) <= tol))
    assert len(bad) == 0, (
        f"{len(bad)} rows differ, first {bad[:5]}: {costs[bad[:5]]} vs {optimal[bad[:5]]}"
    )


def _scen_params(big: bool):
    for name in SCENARIOS:
        if (name in BIG) == big:
            for method in ("astar", "jps"):
                yield pytest.param(name, method, id=f"{name}-{method}")


# ---------------------------------------------------------------- loaders


def test_load_movingai_map_chars_crlf_and_no_final_newline(tmp_path):
    text = "type octile\r\nheight 2\r\nwidth 5\r\nmap\r\n.GS@O\r\nTW..@"
    p = tmp_path / "m.map"
    p.write_bytes(text.encode())
    grid = pf.load_movingai_map(p)
    assert grid.dtype == bool
    np.testing.assert_array_equal(
        grid, [[True, True, True, False, False], [False, False, True, True, False]]
    )
    p.write_bytes(b"type octile\nheight 1\nwidth 2\nmap\n.X\n")
    with pytest.raises(ValueError, match="unknown map character 'X' at row 0, column 1"):
        pf.load_movingai_map(p)
    p.write_bytes(b"type octile\nheight 2\nwidth 2\nmap\n..\n")
    with pytest.raises(ValueError, match="expected 2 map rows"):
        pf.load_movingai_map(p)


def test_load_movingai_scen_crlf_and_no_final_newline(tmp_path):
    p = tmp_path / "s.scen"
    p.write_bytes(
        b"version 1\r\n3\tmaps/dao/arena.map\t49\t49\t1\t2\t3\t4\t5.41421356\r\n"
        b"0\tarena.map\t49\t49\t7\t8\t9\t10\t3"
    )
    rows = pf.load_movingai_scen(p)
    assert rows.shape == (2,)
    assert rows["map"][0] == "arena.map"
    assert (rows["sx"][0], rows["sy"][0], rows["gx"][0], rows["gy"][0]) == (1, 2, 3, 4)
    assert rows["optimal"][0] == pytest.approx(5.41421356)
    assert rows["bucket"][1] == 0


@needs_data
def test_loaders_read_all_shipped_files():
    for name, (map_name, _) in SCENARIOS.items():
        rows = pf.load_movingai_scen(DATA / name)
        grid = pf.load_movingai_map(DATA / map_name)
        assert len(rows) > 0
        assert grid.shape == (rows["height"][0], rows["width"][0])
        # Every scenario endpoint is passable: a cheap check that x = column, y = row.
        assert grid[rows["sy"], rows["sx"]].all()
        assert grid[rows["gy"], rows["gx"]].all()


# ---------------------------------------------------------------- Moving AI optima


@needs_data
@pytest.mark.parametrize(("scen", "method"), list(_scen_params(big=False)))
def test_every_scenario_row_matches_optimal(scen, method):
    grid, rows, starts, goals, rel = _load(scen)
    costs = pf.astar_many(grid, starts, goals, method=method, workers=2)
    _assert_matches(costs, rows["optimal"], rel)


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize(("scen", "method"), list(_scen_params(big=True)))
def test_every_scenario_row_matches_optimal_big(scen, method):
    grid, rows, starts, goals, rel = _load(scen)
    costs = pf.astar_many(grid, starts, goals, method=method, workers=-1)
    _assert_matches(costs, rows["optimal"], rel)


@needs_data
@pytest.mark.parametrize("scen", sorted(BIG))
def test_big_scenario_sample_matches_optimal(scen):
    grid, rows, starts, goals, rel = _load(scen)
    # The 15 shortest and 15 random rows; every row runs in the slow test above.
    pick = np.unique(
        np.r_[
            np.argsort(rows["optimal"])[:15],
            np.random.default_rng(1).choice(len(rows), 15, replace=False),
        ]
    )
    for method in ("astar", "jps"):
        costs = pf.astar_many(grid, starts[pick], goals[pick], method=method, workers=2)
        _assert_matches(costs, rows["optimal"][pick], rel)


@needs_data
@pytest.mark.parametrize("scen", sorted(SCENARIOS))
def test_scenario_paths_are_valid(scen):
    grid, rows, starts, goals, rel = _load(scen)
    pick = np.random.default_rng(7).choice(len(rows), 12, replace=False)
    for i in pick:
        for path, cost in (pf.astar(grid, starts[i], goals[i]), pf.jps(grid, starts[i], goals[i])):
            assert path.dtype == np.int64
            assert path.shape[1] == 2
            np.testing.assert_array_equal(path[0], starts[i])
            np.testing.assert_array_equal(path[-1], goals[i])
            assert check_path(grid, path, 8) == pytest.approx(cost, abs=1e-9)
            _assert_matches(np.array([cost]), rows["optimal"][i : i + 1], rel)


@needs_data
@pytest.mark.parametrize(
    "map_name", ["ost003d.map", "lak503d.map", "AR0603SR.map", "empty-64-64.map", "den520d.map"]
)
def test_maps_without_scenarios_match_scipy_dijkstra(map_name, rng):
    grid = pf.load_movingai_map(DATA / map_name)
    free = np.argwhere(grid)
    starts = np.repeat(free[rng.choice(len(free), 3, replace=False)], 10, axis=0)
    goals = free[rng.choice(len(free), 30, replace=False)]
    for conn in (8, 4):
        ref = dijkstra_costs(grid, starts, goals, conn)
        got = pf.astar_many(grid, starts, goals, connectivity=conn)
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-9)
    jps = pf.astar_many(grid, starts, goals, method="jps")
    np.testing.assert_allclose(jps, dijkstra_costs(grid, starts, goals, 8), rtol=1e-12, atol=1e-9)


# ---------------------------------------------------------------- 3D Warframe


@pytest.fixture(scope="module")
def warframe():
    if not (DATA / "3d" / "A1.3dmap").is_file():
        pytest.skip(f"3D Moving AI data not found under {DATA / '3d'}")
    grid = pf.load_movingai_3d_map(DATA / "3d" / "A1.3dmap")
    rows = pf.load_movingai_3d_scen(DATA / "3d" / "A1.3dmap.3dscen")
    return grid, rows


def test_warframe_3d_sample_matches_optimal(warframe):
    grid, rows = warframe
    assert grid.shape == (255, 390, 896)
    assert (~grid).sum() == 123236
    order = np.argsort(rows["optimal"])
    pick = np.r_[order[:6], order[len(order) // 4 : len(order) // 4 + 2]]
    starts = np.stack([rows["sz"], rows["sy"], rows["sx"]], 1)[pick]
    goals = np.stack([rows["gz"], rows["gy"], rows["gx"]], 1)[pick]
    costs = pf.astar_many(grid, starts, goals, connectivity=26, workers=2)
    np.testing.assert_allclose(costs, rows["optimal"][pick], rtol=1e-5)
    path, cost = pf.astar(grid, starts[0], goals[0], connectivity=26)
    assert path.shape[1] == 3
    sub = tuple(
        slice(int(lo), int(hi) + 1) for lo, hi in zip(path.min(0), path.max(0), strict=False)
    )
    assert check_path(grid[sub], path - path.min(0), 26) == pytest.approx(cost)


@pytest.mark.slow
def test_warframe_3d_random_rows_match_optimal(warframe):
    grid, rows = warframe
    pick = np.random.default_rng(11).choice(len(rows), 12, replace=False)
    starts = np.stack([rows["sz"], rows["sy"], rows["sx"]], 1)[pick]
    goals = np.stack([rows["gz"], rows["gy"], rows["gx"]], 1)[pick]
    costs = pf.astar_many(grid, starts, goals, connectivity=26, workers=-1)
    np.testing.assert_allclose(costs, rows["optimal"][pick], rtol=1e-5)


# ---------------------------------------------------------------- random grids vs scipy


def _random_grid(rng, shape, density, weighted):
    free = rng.random(shape) >= density
    if not weighted:
        return free
    return np.where(free, rng.uniform(1.0, 4.0, shape), np.inf)


@pytest.mark.parametrize(("shape", "conns"), [((17, 23), (4, 8)), ((6, 7, 8), (6, 18, 26))])
@pytest.mark.parametrize("weighted", [False, True])
def test_random_grids_match_scipy_dijkstra(shape, conns, weighted, rng):
    for trial in range(3):
        grid = _random_grid(rng, shape, 0.25 + 0.1 * trial, weighted)
        free = np.argwhere(np.isfinite(grid) if weighted else grid)
        starts = free[rng.choice(len(free), 25)]
        goals = free[rng.choice(len(free), 25)]
        for conn in conns:
            ref = dijkstra_costs(grid, starts, goals, conn)
            got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=3)
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
            for i in range(5):
                path, cost = pf.astar(grid, starts[i], goals[i], connectivity=conn)
                if math.isinf(ref[i]):
                    assert path.shape == (0, len(shape))
                    assert math.isinf(cost)
                else:
                    assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(2, 24),
    st.integers(2, 24),
    st.floats(0.0, 0.6),
)
def test_jps_equals_astar_on_random_grids(seed, h, w, density):
    rng = np.random.default_rng(seed)
    grid = rng.random((h, w)) >= density
    free = np.argwhere(grid)
    if len(free) == 0:
        return
    starts = free[rng.choice(len(free), 8)]
    goals = free[rng.choice(len(free), 8)]
    a = pf.astar_many(grid, starts, goals)
    j = pf.astar_many(grid, starts, goals, method="jps")
    np.testing.assert_allclose(j, a, rtol=1e-12)
    path, cost = pf.jps(grid, starts[0], goals[0])
    if np.isfinite(a[0]):
        assert check_path(grid, path, 8) == pytest.approx(cost)
    else:
        assert len(path) == 0


def test_unreachable_goal_gives_empty_path_and_inf():
    grid = np.ones((5, 5), bool)
    grid[:, 2] = False
    for path, cost in (pf.astar(grid, (0, 0), (4, 4)), pf.jps(grid, (0, 0), (4, 4))):
        assert path.shape == (0, 2)
        assert path.dtype == np.int64
        assert cost == math.inf
    assert np.isinf(pf.astar_many(grid, [[0, 0]], [[4, 4]], method="jps")[0])


def test_diagonal_corner_rule():
    grid = np.array([[1, 0], [1, 1]], bool)
    _path, cost = pf.astar(grid, (0, 0), (1, 1))
    assert cost == 2.0  # no cut past the blocked (0, 1)
    grid[0, 1] = True
    assert pf.astar(grid, (0, 0), (1, 1))[1] == pytest.approx(math.sqrt(2))
    vox = np.ones((2, 2, 2), bool)
    assert pf.astar(vox, (0, 0, 0), (1, 1, 1), connectivity=26)[1] == pytest.approx(math.sqrt(3))
    vox[1, 0, 0] = False
    assert pf.astar(vox, (0, 0, 0), (1, 1, 1), connectivity=26)[1] == pytest.approx(
        1 + math.sqrt(2)
    )
    assert pf.astar(vox, (0, 0, 0), (1, 1, 1), connectivity=6)[1] == 3.0


def test_start_equals_goal():
    path, cost = pf.astar(np.ones((3, 3), bool), (1, 1), (1, 1))
    assert cost == 0.0
    np.testing.assert_array_equal(path, [[1, 1]])


def test_astar_many_is_independent_of_workers(rng):
    grid = _random_grid(rng, (60, 60), 0.3, False)
    free = np.argwhere(grid)
    starts, goals = free[rng.choice(len(free), 50)], free[rng.choice(len(free), 50)]
    one = pf.astar_many(grid, starts, goals, workers=1)
    for w in (2, 7, -1):
        np.testing.assert_array_equal(pf.astar_many(grid, starts, goals, workers=w), one)
    out = pf.astar_many(grid, np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64))
    assert out.shape == (0,)
    assert out.dtype == np.float64


# ---------------------------------------------------------------- flow field


@pytest.mark.parametrize(
    ("shape", "conn"), [((20, 30), 8), ((20, 30), 4), ((5, 6, 7), 26), ((5, 6, 7), 18)]
)
def test_flow_field_matches_scipy(shape, conn, rng):
    for weighted in (False, True):
        grid = _random_grid(rng, shape, 0.3, weighted)
        free = np.argwhere(np.isfinite(grid) if weighted else grid)
        goals = free[rng.choice(len(free), 3, replace=False)]
        got = pf.flow_field(grid, goals, connectivity=conn)
        ref = cost_to_go(grid, goals, conn)
        assert got.shape == shape
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_flow_field_single_goal_and_empty(rng):
    grid = _random_grid(rng, (15, 15), 0.2, False)
    goal = np.argwhere(grid)[0]
    field = pf.flow_field(grid, goal)
    starts = np.argwhere(grid)
    np.testing.assert_allclose(
        field[tuple(starts.T)],
        pf.astar_many(grid, starts, np.repeat(goal[None], len(starts), 0)),
        rtol=1e-12,
    )
    assert np.isinf(pf.flow_field(grid, np.zeros((0, 2), np.int64))).all()


# ---------------------------------------------------------------- smoothing


@pytest.mark.parametrize("shape", [(30, 40), (8, 9, 10)])
def test_smooth_path_is_collision_free_and_shorter(shape, rng):
    conn = 8 if len(shape) == 2 else 26
    grid = _random_grid(rng, shape, 0.15, False)
    free = np.argwhere(grid)
    done = 0
    for _ in range(40):
        s, g = free[rng.choice(len(free), 2, replace=False)]
        path, cost = pf.astar(grid, s, g, connectivity=conn)
        if not np.isfinite(cost):
            continue
        way, length = pf.smooth_path(grid, path)
        np.testing.assert_array_equal(way[0], s)
        np.testing.assert_array_equal(way[-1], g)
        assert len(way) <= len(path)
        for a, b in itertools.pairwise(way):
            assert not segment_touches_blocked(grid, a, b), (a, b)
        assert np.linalg.norm(g - s) - 1e-9 <= length <= cost + 1e-9
        ref = sum(np.linalg.norm(b - a) for a, b in itertools.pairwise(way))
        assert length == pytest.approx(ref)
        done += 1
    assert done > 10


def test_smooth_path_open_grid_is_straight_line():
    grid = np.ones((10, 10), bool)
    path, _ = pf.astar(grid, (0, 0), (9, 3))
    way, length = pf.smooth_path(grid, path)
    np.testing.assert_array_equal(way, [[0, 0], [9, 3]])
    assert length == pytest.approx(math.hypot(9, 3))


def test_public_names_exported():
    assert fbsim.pathfinding is pf
    for name in (
        "astar",
        "jps",
        "astar_many",
        "flow_field",
        "load_movingai_map",
        "load_movingai_scen",
    ):
        assert callable(getattr(pf, name))


def test_concurrent_callers_get_sequential_results(rng):
    from concurrent.futures import ThreadPoolExecutor

    grid = _random_grid(rng, (80, 80), 0.25, False)
    free = np.argwhere(grid)
    starts, goals = free[rng.choice(len(free), 40)], free[rng.choice(len(free), 40)]
    want = pf.astar_many(grid, starts, goals)
    with ThreadPoolExecutor(4) as ex:
        futures = [
            ex.submit(pf.astar_many, grid, starts, goals, 8, m, 2) for m in ("astar", "jps") * 3
        ]
        for f in futures:
            np.testing.assert_allclose(f.result(), want, rtol=1e-12)


# ------------------------------------------- uniform-grid A* (exact move-count costs)


@given(
    st.integers(0, 2**32 - 1),
    st.sampled_from([(2, 4), (2, 8), (3, 6), (3, 18), (3, 26)]),
    st.integers(2, 9),
    st.floats(0.0, 0.5),
)
def test_uniform_astar_matches_scipy_dijkstra_property(seed, dims_conn, n, density):
    ndim, conn = dims_conn
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(2, n + 1, ndim))
    grid = rng.random(shape) >= density
    free = np.argwhere(grid)
    if len(free) == 0:
        return
    starts = free[rng.choice(len(free), 6)]
    goals = free[rng.choice(len(free), 6)]
    ref = dijkstra_costs(grid, starts, goals, conn)
    got = pf.astar_many(grid, starts, goals, connectivity=conn, workers=2)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    path, cost = pf.astar(grid, starts[0], goals[0], connectivity=conn)
    if np.isfinite(ref[0]):
        assert check_path(grid, path, conn) == pytest.approx(cost, rel=1e-12)
    else:
        assert path.shape == (0, ndim)


@pytest.mark.parametrize(
    ("shape", "conn", "goal", "cost"),
    [
        ((300, 200), 8, (299, 150), 149 + 150 * math.sqrt(2)),
        ((300, 200), 4, (299, 150), 449.0),
        ((40, 60, 50), 26, (39, 59, 30), 20 + 9 * math.sqrt(2) + 30 * math.sqrt(3)),
        ((40, 60, 50), 18, (39, 59, 30), 64 * math.sqrt(2)),
        ((40, 60, 50), 6, (39, 59, 30), 128.0),
    ],
)
def test_open_grid_expands_only_the_path(shape, conn, goal, cost):
    # On an empty grid every cell of some optimal path has f equal to the optimum, so with
    # exact costs and deep-first ties A* walks straight to the goal: expansions = path cells.
    # Analytic reference: the obstacle-free distance.
    grid = np.ones(shape, bool)
    start = (0,) * len(shape)
    got, exp = pf.astar_many(grid, [start], [goal], connectivity=conn, return_expansions=True)
    assert got[0] == pytest.approx(cost, rel=1e-14)
    path, c = pf.astar(grid, start, goal, connectivity=conn)
    assert exp[0] == len(path)
    assert check_path(grid, path, conn) == pytest.approx(c, rel=1e-12)


def test_path_longer_than_packed_move_counts_falls_back_exactly():
    # Over 2^20 unit moves overflow the packed counts; the search reruns with double costs.
    n = (1 << 20) + 40
    grid = np.ones((1, n), bool)
    path, cost = pf.astar(grid, (0, 0), (0, n - 1), connectivity=4)
    assert cost == n - 1
    assert len(path) == n
    assert pf.astar_many(grid, [[0, 0]], [[0, n - 1]], connectivity=8)[0] == n - 1
