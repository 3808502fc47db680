# SPDX-License-Identifier: MIT
"""asv suites for fbsim.shard (see benchmarks/compare/shard.py for the side-by-side figures)."""

from __future__ import annotations

import numpy as np

from fbsim import shard

from .workloads_shard import walk, world


class Partition:
    params = ([100_000, 1_000_000], [8, 64, 256], ["kd"])
    param_names = ["n", "n_servers", "method"]

    def setup(self, n, k, method):
        self.pos, self.w = world(n)
        # weights that are not exactly floats take the 40-byte records (slower path)
        self.w_exact = self.w + 2.0**-30

    def time_partition(self, n, k, method):
        shard.partition(self.pos, self.w, k, method=method)

    def time_partition_workers2(self, n, k, method):
        shard.partition(self.pos, self.w, k, method=method, workers=2)

    def time_partition_double_weights(self, n, k, method):
        shard.partition(self.pos, self.w_exact, k, method=method)

    def peakmem_partition(self, n, k, method):
        shard.partition(self.pos, self.w, k, method=method)

    def track_imbalance(self, n, k, method):
        s, _ = shard.partition(self.pos, self.w, k, method=method)
        loads = np.bincount(s, weights=self.w, minlength=k)
        return float(loads.max() / loads.mean())


class PartitionHilbert:
    params = [100_000]
    param_names = ["n"]

    def setup(self, n):
        self.pos, self.w = world(n, "clustered")

    def time_partition(self, n):
        shard.partition(self.pos, self.w, 64, method="hilbert")


class Tick:
    params = [1_000, 10_000]
    param_names = ["n_moved"]
    timeout = 120

    def setup(self, m):
        pos, w = world(1_000_000)
        self.sh = shard.Sharding(pos, w, 64, rebalance_every=0)
        self.ids, self.frames = walk(pos, m, 64)
        self.t = 0

    def time_update(self, m):
        self.sh.update(self.ids, self.frames[self.t % len(self.frames)])
        self.t += 1

    def track_migrations_per_tick(self, m):
        for f in self.frames:
            self.sh.update(self.ids, f)
        return self.sh.report()["migrations_per_tick"]


class ShiftTick:
    """A tick on which split planes move (tolerance 0, every tick): pays the O(n) rescan."""

    timeout = 120

    def setup(self):
        pos, w = world(1_000_000)
        self.sh = shard.Sharding(pos, w, 64, rebalance_every=1, tolerance=0.0)
        self.ids, self.frames = walk(pos, 10_000, 64)
        self.t = 0

    def time_update_with_shift(self):
        self.sh.update(self.ids, self.frames[self.t % len(self.frames)])
        self.t += 1


class BorderSets:
    params = [100_000]
    param_names = ["n"]

    def setup(self, n):
        self.pos, w = world(n)
        self.servers, self.regions = shard.partition(self.pos, w, 64)

    def time_border_sets(self, n):
        shard.border_sets(self.pos, self.servers, self.regions, 32.0)

    def track_border_fraction(self, n):
        _, ids = shard.border_sets(self.pos, self.servers, self.regions, 32.0)
        return float(np.unique(ids).size / n)
