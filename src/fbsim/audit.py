# SPDX-License-Identifier: MIT
"""Audit log and ban records: the evidence behind every violation, action and ban.

Every event is one JSON object per line with at least ``time`` (server seconds), ``player``,
``check``, ``measured``, ``allowed``, ``action`` and ``correlation_id``. Events go to a file
(with size-based rotation that never deletes: ``audit.jsonl`` -> ``audit.jsonl.1`` -> ...) or
to a callback, or both. Writes are synchronous and flushed per batch, so nothing is dropped
under load: a slow disk slows the caller rather than losing evidence an appeal may need.

Bans are :class:`BanRecord` objects held by a :class:`BanRegistry`; their appeal state moves
``NONE -> OPEN -> UPHELD | OVERTURNED`` and every change is itself audited.
"""

from __future__ import annotations

import enum
import itertools
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AppealState", "AuditLog", "BanRecord", "BanRegistry"]


def _clean(value: Any) -> Any:
    """JSON-safe value: numpy scalars to Python, non-finite floats to strings (valid JSON)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    return value


class AuditLog:
    """JSON-lines event sink with rotation, thread-safe for many writers.

    Parameters
    ----------
    path : str or Path, optional
        File to append to. When it would grow past ``max_bytes`` it is renamed to
        ``path.1`` (older files shift to ``.2``, ``.3``, ...) and a new file is started.
        Rotated files are never deleted (``max_backups=None``) unless asked.
    callback : callable, optional
        Called with each event dict (after the file write), in order.
    max_bytes : int
        Rotation size, bytes (> 0).
    max_backups : int or None
        Keep at most this many rotated files; None keeps all (the default: evidence).

    Raises
    ------
    ValueError
        Neither ``path`` nor ``callback`` given, or ``max_bytes`` <= 0.
    TypeError
        ``callback`` is not callable.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        callback: Callable[[dict[str, Any]], object] | None = None,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_backups: int | None = None,
    ) -> None:
        if path is None and callback is None:
            raise ValueError("AuditLog needs a path or a callback")
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        if not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"max_bytes = {max_bytes!r} must be a positive int")
        if max_backups is not None and (not isinstance(max_backups, int) or max_backups < 1):
            raise ValueError(f"max_backups = {max_backups!r} must be None or >= 1")
        self.path = None if path is None else Path(path)
        self.callback = callback
        self.max_bytes = max_bytes
        self.max_backups = max_backups
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self.events_written = 0

    def new_correlation_id(self, prefix: str = "ev") -> str:
        """A fresh id, unique within this log (thread-safe)."""
        return f"{prefix}-{next(self._seq)}"

    def _rotate(self) -> None:
        assert self.path is not None
        n = 1
        while self.path.with_name(f"{self.path.name}.{n}").exists():
            n += 1
        for k in range(n - 1, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{k}")
            if self.max_backups is not None and k >= self.max_backups:
                src.unlink()
                continue
            src.rename(self.path.with_name(f"{self.path.name}.{k + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))

    def write(self, events: Iterable[Mapping[str, Any]]) -> int:
        """Appends events (dicts) in order; returns how many were written.

        Raises
        ------
        TypeError
            An event is not a mapping, or holds a value JSON cannot encode.
        """
        lines = []
        cleaned = []
        for ev in events:
            if not isinstance(ev, Mapping):
                raise TypeError(f"audit events must be mappings, got {type(ev).__name__}")
            d = _clean(dict(ev))
            lines.append(json.dumps(d, sort_keys=True, allow_nan=False))
            cleaned.append(d)
        if not lines:
            return 0
        with self._lock:
            if self.path is not None:
                size = self.path.stat().st_size if self.path.exists() else 0
                with self.path.open("a", encoding="utf-8") as f:
                    for line in lines:
                        data = line + "\n"
                        if size > 0 and size + len(data) > self.max_bytes:
                            f.close()
                            self._rotate()
                            f = self.path.open("a", encoding="utf-8")
                            size = 0
                        f.write(data)
                        size += len(data)
                    f.flush()
                    f.close()
            if self.callback is not None:
                for d in cleaned:
                    self.callback(d)
            self.events_written += len(lines)
        return len(lines)

    def files(self) -> list[Path]:
        """The current file and its rotated predecessors, oldest first."""
        if self.path is None:
            return []
        rotated = sorted(
            self.path.parent.glob(self.path.name + ".*"),
            key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0,
            reverse=True,
        )
        return [*rotated, self.path] if self.path.exists() else rotated


class AppealState(enum.IntEnum):
    """Appeal state of a ban."""

    NONE = 0
    OPEN = 1
    UPHELD = 2
    OVERTURNED = 3


@dataclass
class BanRecord:
    """A ban: who, when, why, the evidence (audit correlation ids) and its appeal state."""

    ban_id: int
    player: int
    time: float
    reason: str
    evidence: list[str]
    appeal: AppealState = AppealState.NONE
    notes: list[str] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """True unless the ban was overturned on appeal."""
        return self.appeal != AppealState.OVERTURNED


class BanRegistry:
    """Ban records with an appeal process; each change is written to the audit log.

    Thread-safe (one lock). Records are never deleted: an overturned ban stays as history.
    """

    def __init__(self, audit: AuditLog | None = None) -> None:
        self.audit = audit
        self._lock = threading.Lock()
        self._bans: dict[int, BanRecord] = {}
        self._next = itertools.count(1)

    def _log(self, rec: BanRecord, action: str, time: float, note: str = "") -> None:
        if self.audit is None:
            return
        self.audit.write(
            [
                {
                    "time": time,
                    "player": rec.player,
                    "check": rec.reason,
                    "measured": None,
                    "allowed": None,
                    "action": action,
                    "correlation_id": f"ban-{rec.ban_id}",
                    "evidence": list(rec.evidence),
                    "appeal": rec.appeal.name.lower(),
                    "note": note,
                }
            ]
        )

    def ban(self, player: int, time: float, reason: str, evidence: Iterable[str]) -> BanRecord:
        """Creates a ban record (appeal state NONE) and audits it.

        Raises
        ------
        TypeError
            ``player`` is not an int.
        ValueError
            ``time`` is not finite.
        """
        if isinstance(player, bool) or not hasattr(player, "__index__"):
            raise TypeError("player must be an int id")
        time = float(time)
        if not math.isfinite(time):
            raise ValueError(f"time is {time}; it must be finite")
        with self._lock:
            rec = BanRecord(next(self._next), int(player), time, str(reason), list(evidence))
            self._bans[rec.ban_id] = rec
        self._log(rec, "ban", time)
        return rec

    def get(self, ban_id: int) -> BanRecord:
        """The record; KeyError naming the id if there is none."""
        try:
            return self._bans[ban_id]
        except KeyError:
            raise KeyError(f"ban_id {ban_id} does not exist") from None

    def for_player(self, player: int) -> list[BanRecord]:
        """All bans of a player, oldest first."""
        return [r for r in self._bans.values() if r.player == int(player)]

    def is_banned(self, player: int) -> bool:
        """True if the player has a ban that was not overturned."""
        return any(r.active for r in self.for_player(player))

    def all(self) -> list[BanRecord]:
        """Every record, oldest first."""
        return list(self._bans.values())

    def open_appeal(self, ban_id: int, time: float, note: str = "") -> BanRecord:
        """NONE -> OPEN. ValueError for any other starting state."""
        return self._move(ban_id, (AppealState.NONE,), AppealState.OPEN, time, note)

    def resolve_appeal(self, ban_id: int, upheld: bool, time: float, note: str = "") -> BanRecord:
        """OPEN -> UPHELD (``upheld=True``) or OVERTURNED. ValueError unless OPEN."""
        new = AppealState.UPHELD if upheld else AppealState.OVERTURNED
        return self._move(ban_id, (AppealState.OPEN,), new, time, note)

    def _move(
        self,
        ban_id: int,
        allowed_from: tuple[AppealState, ...],
        new: AppealState,
        time: float,
        note: str,
    ) -> BanRecord:
        time = float(time)
        if not math.isfinite(time):
            raise ValueError(f"time is {time}; it must be finite")
        with self._lock:
            rec = self.get(ban_id)
            if rec.appeal not in allowed_from:
                raise ValueError(
                    f"ban {ban_id} appeal is {rec.appeal.name}; cannot move to {new.name}"
                )
            rec.appeal = new
            if note:
                rec.notes.append(note)
        self._log(rec, f"appeal_{new.name.lower()}", time, note)
        return rec
