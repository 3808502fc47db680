# SPDX-License-Identifier: MIT
"""fbsim.Octree / fbsim.Quadtree against scipy's cKDTree and brute force (oracles_octree)."""

from __future__ import annotations

import threading

import numpy as np
import oracles_octree as ref
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)
from scipy.spatial import cKDTree

import fbsim

TREES = [pytest.param(fbsim.Octree, 3, id="octree"), pytest.param(fbsim.Quadtree, 2, id="quadtree")]


def datasets(rng, dim, n=3000):
    """Uniform, clustered and the two degenerate layouts the issue names."""
    uniform = rng.random((n, dim))
    centres = rng.random((8, dim)) * 100
    clustered = centres[rng.integers(0, 8, n)] + rng.normal(scale=0.05, size=(n, dim))
    equal = np.full((200, dim), 3.25)
    plane = rng.random((n, dim)) * 10
    plane[:, -1] = 2.0  # all on one axis-aligned plane
    return {"uniform": uniform, "clustered": clustered, "equal": equal, "plane": plane}


def csr_lists(offsets, ids):
    return [ids[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]


def assert_knn_matches_ckdtree(dist, ids, points, queries, k):
    """Distances equal to cKDTree's (to the last bits); ids equal wherever no tie decides."""
    kd_d, kd_i = cKDTree(points).query(queries, k)
    kd_d, kd_i = kd_d.reshape(dist.shape), kd_i.reshape(ids.shape)
    np.testing.assert_allclose(dist, kd_d, rtol=1e-13, atol=0)
    gaps = np.diff(kd_d, axis=1)
    untied = np.ones_like(ids, dtype=bool)
    untied[:, 1:] &= gaps > 1e-12
    untied[:, :-1] &= gaps > 1e-12
    np.testing.assert_array_equal(ids[untied], kd_i[untied])


# ---------------------------------------------------------------------------- static queries
@pytest.mark.parametrize(("cls", "dim"), TREES)
@pytest.mark.parametrize("layout", ["uniform", "clustered", "equal", "plane"])
def test_knn_matches_ckdtree_and_brute_force(cls, dim, layout, rng):
    pts = datasets(rng, dim)[layout]
    queries = np.concatenate([rng.random((150, dim)) * pts.max(), pts[:50]])
    tree = cls(pts)
    for k in (1, 8, 40):
        dist, ids = tree.knn(queries, k)
        assert dist.shape == ids.shape == (len(queries), k)
        assert ids.dtype == np.int64
        assert_knn_matches_ckdtree(dist, ids, pts, queries, k)
        # Brute force decides ties: the first k in (distance, id) order, bit for bit.
        bd, bi = ref.knn(pts, np.arange(len(pts)), queries, k, dim)
        np.testing.assert_array_equal(dist, bd)
        np.testing.assert_array_equal(ids, bi)


@pytest.mark.parametrize(("cls", "dim"), TREES)
@pytest.mark.parametrize("layout", ["uniform", "clustered", "equal", "plane"])
def test_radius_matches_ckdtree(cls, dim, layout, rng):
    pts = datasets(rng, dim)[layout]
    queries = np.concatenate([rng.random((150, dim)) * pts.max(), pts[:50]])
    tree = cls(pts)
    kd = cKDTree(pts)
    for r in (0.0, 0.05, 0.3, 2.0):
        offsets, ids = tree.radius(queries, r)
        assert offsets.dtype == ids.dtype == np.int64
        assert offsets[0] == 0
        assert offsets[-1] == len(ids)
        got = csr_lists(offsets, ids)
        want = kd.query_ball_point(queries, r)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, np.sort(w))
        np.testing.assert_array_equal(tree.radius_count(queries, r), np.diff(offsets))


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_radius_per_query_radii_match_brute_force(cls, dim, rng):
    pts = rng.random((2000, dim))
    queries = rng.random((100, dim))
    r = rng.random(100) * 0.2
    tree = cls(pts, ids=np.arange(2000) * 3 + 7)
    got = csr_lists(*tree.radius(queries, r))
    want = ref.radius(pts, np.arange(2000) * 3 + 7, queries, r, dim)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_query_aabb_matches_brute_force(cls, dim, rng):
    pts = rng.random((3000, dim))
    lo = rng.random((200, dim)) * 0.9
    hi = lo + rng.random((200, dim)) * 0.3
    lo[0], hi[0] = -1, 2  # contains everything
    tree = cls(pts)
    offsets, ids = tree.query_aabb(lo, hi)
    for g, w in zip(
        csr_lists(offsets, ids), ref.query_aabb(pts, np.arange(3000), lo, hi, dim), strict=True
    ):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(tree.query_aabb_count(lo, hi), np.diff(offsets))


def random_boxes(rng, n, dim, world=20.0):
    lo = rng.random((n, dim)) * world
    size = rng.random((n, dim)) ** 3 * world * 0.3  # mostly small, a few large
    return np.hstack([lo, lo + size])


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_boxes_all_queries_match_brute_force(cls, dim, rng):
    boxes = random_boxes(rng, 1500, dim)
    boxes[:5, :dim], boxes[:5, dim:] = 0.0, 20.0  # huge boxes stay high in the tree
    ids = rng.permutation(10_000)[:1500].astype(np.int64)
    tree = cls.from_aabbs(boxes, ids)
    assert tree.boxes
    queries = rng.random((120, dim)) * 24 - 2
    for k in (1, 10):
        d, i = tree.knn(queries, k)
        bd, bi = ref.knn(boxes, ids, queries, k, dim)
        np.testing.assert_array_equal(d, bd)
        np.testing.assert_array_equal(i, bi)
    got = csr_lists(*tree.radius(queries, 0.7))
    for g, w in zip(got, ref.radius(boxes, ids, queries, 0.7, dim), strict=True):
        np.testing.assert_array_equal(g, w)
    lo = queries
    hi = queries + 1.5
    got = csr_lists(*tree.query_aabb(lo, hi))
    for g, w in zip(got, ref.query_aabb(boxes, ids, lo, hi, dim), strict=True):
        np.testing.assert_array_equal(g, w)


def assert_rays_match(tree, items, ids, origins, dirs, max_distance, dim):
    t, hit = tree.raycast(origins, dirs, max_distance)
    entry = ref.ray_entry(items, origins, dirs, max_distance, dim)
    best = entry.min(axis=1)
    miss = ~np.isfinite(best)
    np.testing.assert_array_equal(hit[miss], -1)
    assert np.all(np.isinf(t[miss]))
    np.testing.assert_allclose(t[~miss], best[~miss], rtol=1e-9, atol=1e-9)
    for j in np.flatnonzero(~miss):
        near = ids[entry[j] <= best[j] + 1e-9]
        assert hit[j] in near
        if len(near) == 1:
            assert hit[j] == near[0]
    return t, hit


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_raycast_first_hit_matches_brute_force(cls, dim, rng):
    boxes = random_boxes(rng, 800, dim)
    ids = np.arange(800, dtype=np.int64) + 100
    tree = cls.from_aabbs(boxes, ids)
    origins = rng.random((300, dim)) * 30 - 5
    dirs = rng.normal(size=(300, dim))
    dirs[:20, 1:] = 0.0  # axis-parallel rays exercise the parallel-slab case
    assert_rays_match(tree, boxes, ids, origins, dirs, 1e7, dim)
    assert_rays_match(tree, boxes, ids, origins, dirs, rng.random(300) * 5, dim)


def test_raycast_analytic_cases():
    tree = fbsim.Octree.from_aabbs(
        [[0, 0, 0, 1, 1, 1], [3, 0, 0, 4, 1, 1], [3, 0, 0, 4, 1, 1]], ids=[5, 9, 2]
    )
    t, ids = tree.raycast(
        [[-2, 0.5, 0.5], [0.5, 0.5, 0.5], [2, 0.5, 0.5], [-2, 5, 0.5], [-2, 0.5, 0.5]],
        [[1, 0, 0], [1, 0, 0], [2, 0, 0], [1, 0, 0], [1, 0, 0]],
        max_distance=[10, 10, 10, 10, 1.5],
    )
    np.testing.assert_array_equal(t, [2.0, 0.0, 1.0, np.inf, np.inf])
    np.testing.assert_array_equal(ids, [5, 5, 2, -1, -1])  # equal boxes 9 and 2: smaller id


def test_knn_ties_break_by_id():
    pts = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 5]])
    tree = fbsim.Octree(pts, ids=[40, 10, 30, 20, 0])
    d, i = tree.knn([[0.0, 0, 0]], 3)
    np.testing.assert_array_equal(d, [[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(i, [[10, 20, 30]])


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_results_do_not_depend_on_workers(cls, dim, rng):
    pts = rng.random((5000, dim))
    q = rng.random((1000, dim))
    tree = cls(pts)
    base = [
        tree.knn(q, 5),
        tree.radius(q, 0.05),
        tree.radius_count(q, 0.05),
        tree.query_aabb(q, q + 0.1),
        tree.raycast(q, q - 0.5),
    ]
    for w in (2, 3, -1):
        other = [
            tree.knn(q, 5, workers=w),
            tree.radius(q, 0.05, workers=w),
            tree.radius_count(q, 0.05, workers=w),
            tree.query_aabb(q, q + 0.1, workers=w),
            tree.raycast(q, q - 0.5, workers=w),
        ]
        for a, b in zip(base, other, strict=True):
            for x, y in zip(
                a if isinstance(a, tuple) else (a,),
                b if isinstance(b, tuple) else (b,),
                strict=True,
            ):
                np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_empty_tree_and_empty_queries(cls, dim):
    tree = cls(np.empty((0, dim)))
    assert len(tree) == 0
    offsets, ids = tree.radius(np.zeros((3, dim)), 1.0)
    np.testing.assert_array_equal(offsets, [0, 0, 0, 0])
    assert ids.shape == (0,)
    assert ids.dtype == np.int64
    _t, hit = tree.raycast(np.zeros((2, dim)), np.ones((2, dim)))
    np.testing.assert_array_equal(hit, [-1, -1])
    tree.insert([4], np.ones((1, dim)))
    d, i = tree.knn(np.empty((0, dim)), 1)
    assert d.shape == (0, 1)
    assert i.shape == (0, 1)
    assert i.dtype == np.int64
    o, i = tree.query_aabb(np.empty((0, dim)), np.empty((0, dim)))
    assert o.tolist() == [0]
    assert i.shape == (0,)
    assert tree.radius_count(np.empty((0, dim)), 1.0).shape == (0,)
    assert tree.raycast(np.empty((0, dim)), np.empty((0, dim)))[0].shape == (0,)


# ---------------------------------------------------------------------------- updates
@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_updates_match_rebuild(cls, dim, rng):
    n = 4000
    pts = rng.random((n, dim))
    tree = cls(pts)
    model = dict(enumerate(pts))
    next_id = n
    for _ in range(30):
        # Move 10% (some far away, which regrows the root), remove some, insert some.
        ids = rng.choice(np.fromiter(model, np.int64), size=len(model) // 10, replace=False)
        new = rng.random((len(ids), dim)) + rng.normal(scale=0.01, size=(len(ids), dim))
        new[:3] *= 500.0
        tree.move(ids, new)
        model.update(zip(ids.tolist(), new, strict=True))
        gone = rng.choice(np.fromiter(model, np.int64), size=50, replace=False)
        tree.remove(gone)
        for g in gone.tolist():
            del model[g]
        add = np.arange(next_id, next_id + 60)
        next_id += 60
        fresh = rng.random((60, dim))
        tree.insert(add, fresh)
        model.update(zip(add.tolist(), fresh, strict=True))
    assert tree._tree.check_invariants()
    ids = np.fromiter(model, np.int64)
    items = np.array([model[i] for i in ids.tolist()])
    np.testing.assert_array_equal(tree.ids(), np.sort(ids))
    np.testing.assert_array_equal(tree.get(ids), items)
    q = rng.random((200, dim))
    d, i = tree.knn(q, 8)
    bd, bi = ref.knn(items, ids, q, 8, dim)
    np.testing.assert_array_equal(d, bd)
    np.testing.assert_array_equal(i, bi)
    for g, w in zip(
        csr_lists(*tree.radius(q, 0.05)), ref.radius(items, ids, q, 0.05, dim), strict=True
    ):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_remove_everything_then_reuse(cls, dim, rng):
    pts = rng.random((500, dim))
    tree = cls(pts)
    tree.remove(np.arange(500))
    assert len(tree) == 0
    assert tree._tree.check_invariants()
    tree.insert([7, 8], [[1e5] * dim, [-1e5] * dim])
    _d, i = tree.knn([[0.0] * dim], 2)
    np.testing.assert_array_equal(i, [[7, 8]])
    assert tree._tree.check_invariants()


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_failed_batches_leave_tree_unchanged(cls, dim, rng):
    pts = rng.random((300, dim))
    tree = cls(pts)
    before = (tree.ids().copy(), tree.get(np.arange(300)).copy())
    good = rng.random((3, dim))
    bad_rows = good.copy()
    bad_rows[2, 0] = np.nan
    attempts = [
        lambda: tree.insert([1000, 1001, 5], good),  # 5 exists (last row)
        lambda: tree.insert([1000, 1001, 1000], good),  # duplicate in batch
        lambda: tree.insert([1000, 1001, 1002], bad_rows),
        lambda: tree.move([1, 2, 99999], good),  # unknown id last
        lambda: tree.move([1, 2, 1], good),
        lambda: tree.move([1, 2, 3], bad_rows),
        lambda: tree.move([1, 2, 3], good[:2]),
        lambda: tree.remove([1, 2, 99999]),
        lambda: tree.remove([1, 2, 1]),
        lambda: tree.remove([1.0]),
    ]
    for attempt in attempts:
        with pytest.raises((ValueError, TypeError)):
            attempt()
        np.testing.assert_array_equal(tree.ids(), before[0])
        np.testing.assert_array_equal(tree.get(np.arange(300)), before[1])
        assert tree._tree.check_invariants()


def test_error_messages_name_the_argument_and_row():
    tree = fbsim.Octree(np.zeros((3, 3)), ids=[1, 2, 3])
    with pytest.raises(ValueError, match=r"ids\[2\] = 99 is not in the tree"):
        tree.remove([1, 2, 99])
    with pytest.raises(ValueError, match=r"ids\[1\] = 1 appears more than once"):
        tree.remove([1, 1])
    with pytest.raises(ValueError, match=r"ids\[0\] = 3 is already in the tree"):
        tree.insert([3], [[0, 0, 0]])
    with pytest.raises(ValueError, match=r"points\[1, 2\] is nan"):
        tree.move([1, 2], [[0, 0, 0], [0, 0, np.nan]])
    with pytest.raises(ValueError, match=r"aabbs\[1\] has hi < lo on axis 1"):
        fbsim.Octree.from_aabbs([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, -1, 1]])


class TreeMachine(RuleBasedStateMachine):
    """Long random update sequences: the tree must always agree with a dict and brute force."""

    ids = Bundle("ids")
    coord = st.floats(-50, 50, allow_nan=False, width=32) | st.sampled_from([0.0, 1.0, 1e5])

    def __init__(self):
        super().__init__()
        self.tree = fbsim.Octree(np.empty((0, 3)))
        self.model: dict[int, np.ndarray] = {}
        self.next = 0

    @rule(target=ids, p=st.tuples(coord, coord, coord))
    def insert(self, p):
        i = self.next
        self.next += 1
        self.tree.insert([i], [p])
        self.model[i] = np.array(p, dtype=float)
        return i

    @rule(i=ids, p=st.tuples(coord, coord, coord))
    def move(self, i, p):
        if i in self.model:
            self.tree.move([i], [p])
            self.model[i] = np.array(p, dtype=float)
        else:
            with pytest.raises(ValueError, match="not in the tree"):
                self.tree.move([i], [p])

    @rule(i=consumes(ids))
    def remove(self, i):
        self.tree.remove([i])
        del self.model[i]

    @invariant()
    def agrees(self):
        assert self.tree._tree.check_invariants()
        assert len(self.tree) == len(self.model)
        if not self.model:
            return
        ids = np.fromiter(self.model, np.int64)
        items = np.array([self.model[i] for i in ids.tolist()])
        q = np.array([[0.0, 0.0, 0.0], [10.0, -3.0, 7.0]])
        k = min(3, len(ids))
        d, got = self.tree.knn(q, k)
        bd, want = ref.knn(items, ids, q, k, 3)
        np.testing.assert_array_equal(d, bd)
        np.testing.assert_array_equal(got, want)
        for g, w in zip(
            csr_lists(*self.tree.radius(q, 20.0)), ref.radius(items, ids, q, 20.0, 3), strict=True
        ):
            np.testing.assert_array_equal(g, w)


TreeMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=60, deadline=None)
test_tree_state_machine = TreeMachine.TestCase


class BoxQuadtreeMachine(RuleBasedStateMachine):
    """The same for a quadtree of boxes, with sizes from points to larger than the world."""

    ids = Bundle("ids")
    box = st.tuples(
        st.floats(-50, 50, allow_nan=False, width=32),
        st.floats(-50, 50, allow_nan=False, width=32),
        st.floats(0, 30, allow_nan=False, width=32) | st.just(0.0) | st.just(500.0),
        st.floats(0, 30, allow_nan=False, width=32),
    )

    def __init__(self):
        super().__init__()
        self.tree = fbsim.Quadtree.from_aabbs(np.empty((0, 4)))
        self.model: dict[int, np.ndarray] = {}
        self.next = 0

    @staticmethod
    def row(b):
        x, y, w, h = b
        return np.array([x, y, x + w, y + h], dtype=float)

    @rule(target=ids, b=box)
    def insert(self, b):
        i = self.next
        self.next += 1
        self.tree.insert([i], [self.row(b)])
        self.model[i] = self.row(b)
        return i

    @rule(i=ids, b=box)
    def move(self, i, b):
        if i in self.model:
            self.tree.move([i], [self.row(b)])
            self.model[i] = self.row(b)

    @rule(i=consumes(ids))
    def remove(self, i):
        self.tree.remove([i])
        del self.model[i]

    @invariant()
    def agrees(self):
        assert self.tree._tree.check_invariants()
        if not self.model:
            return
        ids = np.fromiter(self.model, np.int64)
        items = np.array([self.model[i] for i in ids.tolist()])
        q = np.array([[0.0, 0.0], [25.0, -30.0]])
        k = min(4, len(ids))
        d, got = self.tree.knn(q, k)
        bd, want = ref.knn(items, ids, q, k, 2)
        np.testing.assert_array_equal(d, bd)
        np.testing.assert_array_equal(got, want)
        lo, hi = q - 10, q + 10
        for g, w in zip(
            csr_lists(*self.tree.query_aabb(lo, hi)),
            ref.query_aabb(items, ids, lo, hi, 2),
            strict=True,
        ):
            np.testing.assert_array_equal(g, w)


BoxQuadtreeMachine.TestCase.settings = settings(
    max_examples=30, stateful_step_count=50, deadline=None
)
test_box_quadtree_state_machine = BoxQuadtreeMachine.TestCase


@given(
    st.lists(st.tuples(st.integers(-3, 3), st.integers(-3, 3)), min_size=1, max_size=60),
    st.integers(1, 5),
)
@settings(max_examples=60, deadline=None)
def test_quadtree_knn_on_grid_ties_property(cells, k):
    # Integer grids make many exact ties: the (distance, id) order must still be exact.
    pts = np.array(cells, dtype=float) * 0.5
    k = min(k, len(pts))
    tree = fbsim.Quadtree(pts)
    q = np.array([[0.0, 0.0], [0.25, 0.25], [1.0, -0.5]])
    d, i = tree.knn(q, k)
    bd, bi = ref.knn(pts, np.arange(len(pts)), q, k, 2)
    np.testing.assert_array_equal(d, bd)
    np.testing.assert_array_equal(i, bi)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_knn_exact_ties_across_many_nodes(cls, dim, rng):
    # An integer lattice big enough to split into many nodes: equal distances straddle node
    # boundaries, so pruning must keep equal-distance nodes that may hold smaller ids.
    side = 20 if dim == 3 else 90
    grid = np.stack(np.meshgrid(*[np.arange(side)] * dim, indexing="ij"), -1).reshape(-1, dim)
    pts = grid.astype(float)
    ids = rng.permutation(len(pts)).astype(np.int64)
    tree = cls(pts, ids=ids)
    q = np.concatenate([rng.integers(0, side, (60, dim)) + 0.5, rng.integers(0, side, (60, dim))])
    for k in (1, 6, 27):
        d, i = tree.knn(q, k)
        bd, bi = ref.knn(pts, ids, q, k, dim)
        np.testing.assert_array_equal(d, bd)
        np.testing.assert_array_equal(i, bi)
    _, hit = tree.raycast(q, np.tile(np.eye(dim)[0], (len(q), 1)))
    entry = ref.ray_entry(pts, q, np.tile(np.eye(dim)[0], (len(q), 1)), 1e7, dim)
    best = entry.min(axis=1)
    for j in range(len(q)):
        tied = ids[entry[j] == best[j]] if np.isfinite(best[j]) else np.array([-1])
        assert hit[j] == tied.min()


def test_concurrent_readers_and_a_writer_do_not_crash(rng):
    tree = fbsim.Octree(rng.random((20000, 3)))
    q = rng.random((2000, 3))
    errors = []

    def reader():
        try:
            for _ in range(10):
                d, _i = tree.knn(q, 4, workers=2)
                assert np.all(np.diff(d, axis=1) >= 0)
                tree.radius(q, 0.02)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def writer():
        try:
            wrng = np.random.default_rng(1)
            for _ in range(20):
                ids = wrng.choice(20000, 2000, replace=False)
                tree.move(ids, wrng.random((2000, 3)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)] + [
        threading.Thread(target=writer)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert tree._tree.check_invariants()


@pytest.mark.slow
@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_large_uniform_knn_and_radius_match_ckdtree(cls, dim, rng):
    pts = rng.random((200_000, dim))
    q = rng.random((5000, dim))
    tree = cls(pts)
    d, i = tree.knn(q, 8, workers=2)
    assert_knn_matches_ckdtree(d, i, pts, q, 8)
    r = 0.01 if dim == 3 else 0.004
    got = csr_lists(*tree.radius(q, r))
    for g, w in zip(got, cKDTree(pts).query_ball_point(q, r), strict=True):
        np.testing.assert_array_equal(g, np.sort(w))
