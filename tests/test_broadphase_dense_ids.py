# SPDX-License-Identifier: MIT
"""The id -> slot map keeps ids in [0, range) in a direct table and the rest in a hash; the
range only grows (by at least 1.5x, to at most twice the item count), moving hashed ids into
the table. Churn with ids at the table's edges, negative ids, ids far past it, single inserts
that grow it one id at a time, and removes, checked against a Python dict of boxes (pairs by
brute force, tests/oracles_broadphase.py) and against the errors an unknown id must raise with
nothing changed."""

from __future__ import annotations

import numpy as np
import pytest
from oracles_broadphase import brute_pairs

import fbsim

KINDS = [fbsim.SpatialHash, fbsim.SweepAndPrune, fbsim.DynamicTree]
INT64_MAX = np.iinfo(np.int64).max


def _edge_ids(rng, present, k):
    """k distinct candidate ids absent from `present`: around powers of two and 1.5x steps
    (where the table ends after a growth), negatives, and huge ones."""
    pool = set()
    for p in range(14):
        for base in (2**p, (3 * 2**p) // 2):
            pool.update((base - 1, base, base + 1))
    pool.update((0, -1, -2, -(2**40), 2**40, INT64_MAX, INT64_MAX - 1, -INT64_MAX))
    pool.update(int(v) for v in rng.integers(0, 64, size=16))
    pool -= present
    pool = sorted(pool)
    return [int(v) for v in rng.choice(pool, size=min(k, len(pool)), replace=False)]


def _boxes(rng, k):
    c = rng.uniform(0.0, 6.0, size=(k, 3))
    h = rng.uniform(0.25, 1.0, size=(k, 3))
    return c - h, c + h


def _check(s, model):
    assert len(s) == len(model)
    if not model:
        assert s.pairs().shape == (0, 2)
        return
    ids = np.array(sorted(model), dtype=np.int64)
    lo = np.array([model[i][0] for i in ids])
    hi = np.array([model[i][1] for i in ids])
    expect = brute_pairs(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), expect)
    some = ids[:: max(1, len(ids) // 7)]
    keep = np.isin(expect[:, 0], some) | np.isin(expect[:, 1], some)
    np.testing.assert_array_equal(s.pairs(some), expect[keep])
    for i in ids:
        assert int(i) in s


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
@pytest.mark.parametrize("seed", range(4))
def test_churn_with_ids_at_the_table_edges(kind, seed):
    rng = np.random.default_rng(100 + seed)
    s = kind()
    model: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for _step in range(60):
        op = rng.integers(0, 5)
        present = set(model)
        if op <= 1 or not model:  # insert: a batch, or single ids one call at a time
            new = _edge_ids(rng, present, int(rng.integers(1, 12)))
            lo, hi = _boxes(rng, len(new))
            if op == 0:
                s.insert(new, lo, hi)
            else:
                for j, i in enumerate(new):
                    s.insert([i], lo[j : j + 1], hi[j : j + 1])
            for j, i in enumerate(new):
                model[i] = (lo[j], hi[j])
        elif op == 2:  # update some present ids
            ids = [
                int(v) for v in rng.choice(sorted(model), size=min(len(model), 5), replace=False)
            ]
            lo, hi = _boxes(rng, len(ids))
            s.update(ids, lo, hi)
            for j, i in enumerate(ids):
                model[i] = (lo[j], hi[j])
        elif op == 3:  # remove some
            ids = [
                int(v) for v in rng.choice(sorted(model), size=min(len(model), 4), replace=False)
            ]
            s.remove(ids)
            for i in ids:
                del model[i]
        else:  # an unknown id (just past, just before, far): raises, nothing changes
            known = sorted(model)
            absent = _edge_ids(rng, present, 1)[0]
            ids = [*known[:2], absent]
            lo, hi = _boxes(rng, len(ids))
            with pytest.raises(
                ValueError, match=rf"ids\[{len(ids) - 1}\] = {absent} is not present"
            ):
                s.update(ids, lo, hi)
            with pytest.raises(
                ValueError, match=rf"ids\[{len(ids) - 1}\] = {absent} is not present"
            ):
                s.remove(ids)
            assert absent not in s
        _check(s, model)
    assert s.check_invariants()


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_hashed_ids_move_into_a_wider_table(kind):
    # Ids 0..9 inserted one call each after ids 1000..1009: the first batch cannot be dense
    # (the range stays within twice the item count), later growth takes them over.
    rng = np.random.default_rng(5)
    s = kind()
    model = {}
    for batch in (
        [1000 + i for i in range(10)],
        list(range(10)),
        [*range(10, 1000), *range(1010, 2000)],
    ):
        lo, hi = _boxes(rng, len(batch))
        s.insert(batch, lo, hi)
        model.update({i: (lo[j], hi[j]) for j, i in enumerate(batch)})
        _check(s, model)
    s.remove(list(range(0, 2000, 2)))
    for i in range(0, 2000, 2):
        del model[i]
    _check(s, model)
    # Removed ids inside the table read as absent, and can come back.
    with pytest.raises(ValueError, match=r"ids\[0\] = 4 is not present"):
        s.update([4], np.zeros((1, 3)), np.ones((1, 3)))
    s.insert([4, 1998], np.zeros((2, 3)), np.ones((2, 3)))
    model[4] = model[1998] = (np.zeros(3), np.ones(3))
    _check(s, model)
    assert s.check_invariants()


def test_dense_ids_cost_less_memory_than_hashed_ones():
    # Ids 0..n-1 sit in the 4-byte table (at most 2 entries per id) instead of 12-byte hash
    # buckets (at least 1 / 0.7 per id): at least 17 - 8 bytes an id less.
    rng = np.random.default_rng(6)
    n = 20_000
    lo, hi = _boxes(rng, n)
    dense, sparse = fbsim.SweepAndPrune(), fbsim.SweepAndPrune()
    dense.insert(np.arange(n), lo, hi)
    sparse.insert(np.arange(n) * 7919 + 10**12, lo, hi)
    assert sparse.nbytes - dense.nbytes >= 9 * n
