# SPDX-License-Identifier: MIT
"""asv suite for fbsim.pathfinding: single queries, batches, flow fields, voxelization."""

from __future__ import annotations

import numpy as np

from fbsim import pathfinding as pf

from .workloads_pathfinding import (
    MOVINGAI_MAPS,
    movingai_dir,
    movingai_queries,
    random_grid,
    warframe_a1,
)


class RandomGridCornerToCorner:
    params = ([256, 1024], ["astar", "jps"])
    param_names = ["size", "method"]

    def setup(self, size, method):
        self.grid = random_grid(size, 0.2, seed=0)
        self.goal = (size - 1, size - 1)
        pf.astar(self.grid, (0, 0), (1, 1))  # touch pages and code

    def time_query(self, size, method):
        if method == "jps":
            pf.jps(self.grid, (0, 0), self.goal)
        else:
            pf.astar(self.grid, (0, 0), self.goal)

    def track_expansions(self, size, method):
        _, e = pf.astar_many(
            self.grid, [(0, 0)], [self.goal], method=method, return_expansions=True
        )
        return int(e[0])


class RandomGridCornerToCorner4:
    """The 4-connected corner-to-corner query (the same problem as pyastar2d's 4-connected)."""

    def setup(self):
        self.grid = random_grid(1024, 0.2, seed=0)
        pf.astar(self.grid, (0, 0), (1, 1))

    def time_query(self):
        pf.astar(self.grid, (0, 0), (1023, 1023), connectivity=4)


class TickQueries:
    """A server tick's NPC queries as separate astar() calls: 100 seeded start/goal pairs on a
    512 x 512 grid (20% obstacles). Measures what the per-thread search state saves (node
    words kept between calls; the grid is repacked on every call, as it may have changed)."""

    def setup(self):
        self.grid = random_grid(512, 0.2, seed=1)
        rng = np.random.default_rng(5)
        free = np.argwhere(self.grid)
        self.starts = [tuple(map(int, p)) for p in free[rng.choice(len(free), 100)]]
        self.goals = [tuple(map(int, p)) for p in free[rng.choice(len(free), 100)]]
        for s, g in zip(self.starts, self.goals, strict=True):
            pf.astar(self.grid, s, g)

    def time_tick(self):
        for s, g in zip(self.starts, self.goals, strict=True):
            pf.astar(self.grid, s, g)


class ShortQueryHugeGrid:
    """A 13-expansion query on an open 8192 x 8192 grid: guards against per-call work that
    grows with the grid (the 2D kernel packs its bit copy lazily, row by row)."""

    def setup(self):
        self.grid = np.ones((8192, 8192), bool)

    def time_query(self):
        pf.astar(self.grid, (4000, 4000), (4007, 4012))


class MovingAiBatch:
    params = ([m[1] for m in MOVINGAI_MAPS[:4]], ["astar", "jps"])
    param_names = ["map", "method"]

    def setup(self, map_name, method):
        if movingai_dir() is None:
            raise NotImplementedError("Moving AI data not available")
        scen = {m[1]: m[2] for m in MOVINGAI_MAPS}[map_name]
        self.grid, self.starts, self.goals, _ = movingai_queries(map_name, scen, 40)

    def time_batch_40(self, map_name, method):
        pf.astar_many(self.grid, self.starts, self.goals, method=method)

    def track_mean_expansions(self, map_name, method):
        _, e = pf.astar_many(
            self.grid, self.starts, self.goals, method=method, return_expansions=True
        )
        return float(e.mean())


class Warframe3D:
    """The 8 shortest rows of the 3D Warframe benchmark (26-connected): each call well under a
    second; the full set runs in benchmarks/compare/pathfinding_3d.py."""

    def setup(self):
        loaded = warframe_a1()
        if loaded is None:
            raise NotImplementedError("3D Moving AI data not available")
        self.grid, rows = loaded
        pick = np.argsort(rows["optimal"], kind="stable")[:8]
        self.starts = np.stack([rows["sz"], rows["sy"], rows["sx"]], 1)[pick]
        self.goals = np.stack([rows["gz"], rows["gy"], rows["gx"]], 1)[pick]
        pf.astar_many(self.grid, self.starts[:1], self.goals[:1], connectivity=26)

    def time_astar_8_shortest(self):
        pf.astar_many(self.grid, self.starts, self.goals, connectivity=26)

    def track_mean_expansions(self):
        _, e = pf.astar_many(
            self.grid, self.starts, self.goals, connectivity=26, return_expansions=True
        )
        return float(e.mean())


class Warframe3DDetour:
    """One Warframe row whose optimum detours (file row 4506: ~191k expansions, 26-connected):
    the per-expansion cost of the 3D kernel when the open list is large, one call < 1 s."""

    ROW = 4506

    def setup(self):
        loaded = warframe_a1()
        if loaded is None:
            raise NotImplementedError("3D Moving AI data not available")
        self.grid, rows = loaded
        r = rows[self.ROW]
        self.start = [(r["sz"], r["sy"], r["sx"])]
        self.goal = [(r["gz"], r["gy"], r["gx"])]

    def time_astar_detour_row(self):
        pf.astar_many(self.grid, self.start, self.goal, connectivity=26)

    def track_expansions(self):
        _, e = pf.astar_many(
            self.grid, self.start, self.goal, connectivity=26, return_expansions=True
        )
        return int(e[0])


class FlowField:
    params = [128, 512]
    param_names = ["size"]

    def setup(self, size):
        self.grid = random_grid(size, 0.2, seed=1)

    def time_flow_field(self, size):
        pf.flow_field(self.grid, [(0, 0)])


class Voxelize:
    params = [100, 2000]
    param_names = ["boxes"]

    def setup(self, boxes):
        rng = np.random.default_rng(2)
        self.centers = rng.uniform(0, 64, (boxes, 3))
        self.quats = rng.normal(size=(boxes, 4))
        self.half = rng.uniform(0.5, 3.0, (boxes, 3))

    def time_voxelize(self, boxes):
        pf.voxelize_boxes(self.centers, self.quats, self.half, [0, 0, 0], 1.0, (64, 64, 64))

    def time_walkable(self, boxes):
        occ = pf.voxelize_boxes(self.centers, self.quats, self.half, [0, 0, 0], 1.0, (64, 64, 64))
        pf.walkable_map(occ, 1.0, 0.5, 2.0, 1.0)
