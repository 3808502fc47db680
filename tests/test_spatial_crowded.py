# SPDX-License-Identifier: MIT
"""SpatialHash on crowded cells whose boxes share a min corner coordinate: a wall of bricks in
one plane under a cell size far larger than the bricks (set explicitly, or by a baseplate
inserted first), specks piled in one cell, boxes sharing min x and min y, boxes all at one
point. The index sweeps grid columns along min x, which prunes nothing there, so such a level
is re-gridded for the call and swept along its best axis (crowded_level.hpp); pairs(moved)
switches to that once whole-slice tests grow past a budget. Every answer is checked against
brute force (tests/oracles_broadphase.py, no fbsim code), in every orientation, with wide
boxes in the level, and after updates that move bricks in and out of the wall."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_broadphase import check_pairs

import fbsim


def _wall(n_side, axis):
    # Unit bricks in the plane normal to `axis`, all with min 0 on it, touching their 8
    # neighbours in the plane (lo == hi overlaps).
    a, b = np.meshgrid(
        np.arange(n_side, dtype=float), np.arange(n_side, dtype=float), indexing="ij"
    )
    other = [k for k in range(3) if k != axis]
    lo = np.zeros((n_side * n_side, 3))
    lo[:, other[0]], lo[:, other[1]] = a.ravel(), b.ravel()
    return lo, lo + 1.0


def _moved_sets(ids, rng):
    # Few ids (crowded slices tested whole), 10% (past the re-grid budget), everything.
    return (ids[:3], rng.permutation(ids)[: len(ids) // 10], ids)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("mode", ["explicit", "baseplate"])
def test_wall_pairs_match_brute_force(axis, mode):
    rng = np.random.default_rng(axis)
    lo, hi = _wall(40, axis)
    ids = rng.permutation(10 * len(lo))[: len(lo)].astype(np.int64)
    if mode == "explicit":
        s = fbsim.SpatialHash(cell_size=64.0)
        all_ids, all_lo, all_hi = ids, lo, hi
    else:
        # The first insert alone sets the automatic cell size (~2068 studs).
        s = fbsim.SpatialHash()
        plate_lo, plate_hi = (
            np.array([[-1024.0, -3.0, -1024.0]]),
            np.array([[1024.0, -2.0, 1024.0]]),
        )
        s.insert([10**9], plate_lo, plate_hi)
        all_ids = np.concatenate([[10**9], ids])
        all_lo, all_hi = np.vstack([plate_lo, lo]), np.vstack([plate_hi, hi])
    s.insert(ids, lo, hi)
    check_pairs(s, all_ids, all_lo, all_hi, _moved_sets(ids, rng))
    # Bricks moved out of the wall (some to touch it from outside), then back in.
    out = rng.permutation(len(ids))[:160]
    lo2, hi2 = all_lo.copy(), all_hi.copy()
    k = len(all_ids) - len(ids)
    shift = np.zeros(3)
    shift[axis] = 1.0
    lo2[k + out[:80]] += shift
    hi2[k + out[:80]] += shift
    lo2[k + out[80:]] += 3.5 * shift
    hi2[k + out[80:]] += 3.5 * shift
    s.update(ids[out], lo2[k + out], hi2[k + out])
    check_pairs(s, all_ids, lo2, hi2, (ids[out], *_moved_sets(ids, rng)))
    s.update(ids[out], all_lo[k + out], all_hi[k + out])
    check_pairs(s, all_ids, all_lo, all_hi, (ids[out],))


@pytest.mark.parametrize("n_wide", [0, 10, 100])
def test_specks_in_one_cell_match_brute_force(n_wide):
    # Specks of 0.01 all with min x = 1, on a 0.01 lattice in y and z (so many touch), in one
    # cell of an explicit 64-stud grid; plus wide boxes on the same level (up to 60 studs).
    rng = np.random.default_rng(n_wide)
    n = 3000
    lo = np.stack([np.ones(n), rng.integers(0, 400, n) * 0.01, rng.integers(0, 400, n) * 0.01], 1)
    hi = lo + 0.01
    w = rng.uniform(0.5, 60.0, size=(n_wide, 3))
    wl = rng.uniform(0.0, 3.0, size=(n_wide, 3))
    lo, hi = np.vstack([lo, wl]), np.vstack([hi, wl + w])
    ids = np.arange(len(lo), dtype=np.int64) * 7 - 3000
    s = fbsim.SpatialHash(cell_size=64.0)
    s.insert(ids, lo, hi)
    check_pairs(s, ids, lo, hi, (*_moved_sets(ids, rng), ids[n:]))


def test_shared_min_x_and_y_and_one_point():
    # Plates stacked along z sharing min x and min y (gaps and exact touches), then every box
    # at one point (quadratic output, every pair found).
    n = 600
    z = np.cumsum(np.where(np.arange(n) % 3 == 0, 0.0, 0.02))
    lo = np.stack([np.zeros(n), np.zeros(n), z], 1)
    hi = lo + np.array([4.0, 4.0, 0.01])
    hi[::5, 2] = lo[::5, 2] + 0.02  # touching the next plate
    ids = np.arange(n, dtype=np.int64)
    for cell in (64.0, None):
        s = fbsim.SpatialHash(cell_size=cell)
        s.insert(ids, lo, hi)
        check_pairs(s, ids, lo, hi, (ids[::10], ids[:2]))
    pt = np.full((300, 3), 5.0)
    s = fbsim.SpatialHash(cell_size=64.0)
    s.insert(ids[:300], pt, pt)
    got = check_pairs(s, ids[:300], pt, pt, (ids[:300:7],))
    assert len(got) == 300 * 299 // 2


def test_crowd_next_to_uniform_boxes():
    # A crowded cell inside an otherwise uniform level (the whole level is re-gridded): the
    # crowd's pairs and the lattice's, and pairs across them.
    rng = np.random.default_rng(5)
    g = np.stack(np.meshgrid(*[np.arange(10.0) * 4.0] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    c = rng.uniform(8.0, 12.0, size=(500, 3))
    c[:, 0] = 9.0  # the crowd shares min x
    lo = np.vstack([g + 0.5, c - 0.125])
    hi = np.vstack([g + 3.5, c + 0.125])
    lo[-250:, 0] = 8.5  # and some touch the lattice box that ends at 8.5 along x
    ids = np.arange(len(lo), dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=4.0)
    s.insert(ids, lo, hi)
    check_pairs(s, ids, lo, hi, (ids[len(g) :: 3], ids[::4]))


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(80, 400),
    shared=st.sampled_from([(0,), (1,), (2,), (0, 1), (0, 2), (1, 2)]),
    cell=st.sampled_from([16.0, 64.0, None]),
)
def test_crowded_property(seed, n, shared, cell):
    # Boxes on a coarse lattice of min corners with the axes in `shared` fixed to one value,
    # sizes from specks to a few wide ones: pairs() and pairs(moved) equal brute force.
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 12, size=(n, 3)) * 0.5
    for k in shared:
        lo[:, k] = 1.0
    size = rng.choice([0.0, 0.01, 0.5, 1.0], size=(n, 3))
    size[: rng.integers(0, 4)] = rng.uniform(2.0, 9.0, 3)
    hi = lo + size
    ids = rng.permutation(4 * n)[:n].astype(np.int64)
    s = fbsim.SpatialHash(cell_size=cell)
    s.insert(ids, lo, hi)
    check_pairs(s, ids, lo, hi, (ids[::3], ids[:1]))


def test_automatic_cell_size_rechosen_at_merges():
    # A baseplate inserted alone sets ~2068-stud cells; the bricks' merge re-chooses the size
    # from all boxes (1.01 x the bricks' side) and rekeys the index. Pairs stay exact through
    # single inserts (merged from the side buffer), updates that grow every brick 20x (chosen
    # again, upward) and removes.
    rng = np.random.default_rng(11)
    s = fbsim.SpatialHash()
    plate_lo, plate_hi = np.array([[-1024.0, -3.0, -1024.0]]), np.array([[1024.0, -2.0, 1024.0]])
    s.insert([10**9], plate_lo, plate_hi)
    assert s.cell_size == pytest.approx(1.01 * 2048.0)
    lo, hi = _wall(30, 0)
    ids = np.arange(len(lo), dtype=np.int64)
    s.insert(ids, lo, hi)
    assert s.cell_size == pytest.approx(1.01)
    all_ids = np.concatenate([[10**9], ids])
    all_lo, all_hi = np.vstack([plate_lo, lo]), np.vstack([plate_hi, hi])
    check_pairs(s, all_ids, all_lo, all_hi, (ids[::10],))
    # One by one: the side buffer fills and merges, the size stays.
    extra_lo = rng.uniform(0.0, 30.0, size=(300, 3))
    extra_hi = extra_lo + 0.5
    extra = np.arange(5000, 5300, dtype=np.int64)
    for k in range(300):
        s.insert(extra[k : k + 1], extra_lo[k : k + 1], extra_hi[k : k + 1])
    all_ids = np.concatenate([all_ids, extra])
    all_lo, all_hi = np.vstack([all_lo, extra_lo]), np.vstack([all_hi, extra_hi])
    check_pairs(s, all_ids, all_lo, all_hi, (extra[::7], ids[::9]))
    # Every brick 20x larger: the size is chosen again, upward.
    big_hi = lo + 20.0
    s.update(ids, lo, big_hi)
    all_hi[1 : 1 + len(ids)] = big_hi
    assert s.cell_size > 8 * 1.01
    check_pairs(s, all_ids, all_lo, all_hi, (ids[::50],))
    # Remove the bricks: the small extras and the plate remain.
    s.remove(ids)
    keep = np.r_[0, 1 + len(ids) : len(all_ids)]
    check_pairs(s, all_ids[keep], all_lo[keep], all_hi[keep], (extra[::5],))


def test_automatic_cell_size_rekeys_at_most_once_per_half_index_of_writes():
    # Half 1-stud boxes, half 100-stud ones: each merging batch of either size tips the median
    # across, so the automatic size would flip 1.01 <-> 101 at every merge (an O(n log n)
    # rekey each time). A rekey waits for n / 2 boxes written since the last one.
    rng = np.random.default_rng(5)
    n = 4000
    lo = rng.uniform(-5000.0, 5000.0, size=(n, 3))
    ext = np.where(np.arange(n) < n // 2, 1.0, 100.0)
    ids = np.arange(n, dtype=np.int64)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, lo + ext[:, None])
    k = 1000  # a merge at once (> n / 128), and 60% of the boxes after it share its size
    new_ids = np.arange(n, n + k, dtype=np.int64)
    new_lo = rng.uniform(-5000.0, 5000.0, size=(k, 3))
    sizes, writes = [s.cell_size], 0
    for cycle in range(40):
        e = 1.0 if cycle % 2 == 0 else 100.0
        s.insert(new_ids, new_lo, new_lo + e)
        sizes.append(s.cell_size)
        s.remove(new_ids)
        writes += 2 * k
    changes = sum(a != b for a, b in itertools.pairwise(sizes))
    # Rekeys need (n + k) / 2 writes each (the index holds n + k at each merge); without the
    # wait the size changes at every insert (40 times).
    assert 1 <= changes <= writes // ((n + k) // 2) + 1
    all_lo = np.vstack([lo, new_lo])
    s.insert(new_ids, new_lo, new_lo + 1.0)
    check_pairs(
        s,
        np.concatenate([ids, new_ids]),
        all_lo,
        all_lo + np.concatenate([ext, np.ones(k)])[:, None],
        (new_ids[::3], ids[::40]),
    )


def test_explicit_cell_size_is_kept():
    s = fbsim.SpatialHash(cell_size=64.0)
    lo, hi = _wall(20, 2)
    s.insert(np.arange(len(lo)), lo, hi)
    s.update(np.arange(len(lo)), lo, hi + 0.5)
    assert s.cell_size == 64.0


def test_crowded_level_stops_at_max_results():
    # 3000 boxes at one point in one cell (4.5M pairs): the re-gridded sweep checks the cap
    # per box, so a small max_results raises at once instead of materialising every pair;
    # at exactly the count it is exact.
    pt = np.full((3000, 3), 5.0)
    ids = np.arange(3000, dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=64.0)
    s.insert(ids, pt, pt)
    s.max_results = 1000
    with pytest.raises(ValueError, match="max_results"):
        s.pairs()
    with pytest.raises(ValueError, match="max_results"):
        s.pairs(ids)
    small = np.full((300, 3), 5.0)
    s = fbsim.SpatialHash(cell_size=64.0)
    s.insert(ids[:300], small, small)
    s.max_results = 300 * 299 // 2
    assert len(s.pairs()) == 300 * 299 // 2
