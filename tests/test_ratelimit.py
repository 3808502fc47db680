# SPDX-License-Identifier: MIT
"""RateLimiter and DuplicationDetector against plain-Python token-bucket references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fbsim.ratelimit import (
    DEFAULT_RULES,
    ENTERPRISE_PLAN_DUPLICATION,
    ENTERPRISE_PLAN_RULES,
    DuplicationDetector,
    RateLimiter,
    Rule,
)


def reference_buckets(rows, rate, burst):
    """Independent reference: a dict of (tokens, last time) per key, rows in order."""
    state: dict[object, list[float]] = {}
    out = []
    for key, t in rows:
        if key not in state:
            state[key] = [burst, t]
        tok, last = state[key]
        if t > last:
            tok = min(burst, tok + (t - last) * rate)
            last = t
        if tok >= 1.0:
            out.append(True)
            tok -= 1.0
        else:
            out.append(False)
        state[key] = [tok, last]
    return out


def test_fast_builder_passes_and_hundreds_per_second_are_stopped():
    r = RateLimiter()
    t = np.arange(100) / 20.0  # 20 placements/s for 5 s
    assert r.allow(np.full(100, 1), "place", t).all()
    flood = np.arange(1000) / 500.0  # 500/s for 2 s
    ok = r.allow(np.full(1000, 2), "place", flood)
    rule = DEFAULT_RULES["place"]
    assert ok.sum() <= rule.burst + rule.rate * 2.0 + 1
    assert ok.sum() < 200  # hundreds per second are cut to the refill rate


def test_enterprise_preset_is_the_plans_table():
    assert ENTERPRISE_PLAN_RULES["action"] == Rule(rate=2.0, burst=10)  # 10 per 5 s
    assert ENTERPRISE_PLAN_RULES["requests"] == Rule(rate=2.0, burst=20)  # 20 per 10 s
    assert Rule(rate=5 / 60, burst=5) == ENTERPRISE_PLAN_DUPLICATION  # 5 per 60 s
    r = RateLimiter(ENTERPRISE_PLAN_RULES)
    ok = r.allow(np.full(11, 1), "action", np.zeros(11))
    assert ok.sum() == 10


def test_same_player_many_rows_processed_in_order():
    r = RateLimiter({"a": Rule(rate=1.0, burst=3)})
    ok = r.allow([5, 5, 6, 5, 5, 6], "a", 0.0)
    assert ok.tolist() == [True, True, True, True, False, True]
    assert r.tokens([5, 6, 7], "a").tolist() == [0.0, 1.0, 3.0]


@given(
    st.lists(st.tuples(st.integers(0, 4), st.floats(0, 30, allow_nan=False)), max_size=80),
    st.floats(0.1, 50),
    st.integers(1, 20),
)
def test_allow_matches_reference(rows, rate, burst):
    r = RateLimiter({"a": Rule(rate=rate, burst=float(burst))})
    ids = np.array([k for k, _ in rows], dtype=np.int64)
    t = np.array([x for _, x in rows], dtype=float)
    got = r.allow(ids, "a", t) if rows else r.allow(np.zeros(0, dtype=np.int64), "a", 0.0)
    assert got.tolist() == reference_buckets(rows, rate, float(burst))


def test_time_going_backwards_mints_no_tokens():
    r = RateLimiter({"a": Rule(rate=10.0, burst=2)})
    assert r.allow([1, 1, 1], "a", [100.0, 100.0, 100.0]).tolist() == [True, True, False]
    assert not r.allow([1], "a", [0.0])[0]  # a replayed old timestamp
    assert not r.allow([1], "a", [100.0])[0]  # and the clock did not move back
    assert r.allow([1], "a", [100.2])[0]


@pytest.mark.parametrize(
    ("now", "exc"),
    [(math.nan, ValueError), (math.inf, ValueError), (None, TypeError), ("x", TypeError)],
)
def test_bad_time_rejected_state_unchanged(now, exc):
    r = RateLimiter()
    r.allow([1], "place", 0.0)
    before = r.tokens([1], "place").copy()
    with pytest.raises(exc, match="now"):
        r.allow([1, 2], "place", now)
    np.testing.assert_array_equal(r.tokens([1], "place"), before)
    assert r.tokens([2], "place")[0] == DEFAULT_RULES["place"].burst


def test_bad_ids_and_actions():
    r = RateLimiter()
    with pytest.raises(TypeError, match="player_ids"):
        r.allow(None, "place", 0.0)
    with pytest.raises(TypeError, match="player_ids"):
        r.allow([1.5], "place", 0.0)
    with pytest.raises(ValueError, match="player_ids"):
        r.allow([[1]], "place", 0.0)
    with pytest.raises(KeyError, match="jump"):
        r.allow([1], "jump", 0.0)
    with pytest.raises(ValueError, match="now"):
        r.allow([1, 2], "place", [0.0])
    with pytest.raises(ValueError, match="rate"):
        RateLimiter({"a": Rule(rate=0.0, burst=1)})
    with pytest.raises(ValueError, match="burst"):
        RateLimiter({"a": Rule(rate=1.0, burst=0.5)})
    with pytest.raises(TypeError):
        RateLimiter({"a": 5})


def test_empty_input():
    r = RateLimiter()
    out = r.allow(np.zeros(0, dtype=np.int64), "place", np.zeros(0))
    assert out.shape == (0,)
    assert out.dtype == bool
    d = DuplicationDetector()
    out = d.observe(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0.0)
    assert out.shape == (0,)
    assert out.dtype == bool


def test_remove_players_resets_buckets():
    r = RateLimiter({"a": Rule(rate=1.0, burst=2)})
    r.allow([1, 1, 2, 3], "a", 0.0)
    r.remove_players([1, 99])
    assert r.tokens([1, 2, 3], "a").tolist() == [2.0, 1.0, 1.0]
    assert r.allow([1, 1, 1], "a", 0.0).tolist() == [True, True, False]


@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.floats(0, 200, allow_nan=False)),
        max_size=80,
    )
)
def test_duplication_matches_reference(rows):
    d = DuplicationDetector()
    rule = d.rule
    p = np.array([a for a, _, _ in rows], dtype=np.int64)
    it = np.array([b for _, b, _ in rows], dtype=np.int64)
    t = np.array([c for _, _, c in rows], dtype=float)
    got = d.observe(p, it, t)
    ref = reference_buckets([((a, b), c) for a, b, c in rows], rule.rate, rule.burst)
    assert got.tolist() == [not x for x in ref]


def test_duplication_flags_sixth_use_within_a_minute():
    d = DuplicationDetector()
    flags = d.observe(np.full(7, 1), np.full(7, 42), np.arange(7) * 1.0)
    assert flags.tolist() == [False] * 5 + [True, True]
    # Another item or another player is independent.
    assert not d.observe([1, 2], [43, 42], [7.0, 7.0]).any()
    d.remove_players([1])
    assert not d.observe([1], [42], [7.0])[0]
    with pytest.raises(ValueError, match="item_ids"):
        d.observe([1, 2], [3], 0.0)
    with pytest.raises(ValueError, match="now"):
        d.observe([1], [3], math.nan)
