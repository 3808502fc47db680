# SPDX-License-Identifier: MIT
"""Independent references for fbsim.shard: plain numpy brute force, sharing no code with it."""

from __future__ import annotations

import numpy as np


def brute_border_sets(positions, servers, regions, radius):
    """For each server s, sorted indices i with servers[i] != s and dist(p_i, box_s) <= radius.

    Distance computed per box over all points, by clamping the point into the box.
    """
    p = np.asarray(positions, dtype=np.float64)
    out = []
    for s, box in enumerate(np.asarray(regions, dtype=np.float64)):
        nearest = np.clip(p, box[:3], box[3:])
        d = np.sqrt(((p - nearest) ** 2).sum(axis=1))
        out.append(np.flatnonzero((d <= radius) & (np.asarray(servers) != s)))
    return out


def point_in_box(points, box):
    """Boolean mask: points inside the closed box (lo <= p <= hi on every axis)."""
    p = np.asarray(points)
    return np.all((p >= box[:3]) & (p <= box[3:]), axis=1)


def clustered_world(rng, n, n_plots=5, spread=8.0, frac=0.9, extent=2000.0):
    """Most entities (frac) on a few plots (tight Gaussian clusters), the rest uniform."""
    n_cluster = int(n * frac)
    centers = rng.uniform(-extent, extent, size=(n_plots, 3))
    centers[:, 1] = rng.uniform(0, 50, size=n_plots)
    which = rng.integers(0, n_plots, size=n_cluster)
    clustered = centers[which] + rng.normal(0, spread, size=(n_cluster, 3))
    uniform = rng.uniform(-extent, extent, size=(n - n_cluster, 3))
    return np.concatenate([clustered, uniform])
