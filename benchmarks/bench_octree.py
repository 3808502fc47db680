# SPDX-License-Identifier: MIT
"""asv suites for fbsim.Octree / fbsim.Quadtree (see benchmarks/compare/octree.py for peers)."""

from __future__ import annotations

import numpy as np

import fbsim

from .workloads_octree import (
    query_boxes,
    radius_for_neighbours,
    tick_moves,
    unit_cube_points,
    world_aabbs,
)


class OctreeBuild:
    params = [10_000, 100_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.points = unit_cube_points(n)

    def time_build(self, n):
        fbsim.Octree(self.points)

    def peakmem_build(self, n):
        fbsim.Octree(self.points)


class OctreeQueries:
    params = [100_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.tree = fbsim.Octree(unit_cube_points(n))
        self.queries = unit_cube_points(20_000, seed=5)
        self.r = radius_for_neighbours(n)

    def time_knn_k8(self, n):
        self.tree.knn(self.queries, 8)

    def time_radius_10(self, n):
        self.tree.radius(self.queries, self.r)

    def time_radius_count_10(self, n):
        self.tree.radius_count(self.queries, self.r)

    def track_nodes_per_item(self, n):
        return self.tree._tree.node_count() / n


class OctreeTick:
    """Move 10% of the points, then answer 10,000 k=8 queries (one server tick)."""

    params = [100_000, 1_000_000]
    param_names = ["n"]

    def setup(self, n):
        self.points = unit_cube_points(n)
        self.tree = fbsim.Octree(self.points)
        self.ids, self.moved = tick_moves(self.points)
        self.queries = unit_cube_points(10_000, seed=5)

    def time_tick(self, n):
        self.tree.move(self.ids, self.moved)
        self.tree.knn(self.queries, 8)


class OctreeBoxes:
    params = [10_000, 100_000]
    param_names = ["n"]

    def setup(self, n):
        self.tree = fbsim.Octree.from_aabbs(world_aabbs(n))
        self.lo, self.hi = query_boxes(n)
        rng = np.random.default_rng(3)
        self.origins = self.lo[:10_000]
        self.dirs = rng.normal(size=(10_000, 3))

    def time_query_aabb(self, n):
        self.tree.query_aabb(self.lo, self.hi)

    def time_query_aabb_count(self, n):
        self.tree.query_aabb_count(self.lo, self.hi)

    def time_raycast_10k(self, n):
        self.tree.raycast(self.origins, self.dirs)

    def time_knn_boxes_k4(self, n):
        self.tree.knn(self.origins, 4)


class QuadtreeQueries:
    params = [100_000]
    param_names = ["n"]

    def setup(self, n):
        rng = np.random.default_rng(0)
        self.tree = fbsim.Quadtree(rng.random((n, 2)))
        self.queries = rng.random((20_000, 2))

    def time_knn_k8(self, n):
        self.tree.knn(self.queries, 8)
