# SPDX-License-Identifier: MIT
"""asv: one server tick of movement checks, rate limiting and duplicate detection.

MovementTick uses a collision stub ("supported everywhere, no hit"), so it times the
non-collision checks (speed, teleport, fly envelope, timer, levels, actions) and the
per-tick overhead; the world's supported/sweep queries belong to the world's benchmarks.
Target: 10,000 players in under 2 ms per tick on one core.
"""

from __future__ import annotations

import numpy as np

from fbsim import DuplicationDetector, RateLimiter

from .workloads_movement import TickDriver, request_stream


class MovementTick:
    params = [1_000, 10_000, 50_000]
    param_names = ["players"]

    def setup(self, players):
        self.driver = TickDriver(players)
        for _ in range(3):
            self.driver.tick()

    def time_tick(self, players):
        self.driver.tick()

    def track_rejected_rows(self, players):
        return int((~self.driver.tick().accepted).sum())


class MovementTickFlatGround:
    """collision=None: the built-in flat-ground path (no protocol calls)."""

    params = [10_000]
    param_names = ["players"]

    def setup(self, players):
        self.driver = TickDriver(players, collision=None)
        self.driver.tick()

    def time_tick(self, players):
        self.driver.tick()


class RateLimit:
    params = [10_000, 100_000]
    param_names = ["requests"]

    def setup(self, requests):
        self.ids, self.t = request_stream(requests, players=10_000)
        self.limiter = RateLimiter()
        self.limiter.allow(self.ids, "requests", self.t)
        self.offset = 1.0

    def time_allow(self, requests):
        self.limiter.allow(self.ids, "requests", self.t + self.offset)
        self.offset += 1.0


class Duplication:
    params = [10_000]
    param_names = ["uses"]

    def setup(self, uses):
        rng = np.random.default_rng(10)
        self.players = rng.integers(0, 2_000, uses).astype(np.int64)
        self.items = rng.integers(0, 50, uses).astype(np.int64)
        self.detector = DuplicationDetector()
        self.t = 0.0

    def time_observe(self, uses):
        self.t += 1.0
        self.detector.observe(self.players, self.items, self.t)
