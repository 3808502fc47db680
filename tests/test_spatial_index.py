# SPDX-License-Identifier: MIT
"""SpatialHash's persistent sorted index: pairs(moved) on every hard scene and across levels,
and batches of updates that keep, reorder within, or change cells, against brute force
(tests/oracles_broadphase.py, which shares no code with fbsim)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_broadphase import brute_pairs
from test_spatial import SCENES

import fbsim


def _involving(full, moved):
    return full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]


@pytest.mark.parametrize("cell_size", [None, 0.7])
@pytest.mark.parametrize("scene", list(SCENES))
def test_pairs_moved_matches_brute_force_after_updates(scene, cell_size, rng):
    ids, lo, hi = SCENES[scene](rng, 300)
    s = fbsim.SpatialHash(cell_size=cell_size)
    s.insert(ids, lo, hi)
    for step, frac in enumerate([0.02, 0.1, 0.5, 1.0]):
        k = max(1, int(frac * len(ids)))
        moved = ids[rng.choice(len(ids), k, replace=False)]
        full = brute_pairs(ids, lo, hi)
        np.testing.assert_array_equal(s.pairs(moved), _involving(full, moved))
        # Move them: small steps (most stay in their cell), a few far jumps.
        pick = np.isin(ids, moved)
        d = rng.normal(0, 0.05 if step % 2 else 0.4, size=(pick.sum(), 3))
        d[::7] *= 100
        lo[pick] = np.clip(lo[pick] + d, -1e5, 1e5)
        hi[pick] = np.clip(hi[pick] + d, -1e5, 1e5)
        hi = np.maximum(hi, lo)
        s.update(ids[pick], lo[pick], hi[pick])
        assert s.check_invariants()
        np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))


def test_pairs_moved_one_cell_holds_everything():
    # All boxes in one cell: every update reorders the cell; every pair involves a mover.
    n = 200
    ids = np.arange(n, dtype=np.int64) * 3 - 100
    base = np.linspace(0.0, 0.5, n)[:, None] * np.ones(3)
    s = fbsim.SpatialHash(cell_size=2.0)
    s.insert(ids, base, base + 0.1)
    lo = base[::-1].copy()
    s.update(ids, lo, lo + 0.1)
    assert s.check_invariants()
    full = brute_pairs(ids, lo, lo + 0.1)
    np.testing.assert_array_equal(s.pairs(), full)
    np.testing.assert_array_equal(s.pairs(ids[::2]), _involving(full, ids[::2]))


coord = st.integers(-12, 12).map(lambda v: v * 0.25)
box_st = st.tuples(coord, coord, coord, st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0, 9.0]))


@settings(max_examples=60, deadline=None)
@given(
    first=st.lists(box_st, min_size=1, max_size=30),
    second=st.lists(box_st, min_size=30, max_size=30),
    mask=st.lists(st.booleans(), min_size=30, max_size=30),
    cell=st.sampled_from([None, 0.5, 1.0]),
)
def test_update_batches_property(first, second, mask, cell):
    # Lattice coordinates make touching boxes and shared cell borders common.
    n = len(first)
    ids = np.arange(n, dtype=np.int64) * 5
    b = np.array(first, dtype=float)
    lo, hi = b[:, :3], b[:, :3] + b[:, 3:]
    s = fbsim.SpatialHash(cell_size=cell)
    s.insert(ids, lo, hi)
    pick = np.array(mask[:n])
    b2 = np.array(second[:n], dtype=float)[pick]
    lo[pick], hi[pick] = b2[:, :3], b2[:, :3] + b2[:, 3:]
    s.update(ids[pick], lo[pick], hi[pick])
    assert s.check_invariants()
    full = brute_pairs(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), full)
    np.testing.assert_array_equal(s.pairs(ids[pick]), _involving(full, ids[pick]))
