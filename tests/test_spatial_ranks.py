# SPDX-License-Identifier: MIT
"""SpatialHash's index records carry each box's id rank, so pairs() and pairs(ids) pack a pair
of ranked boxes into one sort key with no rank look-up. Boxes inserted since the last rank
rebuild have no rank and go the slow way (id rows); both kinds meet in one output. Checked
against brute force (tests/oracles_broadphase.py, no fbsim code) through the states where the
two kinds mix: a merge that did not rebuild the ranks, ids that interleave the ranked ones,
reused slots, a rebuild after enough inserts, removes, and custom layers (no packing)."""

from __future__ import annotations

import numpy as np
import pytest
from oracles_broadphase import brute_pairs

import fbsim


def _boxes(rng, n, side):
    c = rng.uniform(0.0, side, size=(n, 3))
    h = rng.uniform(0.25, 1.0, size=(n, 3))
    return c - h, c + h


def _pairs_involving(all_pairs, moved):
    keep = np.isin(all_pairs[:, 0], moved) | np.isin(all_pairs[:, 1], moved)
    return all_pairs[keep]


class _Scene:
    def __init__(self, s):
        self.s, self.lo, self.hi = s, {}, {}

    def insert(self, ids, lo, hi):
        self.s.insert(ids, lo, hi)
        for i, a, b in zip(ids, lo, hi, strict=True):
            self.lo[int(i)], self.hi[int(i)] = a, b

    def update(self, ids, lo, hi):
        self.s.update(ids, lo, hi)
        for i, a, b in zip(ids, lo, hi, strict=True):
            self.lo[int(i)], self.hi[int(i)] = a, b

    def remove(self, ids):
        self.s.remove(ids)
        for i in ids:
            del self.lo[int(i)], self.hi[int(i)]

    def check(self, moved=None):
        assert self.s.check_invariants()
        ids = np.array(sorted(self.lo), dtype=np.int64)
        lo = np.array([self.lo[i] for i in ids]).reshape(-1, 3)
        hi = np.array([self.hi[i] for i in ids]).reshape(-1, 3)
        expect = brute_pairs(ids, lo, hi)
        np.testing.assert_array_equal(self.s.pairs(), expect)
        if moved is not None:
            np.testing.assert_array_equal(self.s.pairs(moved), _pairs_involving(expect, moved))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ranked_and_unranked_boxes_pair_exactly(seed):
    rng = np.random.default_rng(seed)
    n, k_new = 1500, 50
    side = 2.5 * (n / 3.0) ** (1.0 / 3.0)
    scene = _Scene(fbsim.SpatialHash())
    # Even ids first (ranked at the build), then odd ids in batches large enough to merge
    # straight into the main index (> n / 128) but too few to rebuild the ranks (<= n / 8):
    # unranked records sit in the dense pass next to ranked ones, their ids interleaved.
    ids = np.arange(0, 2 * n, 2, dtype=np.int64)
    scene.insert(ids, *_boxes(rng, n, side))
    scene.check(moved=ids[:50])
    for k in range(3):
        new = np.arange(1 + 2 * k_new * k, 1 + 2 * k_new * (k + 1), 2, dtype=np.int64)
        scene.insert(new, *_boxes(rng, len(new), side))
        scene.check(moved=np.concatenate([new[:20], ids[:20]]))
    # Updates keep the ranks (ids unchanged), moving boxes out of their cells too.
    moved = rng.choice(np.array(sorted(scene.lo)), size=200, replace=False)
    lo, hi = _boxes(rng, len(moved), side)
    scene.update(moved, lo, hi)
    scene.check(moved=moved)
    # Enough inserts to rebuild the ranks (every record's lane rewritten), then removes and a
    # reused slot with a new id.
    new = np.arange(10_001, 10_001 + 2 * 300, 2, dtype=np.int64)
    scene.insert(new, *_boxes(rng, len(new), side))
    scene.check(moved=new[:30])
    gone = rng.choice(np.array(sorted(scene.lo)), size=150, replace=False)
    scene.remove(gone)
    scene.check()
    scene.insert(np.array([-5], dtype=np.int64), *_boxes(rng, 1, side))
    scene.check(moved=np.array([-5], dtype=np.int64))


def test_custom_layers_skip_the_packed_path():
    rng = np.random.default_rng(7)
    n = 1500
    side = 2.5 * (n / 3.0) ** (1.0 / 3.0)
    lo, hi = _boxes(rng, n, side)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)
    layers = rng.choice(np.array([1, 2, 3], dtype=np.uint32), size=n)
    masks = rng.choice(np.array([1, 2, 3], dtype=np.uint32), size=n)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi, layers=layers, masks=masks)
    assert s.check_invariants()
    expect = brute_pairs(ids, lo, hi, layers, masks)
    np.testing.assert_array_equal(s.pairs(), expect)
    moved = ids[:100]
    np.testing.assert_array_equal(s.pairs(moved), _pairs_involving(expect, moved))
