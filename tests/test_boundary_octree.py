# SPDX-License-Identifier: MIT
"""Octree / Quadtree x every kind of bad input (STYLE.md section 5): a TypeError/ValueError
naming the argument, never a crash, and the tree exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

import fbsim

TREES = [pytest.param(fbsim.Octree, 3, id="octree"), pytest.param(fbsim.Quadtree, 2, id="quadtree")]

# Bad values for a float array argument, with the error each must raise.
BAD_VALUES = [
    (
        "nan",
        lambda a: np.where(np.arange(a.size).reshape(a.shape) == a.size - 1, np.nan, a),
        ValueError,
    ),
    ("inf", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a), ValueError),
    ("huge", lambda a: np.full_like(a, 1e300), ValueError),
    ("over_limit", lambda a: np.full_like(a, 1.5e6), ValueError),
    ("none", lambda _a: None, TypeError),
    ("str", lambda a: np.full(a.shape, "x"), TypeError),
    ("complex", lambda a: a.astype(complex), TypeError),
    ("bool", lambda a: a > 0, TypeError),
    ("wrong_ndim", lambda a: a.ravel(), ValueError),
    (
        "wrong_cols",
        lambda a: np.zeros((a.shape[0], a.shape[1] + 1)) if a.ndim == 2 else a[None],
        ValueError,
    ),
]


def snapshot(tree):
    ids = tree.ids().copy()
    return ids, tree.get(ids).copy()


def assert_unchanged(tree, snap):
    np.testing.assert_array_equal(tree.ids(), snap[0])
    np.testing.assert_array_equal(tree.get(snap[0]), snap[1])
    assert tree._tree.check_invariants()


def make(cls, dim, rng):
    return cls(rng.random((40, dim)), ids=np.arange(40) + 100)


def calls(dim):
    """(name, argument name, good arguments) for every array argument of every method."""
    q = np.full((2, dim), 0.5)
    new = np.full((2, dim), 0.25)
    return [
        ("knn", "queries", {"queries": q, "k": 2}),
        ("radius", "queries", {"queries": q, "r": 0.1}),
        ("radius", "r", {"queries": q, "r": np.array([0.1, 0.2])}),
        ("radius_count", "queries", {"queries": q, "r": 0.1}),
        ("query_aabb", "lo", {"lo": q - 0.1, "hi": q + 0.1}),
        ("query_aabb", "hi", {"lo": q - 0.1, "hi": q + 0.1}),
        ("query_aabb_count", "lo", {"lo": q - 0.1, "hi": q + 0.1}),
        ("raycast", "origins", {"origins": q, "directions": np.ones((2, dim))}),
        ("raycast", "directions", {"origins": q, "directions": np.ones((2, dim))}),
        ("insert", "points", {"ids": [1, 2], "items": new}),
        ("move", "points", {"ids": [100, 101], "items": new}),
    ]


@pytest.mark.parametrize(("cls", "dim"), TREES)
@pytest.mark.parametrize(("bad", "mutate", "exc"), BAD_VALUES, ids=[b[0] for b in BAD_VALUES])
def test_every_array_argument_rejects_bad_values(cls, dim, bad, mutate, exc, rng):
    tree = make(cls, dim, rng)
    snap = snapshot(tree)
    for method, arg, good in calls(dim):
        key = "items" if arg == "points" else arg
        if arg == "r" and bad in ("wrong_cols",):
            continue  # r may legitimately be (q,) or a scalar; shape errors are covered below
        kwargs = dict(good)
        kwargs[key] = mutate(np.asarray(good[key], dtype=float))
        if arg == "r" and bad == "wrong_ndim":
            kwargs[key] = np.ones((2, 2))
        if arg == "r" and bad == "over_limit":  # radii may reach MAX_RAY_DISTANCE, not beyond
            kwargs[key] = np.full(2, 2 * fbsim.MAX_RAY_DISTANCE)
        with pytest.raises(exc, match=arg):
            getattr(tree, method)(**kwargs)
        assert_unchanged(tree, snap)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_constructors_reject_bad_input(cls, dim):
    good = np.zeros((3, dim))
    for bad, mutate, exc in BAD_VALUES:
        with pytest.raises(exc, match="points"):
            cls(mutate(good))
        with pytest.raises(exc, match="aabbs"):
            cls.from_aabbs(mutate(np.zeros((3, 2 * dim))))
        del bad
    with pytest.raises(ValueError, match="ids has 2 rows but points has 3"):
        cls(good, ids=[1, 2])
    with pytest.raises(ValueError, match=r"ids\[2\] = 1 appears more than once"):
        cls(good, ids=[1, 2, 1])
    with pytest.raises(TypeError, match="ids"):
        cls(good, ids=[1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="ids"):
        cls(good, ids=["a", "b", "c"])
    inverted = np.zeros((2, 2 * dim))
    inverted[1, dim] = -1.0  # hi_x < lo_x
    with pytest.raises(ValueError, match=r"aabbs\[1\] has hi < lo on axis 0"):
        cls.from_aabbs(inverted)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_knn_rejects_bad_k_and_workers(cls, dim, rng):
    tree = make(cls, dim, rng)
    q = np.zeros((2, dim))
    for k, exc, msg in [
        (0, ValueError, "k must be >= 1"),
        (-3, ValueError, "k must be >= 1"),
        (41, ValueError, r"k = 41 exceeds the number of items \(40\)"),
        (2.0, TypeError, "k must be an int"),
        (None, TypeError, "k must be an int"),
        (True, TypeError, "k must be an int"),
    ]:
        with pytest.raises(exc, match=msg):
            tree.knn(q, k)
    assert tree.knn(q, np.int64(40))[1].shape == (2, 40)  # k == n is fine
    for w, exc in [
        (0, ValueError),
        (-2, ValueError),
        (10**6, ValueError),
        (1.5, TypeError),
        (None, TypeError),
    ]:
        with pytest.raises(exc, match="workers"):
            tree.knn(q, 1, workers=w)
        with pytest.raises(exc, match="workers"):
            tree.radius(q, 0.1, workers=w)
    with pytest.raises(ValueError, match="k = 1 exceeds"):
        cls(np.empty((0, dim))).knn(q, 1)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_scalar_and_per_query_arguments_are_checked(cls, dim, rng):
    tree = make(cls, dim, rng)
    q = np.zeros((2, dim))
    for r, exc in [
        (-0.1, ValueError),
        (np.nan, ValueError),
        (np.inf, ValueError),
        (1e300, ValueError),
        (None, TypeError),
        ("1", TypeError),
    ]:
        with pytest.raises(exc, match="r"):
            tree.radius(q, r)
        with pytest.raises(exc, match="r"):
            tree.radius_count(q, r)
    with pytest.raises(ValueError, match=r"r\[1\] = -1 is negative"):
        tree.radius(q, [0.5, -1.0])
    with pytest.raises(ValueError, match="r has 3 rows but queries has 2"):
        tree.radius(q, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="max_distance"):
        tree.raycast(q, np.ones((2, dim)), max_distance=-1.0)
    with pytest.raises(ValueError, match=r"directions\[1\] has norm below 1e-9"):
        tree.raycast(q, [[1.0] * dim, [0.0] * dim])
    with pytest.raises(ValueError, match=r"directions\[0\] has norm below 1e-9"):
        tree.raycast(q[:1], [[1e-200] * dim])
    with pytest.raises(ValueError, match="directions has 1 rows but origins has 2"):
        tree.raycast(q, np.ones((1, dim)))
    with pytest.raises(ValueError, match=r"hi\[0, 0\] < lo\[0, 0\]"):
        tree.query_aabb(np.ones((1, dim)), np.zeros((1, dim)))
    with pytest.raises(ValueError, match="hi has 1 rows but lo has 2"):
        tree.query_aabb_count(q, np.ones((1, dim)))


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_id_errors_leave_tree_unchanged(cls, dim, rng):
    tree = make(cls, dim, rng)
    snap = snapshot(tree)
    p = np.zeros((2, dim))
    cases = [
        (lambda: tree.insert([1, 1], p), ValueError, r"ids\[1\] = 1 appears more than once"),
        (lambda: tree.insert([1, 100], p), ValueError, r"ids\[1\] = 100 is already in the tree"),
        (lambda: tree.insert([1], p), ValueError, "points has 2 rows but ids has 1"),
        (lambda: tree.insert(None, p), TypeError, "ids"),
        (lambda: tree.insert([1.5, 2.5], p), TypeError, "ids"),
        (lambda: tree.insert([[1, 2]], p), ValueError, "ids"),
        (lambda: tree.insert(np.array([2**64 - 1, 3], dtype=np.uint64), p), ValueError, "ids"),
        (lambda: tree.move([100, 7], p), ValueError, r"ids\[1\] = 7 is not in the tree"),
        (lambda: tree.move([100, 100], p), ValueError, r"ids\[1\] = 100 appears more than once"),
        (lambda: tree.remove([100, 101, 5]), ValueError, r"ids\[2\] = 5 is not in the tree"),
        (
            lambda: tree.remove([100, 101, 100]),
            ValueError,
            r"ids\[2\] = 100 appears more than once",
        ),
        (lambda: tree.remove(["a"]), TypeError, "ids"),
        (lambda: tree.get([100, -4]), ValueError, r"ids\[1\] = -4 is not in the tree"),
    ]
    for call, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            call()
        assert_unchanged(tree, snap)
    assert 100 in tree
    assert 7 not in tree
    assert "x" not in tree
    assert 2**70 not in tree


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_box_tree_updates_reject_inverted_boxes(cls, dim):
    tree = cls.from_aabbs(np.hstack([np.zeros((3, dim)), np.ones((3, dim))]))
    snap = snapshot(tree)
    bad = np.hstack([np.zeros((2, dim)), np.ones((2, dim))])
    bad[1, dim + dim - 1] = -1.0
    with pytest.raises(ValueError, match=rf"aabbs\[1\] has hi < lo on axis {dim - 1}"):
        tree.insert([10, 11], bad)
    with pytest.raises(ValueError, match=r"aabbs\[1\] has hi < lo"):
        tree.move([0, 1], bad)
    with pytest.raises(ValueError, match="aabbs must have shape"):
        tree.insert([10], np.zeros((1, dim)))  # points into a box tree
    assert_unchanged(tree, snap)


@pytest.mark.parametrize(("cls", "dim"), TREES)
def test_empty_inputs_give_empty_outputs(cls, dim, rng):
    tree = make(cls, dim, rng)
    e = np.empty((0, dim))
    d, i = tree.knn(e, 3)
    assert d.shape == (0, 3)
    assert i.dtype == np.int64
    o, i = tree.radius(e, 1.0)
    assert o.tolist() == [0]
    assert i.shape == (0,)
    assert tree.radius_count(e, np.empty(0)).dtype == np.int64
    o, i = tree.query_aabb(e, e)
    assert o.tolist() == [0]
    t, i = tree.raycast(e, e)
    assert t.shape == i.shape == (0,)
    snap = snapshot(tree)
    tree.insert(np.empty(0, dtype=np.int64), e)
    tree.move(np.empty(0, dtype=np.int64), e)
    tree.remove(np.empty(0, dtype=np.int64))
    assert_unchanged(tree, snap)
    assert cls(e).ids().shape == (0,)
