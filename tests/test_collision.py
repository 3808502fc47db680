# SPDX-License-Identifier: MIT
"""fbsim.collision against independent references: coal and python-fcl (peers), analytic
contacts, the slab and quadratic ray tests, and a convex first-root search on coal distances.
Plus symmetry, rigid-motion invariance and broadcasting properties."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracles_narrowphase import (
    KINDS,
    box_corners,
    coal_objects,
    coal_signed_distance,
    fcl_box_pairs,
    first_contact_convex,
    hull_points,
    item,
    moved,
    random_batch,
    ray_aabb,
    ray_hull,
    ray_sphere,
    subset,
)
from scipy.spatial.transform import Rotation

import fbsim

COMBOS = list(itertools.combinations_with_replacement(KINDS, 2))
NEAR_TOUCH = 1e-6  # the issue: booleans may differ only this close to touching
I4 = [0.0, 0.0, 0.0, 1.0]


def box(center, half, quat=I4):
    return fbsim.Boxes([center], [quat], [half])


def check_against_coal(ka, kb, n, seed):
    pytest.importorskip("coal")
    rng = np.random.default_rng(seed)
    a, b = random_batch(ka, n, rng), random_batch(kb, n, rng)
    ref_dist, _, ref_normal = coal_signed_distance(a, b)
    ov = fbsim.overlap(a, b)
    dist, pa, pb = fbsim.distance(a, b)
    depth, normal = fbsim.penetration(a, b)
    far = np.abs(ref_dist) > NEAR_TOUCH
    # Booleans identical except within 1e-6 of touching.
    bad = np.flatnonzero(far & (ov != (ref_dist < 0)))
    assert bad.size == 0, f"{ka}-{kb}: overlap differs from coal at {bad[:10]}"
    assert 0.05 < ov.mean() < 0.95  # the workload really mixes both outcomes
    # Distances within 1e-6 relative where separated; 0 where overlapping.
    sep = ref_dist > NEAR_TOUCH
    # atol: coal's own GJK stops ~1e-10 short on a few near-touching box pairs (checked against
    # python-fcl and a brute-force QP, which agree with fbsim there).
    np.testing.assert_allclose(dist[sep], ref_dist[sep], rtol=1e-6, atol=1e-9)
    assert np.all(dist[ref_dist < -NEAR_TOUCH] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(pb - pa, axis=1)[sep], dist[sep], rtol=1e-9)
    # Depth: 0 where separated; coal's EPA depth where overlapping (1e-6 for box-box as the
    # issue asks; the same bound holds for every combination here).
    inside = ref_dist < -NEAR_TOUCH
    assert np.all(depth[sep] == 0.0)
    np.testing.assert_allclose(depth[inside], -ref_dist[inside], rtol=0, atol=1e-6)
    # Normals: unit, and the same direction as coal's where the depth is unambiguous.
    np.testing.assert_allclose(np.linalg.norm(normal[inside], axis=1), 1.0, atol=1e-12)
    cos = np.einsum("ij,ij->i", normal[inside], ref_normal[inside])
    assert np.mean(cos > 1 - 1e-6) > 0.99


@pytest.mark.parametrize(("ka", "kb"), COMBOS, ids=[f"{a}-{b}" for a, b in COMBOS])
def test_collision_matches_coal_random_pairs(ka, kb):
    check_against_coal(
        ka,
        kb,
        5000 if ka == kb == "box" else 2000,
        seed=100 + KINDS.index(ka) * 4 + KINDS.index(kb),
    )


@pytest.mark.slow
@pytest.mark.parametrize(("ka", "kb"), COMBOS, ids=[f"{a}-{b}" for a, b in COMBOS])
def test_collision_matches_coal_100k_pairs(ka, kb):
    pytest.importorskip("coal")
    check_against_coal(ka, kb, 100_000, seed=7 + KINDS.index(ka) * 4 + KINDS.index(kb))


@pytest.mark.parametrize("n", [5000, pytest.param(100_000, marks=pytest.mark.slow)])
def test_box_overlap_and_distance_match_python_fcl(n):
    pytest.importorskip("fcl")
    rng = np.random.default_rng(n)
    a, b = random_batch("box", n, rng), random_batch("box", n, rng)
    hit, ref = fcl_box_pairs(a, b)
    dist, _, _ = fbsim.distance(a, b)
    depth, _ = fbsim.penetration(a, b)
    ov = fbsim.overlap(a, b)
    near = (np.abs(ref) < NEAR_TOUCH) | (depth < NEAR_TOUCH) & ov
    assert np.all((ov == hit) | near)
    sep = ref > NEAR_TOUCH
    # python-fcl (libccd GJK) is itself off by up to ~1e-5 relative on a few pairs in 1e5;
    # there the second peer, coal, breaks the tie (a brute-force QP sided with fbsim+coal).
    off = np.flatnonzero(sep & ~np.isclose(dist, ref, rtol=1e-6, atol=0))
    assert off.size <= n // 10_000 + 1
    if off.size:
        second, _, _ = coal_signed_distance(subset(a, off), subset(b, off))
        np.testing.assert_allclose(dist[off], second, rtol=1e-6, atol=1e-9)


# ---- analytic box-box contacts -------------------------------------------------------------

ORIGINS = [np.zeros(3), np.array([1e5, -1e5, 1e5])]


@pytest.mark.parametrize("origin", ORIGINS, ids=["origin", "far"])
def test_face_face_contact(origin):
    a = box(origin, [1, 1, 1])
    for gap in [0.5, 1e-3, 1e-6]:
        b = box(origin + np.array([2 + gap, 0.3, -0.2]), [1, 0.5, 0.5])
        assert not fbsim.overlap(a, b)[0]
        d, pa, pb = fbsim.distance(a, b)
        assert d[0] == pytest.approx(gap, abs=1e-9)
        assert pa[0, 0] == pytest.approx(origin[0] + 1, abs=1e-9)
        assert pb[0, 0] == pytest.approx(origin[0] + 1 + gap, abs=1e-9)
        b = box(origin + np.array([2 - gap, 0.3, -0.2]), [1, 0.5, 0.5])
        assert fbsim.overlap(a, b)[0]
        assert fbsim.overlap(a, b, tol=gap / 2)[0]
        assert not fbsim.overlap(a, b, tol=gap * 2)[0]
        depth, normal = fbsim.penetration(a, b)
        assert depth[0] == pytest.approx(gap, abs=1e-9)
        np.testing.assert_allclose(normal[0], [1, 0, 0], atol=1e-12)


@pytest.mark.parametrize("origin", ORIGINS, ids=["origin", "far"])
def test_touching_boxes_do_not_overlap(origin):
    a = box(origin, [1, 1, 1])
    for offset in ([2, 0, 0], [0, -2, 0], [2, 2, 2], [0, 0, 1.5 + 1]):
        half = [1, 1, 1] if offset[2] != 2.5 else [1, 1, 1.5]
        b = box(origin + offset, half)
        assert not fbsim.overlap(a, b)[0]
        assert fbsim.distance(a, b)[0][0] == pytest.approx(0, abs=1e-9)
        assert fbsim.penetration(a, b)[0][0] == 0.0


def test_edge_edge_contact():
    h = 1.0
    # a: rotated 45 deg about x, so its top is an edge along x at height sqrt(2) h.
    a = box([0, 0, 0], [h] * 3, Rotation.from_euler("x", 45, degrees=True).as_quat())
    top = np.sqrt(2) * h
    # b: its lowest feature is an edge along z, sqrt(2) h below its centre.
    quat_b = (
        Rotation.from_euler("y", 90, degrees=True) * Rotation.from_euler("x", 45, degrees=True)
    ).as_quat()
    assert box_corners(np.zeros(3), quat_b, [h] * 3)[:, 1].min() == pytest.approx(-top)
    corners_b = box_corners(np.zeros(3), quat_b, [h] * 3)
    low = corners_b[np.isclose(corners_b[:, 1], -top)]
    assert np.allclose(low[:, :2], low[0, :2])  # the two lowest corners differ only in z
    for gap in [0.25, 1e-4]:
        b = box([0, top + top + gap, 0], [h] * 3, quat_b)
        assert fbsim.distance(a, b)[0][0] == pytest.approx(gap, abs=1e-9)
        assert not fbsim.overlap(a, b)[0]
        b = box([0, top + top - gap, 0], [h] * 3, quat_b)
        assert fbsim.overlap(a, b)[0]
        depth, normal = fbsim.penetration(a, b)
        assert depth[0] == pytest.approx(gap, abs=1e-9)
        np.testing.assert_allclose(normal[0], [0, 1, 0], atol=1e-9)


def test_vertex_face_contact():
    h = 0.5
    # Rotate b so the corner (-1, -1, -1) * h points straight down.
    rot, _ = Rotation.align_vectors([[0, -1, 0]], [-np.ones(3) / np.sqrt(3)])
    a = box([0, 0, 0], [2, 1, 2])
    for gap in [0.1, 1e-5]:
        b = box([0.3, 1 + np.sqrt(3) * h + gap, 0.1], [h] * 3, rot.as_quat())
        d, _, pb = fbsim.distance(a, b)
        assert d[0] == pytest.approx(gap, abs=1e-9)
        np.testing.assert_allclose(pb[0], [0.3, 1 + gap, 0.1], atol=1e-9)
        b = box([0.3, 1 + np.sqrt(3) * h - gap, 0.1], [h] * 3, rot.as_quat())
        depth, normal = fbsim.penetration(a, b)
        assert depth[0] == pytest.approx(gap, abs=1e-9)
        np.testing.assert_allclose(normal[0], [0, 1, 0], atol=1e-9)


def test_nested_and_identical_boxes():
    a = box([0, 0, 0], [2, 3, 4])
    inner = box([0.5, 0, 0], [0.5, 0.5, 0.5])
    assert fbsim.overlap(a, inner)[0]
    assert fbsim.overlap(inner, a)[0]
    assert fbsim.distance(a, inner)[0][0] == 0.0
    # Shortest way out of a for inner: +x until its min x (0) passes a's max x (2).
    assert fbsim.penetration(a, inner)[0][0] == pytest.approx(2.0, abs=1e-12)
    depth, _ = fbsim.penetration(a, a)
    assert depth[0] == pytest.approx(4.0)  # twice the smallest half extent
    assert fbsim.overlap(a, a, tol=3.9)[0]
    assert not fbsim.overlap(a, a, tol=4.0)[0]


@pytest.mark.parametrize("origin", ORIGINS, ids=["origin", "far"])
def test_thin_boxes(origin):
    plate = [1, 1e-6, 1]
    a = box(origin, plate)
    assert fbsim.overlap(a, box(origin + np.array([0.5, 1e-6, 0.5]), plate))[0]
    b = box(origin + np.array([0.5, 3e-6, 0.5]), plate)
    assert not fbsim.overlap(a, b)[0]
    assert fbsim.distance(a, b)[0][0] == pytest.approx(1e-6, abs=1e-10)
    rot = Rotation.from_euler("xyz", [10, 20, 30], degrees=True).as_quat()
    c = box(origin + np.array([0, 0.2, 0]), plate, rot)
    assert fbsim.overlap(a, c)[0] == (fbsim.penetration(a, c)[0][0] > 0)
    assert fbsim.overlap(a, c)[0]  # the tilted plate cuts through a


def test_far_apart_pairs_at_large_coordinates():
    rng = np.random.default_rng(5)
    for kind in KINDS:
        a = random_batch(kind, 200, rng, origin=np.array([1e5, 1e5, -1e5]))
        b = random_batch(kind, 200, rng, origin=np.array([1e5, 1e5, -1e5]))
        a0 = moved(a, Rotation.identity(), -np.array([1e5, 1e5, -1e5]))
        b0 = moved(b, Rotation.identity(), -np.array([1e5, 1e5, -1e5]))
        d_far, _, _ = fbsim.distance(a, b)
        d_near, _, _ = fbsim.distance(a0, b0)
        # Placement tolerance is 1e-3; we hold far better than that.
        np.testing.assert_allclose(d_far, d_near, atol=1e-9)
        depth_far = fbsim.penetration(a, b)[0]
        np.testing.assert_allclose(depth_far, fbsim.penetration(a0, b0)[0], atol=1e-8)


# ---- round shapes, analytic ----------------------------------------------------------------


def test_sphere_and_capsule_analytic():
    s = fbsim.Spheres([[0, 0, 0], [0, 0, 0]], [1.0, 1.0])
    t = fbsim.Spheres([[3, 0, 0], [1.5, 0, 0]], [1.0, 1.0])
    d, pa, pb = fbsim.distance(s, t)
    np.testing.assert_allclose(d, [1.0, 0.0])
    np.testing.assert_allclose(pa[0], [1, 0, 0])
    np.testing.assert_allclose(pb[0], [2, 0, 0])
    depth, normal = fbsim.penetration(s, t)
    np.testing.assert_allclose(depth, [0.0, 0.5])
    np.testing.assert_allclose(normal[1], [1, 0, 0])
    touching = fbsim.Spheres([[2, 0, 0]], [1.0])
    assert not fbsim.overlap(item(s, 0), touching)[0]
    cap = fbsim.Capsules([[0, -5, 0]], [[0, 5, 0]], [0.5])
    d, _, _ = fbsim.distance(cap, fbsim.Spheres([[2, 3, 0]], [0.5]))
    assert d[0] == pytest.approx(1.0)
    # Sphere centre exactly at a box centre: depth = radius + smallest half extent.
    depth, _ = fbsim.penetration(box([0, 0, 0], [1, 2, 3]), fbsim.Spheres([[0, 0, 0]], [0.25]))
    assert depth[0] == pytest.approx(1.25)


def test_hull_of_box_corners_matches_box():
    rng = np.random.default_rng(3)
    a = random_batch("box", 300, rng)
    b = random_batch("box", 300, rng)
    hulls = fbsim.Hulls(
        [box_corners(c, q, h) for c, q, h in zip(b.centers, b.quats, b.half_extents, strict=True)]
    )
    np.testing.assert_allclose(fbsim.distance(a, hulls)[0], fbsim.distance(a, b)[0], atol=1e-9)
    np.testing.assert_allclose(
        fbsim.penetration(a, hulls)[0], fbsim.penetration(a, b)[0], atol=1e-8
    )


# ---- properties ----------------------------------------------------------------------------

kind_st = st.sampled_from(KINDS)


@given(ka=kind_st, kb=kind_st, seed=st.integers(0, 2**32 - 1))
def test_queries_symmetric(ka, kb, seed):
    rng = np.random.default_rng(seed)
    a, b = random_batch(ka, 30, rng), random_batch(kb, 30, rng)
    dab, pa, _ = fbsim.distance(a, b)
    dba, _, qa = fbsim.distance(b, a)
    np.testing.assert_allclose(dab, dba, rtol=1e-9, atol=1e-12)
    sab, nab = fbsim.penetration(a, b)
    sba, nba = fbsim.penetration(b, a)
    np.testing.assert_allclose(sab, sba, atol=1e-9)
    # Normals flip with the order wherever the deepest direction is unique.
    deep = sab > 1e-6
    agree = np.einsum("ij,ij->i", nab[deep], -nba[deep]) > 1 - 1e-6
    assert agree.mean() >= 0.9 if deep.sum() >= 10 else True
    clear = (dab > 1e-9) | (sab > 1e-9)
    np.testing.assert_array_equal(fbsim.overlap(a, b)[clear], fbsim.overlap(b, a)[clear])
    sep = dab > 1e-9
    np.testing.assert_allclose(pa[sep], qa[sep], atol=1e-6)


@given(ka=kind_st, kb=kind_st, seed=st.integers(0, 2**32 - 1))
def test_queries_invariant_under_rigid_motion(ka, kb, seed):
    rng = np.random.default_rng(seed)
    a, b = random_batch(ka, 30, rng), random_batch(kb, 30, rng)
    rot = Rotation.random(random_state=rng)
    shift = rng.uniform(-1e4, 1e4, 3)
    ma, mb = moved(a, rot, shift), moved(b, rot, shift)
    d0, pa0, _ = fbsim.distance(a, b)
    d1, pa1, _ = fbsim.distance(ma, mb)
    np.testing.assert_allclose(d1, d0, atol=1e-8)
    s0, n0 = fbsim.penetration(a, b)
    s1, n1 = fbsim.penetration(ma, mb)
    np.testing.assert_allclose(s1, s0, atol=1e-8)
    deep = s0 > 1e-6
    agree = np.einsum("ij,ij->i", n1[deep], rot.apply(n0[deep])) > 1 - 1e-6
    assert agree.mean() >= 0.9 if deep.sum() >= 10 else True
    clear = (d0 > 1e-8) | (s0 > 1e-8)
    np.testing.assert_array_equal(fbsim.overlap(a, b)[clear], fbsim.overlap(ma, mb)[clear])
    sep = d0 > 1e-6
    np.testing.assert_allclose(pa1[sep], rot.apply(pa0[sep]) + shift, atol=1e-6)


@pytest.mark.parametrize(("ka", "kb"), COMBOS, ids=[f"{a}-{b}" for a, b in COMBOS])
def test_one_vs_many_broadcast_equals_pairs(ka, kb):
    rng = np.random.default_rng(11)
    a, b = random_batch(ka, 50, rng), random_batch(kb, 50, rng)
    one = item(a, 7)
    tiled = subset(a, [7] * 50)
    np.testing.assert_array_equal(
        fbsim.overlap(one, b, tol=0.01), fbsim.overlap(tiled, b, tol=0.01)
    )
    np.testing.assert_array_equal(fbsim.distance(one, b)[0], fbsim.distance(tiled, b)[0])
    np.testing.assert_array_equal(fbsim.penetration(b, one)[0], fbsim.penetration(b, tiled)[0])


def test_closest_points_lie_on_the_shapes():
    rng = np.random.default_rng(2)
    a, b = random_batch("box", 500, rng), random_batch("sphere", 500, rng)
    d, pa, pb = fbsim.distance(a, b)
    local = Rotation.from_quat(np.array(a.quats)).inv().apply(pa - a.centers)
    assert np.all(np.abs(local) <= a.half_extents + 1e-9)
    sep = d > 0
    np.testing.assert_allclose(
        np.linalg.norm(pb[sep] - b.centers[sep], axis=1), b.radii[sep], atol=1e-9
    )


def test_results_deterministic():
    rng = np.random.default_rng(4)
    a, b = random_batch("hull", 200, rng), random_batch("capsule", 200, rng)
    r1 = fbsim.distance(a, b) + fbsim.penetration(a, b)
    r2 = fbsim.distance(a, b) + fbsim.penetration(a, b)
    for x, y in zip(r1, r2, strict=True):
        np.testing.assert_array_equal(x, y)


# ---- ray casts -----------------------------------------------------------------------------


def test_raycast_boxes_match_slab_test():
    rng = np.random.default_rng(8)
    n = 2000
    boxes = random_batch("box", n, rng)
    origins = rng.uniform(-4, 4, (n, 3))
    # Aim most rays near the box so that hits and misses mix.
    dirs = boxes.centers + rng.normal(scale=0.7, size=(n, 3)) - origins
    max_t = rng.uniform(0.5, 8, n)
    t, normal = fbsim.raycast(boxes, origins, dirs, max_t)
    rot = Rotation.from_quat(np.array(boxes.quats))
    lo_o = rot.inv().apply(origins - boxes.centers)
    lo_d = rot.inv().apply(dirs / np.linalg.norm(dirs, axis=1)[:, None])
    for i in range(n):
        rt, rn = ray_aabb(lo_o[i], lo_d[i], -boxes.half_extents[i], boxes.half_extents[i], max_t[i])
        if np.isinf(rt):
            assert np.isinf(t[i]) or abs(t[i] - max_t[i]) < 1e-9, i
            continue
        assert t[i] == pytest.approx(rt, abs=1e-9), i
        if rt > 0:
            np.testing.assert_allclose(rot[i].inv().apply(normal[i]), rn, atol=1e-6)
    hits = np.isfinite(t)
    assert 0.2 < hits.mean() < 0.9
    assert np.all(normal[~hits] == 0)


def test_raycast_spheres_analytic_and_one_shape_many_rays():
    rng = np.random.default_rng(9)
    n = 1000
    origins = rng.uniform(-3, 3, (n, 3))
    dirs = rng.normal(size=(n, 3))
    sphere = fbsim.Spheres([[0.2, -0.1, 0.3]], [1.1])
    t, normal = fbsim.raycast(sphere, origins, dirs, 10.0)
    unit = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    ref = np.array(
        [ray_sphere(o, d, sphere.centers[0], 1.1, 10.0) for o, d in zip(origins, unit, strict=True)]
    )
    np.testing.assert_array_equal(np.isinf(t), np.isinf(ref))
    np.testing.assert_allclose(t[np.isfinite(ref)], ref[np.isfinite(ref)], atol=1e-9)
    hit = np.isfinite(ref) & (ref > 0)
    p = origins[hit] + t[hit, None] * unit[hit]
    np.testing.assert_allclose(normal[hit], (p - sphere.centers[0]) / 1.1, atol=1e-6)


def _coal_point_distance(geom, tf, p):
    import coal

    point = coal.Sphere(1e-12)
    return coal.distance(
        geom,
        tf,
        point,
        coal.Transform3s(np.eye(3), p.copy()),
        coal.DistanceRequest(),
        coal.DistanceResult(),
    )


def test_raycast_capsules_match_first_root_of_coal_distance():
    pytest.importorskip("coal")
    rng = np.random.default_rng(10)
    n = 40
    shapes = random_batch("capsule", n, rng)
    objs = coal_objects(shapes)
    origins = rng.uniform(-4, 4, (n, 3))
    dirs = shapes.p0 + rng.normal(scale=0.5, size=(n, 3)) - origins
    unit = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    t, _ = fbsim.raycast(shapes, origins, dirs, 8.0)
    for i in range(n):
        geom, tf = objs[i]

        def gap(s, i=i, g=geom, f=tf):
            return _coal_point_distance(g, f, origins[i] + s * unit[i])

        ref = first_contact_convex(gap, 0, 8.0, 100)
        if np.isinf(ref):
            assert np.isinf(t[i])
        else:
            assert t[i] == pytest.approx(ref, abs=1e-6)


def test_raycast_hulls_match_halfspace_clipping():
    rng = np.random.default_rng(13)
    n = 300
    shapes = random_batch("hull", n, rng)
    origins = rng.uniform(-4, 4, (n, 3))
    centers = np.array([hull_points(shapes, i).mean(0) for i in range(n)])
    dirs = centers + rng.normal(scale=0.5, size=(n, 3)) - origins
    unit = dirs / np.linalg.norm(dirs, axis=1)[:, None]
    t, normal = fbsim.raycast(shapes, origins, dirs, 8.0)
    hits = 0
    for i in range(n):
        rt, rn = ray_hull(origins[i], unit[i], hull_points(shapes, i), 8.0)
        if np.isinf(rt):
            assert np.isinf(t[i]), i
            continue
        hits += 1
        assert t[i] == pytest.approx(rt, abs=1e-9), i
        if rt > 0:
            np.testing.assert_allclose(normal[i], rn, atol=1e-6)
    assert hits > n // 4


# ---- shape casts ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["sphere", "capsule"])
def test_shapecast_vs_boxes_matches_first_root_of_coal_distance(kind):
    coal = pytest.importorskip("coal")

    rng = np.random.default_rng(12)
    n = 40
    targets = random_batch("box", n, rng)
    movers = random_batch(kind, n, rng, side=8.0)
    start = movers.centers if kind == "sphere" else (movers.p0 + movers.p1) / 2
    disp = targets.centers + rng.normal(scale=0.8, size=(n, 3)) - start
    disp *= rng.uniform(0.5, 1.5, n)[:, None]
    toi, normal = fbsim.shapecast(movers, disp, targets)
    mo, to = coal_objects(movers), coal_objects(targets)
    for i in range(n):
        (gm, tm), (gt, tt) = mo[i], to[i]

        def gap(s, i=i, gm=gm, tm=tm, gt=gt, tt=tt):
            moved_tf = coal.Transform3s(tm.getRotation(), tm.getTranslation() + s * disp[i])
            return coal.distance(
                gm, moved_tf, gt, tt, coal.DistanceRequest(), coal.DistanceResult()
            )

        ref = first_contact_convex(gap, 0.0, 1.0, 100)
        if np.isinf(ref):
            assert np.isinf(toi[i]), i
        else:
            assert toi[i] == pytest.approx(ref, abs=1e-6 / max(1e-3, np.linalg.norm(disp[i]))), i
            if ref > 0:
                assert np.linalg.norm(normal[i]) == pytest.approx(1.0)
                assert normal[i] @ disp[i] < 0  # faces the mover


def test_shapecast_analytic_and_broadcast():
    wall = box([5, 0, 0], [1, 10, 10])
    player = fbsim.Capsules([[0, 0, 0]], [[0, 2, 0]], [0.5])
    toi, normal = fbsim.shapecast(player, [[10, 0, 0]], wall)
    assert toi[0] == pytest.approx(0.35)  # front at 0.5 reaches x = 4 after 3.5 studs
    np.testing.assert_allclose(normal[0], [-1, 0, 0], atol=1e-12)
    toi, _ = fbsim.shapecast(player, [[3, 0, 0]], wall)
    assert np.isinf(toi[0])
    toi, _ = fbsim.shapecast(player, [[0, 5, 0]], wall)
    assert np.isinf(toi[0])
    # One player against three walls, and one wall against a displacement per player.
    walls = fbsim.Boxes([[5, 0, 0], [-5, 0, 0], [0, 0, 20]], [I4] * 3, [[1, 10, 10]] * 3)
    toi, _ = fbsim.shapecast(player, [[10, 0, 0]], walls)
    np.testing.assert_allclose(toi, [0.35, np.inf, np.inf])
    toi, _ = fbsim.shapecast(player, [[10, 0, 0], [-10, 0, 0], [2, 0, 0]], wall)
    np.testing.assert_allclose(toi, [0.35, np.inf, np.inf])
    # Starting inside: toi 0.
    toi, _ = fbsim.shapecast(fbsim.Spheres([[5, 0, 0]], [0.1]), [[1, 0, 0]], wall)
    assert toi[0] == 0.0


@pytest.mark.parametrize("origin", ORIGINS, ids=["origin", "far"])
def test_point_box_distance_matches_local_clamp(origin):
    """Points at gaps from 1e-12 to 1 outside random boxes: distance = |p - clamp(p)| in the
    box frame. Small gaps next to large boxes are where GJK rounding used to bite."""
    rng = np.random.default_rng(21)
    n = 20_000
    quats = Rotation.random(n, random_state=rng).as_quat()
    half = rng.uniform(0.25, 1, (n, 3))
    centers = origin + rng.uniform(-1, 1, (n, 3))
    local = rng.uniform(-1, 1, (n, 3)) * half
    axis = rng.integers(0, 3, n)
    side = np.where(rng.uniform(size=n) < 0.5, -1.0, 1.0)
    gap = 10 ** rng.uniform(-12, 0, n)
    local[np.arange(n), axis] = side * (half[np.arange(n), axis] + gap)
    points = Rotation.from_quat(quats).apply(local) + centers
    ref = np.linalg.norm(local - np.clip(local, -half, half), axis=1)
    d, _, _ = fbsim.distance(fbsim.Spheres(points, np.zeros(n)), fbsim.Boxes(centers, quats, half))
    tol = 1e-12 if origin.any() == 0 else 1e-10  # coordinates of 1e5 carry 1e-11 rounding
    np.testing.assert_allclose(d, ref, rtol=1e-9, atol=tol)


def test_concurrent_queries_match_serial():
    """The kernels release the GIL and share no state: threads get the serial answers."""
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(30)
    batches = [(random_batch(k, 3000, rng), random_batch("box", 3000, rng)) for k in KINDS]
    serial = [fbsim.distance(a, b)[0] for a, b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda ab: fbsim.distance(*ab)[0], batches * 3))
    for k, res in enumerate(results):
        np.testing.assert_array_equal(res, serial[k % len(KINDS)])


def test_shapecast_hull_mover_matches_box_mover():
    rng = np.random.default_rng(31)
    n = 200
    movers = random_batch("box", n, rng, side=8.0)
    hulls = fbsim.Hulls(
        [
            box_corners(c, q, h)
            for c, q, h in zip(movers.centers, movers.quats, movers.half_extents, strict=True)
        ]
    )
    targets = random_batch("box", n, rng)
    disp = targets.centers - movers.centers + rng.normal(scale=0.5, size=(n, 3))
    toi_box, n_box = fbsim.shapecast(movers, disp, targets)
    toi_hull, n_hull = fbsim.shapecast(hulls, disp, targets)
    moving = np.isfinite(toi_box) & (toi_box > 0)
    np.testing.assert_allclose(n_hull[moving], n_box[moving], atol=1e-6)
    np.testing.assert_array_equal(np.isinf(toi_box), np.isinf(toi_hull))
    hit = np.isfinite(toi_box)
    assert hit.mean() > 0.2
    np.testing.assert_allclose(toi_hull[hit], toi_box[hit], atol=1e-9)


def _degenerate_batches(rng, n, origin):
    """Zero-size boxes, points, zero-length capsules, 1-3 point and coplanar hulls."""
    c = origin + rng.uniform(-1, 1, (n, 3))
    half = rng.uniform(0, 1, (n, 3)) * (rng.uniform(size=(n, 3)) < 0.5)
    yield fbsim.Boxes(c, Rotation.random(n, random_state=rng).as_quat(), half)
    yield fbsim.Spheres(c, np.where(rng.uniform(size=n) < 0.5, 0.0, 0.5))
    yield fbsim.Capsules(c, c, rng.uniform(0, 0.5, n))
    pts = []
    for i in range(n):
        k = rng.integers(1, 6)
        p = c[i] + rng.normal(scale=0.5, size=(k, 3))
        if rng.uniform() < 0.5:
            p[:, 1] = c[i, 1]  # coplanar
        pts.append(p)
    yield fbsim.Hulls(pts)


@pytest.mark.parametrize("origin", [0.0, 9e5], ids=["origin", "edge_of_world"])
def test_degenerate_shapes_give_finite_consistent_answers(origin):
    rng = np.random.default_rng(40)
    batches = list(_degenerate_batches(rng, 300, origin))
    for a, b in itertools.product(batches, repeat=2):
        ov = fbsim.overlap(a, b)
        d, pa, pb = fbsim.distance(a, b)
        depth, normal = fbsim.penetration(a, b)
        for arr in (d, pa, pb, depth, normal):
            assert np.all(np.isfinite(arr))
        assert np.all(d >= 0)
        assert np.all(depth >= 0)
        assert not np.any(ov & (d > 1e-6))  # overlapping pairs are at distance 0
        assert not np.any((d > 1e-6) & (depth > 0))
        dirs = rng.normal(size=(len(a), 3))
        t, n = fbsim.raycast(a, pb, dirs, 5.0)
        assert not np.any(np.isnan(t))
        assert np.all(t >= 0)
        assert np.all(np.isfinite(n))
        toi, n = fbsim.shapecast(a, dirs, b)
        assert np.all((np.isinf(toi)) | ((toi >= 0) & (toi <= 1)))
        assert np.all(np.isfinite(n))
