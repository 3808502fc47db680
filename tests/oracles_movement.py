# SPDX-License-Identifier: MIT
# ruff: noqa: ARG002  (protocol methods keep the protocol's full signature)
"""Brute-force CollisionQueries over axis-aligned boxes + the ground plane (pure numpy).

Shares no code with fbsim. The vertical capsule (feet p, radius r, height h) is its axis
segment q..q+L (q = p + (0, r, 0), L = h - 2r) inflated by r. It touches an AABB [lo, hi] iff
the point q lies in the box grown by r on every side and by L more downwards; that grown box
has square edges where the true Minkowski sum is rounded, so the sweep is exact for face
contacts and conservative (hits slightly early) near box edges and corners. ``supported`` is
exact: the foot sphere's distance to each box.

Boxes may be added at a time (``appear``) and may move at constant velocity (platforms); set
``world.time`` before a query.
"""

from __future__ import annotations

import numpy as np


class BoxWorld:
    def __init__(self, boxes=(), time: float = 0.0):
        self.time = time
        self._lo: list[np.ndarray] = []
        self._hi: list[np.ndarray] = []
        self._vel: list[np.ndarray] = []
        self._t0: list[float] = []
        self._appear: list[float] = []
        for b in boxes:
            self.add(b[:3], b[3:])

    def add(self, lo, hi, velocity=(0.0, 0.0, 0.0), t0: float = 0.0, appear: float = -np.inf):
        self._cache = None
        self._lo.append(np.asarray(lo, dtype=float))
        self._hi.append(np.asarray(hi, dtype=float))
        self._vel.append(np.asarray(velocity, dtype=float))
        self._t0.append(float(t0))
        self._appear.append(float(appear))

    def boxes(self, time: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(lo, hi) of the boxes present at ``time`` (default ``self.time``)."""
        t = self.time if time is None else time
        if not self._lo:
            return np.zeros((0, 3)), np.zeros((0, 3))
        if getattr(self, "_cache", None) is None:
            self._cache = (
                np.array(self._lo),
                np.array(self._hi),
                np.array(self._vel),
                np.array(self._t0),
                np.array(self._appear),
            )
        lo0, hi0, vel, t0, appear = self._cache
        live = appear <= t
        if not vel.any():
            return (lo0, hi0) if live.all() else (lo0[live], hi0[live])
        shift = vel * (t - t0)[:, None]
        return (lo0 + shift)[live], (hi0 + shift)[live]

    # -- CollisionQueries -------------------------------------------------------------------
    def supported(self, feet, radius, tolerance):
        feet = np.asarray(feet, dtype=float)
        out = feet[:, 1] <= tolerance
        lo, hi = self.boxes()
        if len(lo) and len(feet):
            c = feet + np.array([0.0, radius, 0.0])
            reach = radius + tolerance
            # Cull by bounds, then the exact sphere-box distance on the candidates.
            near = ((c[:, None] >= lo[None] - reach) & (c[:, None] <= hi[None] + reach)).all(axis=2)
            rows, boxes = np.nonzero(near)
            if len(rows):
                d = np.maximum(np.maximum(lo[boxes] - c[rows], 0.0), c[rows] - hi[boxes])
                close = np.sqrt((d * d).sum(axis=1)) <= reach
                out[rows[close]] = True
        return out

    def sweep(self, start, end, radius, height):
        start = np.asarray(start, dtype=float)
        end = np.asarray(end, dtype=float)
        n = len(start)
        toi = np.full(n, np.inf)
        normal = np.zeros((n, 3))
        lo, hi = self.boxes()
        if not len(lo) or not n:
            return toi, normal
        axis = height - 2 * radius
        glo = lo - np.array([radius, radius + axis, radius])
        ghi = hi + radius
        q0 = start + np.array([0.0, radius, 0.0])
        d = end - start
        # Only boxes whose grown bounds meet the path's bounds can be hit (a cheap cull).
        plo = np.minimum(q0, q0 + d)
        phi = np.maximum(q0, q0 + d)
        cand = ((plo[:, None] <= ghi[None]) & (phi[:, None] >= glo[None])).all(axis=2)
        rows, boxes = np.nonzero(cand)
        if not len(rows):
            return toi, normal
        t_in, n_in = _slab(q0[rows], d[rows], glo[boxes], ghi[boxes])
        order = np.lexsort((t_in, rows))  # per row, the earliest hit first
        rows, t_in, n_in = rows[order], t_in[order], n_in[order]
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        keep = first & np.isfinite(t_in)
        toi[rows[keep]] = t_in[keep]
        normal[rows[keep]] = n_in[keep]
        return toi, normal


def _slab(q0, d, lo, hi):
    """Per row: first t in [0, 1] where q0 + t d enters the open box (lo, hi), entry normal."""
    n = len(q0)
    t_enter = np.zeros(n)
    t_exit = np.ones(n)
    axis_in = np.full(n, -1)
    sign_in = np.zeros(n)
    ok = np.ones(n, dtype=bool)
    for a in range(3):
        da = d[:, a]
        moving = np.abs(da) > 1e-12
        inside = (q0[:, a] > lo[:, a]) & (q0[:, a] < hi[:, a])
        ok &= moving | inside
        with np.errstate(
            divide="ignore", invalid="ignore", over="ignore"
        ):  # np.where evaluates both sides
            t1 = np.where(moving, (lo[:, a] - q0[:, a]) / da, -np.inf)
            t2 = np.where(moving, (hi[:, a] - q0[:, a]) / da, np.inf)
        near = np.minimum(t1, t2)
        far = np.maximum(t1, t2)
        later = near > t_enter
        axis_in = np.where(later, a, axis_in)
        sign_in = np.where(later, np.where(da > 0, -1.0, 1.0), sign_in)
        t_enter = np.maximum(t_enter, near)
        t_exit = np.minimum(t_exit, far)
    hit = ok & (t_enter < t_exit) & (t_enter <= 1.0)
    toi = np.where(hit, t_enter, np.inf)
    normal = np.zeros((n, 3))
    rows = np.flatnonzero(hit & (axis_in >= 0))
    normal[rows, axis_in[rows]] = sign_in[rows]
    # Starting inside: push out through the nearest face.
    inside_rows = np.flatnonzero(hit & (axis_in < 0))
    for i in inside_rows:
        gaps = np.concatenate([q0[i] - lo[i], hi[i] - q0[i]])
        j = int(np.argmin(gaps))
        normal[i, j % 3] = -1.0 if j < 3 else 1.0
    return toi, normal


class FlatStub:
    """'Supported everywhere, no hit': the collision-free timing path of the benchmark."""

    def supported(self, feet, radius, tolerance):
        return np.ones(len(feet), dtype=bool)

    def sweep(self, start, end, radius, height):
        n = len(start)
        return np.full(n, np.inf), np.zeros((n, 3))
