# SPDX-License-Identifier: MIT
"""A brute-force placement validator for axis-aligned worlds, written separately from
fbsim.placement: plain Python loops over every item, AABB arithmetic, no fbsim imports.

It knows items only as axis-aligned boxes, so the randomized test uses kinds rotated by
multiples of 90 degrees about y (whose exact shapes are their AABBs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

OK = "OK"


@dataclass
class Kind:
    name: str
    half: tuple[float, float, float]
    grid: float
    needs_support: bool = True
    max_per_player: int | None = None


@dataclass
class Model:
    kinds: list[Kind]
    plots: list[tuple[int, tuple[float, float], tuple[float, float], int]]  # id, lo, hi, owner
    builders: set[tuple[int, int]]  # (plot, player) granted BUILDER
    players: dict[int, tuple[float, float, float]]  # feet
    items: list[tuple[list[float], list[float]]]  # (lo, hi)
    inventory: dict[tuple[int, int], int]
    placed: dict[tuple[int, int], int] = field(default_factory=dict)  # (player, kind) -> count
    bounds_lo: tuple = (-1e5, -500.0, -1e5)
    bounds_hi: tuple = (1e5, 1e4, 1e5)
    eye_height: float = 4.5
    radius: float = 1.0
    height: float = 5.0
    reach: float = 24.0
    tol: float = 1e-3
    other_player_margin: float = 5.0


def _aabb(center, half, yaw_steps):
    hx, hy, hz = half
    if yaw_steps % 2:
        hx, hz = hz, hx
    lo = [center[0] - hx, center[1] - hy, center[2] - hz]
    hi = [center[0] + hx, center[1] + hy, center[2] + hz]
    return lo, hi


def _penetrates(a, b, tol):
    """AABBs overlap by more than tol on every axis."""
    return all(min(a[1][k], b[1][k]) - max(a[0][k], b[0][k]) > tol for k in range(3))


def _gap(a, b):
    """Euclidean distance between two AABBs (0 when they touch or overlap)."""
    s = 0.0
    for k in range(3):
        d = max(a[0][k] - b[1][k], b[0][k] - a[1][k], 0.0)
        s += d * d
    return math.sqrt(s)


def _closest_on_box(p, box):
    return [min(max(p[k], box[0][k]), box[1][k]) for k in range(3)]


def _segment_hits_box_interior(p, q, box, shrink):
    """Slab test of segment p->q against the box shrunk by `shrink` (open interior)."""
    lo = [box[0][k] + shrink for k in range(3)]
    hi = [box[1][k] - shrink for k in range(3)]
    if any(lo[k] > hi[k] for k in range(3)):
        return False
    t0, t1 = 0.0, 1.0
    for k in range(3):
        d = q[k] - p[k]
        if abs(d) < 1e-15:
            if p[k] <= lo[k] or p[k] >= hi[k]:
                return False
            continue
        a, b = (lo[k] - p[k]) / d, (hi[k] - p[k]) / d
        if a > b:
            a, b = b, a
        t0, t1 = max(t0, a), min(t1, b)
        if t0 >= t1:
            return False
    return True


def _capsule_box_distance(feet, radius, height, box):
    """Distance from the vertical core segment of the player capsule to the box, minus r."""
    y0, y1 = feet[1] + radius, feet[1] + height - radius
    dx = max(box[0][0] - feet[0], feet[0] - box[1][0], 0.0)
    dz = max(box[0][2] - feet[2], feet[2] - box[1][2], 0.0)
    dy = max(box[0][1] - y1, y0 - box[1][1], 0.0)
    return math.sqrt(dx * dx + dy * dy + dz * dz) - radius


def validate(model: Model, requests: list[dict]) -> list[str]:
    """Reason names, one per request, processed in order (first wins)."""
    out = []
    accepted: list[tuple[list[float], list[float]]] = []
    used: dict[tuple[int, int], int] = {}
    tol = model.tol
    for r in requests:
        player, kind_id, pos, yaw_steps, yaw_exact = (
            r["player"],
            r["kind"],
            r["position"],
            r["yaw_steps"],
            r["yaw_exact"],
        )
        if player not in model.players:
            out.append("UNKNOWN_PLAYER")
            continue
        if not (0 <= kind_id < len(model.kinds)):
            out.append("UNKNOWN_KIND")
            continue
        kind = model.kinds[kind_id]
        if not yaw_exact:
            out.append("ROTATION_NOT_ALLOWED")
            continue
        box = _aabb(pos, kind.half, yaw_steps)
        if any(box[0][k] < model.bounds_lo[k] or box[1][k] > model.bounds_hi[k] for k in range(3)):
            out.append("OUT_OF_BOUNDS")
            continue
        if kind.grid > 0 and any(
            abs(box[0][k] - round(box[0][k] / kind.grid) * kind.grid) > tol for k in range(3)
        ):
            out.append("OFF_GRID")
            continue
        plot = None
        for pid, lo, hi, owner in model.plots:
            if (
                box[0][0] >= lo[0] - tol
                and box[1][0] <= hi[0] + tol
                and box[0][2] >= lo[1] - tol
                and box[1][2] <= hi[1] + tol
            ):
                plot = (pid, owner)
                break
        if plot is None:
            out.append("NO_PLOT")
            continue
        if plot[1] != player and (plot[0], player) not in model.builders:
            out.append("NOT_PERMITTED")
            continue
        feet = model.players[player]
        eye = [feet[0], feet[1] + model.eye_height, feet[2]]
        target = _closest_on_box(eye, box)
        dist = math.dist(eye, target)
        if dist > model.reach + 1e-6:
            out.append("OUT_OF_REACH")
            continue
        if dist > tol and any(
            _segment_hits_box_interior(eye, target, it, tol) for it in model.items
        ):
            out.append("NO_LINE_OF_SIGHT")
            continue
        if any(_penetrates(box, it, tol) for it in model.items):
            out.append("OVERLAPS_ITEM")
            continue
        if any(
            _capsule_box_distance(f, model.radius, model.height, box)
            < (-tol if pid == player else model.other_player_margin)
            for pid, f in model.players.items()
        ):
            out.append("OVERLAPS_PLAYER")
            continue
        if any(_penetrates(box, it, tol) for it in accepted):
            out.append("BATCH_CONFLICT")
            continue
        supported = (
            not kind.needs_support
            or box[0][1] <= tol
            or any(_gap(box, it) <= tol for it in model.items)
            or any(_gap(box, it) <= tol for it in accepted)
        )
        if not supported:
            out.append("UNSUPPORTED")
            continue
        key = (player, kind_id)
        if (
            kind.max_per_player is not None
            and model.placed.get(key, 0) + used.get(key, 0) >= kind.max_per_player
        ):
            out.append("PLAYER_LIMIT")
            continue
        if model.inventory.get(key, 0) - used.get(key, 0) < 1:
            out.append("NO_INVENTORY")
            continue
        used[key] = used.get(key, 0) + 1
        accepted.append(box)
        out.append(OK)
    return out
