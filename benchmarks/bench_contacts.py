# SPDX-License-Identifier: MIT
"""asv suite for the combined pipeline fbsim.contacts: broad phase (a SpatialHash holding the
shapes' AABBs) then exact narrow phase on the candidate pairs.

Workload (seeded, built here from benchmarks/workloads_broadphase.py's cube): a few thousand
rotated boxes (items) and upright capsules (players) in a cube sized so each AABB overlaps
about 3 others. Measured: the full pipeline (pairs + contacts), the narrow phase alone on
precomputed candidates, and a tick (update the players that moved, pairs of what moved,
their contacts).
"""

from __future__ import annotations

import numpy as np

import fbsim
from benchmarks.workloads_broadphase import cube_side
from fbsim.pipeline import shape_aabbs

UP = np.array([0.0, 1.0, 0.0])  # capsule axis: players stand upright


def _scene(n_boxes: int, n_caps: int, seed: int = 7):
    rng = np.random.default_rng(seed)
    side = cube_side(n_boxes + n_caps)
    c = rng.uniform(0.0, side, size=(n_boxes, 3))
    q = rng.normal(size=(n_boxes, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    boxes = fbsim.Boxes(c, q, rng.uniform(0.25, 1.0, size=(n_boxes, 3)))
    feet = rng.uniform(0.0, side, size=(n_caps, 3))
    radii = np.full(n_caps, 0.5)
    caps = fbsim.Capsules(feet, feet + UP, radii)
    box_ids = np.arange(n_boxes, dtype=np.int64)
    cap_ids = np.arange(n_boxes, n_boxes + n_caps, dtype=np.int64)
    return box_ids, boxes, cap_ids, caps, feet, radii


class Contacts:
    params = ([(2_000, 500), (8_000, 2_000)],)
    param_names = ("boxes_capsules",)

    def setup(self, counts):
        nb, nc = counts
        self.box_ids, self.boxes, self.cap_ids, self.caps, feet, radii = _scene(nb, nc)
        self.groups = [(self.box_ids, self.boxes), (self.cap_ids, self.caps)]
        self.hash = fbsim.SpatialHash()
        for ids, shapes in self.groups:
            a = shape_aabbs(shapes)
            self.hash.insert(ids, a[:, :3], a[:, 3:])
        self.candidates = self.hash.pairs()
        # A tick: every player steps up to 0.27 studs (walk speed 16 studs/s at 60 ticks/s).
        rng = np.random.default_rng(8)
        f2 = feet + rng.uniform(-0.27, 0.27, size=feet.shape)
        self.moved_caps = fbsim.Capsules(f2, f2 + UP, radii)
        self.moved_aabbs = shape_aabbs(self.moved_caps)
        self.back_aabbs = shape_aabbs(self.caps)

    def time_pipeline(self, counts):
        fbsim.contacts(self.hash, self.groups)

    def time_narrow_phase_only(self, counts):
        fbsim.contacts(self.hash, self.groups, pairs=self.candidates)

    def time_tick_players_moved(self, counts):
        a = self.moved_aabbs
        self.hash.update(self.cap_ids, a[:, :3], a[:, 3:])
        groups = [(self.box_ids, self.boxes), (self.cap_ids, self.moved_caps)]
        fbsim.contacts(self.hash, groups, pairs=self.hash.pairs(self.cap_ids))
        b = self.back_aabbs
        self.hash.update(self.cap_ids, b[:, :3], b[:, 3:])

    def track_contacts(self, counts):
        return len(fbsim.contacts(self.hash, self.groups)[0])

    track_contacts.unit = "contacts"
