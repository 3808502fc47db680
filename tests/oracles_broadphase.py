# SPDX-License-Identifier: MIT
"""Brute-force numpy references for the broad phase. They share no code with fbsim: every
answer is an all-against-all test written directly from the definitions (touching boxes
overlap; sphere: squared distance from the centre to the box <= r^2; ray: slab test on the
normalised direction, entry distance in [0, max_t])."""

from __future__ import annotations

import numpy as np


def _sorted_rows(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.int64).reshape(-1, 2)
    return p[np.lexsort((p[:, 1], p[:, 0]))]


def brute_pairs(ids, lo, hi, layers=None, masks=None) -> np.ndarray:
    """All overlapping pairs (smaller id, larger id), rows sorted."""
    ids = np.asarray(ids, dtype=np.int64)
    lo = np.asarray(lo, dtype=float).reshape(-1, 3)
    hi = np.asarray(hi, dtype=float).reshape(-1, 3)
    n = len(ids)
    out = []
    for s in range(0, n, 1024):  # chunks keep the n x n masks small
        e = min(n, s + 1024)
        ov = np.all(
            (lo[s:e, None, :] <= hi[None, :, :]) & (lo[None, :, :] <= hi[s:e, None, :]), axis=2
        )
        if layers is not None:
            la, ma = np.asarray(layers, np.int64), np.asarray(masks, np.int64)
            ov &= ((la[s:e, None] & ma[None, :]) != 0) & ((la[None, :] & ma[s:e, None]) != 0)
        i, j = np.nonzero(ov)
        i = i + s
        keep = i < j
        a, b = ids[i[keep]], ids[j[keep]]
        out.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    return _sorted_rows(np.concatenate(out) if out else np.empty((0, 2)))


def pairs_involving(all_pairs: np.ndarray, moved) -> np.ndarray:
    """The rows of a brute-force pair list with an end in `moved`: what pairs(moved) returns."""
    keep = np.isin(all_pairs[:, 0], moved) | np.isin(all_pairs[:, 1], moved)
    return all_pairs[keep]


def check_pairs(s, ids, lo, hi, moved_sets=()) -> np.ndarray:
    """Asserts that structure s (holding exactly these boxes) is consistent and that s.pairs()
    and s.pairs(moved) for each of `moved_sets` equal brute force. Returns all pairs."""
    assert s.check_invariants()
    expect = brute_pairs(ids, lo, hi)
    np.testing.assert_array_equal(s.pairs(), expect)
    for moved in moved_sets:
        np.testing.assert_array_equal(s.pairs(moved), pairs_involving(expect, moved))
    return expect


def brute_pairs_with(ids_a, lo_a, hi_a, ids_b, lo_b, hi_b) -> np.ndarray:
    """Pairs (id in a, id in b) of overlapping boxes, rows sorted."""
    lo_a, hi_a = np.asarray(lo_a, float).reshape(-1, 3), np.asarray(hi_a, float).reshape(-1, 3)
    lo_b, hi_b = np.asarray(lo_b, float).reshape(-1, 3), np.asarray(hi_b, float).reshape(-1, 3)
    ov = np.all((lo_a[:, None, :] <= hi_b[None]) & (lo_b[None] <= hi_a[:, None, :]), axis=2)
    i, j = np.nonzero(ov)
    return _sorted_rows(np.stack([np.asarray(ids_a)[i], np.asarray(ids_b)[j]], axis=1))


def _csr(hit: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """hit: (q, n) booleans -> CSR with ids sorted per row."""
    offsets = np.zeros(hit.shape[0] + 1, dtype=np.int64)
    np.cumsum(hit.sum(axis=1), out=offsets[1:])
    rows = [np.sort(ids[h]) for h in hit]
    return offsets, (np.concatenate(rows) if rows else np.empty(0, np.int64)).astype(np.int64)


def brute_query_aabb(ids, lo, hi, qlo, qhi):
    ids = np.asarray(ids, np.int64)
    lo, hi = np.asarray(lo, float).reshape(-1, 3), np.asarray(hi, float).reshape(-1, 3)
    qlo, qhi = np.asarray(qlo, float).reshape(-1, 3), np.asarray(qhi, float).reshape(-1, 3)
    hit = np.all((lo[None] <= qhi[:, None, :]) & (qlo[:, None, :] <= hi[None]), axis=2)
    return _csr(hit, ids)


def brute_query_sphere(ids, lo, hi, centers, radii):
    ids = np.asarray(ids, np.int64)
    lo, hi = np.asarray(lo, float).reshape(-1, 3), np.asarray(hi, float).reshape(-1, 3)
    c = np.asarray(centers, float).reshape(-1, 3)
    r = np.asarray(radii, float)
    p = np.clip(c[:, None, :], lo[None], hi[None])
    d = c[:, None, :] - p
    d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1] + d[..., 2] * d[..., 2]
    return _csr(d2 <= (r * r)[:, None], ids)


def brute_ray_t(lo, hi, origins, dirs, max_t) -> np.ndarray:
    """(q, n) entry distances, -1 for a miss."""
    lo, hi = np.asarray(lo, float).reshape(-1, 3), np.asarray(hi, float).reshape(-1, 3)
    o = np.asarray(origins, float).reshape(-1, 3)
    d = np.asarray(dirs, float).reshape(-1, 3)
    n = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2])
    d = d / n[:, None]
    q, m = o.shape[0], lo.shape[0]
    t0 = np.zeros((q, m))
    t1 = np.broadcast_to(np.asarray(max_t, float)[:, None], (q, m)).copy()
    miss = np.zeros((q, m), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(3):
            dk = d[:, k][:, None]
            ok = o[:, k][:, None]
            zero = dk == 0.0
            a = (lo[None, :, k] - ok) / dk
            c = (hi[None, :, k] - ok) / dk
            near, far = np.minimum(a, c), np.maximum(a, c)
            inside = (ok >= lo[None, :, k]) & (ok <= hi[None, :, k])
            miss |= zero & ~inside
            t0 = np.where(zero, t0, np.maximum(t0, near))
            t1 = np.where(zero, t1, np.minimum(t1, far))
    miss |= t0 > t1
    return np.where(miss, -1.0, t0)


def brute_raycast(ids, lo, hi, origins, dirs, max_t):
    t = brute_ray_t(lo, hi, origins, dirs, max_t)
    return _csr(t >= 0.0, np.asarray(ids, np.int64))


def brute_raycast_first(ids, lo, hi, origins, dirs, max_t):
    ids = np.asarray(ids, np.int64)
    t = brute_ray_t(lo, hi, origins, dirs, max_t)
    best_id = np.full(t.shape[0], -1, np.int64)
    best_t = np.full(t.shape[0], np.inf)
    for q in range(t.shape[0]):
        hit = np.nonzero(t[q] >= 0)[0]
        if len(hit):
            order = np.lexsort((ids[hit], t[q, hit]))
            best_id[q] = ids[hit[order[0]]]
            best_t[q] = t[q, hit[order[0]]]
    return best_id, best_t
