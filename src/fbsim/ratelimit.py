# SPDX-License-Identifier: MIT
"""Per-(player, action) token buckets and duplicate-use detection.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens/s; each request spends
one. Rows of a batch are processed in order, so one player appearing 300 times in a tick is
judged exactly as 300 sequential requests. Times that go backwards refill nothing (a replayed
timestamp cannot mint tokens).

Defaults (:data:`DEFAULT_RULES`) are sized for honest play: a fast builder placing 20 items/s
for 5 s passes (burst 60, refill 25/s covers 100 placements in 5 s), and hundreds per second
are cut to 25/s after at most 60. :data:`ENTERPRISE_PLAN_RULES` is the enterprise plan's
table (RAPID_ACTIONS 10 per 5 s, NETWORK_FLOODING 20 per 10 s) as a bucket of ``max`` tokens
refilled at ``max / window``; it trips honest fast builders and is kept only as a preset.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from fbsim import _core, _movement
from fbsim._kernels import IdIndex

__all__ = [
    "DEFAULT_DUPLICATION",
    "DEFAULT_RULES",
    "ENTERPRISE_PLAN_DUPLICATION",
    "ENTERPRISE_PLAN_RULES",
    "DuplicationDetector",
    "RateLimiter",
    "Rule",
]


@dataclass(frozen=True)
class Rule:
    """A token bucket: ``burst`` tokens (>= 1), refilled at ``rate`` tokens per second (> 0)."""

    rate: float
    burst: float

    @classmethod
    def per_window(cls, max_requests: float, window: float) -> Rule:
        """``max_requests`` per ``window`` seconds, as the enterprise plan writes them."""
        return cls(rate=max_requests / window, burst=max_requests)

    def validate(self, name: str) -> None:
        for field, lo in (("rate", 0.0), ("burst", 1.0)):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"rules[{name!r}].{field} must be a number")
            if not math.isfinite(v) or v < lo or (field == "rate" and v == 0):
                raise ValueError(f"rules[{name!r}].{field} = {v} is out of range")


#: Honest-play defaults: 60 Hz movement + actions fit "requests"; builders fit "place".
DEFAULT_RULES: dict[str, Rule] = {
    "place": Rule(rate=25.0, burst=60.0),
    "action": Rule(rate=25.0, burst=60.0),
    "requests": Rule(rate=150.0, burst=300.0),
}
#: The enterprise plan's RAPID_ACTIONS and NETWORK_FLOODING rules (a preset, not the default).
ENTERPRISE_PLAN_RULES: dict[str, Rule] = {
    "action": Rule.per_window(10, 5.0),
    "place": Rule.per_window(10, 5.0),
    "requests": Rule.per_window(20, 10.0),
}
#: Duplicate uses of one item by one player: 5 in a burst, refilled 1 per 12 s.
DEFAULT_DUPLICATION = Rule.per_window(5, 60.0)
#: The plan's ITEM_DUPLICATION {maxSameItem 5, window 60 s}; the same numbers.
ENTERPRISE_PLAN_DUPLICATION = Rule.per_window(5, 60.0)


#: Largest accepted time value, seconds (3e7 years): finite, and far from float64 overflow.
_MAX_TIME = 1e15


def _times(now: Any, n: int, name: str = "now") -> np.ndarray:
    if np.ndim(now) == 0:
        if now is None:
            raise TypeError(f"{name} must be a number, not None")
        if isinstance(now, bool):
            raise TypeError(f"{name} must be a real number")
        arr = _core.as_rows(np.full(n, now) if n else np.zeros(0), name, 0, _MAX_TIME)
        if n == 0:
            # Still check the scalar itself, so a NaN time is an error even on empty input.
            _core.as_rows(np.array([now]), name, 0, _MAX_TIME)
        return arr
    arr = _core.as_rows(now, name, 0, _MAX_TIME)
    if len(arr) != n:
        raise ValueError(f"{name} has {len(arr)} rows but player_ids has {n}")
    return arr


class RateLimiter:
    """Token buckets per (player, action), vectorised over a batch of requests.

    Parameters
    ----------
    rules : mapping of str to Rule, optional
        One bucket rule per action name; defaults to :data:`DEFAULT_RULES`.

    Raises
    ------
    TypeError, ValueError
        A rule that is not a :class:`Rule` or has a non-positive rate / burst below 1.

    Not thread-safe: a single writer (the server tick).
    """

    def __init__(self, rules: Mapping[str, Rule] | None = None) -> None:
        rules = DEFAULT_RULES if rules is None else rules
        if not isinstance(rules, Mapping) or not rules:
            raise TypeError("rules must be a non-empty mapping of action name to Rule")
        self.rules: dict[str, Rule] = {}
        for name, rule in rules.items():
            if not isinstance(rule, Rule):
                raise TypeError(f"rules[{name!r}] must be a Rule")
            rule.validate(name)
            self.rules[str(name)] = rule
        self._index: dict[str, IdIndex] = {a: IdIndex() for a in self.rules}
        self._tokens: dict[str, np.ndarray] = {a: np.zeros(0) for a in self.rules}
        self._last: dict[str, np.ndarray] = {a: np.zeros(0) for a in self.rules}

    def allow(self, player_ids: npt.ArrayLike, action: str, now: Any) -> np.ndarray:
        """Spends one token per row, in order; True where the request is allowed.

        Parameters
        ----------
        player_ids : array_like of int, shape (n,)
            May repeat; unseen players start with a full bucket.
        action : str
            A rule name.
        now : float or array_like, shape (n,)
            Server time of each request, seconds.

        Returns
        -------
        ndarray of bool, shape (n,)

        Raises
        ------
        KeyError
            Unknown ``action``.
        TypeError, ValueError
            Bad ``player_ids`` or ``now`` (NaN, inf, None, wrong shape); nothing changes.
        """
        if action not in self.rules:
            raise KeyError(f"action {action!r} has no rule (known: {sorted(self.rules)})")
        ids = _core.as_ids(player_ids, "player_ids")
        t = _times(now, len(ids))
        if len(ids) == 0:
            return np.zeros(0, dtype=bool)
        index = self._index[action]
        rule = self.rules[action]
        slots = index.lookup(ids)
        missing = slots < 0
        if missing.any():
            new_ids, first = np.unique(ids[missing], return_index=True)
            new_ids = new_ids[np.argsort(first)]
            first_t = t[missing][np.sort(first)]
            rows = index.add(new_ids)
            size = len(index)
            tok = np.zeros(size)
            last = np.zeros(size)
            old = len(self._tokens[action])
            tok[:old] = self._tokens[action]
            last[:old] = self._last[action]
            tok[rows] = rule.burst
            last[rows] = first_t
            self._tokens[action] = tok
            self._last[action] = last
            slots = index.lookup(ids)
        out = _movement.bucket_allow(
            slots, t, self._tokens[action], self._last[action], rule.rate, rule.burst
        )
        return out.astype(bool)

    def tokens(self, player_ids: npt.ArrayLike, action: str) -> np.ndarray:
        """Tokens left (before refill) per player; ``burst`` for players never seen."""
        if action not in self.rules:
            raise KeyError(f"action {action!r} has no rule")
        ids = _core.as_ids(player_ids, "player_ids")
        slots = self._index[action].lookup(ids)
        out = np.full(len(ids), float(self.rules[action].burst))
        known = slots >= 0
        out[known] = self._tokens[action][slots[known]]
        return out

    def remove_players(self, player_ids: npt.ArrayLike) -> None:
        """Forgets the buckets of these players (unknown ids are ignored)."""
        ids = np.unique(_core.as_ids(player_ids, "player_ids"))
        for action, index in self._index.items():
            present = ids[index.lookup(ids) >= 0]
            if len(present) == 0:
                continue
            _removed, moves = index.remove(present)
            for dst, src in moves:
                self._tokens[action][dst] = self._tokens[action][src]
                self._last[action][dst] = self._last[action][src]
            self._tokens[action] = self._tokens[action][: len(index)].copy()
            self._last[action] = self._last[action][: len(index)].copy()


class DuplicationDetector:
    """Flags a player using the same item id more often than a rule allows (ITEM_DUPLICATION).

    Parameters
    ----------
    rule : Rule, optional
        Budget per (player, item); defaults to :data:`DEFAULT_DUPLICATION` (5 per 60 s).
    """

    def __init__(self, rule: Rule | None = None) -> None:
        self.rule = DEFAULT_DUPLICATION if rule is None else rule
        if not isinstance(self.rule, Rule):
            raise TypeError("rule must be a Rule")
        self.rule.validate("duplication")
        self._counter = _movement.PairCounter(self.rule.rate, self.rule.burst)

    def __len__(self) -> int:
        return len(self._counter)

    def observe(self, player_ids: npt.ArrayLike, item_ids: npt.ArrayLike, now: Any) -> np.ndarray:
        """Records uses, rows in order; True where a use exceeds the budget (suspected dupe).

        Raises
        ------
        TypeError, ValueError
            Bad ids or times, or lengths differ; nothing is recorded.
        """
        p = _core.as_ids(player_ids, "player_ids")
        it = _core.as_ids(item_ids, "item_ids")
        if len(it) != len(p):
            raise ValueError(f"item_ids has {len(it)} rows but player_ids has {len(p)}")
        t = _times(now, len(p))
        return self._counter.observe(p, it, t).astype(bool)

    def remove_players(self, player_ids: npt.ArrayLike) -> None:
        """Forgets every (player, item) key of these players."""
        self._counter.forget_players(_core.as_ids(player_ids, "player_ids"))
