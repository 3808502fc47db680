# SPDX-License-Identifier: MIT
# ruff: noqa: ARG001  (the parametrize label only names the case)
"""Every public array argument of the movement layer x every kind of bad input.

A malformed argument raises TypeError/ValueError naming it and changes nothing; hostile
*values* inside a well-formed step batch (NaN, inf, 1e300) are per-row rejections instead.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fbsim import DuplicationDetector, MovementChecker, RateLimiter, ServerMoveKind
from fbsim.movement import Reason

BAD_TYPES = [
    ("none", None, TypeError),
    ("strings", ["a", "b"], TypeError),
    ("complex", [1j, 2j], TypeError),
    ("bools", [True, False], TypeError),
]


def make_checker():
    m = MovementChecker()
    m.add_players([1, 2], [[0, 0, 0], [5, 0, 0]], 0.0)
    return m


def snapshot(m):
    return copy.deepcopy((m._ref[: len(m)], m._state[: len(m)], m._levels[: len(m)], len(m)))


def same(a, b):
    return (
        all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a[:3], b[:3], strict=False))
        and a[3] == b[3]
    )


def good_step():
    return {
        "player_id": [1, 2],
        "position": [[0.1, 0, 0], [5.1, 0, 0]],
        "client_time": [0.05, 0.05],
        "server_time": [0.1, 0.1],
    }


@pytest.mark.parametrize("arg", ["player_id", "position", "client_time", "server_time"])
@pytest.mark.parametrize(("label", "value", "exc"), BAD_TYPES)
def test_step_bad_types(arg, label, value, exc):
    m = make_checker()
    before = snapshot(m)
    b = good_step()
    b[arg] = value if arg != "position" or value is None else [[v, v, v] for v in value]
    with pytest.raises(exc, match=arg):
        m.step(b)
    assert same(before, snapshot(m))


@pytest.mark.parametrize(
    ("arg", "value"),
    [
        ("player_id", [[1, 2]]),
        ("position", [0.0, 0.0]),
        ("position", [[0.0, 0.0], [0.0, 0.0]]),
        ("client_time", [[0.0], [0.0]]),
        ("server_time", [0.1]),
        ("position", [[0.0, 0.0, 0.0]]),
        ("client_time", [0.0, 0.0, 0.0]),
    ],
)
def test_step_bad_shapes_and_lengths(arg, value):
    m = make_checker()
    before = snapshot(m)
    b = good_step()
    b[arg] = value
    with pytest.raises(ValueError, match=arg):
        m.step(b)
    assert same(before, snapshot(m))


def test_step_missing_key():
    b = good_step()
    del b["server_time"]
    with pytest.raises(ValueError, match="server_time"):
        make_checker().step(b)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300, 2e6])
def test_step_hostile_values_are_row_rejections(value):
    m = make_checker()
    b = good_step()
    b["position"] = [[value, 0, 0], [5.1, 0, 0]]
    r = m.step(b)
    assert r.reason.tolist() == [Reason.INVALID_INPUT, Reason.OK]
    if abs(value) > 1e15:  # times: non-finite or beyond 1e15 s are invalid rows
        for key in ("client_time", "server_time"):
            b = good_step()
            b[key] = [value, 0.05]
            r = m.step(b)
            assert r.reason[0] == Reason.INVALID_INPUT
    assert np.isfinite(m.levels([1, 2])).all()


@pytest.mark.parametrize(
    ("kwargs", "name", "exc"),
    [
        ({"ids": None}, "ids", TypeError),
        ({"ids": [1.5]}, "ids", TypeError),
        ({"ids": [3, 3]}, "ids", ValueError),
        ({"ids": [1]}, "ids", ValueError),  # already exists
        ({"positions": [[np.nan, 0, 0]]}, "positions", ValueError),
        ({"positions": [[1e300, 0, 0]]}, "positions", ValueError),
        ({"positions": [[0, 0]]}, "positions", ValueError),
        ({"positions": None}, "positions", TypeError),
        ({"positions": [[0, 0, 0], [0, 0, 0]]}, "positions", ValueError),
        ({"now": np.nan}, "now", ValueError),
        ({"now": None}, "now", TypeError),
        ({"now": "x"}, "now", TypeError),
    ],
)
def test_add_players_rejects(kwargs, name, exc):
    m = make_checker()
    before = snapshot(m)
    args = {"ids": [3], "positions": [[0, 0, 0]], "now": 0.0, **kwargs}
    with pytest.raises(exc, match=name):
        m.add_players(**args)
    assert same(before, snapshot(m))


@pytest.mark.parametrize(
    ("kwargs", "name", "exc"),
    [
        ({"ids": [9]}, "ids", ValueError),
        ({"ids": None}, "ids", TypeError),
        ({"positions": [[np.inf, 0, 0]]}, "positions", ValueError),
        ({"positions": [[0, 0, 0], [1, 1, 1]]}, "positions", ValueError),
        ({"velocities": [[np.nan, 0, 0]]}, "velocities", ValueError),
        ({"velocities": [[0, 0]]}, "velocities", ValueError),
        ({"kind": 17}, "kind", ValueError),
    ],
)
def test_server_move_rejects(kwargs, name, exc):
    m = make_checker()
    before = snapshot(m)
    args = {
        "ids": [1],
        "positions": [[0, 0, 0]],
        "kind": ServerMoveKind.TELEPORT,
        "velocities": None,
        **kwargs,
    }
    with pytest.raises(exc, match=name):
        m.server_move(**args)
    assert same(before, snapshot(m))


@pytest.mark.parametrize(
    ("kwargs", "name", "exc"),
    [
        ({"ids": [9]}, "ids", ValueError),
        ({"multiplier": np.nan}, "multiplier", ValueError),
        ({"multiplier": 0.0}, "multiplier", ValueError),
        ({"multiplier": -2.0}, "multiplier", ValueError),
        ({"multiplier": None}, "multiplier", TypeError),
        ({"until": np.inf}, "until", ValueError),
    ],
)
def test_grant_speed_rejects(kwargs, name, exc):
    m = make_checker()
    before = snapshot(m)
    args = {"ids": [1], "multiplier": 1.5, "until": 10.0, **kwargs}
    with pytest.raises(exc, match=name):
        m.grant_speed(**args)
    assert same(before, snapshot(m))


def test_empty_calls():
    m = make_checker()
    m.add_players(np.zeros(0, dtype=np.int64), np.zeros((0, 3)), 0.0)
    m.remove_players(np.zeros(0, dtype=np.int64))
    m.grant_speed(np.zeros(0, dtype=np.int64), 2.0, 1.0)
    m.server_move(np.zeros(0, dtype=np.int64), np.zeros((0, 3)), ServerMoveKind.RESPAWN)
    assert m.positions(np.zeros(0, dtype=np.int64)).shape == (0, 3)
    assert len(m) == 2


@pytest.mark.parametrize(("label", "value", "exc"), BAD_TYPES)
def test_rate_limiter_bad_ids(label, value, exc):
    r = RateLimiter()
    with pytest.raises(exc, match="player_ids"):
        r.allow(value, "place", 0.0)
    d = DuplicationDetector()
    with pytest.raises(exc, match="player_ids"):
        d.observe(value, [1, 2], 0.0)
    with pytest.raises(exc, match="item_ids"):
        d.observe([1, 2], value, 0.0)
    assert len(d) == 0
