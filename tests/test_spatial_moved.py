# SPDX-License-Identifier: MIT
"""SpatialHash.pairs(ids) on crowded cells: a row of neighbour cells holding more than 96
entries (a cell size set by a baseplate inserted first, thousands of bricks per cell) is
searched cell by cell along min x, within the width that all but the level's 64 widest boxes
stay under, and those widest boxes are tested on their own. Checked against brute force
(tests/oracles_broadphase.py, no fbsim code), including wide boxes whose min x lies far
below the window, exact touches on the window's edges, and many wide boxes (past the 64)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles_broadphase import brute_pairs

import fbsim


def _involving(all_pairs, moved):
    keep = np.isin(all_pairs[:, 0], moved) | np.isin(all_pairs[:, 1], moved)
    return all_pairs[keep]


def _bricks(rng, n):
    g = np.stack(
        [rng.integers(0, 60, n) * 2.0, rng.integers(0, 10, n) * 1.2, rng.integers(0, 30, n) * 4.0],
        axis=1,
    )
    return g + 0.01, g + np.array([1.99, 1.19, 3.99])


@pytest.mark.parametrize("n_wide", [1, 20, 150])
def test_crowded_cells_pairs_of_moved_match_brute_force(n_wide):
    rng = np.random.default_rng(n_wide)
    # A cell size fitting the plate (an automatic size set by the plate inserted alone is
    # re-chosen when the bricks merge in, so it is explicit here): bricks and plates then
    # share level 0 and a handful of crowded cells.
    plate_lo = np.array([[0.0, -1.0, 0.0]])
    plate_hi = np.array([[130.0, 0.0, 130.0]])
    s = fbsim.SpatialHash(cell_size=1.01 * 130.0)
    s.insert(np.array([10**9]), plate_lo, plate_hi)
    lo, hi = _bricks(rng, 4000)
    # Exact touches: some bricks end where others begin along x (2-stud grid, 1.99 + 0.01).
    hi[::7, 0] = np.floor(hi[::7, 0]) + 0.01
    # Wide boxes of many widths, all on the bricks' level (widths up to 120 < the cell side).
    w = rng.uniform(5.0, 120.0, size=n_wide)
    wl = np.stack(
        [rng.uniform(0.0, 120.0 - w), rng.uniform(0.0, 12.0, n_wide), rng.uniform(0, 100, n_wide)],
        1,
    )
    wh = wl + np.stack([w, np.full(n_wide, 0.5), np.full(n_wide, 3.0)], 1)
    lo, hi = np.vstack([lo, wl]), np.vstack([hi, wh])
    ids = rng.permutation(10 * len(lo))[: len(lo)].astype(np.int64)
    s.insert(ids, lo, hi)
    assert s.check_invariants()
    all_ids = np.concatenate([[10**9], ids])
    all_lo, all_hi = np.vstack([plate_lo, lo]), np.vstack([plate_hi, hi])
    expect = brute_pairs(all_ids, all_lo, all_hi)
    np.testing.assert_array_equal(s.pairs(), expect)
    # A large batch (the dense directory, crowded slices searched by min x), one just past the
    # switch to that search (count * 16 >= the level's entries) and a small one (the cursors,
    # crowded slices tested whole: preparing the search costs O(level)), each with wide boxes.
    for moved in (ids[::5], ids[:300], np.concatenate([ids[:40], ids[-3:]])):
        np.testing.assert_array_equal(s.pairs(moved), _involving(expect, moved))
    # The plate itself moved, and everything moved.
    np.testing.assert_array_equal(s.pairs([10**9]), _involving(expect, [10**9]))
    np.testing.assert_array_equal(s.pairs(all_ids), expect)
