# SPDX-License-Identifier: MIT
"""Bad input for every broad-phase method: a TypeError/ValueError naming the argument, never a
crash, and the structure unchanged afterwards (same length, same pairs, invariants hold)."""

from __future__ import annotations

import numpy as np
import pytest

import fbsim

MAKERS = [
    pytest.param(fbsim.SpatialHash, id="hash"),
    pytest.param(fbsim.SweepAndPrune, id="sap"),
    pytest.param(fbsim.DynamicTree, id="tree"),
]

BOX = np.array([[0.0, 0, 0], [1, 1, 1]])
BOXH = BOX + 1.0

# (description, replacement value, exception, text the message must contain)
BAD_ROWS = [
    ("none", None, TypeError, "None"),
    ("strings", [["a", "b", "c"]] * 2, TypeError, ""),
    ("complex", np.ones((2, 3), complex), TypeError, ""),
    ("bool", np.ones((2, 3), bool), TypeError, ""),
    ("1d", np.ones(6), ValueError, "shape"),
    ("3d", np.ones((2, 3, 1)), ValueError, "shape"),
    ("cols", np.ones((2, 4)), ValueError, "shape"),
    ("rows", np.ones((3, 3)), ValueError, "rows"),
    ("nan", np.array([[0, 0, 0], [np.nan, 1, 1]]), ValueError, "[1, 0]"),
    ("inf", np.array([[0, 0, 0], [1, np.inf, 1]]), ValueError, "[1, 1]"),
    ("huge", np.array([[0, 0, 0], [1, 1, 1e300]]), ValueError, "[1, 2]"),
]


def _state(s):
    return len(s), s.pairs().tolist(), s.check_invariants()


def _filled(make):
    s = make()
    s.insert(
        [10, 11, 12], [[0, 0, 0], [0.5, 0.5, 0.5], [5, 5, 5]], [[1, 1, 1], [2, 2, 2], [6, 6, 6]]
    )
    return s


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize(
    ("value", "exc", "text"), [b[1:] for b in BAD_ROWS], ids=[b[0] for b in BAD_ROWS]
)
@pytest.mark.parametrize("arg", ["lo", "hi"])
def test_insert_update_bad_boxes(make, value, exc, text, arg):
    s = _filled(make)
    before = _state(s)
    for method, ids in (("insert", [1, 2]), ("update", [10, 11])):
        kwargs = {"lo": BOX, "hi": BOXH, arg: value}
        if arg == "hi" and value is None:
            # hi=None means "lo is an (n, 6) batch", so the (2, 3) lo is the bad argument.
            exc, text = ValueError, "(n, 6)"
        with pytest.raises(exc) as e:
            getattr(s, method)(ids, **kwargs)
        assert (arg in str(e.value)) or (value is None and "aabbs" in str(e.value))
        assert text in str(e.value)
        assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_inverted_box(make):
    s = _filled(make)
    before = _state(s)
    lo = BOX.copy()
    lo[1, 2] = 3.0
    with pytest.raises(ValueError, match=r"lo\[1, 2\].*greater than hi"):
        s.insert([1, 2], lo, BOXH)
    with pytest.raises(ValueError, match=r"lo\[1, 2\]"):
        s.update([10, 11], lo, BOXH)
    with pytest.raises(ValueError, match=r"lo\[1, 2\]"):
        s.query_aabb(lo, BOXH)
    assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_bad_ids(make):
    s = _filled(make)
    before = _state(s)
    with pytest.raises(ValueError, match=r"ids\[1\] = 7 is a duplicate"):
        s.insert([7, 7], BOX, BOXH)
    with pytest.raises(ValueError, match=r"ids\[1\] = 12 is a duplicate"):
        s.insert([3, 12], BOX, BOXH)
    with pytest.raises(ValueError, match=r"ids\[1\] = 99 is not present"):
        s.update([10, 99], BOX, BOXH)
    with pytest.raises(ValueError, match=r"ids\[1\] = 10 is repeated"):
        s.update([10, 10], BOX, BOXH)
    with pytest.raises(ValueError, match=r"ids\[2\] = 5 is not present"):
        s.remove([10, 11, 5])
    with pytest.raises(ValueError, match=r"ids\[1\]"):
        s.remove([12, 12])
    with pytest.raises(ValueError, match=r"ids\[0\] = 4 is not present"):
        s.pairs([4])
    with pytest.raises(TypeError, match="ids"):
        s.insert([1.5, 2.0], BOX, BOXH)
    with pytest.raises(TypeError, match="ids"):
        s.remove(None)
    with pytest.raises(TypeError, match="ids"):
        s.remove(["a"])
    with pytest.raises(ValueError, match="ids"):
        s.insert(np.array([2**63 + 5], dtype=np.uint64), BOX[:1], BOXH[:1])
    with pytest.raises(ValueError, match="reserved"):
        s.insert(np.array([1, -(2**63)], dtype=np.int64), BOX, BOXH)
    with pytest.raises(ValueError, match="rows"):
        s.insert([1, 2, 3], BOX, BOXH)
    assert _state(s) == before
    # A bad row at the end of a big batch: nothing of it lands.
    n = 10_000
    lo = np.random.default_rng(0).uniform(0, 50, (n, 3))
    hi = lo + 1
    lo[-1, 0] = np.nan
    with pytest.raises(ValueError, match=rf"lo\[{n - 1}, 0\]"):
        s.insert(np.arange(100, 100 + n), lo, hi)
    assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_bad_layers(make):
    s = _filled(make)
    before = _state(s)
    with pytest.raises(ValueError, match="layers"):
        s.insert([1, 2], BOX, BOXH, layers=[1, -1])
    with pytest.raises(ValueError, match="masks"):
        s.insert([1, 2], BOX, BOXH, masks=[1, 2**32])
    with pytest.raises(ValueError, match="layers"):
        s.insert([1, 2], BOX, BOXH, layers=[1])
    with pytest.raises(TypeError, match="mask"):
        s.query_aabb(BOX, BOXH, mask=1.5)
    with pytest.raises(ValueError, match="mask"):
        s.query_aabb(BOX, BOXH, mask=-1)
    assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_bad_queries(make):
    s = _filled(make)
    before = _state(s)
    with pytest.raises(ValueError, match=r"radii\[1\]"):
        s.query_sphere(BOX, [1.0, -1.0])
    with pytest.raises(ValueError, match="radii"):
        s.query_sphere(BOX, [1.0, np.nan])
    with pytest.raises(ValueError, match="rows"):
        s.query_sphere(BOX, [1.0])
    with pytest.raises(TypeError, match="centers"):
        s.query_sphere(None, [1.0])
    with pytest.raises(ValueError, match=r"dirs\[1\]"):
        s.raycast(BOX, [[1, 0, 0], [0, 0, 0]], 5.0)
    with pytest.raises(ValueError, match=r"dirs\[0, 1\]"):
        s.raycast_first(BOX, [[1, np.nan, 0], [1, 0, 0]], 5.0)
    with pytest.raises(ValueError, match=r"max_t\[0\]"):
        s.raycast(BOX, [[1, 0, 0]] * 2, [-1.0, 1.0])
    with pytest.raises(ValueError, match="max_t"):
        s.raycast(BOX, [[1, 0, 0]] * 2, np.nan)
    with pytest.raises(TypeError, match="max_t"):
        s.raycast(BOX, [[1, 0, 0]] * 2, None)
    with pytest.raises(ValueError, match="shape"):
        s.query_aabb(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="other"):
        s.pairs_with("x")
    assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_empty_queries_have_right_shape(make):
    s = _filled(make)
    for off, ids in (
        s.query_aabb(np.empty((0, 3)), np.empty((0, 3))),
        s.query_sphere(np.empty((0, 3)), np.empty(0)),
        s.raycast(np.empty((0, 3)), np.empty((0, 3)), np.empty(0)),
    ):
        assert off.tolist() == [0]
        assert ids.shape == (0,)
        assert ids.dtype == np.int64
    gid, gt = s.raycast_first(np.empty((0, 3)), np.empty((0, 3)), np.empty(0))
    assert gid.shape == (0,)
    assert gt.shape == (0,)
    assert gid.dtype == np.int64


def test_constructor_arguments():
    with pytest.raises(ValueError, match="cell_size"):
        fbsim.SpatialHash(cell_size=0.0)
    with pytest.raises(ValueError, match="cell_size"):
        fbsim.SpatialHash(cell_size=np.nan)
    with pytest.raises(TypeError, match="cell_size"):
        fbsim.SpatialHash(cell_size="big")
    with pytest.raises(ValueError, match="axis"):
        fbsim.SweepAndPrune(axis=3)
    with pytest.raises(TypeError, match="axis"):
        fbsim.SweepAndPrune(axis=1.0)
    with pytest.raises(ValueError, match="margin"):
        fbsim.DynamicTree(margin=-0.1)
    with pytest.raises(ValueError, match="margin"):
        fbsim.DynamicTree(margin=np.inf)
    assert fbsim.SpatialHash(cell_size=2.5).cell_size == 2.5
    assert fbsim.SweepAndPrune(axis=2).axis == 2
    assert fbsim.DynamicTree(margin=0.0).margin == 0.0


def test_core_classes_directly():
    # The _core bindings check exactly as the Python layer does.
    from fbsim import _core

    s = _core.SpatialHash()
    with pytest.raises(ValueError, match=r"lo\[0, 0\]"):
        s.insert([1], [[np.nan, 0, 0]], [[1, 1, 1]])
    with pytest.raises(TypeError, match="lo"):
        s.insert([1], None, [[1, 1, 1]])
    assert len(s) == 0


@pytest.mark.parametrize("make", MAKERS)
def test_repeated_ids_reported_at_the_first_repeat(make):
    # validate_remove finds repeats of present ids through a bitmap of their slots and falls
    # back to sorting the batch when some id is absent: both report the first row that repeats
    # an earlier one, and a repeat before or after an absent id wins over it.
    s = _filled(make)
    before = _state(s)
    with pytest.raises(ValueError, match=r"ids\[3\] = 10 is repeated"):
        s.update([10, 11, 12, 10, 11], np.repeat(BOX[:1], 5, 0), np.repeat(BOXH[:1], 5, 0))
    with pytest.raises(ValueError, match=r"ids\[2\] = 10 is repeated"):
        s.update([99, 10, 10], np.repeat(BOX[:1], 3, 0), np.repeat(BOXH[:1], 3, 0))
    with pytest.raises(ValueError, match=r"ids\[2\] = 11 is repeated"):
        s.remove([11, 12, 11, 98])
    with pytest.raises(ValueError, match=r"ids\[2\] = 12 is repeated"):
        s.pairs([12, 11, 12])
    assert _state(s) == before


@pytest.mark.parametrize("make", MAKERS)
def test_repeated_ids_in_a_small_batch_of_a_large_structure(make):
    # A batch much smaller than the structure (count * 64 < slots) finds repeats by sorting
    # its slots rather than by a bitmap of all of them: same first repeat reported.
    s = make()
    ids = np.arange(1000, dtype=np.int64) * 7
    lo = np.column_stack([np.arange(1000.0), np.zeros(1000), np.zeros(1000)])
    s.insert(ids, lo, lo + 0.5)
    before = _state(s)
    b = np.zeros((6, 3))
    with pytest.raises(ValueError, match=r"ids\[4\] = 21 is repeated"):
        s.update([21, 14, 70, 7, 21, 14], b, b + 1)
    with pytest.raises(ValueError, match=r"ids\[3\] = 70 is repeated"):
        s.remove([70, 14, 7, 70, 7])
    with pytest.raises(ValueError, match=r"ids\[2\] = 14 is repeated"):
        s.pairs([14, 7, 14])
    assert _state(s) == before
    s.update([21, 14], b[:2], b[:2] + 1)  # no repeat: accepted
