# SPDX-License-Identifier: MIT
"""A simulated server tick loop: a generated world, honest builders and walkers, and cheaters.

Everything the server decides goes through the public API exactly as a real server would:
placements through ``PlacementValidator.validate`` + ``World.commit``, movement packets through
``MovementChecker.step`` (with the world as its collision queries), NPC/bot paths through
``fbsim.pathfinding`` on a grid made from the world's items. The bots are the "clients": their
time is not counted in the server's tick time.

The network model: each player has a base latency (20-300 ms) with jitter; packets are
delivered in order; some honest players suffer a 1-2 s lag spike (packets held, then delivered
in a burst). Movement packets are sent every tick (60 Hz).

Every tick is recorded to a JSON-lines log (with a world snapshot taken at the start) so that
``fbsim replay LOG`` re-runs the same checks and must reach the same verdicts.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from fbsim import pathfinding
from fbsim._series import TickSeries, Track
from fbsim.audit import AuditLog
from fbsim.catalog import default_catalog
from fbsim.movement import MovementChecker
from fbsim.movement import Reason as MoveReason
from fbsim.placement import PlacementValidator, Reason
from fbsim.world import World

CHEAT_KINDS = ("speed1.3", "speed2", "teleport", "fly", "noclip", "timer", "flood")
WALK_SPEED = 16.0
GRAVITY = 196.2
JUMP_SPEED = math.sqrt(2 * GRAVITY * 7.2)
PLOT = 96  # studs per plot side
ROAD = 8  # studs of road between plots
CHEAT_START = 1.0  # seconds into the run when cheaters start cheating
MOVE_FLAGS = np.array(
    [
        r
        in (
            MoveReason.SPEED,
            MoveReason.TELEPORT,
            MoveReason.FLY,
            MoveReason.NOCLIP,
            MoveReason.TIMER,
        )
        for r in MoveReason
    ]
)


@dataclass
class SimulationConfig:
    """What to simulate. Times in seconds, distances in studs."""

    ticks: int = 600
    tick_rate: float = 60.0
    items: int = 50_000
    players: int = 200
    builder_share: float = 0.3
    cheaters_per_kind: int = 1
    cheat_kinds: tuple[str, ...] = CHEAT_KINDS
    seed: int = 0
    realtime: bool = False
    log_path: str | None = None
    audit_path: str | None = None
    progress: bool = True
    metrics_port: int | None = None  # serve Prometheus metrics on 127.0.0.1:PORT
    servers: int | None = None  # also shard the world over this many servers and report

    def check(self) -> None:
        if self.ticks < 1:
            raise ValueError("ticks must be >= 1")
        if not 1 <= self.tick_rate <= 1000:
            raise ValueError("tick_rate must be in [1, 1000]")
        if not 0 <= self.items <= 1_000_000:
            raise ValueError("items must be in [0, 1,000,000]")
        if self.players < 1:
            raise ValueError("players must be >= 1")
        unknown = set(self.cheat_kinds) - set(CHEAT_KINDS)
        if unknown:
            raise ValueError(f"unknown cheat kinds {sorted(unknown)}; choose from {CHEAT_KINDS}")
        if self.servers is not None and not 1 <= self.servers <= 65536:
            raise ValueError("servers must be in [1, 65536]")
        if self.players < self.cheaters_per_kind * len(self.cheat_kinds) + 1:
            raise ValueError("players must exceed the number of cheaters")


# ---- the world ---------------------------------------------------------------------------------


@dataclass
class Layout:
    """Where things are: plot grid, rooms (for noclip targets) and the walkable grid."""

    plots_per_side: int
    origin: float  # world x/z of grid cell (0, 0)
    rooms: list[tuple[int, int, int, int, int]] = field(default_factory=list)  # x0, z0, w, d, h
    walkable: np.ndarray | None = None  # bool[H, W] over x/z at 1 stud; True = walkable

    @property
    def size(self) -> int:
        return self.plots_per_side * (PLOT + ROAD)


def build_world(cfg: SimulationConfig, rng: np.random.Generator) -> tuple[World, Layout]:
    """Plots on a grid, each with rooms of brick walls (a door in each), up to cfg.items."""
    per_plot = 2600  # bricks in a plot's rooms on average
    n_plots = max(4, math.ceil(cfg.items / per_plot))
    side = math.ceil(math.sqrt(n_plots))
    layout = Layout(side, origin=-(side * (PLOT + ROAD)) / 2)
    world = World(default_catalog())
    lo, hi = [], []
    for px in range(side):
        for pz in range(side):
            x0 = layout.origin + px * (PLOT + ROAD) + ROAD / 2
            z0 = layout.origin + pz * (PLOT + ROAD) + ROAD / 2
            lo.append([x0, z0])
            hi.append([x0 + PLOT, z0 + PLOT])
    world.add_plots(np.arange(side * side), lo, hi, owners=-1)
    cells = []
    remaining = cfg.items
    plot_order = rng.permutation(side * side)
    for plot in plot_order:
        if remaining <= 0:
            break
        x0, z0 = lo[plot]
        for rx in range(3):
            for rz in range(3):
                if remaining <= 0:
                    break
                w = int(rng.integers(8, 20))
                d = int(rng.integers(8, 20))
                h = int(rng.integers(3, 9))
                bx = int(x0) + 4 + rx * 30 + int(rng.integers(0, 24 - min(w, 23)))
                bz = int(z0) + 4 + rz * 30 + int(rng.integers(0, 24 - min(d, 23)))
                ring = _room_ring(w, d)
                door_side = int(rng.integers(0, 4))
                door = _door_mask(ring, w, d, door_side)
                ys = np.arange(h)
                xs = np.repeat(bx + ring[:, 0], h)
                zs = np.repeat(bz + ring[:, 1], h)
                yy = np.tile(ys, len(ring))
                keep = ~(np.repeat(door, h) & (yy < 3))
                block = np.column_stack([xs[keep] + 0.5, yy[keep] + 0.5, zs[keep] + 0.5])
                block = block[:remaining]
                cells.append(block)
                remaining -= len(block)
                layout.rooms.append((bx, bz, w, d, h))
    centers = np.concatenate(cells) if cells else np.empty((0, 3))
    n = len(centers)
    if n:
        world.add_items(
            np.zeros(n, dtype=np.int64), centers, np.tile([0, 0, 0, 1.0], (n, 1)), owners=-1
        )
    layout.walkable = walkable_grid(world, layout)
    return world, layout


def _room_ring(w: int, d: int) -> np.ndarray:
    """Integer (x, z) cells of a rectangle's perimeter, w x d cells."""
    top = [(x, 0) for x in range(w)]
    bottom = [(x, d - 1) for x in range(w)]
    left = [(0, z) for z in range(1, d - 1)]
    right = [(w - 1, z) for z in range(1, d - 1)]
    return np.array(top + bottom + left + right, dtype=np.int64)


def _door_mask(ring: np.ndarray, w: int, d: int, side: int) -> np.ndarray:
    """A 3-cell-wide door in the middle of one side."""
    if side == 0:
        return (ring[:, 1] == 0) & (np.abs(ring[:, 0] - w // 2) <= 1)
    if side == 1:
        return (ring[:, 1] == d - 1) & (np.abs(ring[:, 0] - w // 2) <= 1)
    if side == 2:
        return (ring[:, 0] == 0) & (np.abs(ring[:, 1] - d // 2) <= 1)
    return (ring[:, 0] == w - 1) & (np.abs(ring[:, 1] - d // 2) <= 1)


def walkable_grid(world: World, layout: Layout, clearance: int = 2) -> np.ndarray:
    """bool[z, x] at 1 stud: voxelize the world's items (conservatively: a cell an item touches
    is blocked) up to head height, then erode by the player's radius (+ margin) so a path
    through cell centres keeps the capsule clear of every item."""
    size = layout.size
    height = math.ceil(world.config.player_height)
    items = world.items()
    occupied = pathfinding.voxelize_boxes(
        items["position"],
        items["rotation"],
        items["half_extents"],
        origin=[layout.origin, 0.0, layout.origin],
        cell_size=1.0,
        shape=(height, size, size),
    )
    blocked = occupied.any(axis=0)
    # Grow by the clearance (a square of side 2c+1 around every blocked cell); cells within
    # the clearance of the layout's edge are blocked too (mode="constant", cval=1).
    grown = ndimage.maximum_filter(blocked, size=2 * clearance + 1, mode="constant", cval=True)
    return ~grown


# ---- the server --------------------------------------------------------------------------------


class Server:
    """The server side of the loop: what a game server calls every tick, and the verdicts.

    Used live by :class:`Simulation` and again by :func:`replay`, which must agree.
    """

    def __init__(
        self, world: World, player_ids: np.ndarray, start_positions: np.ndarray, audit, metrics=None
    ) -> None:
        self.world = world
        self.checker = MovementChecker(collision=world, audit=audit)
        self.checker.add_players(player_ids, start_positions, now=0.0)
        self.validator = PlacementValidator(world)
        self.index = {int(p): i for i, p in enumerate(player_ids)}
        self.first_flag = np.full(len(player_ids), np.inf)
        self.flag_reason = [""] * len(player_ids)
        # Bounded: exact count/total/max, percentiles over the last TICK_WINDOW ticks.
        self.tick_ms: dict[str, TickSeries] = {
            k: TickSeries() for k in ("placement", "movement", "world", "pathfinding", "total")
        }
        self.move_rows = 0
        self.place_rows = 0
        self.place_outcomes: dict[str, int] = {}
        self.metrics = metrics  # optional fbsim.metrics.Metrics (Prometheus)

    def tick(self, now: float, places: dict | None, moves: dict | None, extra_ms: float = 0.0):
        """Validate and apply one tick of requests; returns (placement, movement) results."""
        t0 = time.perf_counter()
        place_res = None
        if places is not None:
            place_res = self.validator.validate(places, now=now)
            self.world.commit(place_res)
        t1 = time.perf_counter()
        move_res = None
        if moves is not None:
            move_res = self.checker.step(moves)
        t2 = time.perf_counter()
        if move_res is not None:
            # The server's view of players (reach, overlap checks) is what it accepted last.
            ids = moves["player_id"]
            last = _last_row_per_id(ids)
            self.world.move_players(ids[last], move_res.setback[last])
        t3 = time.perf_counter()
        times = {
            "placement": (t1 - t0) * 1e3,
            "movement": (t2 - t1) * 1e3,
            "world": (t3 - t2) * 1e3,
            "pathfinding": extra_ms,
        }
        times["total"] = sum(times.values())
        for k, v in times.items():
            self.tick_ms[k].append(v)
        self.move_rows += 0 if moves is None else len(moves["player_id"])
        self.place_rows += 0 if places is None else len(places["player"])
        self._judge(now, place_res, move_res, moves)
        if self.metrics is not None:
            self.metrics.observe_tick(times)
            if move_res is not None:
                name = lambda c: MoveReason(c).name
                self.metrics.count("movement", move_res.reason, name)
                self.metrics.count_violations(move_res.reason, MOVE_FLAGS[move_res.reason], name)
            if place_res is not None:
                self.metrics.count("placement", place_res.reason, lambda c: Reason(c).name)
        return place_res, move_res

    def _flag(self, pid: int, now: float, why: str) -> None:
        i = self.index.get(pid)
        if i is not None and not np.isfinite(self.first_flag[i]):
            self.first_flag[i] = now
            self.flag_reason[i] = why

    def _judge(self, now: float, place_res, move_res, moves) -> None:
        if move_res is not None:
            flagged = MOVE_FLAGS[move_res.reason]
            for pid, reason in zip(
                moves["player_id"][flagged].tolist(), move_res.reason[flagged].tolist(), strict=True
            ):
                self._flag(pid, now, MoveReason(reason).name)
        if place_res is not None:
            names, counts = np.unique(place_res.reason, return_counts=True)
            for r, c in zip(names.tolist(), counts.tolist(), strict=True):
                name = Reason(r).name
                self.place_outcomes[name] = self.place_outcomes.get(name, 0) + c
            for pid in place_res.player[place_res.reason == Reason.RATE_LIMITED].tolist():
                self._flag(pid, now, "RATE_LIMITED")


# ---- the clients -------------------------------------------------------------------------------


@dataclass
class Bots:
    """Client-side state of every simulated player (not the server's view)."""

    ids: np.ndarray
    role: list[str]  # "walker", "builder" or a cheat kind
    pos: np.ndarray  # feet, (n, 3)
    vy: np.ndarray  # vertical speed (jumps, falls)
    speed: np.ndarray  # horizontal speed, studs/s
    latency: np.ndarray
    spike_start: np.ndarray  # lag spike start time (inf: none)
    spike_len: np.ndarray
    last_arrival: np.ndarray
    client_clock: np.ndarray
    plot: np.ndarray  # builders: their plot id
    paths: list[np.ndarray]
    path_i: np.ndarray
    next_place: np.ndarray
    track: list[Track]  # bounded, evenly spaced over the run (for the plot)


class Simulation:
    """Build the world and the players, then run ticks. See the module docstring."""

    def __init__(self, cfg: SimulationConfig) -> None:
        cfg.check()
        self.cfg = cfg
        self.rng = np.random.default_rng(cfg.seed)
        t0 = time.perf_counter()
        self.world, self.layout = build_world(cfg, self.rng)
        self.build_seconds = time.perf_counter() - t0
        self.audit_path = Path(cfg.audit_path or "fbsim-audit.jsonl")
        self.audit_path.unlink(missing_ok=True)
        self.audit = AuditLog(self.audit_path)
        self.bots = self._spawn()
        self.metrics = None
        if cfg.metrics_port is not None:
            from fbsim.metrics import Metrics

            self.metrics = Metrics(cfg.metrics_port)
        self.server = Server(
            self.world, self.bots.ids, self.bots.pos.copy(), self.audit, self.metrics
        )
        self.dt = 1.0 / cfg.tick_rate
        self.inbox: dict[int, list[tuple]] = {}
        self.blinked: set[int] = set()
        self.request_ids = np.zeros(len(self.bots.ids), dtype=np.int64)
        self.sharding = None
        self.shard_ms = TickSeries()
        if cfg.servers is not None:
            self._start_sharding(cfg.servers)
        self.log = None
        if cfg.log_path:
            self._open_log(Path(cfg.log_path))

    # -- spawning --------------------------------------------------------------------------

    def _free_cell(self, near: np.ndarray | None = None, radius: int = 40) -> np.ndarray:
        """World x/z of a random walkable cell centre (near a point if given)."""
        walk = self.layout.walkable
        size = walk.shape[0]
        for _ in range(1000):
            if near is None:
                cx, cz = self.rng.integers(0, size, 2)
            else:
                base = np.floor(near - self.layout.origin).astype(int)
                cx, cz = np.clip(base + self.rng.integers(-radius, radius + 1, 2), 0, size - 1)
            if walk[cz, cx]:
                return np.array([cx + 0.5 + self.layout.origin, cz + 0.5 + self.layout.origin])
        raise RuntimeError("no walkable cell found")

    def _spawn(self) -> Bots:
        cfg, rng, w = self.cfg, self.rng, self.world
        n = cfg.players
        roles: list[str] = []
        for kind in cfg.cheat_kinds:
            roles += [kind] * cfg.cheaters_per_kind
        honest = n - len(roles)
        n_builders = round(honest * cfg.builder_share)
        roles += ["builder"] * n_builders + ["walker"] * (honest - n_builders)
        order = rng.permutation(n)
        roles = [roles[i] for i in order]
        ids = np.arange(1000, 1000 + n, dtype=np.int64)
        pos = np.zeros((n, 3))
        plot = np.full(n, -1, dtype=np.int64)
        plot_ids = w._plots.ids()
        builders = [i for i, r in enumerate(roles) if r == "builder" or r == "flood"]
        for k, i in enumerate(builders):
            plot[i] = plot_ids[k % len(plot_ids)]
        for i in range(n):
            if plot[i] >= 0:
                row = w._plots.rows([plot[i]])[0]
                centre = (w._plots.column("lo")[row] + w._plots.column("hi")[row]) / 2
                xz = self._free_cell(centre, radius=30)
            else:
                xz = self._free_cell()
            pos[i] = [xz[0], 0.0, xz[1]]
        # Builders build on their plot: owner role for the first, builder role for the rest.
        if builders:
            from fbsim.world import Role

            w.set_roles(plot[builders], ids[builders], np.full(len(builders), int(Role.BUILDER)))
        w.add_players(ids, pos)
        w.give(ids, np.zeros(n, dtype=np.int64), np.full(n, 10_000))
        speed = np.full(n, WALK_SPEED) * rng.uniform(0.6, 1.0, n)
        for i, r in enumerate(roles):
            if r == "speed1.3":
                speed[i] = WALK_SPEED * 1.3
            elif r == "speed2":
                speed[i] = WALK_SPEED * 2.0
            elif r in ("teleport", "fly", "noclip", "timer"):
                speed[i] = WALK_SPEED * 0.9
        latency = rng.uniform(0.02, 0.3, n)
        spikes = (rng.random(n) < 0.1) & np.array([r in ("walker", "builder") for r in roles])
        spike_start = np.where(
            spikes, rng.uniform(1.0, max(1.5, cfg.ticks / cfg.tick_rate - 3), n), np.inf
        )
        bots = Bots(
            ids=ids,
            role=roles,
            pos=pos,
            vy=np.zeros(n),
            speed=speed,
            latency=latency,
            spike_start=spike_start,
            spike_len=rng.uniform(1.0, 2.0, n),
            last_arrival=np.zeros(n),
            client_clock=np.zeros(n),
            plot=plot,
            paths=[np.empty((0, 2))] * n,
            path_i=np.zeros(n, dtype=np.int64),
            next_place=rng.uniform(0.2, 1.0, n),
            track=[Track() for _ in range(n)],
        )
        for i, r in enumerate(roles):
            if r == "noclip":
                self._aim_at_wall(bots, i)
        return bots

    def _aim_at_wall(self, bots: Bots, i: int) -> None:
        """Put a noclip cheater 5 studs in front of a room's solid wall, facing it."""
        for bx, bz, w, d, h in self.layout.rooms:
            if h < 6:
                continue
            # Start south of the room's z = bz wall, away from any door on that side.
            x = bx + 1.5 if w > 6 else bx + w / 2
            start = np.array([x, bz - 5.5])
            cell = np.floor(start).astype(int)
            if not self.layout.walkable[cell[1], cell[0]]:
                continue
            bots.pos[i] = [start[0], 0.0, start[1]]
            bots.paths[i] = np.array([[x, bz + d / 2]])  # straight through the wall
            bots.path_i[i] = 0
            return
        bots.role[i] = "walker"  # no suitable wall in a tiny world

    # -- sharding ------------------------------------------------------------------------------

    PLAYER_ENTITY_OFFSET = 1 << 40  # players and items share the sharding's id space
    PLAYER_WEIGHT = 20.0  # a player costs a server far more than a static item

    def _start_sharding(self, n_servers: int) -> None:
        from fbsim.shard import Sharding

        items = self.world.items()
        ids = np.concatenate([items["ids"], self.bots.ids + self.PLAYER_ENTITY_OFFSET])
        pos = np.vstack([items["position"], self.bots.pos])
        weights = np.concatenate(
            [np.ones(len(items["ids"])), np.full(len(self.bots.ids), self.PLAYER_WEIGHT)]
        )
        self.sharding = Sharding(pos, weights, n_servers, ids=ids)

    def _update_sharding(self, moves) -> None:
        if self.sharding is None or moves is None:
            return
        t0 = time.perf_counter()
        ids = moves["player_id"]
        last = _last_row_per_id(ids)
        held = self.world.player_positions(ids[last])  # what the server accepted
        self.sharding.update(ids[last] + self.PLAYER_ENTITY_OFFSET, held)
        self.shard_ms.append((time.perf_counter() - t0) * 1e3)

    # -- log ---------------------------------------------------------------------------------

    def _open_log(self, path: Path) -> None:
        snap = path.with_suffix(path.suffix + ".world")
        self.world.save(snap)
        self.log = path.open("w")
        header = {
            "fbsim_log": 1,
            "config": asdict(self.cfg),
            "world_snapshot": snap.name,
            "players": [
                {"id": int(i), "role": r}
                for i, r in zip(self.bots.ids, self.bots.role, strict=True)
            ],
            "start_positions": self.bots.pos.tolist(),
        }
        self.log.write(json.dumps(header) + "\n")

    # -- the clients' side of a tick ----------------------------------------------------------

    def _plan_paths(self) -> None:
        b = self.bots
        need = [
            i
            for i, r in enumerate(b.role)
            if r not in ("noclip", "builder", "flood") and b.path_i[i] >= len(b.paths[i])
        ]
        if not need:
            return
        size = self.layout.size
        starts, goals = [], []
        for i in need:
            s = np.clip(np.floor(b.pos[i, [2, 0]] - self.layout.origin).astype(int), 0, size - 1)
            g = self._free_cell(b.pos[i, [0, 2]], radius=30)
            starts.append(s)
            goals.append(np.floor(g[::-1] - self.layout.origin).astype(int))
        for i, s, g in zip(need, starts, goals, strict=True):
            if not self.layout.walkable[s[0], s[1]]:
                b.paths[i] = np.array(
                    [[g[1] + 0.5 + self.layout.origin, g[0] + 0.5 + self.layout.origin]]
                )
                b.path_i[i] = 0
                continue
            path, cost = pathfinding.jps(self.layout.walkable, s, g)
            if not np.isfinite(cost) or len(path) < 2:
                b.paths[i] = np.empty((0, 2))
                continue
            b.paths[i] = path[1:, ::-1] + 0.5 + self.layout.origin  # (row, col) -> world (x, z)
            b.path_i[i] = 0

    def _move_clients(self, now: float) -> None:
        b, dt = self.bots, self.dt
        before = b.pos.copy()
        for i, r in enumerate(b.role):
            cheating = now >= CHEAT_START
            step = b.speed[i] * dt
            if r == "timer" and cheating:
                step *= 2  # the fast clock packs two ticks of walking into each real tick
            if r == "fly" and cheating:
                b.pos[i, 1] = min(b.pos[i, 1] + 10.0 * dt, 15.0)
            elif b.pos[i, 1] > 0 or b.vy[i] > 0:  # ballistic flight (jumps, falls)
                b.vy[i] -= GRAVITY * dt
                b.pos[i, 1] = max(0.0, b.pos[i, 1] + b.vy[i] * dt)
                if b.pos[i, 1] == 0.0:
                    b.vy[i] = 0.0
            elif r == "walker" and self.rng.random() < 0.3 * dt:
                b.vy[i] = JUMP_SPEED  # honest jump
            if r == "teleport" and cheating and i not in self.blinked:
                self.blinked.add(i)  # one blink of 30 studs
                b.pos[i, [0, 2]] += [30.0, 0.0]
                b.paths[i] = np.empty((0, 2))
                continue
            if r in ("builder", "flood"):
                continue
            if r == "noclip" and not cheating:
                continue
            while step > 0 and b.path_i[i] < len(b.paths[i]):
                target = b.paths[i][b.path_i[i]]
                delta = target - b.pos[i, [0, 2]]
                dist = math.hypot(delta[0], delta[1])
                if dist <= step:
                    b.pos[i, [0, 2]] = target
                    b.path_i[i] += 1
                    step -= dist
                else:
                    b.pos[i, [0, 2]] += delta * (step / dist)
                    step = 0
        self._client_physics(before)

    def _client_physics(self, before: np.ndarray) -> None:
        """Honest clients collide with items (a real client's physics would stop them): a walker
        whose step would enter an item stops at the contact and plans a new path. Cheaters skip
        this, which is what noclip is."""
        b = self.bots
        honest = np.array([r in ("walker", "builder") for r in b.role])
        moved = honest & np.any(b.pos != before, axis=1)
        idx = np.flatnonzero(moved)
        if not len(idx):
            return
        toi, normal = self.world.sweep(before[idx], b.pos[idx], 1.0, 5.0)
        d = b.pos[idx] - before[idx]
        blocked = (toi <= 1.0) & (np.sum(d * normal, axis=1) < 0.0)
        for k in np.flatnonzero(blocked).tolist():
            i = idx[k]
            back = max(0.0, toi[k] - 1e-3)
            b.pos[i] = before[i] + back * d[k]
            if normal[k, 1] > 0.5:  # landed on top of an item: stand on it
                b.vy[i] = 0.0
            else:
                b.paths[i] = np.empty((0, 2))  # walked into something: re-plan around it

    def mark_blocked(
        self, centers: np.ndarray, half_extents: np.ndarray, clearance: int = 2
    ) -> None:
        """Keep the walkable grid current as items are placed (cells + clearance)."""
        walk, o = self.layout.walkable, self.layout.origin
        size = walk.shape[0]
        lo = np.floor(centers[:, [0, 2]] - half_extents[:, [0, 2]] - o).astype(int) - clearance
        hi = np.ceil(centers[:, [0, 2]] + half_extents[:, [0, 2]] - o).astype(int) + clearance
        lo = np.clip(lo, 0, size)
        hi = np.clip(hi, 0, size)
        for (x0, z0), (x1, z1) in zip(lo.tolist(), hi.tolist(), strict=True):
            walk[z0:z1, x0:x1] = False

    def _send_packets(self, now: float) -> None:
        """Each client sends its position; the network delivers it later, in order."""
        b, cfg = self.bots, self.cfg
        n = len(b.ids)
        reps = np.ones(n, dtype=np.int64)
        for i, r in enumerate(b.role):
            if r == "timer" and now >= CHEAT_START:
                reps[i] = 2
        for rep in range(int(reps.max())):
            send = reps > rep
            idx = np.flatnonzero(send)
            b.client_clock[idx] += self.dt
            arrival = now + b.latency[idx] + self.rng.uniform(0, 0.01, len(idx))
            in_spike = (now >= b.spike_start[idx]) & (now < b.spike_start[idx] + b.spike_len[idx])
            # Held packets leave together when the spike ends, and still need the latency.
            arrival[in_spike] = (b.spike_start[idx] + b.spike_len[idx] + b.latency[idx])[in_spike]
            arrival = np.maximum(arrival, b.last_arrival[idx])  # reliable, ordered channel
            b.last_arrival[idx] = arrival
            ticks = np.ceil(arrival * cfg.tick_rate - 1e-9).astype(np.int64)
            for t in np.unique(ticks).tolist():
                sel = ticks == t
                self.inbox.setdefault(t, []).append(
                    (
                        b.ids[idx[sel]],
                        b.pos[idx[sel]].copy(),
                        b.client_clock[idx[sel]].copy(),
                        arrival[sel],
                    )
                )

    def _placement_requests(self, now: float) -> dict | None:
        b, rng = self.bots, self.rng
        rows = []
        for i, r in enumerate(b.role):
            if r == "flood" and now >= CHEAT_START:
                count = 10  # 600 requests per second
            elif r == "builder" and now >= b.next_place[i]:
                count = 1
                b.next_place[i] = now + rng.uniform(0.15, 0.5)
            else:
                continue
            for _ in range(count):
                off = rng.integers(-5, 6, 2).astype(float)
                cell = np.floor(b.pos[i, [0, 2]]) + off + 0.5
                y = 0.5 + float(rng.integers(0, 2))
                size = [np.nan] * 3
                roll = rng.random()
                if r == "builder" and roll < 0.05:
                    cell += 60.0  # out of reach (and maybe another plot)
                elif r == "builder" and roll < 0.1:
                    size = [4.0, 4.0, 4.0]  # claims a bigger brick than the catalog's
                rows.append((i, cell, y, size))
        if not rows:
            return None
        idx = np.array([r[0] for r in rows])
        rid = np.zeros(len(rows), dtype=np.int64)
        for k, i in enumerate(idx.tolist()):
            rid[k] = self.request_ids[i]
            self.request_ids[i] += 1
        return {
            "request_id": rid,
            "player": b.ids[idx],
            "kind": np.zeros(len(rows), dtype=np.int64),
            "position": np.array([[c[0], y, c[1]] for _, c, y, _ in rows]),
            "rotation": np.tile([0.0, 0.0, 0.0, 1.0], (len(rows), 1)),
            "size": np.array([s for *_, s in rows], dtype=float),
        }

    def _collect_moves(self, tick: int) -> dict | None:
        """The packets the network delivers by this tick, grouped by player in send order."""
        parts = self.inbox.pop(tick, None)
        if not parts:
            return None
        ids = np.concatenate([p[0] for p in parts])
        pos = np.concatenate([p[1] for p in parts])
        ct = np.concatenate([p[2] for p in parts])
        st = np.concatenate([p[3] for p in parts])
        order = np.lexsort((ct, ids))
        return {
            "player_id": ids[order],
            "position": pos[order],
            "client_time": ct[order],
            "server_time": st[order],
        }

    def _apply_setbacks(self, move_res, moves) -> None:
        """Rejected moves put the client back where the server holds it (cheaters only: an
        honest bot that is set back is a false positive, counted, and keeps its own course)."""
        if move_res is None:
            return
        rejected = ~move_res.accepted.astype(bool)
        index = self.server.index
        for pid, sb in zip(
            moves["player_id"][rejected].tolist(), move_res.setback[rejected], strict=True
        ):
            i = index[pid]
            if self.bots.role[i] not in ("walker", "builder"):
                self.bots.pos[i] = sb
                self.bots.vy[i] = 0.0

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> dict:
        cfg = self.cfg
        wall0 = time.perf_counter()
        for tick in range(cfg.ticks):
            now = tick * self.dt
            tp = time.perf_counter()
            self._plan_paths()
            path_ms = (time.perf_counter() - tp) * 1e3
            self._move_clients(now)
            self._send_packets(now)
            places = self._placement_requests(now)
            moves = self._collect_moves(tick)
            place_res, move_res = self.server.tick(now, places, moves, extra_ms=path_ms)
            self._apply_setbacks(move_res, moves)
            self._update_sharding(moves)
            if place_res is not None and place_res.ok.any():
                ok = place_res.ok & ~place_res.duplicate
                self.mark_blocked(place_res.position[ok], place_res.half_extents[ok])
            if self.log is not None:
                self._log_tick(tick, now, places, moves)
            for i in range(len(self.bots.ids)):
                if tick % 6 == 0:
                    self.bots.track[i].append(
                        (float(self.bots.pos[i, 0]), float(self.bots.pos[i, 2]))
                    )
            if cfg.progress and (tick % 30 == 0 or tick == cfg.ticks - 1):
                _progress(tick + 1, cfg.ticks)
            if cfg.realtime:
                behind = (tick + 1) * self.dt - (time.perf_counter() - wall0)
                if behind > 0:
                    time.sleep(behind)
        if cfg.progress:
            print(file=sys.stderr)
        if self.log is not None:
            self.log.close()
        self.wall_seconds = time.perf_counter() - wall0
        return self.report()

    def _log_tick(self, tick, now, places, moves) -> None:
        rec = {"tick": tick, "now": now}
        if places is not None:
            rec["places"] = {k: np.asarray(v).tolist() for k, v in places.items()}
        if moves is not None:
            rec["moves"] = {k: np.asarray(v).tolist() for k, v in moves.items()}
        self.log.write(json.dumps(rec) + "\n")

    def report(self) -> dict:
        srv = self.server
        extra = {}
        if self.sharding is not None:
            extra["sharding"] = self.sharding.report(radius=64.0)
            extra["sharding"]["update_ms"] = self.shard_ms.summary()
        return make_report(
            self.cfg,
            self.bots.role,
            srv.first_flag,
            srv.flag_reason,
            srv.tick_ms,
            items=self.world.item_count,
            move_rows=srv.move_rows,
            place_rows=srv.place_rows,
            audit_path=str(self.audit_path),
            extra={
                "placement_outcomes": dict(sorted(srv.place_outcomes.items())),
                "world_build_s": round(self.build_seconds, 3),
                "wall_s": round(getattr(self, "wall_seconds", 0.0), 3),
                **extra,
            },
        )


def make_report(
    cfg, roles, first_flag, flag_reason, tick_ms, items, move_rows, place_rows, audit_path, extra
):
    """The detection and timing report (shared by simulate and replay)."""
    cheaters = []
    honest_flagged = []
    for i, r in enumerate(roles):
        t = float(first_flag[i])
        if r in CHEAT_KINDS:
            caught = bool(np.isfinite(t))
            cheaters.append(
                {
                    "kind": r,
                    "caught": caught,
                    "seconds_to_catch": round(max(0.0, t - CHEAT_START), 4) if caught else None,
                    "check": flag_reason[i] or None,
                }
            )
        elif np.isfinite(t):
            honest_flagged.append(
                {"index": i, "role": r, "at": round(t, 4), "check": flag_reason[i]}
            )

    def pct(values):
        if isinstance(values, TickSeries):
            return values.summary()
        a = np.asarray(values) if len(values) else np.zeros(1)
        return {
            "p50": round(float(np.percentile(a, 50)), 4),
            "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(float(a.max()), 4),
        }

    total = tick_ms["total"]
    total_s = (total.total if isinstance(total, TickSeries) else sum(total)) / 1e3
    return {
        "ticks": cfg.ticks,
        "players": cfg.players,
        "items": items,
        "tick_ms": pct(tick_ms["total"]),
        "subsystem_ms": {k: pct(v) for k, v in tick_ms.items() if k != "total"},
        "requests_per_s": round((move_rows + place_rows) / total_s, 1) if total_s else None,
        "movement_packets": move_rows,
        "placement_requests": place_rows,
        "honest_flagged": len(honest_flagged),
        "honest_flagged_detail": honest_flagged,
        "cheaters": cheaters,
        "audit_log": audit_path,
        **extra,
    }


def _progress(done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r  ticks [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


# ---- replay ---------------------------------------------------------------------------------------


def _arrays(rec: dict, ints: tuple[str, ...]) -> dict:
    return {k: np.asarray(v, dtype=np.int64 if k in ints else np.float64) for k, v in rec.items()}


def replay(log_path: str | Path, audit_path: str | Path | None = None) -> dict:
    """Re-run the server's checks over a recorded log and report the same verdicts.

    Parameters
    ----------
    log_path : path
        A JSON-lines log written by ``fbsim simulate --log``: a header line, then one line per
        tick with that tick's placement requests and delivered movement packets. The world
        snapshot named in the header must sit beside it.
    audit_path : path, optional
        Where the replay's audit events go (default: beside the log).

    Raises
    ------
    ValueError
        Not an fbsim log, or a malformed line (its number is named).
    """
    log_path = Path(log_path)
    with log_path.open() as f:
        try:
            header = json.loads(f.readline())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{log_path}: line 1 is not a JSON header") from exc
        if not isinstance(header, dict) or header.get("fbsim_log") != 1:
            raise ValueError(f"{log_path}: not an fbsim movement log (no fbsim_log header)")
        conf = dict(header["config"])
        conf["cheat_kinds"] = tuple(conf["cheat_kinds"])
        cfg = SimulationConfig(**conf)
        world = World.load(log_path.parent / header["world_snapshot"])
        ids = np.array([p["id"] for p in header["players"]], dtype=np.int64)
        roles = [p["role"] for p in header["players"]]
        audit_path = Path(audit_path or log_path.with_suffix(".replay-audit.jsonl"))
        audit_path.unlink(missing_ok=True)
        server = Server(world, ids, np.array(header["start_positions"]), AuditLog(audit_path))
        ticks = 0
        for lineno, line in enumerate(f, start=2):
            try:
                rec = json.loads(line)
                places = rec.get("places")
                moves = rec.get("moves")
                if places is not None:
                    places = _arrays(places, ("request_id", "player", "kind"))
                if moves is not None:
                    moves = _arrays(moves, ("player_id",))
                server.tick(float(rec["now"]), places, moves)
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{log_path}: line {lineno} is malformed ({exc})") from exc
            ticks += 1
    cfg.ticks = ticks
    return make_report(
        cfg,
        roles,
        server.first_flag,
        server.flag_reason,
        server.tick_ms,
        items=world.item_count,
        move_rows=server.move_rows,
        place_rows=server.place_rows,
        audit_path=str(audit_path),
        extra={
            "placement_outcomes": dict(sorted(server.place_outcomes.items())),
            "replayed": str(log_path),
        },
    )


def _last_row_per_id(ids: np.ndarray) -> np.ndarray:
    """Row of each distinct id's last occurrence, ordered by id (a tick's final word)."""
    _, last_rev = np.unique(ids[::-1], return_index=True)
    return len(ids) - 1 - last_rev
