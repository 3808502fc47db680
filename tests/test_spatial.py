# SPDX-License-Identifier: MIT
"""fbsim.spatial against brute force (tests/oracles_broadphase.py) on random and degenerate
scenes, a hypothesis state machine of insert/update/remove, layers, and thread safety."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from oracles_broadphase import (
    brute_pairs,
    brute_pairs_with,
    brute_query_aabb,
    brute_query_sphere,
    brute_raycast,
    brute_raycast_first,
)

import fbsim

KINDS = [
    pytest.param(lambda: fbsim.SpatialHash(), id="hash-auto"),
    pytest.param(lambda: fbsim.SpatialHash(cell_size=0.7), id="hash-0.7"),
    pytest.param(lambda: fbsim.SweepAndPrune(0), id="sap-x"),
    pytest.param(lambda: fbsim.SweepAndPrune(2), id="sap-z"),
    pytest.param(lambda: fbsim.DynamicTree(), id="tree"),
    pytest.param(lambda: fbsim.DynamicTree(margin=0.0), id="tree-0"),
]


def _all_three():
    return [fbsim.SpatialHash(), fbsim.SweepAndPrune(1), fbsim.DynamicTree(0.05)]


def random_scene(rng, n, world=30.0, lo_size=0.25, hi_size=1.0, center=0.0):
    c = rng.uniform(center - world / 2, center + world / 2, size=(n, 3))
    h = rng.uniform(lo_size, hi_size, size=(n, 3))
    ids = rng.choice(10 * n + 10, size=n, replace=False).astype(np.int64) - 3 * n
    return ids, c - h, c + h


def scene_point(_rng, n):
    p = np.full((n, 3), 3.25)
    return np.arange(n, dtype=np.int64) * 7, p.copy(), p.copy()


def scene_world_spanning(rng, n):
    ids, lo, hi = random_scene(rng, n)
    lo[:3] = -fbsim.MAX_COORDINATE
    hi[:3] = fbsim.MAX_COORDINATE
    lo[3], hi[3] = [-1e6, -1, -1], [1e6, 1, 1]  # a world-long beam
    return ids, lo, hi


def scene_tiny(rng, n):
    ids, lo, hi = random_scene(rng, n, world=0.01, lo_size=0.0, hi_size=1e-5)
    return ids, lo, hi


def scene_far(rng, n):
    return random_scene(rng, n, world=40.0, center=9.99e4)


def scene_mixed(rng, n):
    ids, lo, hi = random_scene(rng, n, world=200.0, lo_size=0.1, hi_size=3.0)
    lo[:5] = [[-500, -1, -500]] * 5  # baseplates, 1000 studs wide
    hi[:5] = [[500, 0, 500]] * 5
    lo[5:10] = lo[5:10] * 1e-3  # a few tiny ones near the origin
    hi[5:10] = lo[5:10]
    return ids, lo, hi


def scene_grid_touching(_rng, n):
    # Unit cubes on an integer lattice: every neighbour touches exactly (lo == hi on an axis).
    k = round(n ** (1 / 3)) + 1
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    return np.arange(len(g), dtype=np.int64), g.astype(float), g + 1.0


SCENES = {
    "uniform": lambda rng, n: random_scene(rng, n),
    "point": scene_point,
    "world": scene_world_spanning,
    "tiny": scene_tiny,
    "far": scene_far,
    "mixed": scene_mixed,
    "touching": scene_grid_touching,
}


def queries(rng, lo, hi, q=40):
    span_lo, span_hi = lo.min(axis=0), hi.max(axis=0)
    c = rng.uniform(span_lo, span_hi, size=(q, 3))
    h = rng.uniform(0, (span_hi - span_lo).max() / 6 + 1e-3, size=(q, 3))
    # Include degenerate (point) and exact-box queries.
    h[:3] = 0.0
    lim = fbsim.MAX_COORDINATE
    qlo, qhi = np.clip(c - h, -lim, lim), np.clip(c + h, -lim, lim)
    qlo[3:6], qhi[3:6] = lo[:3], hi[:3]
    return qlo, qhi


def check_everything(s, ids, lo, hi, rng):
    assert len(s) == len(ids)
    assert s.check_invariants()
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))
    qlo, qhi = queries(rng, lo, hi)
    for got, ref in zip(
        s.query_aabb(qlo, qhi), brute_query_aabb(ids, lo, hi, qlo, qhi), strict=True
    ):
        np.testing.assert_array_equal(got, ref)
    centers = (qlo + qhi) / 2
    radii = rng.uniform(0, 5, size=len(centers))
    radii[:2] = 0.0
    for got, ref in zip(
        s.query_sphere(centers, radii),
        brute_query_sphere(ids, lo, hi, centers, radii),
        strict=False,
    ):
        np.testing.assert_array_equal(got, ref)
    dirs = rng.normal(size=(len(centers), 3))
    dirs[:3] = [[1, 0, 0], [0, -1, 0], [0, 0, 2]]  # axis-aligned: the zero-component path
    max_t = rng.uniform(0, 60, size=len(centers))
    for got, ref in zip(
        s.raycast(centers, dirs, max_t),
        brute_raycast(ids, lo, hi, centers, dirs, max_t),
        strict=False,
    ):
        np.testing.assert_array_equal(got, ref)
    gid, gt = s.raycast_first(centers, dirs, max_t)
    rid, rt = brute_raycast_first(ids, lo, hi, centers, dirs, max_t)
    np.testing.assert_array_equal(gid, rid)
    np.testing.assert_array_equal(gt, rt)


@pytest.mark.parametrize("make", KINDS)
@pytest.mark.parametrize("scene", list(SCENES))
def test_matches_brute_force(make, scene, rng):
    ids, lo, hi = SCENES[scene](rng, 400)
    s = make()
    s.insert(ids, lo, hi)
    check_everything(s, ids, lo, hi, rng)
    # Move everything a little (and some far), then remove a third: still exact.
    jitter = rng.normal(0, 0.3, size=lo.shape)
    jitter[::17] *= 50
    lo2 = np.clip(lo + jitter, -1e6, 1e6)
    hi2 = np.clip(hi + jitter, -1e6, 1e6)
    s.update(ids, lo2, hi2)
    check_everything(s, ids, lo2, hi2, rng)
    gone = ids[::3]
    s.remove(gone)
    keep = np.ones(len(ids), bool)
    keep[::3] = False
    check_everything(s, ids[keep], lo2[keep], hi2[keep], rng)
    # Reinsert the removed ids (slot reuse) with new boxes.
    s.insert(gone, lo[::3], hi[::3])
    all_lo = np.where(keep[:, None], lo2, lo)
    all_hi = np.where(keep[:, None], hi2, hi)
    check_everything(s, ids, all_lo, all_hi, rng)


@pytest.mark.parametrize("make", KINDS)
@pytest.mark.parametrize("center", [0.0, 1.0, 9.99e4, -9.99e4])
def test_gaps_below_float_precision(make, center, rng):
    # Neighbours on a lattice either touch exactly or miss by one double ulp: float32 cannot
    # tell them apart (its ulp at 1e5 is 0.008), so a float prefilter must defer to the exact
    # test. Offsets on every axis, so each of the three axes decides some pairs.
    k = 6
    g = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    lo = center + g * 0.75
    hi = lo + 0.75
    step = rng.integers(-1, 2, size=hi.shape)  # -1: miss by an ulp, 0: touch, 1: overlap by one
    hi = np.where(
        step < 0, np.nextafter(hi, -np.inf), np.where(step > 0, np.nextafter(hi, np.inf), hi)
    )
    ids = np.arange(len(g), dtype=np.int64) * 3 + 1
    s = make()
    s.insert(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), brute_pairs(ids, lo, hi))
    moved = ids[::4]
    np.testing.assert_array_equal(s.pairs(moved), _involving(brute_pairs(ids, lo, hi), moved))


def _involving(pairs, ids):
    return pairs[np.isin(pairs[:, 0], ids) | np.isin(pairs[:, 1], ids)]


def test_point_scene_is_complete_graph():
    s = fbsim.SpatialHash()
    p = np.zeros((50, 3))
    s.insert(np.arange(50), p, p)
    assert len(s.pairs()) == 50 * 49 // 2


@pytest.mark.parametrize("make", KINDS)
def test_empty(make):
    s = make()
    assert len(s) == 0
    assert s.pairs().shape == (0, 2)
    assert s.pairs().dtype == np.int64
    off, ids = s.query_aabb(np.empty((0, 3)), np.empty((0, 3)))
    assert off.tolist() == [0]
    assert ids.shape == (0,)
    assert ids.dtype == np.int64
    off, ids = s.query_aabb([[0, 0, 0]], [[1, 1, 1]])
    assert off.tolist() == [0, 0]
    gid, gt = s.raycast_first([[0, 0, 0]], [[1, 0, 0]], np.inf)
    assert gid.tolist() == [-1]
    assert np.isinf(gt[0])
    s.insert(np.empty(0, np.int64), np.empty((0, 3)), np.empty((0, 3)))
    s.remove([])
    assert len(s) == 0
    assert s.check_invariants()


def test_aabb_batch_form_and_contains():
    t = fbsim.DynamicTree()
    t.insert([5, 9], [[0, 0, 0, 1, 1, 1], [1, 1, 1, 2, 2, 2]])
    assert 5 in t
    assert 6 not in t
    assert t.pairs().tolist() == [[5, 9]]  # touching at a corner
    _off, ids = t.query_aabb([[2, 2, 2, 3, 3, 3]])
    assert ids.tolist() == [9]


def test_ray_analytic():
    t = fbsim.SweepAndPrune()
    t.insert([1, 2, 3], [[2, -1, -1], [5, -1, -1], [-1, -1, -1]], [[3, 1, 1], [6, 1, 1], [1, 1, 1]])
    gid, gt = t.raycast_first(
        [[0, 0, 0], [10, 0, 0], [0, 5, 0]], [[1, 0, 0], [-2, 0, 0], [1, 0, 0]], 100
    )
    # From inside box 3 (t = 0); from the far side box 2 entered at x = 6; a miss.
    assert gid.tolist() == [3, 2, -1]
    assert gt[:2].tolist() == [0.0, 4.0]
    _, ids = t.raycast([[0, 0, 0]], [[1, 0, 0]], 4.5)
    assert ids.tolist() == [1, 3]
    _off, ids = t.raycast([[0, 0, 0]], [[1, 0, 0]], 2.0)  # just reaches box 1 (x = 2)
    assert ids.tolist() == [1, 3]


def test_layers_and_masks(rng):
    ids, lo, hi = random_scene(rng, 300, world=12)
    layers = rng.choice([1, 2, 4], size=300)
    masks = np.where(layers == 2, 1 | 4, 0xFFFFFFFF)  # "players" (2) ignore other players
    ref = brute_pairs(ids, lo, hi, layers, masks)
    for s in _all_three():
        s.insert(ids, lo, hi, layers=layers, masks=masks)
        np.testing.assert_array_equal(s.pairs(), ref)
        _off, got = s.query_aabb([[-3, -3, -3]], [[3, 3, 3]], mask=2)
        _, every = brute_query_aabb(ids, lo, hi, [[-3, -3, -3]], [[3, 3, 3]])
        np.testing.assert_array_equal(got, every[np.isin(every, ids[layers == 2])])


def test_pairs_involving(rng):
    ids, lo, hi = random_scene(rng, 500)
    full = brute_pairs(ids, lo, hi)
    moved = ids[rng.choice(500, 60, replace=False)]
    ref = full[np.isin(full[:, 0], moved) | np.isin(full[:, 1], moved)]
    for s in _all_three():
        s.insert(ids, lo, hi)
        np.testing.assert_array_equal(s.pairs(moved), ref)
        assert s.pairs([]).shape == (0, 2)


def test_pairs_with_across_kinds(rng):
    ia, la, ha = random_scene(rng, 300)
    ib, lb, hb = random_scene(rng, 200)
    ref = brute_pairs_with(ia, la, ha, ib, lb, hb)
    makers = [fbsim.SpatialHash, fbsim.SweepAndPrune, fbsim.DynamicTree]
    for ma in makers:
        a = ma()
        a.insert(ia, la, ha)
        for mb in makers:
            b = mb()
            b.insert(ib, lb, hb)
            np.testing.assert_array_equal(a.pairs_with(b), ref)
    assert len(a.pairs_with(a)) >= len(ia)  # every box overlaps itself
    with pytest.raises(TypeError, match="other"):
        a.pairs_with(object())


def test_deterministic_order(rng):
    ids, lo, hi = random_scene(rng, 500)
    out = []
    for perm in (np.arange(500), rng.permutation(500)):
        s = fbsim.SpatialHash(cell_size=1.0)
        s.insert(ids[perm], lo[perm], hi[perm])
        out.append((s.pairs(), s.query_aabb(lo[:20], hi[:20])))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1][1], out[1][1][1])


def test_baseplate_occupies_few_cells():
    # A 1000-stud baseplate must not be put into a million fine cells: memory stays small.
    s = fbsim.SpatialHash(cell_size=1.0)
    s.insert([1], [[-500, -1, -500]], [[500, 0, 500]])
    assert s.nbytes < 10_000
    s.insert(np.arange(2, 102), np.zeros((100, 3)), np.ones((100, 3)))
    assert len(s.pairs(np.array([1]))) == 100


def test_memory_per_box_small_scene(rng):
    ids, lo, hi = random_scene(rng, 20_000, world=60)
    for s in _all_three():
        s.insert(ids, lo, hi)
        assert s.nbytes / len(s) < 200, type(s).__name__


@pytest.mark.slow
def test_memory_per_box_built_incrementally_with_random_ids():
    # A server loads its world in batches with ids of its own: every array grows by steps, and
    # the ids go to the hash instead of the direct table. Checked after every batch (the unused
    # capacity peaks right after a step; at 1.5x steps this reached 204 bytes per box).
    rng = np.random.default_rng(3)
    n, batch = 250_000, 1000
    c = rng.uniform(0, 160, size=(n, 3))
    h = rng.uniform(0.25, 1, size=(n, 3))
    ids = rng.permutation(n).astype(np.int64) * 7919 + 12345
    s = fbsim.SpatialHash()
    worst = 0.0
    for a in range(0, n, batch):
        s.insert(
            ids[a : a + batch],
            c[a : a + batch] - h[a : a + batch],
            c[a : a + batch] + h[a : a + batch],
        )
        if len(s) >= 20_000:
            worst = max(worst, s.nbytes / len(s))
    assert worst < 200, worst


@pytest.mark.slow
def test_memory_per_box_million():
    rng = np.random.default_rng(1)
    n = 1_000_000
    c = rng.uniform(-250, 250, size=(n, 3))
    h = rng.uniform(0.25, 1, size=(n, 3))
    for s in _all_three():
        s.insert(np.arange(n), c - h, c + h)
        assert s.nbytes / n < 200, (type(s).__name__, s.nbytes / n)
        del s


def test_concurrent_readers(rng):
    ids, lo, hi = random_scene(rng, 3000, world=50)
    s = fbsim.DynamicTree()
    s.insert(ids, lo, hi)
    qlo, qhi = queries(rng, lo, hi, q=200)
    want = s.query_aabb(qlo, qhi)
    want_pairs = s.pairs()
    errors = []

    def reader():
        for _ in range(5):
            got = s.query_aabb(qlo, qhi)
            if not (np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])):
                errors.append("query")
            if not np.array_equal(s.pairs(), want_pairs):
                errors.append("pairs")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_writer_with_readers_stays_consistent(rng):
    # One writer moving boxes back and forth between two known states, readers meanwhile:
    # every read must see one of the two states, never a torn one, and nothing crashes.
    ids, lo, hi = random_scene(rng, 2000, world=40)
    s = fbsim.SpatialHash()
    s.insert(ids, lo, hi)
    states = [brute_pairs(ids, lo, hi), brute_pairs(ids, lo + 0.5, hi + 0.5)]
    bad = []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            p = s.pairs()
            if not any(np.array_equal(p, st_) for st_ in states):
                bad.append(p)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in readers:
        t.start()
    for k in range(20):
        d = 0.5 * ((k + 1) % 2)
        s.update(ids, lo + d, hi + d)
    stop.set()
    for t in readers:
        t.join()
    assert bad == []


# ---- hypothesis: a churn state machine, three structures + a dict model ---------------------

coord = st.floats(-20, 20, allow_nan=False).map(lambda v: round(v * 4) / 4)  # lattice: touching
size = st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0, 40.0])
box_st = st.tuples(coord, coord, coord, size, size, size)


class Churn(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.model: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.structs = [
            fbsim.SpatialHash(),
            fbsim.SpatialHash(cell_size=0.5),
            fbsim.SweepAndPrune(0),
            fbsim.DynamicTree(0.1),
        ]

    @staticmethod
    def _arrays(boxes):
        b = np.array(boxes, dtype=float).reshape(-1, 6)
        return b[:, :3], b[:, :3] + b[:, 3:]

    @rule(
        new=st.lists(st.tuples(st.integers(-50, 50), box_st), max_size=8, unique_by=lambda t: t[0])
    )
    def insert(self, new):
        fresh = [(i, b) for i, b in new if i not in self.model]
        ids = np.array([i for i, _ in fresh], dtype=np.int64)
        lo, hi = self._arrays([b for _, b in fresh])
        for s in self.structs:
            s.insert(ids, lo, hi)
        for k, i in enumerate(ids):
            self.model[int(i)] = (lo[k], hi[k])

    @rule(data=st.data())
    def update(self, data):
        if not self.model:
            return
        keys = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=8, unique=True))
        boxes = data.draw(st.lists(box_st, min_size=len(keys), max_size=len(keys)))
        lo, hi = self._arrays(boxes)
        for s in self.structs:
            s.update(np.array(keys, dtype=np.int64), lo, hi)
        for k, i in enumerate(keys):
            self.model[i] = (lo[k], hi[k])

    @rule(data=st.data())
    def remove(self, data):
        if not self.model:
            return
        keys = data.draw(st.lists(st.sampled_from(sorted(self.model)), max_size=6, unique=True))
        for s in self.structs:
            s.remove(np.array(keys, dtype=np.int64))
        for i in keys:
            del self.model[i]

    @rule(bad=st.sampled_from(["dup", "unknown", "nan", "inverted"]))
    def rejected_batch_changes_nothing(self, bad):
        before = [s.pairs() for s in self.structs]
        ids = np.array([1000, 1001], dtype=np.int64)
        lo, hi = np.zeros((2, 3)), np.ones((2, 3))
        for s in self.structs:
            with pytest.raises(ValueError, match=r"ids|lo"):  # noqa: PT012
                if bad == "dup":
                    s.insert(np.array([1000, 1000]), lo, hi)
                elif bad == "unknown":
                    s.update(ids, lo, hi)
                elif bad == "nan":
                    s.insert(ids, np.array([[0, 0, 0], [np.nan, 0, 0]]), hi)
                else:
                    s.insert(ids, np.array([[0, 0, 0], [2, 0, 0]]), hi)
        for s, b in zip(self.structs, before, strict=True):
            np.testing.assert_array_equal(s.pairs(), b)

    @invariant()
    def agree_with_brute_force(self):
        ids = np.array(sorted(self.model), dtype=np.int64)
        lo = np.array([self.model[i][0] for i in ids]).reshape(-1, 3)
        hi = np.array([self.model[i][1] for i in ids]).reshape(-1, 3)
        ref = brute_pairs(ids, lo, hi)
        q = np.array([[-5.0, -5, -5, 5, 5, 5], [0, 0, 0, 0, 0, 0]])
        ref_q = brute_query_aabb(ids, lo, hi, q[:, :3], q[:, 3:])
        for s in self.structs:
            assert len(s) == len(ids)
            assert s.check_invariants()
            np.testing.assert_array_equal(s.pairs(), ref)
            got = s.query_aabb(q[:, :3], q[:, 3:])
            np.testing.assert_array_equal(got[1], ref_q[1])


Churn.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
test_churn_state_machine = Churn.TestCase


@settings(max_examples=50, deadline=None)
@given(
    boxes=st.lists(box_st, min_size=1, max_size=40),
    q=box_st,
    r=st.floats(0, 30),
    d=st.tuples(st.integers(-2, 2), st.integers(-2, 2), st.integers(-2, 2)).filter(any),
)
def test_queries_property(boxes, q, r, d):
    b = np.array(boxes, float)
    lo, hi = b[:, :3], b[:, :3] + b[:, 3:]
    ids = np.arange(len(b), dtype=np.int64) * 3 - 7
    qlo, qhi = np.array([q[:3]]), np.array([q[:3]]) + np.array([q[3:]])
    ref_q = brute_query_aabb(ids, lo, hi, qlo, qhi)
    ref_s = brute_query_sphere(ids, lo, hi, qlo, [r])
    ref_r = brute_raycast(ids, lo, hi, qlo, [d], [r])
    for s in _all_three():
        s.insert(ids, lo, hi)
        np.testing.assert_array_equal(s.query_aabb(qlo, qhi)[1], ref_q[1])
        np.testing.assert_array_equal(s.query_sphere(qlo, [r])[1], ref_s[1])
        np.testing.assert_array_equal(s.raycast(qlo, [d], [r])[1], ref_r[1])
