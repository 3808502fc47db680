# SPDX-License-Identifier: MIT
"""Server-side placement validation: "may this player put this item here?".

The client only names a kind, a pose and (optionally) the size it believes the item has; the
server decides from its own state. Rules run vectorised over a whole batch, in this order
(the first failing rule is the reason): replay/duplicate request ids, rate limit, known player
and kind, finite input, catalog size, rotation, world bounds, grid, plot and role, reach from
the *server-known* eye position, line of sight, overlap with items (exact narrow phase, flush
is legal), overlap with players, then the in-order pass that resolves conflicts inside the
batch (first request wins), support, per-player/per-plot limits and inventory.

``PlacementValidator.validate`` never changes the world; ``World.commit(results)`` applies the
accepted requests atomically.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from fbsim import _core
from fbsim._kernels import resolve_in_order
from fbsim.geometry import Boxes
from fbsim.world import Action, World


class Reason(enum.IntEnum):
    """Why a request was refused (OK when it was accepted)."""

    OK = 0
    STALE_REQUEST = 1
    RATE_LIMITED = 2
    UNKNOWN_PLAYER = 3
    UNKNOWN_KIND = 4
    NOT_FINITE = 5
    SIZE_MISMATCH = 6
    BAD_ROTATION = 7
    ROTATION_NOT_ALLOWED = 8
    OUT_OF_BOUNDS = 9
    OFF_GRID = 10
    NO_PLOT = 11
    NOT_PERMITTED = 12
    OUT_OF_REACH = 13
    NO_LINE_OF_SIGHT = 14
    OVERLAPS_ITEM = 15
    OVERLAPS_PLAYER = 16
    BATCH_CONFLICT = 17
    UNSUPPORTED = 18
    PLAYER_LIMIT = 19
    PLOT_LIMIT = 20
    NO_INVENTORY = 21
    SAME_KIND_RATE = 22
    NO_SUCH_ITEM = 23


MESSAGES = {
    Reason.OK: "accepted",
    Reason.STALE_REQUEST: "request id is older than the replay window",
    Reason.RATE_LIMITED: "placing too fast (rate limit)",
    Reason.UNKNOWN_PLAYER: "player is not connected",
    Reason.UNKNOWN_KIND: "kind is not in the catalog",
    Reason.NOT_FINITE: "position, rotation or size is not finite or out of range",
    Reason.SIZE_MISMATCH: "claimed size is not a catalog size for this kind",
    Reason.BAD_ROTATION: "rotation is not a unit quaternion",
    Reason.ROTATION_NOT_ALLOWED: "rotation is not allowed for this kind",
    Reason.OUT_OF_BOUNDS: "item would leave the world bounds",
    Reason.OFF_GRID: "item is not on the building grid",
    Reason.NO_PLOT: "item is not inside a single plot",
    Reason.NOT_PERMITTED: "player's role on this plot does not allow building",
    Reason.OUT_OF_REACH: "target is beyond the player's reach",
    Reason.NO_LINE_OF_SIGHT: "an item blocks the line of sight to the target",
    Reason.OVERLAPS_ITEM: "item would overlap an existing item",
    Reason.OVERLAPS_PLAYER: "item would overlap you, or come too near another player",
    Reason.BATCH_CONFLICT: "item overlaps an earlier accepted request in the same batch",
    Reason.UNSUPPORTED: "item must rest on the ground or another item",
    Reason.PLAYER_LIMIT: "player's limit for this kind is reached",
    Reason.PLOT_LIMIT: "plot's limit for this kind is reached",
    Reason.NO_INVENTORY: "player has none of this kind left",
    Reason.SAME_KIND_RATE: "too many items of one kind in the window (duplication rule)",
    Reason.NO_SUCH_ITEM: "the item does not exist (or is already being changed in this batch)",
}


@dataclass(frozen=True)
class PlacementConfig:
    """Tolerances and limits, studs and seconds.

    ``touch_tolerance``: penetration up to this depth is "touching" (flush placement is legal).
    ``rate`` / ``burst``: token bucket per player: a builder may place ``burst`` items at once
    and ``rate`` per second sustained (defaults let a fast builder place 20 items/s for 5 s,
    and stop a client spamming hundreds per second).
    ``same_kind_limit``: the enterprise plan's ITEM_DUPLICATION heuristic as (max, window s):
    a :class:`fbsim.ratelimit.DuplicationDetector` per (player, kind) with
    ``Rule.per_window(max, window)`` (``max`` at once, then ``max / window`` per second); off by
    default: server-owned inventories already make duplication impossible.
    """

    touch_tolerance: float = 1e-3
    support_tolerance: float = 1e-3
    grid_tolerance: float = 1e-3
    plot_tolerance: float = 1e-3  # an item may stick out of its plot by this much
    rotation_tolerance: float = 1e-4  # radians
    unit_tolerance: float = 1e-3  # | |q| - 1 | allowed for a client quaternion
    reach: float = 24.0
    # Other players may already be up to ~0.3 s of walking (16 studs/s) past where the server
    # last saw them: keep new items that far from them, or an honest player walks into an item
    # their client has not received yet (and looks like noclip). Your own position is exact.
    other_player_margin: float = 5.0
    reach_tolerance: float = 1e-6
    los_tolerance: float = 1e-3
    rate: float = 15.0
    burst: float = 40.0
    same_kind_limit: tuple[int, float] | None = None


@dataclass
class PlacementResults:
    """Per-request decisions of one batch (arrays of length n)."""

    world: World
    world_version: int
    request_id: np.ndarray
    player: np.ndarray
    kind: np.ndarray
    position: np.ndarray
    rotation: np.ndarray  # normalised / snapped
    half_extents: np.ndarray
    plot: np.ndarray
    ok: np.ndarray
    reason: np.ndarray
    duplicate: np.ndarray  # replayed request: answered with its first decision, never applied
    detail: np.ndarray  # the measured value behind the reason (e.g. distance), nan if none
    item_id: np.ndarray = field(
        default=None
    )  # new items: filled by World.commit; moves/removals: the item
    committed: bool = False
    action: str = "place"  # "place", "move" or "remove"

    def __len__(self) -> int:
        return len(self.ok)

    def message(self, i: int) -> str:
        """Human-readable decision for request i."""
        r = Reason(int(self.reason[i]))
        text = MESSAGES[r]
        if not math.isnan(self.detail[i]):
            text += f" ({self.detail[i]:.6g})"
        if self.duplicate[i]:
            text = f"duplicate request id {int(self.request_id[i])}: first decision: {text}"
        return text

    def messages(self) -> list[str]:
        return [self.message(i) for i in range(len(self))]


def _as_requests(requests: Mapping, n_name="request_id"):
    """Convert request arrays; shape errors raise, bad values become per-row reasons."""
    if not isinstance(requests, Mapping):
        raise TypeError("requests must be a mapping of arrays (request_id, player, kind, ...)")
    for key in ("request_id", "player", "kind", "position", "rotation"):
        if key not in requests:
            raise ValueError(f"requests is missing {key!r}")
    rid = _core.as_ids(requests["request_id"], "request_id")
    player = _core.as_ids(requests["player"], "player")
    n = len(rid)
    kind = np.asarray(requests["kind"])
    pos = _float_rows(requests["position"], "position", 3)
    rot = _float_rows(requests["rotation"], "rotation", 4)
    size = requests.get("size")
    size = np.full((n, 3), np.nan) if size is None else _float_rows(size, "size", 3)
    for name, arr in (
        ("player", player),
        ("kind", kind),
        ("position", pos),
        ("rotation", rot),
        ("size", size),
    ):
        if len(arr) != n:
            raise ValueError(f"{name} has {len(arr)} rows but {n_name} has {n}")
    return rid, player, kind, pos, rot, size


def _float_rows(obj, name: str, cols: int) -> np.ndarray:
    """(n, cols) float64 that may hold NaN/inf (judged per request, not per batch)."""
    if obj is None:
        raise TypeError(f"{name} must be an array, not None")
    arr = np.asarray(obj)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != cols:
        raise ValueError(f"{name} must have shape (n, {cols}), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


_YAW_STEPS = np.array(
    [[0.0, math.sin(k * math.pi / 4), 0.0, math.cos(k * math.pi / 4)] for k in range(4)]
)


def closest_point_on_boxes(points, centers, quats, half_extents) -> np.ndarray:
    """Closest point of each (oriented) box to each point: clamp in the box frame."""
    mats = _core.quat_to_matrix(quats)
    local = np.einsum("nji,nj->ni", mats, points - centers)  # R^T (p - c)
    clamped = np.clip(local, -half_extents, half_extents)
    return centers + np.einsum("nij,nj->ni", mats, clamped)


class PlacementValidator:
    """Validates placement requests against a World.

    Parameters
    ----------
    world : World
    config : PlacementConfig, optional
    rate_limiter : fbsim.RateLimiter, optional
        Its ``"place"`` rule meters placements, moves and removals per player. Default: a
        limiter with ``config.rate`` / ``config.burst``.
    """

    def __init__(
        self, world: World, config: PlacementConfig | None = None, rate_limiter=None
    ) -> None:
        from fbsim.ratelimit import DuplicationDetector, RateLimiter, Rule

        self.world = world
        self.config = config if config is not None else PlacementConfig()
        # Placements draw from the "place" bucket of a RateLimiter, which a server may share
        # with its other request handlers.
        self.rate_limiter = (
            rate_limiter
            if rate_limiter is not None
            else RateLimiter({"place": Rule(rate=self.config.rate, burst=self.config.burst)})
        )
        # The ITEM_DUPLICATION heuristic is ratelimit's detector keyed by (player, kind).
        self._same_kind = (
            None
            if self.config.same_kind_limit is None
            else DuplicationDetector(Rule.per_window(*self.config.same_kind_limit))
        )
        self.rule_seconds: dict[str, float] = {}  # time spent per rule in the last batch

    def validate(self, requests: Mapping, now: float = 0.0) -> PlacementResults:
        """Decide a batch of placement requests.

        Parameters
        ----------
        requests : mapping of arrays, length n each
            ``request_id`` (int64, per player, increasing), ``player`` (int64), ``kind`` (int
            or name), ``position`` (n, 3) item centre, ``rotation`` (n, 4) quaternion (x, y,
            z, w), optional ``size`` (n, 3) claimed half extents (NaN rows: catalog default).
        now : float
            Server time, seconds (drives the rate limit).

        Returns
        -------
        PlacementResults
            ``ok``, ``reason`` (Reason), ``message(i)``; pass it to ``World.commit``.

        Raises
        ------
        TypeError, ValueError
            Malformed arrays (wrong shapes/dtypes, mismatched lengths). Bad *values* (NaN,
            unknown ids, huge coordinates) are per-request reasons instead: one hostile row
            never fails the batch.
        """
        _check_now(now)
        rid, player, kind_in, pos, rot, size = _as_requests(requests)
        with self.world.lock:
            return self._decide("place", rid, player, kind_in, pos, rot, size, None, now)

    def validate_moves(self, requests: Mapping, now: float = 0.0) -> PlacementResults:
        """Decide a batch of move requests: ``request_id``, ``player``, ``item`` (ids) and the
        new ``position`` (n, 3) / ``rotation`` (n, 4).

        The player needs MOVE_OWN (their own item) or MOVE_ANY on the item's plot and PLACE on
        the target plot; the new pose passes every placement rule, with the item itself
        ignored for overlap, line of sight and support. Size and kind come from the item.
        Same errors as :meth:`validate`; an unknown item is the reason NO_SUCH_ITEM.
        """
        _check_now(now)
        if not isinstance(requests, Mapping) or "item" not in requests:
            raise ValueError("requests must be a mapping with 'item' ids (and request_id, ...)")
        item = _core.as_ids(requests["item"], "item")
        base = {**requests, "kind": np.zeros(len(item), dtype=np.int64)}
        rid, player, _, pos, rot, _ = _as_requests(base)
        if len(item) != len(rid):
            raise ValueError(f"item has {len(item)} rows but request_id has {len(rid)}")
        with self.world.lock:
            rows = self.world._items.index.lookup(item)
            known = rows >= 0
            kind = np.full(len(item), -1, dtype=np.int64)
            kind[known] = self.world._items.column("kind")[rows[known]]
            size = np.full((len(item), 3), np.nan)
            size[known] = self.world._items.column("half_extents")[rows[known]]
            return self._decide("move", rid, player, kind, pos, rot, size, item, now)

    def validate_removals(self, requests: Mapping, now: float = 0.0) -> PlacementResults:
        """Decide a batch of removal requests: ``request_id``, ``player``, ``item``.

        The player needs REMOVE_OWN (their own item) or REMOVE_ANY on the item's plot and must
        reach it. ``World.commit`` removes the accepted items and refunds each to its owner's
        inventory. An item that an earlier accepted row of the batch removes is NO_SUCH_ITEM
        for the later rows.
        """
        _check_now(now)
        if not isinstance(requests, Mapping):
            raise TypeError("requests must be a mapping of arrays (request_id, player, item)")
        for key in ("request_id", "player", "item"):
            if key not in requests:
                raise ValueError(f"requests is missing {key!r}")
        rid = _core.as_ids(requests["request_id"], "request_id")
        player = _core.as_ids(requests["player"], "player")
        item = _core.as_ids(requests["item"], "item")
        n = len(rid)
        for name, arr in (("player", player), ("item", item)):
            if len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} rows but request_id has {n}")
        w, cfg = self.world, self.config
        with w.lock:
            reason = np.zeros(n, dtype=np.int16)
            detail = np.full(n, np.nan)
            duplicate, first_of = self._find_duplicates(player, rid)
            prow = self._replay_rate_player(rid, player, duplicate, reason, now)
            rows = w._items.index.lookup(item)
            _fail(reason, rows < 0, Reason.NO_SUCH_ITEM)
            safe = np.maximum(rows, 0)
            owner = w._items.column("owner")[safe]
            plot = np.where(rows >= 0, w._items.column("plot")[safe], -1)
            roles = w.roles(plot, player)
            mine = owner == player
            allowed = np.where(
                mine, w.allowed(Action.REMOVE_OWN, roles), w.allowed(Action.REMOVE_ANY, roles)
            )
            _fail(reason, ~allowed, Reason.NOT_PERMITTED)
            centers = w._items.column("position")[safe]
            quats = w._items.column("rotation")[safe]
            half = w._items.column("half_extents")[safe]
            eye = self._eyes(prow)
            reach = np.linalg.norm(closest_point_on_boxes(eye, centers, quats, half) - eye, axis=1)
            _fail(
                reason, reach > cfg.reach + cfg.reach_tolerance, Reason.OUT_OF_REACH, detail, reach
            )
            kind = np.where(rows >= 0, w._items.column("kind")[safe], -1)
            # An item removed by an earlier accepted row of the batch is gone for later rows.
            live = np.flatnonzero(reason == 0)
            _, first = np.unique(item[live], return_index=True)
            gone = np.ones(len(live), dtype=bool)
            gone[first] = False
            reason[live[gone]] = Reason.NO_SUCH_ITEM
            ok = self._answer_duplicates(reason, detail, duplicate, first_of, player, rid)
            return PlacementResults(
                world=w,
                world_version=w.version,
                request_id=rid,
                player=player,
                kind=kind,
                position=centers.copy(),
                rotation=quats.copy(),
                half_extents=half.copy(),
                plot=plot,
                ok=ok,
                reason=reason,
                duplicate=duplicate,
                detail=detail,
                item_id=item.copy(),
                action="remove",
            )

    def _eyes(self, prow: np.ndarray) -> np.ndarray:
        """Server-known eye positions of the players at rows `prow` (-1: origin)."""
        w = self.world
        eye = np.zeros((len(prow), 3))
        known = prow >= 0
        eye[known] = w._players.column("position")[prow[known]] + np.array(
            [0.0, w.config.eye_height, 0.0]
        )
        return eye

    def _replay_rate_player(self, rid, player, duplicate, reason, now):
        """Shared first rules: stale ids, unknown players, the rate limit. Returns player rows."""
        w = self.world
        live = ~duplicate
        _fail(
            reason, live & (rid < w.max_request_id(player) - w.REQUEST_WINDOW), Reason.STALE_REQUEST
        )
        prow = w._players.index.lookup(player)
        _fail(reason, prow < 0, Reason.UNKNOWN_PLAYER)
        # Every request of a connected player costs a token, legal or not: a flood of invalid
        # requests must not buy expensive checks. Unknown ids cost nothing (and so cannot
        # grow the bucket table).
        metered = live & (prow >= 0)
        ok_rate = self.rate_limiter.allow(player[metered], "place", now)
        rate_fail = np.zeros(len(rid), dtype=bool)
        rate_fail[np.flatnonzero(metered)[~ok_rate]] = True
        _fail(reason, rate_fail, Reason.RATE_LIMITED)
        return prow

    def _answer_duplicates(self, reason, detail, duplicate, first_of, player, rid) -> np.ndarray:
        """Duplicates answer with the first decision (in this batch or remembered)."""
        ok = reason == 0
        for i in np.flatnonzero(duplicate).tolist():
            j = first_of[i]
            if j >= 0:
                ok[i], reason[i], detail[i] = ok[j], reason[j], detail[j]
            else:
                ok[i], reason[i] = self.world.decision_for(int(player[i]), int(rid[i]))
        return ok

    def _decide(self, action, rid, player, kind_in, pos, rot, size, item, now) -> PlacementResults:
        """The placement rules, shared by placements and moves (`item` = moved item ids)."""
        import time

        w, cfg, cat = self.world, self.config, self.world.catalog
        n = len(rid)
        timer = {}
        exclude = np.full(n, -1, dtype=np.int64) if item is None else item
        reason = np.zeros(n, dtype=np.int16)
        detail = np.full(n, np.nan)

        def fail(mask, why, value=None):
            new = mask & (reason == 0)
            reason[new] = why
            if value is not None:
                detail[new] = np.broadcast_to(value, (n,))[new]
            return new

        t0 = time.perf_counter()
        duplicate, first_of = self._find_duplicates(player, rid)
        prow = self._replay_rate_player(rid, player, duplicate, reason, now)
        timer["replay+rate"] = time.perf_counter() - t0
        if item is not None:
            src_rows = w._items.index.lookup(item)
            _, first = np.unique(item, return_index=True)
            repeated = np.ones(n, dtype=bool)
            repeated[first] = False
            fail((src_rows < 0) | repeated, Reason.NO_SUCH_ITEM)

        t0 = time.perf_counter()
        kind = _kind_ids(cat, kind_in)
        fail(kind < 0, Reason.UNKNOWN_KIND)
        k = np.maximum(kind, 0)
        finite = (
            np.all(np.isfinite(pos) & (np.abs(pos) <= _core.MAX_COORDINATE), axis=1)
            & np.all(np.isfinite(rot) & (np.abs(rot) <= 1e6), axis=1)
            & np.all(np.isfinite(size) | np.isnan(size), axis=1)
        )
        fail(~finite, Reason.NOT_FINITE)
        # Size: the catalog's, never the client's. A claimed size must match exactly.
        half = cat.sizes[k, 0].copy()
        claimed = ~np.any(np.isnan(size), axis=1)
        if action == "move":  # a moved item keeps its own size
            half[claimed] = size[claimed]
        elif claimed.any():
            diff = np.abs(cat.sizes[k] - size[:, None, :]).max(axis=2)  # (n, max_sizes)
            diff[np.isnan(diff)] = np.inf
            best = diff.argmin(axis=1)
            match = diff[np.arange(n), best] <= 1e-9
            fail(claimed & ~match, Reason.SIZE_MISMATCH)
            use = claimed & match
            half[use] = cat.sizes[k[use], best[use]]
        timer["ids+values"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        norm = np.linalg.norm(np.where(np.isfinite(rot), rot, 0.0), axis=1)
        fail(np.abs(norm - 1.0) > cfg.unit_tolerance, Reason.BAD_ROTATION, norm)
        q = rot / np.where(norm > 0, norm, 1.0)[:, None]
        q = self._check_rotation(q, cat.rotation_mode[k], reason, detail)
        timer["rotation"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        good = reason == 0
        safe_pos = np.where(good[:, None], pos, 0.0)
        safe_q = np.where(good[:, None], q, [0.0, 0.0, 0.0, 1.0])
        aabb = _core.obb_to_aabb(safe_pos, safe_q, half)
        lo_w, hi_w = np.asarray(w.config.bounds_lo), np.asarray(w.config.bounds_hi)
        fail(
            np.any(aabb[:, :3] < lo_w, axis=1) | np.any(aabb[:, 3:] > hi_w, axis=1),
            Reason.OUT_OF_BOUNDS,
        )
        g = cat.grid[k]
        with np.errstate(invalid="ignore", divide="ignore"):
            off = np.abs(aabb[:, :3] - np.round(aabb[:, :3] / g[:, None]) * g[:, None])
        off = np.where(g[:, None] > 0, off, 0.0).max(axis=1)
        fail(off > cfg.grid_tolerance, Reason.OFF_GRID, off)
        timer["bounds+grid"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        plot = w._plots_containing(aabb, cfg.plot_tolerance)
        fail(plot < 0, Reason.NO_PLOT)
        roles = w.roles(plot, player)
        fail(~w.allowed(Action.PLACE, roles), Reason.NOT_PERMITTED)
        if item is not None:  # and the right to move this item off its current plot
            safe = np.maximum(src_rows, 0)
            src_plot = np.where(src_rows >= 0, w._items.column("plot")[safe], -1)
            src_roles = w.roles(src_plot, player)
            mine = w._items.column("owner")[safe] == player
            may = np.where(
                mine, w.allowed(Action.MOVE_OWN, src_roles), w.allowed(Action.MOVE_ANY, src_roles)
            )
            fail(~may, Reason.NOT_PERMITTED)
        timer["plot+role"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        eye = self._eyes(prow)
        target = closest_point_on_boxes(eye, safe_pos, safe_q, half)
        reach = np.linalg.norm(target - eye, axis=1)
        fail(reach > cfg.reach + cfg.reach_tolerance, Reason.OUT_OF_REACH, reach)
        timer["reach"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self._check_line_of_sight(eye, target, reach, reason, exclude)
        timer["line_of_sight"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        new_boxes = _BoxRows(safe_pos, safe_q, half)
        self._check_item_overlap(new_boxes, aabb, reason, exclude)
        timer["overlap_items"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        self._check_player_overlap(new_boxes, aabb, reason, player)
        timer["overlap_players"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        supported = self._world_support(new_boxes, aabb, reason, cat.needs_support[k], exclude)
        timer["support"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self._resolve_in_order(
            new_boxes, aabb, reason, supported, player, k, plot, now, action, item
        )
        timer["batch_order"] = time.perf_counter() - t0

        ok = self._answer_duplicates(reason, detail, duplicate, first_of, player, rid)
        self.rule_seconds = timer
        return PlacementResults(
            world=w,
            world_version=w.version,
            request_id=rid,
            player=player,
            kind=kind,
            position=safe_pos,
            rotation=safe_q,
            half_extents=half,
            plot=plot,
            ok=ok,
            reason=reason,
            duplicate=duplicate,
            detail=detail,
            item_id=np.full(n, -1, dtype=np.int64) if item is None else item.copy(),
            action=action,
        )

    # ---- rules ----------------------------------------------------------------------------

    def _find_duplicates(self, player, rid):
        """Rows whose (player, request id) came earlier in the batch or in an earlier batch.
        first_of[i] is the earlier row in this batch, or -1 for a remembered decision."""
        n = len(rid)
        duplicate = np.zeros(n, dtype=bool)
        first_of = np.full(n, -1, dtype=np.int64)
        if n == 0:
            return duplicate, first_of
        keys = np.empty(n, dtype=[("p", "<i8"), ("r", "<i8")])
        keys["p"], keys["r"] = player, rid
        _, first_idx, inv = np.unique(keys, return_index=True, return_inverse=True)
        first = first_idx[inv]
        in_batch = first != np.arange(n)
        duplicate |= in_batch
        first_of[in_batch] = first[in_batch]
        # Remembered ids: only ids at or below a player's max can have been seen before.
        maybe = np.flatnonzero(~in_batch & (rid <= self.world.max_request_id(player)))
        for i in maybe.tolist():
            if self.world.decision_for(int(player[i]), int(rid[i])) is not None:
                duplicate[i] = True
        # A later in-batch duplicate of a remembered request points at the remembered decision.
        remembered = duplicate & ~in_batch
        follow = in_batch & remembered[first]
        first_of[follow] = -1
        return duplicate, first_of

    def _check_rotation(self, q, mode, reason, detail):
        """Snap rotations to the kind's allowed set; refuse those further than the tolerance."""
        cos_tol = math.cos(self.config.rotation_tolerance / 2)
        out = q.copy()
        none = mode == 0
        dot_id = np.abs(q[:, 3])
        bad = none & (dot_id < cos_tol) & (reason == 0)
        out[none] = [0.0, 0.0, 0.0, 1.0]
        yaw = mode == 1
        dots = np.abs(q @ _YAW_STEPS.T)  # |cos(half angle)| to each of the 4 yaw steps
        best = dots.argmax(axis=1)
        bad |= yaw & (dots.max(axis=1) < cos_tol) & (reason == 0)
        out[yaw] = _YAW_STEPS[best[yaw]]
        angle = 2 * np.arccos(np.clip(np.where(none, dot_id, dots.max(axis=1)), 0, 1))
        reason[bad] = Reason.ROTATION_NOT_ALLOWED
        detail[bad] = angle[bad]
        return out

    def _check_line_of_sight(self, eye, target, dist, reason, exclude):
        """Refuse where an existing item's interior lies on the segment eye -> target. Blockers
        are shrunk by los_tolerance so a sight line grazing an edge or face is not blocked."""
        from fbsim.collision import raycast

        w, tol = self.world, self.config.los_tolerance
        live = np.flatnonzero((reason == 0) & (dist > tol))
        if not len(live):
            return
        # Broad phase: items whose AABB the segment crosses; then exact rays vs shrunk boxes.
        dirs_live = (target[live] - eye[live]) / dist[live][:, None]
        offsets, ids = w._item_tree.raycast(eye[live], dirs_live, dist[live])
        if not len(ids):
            return
        q = np.repeat(np.arange(len(live)), np.diff(offsets))
        keep = ids != exclude[live[q]]
        q, ids = q[keep], ids[keep]
        rows = w._items.rows(ids)
        half = np.maximum(w._items.column("half_extents")[rows] - tol, 0.0)
        blockers = Boxes(w._items.column("position")[rows], w._items.column("rotation")[rows], half)
        req = live[q]
        t, _ = raycast(blockers, eye[req], dirs_live[q], dist[req])
        hit = np.isfinite(t)
        blocked = np.zeros(len(reason), dtype=bool)
        blocked[req[hit]] = True
        new = blocked & (reason == 0)
        reason[new] = Reason.NO_LINE_OF_SIGHT

    def _check_item_overlap(self, new_boxes, aabb, reason, exclude):
        from fbsim.collision import overlap

        w = self.world
        live = np.flatnonzero(reason == 0)
        if not len(live):
            return
        offsets, ids = w._item_tree.query_aabb(aabb[live, :3], aabb[live, 3:])
        if not len(ids):
            return
        q = live[np.repeat(np.arange(len(live)), np.diff(offsets))]
        keep = ids != exclude[q]
        q, ids = q[keep], ids[keep]
        if not len(ids):
            return
        rows = w._items.rows(ids)
        hit = overlap(new_boxes.take(q), w.item_boxes(rows), tol=self.config.touch_tolerance)
        bad = np.zeros(len(reason), dtype=bool)
        bad[q[hit]] = True
        reason[bad & (reason == 0)] = Reason.OVERLAPS_ITEM

    def _check_player_overlap(self, new_boxes, aabb, reason, player):
        """Refuse items overlapping the requester's capsule (beyond the touch tolerance) or
        coming within other_player_margin of another player's capsule."""
        from fbsim.collision import distance, overlap

        w, cfg = self.world, self.config
        live = np.flatnonzero(reason == 0)
        if not len(live) or w.player_count == 0:
            return
        m = cfg.other_player_margin
        offsets, ids = w._player_tree.query_aabb(aabb[live, :3] - m, aabb[live, 3:] + m)
        if not len(ids):
            return
        q = live[np.repeat(np.arange(len(live)), np.diff(offsets))]
        rows = w._players.rows(ids)
        boxes, caps = new_boxes.take(q), w.player_capsules(rows)
        own = ids == player[q]
        hit = np.zeros(len(q), dtype=bool)
        if own.any():
            sel = np.flatnonzero(own)
            hit[sel] = overlap(boxes.take(sel), caps.take(sel), tol=cfg.touch_tolerance)
        if (~own).any():
            sel = np.flatnonzero(~own)
            d, _, _ = distance(boxes.take(sel), caps.take(sel))
            hit[sel] = d < m
        bad = np.zeros(len(reason), dtype=bool)
        bad[q[hit]] = True
        reason[bad & (reason == 0)] = Reason.OVERLAPS_PLAYER

    def _world_support(self, new_boxes, aabb, reason, needs, exclude):
        """Supported by the ground or an existing item (within support_tolerance)."""
        from fbsim.collision import distance

        w, tol = self.world, self.config.support_tolerance
        supported = ~needs | (aabb[:, 1] <= w.config.ground_y + tol)
        live = np.flatnonzero((reason == 0) & ~supported)
        if not len(live):
            return supported
        offsets, ids = w._item_tree.query_aabb(aabb[live, :3] - tol, aabb[live, 3:] + tol)
        q = live[np.repeat(np.arange(len(live)), np.diff(offsets))]
        keep = ids != exclude[q]
        q, ids = q[keep], ids[keep]
        if len(ids):
            d, _, _ = distance(new_boxes.take(q), w.item_boxes(w._items.rows(ids)))
            supported[q[d <= tol]] = True
        return supported

    def _resolve_in_order(
        self, new_boxes, aabb, reason, supported, player, kind, plot, now, action="place", item=None
    ):
        """The sequential part: first request wins conflicts, stacked items in one batch
        support each other, and limits/inventory count earlier accepted requests."""
        from fbsim.collision import distance, overlap
        from fbsim.spatial import SpatialHash

        w, cat, cfg = self.world, self.world.catalog, self.config
        live = np.flatnonzero(reason == 0)
        if not len(live):
            return
        # Pairs of live requests whose AABBs come within the support tolerance.
        tree = SpatialHash()
        tol = cfg.support_tolerance
        tree.insert(live, aabb[live, :3] - tol, aabb[live, 3:] + tol)
        pairs = tree.pairs()
        conflicts = supports = np.empty((0, 2), dtype=np.int64)
        if len(pairs):
            a, b = pairs[:, 0], pairs[:, 1]  # a < b: a is the earlier request
            ba, bb = new_boxes.take(a), new_boxes.take(b)
            hit = overlap(ba, bb, tol=cfg.touch_tolerance)
            d, _, _ = distance(ba, bb)
            conflicts = pairs[hit]
            supports = pairs[~hit & (d <= tol)]
        n = len(reason)
        conf_off, conf_idx = _csr_by_target(conflicts, n)
        sup_off, sup_idx = _csr_by_target(supports, n)
        # Dense rows for players and plots so the kernel counts in small arrays.
        pu, pinv = np.unique(player[live], return_inverse=True)
        qu, qinv = np.unique(plot[live], return_inverse=True)
        pdense = np.zeros(n, dtype=np.int64)
        qdense = np.zeros(n, dtype=np.int64)
        pdense[live] = pinv
        qdense[live] = qinv
        count_player = np.stack([w.placed_counts(player_id=int(p)) for p in pu.tolist()])
        count_plot = np.stack([w.placed_counts(plot_id=int(q)) for q in qu.tolist()])
        inventory = np.stack([w.inventory(int(p)) for p in pu.tolist()])
        source = np.full(n, -1, dtype=np.int64)
        if action == "move":
            src_plot = w._items.column("plot")[np.maximum(w._items.index.lookup(item[live]), 0)]
            # Dense index of the source plot in qu, or -1 when it is not a target of the batch.
            pos = np.minimum(np.searchsorted(qu, src_plot), len(qu) - 1)
            source[live] = np.where(qu[pos] == src_plot, pos, -1)
        accepted = np.zeros(n, dtype=np.uint8)
        resolve_in_order(
            live.astype(np.int64),
            conf_off,
            conf_idx,
            sup_off,
            sup_idx,
            supported.astype(np.uint8),
            pdense,
            np.ascontiguousarray(kind, dtype=np.int64),
            qdense,
            source,
            count_player,
            count_plot,
            inventory,
            cat.max_per_player,
            cat.max_per_plot,
            action == "move",
            reason,
            accepted,
            int(Reason.BATCH_CONFLICT),
            int(Reason.UNSUPPORTED),
            int(Reason.PLAYER_LIMIT),
            int(Reason.PLOT_LIMIT),
            int(Reason.NO_INVENTORY),
        )
        if self._same_kind is not None and action == "place":
            # The enterprise plan's duplication heuristic sits on top of the batch decision.
            acc = np.flatnonzero(accepted)
            if len(acc):
                dupe = self._same_kind.observe(player[acc], kind[acc], now)
                reason[acc[dupe]] = Reason.SAME_KIND_RATE


def _csr_by_target(pairs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR of (earlier, later) request pairs keyed by the later request."""
    order = np.argsort(pairs[:, 1], kind="stable")
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pairs[:, 1], minlength=n), out=offsets[1:])
    return offsets, np.ascontiguousarray(pairs[order, 0], dtype=np.int64)


def _check_now(now) -> None:
    if isinstance(now, bool) or not (
        isinstance(now, (int, float, np.floating)) and math.isfinite(now)
    ):
        raise ValueError("now must be a finite number of seconds")


def _fail(reason, mask, why, detail=None, value=None) -> None:
    new = mask & (reason == 0)
    reason[new] = why
    if detail is not None and value is not None:
        detail[new] = value[new]


def _kind_ids(cat, kind_in) -> np.ndarray:
    """Catalog ids, -1 for unknown kinds (names or ints)."""
    arr = np.asarray(kind_in)
    if arr.dtype.kind in "US":
        return np.array([cat._by_name.get(str(s), -1) for s in arr.tolist()], dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"kind must be integers or names, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    out[(out < 0) | (out >= len(cat))] = -1
    return out


class _BoxRows:
    """Box batch rows without re-validation for every subset."""

    def __init__(self, centers, quats, half_extents):
        self.centers, self.quats, self.half_extents = centers, quats, half_extents

    def take(self, idx) -> Boxes:
        return Boxes(self.centers[idx], self.quats[idx], self.half_extents[idx])
