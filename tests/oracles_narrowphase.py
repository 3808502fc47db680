# SPDX-License-Identifier: MIT
"""Independent references for the narrow phase: peer libraries (coal, python-fcl), analytic
formulas and brute force in numpy. Nothing here calls an fbsim kernel.

Random workloads follow the issue: sizes 0.25-1, centres uniform in a cube of side 3, random
rotations, so roughly a third of the pairs overlap and many are near contact.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

import fbsim

KINDS = ("box", "sphere", "capsule", "hull")


# ---- random batches -----------------------------------------------------------------------


def random_batch(kind: str, n: int, rng: np.random.Generator, side: float = 3.0, origin=0.0):
    """`n` random shapes of `kind` with centres in a cube of side `side` around `origin`."""
    centers = origin + rng.uniform(-side / 2, side / 2, size=(n, 3))
    if kind == "box":
        return fbsim.Boxes(
            centers, Rotation.random(n, random_state=rng).as_quat(), rng.uniform(0.25, 1, (n, 3))
        )
    if kind == "sphere":
        return fbsim.Spheres(centers, rng.uniform(0.25, 1, n))
    if kind == "capsule":
        half = rng.normal(size=(n, 3))
        half *= (rng.uniform(0.0, 1.0, n) / np.linalg.norm(half, axis=1))[:, None]
        return fbsim.Capsules(centers - half, centers + half, rng.uniform(0.1, 0.6, n))
    if kind == "hull":
        m = rng.integers(4, 13, n)
        return fbsim.Hulls(
            [c + rng.normal(scale=0.5, size=(k, 3)) for c, k in zip(centers, m, strict=True)]
        )
    raise ValueError(kind)


def item(batch, i: int):
    """A batch holding only shape `i` of `batch` (for broadcasting tests)."""
    return subset(batch, [i])


def subset(batch, idx):
    """A batch of the shapes `idx` of `batch`."""
    idx = np.asarray(idx)
    if isinstance(batch, fbsim.Boxes):
        return fbsim.Boxes(batch.centers[idx], batch.quats[idx], batch.half_extents[idx])
    if isinstance(batch, fbsim.Spheres):
        return fbsim.Spheres(batch.centers[idx], batch.radii[idx])
    if isinstance(batch, fbsim.Capsules):
        return fbsim.Capsules(batch.p0[idx], batch.p1[idx], batch.radii[idx])
    return fbsim.Hulls([hull_points(batch, i) for i in idx])


def hull_points(batch, i: int) -> np.ndarray:
    return batch.points[batch.offsets[i] : batch.offsets[i + 1]]


def moved(batch, rot: Rotation, shift: np.ndarray):
    """`batch` under the rigid motion x -> rot(x) + shift."""
    if isinstance(batch, fbsim.Boxes):
        q = (rot * Rotation.from_quat(np.array(batch.quats))).as_quat()
        return fbsim.Boxes(rot.apply(np.array(batch.centers)) + shift, q, batch.half_extents)
    if isinstance(batch, fbsim.Spheres):
        return fbsim.Spheres(rot.apply(np.array(batch.centers)) + shift, batch.radii)
    if isinstance(batch, fbsim.Capsules):
        return fbsim.Capsules(
            rot.apply(np.array(batch.p0)) + shift,
            rot.apply(np.array(batch.p1)) + shift,
            batch.radii,
        )
    return fbsim.Hulls(
        [rot.apply(np.array(hull_points(batch, i))) + shift for i in range(len(batch))]
    )


# ---- coal ---------------------------------------------------------------------------------


def _capsule_frames(batch):
    """Rotation matrices taking coal's capsule axis (+z) to p1 - p0, vectorised."""
    axis = np.asarray(batch.p1) - np.asarray(batch.p0)
    length = np.linalg.norm(axis, axis=1)
    u = np.divide(
        axis,
        length[:, None],
        out=np.tile([0.0, 0.0, 1.0], (len(axis), 1)),
        where=length[:, None] > 0,
    )
    rotvec = np.cross([0.0, 0.0, 1.0], u)
    s = np.linalg.norm(rotvec, axis=1)
    angle = np.arctan2(s, u[:, 2])
    rotvec = np.divide(
        rotvec * angle[:, None], s[:, None], out=np.zeros_like(rotvec), where=s[:, None] > 0
    )
    rotvec[(s == 0) & (u[:, 2] < 0)] = [np.pi, 0.0, 0.0]  # axis along -z
    return Rotation.from_rotvec(rotvec).as_matrix(), length


def coal_objects(batch):
    """(geometry, transform) per shape for coal."""
    import coal

    out = []
    if isinstance(batch, fbsim.Capsules):
        mats, lengths = _capsule_frames(batch)
        mids = (np.asarray(batch.p0) + np.asarray(batch.p1)) / 2
    if isinstance(batch, fbsim.Boxes):
        mats = Rotation.from_quat(np.array(batch.quats)).as_matrix() if len(batch) else []
    for i in range(len(batch)):
        if isinstance(batch, fbsim.Boxes):
            geom = coal.Box(*(2 * batch.half_extents[i]))
            tf = coal.Transform3s(mats[i], batch.centers[i].copy())
        elif isinstance(batch, fbsim.Spheres):
            geom = coal.Sphere(float(batch.radii[i]))
            tf = coal.Transform3s(np.eye(3), batch.centers[i].copy())
        elif isinstance(batch, fbsim.Capsules):
            geom = coal.Capsule(float(batch.radii[i]), float(lengths[i]))
            tf = coal.Transform3s(mats[i], mids[i])
        else:
            pts = coal.StdVec_Vec3s()
            for p in hull_points(batch, i):
                pts.append(np.array(p))
            geom = coal.ConvexBase.convexHull(pts, False, "")
            tf = coal.Transform3s()
        out.append((geom, tf))
    return out


def coal_signed_distance(a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: coal's signed distance (negative = -penetration depth), its collide()
    boolean, and its normal (from a to b)."""
    import coal

    oa, ob = coal_objects(a), coal_objects(b)
    n = max(len(oa), len(ob))
    dist = np.empty(n)
    hit = np.empty(n, dtype=bool)
    normal = np.empty((n, 3))
    req = coal.DistanceRequest()
    req.gjk_tolerance = 1e-12
    req.epa_tolerance = 1e-12
    req.gjk_max_iterations = 1000
    req.epa_max_iterations = 1000
    creq = coal.CollisionRequest()
    for i in range(n):
        (ga, ta), (gb, tb) = oa[min(i, len(oa) - 1)], ob[min(i, len(ob) - 1)]
        res = coal.DistanceResult()
        dist[i] = coal.distance(ga, ta, gb, tb, req, res)
        normal[i] = res.normal
        hit[i] = coal.collide(ga, ta, gb, tb, creq, coal.CollisionResult()) > 0
    return dist, hit, normal


# ---- python-fcl (boxes) -------------------------------------------------------------------


def fcl_boxes(batch):
    import fcl

    return [
        fcl.CollisionObject(fcl.Box(*(2 * h)), fcl.Transform(np.array([q[3], q[0], q[1], q[2]]), c))
        for c, q, h in zip(batch.centers, batch.quats, batch.half_extents, strict=True)
    ]


def fcl_box_pairs(a, b) -> tuple[np.ndarray, np.ndarray]:
    """python-fcl's collide() boolean and distance() for box pairs."""
    import fcl

    oa, ob = fcl_boxes(a), fcl_boxes(b)
    hit = np.array(
        [
            fcl.collide(x, y, fcl.CollisionRequest(), fcl.CollisionResult()) > 0
            for x, y in zip(oa, ob, strict=True)
        ]
    )
    dist = np.array(
        [
            fcl.distance(x, y, fcl.DistanceRequest(), fcl.DistanceResult())
            for x, y in zip(oa, ob, strict=True)
        ]
    )
    return hit, dist


# ---- analytic / brute force ---------------------------------------------------------------


def box_corners(center, quat, half):
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    return center + Rotation.from_quat(quat).apply(signs * half)


def ray_aabb(origin, unit_dir, lo, hi, max_t):
    """Slab test (Kay-Kajiya) for one ray and one axis-aligned box: (t, normal) or (inf, 0)."""
    t0, t1, n0 = 0.0, max_t, np.zeros(3)
    for k in range(3):
        if unit_dir[k] == 0.0:
            if origin[k] < lo[k] or origin[k] > hi[k]:
                return np.inf, np.zeros(3)
            continue
        ta, tb = (lo[k] - origin[k]) / unit_dir[k], (hi[k] - origin[k]) / unit_dir[k]
        na = np.zeros(3)
        na[k] = -1.0 if unit_dir[k] > 0 else 1.0
        if ta > tb:
            ta, tb = tb, ta
        if ta > t0:
            t0, n0 = ta, na
        t1 = min(t1, tb)
        if t0 > t1:
            return np.inf, np.zeros(3)
    return t0, n0


def ray_hull(origin, unit_dir, points, max_t):
    """Cyrus-Beck clipping of a ray against the facet half-spaces of scipy's (qhull) convex
    hull of `points`: (t, outward normal) of the entry, or (inf, 0)."""
    from scipy.spatial import ConvexHull

    eq = ConvexHull(points).equations  # n . x + d <= 0 inside
    t0, t1, n0 = 0.0, max_t, np.zeros(3)
    for n, d in zip(eq[:, :3], eq[:, 3], strict=True):
        num = -(n @ origin + d)
        den = n @ unit_dir
        if den == 0.0:
            if num < 0:
                return np.inf, np.zeros(3)
            continue
        t = num / den
        if den < 0 and t > t0:
            t0, n0 = t, n
        elif den > 0:
            t1 = min(t1, t)
        if t0 > t1:
            return np.inf, np.zeros(3)
    return t0, n0


def ray_sphere(origin, unit_dir, center, radius, max_t):
    """First root of |o + t d - c| = r in [0, max_t]."""
    m = origin - center
    b = m @ unit_dir
    c = m @ m - radius * radius
    if c <= 0:
        return 0.0
    disc = b * b - c
    if disc < 0 or b > 0:
        return np.inf
    t = -b - np.sqrt(disc)
    return t if t <= max_t else np.inf


def first_contact_convex(dist_of_t, lo=0.0, hi=1.0, iters=200):
    """First root of a convex, non-negative function on [lo, hi] (distance between convex
    shapes along a straight motion is convex in time): ternary search for the minimum, then
    bisection on the left branch. Returns inf if the minimum is positive."""
    if dist_of_t(lo) <= 0:
        return lo
    a, b = lo, hi
    for _ in range(iters):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if dist_of_t(m1) <= dist_of_t(m2):
            b = m2
        else:
            a = m1
    tmin = (a + b) / 2
    if dist_of_t(tmin) > 0 and dist_of_t(hi) > 0:
        return np.inf
    right = tmin if dist_of_t(tmin) <= 0 else hi
    a, b = lo, right
    for _ in range(iters):
        m = (a + b) / 2
        if dist_of_t(m) > 0:
            a = m
        else:
            b = m
    return b
