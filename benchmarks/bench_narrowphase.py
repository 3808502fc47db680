# SPDX-License-Identifier: MIT
"""asv suites for the narrow phase (issue 3): the issue's random OBB pairs, one-vs-many
placement checks, and player capsule sweeps against walls."""

from __future__ import annotations

import numpy as np

import fbsim

from .workloads_narrowphase import random_capsules, random_obb_pairs


class BoxPairs:
    """Pairwise queries on n random OBB pairs (half extents 0.25-1, cube of side 3)."""

    params = [1_000, 100_000]
    param_names = ["pairs"]

    def setup(self, n):
        (ca, qa, ha), (cb, qb, hb) = random_obb_pairs(n, seed=0)
        self.a = fbsim.Boxes(ca, qa, ha)
        self.b = fbsim.Boxes(cb, qb, hb)
        fbsim.overlap(self.a, self.b)  # touch pages outside the timing

    def time_overlap(self, n):
        fbsim.overlap(self.a, self.b)

    def time_overlap_tol(self, n):
        fbsim.overlap(self.a, self.b, tol=1e-3)

    def time_distance(self, n):
        fbsim.distance(self.a, self.b)

    def time_penetration(self, n):
        fbsim.penetration(self.a, self.b)

    def track_overlap_fraction(self, n):
        return float(np.mean(fbsim.overlap(self.a, self.b)))


class OneVsMany:
    """Placement: one new box against K candidate boxes (broadcast batch of length 1)."""

    params = [16, 1_024, 65_536]
    param_names = ["candidates"]

    def setup(self, k):
        (c, q, h), _ = random_obb_pairs(k + 1, seed=1)
        self.new = fbsim.Boxes(c[:1], q[:1], h[:1])
        self.candidates = fbsim.Boxes(c[1:], q[1:], h[1:])

    def time_overlap(self, k):
        fbsim.overlap(self.new, self.candidates, tol=1e-3)


class PlayerSweeps:
    """Noclip checks: capsules swept against boxes, and rays against boxes."""

    params = [1_000, 20_000]
    param_names = ["pairs"]

    def setup(self, n):
        p0, p1, r = random_capsules(n, seed=2, side=8.0)
        self.players = fbsim.Capsules(p0, p1, r)
        (c, q, h), _ = random_obb_pairs(n, seed=3)
        self.walls = fbsim.Boxes(c, q, h)
        rng = np.random.default_rng(4)
        self.disp = c - (p0 + p1) / 2 + rng.normal(scale=0.5, size=(n, 3))
        self.origins = (p0 + p1) / 2

    def time_shapecast(self, n):
        fbsim.shapecast(self.players, self.disp, self.walls)

    def time_raycast(self, n):
        fbsim.raycast(self.walls, self.origins, self.disp, 10.0)
