# SPDX-License-Identifier: MIT
"""Seeded workload generators shared by the asv suites. Append-only: changing a generator
changes what history measured."""

from __future__ import annotations

import numpy as np


def random_boxes(n: int, seed: int = 0, world: float = 1000.0):
    """`n` oriented boxes: centres uniform in a cube of side `world`, half extents 0.25-4,
    random (non-unit) quaternions. Returns (centers, quats, half_extents)."""
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-world / 2, world / 2, size=(n, 3))
    quats = rng.normal(size=(n, 4))
    half_extents = rng.uniform(0.25, 4.0, size=(n, 3))
    return centers, quats, half_extents
