# SPDX-License-Identifier: MIT
"""Seeded pathfinding workloads shared by the asv suite and benchmarks/compare/pathfinding.py.
Append-only: changing a generator changes what history measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fbsim import pathfinding as pf

_HERE = Path(__file__).resolve()


def movingai_dir() -> Path | None:
    """shared/data/movingai next to the checkout (or an ancestor's), else None."""
    for p in _HERE.parents:
        d = p / "shared" / "data" / "movingai"
        if d.is_dir():
            return d
    return None


def warframe_a1():
    """The 3D Warframe A1 voxel map and its scenario rows, ``(grid, rows)``, or None when the
    Moving AI 3D data is not available."""
    data = movingai_dir()
    if data is None or not (data / "3d" / "A1.3dmap").is_file():
        return None
    grid = pf.load_movingai_3d_map(data / "3d" / "A1.3dmap")
    rows = pf.load_movingai_3d_scen(data / "3d" / "A1.3dmap.3dscen")
    return grid, rows


def random_grid(size: int, density: float = 0.2, seed: int = 0) -> np.ndarray:
    """size x size bool grid (True = free) with `density` random obstacles. The 3 x 3 corner
    blocks are cleared so that corner-to-corner queries are not trivially cut off at the start
    (without corner cutting, a random corner is sealed off surprisingly often)."""
    rng = np.random.default_rng(seed)
    grid = rng.random((size, size)) >= density
    grid[:3, :3] = True
    grid[-3:, -3:] = True
    return grid


# Moving AI maps used for per-map figures: (kind, map file, scenario file).
MOVINGAI_MAPS = [
    ("city", "Berlin_1_256.map", "Berlin_1_256-random-1.scen"),
    ("city", "Paris_1_256.map", "Paris_1_256-random-1.scen"),
    ("game", "den520d.map", "den520d-random-1.scen"),
    ("game", "brc202d.map", "brc202d-random-1.scen"),
    ("game", "AcrosstheCape.map", "AcrosstheCape.map.scen"),
    ("maze", "maze512-32-9.map", "maze512-32-9.map.scen"),
]


def movingai_queries(map_name: str, scen_name: str, count: int, seed: int = 0):
    """(grid, starts, goals, optimal) for `count` seeded random rows of a scenario file."""
    d = movingai_dir()
    if d is None:
        raise FileNotFoundError("shared/data/movingai not found")
    grid = pf.load_movingai_map(d / map_name)
    rows = pf.load_movingai_scen(d / scen_name)
    pick = np.sort(
        np.random.default_rng(seed).choice(len(rows), min(count, len(rows)), replace=False)
    )
    rows = rows[pick]
    starts = np.stack([rows["sy"], rows["sx"]], axis=1)
    goals = np.stack([rows["gy"], rows["gx"]], axis=1)
    return grid, starts, goals, rows["optimal"]
