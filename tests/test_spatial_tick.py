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


def _scene(rng, layout, n):
    """Boxes for the long sequences below: "uniform" (mostly one level), "one_point" (every box
    the same, so the index orders them by slot alone), "lattice" (integer corners: exact
    touches, shared min x), "mixed" (a few boxes 20x larger: a second level)."""
    if layout == "one_point":
        return np.zeros((n, 3)), np.ones((n, 3))
    if layout == "lattice":
        lo = rng.integers(0, 6, size=(n, 3)).astype(float)
        return lo, lo + rng.integers(1, 3, size=(n, 3)).astype(float)
    c = rng.uniform(0, 2.0 * n ** (1 / 3), size=(n, 3))
    h = rng.uniform(0.25, 1.0, size=(n, 3))
    if layout == "mixed":
        h[rng.random(n) < 0.05] *= 20.0
    return c - h, c + h


@pytest.mark.parametrize("cap", [0, 5, None], ids=["merge_every_write", "cap5", "auto"])
@pytest.mark.parametrize("layout", ["uniform", "one_point", "lattice", "mixed"])
def test_long_write_sequences_match_brute_force(layout, cap):
    """Ticks mixed with inserts and removes, checked after every step: the index's invariants
    (sorted runs, pos[], tombstones), pairs(moved) and pairs() against brute force. Every merge
    of tombstones and new entries (a buffer cap of 0 merges at each write) goes through
    Run::splice, whose pieces shift left or right: moves that stay, that go one cell over or
    across the world, to a tombstone's own place (moved back), and batches that add more than
    they drop or the reverse."""
    rng = np.random.default_rng(31 * len(layout) + (99 if cap is None else cap))
    n = 400
    lo, hi = _scene(rng, layout, n)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    box = {int(i): (lo[k].copy(), hi[k].copy()) for k, i in enumerate(ids)}
    spare = [int(i) for i in np.setdiff1d(np.arange(10 * n), ids)]
    s = fbsim.SpatialHash(cell_size=2.0) if layout == "lattice" else fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    if cap is not None:
        s.buffer_cap = cap
    home = {k: (a.copy(), b.copy()) for k, (a, b) in box.items()}
    for step in range(24):
        live = np.array(sorted(box), dtype=np.int64)
        op = step % 4
        if op == 3 and step % 8 == 3:  # remove some, insert others
            gone = rng.choice(live, size=int(rng.integers(1, 40)), replace=False)
            s.remove(gone)
            for g in gone:
                del box[int(g)]
            new = np.array([spare.pop() for _ in range(int(rng.integers(1, 60)))], dtype=np.int64)
            nlo, nhi = _scene(rng, layout, len(new))
            s.insert(new, nlo, nhi)
            for k, i in enumerate(new):
                box[int(i)] = (nlo[k], nhi[k])
                home[int(i)] = (nlo[k].copy(), nhi[k].copy())
        else:
            moved = np.sort(
                rng.choice(live, size=int(rng.integers(1, len(live) // 3)), replace=False)
            )
            kind = rng.integers(0, 4, size=len(moved))
            for i, k in zip(moved, kind, strict=True):
                a, b = box[int(i)]
                if k == 0:  # a small step (often stays in its cell)
                    d = rng.uniform(-0.3, 0.3, size=3)
                elif k == 1:  # one cell over along one axis
                    d = np.zeros(3)
                    d[rng.integers(0, 3)] = rng.choice([-2.0, 2.0])
                elif k == 2:  # far away
                    d = rng.uniform(-30, 30, size=3)
                else:  # back home (to its tombstone's place when it left it)
                    d = home[int(i)][0] - a
                if layout in ("lattice", "one_point"):
                    d = np.round(d)
                box[int(i)] = (a + d, b + d)
            s.update(
                moved,
                np.array([box[int(i)][0] for i in moved]),
                np.array([box[int(i)][1] for i in moved]),
            )
            live = np.array(sorted(box), dtype=np.int64)
            blo = np.array([box[int(i)][0] for i in live])
            bhi = np.array([box[int(i)][1] for i in live])
            expect = brute_pairs(live, blo, bhi)
            np.testing.assert_array_equal(s.pairs(moved), pairs_involving(expect, moved))
        assert s.check_invariants(), step
        live = np.array(sorted(box), dtype=np.int64)
        expect = brute_pairs(
            live, np.array([box[int(i)][0] for i in live]), np.array([box[int(i)][1] for i in live])
        )
        np.testing.assert_array_equal(s.pairs(), expect)
