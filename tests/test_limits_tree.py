# SPDX-License-Identifier: MIT
"""Octree / Quadtree range queries past the result-size cap (issue 10, Limits).

``radius`` and ``query_aabb`` return CSR results whose size the caller controls (a huge box
repeated in a big batch is every item, times the batch). Past ``max_results`` ids they raise a
ValueError naming the limit, stop searching, and leave the tree unchanged. The expected counts
come from brute force over the same points (numpy distances and box tests), not from fbsim.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fbsim

TREES = [fbsim.Octree, fbsim.Quadtree]


def _points(cls, n=300, seed=1):
    dim = 3 if cls is fbsim.Octree else 2
    pts = np.random.default_rng(seed).uniform(-50.0, 50.0, (n, dim))
    return pts, cls(pts)


def _brute_radius(pts, queries, r):
    d = np.sqrt(((queries[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2))
    return [np.flatnonzero(row <= r) for row in d]


def _brute_aabb(lo_items, hi_items, lo, hi):
    hit = (lo_items[None] <= hi[:, None]) & (hi_items[None] >= lo[:, None])
    return [np.flatnonzero(row) for row in hit.all(axis=2)]


@pytest.mark.parametrize("cls", TREES)
def test_default_cap_is_the_documented_one(cls):
    _, tree = _points(cls, 10)
    assert tree.max_results == fbsim.MAX_QUERY_RESULTS
    box_tree = cls.from_aabbs(np.zeros((1, 6 if cls is fbsim.Octree else 4)))
    assert box_tree.max_results == fbsim.MAX_QUERY_RESULTS


@pytest.mark.parametrize("cls", TREES)
@pytest.mark.parametrize("workers", [1, 4])
def test_radius_past_cap_is_a_value_error_and_at_it_is_exact(cls, workers):
    pts, tree = _points(cls)
    # 600 queries: enough for parallel_chunks to really use 4 threads.
    queries = np.random.default_rng(2).uniform(-60.0, 60.0, (600, pts.shape[1]))
    want = _brute_radius(pts, queries, 12.0)
    total = sum(len(w) for w in want)
    assert total > 100
    tree.max_results = total - 1
    with pytest.raises(ValueError, match=f"radius result exceeds max_results = {total - 1} "):
        tree.radius(queries, 12.0, workers=workers)
    assert len(tree) == len(pts)  # a refused query changes nothing
    assert tree._tree.check_invariants()
    tree.max_results = total
    off, ids = tree.radius(queries, 12.0, workers=workers)
    assert off[-1] == total
    for i, w in enumerate(want):
        np.testing.assert_array_equal(ids[off[i] : off[i + 1]], w)
    # The counting query is not capped.
    tree.max_results = 0
    np.testing.assert_array_equal(
        tree.radius_count(queries, 12.0, workers=workers), [len(w) for w in want]
    )


@pytest.mark.parametrize("cls", TREES)
@pytest.mark.parametrize("workers", [1, 4])
def test_query_aabb_past_cap_is_a_value_error_and_at_it_is_exact(cls, workers):
    dim = 3 if cls is fbsim.Octree else 2
    rng = np.random.default_rng(5)
    c = rng.uniform(-50.0, 50.0, (400, dim))
    h = rng.uniform(0.1, 3.0, (400, dim))
    tree = cls.from_aabbs(np.hstack([c - h, c + h]))
    lo = rng.uniform(-60.0, 50.0, (500, dim))
    hi = lo + rng.uniform(0.0, 15.0, (500, dim))
    want = _brute_aabb(c - h, c + h, lo, hi)
    total = sum(len(w) for w in want)
    assert total > 100
    tree.max_results = total - 1
    with pytest.raises(ValueError, match=f"query_aabb result exceeds max_results = {total - 1} "):
        tree.query_aabb(lo, hi, workers=workers)
    assert tree._tree.check_invariants()
    tree.max_results = total
    off, ids = tree.query_aabb(lo, hi, workers=workers)
    assert off[-1] == total
    for i, w in enumerate(want):
        np.testing.assert_array_equal(ids[off[i] : off[i + 1]], w)


@given(st.integers(0, 400), st.floats(0.0, 40.0), st.sampled_from(TREES))
def test_radius_raises_iff_the_brute_force_total_passes_the_cap(cap, r, cls):
    pts, tree = _points(cls, 60, seed=9)
    queries = np.random.default_rng(11).uniform(-50.0, 50.0, (8, pts.shape[1]))
    total = sum(len(w) for w in _brute_radius(pts, queries, r))
    tree.max_results = cap
    if total > cap:
        with pytest.raises(ValueError, match="max_results"):
            tree.radius(queries, r)
    else:
        off, _ = tree.radius(queries, r)
        assert off[-1] == total


def test_hostile_batch_stops_at_the_cap_without_allocating_it():
    """A world-sized box repeated 1e6 times over 2000 items asks for 2e9 ids (16 GB):
    refused under a 1e5 cap after finding ~1e5, not an allocation failure."""
    _, tree = _points(fbsim.Octree, 2000)
    tree.max_results = 100_000
    lo = np.broadcast_to([-1e3, -1e3, -1e3], (1_000_000, 3))
    hi = np.broadcast_to([1e3, 1e3, 1e3], (1_000_000, 3))
    with pytest.raises(ValueError, match="query_aabb result exceeds max_results = 100000"):
        tree.query_aabb(lo, hi, workers=2)
    with pytest.raises(ValueError, match="radius result exceeds"):
        tree.radius(lo, 1e4, workers=2)
    assert len(tree) == 2000


@pytest.mark.parametrize("bad", [-1, 1.5, np.nan, np.inf, 1e30])
def test_tree_max_results_setter_rejects_bad_values(bad):
    _, tree = _points(fbsim.Quadtree, 5)
    with pytest.raises(ValueError, match="max_results"):
        tree.max_results = bad
    assert tree.max_results == fbsim.MAX_QUERY_RESULTS


def test_tree_max_results_setter_rejects_non_numbers():
    _, tree = _points(fbsim.Octree, 5)
    with pytest.raises(TypeError, match="max_results"):
        tree.max_results = "many"
    assert tree.max_results == fbsim.MAX_QUERY_RESULTS


def test_tree_max_results_survives_updates():
    pts, tree = _points(fbsim.Octree, 50)
    tree.max_results = 7
    tree.insert([1000], [[0.0, 0.0, 0.0]])
    tree.remove([1000])
    assert tree.max_results == 7
    with pytest.raises(ValueError, match="max_results = 7"):
        tree.radius(pts[:1], 1e3)
