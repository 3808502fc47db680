# SPDX-License-Identifier: MIT
"""Bad input to every fbsim.pathfinding function: a TypeError/ValueError naming the argument,
never a crash; empty input gives an empty result of the right dtype and shape."""

from __future__ import annotations

import numpy as np
import pytest

from fbsim import _core
from fbsim import pathfinding as pf

GRID = np.ones((4, 5), bool)
GRID[1, 2] = False
COSTS = np.where(GRID, 1.5, np.inf)
VOX = np.ones((3, 4, 5), bool)


def _single_calls(grid, start, goal):
    return [
        lambda: pf.astar(grid, start, goal),
        lambda: pf.jps(grid, start, goal),
        lambda: pf.astar_many(grid, [start], [goal]),
        lambda: pf.astar_many(grid, [start], [goal], method="jps"),
    ]


@pytest.mark.parametrize(
    ("grid", "exc", "match"),
    [
        (None, TypeError, "grid must be an array, not None"),
        (np.array([["a", "b"]]), TypeError, "grid must be bool"),
        (np.ones((2, 2), complex), TypeError, "grid must be bool"),
        (np.ones((2, 2), object), TypeError, "grid"),
        (np.ones(4, bool), ValueError, r"grid must be 2-D .* got shape \(4,\)"),
        (np.ones((2, 2, 2, 2), bool), ValueError, "grid must be 2-D"),
        (np.array([[1.0, np.nan]]), ValueError, r"grid\[0, 1\] is nan"),
        (np.array([[1.0, 0.5]]), ValueError, r"grid\[0, 1\] = 0.5; costs must be >= 1"),
        (np.array([[1.0, -np.inf]]), ValueError, r"grid\[0, 1\] = -inf"),
        (np.array([[1.0, -2.0]]), ValueError, r"grid\[0, 1\] = -2"),
        (np.array([[1, 0]], np.int32), ValueError, r"grid\[0, 1\] = 0"),
        (np.ones((1, 1, 2)) * [1.0, np.nan], ValueError, r"grid\[0, 0, 1\] is nan"),
    ],
)
def test_bad_grid_rejected(grid, exc, match):
    start = (0, 0, 0) if getattr(grid, "ndim", 2) == 3 else (0, 0)
    for call in [
        lambda: pf.astar(grid, start, start),
        lambda: pf.astar_many(grid, [start], [start]),
        lambda: pf.flow_field(grid, [start]),
        lambda: pf.smooth_path(grid, [start]),
    ]:
        with pytest.raises(exc, match=match):
            call()


@pytest.mark.parametrize(
    ("cell", "exc", "match"),
    [
        (None, TypeError, "not None"),
        ((0.0, 1.0), TypeError, "integer cell coordinates"),
        ((True, False), TypeError, "integer cell coordinates"),
        (("a", "b"), TypeError, "integer cell coordinates"),
        ((0, 1, 2), ValueError, "must have shape"),
        ((0,), ValueError, "must have shape"),
        ((4, 0), ValueError, r"\(4, 0\) is outside the grid \(4, 5\)"),
        ((0, -1), ValueError, "outside the grid"),
        ((10**12, 0), ValueError, "outside the grid"),
        ((1, 2), ValueError, r"\(1, 2\) is a blocked cell"),
    ],
)
@pytest.mark.parametrize("which", ["start", "goal"])
def test_bad_start_goal_rejected(cell, exc, match, which):
    ok = (0, 0)
    start, goal = (cell, ok) if which == "start" else (ok, cell)
    for k, call in enumerate(_single_calls(GRID, start, goal)):
        name = which if k < 2 else which + "s"
        with pytest.raises(exc, match=name if exc is TypeError else rf"{name}.*{match}"):
            call()
        if k < 2 or cell is not None:  # a batch wraps None in a list: object dtype instead
            with pytest.raises(exc, match=match):
                call()


def test_batch_names_the_bad_row():
    with pytest.raises(ValueError, match=r"goals\[1\] = \(1, 2\) is a blocked cell"):
        pf.astar_many(GRID, [[0, 0], [0, 0]], [[3, 4], [1, 2]])
    with pytest.raises(ValueError, match=r"starts\[2\] = \(9, 9\) is outside"):
        pf.astar_many(GRID, [[0, 0], [0, 0], [9, 9]], [[3, 4]] * 3)
    with pytest.raises(ValueError, match="goals has 1 rows but starts has 2"):
        pf.astar_many(GRID, [[0, 0], [0, 0]], [[3, 4]])
    with pytest.raises(ValueError, match=r"starts must have shape \(n, 2\)"):
        pf.astar_many(GRID, [[0, 0, 0]], [[3, 4]])
    with pytest.raises(ValueError, match=r"goals\[0\] = \(1, 2\) is a blocked cell"):
        pf.flow_field(GRID, [[1, 2]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"connectivity": 6}, "connectivity must be 4 or 8 for a 2-D grid, got 6"),
        ({"connectivity": 0}, "connectivity must be 4 or 8"),
        ({"method": "dijkstra"}, "method must be 'astar' or 'jps'"),
        ({"method": "jps", "connectivity": 4}, "jps supports connectivity 8 only"),
        ({"workers": 0}, "workers must be -1"),
        ({"workers": -3}, "workers must be -1"),
        ({"workers": 10**5}, "workers must be -1"),
    ],
)
def test_bad_options_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pf.astar_many(GRID, [[0, 0]], [[3, 4]], **kwargs)


def test_jps_rejects_weighted_and_3d_grids():
    weighted = np.where(GRID, 2.0, np.inf)
    with pytest.raises(ValueError, match="jps' needs a 2-D uniform-cost grid"):
        pf.jps(weighted, (0, 0), (3, 4))
    with pytest.raises(ValueError, match="jps' needs a 2-D uniform-cost grid"):
        pf.jps(VOX, (0, 0, 0), (2, 3, 4))
    # Unit costs are uniform: JPS accepts them and matches A*.
    assert (
        pf.jps(np.where(GRID, 1.0, np.inf), (0, 0), (3, 4))[1] == pf.astar(GRID, (0, 0), (3, 4))[1]
    )
    with pytest.raises(ValueError, match="connectivity must be 6, 18 or 26 for a 3-D grid, got 8"):
        pf.astar(VOX, (0, 0, 0), (2, 3, 4))


def test_smooth_path_rejects_jumps_and_blocked_cells():
    with pytest.raises(ValueError, match=r"path\[1\] = \(2, 2\) is not visible from path\[0\]"):
        pf.smooth_path(GRID, [[0, 2], [2, 2]])
    with pytest.raises(ValueError, match=r"path\[1\] = \(1, 2\) is a blocked cell"):
        pf.smooth_path(GRID, [[0, 0], [1, 2]])
    with pytest.raises(ValueError, match=r"path must have shape \(n, 2\)"):
        pf.smooth_path(GRID, [[0, 0, 0]])
    way, length = pf.smooth_path(GRID, np.zeros((0, 2), np.int64))
    assert way.shape == (0, 2)
    assert way.dtype == np.int64
    assert length == 0.0


def test_empty_inputs_give_empty_outputs():
    costs = pf.astar_many(GRID, np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64))
    assert costs.shape == (0,)
    assert costs.dtype == np.float64
    field = pf.flow_field(GRID, np.zeros((0, 2), np.int64))
    assert field.shape == GRID.shape
    assert np.isinf(field).all()
    with pytest.raises(ValueError, match="start"):
        pf.astar(np.ones((0, 0), bool), (0, 0), (0, 0))


def test_accepts_readonly_noncontiguous_and_integer_costs():
    g = np.ones((8, 10), bool)[:, ::2]
    g.flags.writeable = False
    _path, cost = pf.astar(g, np.array([0, 0], np.int32), np.array([7, 4], np.uint8))
    assert cost == pytest.approx(3 + 4 * np.sqrt(2))
    ints = np.full((3, 3), 2, np.int64)
    assert pf.astar(ints, (0, 0), (0, 2))[1] == 4.0
    assert pf.astar(COSTS, (0, 0), (0, 1))[1] == 1.5


def test_grid_is_not_modified():
    g = COSTS.copy()
    pf.astar(g, (0, 0), (3, 4))
    pf.flow_field(g, [[0, 0]])
    np.testing.assert_array_equal(g, COSTS)


def test_core_functions_check_like_wrappers():
    with pytest.raises(ValueError, match="start"):
        _core.grid_path(GRID, (9, 9), (0, 0))
    with pytest.raises(TypeError, match="grid"):
        _core.grid_paths_batch(None, [[0, 0]], [[0, 0]])
