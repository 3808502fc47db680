# SPDX-License-Identifier: MIT
"""asv suites for the broad phase (fbsim.spatial): build, update, pairs, queries, memory.

Workloads come from benchmarks/workloads_broadphase.py (seeded). SweepAndPrune is measured at
the smaller size only: in a dense cube one axis prunes poorly and a call would exceed ~1 s.
"""

from __future__ import annotations

import numpy as np

import fbsim
from benchmarks.workloads_broadphase import (
    crowded_wall,
    hostile_crowd,
    query_boxes,
    rays,
    tick_moves,
    uniform_boxes,
)

KINDS = ("SpatialHash", "DynamicTree", "SweepAndPrune")


def _make(kind: str):
    return getattr(fbsim, kind)()


class _Base:
    params = ([10_000, 100_000], list(KINDS))
    param_names = ("n", "kind")

    def setup(self, n, kind):
        if kind == "SweepAndPrune" and n > 10_000:
            raise NotImplementedError  # asv: skip this combination
        self.ids, self.lo, self.hi, self.centers, self.half = uniform_boxes(n)
        self.s = _make(kind)
        self.s.insert(self.ids, self.lo, self.hi)


class Build(_Base):
    def time_insert(self, n, kind):
        _make(kind).insert(self.ids, self.lo, self.hi)

    def peakmem_insert(self, n, kind):
        _make(kind).insert(self.ids, self.lo, self.hi)

    def track_bytes_per_box(self, n, kind):
        return self.s.nbytes / n

    track_bytes_per_box.unit = "bytes"


class IncrementalBuild:
    """A world loaded in batches of 1000 under the server's own sparse ids: the arrays grow step
    by step and the ids go to the hash, so memory per box is higher than one batch's."""

    params = (["SpatialHash", "DynamicTree"],)
    param_names = ("kind",)
    n = 100_000

    def setup(self, kind):
        _ids, self.lo, self.hi, _c, _h = uniform_boxes(self.n)
        rng = np.random.default_rng(5)
        self.ids = rng.permutation(self.n).astype(np.int64) * 7919 + 12345

    def _build(self, kind):
        s = _make(kind)
        for a in range(0, self.n, 1000):
            s.insert(self.ids[a : a + 1000], self.lo[a : a + 1000], self.hi[a : a + 1000])
        return s

    def time_build(self, kind):
        self._build(kind)

    def track_bytes_per_box(self, kind):
        return self._build(kind).nbytes / self.n

    track_bytes_per_box.unit = "bytes"


class Pairs(_Base):
    def time_pairs(self, n, kind):
        self.s.pairs()

    def track_pairs_per_box(self, n, kind):
        return len(self.s.pairs()) / n


class Tick(_Base):
    """10% of boxes move up to 0.27 studs per axis: update, then pairs of what moved."""

    def setup(self, n, kind):
        super().setup(n, kind)
        self.moved, delta = tick_moves(n)
        c = self.centers[self.moved] + delta
        self.lo2, self.hi2 = c - self.half[self.moved], c + self.half[self.moved]
        self.lo1, self.hi1 = self.lo[self.moved], self.hi[self.moved]
        self.flip = False

    def _update(self):
        # Alternate between the two positions so every call does the same work.
        self.flip = not self.flip
        if self.flip:
            self.s.update(self.moved, self.lo2, self.hi2)
        else:
            self.s.update(self.moved, self.lo1, self.hi1)

    def time_update(self, n, kind):
        self._update()

    def time_update_and_moved_pairs(self, n, kind):
        self._update()
        self.s.pairs(self.moved)


class Queries(_Base):
    def setup(self, n, kind):
        super().setup(n, kind)
        self.qlo, self.qhi = query_boxes(1000, n)
        self.o, self.d, self.t = rays(200, n)

    def time_query_aabb(self, n, kind):
        self.s.query_aabb(self.qlo, self.qhi)

    def time_query_sphere(self, n, kind):
        self.s.query_sphere((self.qlo + self.qhi) / 2, [2.0] * len(self.qlo))

    def time_raycast(self, n, kind):
        self.s.raycast(self.o, self.d, self.t)

    def time_raycast_first(self, n, kind):
        self.s.raycast_first(self.o, self.d, self.t)


class SingleWrites(_Base):
    """One-row writes, as a server placing items one request at a time (SpatialHash: they
    stay in its side buffer; the merge hitch is measured by benchmarks/compare/broadphase.py
    --million)."""

    def setup(self, n, kind):
        super().setup(n, kind)
        self.one_lo = self.lo[:1] + 0.1
        self.one_hi = self.hi[:1] + 0.1
        self.far_lo = self.lo[1:2] + 7.0
        self.far_hi = self.hi[1:2] + 7.0
        self.back_lo, self.back_hi = self.lo[1:2], self.hi[1:2]
        self.new_id = [n + 1]

    def time_insert_then_remove(self, n, kind):
        for _ in range(200):
            self.s.insert(self.new_id, self.one_lo, self.one_hi)
            self.s.remove(self.new_id)

    def time_update_changing_cell(self, n, kind):
        for _ in range(100):
            self.s.update(self.ids[1:2], self.far_lo, self.far_hi)
            self.s.update(self.ids[1:2], self.back_lo, self.back_hi)


class BaseplateFirst:
    """A world whose first insert is a 512-stud baseplate (the automatic cell size is then
    ~517 studs), then 30,000 bricks on a 2-stud grid: every brick shares a few huge cells.
    pairs() must stay near linear here (a cell-by-cell pass without pruning along x took
    ~1 s; review of broadphase-5)."""

    params = (list(KINDS[:2]),)
    param_names = ("kind",)

    def setup(self, kind):
        import numpy as np

        rng = np.random.default_rng(0)
        n = 30_000
        self.s = _make(kind)
        self.s.insert([10**9], [[0.0, -1.0, 0.0]], [[512.0, 0.0, 512.0]])
        g = np.stack(
            [
                rng.integers(0, 255, n) * 2.0,
                rng.integers(0, 40, n) * 1.2,
                rng.integers(0, 127, n) * 4.0,
            ],
            axis=1,
        )
        self.ids = np.arange(n, dtype=np.int64)
        self.s.insert(self.ids, g + 0.01, g + np.array([1.99, 1.19, 3.99]))
        self.moved = self.ids[::10]

    def time_pairs(self, kind):
        self.s.pairs()

    def time_pairs_moved(self, kind):
        # 10% of the bricks: the crowded cells are searched along min x (broadphase-6; 60k
        # bricks took 540 ms when each moved brick tested its neighbour cells whole).
        self.s.pairs(self.moved)


class CrowdedWall:
    """40,000 unit bricks stacked as a wall in the y-z plane, all with min x = 0 (issue #4,
    round 7). "baseplate": a 2048-stud baseplate inserted first set the automatic cell size
    (~2068 studs), re-chosen when the bricks merge in; "explicit": cell_size=64, so each cell
    holds a 64 x 64 patch of the wall and the level is re-gridded per call; "specks": 40,000
    specks of 0.01 studs in one 64-stud cell, all with min x = 1. A sweep along x prunes
    nothing in any of them (round 6: 0.9-4.8 s for pairs()); DynamicTree for reference."""

    params = (["baseplate", "explicit", "specks"], list(KINDS[:2]))
    param_names = ("scene", "kind")

    def setup(self, scene, kind):
        plate, self.ids, lo, hi, cell = crowded_wall(scene)
        self.s = fbsim.SpatialHash(cell_size=cell) if kind == "SpatialHash" else _make(kind)
        if plate is not None:
            self.s.insert([10**9], *plate)
        self.s.insert(self.ids, lo, hi)
        self.moved = self.ids[::10]

    def time_pairs(self, scene, kind):
        self.s.pairs()

    def time_pairs_moved(self, scene, kind):
        self.s.pairs(self.moved)


class HostileCrowd:
    """Crowded levels a client can build on purpose (issue #4, round 8; workloads_broadphase.
    hostile_crowd): "wide65", 40k specks in one 64-stud cell + 65 cell-sized plates (one
    re-grid's columns became as large as the plates: 191 ms for pairs()); "rods_mixed", 30k
    thin rods in three bundles along x, y and z (one sweep axis per level: 52 ms); "buffered",
    64k specks in one cell + 4,000 in the side buffer (each searched the cell whole: 750 ms);
    "cliff33", 200k bricks + 33 specks in one cell (the whole level re-gridded: 56 ms vs 18 at
    32). DynamicTree for reference."""

    params = (["wide65", "rods_mixed", "buffered", "cliff33"], list(KINDS[:2]))
    param_names = ("scene", "kind")

    def setup(self, scene, kind):
        self.ids, lo, hi, cell, buf = hostile_crowd(scene)
        self.s = fbsim.SpatialHash(cell_size=cell) if kind == "SpatialHash" else _make(kind)
        first = buf.start if buf.stop > buf.start else len(self.ids)
        self.s.insert(self.ids[:first], lo[:first], hi[:first])
        for k in range(first, len(self.ids), 400):
            self.s.insert(self.ids[k : k + 400], lo[k : k + 400], hi[k : k + 400])
        self.moved = self.ids[buf] if buf.stop > buf.start else self.ids[::10]

    def time_pairs(self, scene, kind):
        self.s.pairs()

    def time_pairs_moved(self, scene, kind):
        self.s.pairs(self.moved)


class CrowdQueries:
    """1,000 small box queries and 1,000 one-stud rays over 64,000 specks in one 64-stud cell
    (issue #4, round 8: each query scanned the cell whole, 174 ms and 652 ms). DynamicTree for
    reference."""

    params = (list(KINDS[:2]),)
    param_names = ("kind",)

    def setup(self, kind):
        ids, lo, hi, cell, _ = hostile_crowd("buffered")
        n = 64_000
        self.s = fbsim.SpatialHash(cell_size=cell) if kind == "SpatialHash" else _make(kind)
        self.s.insert(ids[:n], lo[:n], hi[:n])
        rng = np.random.default_rng(1)
        self.q = rng.uniform(0.0, 63.0, size=(1000, 3))
        self.d = rng.normal(size=(1000, 3))

    def time_query_aabb(self, kind):
        self.s.query_aabb(self.q, self.q + 0.01)

    def time_raycast(self, kind):
        self.s.raycast(self.q, self.d, 1.0)
