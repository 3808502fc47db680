# SPDX-License-Identifier: MIT
"""Boxes that touch at a face where one side's bound is -0.0 and the other's +0.0 overlap (the
two zeros compare equal). Found in review: SpatialHash's outward float prefilter ordered -0
below +0 and dropped these pairs. Also: coarse boxes written one at a time (so they sit in
SpatialHash's side buffer) over a main index of fine boxes, the path where only the finer box
of a pair may ask. All against brute force (tests/oracles_broadphase.py)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles_broadphase import brute_pairs, brute_query_aabb, brute_query_sphere

import fbsim

STRUCTURES = [
    lambda: fbsim.SpatialHash(),
    lambda: fbsim.SpatialHash(cell_size=1.0),
    lambda: fbsim.DynamicTree(),
    lambda: fbsim.SweepAndPrune(),
]


def _check(s, ids, lo, hi, moved):
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))
    full = brute_pairs(ids, lo, hi)
    want = full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]
    np.testing.assert_array_equal(s.pairs(np.asarray(moved, dtype=np.int64)), want)
    got = s.query_aabb(lo, hi)
    ref = brute_query_aabb(ids, lo, hi, lo, hi)
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])
    centers = np.zeros((3, 3)) + 0.5
    for a in range(3):
        centers[a, a] = 0.0
    got = s.query_sphere(centers, np.zeros(3))
    ref = brute_query_sphere(ids, lo, hi, centers, np.zeros(3))
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_array_equal(got[1], ref[1])


@pytest.mark.parametrize("make", STRUCTURES)
@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("one_at_a_time", [False, True])
def test_touching_at_signed_zero(make, axis, one_at_a_time):
    lo = np.array([[0.0, 0.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    hi = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    lo[1] = [0.0, 0.0, 0.0]
    lo[1, axis] = -1.0
    hi[1, axis] = -0.0  # box 2 ends at -0.0 where box 1 starts at +0.0
    lo[2, axis] = -0.0  # box 3 starts at -0.0 (same face as box 1)
    ids = np.array([1, 2, 3], dtype=np.int64)
    s = make()
    if one_at_a_time:
        for i in range(3):
            s.insert(ids[i : i + 1], lo[i : i + 1], hi[i : i + 1])
    else:
        s.insert(ids, lo, hi)
    assert len(brute_pairs(ids, lo, hi)) == 3  # the reference agrees they all touch
    _check(s, ids, lo, hi, moved=[2])


@pytest.mark.parametrize("cap", [None, 64, 4096])
def test_buffered_coarse_boxes_over_fine_main_index(cap):
    rng = np.random.default_rng(7)
    n = 3000
    c = rng.uniform(-60, 60, size=(n, 3))
    e = rng.uniform(0.25, 1.0, size=(n, 3))
    ids = np.arange(n, dtype=np.int64)
    lo, hi = c - e, c + e
    s = fbsim.SpatialHash()
    s.buffer_cap = cap
    s.insert(ids, lo, hi)  # one batch: the sorted main index
    # Plates and beams of many sizes, one write each (a player placing parts): they stay in
    # the side buffer, on coarser levels than the main index's boxes.
    plates_lo, plates_hi, plate_ids = [], [], []
    for k in range(40):
        size = rng.uniform(2, 80, size=3)
        size[rng.integers(3)] = rng.uniform(0.1, 1)
        corner = rng.uniform(-90, 60, size=3)
        plate_ids.append(n + k)
        plates_lo.append(corner)
        plates_hi.append(corner + size)
        s.insert([n + k], [corner], [corner + size])
    # And a few fine boxes written one at a time after them (buffered fine vs buffered coarse).
    for k in range(20):
        p = rng.uniform(-60, 60, size=3)
        plate_ids.append(n + 100 + k)
        plates_lo.append(p - 0.5)
        plates_hi.append(p + 0.5)
        s.insert([n + 100 + k], [p - 0.5], [p + 0.5])
    all_ids = np.concatenate([ids, np.array(plate_ids, dtype=np.int64)])
    all_lo = np.vstack([lo, np.array(plates_lo)])
    all_hi = np.vstack([hi, np.array(plates_hi)])
    assert s.check_invariants()
    moved = np.concatenate([ids[::97], np.array(plate_ids[::3], dtype=np.int64)])
    _check(s, all_ids, all_lo, all_hi, moved=moved)
    # Moving a plate keeps it buffered; removing some fine boxes leaves tombstones.
    s.update([n + 1], [[-5.0, -5.0, -5.0]], [[55.0, 55.0, -4.5]])
    all_lo[n + 1], all_hi[n + 1] = [-5.0, -5.0, -5.0], [55.0, 55.0, -4.5]
    gone = ids[5:300:3]
    s.remove(gone)
    keep = ~np.isin(all_ids, gone)
    _check(s, all_ids[keep], all_lo[keep], all_hi[keep], moved=[n + 1, 7])
