# SPDX-License-Identifier: MIT
"""Generated movement traces with a network model, and a runner that feeds a MovementChecker.

Client: 60 Hz physics in Roblox units (walk 16 studs/s, jump 7.2 studs, gravity 196.2,
exact ballistic arcs), feet-point ground contact over boxes, capsule blocked by box sides.
It sends its position every 1/20 .. 1/60 s, stamped with its own clock (an arbitrary offset;
cheaters may run it fast). Network: one-way latency 20-300 ms, jitter (|N(0, 0.15 L)|), 1-5 %
independent loss, lag spikes of 1-2 s that hold packets and release them in a burst, and
in-order delivery (sequenced channel). Server: 60 Hz ticks; each tick's batch holds the packets
received since the last tick, with the receive time as ``server_time``.

Physics and network share nothing with fbsim; the checker only sees the packets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from oracles_movement import BoxWorld

WALK = 16.0
JUMP_H = 7.2
G = 196.2
V0 = math.sqrt(2 * G * JUMP_H)
PHYS = 1.0 / 60.0
RADIUS = 1.0
HEIGHT = 5.0


@dataclass
class Trace:
    name: str
    pid: int
    spawn: np.ndarray
    t_send: np.ndarray  # real send times
    pos: np.ndarray  # (k, 3) reported positions
    ct: np.ndarray  # client timestamps
    st: np.ndarray  # receive times (inf = lost)
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    cheat_start: float | None = None  # real time the cheat begins
    bound: float | None = None  # required detection latency, s


@dataclass
class Net:
    latency: float = 0.08
    jitter: float = 0.15  # fraction of latency
    loss: float = 0.02
    spikes: list[tuple[float, float]] = field(default_factory=list)  # (start, duration)
    stalls: list[tuple[float, float]] = field(default_factory=list)  # everything lost

    @classmethod
    def random(cls, rng: np.random.Generator, duration: float) -> Net:
        spikes = []
        t = rng.uniform(2, 15)
        while t < duration - 3:
            spikes.append((t, rng.uniform(1.0, 2.0)))
            t += rng.uniform(8, 25)
        return cls(
            latency=rng.uniform(0.02, 0.3),
            jitter=0.15,
            loss=rng.uniform(0.01, 0.05),
            spikes=spikes,
        )

    def deliver(self, rng: np.random.Generator, t_send: np.ndarray) -> np.ndarray:
        k = len(t_send)
        arr = t_send + self.latency + np.abs(rng.normal(0, self.jitter * self.latency, k))
        for s, d in self.spikes:
            held = (t_send >= s) & (t_send < s + d)
            # Held packets leave together at the end of the spike, 1 ms apart.
            arr[held] = np.maximum(arr[held], s + d + self.latency + 0.001 * np.arange(held.sum()))
        lost = rng.random(k) < self.loss
        for s, d in self.stalls:
            lost |= (t_send >= s) & (t_send < s + d)
        arr = np.maximum.accumulate(arr)  # sequenced channel: never reordered
        arr[lost] = np.inf
        return arr


class Client:
    """A player's client physics. ``speed`` and ``heading`` are set by the controller."""

    def __init__(self, world: BoxWorld, spawn, time_scale: float = 1.0):
        self.world = world
        self.p = np.array(spawn, dtype=float)
        self.vy = 0.0
        self.grounded = True
        self.extra = np.zeros(3)  # knockback / platform velocity, studs/s
        self.extra_until = -1.0

    def ground_below(self, p) -> float:
        # The capsule rests on a box while its foot is over the box grown by the radius (the
        # same square-edged approximation as the oracle's sweep).
        lo, hi = self.world.boxes()
        h = 0.0
        if len(lo):
            lo = lo - RADIUS
            hi = hi + RADIUS
            over = (p[0] >= lo[:, 0]) & (p[0] <= hi[:, 0]) & (p[2] >= lo[:, 2]) & (p[2] <= hi[:, 2])
            tops = hi[over, 1] - RADIUS
            tops = tops[tops <= p[1] + 1e-6]
            if len(tops):
                h = max(h, float(tops.max()))
        return h

    def blocked(self, p) -> bool:
        lo, hi = self.world.boxes()
        if not len(lo):
            return False
        q = p + np.array([0, RADIUS, 0])
        glo = lo - np.array([RADIUS, HEIGHT - RADIUS, RADIUS])
        ghi = hi + RADIUS
        return bool(((q > glo + 1e-9) & (q < ghi - 1e-9)).all(axis=1).any())

    def tick(self, dt: float, vel_h: np.ndarray, jump: bool, now: float) -> None:
        v = np.array([vel_h[0], 0.0, vel_h[1]])
        if now < self.extra_until:
            v = v + np.array([self.extra[0], 0.0, self.extra[2]])
        nxt = self.p + v * dt
        nxt[1] = self.p[1]
        if not self.blocked(nxt):
            self.p = nxt
        if jump and self.grounded:
            self.vy = V0
            self.grounded = False
        ground = self.ground_below(self.p)
        if self.grounded and self.p[1] - ground > 1e-6:
            self.grounded = False
            self.vy = 0.0
        if not self.grounded:
            y = self.p[1] + self.vy * dt - 0.5 * G * dt * dt
            self.vy -= G * dt
            if y <= ground:
                y = ground
                self.vy = 0.0
                self.grounded = True
            self.p[1] = y


def simulate(
    name: str,
    pid: int,
    world: BoxWorld,
    spawn,
    duration: float,
    controller,
    rng: np.random.Generator,
    net: Net | None = None,
    send_hz: float = 30.0,
    clock_offset: float = 1000.0,
    clock_rate=None,
    events=None,
    cheat_start=None,
    bound=None,
) -> Trace:
    """Runs the client at 60 Hz for ``duration`` real seconds.

    ``controller(client, t, ct) -> (vel_h (2,), jump, teleport_to or None)`` uses the client
    clock ``ct`` (so a fast clock means fast movement); ``clock_rate(t)`` maps real time to
    client-clock rate (timer cheats). ``events`` are server-side calls (time, kind, kwargs);
    client-visible effects (``knockback``, ``teleport``) reach the client one latency later.
    """
    net = net or Net()
    client = Client(world, spawn)
    events = list(events or [])
    client_effects = sorted(
        (t + net.latency, kind, kw) for t, kind, kw in events if kind in ("knockback", "teleport")
    )
    t = 0.0
    ct = clock_offset
    next_send = 0.0
    sends_t, sends_p, sends_c = [], [], []
    steps = int(round(duration / PHYS))
    for _ in range(steps):
        rate = clock_rate(t) if clock_rate else 1.0
        while client_effects and client_effects[0][0] <= t:
            _, kind, kw = client_effects.pop(0)
            if kind == "teleport":
                client.p = np.array(kw["position"], dtype=float)
                client.vy = 0.0
                client.grounded = client.p[1] - client.ground_below(client.p) < 1e-6
            else:
                client.extra = np.array(kw["velocity"], dtype=float)
                client.extra_until = t + kw.get("duration", 0.5)
                client.vy = max(client.vy, kw["velocity"][1])
                client.grounded = False
        world.time = t
        vel_h, jump, tp = controller(client, t, ct)
        if tp is not None:
            client.p = np.array(tp, dtype=float)
        client.tick(PHYS * rate, np.asarray(vel_h, dtype=float), jump, t)
        t += PHYS
        ct += PHYS * rate
        if t >= next_send - 1e-9:
            sends_t.append(t)
            sends_p.append(client.p.copy())
            sends_c.append(ct)
            next_send += 1.0 / send_hz
    t_send = np.array(sends_t)
    st = net.deliver(rng, t_send)
    return Trace(
        name,
        pid,
        np.array(spawn, dtype=float),
        t_send,
        np.array(sends_p),
        np.array(sends_c),
        st,
        events,
        cheat_start,
        bound,
    )


@dataclass
class Outcome:
    flags: list[tuple[float, int]]  # (server time, reason) of violation rows
    actions: list[tuple[float, int]]  # (server time, action) of kick/ban
    first_cheat_arrival: float | None
    rows: int

    @property
    def flagged(self) -> bool:
        return bool(self.flags or self.actions)

    def latency(self) -> float | None:
        if self.first_cheat_arrival is None:
            return None
        after = [t for t, _ in self.flags if t >= self.first_cheat_arrival - 1e-9]
        return (min(after) - self.first_cheat_arrival) if after else None


def run(traces, checker, world: BoxWorld | None = None, tick=1.0 / 60.0, lag_ticks=()):
    """Feeds traces through ``checker`` tick by tick; returns {pid: Outcome}.

    ``lag_ticks``: server times at which one tick takes 200 ms (nothing processed meanwhile).
    """
    from fbsim.movement import Action, Reason

    pids = np.array([tr.pid for tr in traces])
    checker.add_players(pids, np.array([tr.spawn for tr in traces]), 0.0)
    rows = []
    for k, tr in enumerate(traces):
        ok = np.isfinite(tr.st)
        rows.append(
            np.column_stack(
                [
                    tr.st[ok],
                    np.full(ok.sum(), k),
                    tr.pos[ok],
                    tr.ct[ok],
                    tr.t_send[ok],
                ]
            )
        )
    allrows = np.concatenate(rows) if rows else np.zeros((0, 7))
    allrows = allrows[np.lexsort((np.arange(len(allrows)), allrows[:, 0]))]
    events = sorted(
        ((t, j, kind, kw, tr.pid) for tr in traces for j, (t, kind, kw) in enumerate(tr.events)),
        key=lambda e: (e[0], e[4], e[1]),
    )
    outcomes = {}
    first_cheat = {}
    for tr in traces:
        if tr.cheat_start is not None:
            # A cheat applied in the physics tick starting at cheat_start shows in packets
            # sent after that tick.
            sent = np.isfinite(tr.st) & (tr.t_send >= tr.cheat_start + PHYS - 1e-9)
            first_cheat[tr.pid] = float(tr.st[sent].min()) if sent.any() else None
        outcomes[tr.pid] = Outcome([], [], first_cheat.get(tr.pid), 0)
    t_end = float(allrows[:, 0].max()) + tick if len(allrows) else 0.0
    t = 0.0
    i = 0
    e = 0
    lag = sorted(lag_ticks)
    while t <= t_end + tick:
        t_proc = t
        if lag and t >= lag[0]:
            t_proc = t + 0.2  # this tick runs late: everything received meanwhile waits
            lag.pop(0)
        if world is not None:
            world.time = t_proc
        while e < len(events) and events[e][0] <= t_proc:
            _, _, kind, kw, pid = events[e]
            if kind == "grant_speed":
                checker.grant_speed([pid], kw["multiplier"], kw["until"])
            elif kind in ("teleport", "knockback", "platform"):
                from fbsim.movement import ServerMoveKind

                mk = {
                    "teleport": ServerMoveKind.TELEPORT,
                    "knockback": ServerMoveKind.KNOCKBACK,
                    "platform": ServerMoveKind.PLATFORM,
                }[kind]
                pos = kw.get("position")
                if pos is None:
                    pos = checker.positions([pid])[0] + np.asarray(kw.get("delta", (0, 0, 0)))
                checker.server_move([pid], [pos], mk, velocities=[kw.get("velocity", (0, 0, 0))])
            elif kind == "add_box" and world is not None:
                pass  # boxes are pre-registered with an appear time
            e += 1
        j = i
        while j < len(allrows) and allrows[j, 0] <= t_proc:
            j += 1
        if j > i:
            b = allrows[i:j]
            pid_rows = pids[b[:, 1].astype(int)]
            res = checker.step(
                {
                    "player_id": pid_rows,
                    "position": b[:, 2:5],
                    "client_time": b[:, 5],
                    "server_time": b[:, 0],
                }
            )
            viol = (res.reason >= Reason.SPEED) & (res.reason <= Reason.TIMER)
            for r in np.flatnonzero(viol):
                outcomes[int(pid_rows[r])].flags.append((float(b[r, 0]), int(res.reason[r])))
            for pid, act in zip(res.players.tolist(), res.actions.tolist(), strict=True):
                outcomes[pid].rows += 0
                if act >= Action.KICK:
                    outcomes[pid].actions.append((t_proc, act))
            for pid in pid_rows.tolist():
                outcomes[pid].rows += 1
            i = j
        t = t_proc + tick
    return outcomes


# ---------------------------------------------------------------------------------------------
# Controllers


def walker(rng: np.random.Generator, speed=WALK, turn_every=1.5, jump_prob=0.0):
    state = {"heading": rng.uniform(0, 2 * np.pi), "next": 0.0}

    def ctrl(client, t, ct):
        if t >= state["next"]:
            state["heading"] = rng.uniform(0, 2 * np.pi)
            state["next"] = t + rng.exponential(turn_every)
        h = state["heading"]
        jump = jump_prob > 0 and rng.random() < jump_prob
        return (speed * np.cos(h), speed * np.sin(h)), jump, None

    return ctrl


def straight(speed=WALK, heading=0.0, jump=False):
    def ctrl(client, t, ct):
        return (speed * math.cos(heading), speed * math.sin(heading)), jump, None

    return ctrl


# ---------------------------------------------------------------------------------------------
# Scenarios: each returns (traces, world, run kwargs)

HONEST = {}
CHEATS = {}


def honest(name):
    def deco(f):
        HONEST[name] = f
        return f

    return deco


def cheat(name, bound):
    def deco(f):
        CHEATS[name] = (f, bound)
        return f

    return deco


@honest("walking")
def _walking(rng, pid=1):
    w = BoxWorld()
    return [simulate("walking", pid, w, (0, 0, 0), 20, walker(rng), rng, Net.random(rng, 20))], w


@honest("sprint_with_boost")
def _sprint(rng, pid=1):
    w = BoxWorld()
    net = Net.random(rng, 20)

    def ctrl(client, t, ct):
        # Server grants 1.6x at t=3 until t=12; the client learns of it one latency later
        # and drops back to walking one latency after the grant ends.
        fast = 3 + net.latency <= t <= 12 + net.latency
        return ((WALK * (1.6 if fast else 1.0)), 0.0), False, None

    ev = [(3.0, "grant_speed", {"multiplier": 1.6, "until": 12.0})]
    return [simulate("sprint", pid, w, (0, 0, 0), 20, ctrl, rng, net, events=ev)], w


@honest("jumping")
def _jumping(rng, pid=1):
    w = BoxWorld()
    ctrl = walker(rng, jump_prob=1.0)  # holds jump: bunny hops continuously
    return [simulate("jumping", pid, w, (0, 0, 0), 20, ctrl, rng, Net.random(rng, 20))], w


@honest("fall_200")
def _fall(rng, pid=1):
    w = BoxWorld()
    w.add((-4, 0, -4), (4, 200, 4))
    ctrl = straight(WALK)
    return [simulate("fall", pid, w, (0, 200, 0), 8, ctrl, rng, Net.random(rng, 8))], w


@honest("ledges")
def _ledges(rng, pid=1):
    w = BoxWorld()
    for k in range(6):
        w.add((k * 20 - 2, 0, -50), (k * 20 + 10, 10 - k, 50))
    return [simulate("ledges", pid, w, (0, 10, 0), 9, straight(WALK), rng, Net.random(rng, 9))], w


@honest("server_teleport_and_respawn")
def _teleport(rng, pid=1):
    w = BoxWorld()
    ev = [
        (4.0, "teleport", {"position": (500.0, 0.0, 500.0)}),
        (9.0, "teleport", {"position": (-300.0, 0.0, 0.0)}),
    ]
    net = Net.random(rng, 14)
    return [simulate("teleport", pid, w, (0, 0, 0), 14, walker(rng), rng, net, events=ev)], w


@honest("knockback")
def _knockback(rng, pid=1):
    w = BoxWorld()
    ev = [(3.0, "knockback", {"velocity": (60.0, 40.0, 0.0), "duration": 0.5})]
    net = Net.random(rng, 8)
    return [simulate("knockback", pid, w, (0, 0, 0), 8, straight(8.0), rng, net, events=ev)], w


@honest("moving_platform")
def _platform(rng, pid=1):
    w = BoxWorld()
    vp = np.array([20.0, 0.0, 0.0])
    w.add((-10, 0, -10), (10, 5, 10), velocity=vp)
    net = Net.random(rng, 10)
    # The game server declares the ride every 0.1 s (PLATFORM, with the platform's velocity).
    ev = [
        (t, "platform", {"delta": (0.0, 0.0, 0.0), "velocity": tuple(vp)})
        for t in np.arange(0.0, 10.0, 0.1)
    ]

    def ctrl(client, t, ct):
        client.extra = vp
        client.extra_until = 1e9
        return (0.0, 3.0 * math.sin(t)), False, None

    return [simulate("platform", pid, w, (0, 5, 0), 10, ctrl, rng, net, events=ev)], w


@honest("block_under_own_feet")
def _tower(rng, pid=1):
    w = BoxWorld()
    # Jump, and at the apex the server places a 4-stud block under the feet; land on it.
    for k in range(8):
        t_place = 1.0 + k * 1.0 + 0.25
        w.add((-2, 4 * k, -2), (2, 4 * (k + 1), 2), appear=t_place)

    def ctrl(client, t, ct):
        jump = any(abs(t - (1.0 + k)) < PHYS / 2 for k in range(8))
        return (0.0, 0.0), jump, None

    return [simulate("tower", pid, w, (0, 0, 0), 10, ctrl, rng, Net(latency=0.05))], w


@honest("ping_300ms")
def _ping300(rng, pid=1):
    w = BoxWorld()
    net = Net(latency=0.3, loss=0.03)
    return [simulate("ping300", pid, w, (0, 0, 0), 20, walker(rng, jump_prob=0.02), rng, net)], w


@honest("ping_1000ms")
def _ping1000(rng, pid=1):
    w = BoxWorld()
    net = Net(latency=1.0, loss=0.03)
    return [simulate("ping1000", pid, w, (0, 0, 0), 20, walker(rng, jump_prob=0.02), rng, net)], w


@honest("lag_spike_burst")
def _spike(rng, pid=1):
    w = BoxWorld()
    net = Net(latency=0.1, loss=0.02, spikes=[(3.0, 2.0), (9.0, 1.0)])
    return [simulate("spike", pid, w, (0, 0, 0), 14, walker(rng, jump_prob=0.02), rng, net)], w


@honest("stall_5s")
def _stall5(rng, pid=1):
    w = BoxWorld()
    net = Net(latency=0.1, loss=0.02, stalls=[(3.0, 5.0)])
    return [simulate("stall5", pid, w, (0, 0, 0), 12, straight(WALK), rng, net)], w


@honest("stall_10s")
def _stall10(rng, pid=1):
    w = BoxWorld()
    net = Net(latency=0.1, loss=0.02, stalls=[(3.0, 10.0)])
    return [simulate("stall10", pid, w, (0, 0, 0), 16, straight(WALK), rng, net)], w


@honest("server_lag_200ms")
def _server_lag(rng, pid=1):
    w = BoxWorld()
    net = Net.random(rng, 10)
    tr = simulate("server_lag", pid, w, (0, 0, 0), 10, walker(rng, jump_prob=0.02), rng, net)
    return [tr], w, {"lag_ticks": (3.0, 6.0)}


@honest("long_session")
def _long(rng, pid=1):
    w = BoxWorld()
    net = Net.random(rng, 120)
    ctrl = walker(rng, jump_prob=0.01)
    return [
        simulate("long", pid, w, (0, 0, 0), 120, ctrl, rng, net, send_hz=60, clock_offset=3e8)
    ], w


def _speed(k):
    def make(rng, pid=1):
        w = BoxWorld()
        net = Net.random(rng, 10)

        def ctrl(client, t, ct):
            return (WALK * (k if t >= 3.0 else 1.0), 0.0), False, None

        return [simulate(f"speed{k}", pid, w, (0, 0, 0), 10, ctrl, rng, net, cheat_start=3.0)], w

    return make


cheat("speed_x1.1", 5.0)(_speed(1.1))
cheat("speed_x1.3", 2.0)(_speed(1.3))
cheat("speed_x2", 0.5)(_speed(2.0))


def _blink(d):
    def make(rng, pid=1):
        w = BoxWorld()
        net = Net.random(rng, 8)
        done = {"x": False}

        def ctrl(client, t, ct):
            tp = None
            if t >= 3.0 and not done["x"]:
                done["x"] = True
                tp = client.p + np.array([d, 0.0, 0.0])
            return (WALK, 0.0), False, tp

        return [simulate(f"blink{d}", pid, w, (0, 0, 0), 8, ctrl, rng, net, cheat_start=3.0)], w

    return make


cheat("blink_30", 0.0)(_blink(30.0))
cheat("blink_200", 0.0)(_blink(200.0))


@cheat("fly_hover", 1.5)
def _fly(rng, pid=1):
    w = BoxWorld()
    net = Net.random(rng, 8)

    def ctrl(client, t, ct):
        if t >= 3.0:
            # Fly: rise at walk speed to 10 studs and hover there (gravity cancelled).
            client.grounded = True
            client.vy = 0.0
            client.p[1] = min(10.0, client.p[1] + WALK * PHYS)
        return (WALK / 2, 0.0), False, None

    return [simulate("fly", pid, w, (0, 0, 0), 8, ctrl, rng, net, cheat_start=3.0)], w


@cheat("noclip_wall", 0.0)
def _noclip(rng, pid=1):
    w = BoxWorld()
    w.add((20, 0, -50), (21, 20, 50))  # a 1-stud wall across the path

    def ctrl(client, t, ct):
        if client.p[0] < 30:
            # Noclip: ignore the wall (move directly, not through Client.tick's blocking).
            client.p[0] += WALK * PHYS
            return (0.0, 0.0), False, None
        return (WALK, 0.0), False, None

    net = Net.random(rng, 4)
    # The capsule first touches the wall at x = 19 (t = 19/16 s).
    return [simulate("noclip", pid, w, (0, 0, 0), 4, ctrl, rng, net, cheat_start=19 / 16 - PHYS)], w


def _timer(k):
    def make(rng, pid=1):
        w = BoxWorld()
        net = Net.random(rng, 10)

        def rate(t):
            return k if t >= 3.0 else 1.0

        ctrl = straight(WALK)
        tr = simulate(
            f"timer{k}", pid, w, (0, 0, 0), 10, ctrl, rng, net, clock_rate=rate, cheat_start=3.0
        )
        return [tr], w

    return make


cheat("timer_x1.1", 2.0)(_timer(1.1))
cheat("timer_x2", 0.5)(_timer(2.0))


def random_honest(rng: np.random.Generator, pid: int, duration: float = 20.0) -> Trace:
    """A randomized honest trace on shared flat ground: walking, hopping, boosts, towers.

    Each player gets its own spot far from the others, so one BoxWorld serves a population.
    """
    return _population_member(rng, pid, duration)


def population_world(n: int) -> BoxWorld:
    w = BoxWorld()
    for pid in range(n):
        x0 = (pid % 100) * 2000.0
        z0 = (pid // 100) * 2000.0
        w.add((x0 + 30, 0, z0 - 30), (x0 + 60, 25, z0 + 30))  # a tower to walk off
    return w


def _population_member(rng, pid, duration):
    x0 = (pid % 100) * 2000.0
    z0 = (pid // 100) * 2000.0
    w = BoxWorld()
    w.add((x0 + 30, 0, z0 - 30), (x0 + 60, 25, z0 + 30))
    net = Net.random(rng, duration)
    kind = rng.integers(0, 4)
    events = []
    on_tower = kind == 3
    spawn = (x0 + 45, 25, z0) if on_tower else (x0, 0, z0)
    if kind == 2:
        t0 = rng.uniform(1, duration / 2)
        events.append((t0, "grant_speed", {"multiplier": 1.5, "until": t0 + 5}))
        base = walker(rng, jump_prob=0.03)

        def ctrl(client, t, ct):
            v, j, tp = base(client, t, ct)
            boost = t0 + net.latency <= t <= t0 + 5 + net.latency
            return (v[0] * (1.5 if boost else 1.0), v[1] * (1.5 if boost else 1.0)), j, tp

    elif kind == 1:
        ctrl = walker(rng, speed=rng.uniform(4, WALK), jump_prob=1.0)
    else:
        ctrl = walker(rng, speed=WALK * rng.uniform(0.3, 1.0), jump_prob=rng.uniform(0, 0.05))
    return simulate(
        "population",
        pid,
        w,
        spawn,
        duration,
        ctrl,
        rng,
        net,
        send_hz=float(rng.choice([20, 30, 60])),
        clock_offset=rng.uniform(-1e4, 1e4),
        events=events,
    )


def clopper_pearson_upper(k: int, n: int, alpha: float = 0.05) -> float:
    """One-sided upper confidence bound of a binomial rate (k events in n trials)."""
    from scipy.stats import beta

    if k >= n:
        return 1.0
    return float(beta.ppf(1 - alpha, k + 1, n - k))
