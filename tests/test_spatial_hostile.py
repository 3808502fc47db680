# SPDX-License-Identifier: MIT
"""SpatialHash on crowded levels a client can build on purpose (issue 4, round 8): rods along
all three axes in one crowd, plates of cell size among specks, boxes of many size classes in
one cell, crowds searched by buffered boxes and by const queries. A crowded level is re-gridded
per call as groups by size class and shape (crowded_set.hpp), each swept along its own axis;
pairs across groups come from one group asking the other's grid. Every answer is checked
against brute force (tests/oracles_broadphase.py, no fbsim code) and against DynamicTree, with
explicit and automatic cell sizes, and after updates that move boxes into and out of the crowd.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles_broadphase import (
    brute_pairs_with,
    brute_query_aabb,
    brute_query_sphere,
    brute_raycast,
    brute_raycast_first,
    check_pairs,
)

import fbsim


def _rods(k, length, spacing, thick, origin, axis):
    # k x k parallel rods along `axis` on a lattice across it.
    a, b = np.meshgrid(np.arange(k) * spacing, np.arange(k) * spacing, indexing="ij")
    other = [d for d in range(3) if d != axis]
    lo = np.zeros((k * k, 3))
    lo[:, other[0]], lo[:, other[1]] = a.ravel(), b.ravel()
    lo += origin
    hi = lo + thick
    hi[:, axis] = lo[:, axis] + length
    return lo, hi


def _jungle_gym(k=17):
    # Rods along x, y and z crossing each other in one 4-stud block (each rod crosses many of
    # the other bundles'), plus specks among them, some at exact touches (lo == hi).
    parts = [_rods(k, 4.0, 0.3, 0.05, np.array([0.0, 0.1, 0.2]) * (ax + 1), ax) for ax in range(3)]
    rng = np.random.default_rng(3)
    speck_lo = rng.integers(0, 80, size=(300, 3)) * 0.05
    parts.append((speck_lo, speck_lo + 0.05))
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def _specks_and_plates(n_plates, rng):
    # 1500 specks thin along x (0.01 x 0.25 x 0.25) in one 64-stud cell, and n_plates flat
    # 60 x 60 plates thin along x, some through the specks' region and some beside it.
    k = 1500
    lo = np.stack([rng.integers(0, 4, k) * 1.0, rng.uniform(0, 60, k), rng.uniform(0, 60, k)], 1)
    hi = lo + np.array([0.01, 0.25, 0.25])
    px = np.where(
        np.arange(n_plates) % 2 == 0, rng.uniform(0.0, 4.0, n_plates), 100.0 + np.arange(n_plates)
    )
    plo = np.stack([px, rng.uniform(-5, 5, n_plates), rng.uniform(-5, 5, n_plates)], 1)
    phi = plo + np.array([0.01, 60.0, 60.0])
    return np.vstack([lo, plo]), np.vstack([hi, phi])


def _size_classes(rng):
    # Cubes of sides 0.01, 0.1, 1 and 10 (halving counts), all in one 16-stud block: four size
    # classes, each pair of classes overlapping somewhere.
    parts = []
    for side, count in ((0.01, 1600), (0.1, 800), (1.0, 400), (10.0, 120)):
        lo = rng.uniform(0.0, 16.0 - side, size=(count, 3))
        parts.append((lo, lo + side))
    return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])


def _scene(name, rng):
    if name == "jungle_gym":
        return _jungle_gym()
    if name == "plates65":
        return _specks_and_plates(65, rng)
    if name == "plates200":
        return _specks_and_plates(200, rng)
    return _size_classes(rng)


SCENES = ["jungle_gym", "plates65", "plates200", "size_classes"]


@pytest.mark.parametrize("scene", SCENES)
@pytest.mark.parametrize("cell", [64.0, None])
def test_hostile_scenes_match_brute_force(scene, cell):
    rng = np.random.default_rng(SCENES.index(scene))
    lo, hi = _scene(scene, rng)
    ids = rng.permutation(10 * len(lo))[: len(lo)].astype(np.int64)
    s = fbsim.SpatialHash(cell_size=cell)
    s.insert(ids, lo, hi)
    expect = check_pairs(
        s, ids, lo, hi, (ids[:3], ids[rng.permutation(len(ids))[: len(ids) // 10]], ids)
    )
    t = fbsim.DynamicTree()
    t.insert(ids, lo, hi)
    np.testing.assert_array_equal(t.pairs(), expect)
    # Boxes moved out of the crowd (far away, and to touch it from outside), then back in.
    out = rng.permutation(len(ids))[:200]
    lo2, hi2 = lo.copy(), hi.copy()
    top = hi[:, 0].max()
    lo2[out[:100]] += [500.0, 0.0, 0.0]
    hi2[out[:100]] += [500.0, 0.0, 0.0]
    width = hi[out[100:], 0] - lo[out[100:], 0]
    lo2[out[100:], 0] = top
    hi2[out[100:], 0] = top + width
    s.update(ids[out], lo2[out], hi2[out])
    check_pairs(s, ids, lo2, hi2, (ids[out], ids[::7]))
    s.update(ids[out], lo[out], hi[out])
    check_pairs(s, ids, lo, hi, (ids[out],))


def _shape(kind, scale):
    # Extents of one box of a shape class: rods along x/y/z, plates thin along x/y/z, cubes.
    if kind < 3:
        e = np.full(3, 0.05 * scale)
        e[kind] = 4.0 * scale
    elif kind < 6:
        e = np.full(3, 3.0 * scale)
        e[kind - 3] = 0.02 * scale
    else:
        e = np.full(3, scale)
    return e


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(60, 500),
    kinds=st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True),
    scales=st.lists(st.sampled_from([0.01, 0.1, 1.0, 8.0]), min_size=1, max_size=4, unique=True),
    cell=st.sampled_from([8.0, 64.0, None]),
)
def test_mixed_shapes_property(seed, n, kinds, scales, cell):
    # Boxes of the chosen shape classes and scales on a coarse lattice of min corners in one
    # block (many share a min coordinate): pairs() and pairs(moved) equal brute force, before
    # and after some move into and out of the block.
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, 16, size=(n, 3)) * 0.25
    ext = np.array([_shape(kinds[i % len(kinds)], scales[i % len(scales)]) for i in range(n)])
    hi = lo + ext
    ids = rng.permutation(4 * n)[:n].astype(np.int64)
    s = fbsim.SpatialHash(cell_size=cell)
    s.insert(ids, lo, hi)
    check_pairs(s, ids, lo, hi, (ids[::3], ids[:1]))
    mv = rng.permutation(n)[: n // 4]
    lo2, hi2 = lo.copy(), hi.copy()
    shift = rng.choice([-40.0, 0.5, 40.0], size=(len(mv), 1))
    lo2[mv] += shift
    hi2[mv] += shift
    s.update(ids[mv], lo2[mv], hi2[mv])
    check_pairs(s, ids, lo2, hi2, (ids[mv], ids[::5]))


def test_crowd_with_boxes_at_one_point_is_capped():
    # Rods along three axes plus 2000 boxes at one point in one crowd: quadratic output, capped
    # by max_results at the re-gridded groups as everywhere else.
    lo, hi = _jungle_gym(8)
    pt = np.full((2000, 3), 1.0)
    lo, hi = np.vstack([lo, pt]), np.vstack([hi, pt])
    ids = np.arange(len(lo), dtype=np.int64)
    s = fbsim.SpatialHash(cell_size=64.0)
    s.insert(ids, lo, hi)
    s.max_results = 5000
    with pytest.raises(ValueError, match="max_results"):
        s.pairs()
    with pytest.raises(ValueError, match="max_results"):
        s.pairs(ids[::2])


def _crowd_population(mode, rng, n=1500):
    # n specks of 0.01-0.3 in one 8-stud block. "explicit": under cell_size 64. "automatic": a
    # crafted population under the default cell size, n + 100 plates of 60 studs far apart
    # (the median box is a plate, so the cells are ~61 studs and the specks share one).
    lo = rng.uniform(0.0, 8.0, size=(n, 3))
    hi = lo + rng.uniform(0.01, 0.3, size=(n, 3))
    if mode == "explicit":
        return fbsim.SpatialHash(cell_size=64.0), lo, hi
    k = n + 100
    plo = np.stack([np.arange(k) * 200.0 + 1000.0, np.zeros(k), np.zeros(k)], 1)
    return fbsim.SpatialHash(), np.vstack([lo, plo]), np.vstack([hi, plo + 60.0])


@pytest.mark.parametrize("mode", ["explicit", "automatic"])
def test_buffered_boxes_over_a_crowd(mode):
    # Boxes inserted in small batches stay in the side buffer; pairs() and pairs(moved) of
    # buffered boxes ask the crowded level's re-grid (pairs(moved): once their cell searches
    # pass the budget), and buffered boxes moved in and out of the crowd stay exact.
    rng = np.random.default_rng(7 if mode == "explicit" else 8)
    s, lo, hi = _crowd_population(mode, rng)
    ids = np.arange(len(lo), dtype=np.int64) * 3
    s.insert(ids, lo, hi)
    s.buffer_cap = 4000
    if mode == "automatic":
        assert s.cell_size > 30.0
    nb = 300
    blo = rng.uniform(0.0, 8.0, size=(nb, 3))
    bhi = blo + rng.uniform(0.0, 0.3, size=(nb, 3))
    bids = np.arange(nb, dtype=np.int64) * 3 + 1
    for k in range(0, nb, 30):
        s.insert(bids[k : k + 30], blo[k : k + 30], bhi[k : k + 30])
    assert s.buffered == nb
    all_ids = np.concatenate([ids, bids])
    all_lo, all_hi = np.vstack([lo, blo]), np.vstack([hi, bhi])
    check_pairs(
        s, all_ids, all_lo, all_hi, (bids, bids[:3], np.concatenate([bids[::2], ids[:1500:10]]))
    )
    # Half the buffered boxes leave the crowd (some to touch it from outside), then return.
    out = np.arange(0, nb, 2)
    lo2, hi2 = all_lo.copy(), all_hi.copy()
    j = len(ids) + out
    lo2[j[::2]] += 30.0
    hi2[j[::2]] += 30.0
    width = hi2[j[1::2], 0] - lo2[j[1::2], 0]
    lo2[j[1::2], 0] = all_hi[: len(ids) // 2, 0].max()
    hi2[j[1::2], 0] = lo2[j[1::2], 0] + width
    s.update(bids[out], lo2[j], hi2[j])
    assert s.buffered == nb
    check_pairs(s, all_ids, lo2, hi2, (bids, bids[out], ids[:1500:7]))
    s.update(bids[out], blo[out], bhi[out])
    check_pairs(s, all_ids, all_lo, all_hi, (bids,))


def _check_queries(s, ids, lo, hi, rng, count):
    # Box, sphere and ray queries over the crowd: small ones inside it, some far away, one
    # covering everything; in one batch (a batch re-grids a crowded level once its cell
    # searches pass the budget) and one by one (cell searches cut at the query's max x).
    mn, mx = lo.min(axis=0), hi.max(axis=0)
    c = rng.uniform(mn, mx, size=(count, 3))
    h = rng.choice([0.0, 0.05, 0.5, 3.0], size=(count, 1)) * rng.uniform(0.2, 1.0, size=(count, 3))
    qlo, qhi = c - h, c + h
    qlo[:5] += 1000.0
    qhi[:5] += 1000.0
    qlo[5], qhi[5] = mn - 1.0, mx + 1.0
    radii = rng.uniform(0.0, 2.0, size=count)
    radii[6] = 1e6
    dirs = rng.normal(size=(count, 3))
    dirs[:3] = [[1, 0, 0], [0, -1, 0], [0, 0, 2]]
    max_t = rng.uniform(0.0, 10.0, size=count)
    max_t[7] = np.inf
    for sl in (slice(0, count), *[slice(k, k + 1) for k in range(0, count, max(1, count // 6))]):
        for got, ref in zip(
            s.query_aabb(qlo[sl], qhi[sl]),
            brute_query_aabb(ids, lo, hi, qlo[sl], qhi[sl]),
            strict=True,
        ):
            np.testing.assert_array_equal(got, ref)
        for got, ref in zip(
            s.query_sphere(c[sl], radii[sl]),
            brute_query_sphere(ids, lo, hi, c[sl], radii[sl]),
            strict=True,
        ):
            np.testing.assert_array_equal(got, ref)
        for got, ref in zip(
            s.raycast(c[sl], dirs[sl], max_t[sl]),
            brute_raycast(ids, lo, hi, c[sl], dirs[sl], max_t[sl]),
            strict=True,
        ):
            np.testing.assert_array_equal(got, ref)
        gid, gt = s.raycast_first(c[sl], dirs[sl], max_t[sl])
        rid, rt = brute_raycast_first(ids, lo, hi, c[sl], dirs[sl], max_t[sl])
        np.testing.assert_array_equal(gid, rid)
        np.testing.assert_allclose(gt[rid >= 0], rt[rid >= 0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("scene", "cell"),
    [("jungle_gym", 64.0), ("jungle_gym", None), ("plates65", 64.0), ("size_classes", 64.0)],
)
def test_queries_over_a_crowd_match_brute_force(scene, cell):
    rng = np.random.default_rng(20 + SCENES.index(scene))
    lo, hi = _scene(scene, rng)
    ids = rng.permutation(10 * len(lo))[: len(lo)].astype(np.int64)
    s = fbsim.SpatialHash(cell_size=cell)
    s.insert(ids, lo, hi)
    _check_queries(s, ids, lo, hi, rng, 300)
    # pairs_with: every box of another structure asks this one (a batch of its size).
    olo = rng.uniform(lo.min(axis=0), hi.max(axis=0), size=(400, 3))
    ohi = olo + rng.uniform(0.0, 0.5, size=(400, 3))
    oids = np.arange(400, dtype=np.int64)
    t = fbsim.DynamicTree()
    t.insert(oids, olo, ohi)
    np.testing.assert_array_equal(t.pairs_with(s), brute_pairs_with(oids, olo, ohi, ids, lo, hi))


@pytest.mark.parametrize("mode", ["explicit", "automatic"])
def test_queries_over_a_crowd_with_buffer_and_tombstones(mode):
    # The crowd of _crowd_population with a side buffer and tombstones (updated boxes).
    rng = np.random.default_rng(30 if mode == "explicit" else 31)
    s, lo, hi = _crowd_population(mode, rng, n=1200)
    ids = np.arange(len(lo), dtype=np.int64)
    s.insert(ids, lo, hi)
    s.buffer_cap = 4000
    mv = rng.permutation(1200)[:150]
    lo, hi = lo.copy(), hi.copy()
    lo[mv] += rng.uniform(-1.0, 1.0, size=(150, 3))
    hi[mv] = lo[mv] + 0.2
    s.update(ids[mv], lo[mv], hi[mv])
    assert s.buffered > 0
    assert s.tombstones > 0
    _check_queries(s, ids, lo, hi, rng, 200)


@pytest.mark.slow
@pytest.mark.parametrize("scene", ["wide65", "rods_mixed", "buffered"])
def test_hostile_crowds_at_scale_agree_with_dynamic_tree(scene):
    # The review's scenes at benchmark scale (benchmarks/workloads_broadphase.hostile_crowd:
    # 40k-68k boxes), too large for the O(n^2) oracle: SpatialHash (both cell-size modes where
    # they crowd) agrees with DynamicTree on pairs(), pairs(moved) and a batch of box queries.
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.workloads_broadphase import hostile_crowd

    ids, lo, hi, cell, buf = hostile_crowd(scene)
    # Touching pairs too: every 50th box grown to reach its neighbours.
    hi = hi.copy()
    hi[::50] += 1.0
    first = buf.start if buf.stop > buf.start else len(ids)
    t = fbsim.DynamicTree()
    t.insert(ids, lo, hi)
    rng = np.random.default_rng(4)
    moved = np.sort(rng.choice(ids, len(ids) // 10, replace=False))
    q = rng.uniform(lo.min(axis=0), hi.max(axis=0), size=(2000, 3))
    qh = q + rng.uniform(0.0, 2.0, size=(2000, 3))
    expect = t.pairs(), t.pairs(moved), t.query_aabb(q, qh)
    assert len(expect[0]) > 0
    for c in {cell, None}:
        s = fbsim.SpatialHash(cell_size=c)
        s.insert(ids[:first], lo[:first], hi[:first])
        for k in range(first, len(ids), 400):
            s.insert(ids[k : k + 400], lo[k : k + 400], hi[k : k + 400])
        np.testing.assert_array_equal(s.pairs(), expect[0])
        np.testing.assert_array_equal(s.pairs(moved), expect[1])
        for got, ref in zip(s.query_aabb(q, qh), expect[2], strict=True):
            np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("k", [33, 40, 300])
def test_a_few_crowded_cells_in_a_large_level(k):
    # A dense level of random unit bricks (automatic cell size ~1.01) with k specks and small
    # boxes piled in one cell: a few crowded cells no longer re-grid the whole level when the
    # column sweep's bound (cell counts and their neighbours') stays small (k = 33, 40), and
    # still do when it does not (k = 300). Either way the answers equal brute force.
    rng = np.random.default_rng(k)
    n = 3000
    side = (n / 0.3) ** (1 / 3)
    lo = rng.uniform(0.0, side, size=(n, 3))
    hi = lo + 1.0
    # Min corners inside cell 7 on each axis (cells of 1.01: the median brick's side + 1%).
    slo = np.full((k, 3), 7 * 1.01 + 0.05) + rng.uniform(0.0, 0.3, size=(k, 3))
    shi = slo + rng.choice([1e-4, 0.05, 0.4], size=(k, 1))
    lo, hi = np.vstack([lo, slo]), np.vstack([hi, shi])
    ids = rng.permutation(3 * len(lo))[: len(lo)].astype(np.int64)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    assert s.cell_size == pytest.approx(1.01)
    check_pairs(s, ids, lo, hi, (ids[n:], ids[::10]))


@pytest.mark.parametrize("cell", [None, 1.0])
@pytest.mark.parametrize("layout", ["rods", "stacked"])
def test_crowded_coarse_level_under_fine_boxes(layout, cell):
    # Review of round 8: long rods (or plates stacked at one min x) crowding one cell of a
    # coarse level, under many specks on a fine level. Every speck asked the coarse level by
    # cells and scanned the crowded cell whole (pairs() 1.6-6 s at 20k rods over 50k specks);
    # now fine boxes ask the coarse level's re-grid. Crossing pairs, touching rods and the
    # side buffer included; pairs(specks) and pairs(rods) too (the moved-box path).
    rng = np.random.default_rng(11)
    n_specks, n_coarse = 3000, 400
    slo = rng.uniform(0, 30, (n_specks, 3))
    shi = slo + rng.uniform(0.001, 0.3, (n_specks, 3))
    if layout == "rods":
        plo = np.zeros((n_coarse, 3))
        plo[:, :2] = rng.uniform(0, 30, (n_coarse, 2))
        phi = plo + np.array([0.05, 0.05, 30.0])
    else:
        plo = np.zeros((n_coarse, 3))
        plo[:, 1] = rng.uniform(0, 1, n_coarse)
        plo[:, 2] = np.arange(n_coarse) * (30.0 / n_coarse)
        phi = plo + np.array([30.0, 0.5, 30.0 / n_coarse])  # stacked plates: each touches the next
    lo = np.vstack([slo, plo])
    hi = np.vstack([shi, phi])
    ids = rng.permutation(10 * len(lo))[: len(lo)].astype(np.int64)
    s = fbsim.SpatialHash(cell)
    s.insert(ids, lo, hi)
    specks, coarse = ids[:n_specks], ids[n_specks:]
    check_pairs(
        s,
        ids,
        lo,
        hi,
        moved_sets=(specks[::2], coarse[::3], np.concatenate([specks[:500], coarse[:50]])),
    )
    # A few more specks through the side buffer, then moved specks.
    extra_lo = rng.uniform(0, 30, (40, 3))
    extra_hi = extra_lo + 0.2
    extra_ids = np.arange(40, dtype=np.int64) + 10 * len(lo) + 1
    s.insert(extra_ids, extra_lo, extra_hi)
    ids2, lo2, hi2 = (
        np.concatenate([ids, extra_ids]),
        np.vstack([lo, extra_lo]),
        np.vstack([hi, extra_hi]),
    )
    check_pairs(
        s, ids2, lo2, hi2, moved_sets=(extra_ids, np.concatenate([extra_ids, specks[:800]]))
    )
