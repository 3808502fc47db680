# SPDX-License-Identifier: MIT
"""SpatialHash's log-structured index (side buffer + tombstones + merges) against brute force
(tests/oracles_broadphase.py, which shares no code with fbsim): single-item churn across the
merge threshold, tombstone-then-reinsert of one id, removes from the buffer, updates moving an
id between the buffer and the sorted index, and a hypothesis state machine with the buffer cap
as one of its moves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from oracles_broadphase import (
    brute_pairs,
    brute_pairs_with,
    brute_query_aabb,
    brute_query_sphere,
    brute_raycast,
    brute_raycast_first,
)

import fbsim


class Model:
    """Plain dict model: id -> (lo, hi), the reference state the structure must match."""

    def __init__(self):
        self.boxes: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def arrays(self):
        ids = np.array(sorted(self.boxes), dtype=np.int64)
        lo = np.array([self.boxes[i][0] for i in ids], dtype=float).reshape(-1, 3)
        hi = np.array([self.boxes[i][1] for i in ids], dtype=float).reshape(-1, 3)
        return ids, lo, hi


def check_all(s, model, rng, moved=None, other=None):
    """Every query of s against brute force over the model."""
    ids, lo, hi = model.arrays()
    assert len(s) == len(ids)
    assert s.check_invariants()
    full = brute_pairs(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), full)
    if moved is not None and len(moved):
        moved = np.asarray(moved, dtype=np.int64)
        want = full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]
        np.testing.assert_array_equal(s.pairs(moved), want)
    for i in ids[:: max(1, len(ids) // 7)]:
        assert int(i) in s
    c = rng.uniform(-12, 12, size=(12, 3))
    h = rng.uniform(0, 4, size=(12, 3))
    h[0] = 0.0
    got = s.query_aabb(c - h, c + h)
    want_q = brute_query_aabb(ids, lo, hi, c - h, c + h)
    np.testing.assert_array_equal(got[0], want_q[0])
    np.testing.assert_array_equal(got[1], want_q[1])
    r = rng.uniform(0, 3, size=12)
    got = s.query_sphere(c, r)
    want_q = brute_query_sphere(ids, lo, hi, c, r)
    np.testing.assert_array_equal(got[0], want_q[0])
    np.testing.assert_array_equal(got[1], want_q[1])
    d = rng.normal(size=(12, 3))
    t = rng.uniform(0, 20, size=12)
    got = s.raycast(c, d, t)
    want_q = brute_raycast(ids, lo, hi, c, d, t)
    np.testing.assert_array_equal(got[0], want_q[0])
    np.testing.assert_array_equal(got[1], want_q[1])
    got_id, got_t = s.raycast_first(c, d, t)
    want_id, want_t = brute_raycast_first(ids, lo, hi, c, d, t)
    np.testing.assert_array_equal(got_id, want_id)
    np.testing.assert_allclose(got_t, want_t, rtol=1e-12, atol=1e-12)
    if other is not None:
        oids, olo, ohi = other
        t2 = fbsim.DynamicTree()
        t2.insert(oids, olo, ohi)
        np.testing.assert_array_equal(
            s.pairs_with(t2), brute_pairs_with(ids, lo, hi, oids, olo, ohi)
        )


def random_box(rng, spread=10.0):
    c = rng.uniform(-spread, spread, 3)
    h = rng.uniform(0.0, 1.2, 3)
    if rng.random() < 0.05:
        h *= 8  # a few boxes on coarser levels
    return c - h, c + h


@pytest.mark.parametrize("cap", [None, 0, 1, 7, 40])
def test_single_item_churn_crosses_merge_threshold(cap, rng):
    s = fbsim.SpatialHash(cell_size=None if cap is None else 1.5)
    model = Model()
    n0 = 300
    c = rng.uniform(-10, 10, size=(n0, 3))
    h = rng.uniform(0.1, 1.0, size=(n0, 3))
    ids0 = np.arange(n0, dtype=np.int64) * 3
    s.insert(ids0, c - h, c + h)
    for i, a, b in zip(ids0, c - h, c + h, strict=True):
        model.boxes[int(i)] = (a, b)
    if cap is not None:
        s.buffer_cap = cap
    other = (
        np.array([5, 6], np.int64),
        np.array([[-3.0, -3, -3], [0, 0, 0]]),
        np.array([[3.0, 3, 3], [9, 9, 9]]),
    )
    next_id = 10_000
    merges = buffered_seen = tombs_seen = 0
    moved: list[int] = []
    for step in range(400):
        before = s.buffered
        op = rng.random()
        if op < 0.35 or not model.boxes:
            lo, hi = random_box(rng)
            s.insert([next_id], lo[None], hi[None])
            model.boxes[next_id] = (lo, hi)
            moved.append(next_id)
            next_id += 1
        elif op < 0.6:
            k = int(rng.choice(sorted(model.boxes)))
            s.remove([k])
            del model.boxes[k]
            moved = [m for m in moved if m != k]
        else:
            k = int(rng.choice(sorted(model.boxes)))
            lo, hi = model.boxes[k]
            d = rng.normal(0, 0.05 if rng.random() < 0.5 else 3.0, 3)  # stay, or change cell
            lo, hi = lo + d, hi + d
            s.update([k], lo[None], hi[None])
            model.boxes[k] = (lo, hi)
            moved.append(k)
        merges += s.buffered < before
        buffered_seen += s.buffered > 0
        tombs_seen += s.tombstones > 0
        if step % 25 == 24:
            check_all(s, model, rng, moved=sorted(set(moved))[-20:], other=other)
            moved = []
    check_all(s, model, rng, other=other)
    if cap is None or cap >= 7:
        assert merges > 0, "the churn never crossed the merge threshold"
        assert buffered_seen > 0
    if cap == 0:
        assert s.buffered == 0  # every write merged at once
    assert tombs_seen > 0


def test_tombstone_then_reinsert_same_id(rng):
    s = fbsim.SpatialHash(cell_size=1.0)
    n = 200
    c = rng.uniform(-5, 5, size=(n, 3))
    ids = np.arange(n, dtype=np.int64)
    s.insert(ids, c - 0.4, c + 0.4)  # one batch: merged into the sorted index
    s.buffer_cap = 50
    model = Model()
    for i in ids:
        model.boxes[int(i)] = (c[i] - 0.4, c[i] + 0.4)
    for k in (7, 8, 9):
        s.remove([k])  # tombstones in the index
        del model.boxes[k]
    assert s.tombstones == 3
    check_all(s, model, rng)
    # The same ids come back (their slots are reused) at a new place and at the old one.
    s.insert([7, 8], np.array([[2.0, 2, 2], c[8] - 0.4]), np.array([[3.0, 3, 3], c[8] + 0.4]))
    model.boxes[7] = (np.array([2.0, 2, 2]), np.array([3.0, 3, 3]))
    model.boxes[8] = (c[8] - 0.4, c[8] + 0.4)
    assert (s.buffered, s.tombstones) == (2, 3)
    check_all(s, model, rng, moved=[7, 8, 10])
    # Remove the reinserted one again (now from the buffer), reinsert it once more.
    s.remove([7])
    del model.boxes[7]
    check_all(s, model, rng, moved=[8])
    s.insert([7], np.array([[0.0, 0, 0]]), np.array([[9.0, 9, 9]]))
    model.boxes[7] = (np.array([0.0, 0, 0]), np.array([9.0, 9, 9]))
    check_all(s, model, rng, moved=[7, 8])
    s.buffer_cap = 0  # merge: the tombstones go, the buffer joins the index
    assert (s.buffered, s.tombstones) == (0, 0)
    check_all(s, model, rng, moved=[7, 8, 9 + 1])


def test_remove_ids_living_in_the_buffer(rng):
    s = fbsim.SpatialHash(cell_size=1.0)
    s.buffer_cap = 1000
    model = Model()
    ids = np.arange(60, dtype=np.int64) * 11
    for i in ids:  # one at a time: all stay in the buffer
        lo, hi = random_box(rng, spread=4.0)
        s.insert([i], lo[None], hi[None])
        model.boxes[int(i)] = (lo, hi)
    assert (s.buffered, s.tombstones) == (60, 0)
    check_all(s, model, rng, moved=ids[:5])
    gone = ids[rng.choice(60, 25, replace=False)]
    s.remove(gone[:1])
    s.remove(gone[1:])  # a batch of buffer removes
    for i in gone:
        del model.boxes[int(i)]
    assert (s.buffered, s.tombstones) == (35, 0)
    check_all(s, model, rng, moved=sorted(model.boxes)[:6])
    with pytest.raises(ValueError, match=r"ids\[0\]"):
        s.remove(gone[:1])  # already gone: rejected, nothing changes
    check_all(s, model, rng)


def test_updates_move_an_id_between_buffer_and_index(rng):
    s = fbsim.SpatialHash(cell_size=1.0)
    n = 150
    c = rng.uniform(-6, 6, size=(n, 3))
    ids = np.arange(n, dtype=np.int64) + 1000
    s.insert(ids, c - 0.3, c + 0.3)
    s.buffer_cap = 20
    model = Model()
    for i, cc in zip(ids, c, strict=True):
        model.boxes[int(i)] = (cc - 0.3, cc + 0.3)
    k = 1005
    far_lo, far_hi = np.array([20.0, 20, 20]), np.array([20.5, 20.5, 20.5])
    s.update([k], far_lo[None], far_hi[None])  # index -> buffer, tombstone left behind
    model.boxes[k] = (far_lo, far_hi)
    assert (s.buffered, s.tombstones) == (1, 1)
    check_all(s, model, rng, moved=[k])
    near = (c[3] - 0.3, c[3] + 0.3)  # onto another box: pairs with it
    s.update([k], near[0][None], near[1][None])  # buffer -> buffer, new place
    model.boxes[k] = near
    assert s.buffered == 1
    check_all(s, model, rng, moved=[k, 1003])
    s.update([k], near[0][None] + 1e-9, near[1][None] + 1e-9)  # a tiny move inside the buffer
    model.boxes[k] = (near[0] + 1e-9, near[1] + 1e-9)
    check_all(s, model, rng, moved=[k])
    s.buffer_cap = 0  # buffer -> index
    assert (s.buffered, s.tombstones) == (0, 0)
    check_all(s, model, rng, moved=[k])
    s.buffer_cap = 20
    lo, hi = model.boxes[k]
    s.update([k], lo[None] + 1e-7, hi[None] + 1e-7)  # stays in its cell: in place
    model.boxes[k] = (lo + 1e-7, hi + 1e-7)
    assert (s.buffered, s.tombstones) == (0, 0)
    check_all(s, model, rng, moved=[k])
    # A mixed batch: some ids in the buffer, some in the index, some staying in place.
    s.update([1010], far_lo[None] + 3, far_hi[None] + 3)
    model.boxes[1010] = (far_lo + 3, far_hi + 3)
    batch = np.array([1010, 1011, 1012, k], dtype=np.int64)
    d = np.array([[0.0, 0, 0], [5, 0, 0], [1e-8, 0, 0], [0, -4, 0]])
    lo = np.array([model.boxes[int(i)][0] for i in batch]) + d
    hi = np.array([model.boxes[int(i)][1] for i in batch]) + d
    s.update(batch, lo, hi)
    for j, i in enumerate(batch):
        model.boxes[int(i)] = (lo[j], hi[j])
    check_all(s, model, rng, moved=batch)


def test_layers_of_buffered_items(rng):
    s = fbsim.SpatialHash(cell_size=1.0)
    n = 80
    c = rng.uniform(-3, 3, size=(n, 3))
    ids = np.arange(n, dtype=np.int64)
    layers = rng.choice([1, 2, 4], size=n).astype(np.uint32)
    masks = rng.choice([1, 3, 6, 7], size=n).astype(np.uint32)
    half = n // 2
    s.buffer_cap = 0  # the first half merged into the sorted index
    s.insert(ids[:half], c[:half] - 0.6, c[:half] + 0.6, layers[:half], masks[:half])
    s.buffer_cap = 100
    for i in range(half, n):  # the rest one by one, into the buffer
        s.insert(
            ids[i : i + 1],
            c[i : i + 1] - 0.6,
            c[i : i + 1] + 0.6,
            layers[i : i + 1],
            masks[i : i + 1],
        )
    assert s.buffered == n - half
    want = brute_pairs(ids, c - 0.6, c + 0.6, layers, masks)
    np.testing.assert_array_equal(s.pairs(), want)
    moved = ids[half - 3 : half + 3]
    np.testing.assert_array_equal(
        s.pairs(moved), want[np.isin(want[:, 0], moved) | np.isin(want[:, 1], moved)]
    )


def test_buffer_cap_rejects_bad_values():
    s = fbsim.SpatialHash()
    for bad in (-1, 2**21, 1.5, float("nan")):
        with pytest.raises(ValueError, match="buffer_cap"):
            s.buffer_cap = bad
    with pytest.raises(TypeError, match="buffer_cap"):
        s.buffer_cap = "big"
    s.buffer_cap = 12
    assert s.buffer_cap == 12
    s.buffer_cap = None
    assert s.buffer_cap == 64  # automatic: min(4096, max(64, n / 16)) with n = 0


@pytest.mark.slow
def test_single_item_churn_at_the_automatic_cap(rng):
    # 3,000 boxes merged, then single writes until the automatic cap (~187) is crossed
    # several times; checked against brute force at every crossing.
    n = 3000
    s = fbsim.SpatialHash()
    model = Model()
    c = rng.uniform(-15, 15, size=(n, 3))
    h = rng.uniform(0.2, 0.9, size=(n, 3))
    ids = np.arange(n, dtype=np.int64)
    s.insert(ids, c - h, c + h)
    for i in ids:
        model.boxes[int(i)] = (c[i] - h[i], c[i] + h[i])
    cap = s.buffer_cap
    assert 100 < cap < 4096
    next_id, crossings, moved = n, 0, []
    while crossings < 3:
        before = s.buffered
        if rng.random() < 0.5:
            lo, hi = random_box(rng, spread=15.0)
            s.insert([next_id], lo[None], hi[None])
            model.boxes[next_id] = (lo, hi)
            moved.append(next_id)
            next_id += 1
        else:
            k = int(rng.choice(n))
            if k not in model.boxes:
                continue
            lo, hi = model.boxes[k]
            d = rng.normal(0, 2.0, 3)
            s.update([k], (lo + d)[None], (hi + d)[None])
            model.boxes[k] = (lo + d, hi + d)
            moved.append(k)
        if s.buffered < before:
            crossings += 1
            check_all(s, model, rng, moved=sorted(set(moved[-50:])))
        elif s.buffered == cap // 2:
            check_all(s, model, rng, moved=sorted(set(moved[-50:])))


coord = st.integers(-8, 8).map(lambda v: v * 0.5)
box_st = st.tuples(coord, coord, coord, st.sampled_from([0.0, 0.5, 1.0, 2.5, 7.0]))


class BufferChurn(RuleBasedStateMachine):
    """Single and small-batch writes with the buffer cap changing under them."""

    @initialize(cell=st.sampled_from([None, 0.5, 1.0]), cap=st.sampled_from([None, 0, 1, 2, 5]))
    def setup(self, cell, cap):
        self.s = fbsim.SpatialHash(cell_size=cell)
        if cap is not None:
            self.s.buffer_cap = cap
        self.model = Model()

    @rule(i=st.integers(0, 40), b=box_st)
    def insert_one(self, i, b):
        if i in self.model.boxes:
            return
        lo, hi = np.array(b[:3], float), np.array(b[:3], float) + b[3]
        self.s.insert([i], lo[None], hi[None])
        self.model.boxes[i] = (lo, hi)

    @rule(data=st.data())
    def update_some(self, data):
        if not self.model.boxes:
            return
        keys = data.draw(
            st.lists(st.sampled_from(sorted(self.model.boxes)), max_size=3, unique=True)
        )
        boxes = data.draw(st.lists(box_st, min_size=len(keys), max_size=len(keys)))
        lo = np.array([b[:3] for b in boxes], float).reshape(-1, 3)
        hi = lo + np.array([b[3] for b in boxes], float)[:, None]
        self.s.update(np.array(keys, np.int64), lo, hi)
        for j, k in enumerate(keys):
            self.model.boxes[k] = (lo[j], hi[j])

    @rule(data=st.data())
    def remove_some(self, data):
        if not self.model.boxes:
            return
        keys = data.draw(
            st.lists(st.sampled_from(sorted(self.model.boxes)), max_size=3, unique=True)
        )
        self.s.remove(np.array(keys, np.int64))
        for k in keys:
            del self.model.boxes[k]

    @rule(cap=st.sampled_from([None, 0, 1, 3, 8]))
    def set_cap(self, cap):
        self.s.buffer_cap = cap

    @invariant()
    def agrees_with_brute_force(self):
        ids, lo, hi = self.model.arrays()
        assert len(self.s) == len(ids)
        assert self.s.check_invariants()
        full = brute_pairs(ids, lo, hi)
        np.testing.assert_array_equal(self.s.pairs(), full)
        moved = ids[::3]
        np.testing.assert_array_equal(
            self.s.pairs(moved), full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]
        )
        q = np.array([[-3.0, -3, -3], [0, 0, 0]]), np.array([[3.0, 3, 3], [0, 0, 0]])
        got = self.s.query_aabb(*q)
        want = brute_query_aabb(ids, lo, hi, *q)
        np.testing.assert_array_equal(got[1], want[1])


BufferChurn.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_buffer_churn_state_machine = BufferChurn.TestCase
