# SPDX-License-Identifier: MIT
"""asv: placement validation against a big world (issue 7's workload)."""

from __future__ import annotations

import fbsim

from .workloads_world import brick_world, placement_batch


class PlacementValidate:
    params = [[100_000, 1_000_000]]
    param_names = ["items"]
    timeout = 240

    def setup_cache(self):
        return None

    def setup(self, items):
        self.world, ppos = brick_world(items)
        self.requests = placement_batch(ppos, 10_000)
        cfg = fbsim.PlacementConfig(rate=1e9, burst=1e9)
        self.validator = fbsim.PlacementValidator(self.world, cfg)
        self.validator.validate(self.requests)  # warm caches and pages

    def time_validate_10k_requests(self, items):
        self.validator.validate(self.requests)

    def track_us_per_request(self, items):
        import time

        t0 = time.perf_counter()
        self.validator.validate(self.requests)
        return (time.perf_counter() - t0) / 10_000 * 1e6

    track_us_per_request.unit = "us"


class WorldBuild:
    params = [[100_000]]
    param_names = ["items"]

    def peakmem_build(self, items):
        brick_world(items, n_players=10)

    def time_build(self, items):
        brick_world(items, n_players=10)
