# SPDX-License-Identifier: MIT
"""Seeded workloads for the sharding benchmarks (append-only: keeps asv history comparable)."""

from __future__ import annotations

import numpy as np

PLAYER_WEIGHT = 10.0  # a player costs ten static items of server time
ITEM_WEIGHT = 1.0


def world(n: int, kind: str = "uniform", seed: int = 11) -> tuple[np.ndarray, np.ndarray]:
    """``n`` entities on a 10,000 x 200 x 10,000 stud map, 10% players (weight 10).

    ``kind="clustered"``: 90% of entities on 8 plots (Gaussian, sigma 20 studs), the rest
    uniform, as in a building game where most players crowd a few popular builds.
    """
    rng = np.random.default_rng(seed)
    pos = np.empty((n, 3))
    pos[:, 0] = rng.uniform(-5000, 5000, n)
    pos[:, 1] = rng.uniform(0, 200, n)
    pos[:, 2] = rng.uniform(-5000, 5000, n)
    if kind == "clustered":
        m = int(0.9 * n)
        plots = rng.uniform(-4000, 4000, size=(8, 3))
        plots[:, 1] = 50
        pos[:m] = plots[rng.integers(0, 8, m)] + rng.normal(0, 20, size=(m, 3))
    weights = np.where(rng.random(n) < 0.1, PLAYER_WEIGHT, ITEM_WEIGHT)
    return pos, weights


def walk(positions: np.ndarray, n_moved: int, ticks: int, seed: int = 12):
    """Ids of ``n_moved`` players and their positions over ``ticks`` ticks of walking
    (16 studs/s at 60 Hz: 0.27 studs per tick, direction changing slowly)."""
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(positions.shape[0], n_moved, replace=False))
    cur = positions[ids].copy()
    heading = rng.uniform(0, 2 * np.pi, n_moved)
    frames = []
    for _ in range(ticks):
        heading += rng.normal(0, 0.1, n_moved)
        cur[:, 0] += np.cos(heading) * 16 / 60
        cur[:, 2] += np.sin(heading) * 16 / 60
        frames.append(cur.copy())
    return ids, frames
