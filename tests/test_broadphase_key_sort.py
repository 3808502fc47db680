# SPDX-License-Identifier: MIT
"""pairs() of scenes with more than 2^17 ids: the packed rank keys are then sorted by buckets
of the smaller rank's top bits, each by an LSD radix (csrc/src/broadphase.cpp,
sort_rank_keys_bucketed); fewer ids take the two-count sort the other tests cover. The
expected pairs are built directly from the lattice (no fbsim code): brute force is too slow
at this size."""

from __future__ import annotations

import numpy as np

import fbsim


def _lattice_scene(seed):
    # 60 x 50 x 50 unit boxes: 0.9 apart along x (each overlaps its +x neighbour; the next but
    # one is 1.8 away), 2 apart along y and z (a gap of 1: no pairs across rows), ids a random
    # subset of a wider range so ranks are scattered over the buckets.
    nx, ny, nz = 60, 50, 50
    g = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij"), -1)
    lo = (g * np.array([0.9, 2.0, 2.0])).reshape(-1, 3) - 5000.0
    hi = lo + 1.0
    rng = np.random.default_rng(seed)
    ids = rng.permutation(7 * len(lo))[: len(lo)].astype(np.int64) - 3 * len(lo)
    grid = ids.reshape(nx, ny, nz)
    a, b = grid[:-1].ravel(), grid[1:].ravel()
    want = np.stack([np.minimum(a, b), np.maximum(a, b)], 1)
    return ids, lo, hi, want[np.lexsort((want[:, 1], want[:, 0]))]


def test_pairs_past_cached_sort_ranks():
    # SpatialHash: its pairs come as rank keys (the other structures' go the id-row way here).
    ids, lo, hi, want = _lattice_scene(1)
    assert len(ids) > 2**17
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), want)
    # Again after some removes (ranks rebuilt over fewer ids, still past the threshold).
    gone = ids[::9]
    s.remove(gone)
    keep = ~np.isin(want, gone).any(axis=1)
    np.testing.assert_array_equal(s.pairs(), want[keep])
