# SPDX-License-Identifier: MIT
"""SpatialHash.pairs() on its dense path (every box on one grid level, in a block of at most
~4 cells per box, at least 64 boxes): each cell's boxes against their own cell and 13 forward
neighbour cells through a per-call cell directory, with a union-of-the-cell prefilter and
packed float records. Checked against brute force (tests/oracles_broadphase.py, no fbsim code)
on scenes built to hit its edges: boxes touching exactly on cell boundaries, gaps below float
precision (the exact double fallback), negative and far (1e5) coordinates, empty cells at the
block's faces, tombstones and buffered boxes mixed in, and a hypothesis property over lattices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_broadphase import brute_pairs

import fbsim


def _check(s, ids, lo, hi):
    assert s.check_invariants()
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))


def _similar_boxes(rng, n, side, origin=0.0):
    c = origin + rng.uniform(0.0, side, size=(n, 3))
    h = rng.uniform(0.25, 1.0, size=(n, 3))
    return np.arange(n, dtype=np.int64), c - h, c + h


@pytest.mark.parametrize("n", [64, 300, 2000])
@pytest.mark.parametrize("origin", [0.0, -37.5, 99_950.0])
def test_dense_random_scenes(n, origin):
    rng = np.random.default_rng(n + int(origin))
    side = 2.5 * (n / 3.0) ** (1.0 / 3.0)  # ~3 overlaps per box, as the benchmark
    ids, lo, hi = _similar_boxes(rng, n, side, origin)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


def test_dense_touching_on_cell_boundaries():
    # Unit cubes on an integer lattice with cell size 1: every face, edge and corner contact
    # lies exactly on a cell boundary, and each box touches its 26 lattice neighbours.
    g = np.stack(np.meshgrid(*[np.arange(6.0)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    ids = np.arange(len(g), dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=1.0)
    s.insert(ids, g, g + 1.0)
    _check(s, ids, g, g + 1.0)
    assert len(s.pairs()) == 3 * 5 * 36 + 6 * 25 * 6 + 4 * 125  # faces + edges + corners


def test_dense_gaps_below_float_precision():
    # Pairs whose float bounds cannot decide: gaps and overlaps of one double ulp at 1e3.
    rng = np.random.default_rng(5)
    n = 400
    c = rng.uniform(1000.0, 1030.0, size=(n, 3))
    lo, hi = c - 0.5, c + 0.5
    # Chain boxes k and k + 1 along x at exactly touching / one ulp apart.
    for k in range(0, n - 1, 2):
        lo[k + 1] = lo[k]
        lo[k + 1, 0] = hi[k, 0] if k % 4 == 0 else np.nextafter(hi[k, 0], np.inf)
        hi[k + 1] = lo[k + 1] + 1.0
    ids = np.arange(n, dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=1.0)
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


def test_dense_with_tombstones_and_buffer():
    rng = np.random.default_rng(11)
    n = 3000
    ids, lo, hi = _similar_boxes(rng, n, 2.5 * (n / 3.0) ** (1.0 / 3.0))
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    live = dict(zip(ids.tolist(), zip(lo, hi, strict=True), strict=True))
    for step in range(6):
        gone = rng.choice(sorted(live), size=5, replace=False)  # small: tombstones
        s.remove(gone)
        for g in gone:
            del live[int(g)]
        new = np.arange(n + 10 * step, n + 10 * step + 10, dtype=np.int64)  # buffered
        c = rng.uniform(0, 20, size=(10, 3))
        s.insert(new, c - 0.5, c + 0.5)
        live.update(zip(new.tolist(), zip(c - 0.5, c + 0.5, strict=True), strict=True))
        mv = rng.choice(sorted(live), size=7, replace=False)
        d = rng.uniform(-0.3, 0.3, size=(7, 3))
        nlo = np.array([live[int(m)][0] for m in mv]) + d
        nhi = np.array([live[int(m)][1] for m in mv]) + d
        s.update(mv, nlo, nhi)
        live.update(zip(mv.tolist(), zip(nlo, nhi, strict=True), strict=True))
        assert s.tombstones > 0
        k = np.array(sorted(live), dtype=np.int64)
        _check(s, k, np.array([live[i][0] for i in k]), np.array([live[i][1] for i in k]))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(64, 220),
    st.sampled_from([0.5, 1.0, 1.5, 2.0]),
    st.integers(0, 2**32 - 1),
)
def test_dense_lattice_property(n, step, seed):
    # Coordinates on a coarse lattice: many exact touches and equal bounds, boxes of 1-2
    # lattice steps, so every pair test lands on a boundary case somewhere.
    rng = np.random.default_rng(seed)
    lo = rng.integers(-6, 6, size=(n, 3)).astype(float) * step
    hi = lo + rng.integers(1, 3, size=(n, 3)) * step
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)


@pytest.mark.parametrize("n_coarse", [1, 3, 64, 65, 150])
@pytest.mark.parametrize("buffered", [False, True])
def test_levels_few_and_many_coarse(n_coarse, buffered):
    # Fine boxes (the dense level) plus coarse ones on another level: up to 64 coarse boxes
    # each ask the fine level, past that each fine box asks the coarse level; coarse boxes
    # merged into the main index or still in the side buffer. pairs() and pairs(moved) vs
    # brute force.
    rng = np.random.default_rng(n_coarse * 2 + buffered)
    n = 800
    ids, lo, hi = _similar_boxes(rng, n, 2.5 * (n / 3.0) ** (1.0 / 3.0))
    c = rng.uniform(0.0, 14.0, size=(n_coarse, 3))
    h = rng.uniform(2.0, 6.0, size=(n_coarse, 3))
    h[:2, 1] = 0.5  # a couple of flat plates
    cid = np.arange(10_000, 10_000 + n_coarse, dtype=np.int64)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    if buffered:
        for k in range(n_coarse):  # one by one: into the side buffer
            s.insert(cid[k : k + 1], c[k : k + 1] - h[k : k + 1], c[k : k + 1] + h[k : k + 1])
    else:
        s.insert(cid, c - h, c + h)
        s.buffer_cap = 0  # merge everything into the main index
        s.buffer_cap = None
    all_ids = np.concatenate([ids, cid])
    all_lo, all_hi = np.concatenate([lo, c - h]), np.concatenate([hi, c + h])
    _check(s, all_ids, all_lo, all_hi)
    if buffered and n_coarse <= s.buffer_cap:
        assert s.buffered == n_coarse  # every coarse box still in the side buffer
    if not buffered:
        assert s.buffered == 0
    full = brute_pairs(all_ids, all_lo, all_hi)
    for moved in (all_ids[::9], cid[:2], ids[:100]):
        want = full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]
        np.testing.assert_array_equal(s.pairs(moved), want)


@pytest.mark.parametrize("crowd", [1, 31, 32, 33, 400])
def test_dense_crowded_cell(crowd):
    # The cell pass tests a cell's boxes against all it gathered, without pruning along x, so
    # a cell holding more than 32 entries sends the level to the column sweep instead (else a
    # client's tiny parts piled in one cell cost quadratic time every tick). Both sides of the
    # switch must give the same pairs: a lattice of boxes one per 4-stud cell, plus `crowd`
    # small boxes in one cell, some touching each other and the lattice boxes around them.
    g = np.stack(np.meshgrid(*[np.arange(6.0) * 4.0] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    rng = np.random.default_rng(crowd)
    lat_lo, lat_hi = g + 0.5, g + 3.0
    c = rng.uniform(8.0, 12.0, size=(crowd, 3))  # all in the cell (2, 2, 2) at cell size 4
    c[: crowd // 2, 0] = np.round(c[: crowd // 2, 0] * 4) / 4  # some exact touches on 0.25
    sm_lo, sm_hi = c - 0.125, c + 0.125
    lo, hi = np.vstack([lat_lo, sm_lo]), np.vstack([lat_hi, sm_hi])
    ids = np.arange(len(lo), dtype=np.int64) * 3 - 500
    s = fbsim.SpatialHash(cell_size=4.0)
    s.insert(ids, lo, hi)
    _check(s, ids, lo, hi)
    # And with the crowd moved one cell over (the switch decided again on the new index).
    s.update(ids[len(g) :], sm_lo + 4.0, sm_hi + 4.0)
    lo[len(g) :] += 4.0
    hi[len(g) :] += 4.0
    _check(s, ids, lo, hi)
