# SPDX-License-Identifier: MIT
"""SpatialHash's per-tick path, update(ids) then pairs(ids) of what moved, checked against brute
force (tests/oracles_broadphase.py, no fbsim code) after every tick. pairs(ids) of a large batch
tests each neighbour row of cells as a fixed window of 8 records from the row's start (records
past the row, or the moved box itself, masked off); rows longer than the window, rows near the
end of the index, tombstones inside a window and exact touches (lo == hi) are all exercised,
with the AVX2 window test (when the CPU has it) and the SSE2 one (fbsim._core._force_simd; the
scalar record path runs in the C++ tests of the FBSIM_NO_SIMD build)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles_broadphase import brute_pairs, pairs_involving

import fbsim
from fbsim import _core


def _lattice(rng, side=9):
    """Cells of side 2 holding 0-7 unit-ish boxes each (so a row of 3 cells holds 0-21
    records, either side of the window), on integer coordinates so that many touch exactly."""
    lo = []
    for z in range(side):
        for y in range(side):
            for x in range(side):
                k = int(rng.integers(0, 8))
                for _ in range(k):
                    o = rng.integers(0, 2, size=3).astype(float)
                    lo.append(np.array([2.0 * x, 2.0 * y, 2.0 * z]) + o)
    lo = np.array(lo)
    return lo, lo + rng.integers(1, 3, size=lo.shape).astype(float) * 0.5


@pytest.fixture(params=["avx2", "sse2"])
def simd(request):
    previous = _core._force_simd(request.param)
    yield request.param
    _core._force_simd(previous)


@pytest.mark.usefixtures("simd")
@pytest.mark.parametrize("cap", [None, 10**6], ids=["merging", "buffered"])
@pytest.mark.parametrize("scene", ["uniform", "lattice"])
def test_ticks_match_brute_force(scene, cap):
    rng = np.random.default_rng(7)
    if scene == "uniform":
        n = 3000
        side = 2.5 * (n / 3.0) ** (1 / 3)
        c = rng.uniform(0, side, size=(n, 3))
        h = rng.uniform(0.25, 1.0, size=(n, 3))
        lo, hi = c - h, c + h
        s = fbsim.SpatialHash()
        step = 0.27
    else:
        lo, hi = _lattice(rng)
        n = len(lo)
        s = fbsim.SpatialHash(cell_size=2.0)
        step = 0.5
    ids = rng.permutation(3 * n)[:n].astype(np.int64)
    s.insert(ids, lo, hi)
    if cap is not None:
        s.buffer_cap = cap  # movers that leave their place stay buffered, tombstones stay
    order = np.argsort(lo[:, 2] * 1e6 + lo[:, 1] * 1e3 + lo[:, 0])
    for tick in range(4):
        # 10% of the boxes, always including the ones at the end of the index (highest cells).
        k = max(1, n // 10)
        moved_at = np.unique(np.concatenate([rng.choice(n, size=k, replace=False), order[-12:]]))
        d = rng.uniform(-step, step, size=(len(moved_at), 3))
        if scene == "lattice":
            d = np.round(d * 2) / 2  # stay on the half-stud grid: exact touches persist
        lo[moved_at] += d
        hi[moved_at] += d
        s.update(ids[moved_at], lo[moved_at], hi[moved_at])
        expect = brute_pairs(ids, lo, hi)
        np.testing.assert_array_equal(
            s.pairs(ids[moved_at]), pairs_involving(expect, ids[moved_at])
        )
        if tick % 2 == 1:
            np.testing.assert_array_equal(s.pairs(), expect)
            assert s.check_invariants()
