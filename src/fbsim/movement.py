# SPDX-License-Identifier: MIT
"""Server-side movement checks: speed, teleport, fly, noclip and timer, with violation levels.

The model
---------
Roblox units: walk speed 16 studs/s, jump height 7.2 studs, gravity 196.2 studs/s^2, so a jump
leaves the ground at v0 = sqrt(2 g h) = 53.1 studs/s and peaks after v0/g = 0.27 s. The
player is a vertical capsule of radius 1 and height 5 studs (feet at the reported position,
y up). Every default threshold below is derived from that model, with horizontal and
vertical budgets kept apart (as Grim and NoCheatPlus do, rather than one distance/second rule):

* **speed** (horizontal): each move may cover ``walk_speed * multiplier * dt * (1 + tol)``
  where ``dt`` is the *client* time between packets, so packets buffered behind a lag spike
  and delivered in a burst keep their own spacing and are not a speed hack. The overshoot
  accumulates in a leaky buffer of ``speed_buffer`` studs (NoCheatPlus's idea); a move that
  overflows the buffer is set back. ``dt`` is capped at ``max_gap`` (the longest plausible
  silence, 12 s, covering a 10 s stall).
* **teleport**: one move whose overshoot exceeds ``teleport_excess`` studs even with the full
  gap allowance.
* **fly**: while airborne the feet may not rise above the ballistic envelope of a jump from
  the last ground height (full apex for v0/g after the first airborne sample, then the
  parabola). Grounded = the collision's ``supported`` query. A sample within
  ``rejump_tolerance`` of a surface may have landed and jumped again between packets.
* **noclip**: the capsule swept from the last accepted position must not sink into an item
  (or under the ground plane) by more than ``noclip_tolerance``; sliding along a wall is fine.
  The setback goes to the wall's near side.
* **timer**: the offset ``server_time - client_time`` may not fall more than
  ``timer_max_lead`` (150 ms, Chickynoid's bound) below its reference: the lowest offset
  seen, which drifts down only at the clock-drift allowance and rises to the minimum of each
  ``timer_window`` (a lasting latency increase). Excess packets
  are dropped and the reference resynchronised, so the excess is counted once.

Mitigation and punishment are separate. Any failing move is rejected at once and the server
returns a setback position; its stale in-flight packets are then dropped without new points
until the client comes back (``setback_timeout``). Violation points (``weight_* x excess``)
decay with server time (``level_decay_time``); ``kick_level`` of any check with at least
``kick_min_events`` violations kicks, and a ban needs
``ban_level`` summed over checks *and* ``ban_min_events`` separate violations. Bans are
:class:`fbsim.audit.BanRecord` with an appeal state, and every violation, action and ban is a
JSON line in the :class:`fbsim.audit.AuditLog`.

Server-initiated moves (:meth:`MovementChecker.server_move`) are never flagged: until the client
sends a position that is legal only from the new state, both old and new states are legal.
"""

from __future__ import annotations

import enum
import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from fbsim import _core, _movement
from fbsim._kernels import IdIndex
from fbsim.audit import AuditLog, BanRegistry

__all__ = [
    "Action",
    "Check",
    "CollisionQueries",
    "MovementChecker",
    "MovementConfig",
    "Reason",
    "ServerMoveKind",
    "StepResult",
]

FloatArray = npt.NDArray[np.float64]


class Reason(enum.IntEnum):
    """Why a row was accepted or rejected (one code per row)."""

    OK = 0
    UNKNOWN_PLAYER = 1
    INVALID_INPUT = 2  #: NaN/inf or out-of-world position or time
    TIME_BACKWARDS = 3  #: client or server time earlier than the player's last packet
    SPEED = 4
    TELEPORT = 5
    FLY = 6
    NOCLIP = 7
    TIMER = 8
    SETBACK_PENDING = 9  #: stale packet sent before the client saw its setback


class Check(enum.IntEnum):
    """Columns of the violation-level arrays."""

    SPEED = 0
    TELEPORT = 1
    FLY = 2
    NOCLIP = 3
    TIMER = 4


class Action(enum.IntEnum):
    """Per-player action for this step, most severe wins."""

    NONE = 0
    SETBACK = 1
    KICK = 2
    BAN = 3


class ServerMoveKind(enum.IntEnum):
    """What kind of server-initiated move :meth:`MovementChecker.server_move` declares."""

    RESPAWN = 0
    TELEPORT = 1
    KNOCKBACK = 2
    PLATFORM = 3


@runtime_checkable
class CollisionQueries(Protocol):
    """What the checker needs from the world (``fbsim.World`` provides it).

    ``supported(feet, radius, tolerance) -> bool[n]``: the sphere of ``radius`` centred at
    ``feet + (0, radius, 0)`` is within ``tolerance`` of a solid surface (ground y = 0 or an
    item). ``sweep(start, end, radius, height) -> (toi[n], normal[n, 3])``: first time of
    impact in [0, 1] of the vertical capsule moving from start to end against items (not the
    ground), and the surface normal there; ``inf`` where the path is free.
    """

    def supported(self, feet: FloatArray, radius: float, tolerance: float) -> np.ndarray: ...

    def sweep(
        self, start: FloatArray, end: FloatArray, radius: float, height: float
    ) -> tuple[FloatArray, FloatArray]: ...


_WALK = 16.0
_POSITIVE_FIELDS = frozenset(
    ("walk_speed", "jump_height", "gravity", "radius", "height", "max_gap", "level_decay_time")
)
_JUMP_HEIGHT = 7.2
_GRAVITY = 196.2


@dataclass(frozen=True)
class MovementConfig:
    """Thresholds of the movement checks; defaults derive from the Roblox physical model.

    Distances in studs, times in seconds. See the module docstring for what each check does.
    """

    walk_speed: float = _WALK
    jump_height: float = _JUMP_HEIGHT
    gravity: float = _GRAVITY
    radius: float = 1.0  #: player capsule radius
    height: float = 5.0  #: player capsule total height
    #: clock-rate and rounding slop on the horizontal budget (2 %)
    speed_tolerance: float = 0.02
    #: overshoot absorbed before a setback: 1/8 s of walking
    speed_buffer: float = _WALK / 8.0
    #: single-move overshoot that counts as a teleport: 1/2 s of walking
    teleport_excess: float = _WALK / 2.0
    #: longest plausible silence between two packets (a 10 s stall plus margin)
    max_gap: float = 12.0
    #: a granted boost stays legal this long after it ends (NoCheatPlus uses 2-4 s)
    boost_grace: float = 2.0
    #: vertical slop on the jump envelope
    vertical_tolerance: float = 0.5
    #: feet within this of a surface count as grounded
    ground_tolerance: float = 0.05
    #: a surface this close below may have been landed on between packets:
    #: jump speed x one 20 Hz packet interval (53.1 / 20 = 2.7)
    rejump_tolerance: float = 3.0
    #: allowed sinking into a surface while sliding along it
    noclip_tolerance: float = 0.1
    timer_max_lead: float = 0.15  #: Chickynoid's client-clock lead bound
    timer_window: float = 10.0  #: the timer reference rises to the minimum offset of a window
    timer_drift_rate: float = 0.005  #: s/s of clock drift tolerated (0.5 %)
    level_decay_time: float = 60.0  #: e-folding time of violation levels, server seconds
    setback_timeout: float = 2.5  #: stale packets after a setback are dropped this long
    pending_timeout: float = 5.0  #: an unacknowledged server move becomes final after this
    #: the timer reference may fall freely this long after the first packet (jitter warm-up)
    timer_warmup: float = 2.0
    carry_time: float = 1.5  #: knockback/platform speed stays legal this long after declared
    weight_speed: float = 10.0  #: points per stud of speed overshoot
    weight_teleport: float = 10.0  #: points per stud of teleport overshoot
    weight_fly: float = 10.0  #: points per stud above the jump envelope
    weight_noclip: float = 20.0  #: points per stud of penetration
    weight_timer: float = 200.0  #: points per second of clock lead
    kick_level: float = 150.0
    kick_min_events: int = 3  #: one late packet never kicks: several violations are needed
    ban_level: float = 400.0
    ban_min_events: int = 8
    level_cap: float = 1e6
    evidence_per_player: int = 32  #: correlation ids kept per player for ban evidence

    @property
    def jump_velocity(self) -> float:
        """Take-off speed of a full jump, sqrt(2 g h), studs/s."""
        return math.sqrt(2.0 * self.gravity * self.jump_height)

    @classmethod
    def enterprise_plan(cls) -> MovementConfig:
        """The enterprise plan's table as a configuration (not the defaults).

        SPEED_HACKING {threshold 50, window 5 s}: 50 studs/s with a 5 s gap cap and no
        tolerance. POSITION_TELEPORTING {maxDistance 100, window 1 s}: a single move may
        overshoot the 50 studs/s budget by 50 studs (100 studs in 1 s). It passes 1.1x-2x speed
        hacks and flags honest long falls only through the fly/teleport split it lacks; kept
        for compatibility and comparison.
        """
        return cls(
            walk_speed=50.0,
            speed_tolerance=0.0,
            speed_buffer=50.0 * 5.0 / 8.0,
            teleport_excess=50.0,
            max_gap=5.0,
        )

    def validate(self) -> None:
        """ValueError naming the first field that is not finite and positive."""
        for k, v in asdict(self).items():
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise TypeError(f"config.{k} must be a number")
            positive = k in _POSITIVE_FIELDS
            if not math.isfinite(v) or v < 0 or (positive and v == 0):
                sign = "> 0" if positive else ">= 0"
                raise ValueError(f"config.{k} = {v} must be finite and {sign}")
        if self.height < 2 * self.radius:
            raise ValueError("config.height must be >= 2 * config.radius")

    def packed(self) -> np.ndarray:
        values = {**asdict(self), "jump_velocity": self.jump_velocity}
        values["max_coordinate"] = _core.MAX_COORDINATE
        return np.array([float(values[k]) for k in _movement.CONFIG_FIELDS], dtype=np.float64)


@dataclass
class StepResult:
    """Result of :meth:`MovementChecker.step`.

    Per row (same order as the batch): ``accepted`` bool[n]; ``setback`` float64[n, 3], the
    position the server should hold the player at (the new position where accepted);
    ``reason`` int8[n] of :class:`Reason`; ``correlation_id`` list[str] ('' where no event).
    Per player in the batch, in order of first appearance: ``players`` int64[m], ``levels``
    float64[m, 5] (columns :class:`Check`) and ``actions`` int8[m] of :class:`Action`.
    """

    accepted: np.ndarray
    setback: FloatArray
    reason: np.ndarray
    players: np.ndarray
    levels: FloatArray
    actions: np.ndarray
    correlation_id: list[str] = field(default_factory=list)


def _float_rows(obj: Any, name: str, cols: int) -> FloatArray:
    """Shape/dtype checks only: non-finite rows are rejected per row later, not here."""
    if obj is None:
        raise TypeError(f"{name} must be an array, not None")
    try:
        a = np.asarray(obj)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array-like of real numbers ({exc})") from None
    if a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got dtype {a.dtype}")
    want = (cols,) if cols else ()
    if a.ndim != 1 + len(want) or a.shape[1:] != want:
        shape = "(n, 3)" if cols else "(n,)"
        raise ValueError(f"{name} must have shape {shape}, got {a.shape}")
    return np.ascontiguousarray(a, dtype=np.float64)


def _scalar(value: Any, name: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if value is None:
        raise TypeError(f"{name} must be a number, not None")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} is {v}; it must be finite")
    if not lo <= v <= hi:
        raise ValueError(f"{name} = {v} must be in [{lo}, {hi}]")
    return v


def _get(batch: Any, key: str, required: bool = True) -> Any:
    if isinstance(batch, Mapping):
        if key in batch:
            return batch[key]
    elif hasattr(batch, key):
        return getattr(batch, key)
    if required:
        raise ValueError(f"batch has no '{key}'")
    return None


class MovementChecker:
    """Per-tick movement validation for many players, with violation levels and bans.

    Parameters
    ----------
    config : MovementConfig, optional
        Thresholds; defaults from the physical model.
    collision : CollisionQueries, optional
        The world's ``supported``/``sweep`` queries; None means flat empty ground at y = 0.
    audit : AuditLog, optional
        Receives every violation, action and ban.

    Not thread-safe: one writer (the server tick) at a time; read-only accessors may run
    concurrently with each other.
    """

    def __init__(
        self,
        config: MovementConfig | None = None,
        collision: CollisionQueries | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.config = MovementConfig() if config is None else config
        if not isinstance(self.config, MovementConfig):
            raise TypeError("config must be a MovementConfig")
        self.config.validate()
        if collision is not None and not (
            callable(getattr(collision, "supported", None))
            and callable(getattr(collision, "sweep", None))
        ):
            raise TypeError("collision must provide supported() and sweep() (CollisionQueries)")
        self.collision = collision
        self.audit = audit
        self.bans = BanRegistry(audit)
        self._cfg = self.config.packed()
        self._index = IdIndex()
        self._cap = 0
        self._alloc(16)
        self._evidence: dict[int, deque[str]] = {}
        self._seq = itertools.count(1)

    # -- storage -----------------------------------------------------------------------------
    def _alloc(self, cap: int) -> None:
        n = len(self._index)
        ns = len(_movement.STATE_FIELDS)

        def grow(old: np.ndarray | None, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
            new = np.zeros(shape, dtype=dtype)
            if old is not None:
                new[:n] = old[:n]
            return new

        first = self._cap == 0
        self._ref = grow(None if first else self._ref, (cap, 3), np.float64)
        self._pend = grow(None if first else self._pend, (cap, 3), np.float64)
        self._state = grow(None if first else self._state, (cap, ns), np.float64)
        self._levels = grow(None if first else self._levels, (cap, _movement.N_CHECKS), np.float64)
        self._counters = grow(None if first else self._counters, (cap, 2), np.int64)
        self._cap = cap

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, player_id: object) -> bool:
        return player_id in self._index

    def add_players(self, ids: npt.ArrayLike, positions: npt.ArrayLike, now: float) -> None:
        """Registers players standing at ``positions`` at server time ``now``.

        Raises
        ------
        TypeError, ValueError
            Bad ids/positions/now (named); an id already present or repeated; lengths differ.
            Nothing changes on error.
        """
        ids_a = _core.as_ids(ids, "ids")
        pos = _core.as_rows(positions, "positions", 3)
        now = _scalar(now, "now")
        if len(pos) != len(ids_a):
            raise ValueError(f"positions has {len(pos)} rows but ids has {len(ids_a)}")
        n_old = len(self._index)
        if n_old + len(ids_a) > self._cap:
            self._alloc(max(2 * self._cap, n_old + len(ids_a)))
        rows = self._index.add(ids_a, "ids")  # validates duplicates before changing anything
        f = {k: i for i, k in enumerate(_movement.STATE_FIELDS)}
        self._ref[rows] = pos
        self._pend[rows] = pos
        st = np.zeros((len(rows), len(f)))
        st[:, f["ground_y"]] = pos[:, 1]
        st[:, f["launch_v"]] = self.config.jump_velocity
        st[:, f["pending_launch_v"]] = self.config.jump_velocity
        st[:, f["boost_mult"]] = 1.0
        st[:, f["boost_until"]] = -math.inf
        st[:, f["extra_until"]] = -math.inf
        st[:, f["carried_until"]] = -math.inf
        st[:, f["added_at"]] = now
        st[:, f["last_st"]] = now
        self._state[rows] = st
        self._levels[rows] = 0.0
        self._counters[rows] = 0

    def remove_players(self, ids: npt.ArrayLike) -> None:
        """Forgets players (their ban records stay). ValueError on unknown/repeated ids."""
        ids_a = _core.as_ids(ids, "ids")
        _removed, moves = self._index.remove(ids_a, "ids")
        for dst, src in moves:
            for arr in (self._ref, self._pend, self._state, self._levels, self._counters):
                arr[dst] = arr[src]
        for pid in ids_a.tolist():
            self._evidence.pop(pid, None)

    def _rows(self, ids: npt.ArrayLike) -> np.ndarray:
        return self._index.indices(_core.as_ids(ids, "ids"), "ids")

    def positions(self, ids: npt.ArrayLike) -> FloatArray:
        """Last accepted (or set-back) position of each player, float64[n, 3]."""
        return self._ref[self._rows(ids)].copy()

    def levels(self, ids: npt.ArrayLike) -> FloatArray:
        """Current violation levels, float64[n, 5] (columns :class:`Check`), before decay."""
        return self._levels[self._rows(ids)].copy()

    def violation_counts(self, ids: npt.ArrayLike) -> np.ndarray:
        """Number of violations recorded per player (saturating int64)."""
        return self._counters[self._rows(ids), 0].copy()

    # -- server-side changes -----------------------------------------------------------------
    def grant_speed(self, ids: npt.ArrayLike, multiplier: float, until: float) -> None:
        """Allows ``multiplier`` x walk speed until server time ``until`` (+ ``boost_grace``).

        Raises
        ------
        ValueError
            Unknown ids, ``multiplier`` outside (0, 100], non-finite ``until``.
        """
        mult = _scalar(multiplier, "multiplier", 0.0, 100.0)
        if mult == 0.0:
            raise ValueError("multiplier must be > 0")
        until = _scalar(until, "until")
        rows = self._rows(ids)
        f = _movement.STATE_FIELDS
        self._state[rows, f.index("boost_mult")] = mult
        self._state[rows, f.index("boost_until")] = until

    def server_move(
        self,
        ids: npt.ArrayLike,
        positions: npt.ArrayLike,
        kind: ServerMoveKind | int,
        velocities: npt.ArrayLike | None = None,
    ) -> None:
        """Declares a server-initiated move (respawn, teleport pad, knockback, platform).

        Until the client sends a position legal only from the new state, both the old and the
        new state are legal; after ``pending_timeout`` the new state alone stands. For
        KNOCKBACK and PLATFORM, ``velocities`` (float64[n, 3], studs/s) add their horizontal
        speed to the budget for ``carry_time`` and their upward speed to the jump.

        Raises
        ------
        TypeError, ValueError
            Bad or unknown ids, bad positions/velocities, unknown kind. Nothing changes.
        """
        try:
            kind = ServerMoveKind(kind)
        except ValueError:
            raise ValueError(f"kind = {kind!r} is not a ServerMoveKind") from None
        ids_a = _core.as_ids(ids, "ids")
        pos = _core.as_rows(positions, "positions", 3)
        if len(pos) != len(ids_a):
            raise ValueError(f"positions has {len(pos)} rows but ids has {len(ids_a)}")
        vel = np.zeros_like(pos)
        if velocities is not None:
            vel = _core.as_rows(velocities, "velocities", 3)
            if len(vel) != len(ids_a):
                raise ValueError(f"velocities has {len(vel)} rows but ids has {len(ids_a)}")
        rows = self._rows(ids_a)
        f = {k: i for i, k in enumerate(_movement.STATE_FIELDS)}
        st = self._state
        now = st[rows, f["last_st"]]
        v0 = self.config.jump_velocity
        launch = v0 + np.maximum(vel[:, 1], 0.0)
        self._pend[rows] = pos
        st[rows, f["pending"]] = 1.0 + int(kind)  # 1, 2: respawn/teleport; 3, 4: widen only
        st[rows, f["pending_since"]] = now
        st[rows, f["pending_launch_v"]] = launch
        if kind == ServerMoveKind.PLATFORM:
            st[rows, f["carried_until"]] = now + self.config.carry_time
        if kind in (ServerMoveKind.KNOCKBACK, ServerMoveKind.PLATFORM):
            st[rows, f["extra_speed"]] = np.hypot(vel[:, 0], vel[:, 2])
            st[rows, f["extra_until"]] = now + self.config.carry_time
            # The launch applies from wherever the client is: restart its air envelope.
            st[rows, f["launch_v"]] = np.maximum(st[rows, f["launch_v"]], launch)
            st[rows, f["airborne"]] = 0.0
            st[rows, f["ground_y"]] = np.maximum(st[rows, f["ground_y"]], self._ref[rows, 1])
        else:
            # A respawn/teleport cancels any setback in flight: the new state supersedes it.
            st[rows, f["setback_pending"]] = 0.0

    # -- the tick ----------------------------------------------------------------------------
    def _support(self, feet: FloatArray) -> np.ndarray:
        cfg = self.config
        if self.collision is None:
            tight = feet[:, 1] <= cfg.ground_tolerance
            loose = feet[:, 1] <= cfg.rejump_tolerance
        else:
            tight = self._bool_query(feet, cfg.ground_tolerance)
            loose = self._bool_query(feet, cfg.rejump_tolerance) | tight
        return (tight.astype(np.uint8) * 1) | (loose.astype(np.uint8) * 2)

    def _bool_query(self, feet: FloatArray, tol: float) -> np.ndarray:
        assert self.collision is not None
        out = np.asarray(self.collision.supported(feet, self.config.radius, tol))
        if out.shape != (len(feet),):
            raise ValueError(f"collision.supported returned shape {out.shape}")
        return out.astype(bool)

    def _sweep_once(self, start: FloatArray, end: FloatArray) -> tuple[FloatArray, FloatArray]:
        assert self.collision is not None
        n = len(start)
        toi, normal = self.collision.sweep(start, end, self.config.radius, self.config.height)
        toi = np.ascontiguousarray(toi, dtype=np.float64)
        normal = np.ascontiguousarray(normal, dtype=np.float64)
        if toi.shape != (n,) or normal.shape != (n, 3):
            raise ValueError("collision.sweep returned wrong shapes")
        # NaN toi fails every comparison below and in the kernel, so it reads as "no hit";
        # normals are only used (and cleaned) on hit rows.
        return toi, normal

    def _sweep(
        self, start: FloatArray, end: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(toi, penetration depth, normal) of the capsule path start -> end.

        The depth is how far the path goes below the surfaces it crosses: with the entry
        face (forward sweep) and the exit face (reverse sweep), the deepest point is where the
        two linear depths meet. Clipping an edge gives a small depth, passing a wall a depth of
        half its thickness, and sliding along or pushing against a wall none.
        """
        n = len(start)
        depth = np.zeros(n)
        if self.collision is None or n == 0:
            return np.full(n, np.inf), depth, np.zeros((n, 3))
        toi, normal = self._sweep_once(start, end)
        hit = np.flatnonzero((toi >= 0.0) & (toi <= 1.0))
        if len(hit):
            normal = normal.copy()
            normal[hit] = np.nan_to_num(normal[hit], nan=0.0, posinf=0.0, neginf=0.0)
            d = end[hit] - start[hit]
            a1 = np.maximum(-(d * normal[hit]).sum(axis=1), 0.0)  # depth gained per unit t
            t1 = toi[hit]
            toi_r, normal_r = self._sweep_once(end[hit], start[hit])
            normal_r = np.nan_to_num(normal_r, nan=0.0, posinf=0.0, neginf=0.0)
            t2 = 1.0 - toi_r
            b2 = np.maximum((d * normal_r).sum(axis=1), 0.0)
            exits = (toi_r > 0.0) & (toi_r <= 1.0) & (t2 > t1) & (a1 + b2 > 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                through = a1 * b2 * (t2 - t1) / (a1 + b2)
            depth[hit] = np.where(exits, through, a1 * (1.0 - t1))
        return toi, depth, normal

    def step(self, batch: Any) -> StepResult:
        """Checks one tick of player updates, rows in order.

        Parameters
        ----------
        batch : mapping or object
            ``player_id`` int[n], ``position`` float[n, 3] (feet), ``client_time`` float[n]
            and ``server_time`` float[n] (receive time), seconds; optional ``velocity``
            float[n, 3] and ``state`` (accepted, not trusted). A player may appear in many
            rows (a burst after a lag spike); its rows are checked in order.

        Returns
        -------
        StepResult

        Raises
        ------
        TypeError, ValueError
            Only for a malformed batch (missing key, wrong dtype/shape, lengths differ). Bad
            *rows* (NaN, out-of-world, time going backwards, unknown player) are rejected
            per row with a :class:`Reason` and never fail the batch.
        """
        ids = _core.as_ids(_get(batch, "player_id"), "player_id")
        pos = _float_rows(_get(batch, "position"), "position", 3)
        ct = _float_rows(_get(batch, "client_time"), "client_time", 0)
        st = _float_rows(_get(batch, "server_time"), "server_time", 0)
        n = len(ids)
        for name, arr in (("position", pos), ("client_time", ct), ("server_time", st)):
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} rows but player_id has {n}")
        vel = _get(batch, "velocity", required=False)
        if vel is not None and len(_float_rows(vel, "velocity", 3)) != n:
            raise ValueError(f"velocity has a different number of rows than player_id ({n})")

        slots = self._index.lookup(ids)
        accepted = np.zeros(n, dtype=np.uint8)
        reason = np.full(n, int(Reason.UNKNOWN_PLAYER), dtype=np.int64)
        setback = np.full((n, 3), np.nan)
        evidence = np.zeros((n, 4))
        occ, n_rounds, n_unknown = _movement.occurrence(slots, len(self._index))
        # Sanitised copy for the collision queries: hostile rows never reach the world.
        if n and np.abs(pos).max() <= _core.MAX_COORDINATE:  # NaN fails this: slow path
            finite = np.ones(n, dtype=bool)
        else:
            finite = np.isfinite(pos).all(axis=1) & (np.abs(pos) <= _core.MAX_COORDINATE).all(
                axis=1
            )
        pend_col = _movement.STATE_FIELDS.index("pending")
        simple = n_rounds == 1 and n_unknown == 0  # one row per player, all known
        for r in range(n_rounds):
            rows = np.arange(n) if simple else np.flatnonzero(occ == r)
            s = slots if simple else slots[rows]
            p = pos if simple else pos[rows]
            q = p if finite[rows].all() else np.where(finite[rows, None], p, self._ref[s])
            support = self._support(q)
            toi_a, d_a, n_a = self._sweep(self._ref[s], q)
            toi_b = np.full(len(rows), np.inf)
            d_b = np.zeros(len(rows))
            n_b = np.zeros((len(rows), 3))
            pend = np.flatnonzero(self._state[s, pend_col] != 0.0)
            if len(pend):
                tb, db, nb = self._sweep(self._pend[s[pend]], q[pend])
                toi_b[pend] = tb
                d_b[pend] = db
                n_b[pend] = nb
            acc_r = np.zeros(len(rows), dtype=np.uint8)
            rea_r = np.zeros(len(rows), dtype=np.int64)
            sb_r = np.zeros((len(rows), 3))
            ev_r = np.zeros((len(rows), 4))
            _movement.movement_round(
                np.ascontiguousarray(s),
                np.ascontiguousarray(p),
                np.ascontiguousarray(ct[rows]),
                np.ascontiguousarray(st[rows]),
                support,
                toi_a,
                d_a,
                np.ascontiguousarray(n_a),
                toi_b,
                d_b,
                n_b,
                self._cfg,
                self._ref,
                self._pend,
                self._state,
                self._levels,
                self._counters,
                acc_r,
                rea_r,
                sb_r,
                ev_r,
            )
            ok = acc_r.view(bool)
            sb_r[ok] = p[ok]
            if simple:
                accepted, reason, setback, evidence = acc_r, rea_r, sb_r, ev_r
            else:
                accepted[rows] = acc_r
                reason[rows] = rea_r
                setback[rows] = sb_r
                evidence[rows] = ev_r
        return self._finish(ids, slots, occ, st, accepted, reason, setback, evidence)

    def _finish(
        self,
        ids: np.ndarray,
        slots: np.ndarray,
        occ: np.ndarray,
        st: FloatArray,
        accepted: np.ndarray,
        reason: np.ndarray,
        setback: FloatArray,
        evidence: FloatArray,
    ) -> StepResult:
        cfg = self.config
        n = len(ids)
        known = slots >= 0
        firsts = occ == 0  # each known player's first row, in batch order
        players = ids[firsts]
        pslots = slots[firsts]
        levels = self._levels[pslots].copy()
        actions = np.zeros(len(players), dtype=np.int8)
        violating = (reason >= Reason.SPEED) & (reason <= Reason.TIMER)
        corr = [""] * n
        events: list[dict[str, Any]] = []
        if violating.any():
            vp = set(ids[violating].tolist())
            for j, pid in enumerate(players.tolist()):
                if pid in vp:
                    actions[j] = Action.SETBACK
            for i in np.flatnonzero(violating).tolist():
                cid = self._corr("mv")
                corr[i] = cid
                pid = int(ids[i])
                self._evidence.setdefault(pid, deque(maxlen=cfg.evidence_per_player)).append(cid)
                events.append(
                    {
                        "time": float(st[i]),
                        "player": pid,
                        "check": Reason(int(reason[i])).name.lower(),
                        "measured": float(evidence[i, 1]),
                        "allowed": float(evidence[i, 2]),
                        "excess": float(evidence[i, 0]),
                        "level": float(evidence[i, 3]),
                        "action": "drop" if reason[i] == Reason.TIMER else "setback",
                        "correlation_id": cid,
                        "setback": setback[i].tolist(),
                    }
                )
        # Common case first: nobody near a threshold (one pass over the levels).
        high = len(levels) > 0 and levels.max() >= min(cfg.kick_level, cfg.ban_level / 5)
        if high:
            counts = self._counters[pslots, 0]
            kick = (levels >= cfg.kick_level).any(axis=1) & (counts >= cfg.kick_min_events)
            ban = (levels.sum(axis=1) >= cfg.ban_level) & (counts >= cfg.ban_min_events)
        if high and (kick.any() or ban.any()):
            last_time: dict[int, float] = {}
            for i in range(n):
                if known[i] and math.isfinite(st[i]):
                    last_time[int(ids[i])] = float(st[i])
            for j in np.flatnonzero(kick | ban).tolist():
                pid = int(players[j])
                worst = Check(int(np.argmax(levels[j]))).name.lower()
                t = last_time.get(pid, float(self._state[pslots[j], 1]))
                if ban[j]:
                    actions[j] = Action.BAN
                    if not self.bans.is_banned(pid):
                        self.bans.ban(pid, t, worst, list(self._evidence.get(pid, ())))
                else:
                    actions[j] = Action.KICK
                events.append(
                    {
                        "time": t,
                        "player": pid,
                        "check": worst,
                        "measured": float(levels[j].max()),
                        "allowed": cfg.kick_level if not ban[j] else cfg.ban_level,
                        "action": "ban" if ban[j] else "kick",
                        "correlation_id": self._corr("act"),
                        "evidence": list(self._evidence.get(pid, ())),
                    }
                )
        if events and self.audit is not None:
            self.audit.write(events)
        return StepResult(
            accepted=accepted.astype(bool),
            setback=setback,
            reason=reason.astype(np.int8),
            players=players,
            levels=levels,
            actions=actions,
            correlation_id=corr,
        )

    def _corr(self, prefix: str) -> str:
        if self.audit is not None:
            return self.audit.new_correlation_id(prefix)
        return f"{prefix}-{next(self._seq)}"

    def with_config(self, **changes: Any) -> MovementConfig:
        """A copy of the config with some fields changed (convenience for servers)."""
        return replace(self.config, **changes)
