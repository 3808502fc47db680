# SPDX-License-Identifier: MIT
"""Broad-phase item limit (issue 10, Limits): 2**32 - 2 boxes (32-bit slots), checked on insert.

The real limit needs ~200 GB of boxes, so the tests lower it per structure (``max_items``) and
count by hand: an insert that would pass it raises a ValueError naming the first row that does
not fit and the limit, and inserts nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

import fbsim

BROADPHASES = [fbsim.SpatialHash, fbsim.SweepAndPrune, fbsim.DynamicTree]


def _boxes(n, offset=0):
    lo = np.arange(offset, offset + n, dtype=float)[:, None].repeat(3, axis=1)
    return lo, lo + 0.5


def test_limit_is_documented_and_exported():
    assert fbsim.MAX_BROADPHASE_ITEMS == 2**32 - 2
    assert "MAX_BROADPHASE_ITEMS" in fbsim.__all__
    for cls in BROADPHASES:
        assert cls().max_items == fbsim.MAX_BROADPHASE_ITEMS


@pytest.mark.parametrize("cls", BROADPHASES)
def test_insert_past_the_item_limit_is_a_value_error_and_changes_nothing(cls):
    bp = cls()
    bp.max_items = 10
    lo, hi = _boxes(7)
    bp.insert(np.arange(7), lo, hi)
    lo2, hi2 = _boxes(5, offset=7)
    # 7 held + 5 new > 10: rows 0..2 would fit, row 3 (id 103) is the first that does not.
    with pytest.raises(ValueError, match=r"ids\[3\] = 103: .*max_items = 10"):
        bp.insert(np.arange(100, 105), lo2, hi2)
    assert len(bp) == 7
    assert 100 not in bp
    np.testing.assert_array_equal(bp.pairs(), np.empty((0, 2), dtype=np.int64))
    assert bp.check_invariants()
    bp.insert(np.arange(100, 103), lo2[:3], hi2[:3])  # exactly at the limit
    assert len(bp) == 10
    with pytest.raises(ValueError, match=r"ids\[0\] = 200: .*max_items = 10"):
        bp.insert([200], [[50.0] * 3], [[51.0] * 3])
    bp.remove([0, 1])
    bp.insert([200, 201], [[50.0] * 3, [60.0] * 3], [[51.0] * 3, [61.0] * 3])
    assert len(bp) == 10
    assert bp.check_invariants()


@pytest.mark.parametrize("bad", [-1, 1.5, np.nan, 2.0**32])
def test_max_items_setter_rejects_bad_values(bad):
    bp = fbsim.SweepAndPrune()
    with pytest.raises(ValueError, match="max_items"):
        bp.max_items = bad
    assert bp.max_items == fbsim.MAX_BROADPHASE_ITEMS


def test_lowering_below_the_size_only_blocks_inserts():
    bp = fbsim.DynamicTree()
    lo, hi = _boxes(5)
    bp.insert(np.arange(5), lo, hi)
    bp.max_items = 2
    assert len(bp) == 5
    with pytest.raises(ValueError, match="max_items = 2"):
        bp.insert([9], [[0.0] * 3], [[1.0] * 3])
    bp.update([0], [[0.1] * 3], [[0.6] * 3])  # updates and removals still work
    bp.remove([1, 2, 3, 4])
    bp.insert([9], [[0.0] * 3], [[1.0] * 3])
    assert len(bp) == 2
