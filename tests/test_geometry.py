# SPDX-License-Identifier: MIT
"""Geometry conversions against scipy's Rotation and brute-force corners."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from oracles import aabb_from_corners, box_corners, random_quats
from scipy.spatial.transform import Rotation

import fbsim


def test_quat_to_matrix_matches_scipy(rng):
    q = random_quats(rng, 5000)
    np.testing.assert_allclose(
        fbsim.quat_to_matrix(q), Rotation.from_quat(q).as_matrix(), rtol=0, atol=1e-14
    )


def test_quat_to_matrix_single_quaternion_returns_3x3():
    m = fbsim.quat_to_matrix([0, 0, np.sin(np.pi / 4), np.cos(np.pi / 4)])
    np.testing.assert_allclose(
        m, Rotation.from_euler("z", 90, degrees=True).as_matrix(), atol=1e-15
    )


def test_matrix_to_quat_matches_scipy_up_to_sign(rng):
    mats = Rotation.random(5000, random_state=rng).as_matrix()
    q = fbsim.matrix_to_quat(mats)
    ref = Rotation.from_matrix(mats).as_quat()
    sign = np.sign(np.sum(q * ref, axis=1, keepdims=True))
    np.testing.assert_allclose(q, sign * ref, atol=1e-14)
    assert np.all(q[:, 3] >= 0)


def test_matrix_to_quat_handles_half_turns():
    # w == 0 exactly: the trace-based formula alone divides by ~0 here.
    axes = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -1, 1]], dtype=float)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    rot = Rotation.from_rotvec(np.pi * axes)
    q = fbsim.matrix_to_quat(rot.as_matrix())
    np.testing.assert_allclose(Rotation.from_quat(q).as_matrix(), rot.as_matrix(), atol=1e-14)


def test_matrix_to_quat_rejects_reflection_and_scaling():
    with pytest.raises(ValueError, match=r"matrices\[1\] is not a rotation"):
        fbsim.matrix_to_quat([np.eye(3), np.diag([1.0, 1.0, -1.0])])
    with pytest.raises(ValueError, match=r"matrices\[0\] is not a rotation"):
        fbsim.matrix_to_quat([2 * np.eye(3)])


def test_obb_to_aabb_matches_corner_brute_force(rng):
    n = 20000
    centers = rng.uniform(-1e5, 1e5, size=(n, 3))
    quats = random_quats(rng, n)
    half = rng.uniform(0, 50, size=(n, 3))
    expected = aabb_from_corners(box_corners(centers, quats, half))
    # 1e5 coordinates: a few ulps of 1e5 (~1.5e-11) is the attainable accuracy.
    np.testing.assert_allclose(fbsim.obb_to_aabb(centers, quats, half), expected, rtol=0, atol=1e-9)


def test_obb_to_aabb_axis_aligned_is_exact():
    c = np.array([[1.5, -2.25, 1e5]])
    h = np.array([[0.5, 0.25, 3.0]])
    np.testing.assert_array_equal(
        fbsim.obb_to_aabb(c, [[0, 0, 0, 1]], h), np.hstack([c - h, c + h])
    )


def test_obb_to_aabb_zero_extent_box_is_a_point():
    out = fbsim.obb_to_aabb([[1, 2, 3]], [[0.3, -0.2, 0.1, 0.9]], [[0, 0, 0]])
    np.testing.assert_array_equal(out, [[1, 2, 3, 1, 2, 3]])


def test_transform_points_single_and_paired_match_scipy(rng):
    pts = rng.uniform(-100, 100, size=(1000, 3))
    t = rng.uniform(-10, 10, size=3)
    q = random_quats(rng, 1)[0]
    np.testing.assert_allclose(
        fbsim.transform_points(pts, t, q), Rotation.from_quat(q).apply(pts) + t, atol=1e-12
    )
    ts = rng.uniform(-10, 10, size=(1000, 3))
    qs = random_quats(rng, 1000)
    np.testing.assert_allclose(
        fbsim.transform_points(pts, ts, qs), Rotation.from_quat(qs).apply(pts) + ts, atol=1e-12
    )


def test_sphere_capsule_hull_aabbs_match_numpy(rng):
    c = rng.uniform(-10, 10, size=(100, 3))
    r = rng.uniform(0, 2, size=100)
    np.testing.assert_array_equal(
        fbsim.sphere_to_aabb(c, r), np.hstack([c - r[:, None], c + r[:, None]])
    )
    p1 = rng.uniform(-10, 10, size=(100, 3))
    lo = np.minimum(c, p1) - r[:, None]
    hi = np.maximum(c, p1) + r[:, None]
    np.testing.assert_array_equal(fbsim.capsule_to_aabb(c, p1, r), np.hstack([lo, hi]))
    hulls = fbsim.Hulls([rng.normal(size=(k, 3)) for k in (1, 4, 9)])
    parts = np.split(hulls.points, hulls.offsets[1:-1])
    np.testing.assert_array_equal(
        hulls.aabbs(), [np.concatenate([p.min(0), p.max(0)]) for p in parts]
    )


def test_shape_batches_are_frozen_copies(rng):
    c = rng.normal(size=(4, 3))
    boxes = fbsim.Boxes(c, random_quats(rng, 4), np.ones((4, 3)))
    c[0] = 99.0
    assert boxes.centers[0, 0] != 99.0
    with pytest.raises(ValueError, match="read-only"):
        boxes.centers[0, 0] = 1.0
    np.testing.assert_allclose(np.linalg.norm(boxes.quats, axis=1), 1.0, rtol=1e-15)
    assert len(boxes) == 4
    assert boxes.aabbs().shape == (4, 6)


finite = st.floats(-1e4, 1e4, allow_nan=False)


@given(
    centers=arrays(np.float64, (8, 3), elements=finite),
    translation=arrays(np.float64, 3, elements=finite),
    angles=arrays(np.float64, 3, elements=st.floats(-np.pi, np.pi)),
)
def test_obb_to_aabb_commutes_with_translation(centers, translation, angles):
    q = np.tile(Rotation.from_euler("xyz", angles).as_quat(), (8, 1))
    half = np.abs(centers[::-1]) / 10
    base = fbsim.obb_to_aabb(centers, q, half)
    moved = fbsim.obb_to_aabb(centers + translation, q, half)
    np.testing.assert_allclose(moved, base + np.tile(translation, 2), atol=1e-8)


@given(
    q=arrays(np.float64, 4, elements=st.floats(-1e3, 1e3)).filter(
        lambda q: np.linalg.norm(q) > 1e-3
    )
)
def test_quat_round_trip_is_same_rotation(q):
    back = fbsim.matrix_to_quat(fbsim.quat_to_matrix(q))
    unit = q / np.linalg.norm(q)
    assert np.isclose(abs(np.dot(back, unit)), 1.0, atol=1e-12)
