# SPDX-License-Identifier: MIT
"""Voxelization and walkable maps against brute force: point sampling and the cell centre
(necessary for overlap), a linear program (scipy) for the largest common inscribed margin of box
and cell (sufficient), and a loop-by-loop walkable-map reference."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.spatial.transform import Rotation

from fbsim import pathfinding as pf


def _box_halfspaces(center, quat, half):
    """A x <= b for the box (rows are unit normals)."""
    r = Rotation.from_quat(quat).as_matrix()
    a = np.vstack([r.T, -r.T])
    b = np.concatenate([r.T @ center + half, -(r.T @ center) + half])
    return a, b


def _overlap_margin(center, quat, half, lo, hi):
    """max t such that a point lies inside both boxes by distance t (LP); > 0 iff they overlap
    with positive volume."""
    a1, b1 = _box_halfspaces(center, quat, half)
    a2 = np.vstack([np.eye(3), -np.eye(3)])
    b2 = np.concatenate([hi, -lo])
    a = np.vstack([a1, a2])
    b = np.concatenate([b1, b2])
    a_ub = np.hstack([a, np.ones((len(a), 1))])  # a x + t <= b (rows have unit norm)
    res = linprog([0, 0, 0, -1], A_ub=a_ub, b_ub=b, bounds=[(None, None)] * 3 + [(None, 10)])
    return -res.fun


def _cell_box(origin, s, i, j, k):
    lo = np.array([origin[0] + k * s, origin[1] + i * s, origin[2] + j * s])
    return lo, lo + s


def test_voxelize_matches_brute_force_on_random_rotated_boxes(rng):
    origin = np.array([-3.0, -1.0, 2.0])
    s = 0.75
    shape = (8, 9, 10)
    n = 6
    centers = origin + rng.uniform(0, 1, (n, 3)) * np.array([10, 8, 9]) * s
    quats = Rotation.random(n, random_state=3).as_quat()
    half = rng.uniform(0.2, 1.6, (n, 3))
    occ = pf.voxelize_boxes(centers, quats, half, origin, s, shape)
    assert occ.shape == shape
    assert occ.dtype == bool
    # Sampled points (cell centres included) strictly inside a box force the cell occupied.
    offsets = np.vstack([[0.5, 0.5, 0.5], rng.uniform(0.02, 0.98, (40, 3))])
    idx = np.argwhere(np.ones(shape, bool))  # (layer, row, col) of every cell
    lows = origin + idx[:, [2, 0, 1]] * s
    pts = lows[:, None, :] + offsets[None] * s
    must = np.zeros(len(idx), bool)
    for c, q, h in zip(centers, quats, half, strict=True):
        local = (pts - c) @ Rotation.from_quat(q).as_matrix()
        must |= np.any(np.all(np.abs(local) < h - 1e-7, axis=2), axis=1)
    must = must.reshape(shape)
    assert not np.any(must & ~occ), np.argwhere(must & ~occ)[:5]

    # Every other occupied cell must really overlap some box (LP margin > 0), and every free
    # cell next to a box must not overlap any box by more than the touching tolerance.
    def best_margin(i, j, k):
        lo, hi = _cell_box(origin, s, i, j, k)
        mid = (lo + hi) / 2
        # Only boxes whose bounding sphere reaches the cell's can overlap it.
        near = np.linalg.norm(centers - mid, axis=1) <= np.linalg.norm(half, axis=1) + s
        margins = [
            _overlap_margin(c, q, h, lo, hi)
            for c, q, h in zip(centers[near], quats[near], half[near], strict=True)
        ]
        return max(margins, default=-1.0)

    for i, j, k in np.argwhere(occ ^ must):
        assert best_margin(i, j, k) > -1e-7, (i, j, k)
    free = np.argwhere(~occ)
    for i, j, k in free[rng.choice(len(free), 150, replace=False)]:
        assert best_margin(i, j, k) < 1e-7, (i, j, k)
    assert occ.sum() > 20


def test_grid_aligned_box_fills_exactly_its_cells():
    # Box x in [1, 3], y in [0, 2], z in [2, 4] with unit cells at origin 0.
    occ = pf.voxelize_boxes(
        [[2.0, 1.0, 3.0]], [[0, 0, 0, 1]], [[1.0, 1.0, 1.0]], [0, 0, 0], 1.0, (4, 5, 6)
    )
    want = np.zeros((4, 5, 6), bool)
    want[0:2, 2:4, 1:3] = True
    np.testing.assert_array_equal(occ, want)
    # Partly outside the grid: only the inside part is marked.
    occ = pf.voxelize_boxes(
        [[-1.0, 1.5, 1.5]], [[0, 0, 0, 1]], [[1.5, 0.5, 0.5]], [0, 0, 0], 1.0, (2, 2, 2)
    )
    assert occ.sum() == 1
    assert occ[1, 1, 0]


def _walkable_reference(occ, clearance, radius, step, floor):
    _layers, _rows, _cols = occ.shape
    out = np.zeros_like(occ)

    def fits(f, j, k):
        box = occ[
            f : f + clearance,
            max(0, j - radius) : j + radius + 1,
            max(0, k - radius) : k + radius + 1,
        ]
        return not box.any()

    for i, j, k in np.ndindex(*occ.shape):
        for t in range(step + 1):
            f = i - t
            if f < 0 or not fits(f, j, k):
                break
            if (f == 0 and floor) or (f > 0 and occ[f - 1, j, k]):
                out[i, j, k] = True
                break
    return out


@pytest.mark.parametrize(
    ("radius", "height", "step"), [(0.0, 1.0, 0.0), (0.4, 2.0, 1.0), (1.2, 2.5, 2.0)]
)
def test_walkable_map_matches_reference(radius, height, step, rng):
    occ = rng.random((7, 8, 9)) < 0.2
    s = 1.0
    got = pf.walkable_map(occ, s, radius, height, step)
    clearance = int(np.ceil(height / s))
    rc = max(0, int(np.ceil(radius / s + 0.5)) - 1)
    ref = _walkable_reference(occ, clearance, rc, int(step // s), True)
    np.testing.assert_array_equal(got, ref)
    assert not np.any(got & occ)


def test_agent_climbs_steps_but_not_walls():
    # Flat ground at layer 0 (the floor), a one-layer step in the middle, then a 3-layer wall.
    occ = np.zeros((5, 1, 9), bool)
    occ[0, 0, 3:] = True  # step of height 1 from column 3
    walk1 = pf.walkable_map(occ, 1.0, 0.0, 2.0, step_height=1.0)
    _path, cost = pf.astar(walk1, (0, 0, 0), (1, 0, 8), connectivity=26)
    assert np.isfinite(cost)
    walk0 = pf.walkable_map(occ, 1.0, 0.0, 2.0, step_height=0.0)
    assert np.isinf(pf.astar(walk0, (0, 0, 0), (1, 0, 8), connectivity=26)[1])
    occ[0:3, 0, 3] = True  # wall three high
    walk = pf.walkable_map(occ, 1.0, 0.0, 2.0, step_height=1.0)
    assert np.isinf(pf.astar(walk, (0, 0, 0), (1, 0, 8), connectivity=26)[1])


def test_voxel_world_incremental_matches_full_rebuild(rng):
    origin, s, shape = [0.0, 0.0, 0.0], 1.0, (6, 10, 10)
    n = 12
    centers = rng.uniform([0, 0, 0], [10, 6, 10], (n, 3))
    quats = Rotation.random(n, random_state=5).as_quat()
    half = rng.uniform(0.3, 1.5, (n, 3))
    world = pf.VoxelWorld(origin, s, shape, agent_radius=0.4, agent_height=2.0, step_height=1.0)
    world.add(np.arange(n), centers, quats, half)
    keep = np.array([i for i in range(n) if i % 3])
    world.remove(np.arange(0, n, 3))
    occ = pf.voxelize_boxes(centers[keep], quats[keep], half[keep], origin, s, shape)
    np.testing.assert_array_equal(world.occupied, occ)
    np.testing.assert_array_equal(world.walkable, pf.walkable_map(occ, s, 0.4, 2.0, 1.0))
    np.testing.assert_array_equal(world.ids, keep)
    world.add([100], [[5.0, 0.5, 5.0]], [[0, 0, 0, 1]], [[4.0, 0.5, 4.0]])
    occ2 = occ | pf.voxelize_boxes(
        [[5.0, 0.5, 5.0]], [[0, 0, 0, 1]], [[4.0, 0.5, 4.0]], origin, s, shape
    )
    np.testing.assert_array_equal(world.walkable, pf.walkable_map(occ2, s, 0.4, 2.0, 1.0))


def test_voxel_world_rejects_bad_input_unchanged():
    world = pf.VoxelWorld([0, 0, 0], 1.0, (3, 3, 3))
    world.add([1], [[1.5, 0.5, 1.5]], [[0, 0, 0, 1]], [[0.5, 0.5, 0.5]])
    before = (world.occupied.copy(), world.walkable.copy(), world.ids.copy())
    cases = [
        (
            lambda: world.add([1], [[0, 0, 0]], [[0, 0, 0, 1]], [[1, 1, 1]]),
            ValueError,
            r"ids\[0\] = 1 already exists",
        ),
        (
            lambda: world.add([2, 2], [[0, 0, 0]] * 2, [[0, 0, 0, 1]] * 2, [[1, 1, 1]] * 2),
            ValueError,
            "repeated",
        ),
        (
            lambda: world.add([3], [[0, np.nan, 0]], [[0, 0, 0, 1]], [[1, 1, 1]]),
            ValueError,
            r"centers\[0, 1\] is nan",
        ),
        (
            lambda: world.add([3], [[0, 0, 0]], [[0, 0, 0, 0]], [[1, 1, 1]]),
            ValueError,
            r"quats\[0\] has norm",
        ),
        (
            lambda: world.add([3], [[0, 0, 0]], [[0, 0, 0, 1]], [[1, -1, 1]]),
            ValueError,
            r"half_extents\[0, 1\]",
        ),
        (
            lambda: world.add([3], [[0, 0, 0]], [[0, 0, 0, 1]], [[1, 1, 1], [1, 1, 1]]),
            ValueError,
            "half_extents has 2 rows",
        ),
        (
            lambda: world.add([3.5], [[0, 0, 0]], [[0, 0, 0, 1]], [[1, 1, 1]]),
            TypeError,
            "ids must be integers",
        ),
        (lambda: world.remove([7]), ValueError, r"ids\[0\] = 7 is not in the world"),
        (lambda: world.remove([1, 1]), ValueError, "repeated"),
        (lambda: world.add([3], [[2e6, 0, 0]], [[0, 0, 0, 1]], [[1, 1, 1]]), ValueError, "centers"),
    ]
    for call, exc, match in cases:
        with pytest.raises(exc, match=match):
            call()
        np.testing.assert_array_equal(world.occupied, before[0])
        np.testing.assert_array_equal(world.walkable, before[1])
        np.testing.assert_array_equal(world.ids, before[2])


def test_voxelize_bad_arguments():
    box = ([[0, 0, 0]], [[0, 0, 0, 1]], [[1, 1, 1]])
    with pytest.raises(ValueError, match="cell_size"):
        pf.voxelize_boxes(*box, [0, 0, 0], 0.0, (2, 2, 2))
    with pytest.raises(ValueError, match="cell_size"):
        pf.voxelize_boxes(*box, [0, 0, 0], float("nan"), (2, 2, 2))
    with pytest.raises(ValueError, match=r"origin\[0, 1\] is nan"):
        pf.voxelize_boxes(*box, [0, np.nan, 0], 1.0, (2, 2, 2))
    with pytest.raises(ValueError, match="shape must be"):
        pf.voxelize_boxes(*box, [0, 0, 0], 1.0, (2, -2, 2))
    with pytest.raises(TypeError, match="occupied must be a bool array"):
        pf.walkable_map(np.zeros((2, 2, 2)), 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="agent_height"):
        pf.walkable_map(np.zeros((2, 2, 2), bool), 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="agent_radius"):
        pf.walkable_map(np.zeros((2, 2, 2), bool), 1.0, float("inf"), 1.0)
    empty = pf.voxelize_boxes(
        np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, 3)), [0, 0, 0], 1.0, (2, 3, 4)
    )
    assert empty.shape == (2, 3, 4)
    assert not empty.any()


def test_core_walkable_checks_sizes():
    from fbsim import _core

    occ = np.zeros((2, 2, 2), bool)
    out = np.zeros_like(occ)
    with pytest.raises(ValueError, match="cell_size must be finite, > 0"):
        _core.walkable_voxels(occ, out, 0.0, 0.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="step_height must be finite, >= 0"):
        _core.walkable_voxels(occ, out, 1.0, 0.0, 1.0, float("nan"))
    with pytest.raises(ValueError, match="too large"):
        _core.walkable_voxels(occ, out, 1e-9, 0.0, 1e6, 0.0)
