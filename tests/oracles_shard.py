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


def rcb_reference(positions, weights, k, lim):
    """The k-d partition rule of fbsim/shard.hpp, written plainly in numpy (a full sort per
    node): returns (servers, regions). Exact when weight sums are exact (integer or dyadic
    weights), since the rule compares prefix sums with the target."""
    p = np.asarray(positions, dtype=np.float64)
    n = p.shape[0]
    w_all = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).copy()
    servers = np.full(n, -1, dtype=np.int32)
    regions = np.zeros((k, 6))
    stack = [(np.arange(n), 0, k, np.full(3, -lim), np.full(3, lim))]
    while stack:
        idx, s0, kk, lo, hi = stack.pop()
        if kk == 1:
            servers[idx] = s0
            regions[s0, :3] = lo
            regions[s0, 3:] = hi
            continue
        w = w_all[idx]
        if idx.size and w.sum() <= 0:
            w = np.ones(idx.size)
            w_all[idx] = 1.0
        total = w.sum()
        pts = p[idx]
        ext = pts.max(axis=0) - pts.min(axis=0) if idx.size >= 2 else np.zeros(3)
        axis = int(np.argmax(ext)) if ext.max() > 0 else int(np.argmax(hi - lo))
        order = np.lexsort((idx, pts[:, axis]))  # coordinate, then row index
        ws = w[order]
        kl = kk // 2
        target = total * kl / kk
        m = 0
        if target > 0:
            cum = np.cumsum(ws)
            reach = np.flatnonzero(cum >= target)
            if reach.size == 0:
                m = idx.size
            else:
                t = int(reach[0])
                before = cum[t - 1] if t > 0 else 0.0
                m = t + 1 if cum[t] - target <= target - before else t
        low, high = idx[order[:m]], idx[order[m:]]
        c = p[:, axis]
        if low.size and high.size:
            lmax, rmin = c[low].max(), c[high].min()
            split = lmax + (rmin - lmax) * 0.5
        elif high.size:
            split = lo[axis] + (c[high].min() - lo[axis]) * 0.5
        elif low.size:
            lmax = c[low].max()
            split = lmax + (hi[axis] - lmax) * 0.5
        else:
            split = lo[axis] + (hi[axis] - lo[axis]) * 0.5
        split = min(max(split, lo[axis]), hi[axis])
        lhi, rlo = hi.copy(), lo.copy()
        lhi[axis] = split
        rlo[axis] = split
        stack.append((low, s0, kl, lo, lhi))
        stack.append((high, s0 + kl, kk - kl, rlo, hi))
    return servers, regions
