# SPDX-License-Identifier: MIT
"""Seeded narrow-phase workloads shared by bench_narrowphase.py and compare/narrowphase.py.
Append-only: changing a generator changes what history measured."""

from __future__ import annotations

import numpy as np


def random_obb_pairs(n: int, seed: int = 0):
    """The issue's workload: `n` pairs of oriented boxes, half extents uniform in [0.25, 1],
    uniformly random rotations, centres uniform in a cube of side 3 (about a third overlap).
    Returns ((centers, quats, half_extents), (centers, quats, half_extents)) for a and b."""
    rng = np.random.default_rng(seed)

    def boxes():
        centers = rng.uniform(-1.5, 1.5, size=(n, 3))
        quats = rng.normal(size=(n, 4))
        quats /= np.linalg.norm(quats, axis=1, keepdims=True)  # uniform on SO(3)
        half_extents = rng.uniform(0.25, 1.0, size=(n, 3))
        return centers, quats, half_extents

    return boxes(), boxes()


def random_capsules(n: int, seed: int = 0, side: float = 3.0):
    """`n` capsules (players): centres uniform in a cube of side `side`, half-lengths up to 1,
    radii 0.1-0.6. Returns (p0, p1, radii)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-side / 2, side / 2, size=(n, 3))
    half = rng.normal(size=(n, 3))
    half *= (rng.uniform(0.0, 1.0, n) / np.linalg.norm(half, axis=1))[:, None]
    return centers - half, centers + half, rng.uniform(0.1, 0.6, n)
