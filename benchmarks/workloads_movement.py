# SPDX-License-Identifier: MIT
"""Seeded workloads for the movement benchmarks (append-only, like common.py).

A tick of ``n`` players each walking a circle at walk speed (16 studs/s) with 20 Hz packets,
so the trace repeats every ``period`` ticks while the clocks keep advancing: every tick is a
legal, fully checked move. The collision stub answers "supported everywhere, no hit", which
times the non-collision checks only (the world's queries are the lead's, measured there).
"""

from __future__ import annotations

import numpy as np

from fbsim import MovementChecker

TICK = 1.0 / 20.0
WALK = 16.0


class StubCollision:
    """CollisionQueries stub: every foot supported, every path free."""

    def supported(self, feet, radius, tolerance):
        return np.ones(len(feet), dtype=bool)

    def sweep(self, start, end, radius, height):
        n = len(start)
        return np.full(n, np.inf), np.zeros((n, 3))


class TickDriver:
    """Feeds a MovementChecker one realistic tick per ``tick()`` call."""

    def __init__(self, n: int, seed: int = 8, period: int = 40, collision="stub", **kw):
        rng = np.random.default_rng(seed)
        self.n = n
        self.period = period
        self.ids = rng.permutation(n).astype(np.int64) + 1000
        centre = rng.uniform(-5e4, 5e4, size=(n, 3))
        centre[:, 1] = 0.0
        radius = WALK * TICK * period / (2 * np.pi) * 0.95  # a bit under walk speed
        phase = rng.uniform(0, 2 * np.pi, n)
        k = np.arange(period)[:, None]
        ang = phase[None] + 2 * np.pi * k / period
        self.positions = np.empty((period, n, 3))
        self.positions[..., 0] = centre[None, :, 0] + radius * np.cos(ang)
        self.positions[..., 1] = 0.0
        self.positions[..., 2] = centre[None, :, 2] + radius * np.sin(ang)
        self.clock = rng.uniform(-1e4, 1e4, n)  # per-client clock offsets
        self.latency = rng.uniform(0.02, 0.3, n)
        coll = StubCollision() if collision == "stub" else collision
        self.checker = MovementChecker(collision=coll, **kw)
        self.checker.add_players(self.ids, self.positions[period - 1], 0.0)
        self.k = 0

    def batch(self):
        t = (self.k + 1) * TICK
        return {
            "player_id": self.ids,
            "position": self.positions[self.k % self.period],
            "client_time": self.clock + t,
            "server_time": t + self.latency,
        }

    def tick(self):
        r = self.checker.step(self.batch())
        self.k += 1
        return r


def request_stream(n: int, players: int, seed: int = 9):
    """``n`` requests from ``players`` players over one second, sorted by time."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, players, n).astype(np.int64)
    t = np.sort(rng.uniform(0, 1, n))
    return ids, t
