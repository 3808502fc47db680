# SPDX-License-Identifier: MIT
"""pairs(ids) called many times in a row, as a server does each tick: each thread keeps the
byte-per-slot marks of the id set between calls and clears the ones it set, so a mark left
behind by one call would hide a pair from a later call (a pair inside the set is kept from one
end only). Each call is checked against brute force (tests/oracles_broadphase.py): on one
structure, alternating between structures of different sizes, and from several threads on a
shared one."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from oracles_broadphase import brute_pairs

import fbsim

KINDS = [fbsim.SpatialHash, fbsim.SweepAndPrune, fbsim.DynamicTree]


def _scene(rng, n, span):
    c = rng.uniform(0.0, span, size=(n, 3))
    h = rng.uniform(0.25, 1.0, size=(n, 3))
    ids = rng.permutation(4 * n)[:n].astype(np.int64)
    return ids, c - h, c + h


def _involving(all_pairs, chosen):
    keep = np.isin(all_pairs[:, 0], chosen) | np.isin(all_pairs[:, 1], chosen)
    return all_pairs[keep]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_repeated_pairs_of_ids_match_brute_force(kind):
    rng = np.random.default_rng(11)
    scenes = []
    for n, span in [(3000, 18.0), (200, 6.0), (1, 1.0)]:
        ids, lo, hi = _scene(rng, n, span)
        s = kind()
        s.insert(ids, lo, hi)
        scenes.append((s, ids, brute_pairs(ids, lo, hi)))
    for step in range(60):
        s, ids, expect = scenes[step % 3 if step % 5 else 0]
        # Big sets, small ones and single ids, in an order that leaves marks on low slots
        # right before a call whose pairs reach those slots.
        k = [len(ids), max(1, len(ids) // 3), 1, 2][step % 4]
        chosen = rng.choice(ids, size=min(k, len(ids)), replace=False)
        np.testing.assert_array_equal(s.pairs(chosen), _involving(expect, chosen))


def test_pairs_of_ids_from_threads_match_brute_force():
    rng = np.random.default_rng(12)
    ids, lo, hi = _scene(rng, 4000, 20.0)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    expect = brute_pairs(ids, lo, hi)
    batches = [rng.choice(ids, size=int(rng.integers(1, 400)), replace=False) for _ in range(64)]
    wrong = []

    def reader(mine):
        wrong.extend(c for c in mine if not np.array_equal(s.pairs(c), _involving(expect, c)))

    threads = [threading.Thread(target=reader, args=(batches[t::4],)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not wrong
