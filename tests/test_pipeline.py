# SPDX-License-Identifier: MIT
"""The combined pipeline (broad phase -> exact narrow phase) against all-pairs brute force.

The brute force runs the narrow phase on every pair (n^2), so this checks that no structure
prunes away a real contact and that pairs, depths and normals are assembled right; the narrow
phase itself is checked against coal and python-fcl in test_collision.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import fbsim
from fbsim.pipeline import contacts, shape_aabbs


def _scene(rng, n_boxes=150, n_caps=40):
    boxes = fbsim.Boxes(
        rng.uniform(0, 12, (n_boxes, 3)),
        Rotation.random(n_boxes, random_state=rng).as_quat(),
        rng.uniform(0.2, 1.0, (n_boxes, 3)),
    )
    p0 = rng.uniform(0, 12, (n_caps, 3))
    caps = fbsim.Capsules(p0, p0 + np.array([0.0, 3.0, 0.0]), rng.uniform(0.3, 1.0, n_caps))
    box_ids = np.arange(n_boxes, dtype=np.int64) * 3 + 7
    cap_ids = 10_000 + np.arange(n_caps, dtype=np.int64)
    return box_ids, boxes, cap_ids, caps


def _brute(groups, tol):
    found = {}
    for ia, sa in groups:
        for ib, sb in groups:
            for i in range(len(ia)):
                one = _take1(sa, i)
                depth, normal = fbsim.penetration(one, sb)
                for j in np.flatnonzero(depth > tol):
                    a, b = int(ia[i]), int(ib[j])
                    if a < b:
                        found[(a, b)] = (depth[j], normal[j])
    return found


def _take1(shapes, i):
    if isinstance(shapes, fbsim.Boxes):
        return fbsim.Boxes(
            shapes.centers[i : i + 1], shapes.quats[i : i + 1], shapes.half_extents[i : i + 1]
        )
    return fbsim.Capsules(shapes.p0[i : i + 1], shapes.p1[i : i + 1], shapes.radii[i : i + 1])


@pytest.mark.parametrize("structure", [fbsim.SpatialHash, fbsim.DynamicTree, fbsim.SweepAndPrune])
@pytest.mark.parametrize("tol", [0.0, 0.05])
def test_contacts_match_all_pairs_brute_force(rng, structure, tol):
    box_ids, boxes, cap_ids, caps = _scene(rng)
    tree = structure()
    for ids, shapes in ((box_ids, boxes), (cap_ids, caps)):
        a = shape_aabbs(shapes)
        tree.insert(ids, a[:, :3], a[:, 3:])
    groups = [(box_ids, boxes), (cap_ids, caps)]
    pairs, depth, normal = contacts(tree, groups, tol=tol)
    expected = _brute(groups, tol)
    assert [tuple(p) for p in pairs.tolist()] == sorted(expected)
    assert len(pairs) > 20  # the scene is dense enough to mean something
    for (a, b), d, n in zip(pairs.tolist(), depth, normal, strict=True):
        ed, en = expected[(a, b)]
        assert d == pytest.approx(ed, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(n, en, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-9)


def test_contacts_of_what_moved(rng):
    box_ids, boxes, cap_ids, caps = _scene(rng)
    tree = fbsim.DynamicTree()
    for ids, shapes in ((box_ids, boxes), (cap_ids, caps)):
        a = shape_aabbs(shapes)
        tree.insert(ids, a[:, :3], a[:, 3:])
    groups = [(box_ids, boxes), (cap_ids, caps)]
    moved = cap_ids[:5]
    sub, _, _ = contacts(tree, groups, pairs=tree.pairs(ids=moved))
    full, _, _ = contacts(tree, groups)
    keep = np.isin(full, moved).any(axis=1)
    np.testing.assert_array_equal(sub, full[keep])


def test_contacts_bad_input(rng):
    box_ids, boxes, _, caps = _scene(rng, 10, 3)
    tree = fbsim.SpatialHash()
    a = shape_aabbs(boxes)
    tree.insert(box_ids, a[:, :3], a[:, 3:])
    with pytest.raises(ValueError, match="has 9 ids but 10 shapes"):
        contacts(tree, [(box_ids[:9], boxes)])
    with pytest.raises(ValueError, match="more than one group"):
        contacts(tree, [(box_ids, boxes), (box_ids[:3], caps)])
    with pytest.raises(ValueError, match="no shape"):
        contacts(
            tree,
            [(box_ids[:0], fbsim.Boxes(np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, 3))))],
            pairs=[[box_ids[0], box_ids[1]]],
        )
    with pytest.raises(ValueError, match="tol"):
        contacts(tree, [(box_ids, boxes)], tol=-1.0)
    with pytest.raises(TypeError, match="groups"):
        contacts(tree, [box_ids])
    empty_tree = fbsim.SpatialHash()
    p, d, n = contacts(empty_tree, [(box_ids, boxes)])
    assert p.shape == (0, 2)
    assert d.shape == (0,)
    assert n.shape == (0, 3)
