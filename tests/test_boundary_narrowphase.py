# SPDX-License-Identifier: MIT
"""Bad input for the narrow-phase API (fbsim.collision and its _core bindings): every case
raises TypeError/ValueError naming the argument, never crashes; empty in, empty out."""

from __future__ import annotations

import numpy as np
import pytest

import fbsim
from fbsim import _core

I4 = [0.0, 0.0, 0.0, 1.0]
BOX = fbsim.Boxes([[0, 0, 0], [3, 0, 0]], [I4, I4], [[1, 1, 1], [1, 1, 1]])
SPHERES = fbsim.Spheres([[0, 0, 0], [0, 5, 0]], [1.0, 1.0])
ORIGINS = np.array([[-5.0, 0, 0], [-5.0, 0, 0]])
DIRS = np.array([[1.0, 0, 0], [1.0, 0, 0]])
PAIR_FUNCS = [fbsim.overlap, fbsim.distance, fbsim.penetration]


def _bad_arrays(value):
    """(label, replacement, exception) for one float array argument with 2 rows."""
    value = np.asarray(value, dtype=float)
    for label, bad in [("nan", np.nan), ("inf", np.inf), ("huge", 1e300)]:
        v = value.copy()
        v.reshape(-1)[-1] = bad
        yield label, v, ValueError
    yield "none", None, TypeError
    yield "strings", value.astype(str), TypeError
    yield "complex", value.astype(complex), TypeError
    yield "extra_dim", value[None], ValueError
    yield "mismatched_rows", np.concatenate([value, value]), ValueError


@pytest.mark.parametrize("func", PAIR_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("arg", ["a", "b"])
@pytest.mark.parametrize("bad", [None, "boxes", np.zeros((2, 3)), [BOX]])
def test_pair_queries_reject_non_shapes(func, arg, bad):
    kwargs = {"a": BOX, "b": SPHERES, arg: bad}
    with pytest.raises(TypeError, match=rf"^{arg} must be"):
        func(**kwargs)


@pytest.mark.parametrize("func", PAIR_FUNCS, ids=lambda f: f.__name__)
def test_pair_queries_reject_mismatched_lengths(func):
    three = fbsim.Spheres(np.zeros((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="b has 3 shapes but a has 2"):
        func(BOX, three)


@pytest.mark.parametrize("tol", [-1e-9, np.nan, np.inf, 2e6])
def test_overlap_rejects_bad_tol(tol):
    with pytest.raises(ValueError, match="tol"):
        fbsim.overlap(BOX, SPHERES, tol=tol)


@pytest.mark.parametrize("tol", [None, "0.1", [0.1]])
def test_overlap_rejects_non_number_tol(tol):
    with pytest.raises((TypeError, ValueError), match="tol"):
        fbsim.overlap(BOX, SPHERES, tol=tol)


def _empty(kind):
    if kind == "box":
        return fbsim.Boxes(np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, 3)))
    if kind == "sphere":
        return fbsim.Spheres(np.zeros((0, 3)), np.zeros(0))
    if kind == "capsule":
        return fbsim.Capsules(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
    return fbsim.Hulls([])


@pytest.mark.parametrize("kind", ["box", "sphere", "capsule", "hull"])
def test_empty_batches_give_empty_results(kind):
    e = _empty(kind)
    one = fbsim.Spheres([[0, 0, 0]], [1.0])
    for a, b in [(e, e), (e, one), (one, e)]:
        ov = fbsim.overlap(a, b)
        assert ov.shape == (0,)
        assert ov.dtype == np.bool_
        d, pa, pb = fbsim.distance(a, b)
        assert d.shape == (0,)
        assert pa.shape == pb.shape == (0, 3)
        depth, normal = fbsim.penetration(a, b)
        assert depth.shape == (0,)
        assert normal.shape == (0, 3)
    t, n = fbsim.raycast(e, np.zeros((0, 3)), np.zeros((0, 3)), 1.0)
    assert t.shape == (0,)
    assert n.shape == (0, 3)
    toi, n = fbsim.shapecast(one, np.zeros((0, 3)), e)
    assert toi.shape == (0,)
    assert n.shape == (0, 3)


@pytest.mark.parametrize("arg", ["origins", "dirs"])
def test_raycast_rejects_bad_rays(arg):
    for label, bad, exc in _bad_arrays(ORIGINS if arg == "origins" else DIRS):
        kwargs = {"shapes": BOX, "origins": ORIGINS, "dirs": DIRS, "max_t": 10.0, arg: bad}
        with pytest.raises(exc, match=arg):
            fbsim.raycast(**kwargs)
        del label


def test_raycast_rejects_zero_direction_and_bad_max_t():
    dirs = DIRS.copy()
    dirs[1] = 0.0
    with pytest.raises(ValueError, match=r"dirs\[1\] is zero"):
        fbsim.raycast(BOX, ORIGINS, dirs, 10.0)
    for bad in [-1.0, np.nan, np.inf, [1.0, -2.0], [1.0, 2.0, 3.0], None]:
        with pytest.raises((ValueError, TypeError), match="max_t"):
            fbsim.raycast(BOX, ORIGINS, DIRS, bad)
    with pytest.raises(ValueError, match="shapes has 2 shapes but origins has 3"):
        fbsim.raycast(BOX, np.zeros((3, 3)), np.ones((3, 3)), 1.0)
    with pytest.raises(TypeError, match=r"^shapes must be"):
        fbsim.raycast(None, ORIGINS, DIRS, 1.0)


def test_shapecast_rejects_bad_displacement_and_shapes():
    for label, bad, exc in _bad_arrays([[1.0, 0, 0], [1.0, 0, 0]]):
        if label == "mismatched_rows":
            continue
        with pytest.raises(exc, match="displacement"):
            fbsim.shapecast(SPHERES, bad, BOX)
    with pytest.raises(ValueError, match="displacement has 3 rows but there are 2 pairs"):
        fbsim.shapecast(SPHERES, np.ones((3, 3)), BOX)
    with pytest.raises(TypeError, match=r"^moving must be"):
        fbsim.shapecast("sphere", [[1, 0, 0]], BOX)
    with pytest.raises(TypeError, match=r"^targets must be"):
        fbsim.shapecast(SPHERES, [[1, 0, 0]], 3)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (("box", [[0, 0, np.nan]], [I4], [[1, 1, 1]]), r"a\.centers\[0, 2\] is nan"),
        (("box", [[0, 0, 0]], [[0, 0, 0, 0]], [[1, 1, 1]]), r"a\.quats\[0\] has norm"),
        (("box", [[0, 0, 0]], [I4], [[1, -1, 1]]), r"a\.half_extents\[0, 1\].*negative"),
        (("box", [[0, 0, 0]], [I4, I4], [[1, 1, 1]]), r"a\.quats has 2 rows"),
        (("box", [[0, 0, 0]], [I4]), r"a: a 'box' batch has 3 arrays"),
        (("sphere", [[0, 0, 2e6]], [1.0]), r"a\.centers\[0, 2\]"),
        (("sphere", [[0, 0, 0]], [-1.0]), r"a\.radii\[0\].*negative"),
        (("capsule", [[0, 0, 0]], [[0, np.inf, 0]], [1.0]), r"a\.p1\[0, 1\]"),
        (("hull", np.zeros((3, 3)), [1, 3]), r"a\.offsets\[0\] must be 0"),
        (("hull", np.zeros((3, 3)), [0, 3, 3]), r"a\.offsets\[2\].*empty"),
        (("hull", np.zeros((3, 3)), [0, 2]), r"a\.offsets\[-1\] = 2"),
        (("hull", np.zeros((3, 3)), [0.0, 3.0]), r"a\.offsets must be integers"),
        (("cone", [[0, 0, 0]], [1.0]), r"unknown shape kind 'cone'"),
    ],
)
def test_core_rejects_bad_shape_tuples(spec, match):
    good = ("sphere", [[0.0, 0, 0]], [1.0])
    with pytest.raises((ValueError, TypeError), match=match):
        _core.overlap(spec, good)
    with pytest.raises((ValueError, TypeError), match=match):
        _core.distance(spec, good)


@pytest.mark.parametrize("spec", [None, (), ("box",), [("box",)], ("box", 1, 2, 3), (1, 2, 3)])
def test_core_rejects_malformed_specs_without_crashing(spec):
    with pytest.raises((TypeError, ValueError)):
        _core.penetration(spec, ("sphere", [[0.0, 0, 0]], [1.0]))


def test_core_rejects_bad_max_iterations():
    good = ("sphere", [[0.0, 0, 0]], [1.0])
    for bad in [0, -1, 10**6]:
        with pytest.raises(ValueError, match="max_iterations"):
            _core.distance(good, good, max_iterations=bad)


def test_inputs_unchanged_by_queries():
    c = BOX.centers.copy()
    fbsim.penetration(BOX, SPHERES)
    fbsim.raycast(BOX, ORIGINS, DIRS, 10.0)
    np.testing.assert_array_equal(BOX.centers, c)


def test_empty_against_many_is_a_length_error():
    empty = fbsim.Spheres(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="b has 2 shapes but a has 0"):
        fbsim.overlap(empty, BOX)
    with pytest.raises(ValueError, match="b has 0 shapes but a has 2"):
        fbsim.distance(BOX, empty)
