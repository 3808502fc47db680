# SPDX-License-Identifier: MIT
"""Independent references for the tests. Nothing here imports fbsim: a reference that shared
code with the library could not catch its bugs."""

from __future__ import annotations

import itertools

import numpy as np
from scipy.spatial.transform import Rotation


def random_quats(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniformly random rotations as (x, y, z, w), with random non-unit norms in [0.5, 2]."""
    q = Rotation.random(n, random_state=rng).as_quat()
    return q * rng.uniform(0.5, 2.0, size=(n, 1))


def box_corners(centers: np.ndarray, quats: np.ndarray, half_extents: np.ndarray) -> np.ndarray:
    """All 8 world-space corners of each box, shape (n, 8, 3), via scipy rotations."""
    signs = np.array(list(itertools.product((-1.0, 1.0), repeat=3)))
    local = signs[None, :, :] * half_extents[:, None, :]
    rot = Rotation.from_quat(quats)
    world = np.stack([rot.apply(local[:, k, :]) for k in range(8)], axis=1)
    return world + centers[:, None, :]


def aabb_from_corners(corners: np.ndarray) -> np.ndarray:
    """(n, 6) AABBs enclosing (n, m, 3) point sets."""
    return np.hstack([corners.min(axis=1), corners.max(axis=1)])
