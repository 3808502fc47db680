# SPDX-License-Identifier: MIT
"""Seeded worlds and placement batches for the world/placement benchmarks (append-only)."""

from __future__ import annotations

import numpy as np

import fbsim


def brick_world(n_items: int, n_players: int = 1000, seed: int = 0):
    """`n_items` 1-stud bricks on distinct cells of a square ground grid (density 25%), 16
    plots, `n_players` admins standing at random spots with 100 bricks each."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_items * 4)))
    w = fbsim.World()
    half = side / 2
    q = side / 4
    lo = [[-half + i * q, -half + j * q] for i in range(4) for j in range(4)]
    hi = [[-half + (i + 1) * q, -half + (j + 1) * q] for i in range(4) for j in range(4)]
    w.add_plots(np.arange(16), lo, hi, owners=np.arange(16))
    cells = rng.choice(side * side, size=n_items, replace=False)
    pos = np.column_stack(
        [cells % side - half + 0.5, np.full(n_items, 0.5), cells // side - half + 0.5]
    )
    w.add_items(np.zeros(n_items, np.int64), pos, np.tile([0, 0, 0, 1.0], (n_items, 1)), owners=0)
    ppos = np.column_stack(
        [
            rng.uniform(-half + 10, half - 10, n_players),
            np.full(n_players, 1.0),
            rng.uniform(-half + 10, half - 10, n_players),
        ]
    )
    w.add_players(np.arange(n_players), ppos)
    w.set_admins(np.arange(n_players))
    w.give(np.arange(n_players), np.zeros(n_players, np.int64), np.full(n_players, 100))
    return w, ppos


def placement_batch(ppos: np.ndarray, n: int, seed: int = 1, first_id: int = 0) -> dict:
    """`n` brick placements on grid cells within 5 studs of random players (ground or one up)."""
    rng = np.random.default_rng(seed)
    pl = rng.integers(0, len(ppos), n)
    pos = np.floor(ppos[pl]) + 0.5
    pos[:, 0] += rng.integers(-5, 6, n)
    pos[:, 2] += rng.integers(-5, 6, n)
    pos[:, 1] = 0.5 + rng.integers(0, 2, n)
    return {
        "request_id": np.arange(first_id, first_id + n),
        "player": pl,
        "kind": np.zeros(n, np.int64),
        "position": pos,
        "rotation": np.tile([0, 0, 0, 1.0], (n, 1)),
    }
