# SPDX-License-Identifier: MIT
"""Brute-force references for fbsim.Octree / fbsim.Quadtree. Plain numpy over all items; they
share no code with the tree (no pruning, no C++), so agreement means the pruning is exact."""

from __future__ import annotations

import numpy as np


def as_boxes(items: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of points (n, dim) or boxes (n, 2 * dim)."""
    items = np.asarray(items, dtype=float).reshape(-1, items.shape[-1] if items.ndim else dim)
    if items.shape[1] == dim:
        return items, items
    return items[:, :dim], items[:, dim:]


def dist2(q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Squared distances (len(q), n) from points to boxes, summed axis by axis in order."""
    d = np.maximum(np.maximum(lo[None, :, :] - q[:, None, :], q[:, None, :] - hi[None, :, :]), 0.0)
    s = np.zeros(d.shape[:2])
    for a in range(d.shape[2]):  # explicit order: x, then y, then z
        s += d[:, :, a] * d[:, :, a]
    return s


def knn(items, ids, queries, k, dim):
    """The first k items of each query in (distance, id) order: (dist (q, k), ids (q, k))."""
    lo, hi = as_boxes(np.asarray(items, dtype=float), dim)
    ids = np.asarray(ids, dtype=np.int64)
    q = np.asarray(queries, dtype=float).reshape(-1, dim)
    d2 = dist2(q, lo, hi)
    out_d = np.empty((len(q), k))
    out_i = np.empty((len(q), k), dtype=np.int64)
    for j in range(len(q)):
        order = np.lexsort((ids, d2[j]))[:k]
        out_d[j] = np.sqrt(d2[j][order])
        out_i[j] = ids[order]
    return out_d, out_i


def radius(items, ids, queries, r, dim):
    """Sorted id lists of items within r (closed) of each query."""
    lo, hi = as_boxes(np.asarray(items, dtype=float), dim)
    ids = np.asarray(ids, dtype=np.int64)
    q = np.asarray(queries, dtype=float).reshape(-1, dim)
    r = np.broadcast_to(np.asarray(r, dtype=float), (len(q),))
    d2 = dist2(q, lo, hi)
    return [np.sort(ids[d2[j] <= r[j] * r[j]]) for j in range(len(q))]


def query_aabb(items, ids, qlo, qhi, dim):
    """Sorted id lists of items whose box overlaps [qlo, qhi] (closed)."""
    lo, hi = as_boxes(np.asarray(items, dtype=float), dim)
    ids = np.asarray(ids, dtype=np.int64)
    qlo = np.asarray(qlo, dtype=float).reshape(-1, dim)
    qhi = np.asarray(qhi, dtype=float).reshape(-1, dim)
    out = []
    for j in range(len(qlo)):
        hit = np.all((lo <= qhi[j]) & (hi >= qlo[j]), axis=1)
        out.append(np.sort(ids[hit]))
    return out


def ray_entry(items, origins, directions, max_distance, dim):
    """(q, n) entry distances of normalised rays into every item box (inf: miss), by slabs
    computed with division (fbsim multiplies by a reciprocal), so compare with a tolerance."""
    lo, hi = as_boxes(np.asarray(items, dtype=float), dim)
    o = np.asarray(origins, dtype=float).reshape(-1, dim)
    d = np.asarray(directions, dtype=float).reshape(-1, dim)
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    tmax = np.broadcast_to(np.asarray(max_distance, dtype=float), (len(o),))
    out = np.full((len(o), len(lo)), np.inf)
    for j in range(len(o)):
        t0 = np.zeros(len(lo))
        t1 = np.full(len(lo), tmax[j])
        ok = np.ones(len(lo), dtype=bool)
        for a in range(dim):
            if d[j, a] == 0.0:
                ok &= (o[j, a] >= lo[:, a]) & (o[j, a] <= hi[:, a])
                continue
            ta = (lo[:, a] - o[j, a]) / d[j, a]
            tb = (hi[:, a] - o[j, a]) / d[j, a]
            t0 = np.maximum(t0, np.minimum(ta, tb))
            t1 = np.minimum(t1, np.maximum(ta, tb))
        ok &= t0 <= t1
        out[j, ok] = t0[ok]
    return out
