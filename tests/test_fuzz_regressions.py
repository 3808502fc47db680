# SPDX-License-Identifier: MIT
"""Replays the atheris seed corpus (and every crash input once found) through the fuzz harness.

tests/fuzz/corpus/api holds inputs of tests/fuzz/fuzz_api.py: each decodes into a short program
of public API calls with hostile arrays. Replaying them here keeps every past finding fixed in
the normal test run, without atheris.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import fbsim
from fbsim import _core

FUZZ = Path(__file__).parent / "fuzz"
CORPUS = sorted((FUZZ / "corpus" / "api").glob("*"))


def _harness():
    spec = importlib.util.spec_from_file_location("fbsim_fuzz_api", FUZZ / "fuzz_api.py")
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


HARNESS = _harness()


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_fuzz_corpus_input_raises_only_documented_errors(path):
    HARNESS.one_input(path.read_bytes())


def test_fuzz_harness_reports_undocumented_exceptions(monkeypatch):
    """A kernel raising anything but the documented errors must escape one_input."""

    def boom(*_args, **_kwargs):
        raise RuntimeError("finding")

    monkeypatch.setattr(HARNESS.geometry, "quat_to_matrix", boom)
    # byte 1: stateless; byte 1: n = 1; byte 0: op 0 = quat_to_matrix
    with pytest.raises(RuntimeError, match="finding"):
        HARNESS.one_input(bytes([1, 1, 0, 2, 2, 2, 2, 2, 2]))


def test_raycast_from_just_outside_a_face_returns_a_unit_normal():
    """fuzz_narrowphase finding: normal of length 1.0003 for an origin 3e-12 outside a face."""
    boxes = fbsim.Boxes([[7, 7, 7]], [[7, 7, 7, 7]], [[7, 7, 7]])
    origin = [[-2.9367792919732234e-12, 3.25, 1e-09]]
    direction = [[-8.546264520854999e-129, -1.0, 5e-324]]
    t, normal = fbsim.raycast(boxes, origin, direction, [75.0])
    assert t[0] == 0.0
    assert np.linalg.norm(normal[0]) == pytest.approx(1.0, abs=1e-12)


def test_penetration_near_contact_returns_a_unit_normal():
    """fuzz_narrowphase finding: EPA's GJK branch divided by a separately rounded distance."""
    p0 = np.array([[8.75, 8.75, 8.75], [8.75, 8.75, 8.75]])
    p1 = np.array([[8.75, 5.375, 5.375], [5.375, 5.375, 5.375]])
    radii = np.array([5.375, 5.375])
    centers = np.array([[6.5, 5.0, 6.5], [6.5, 6.5, 6.5]])
    quats = np.array([[6.5, 6.5, -9.875, -10.0], [-10.0, 8.125, 1e-09, 1e-09]])
    half = np.full((2, 3), 1e-09)
    for iters in (44, 64):
        depth, normal = _core.penetration(
            ("capsule", p0, p1, radii), ("box", centers, quats, half), max_iterations=iters
        )
        assert np.all(depth > 0)
        np.testing.assert_allclose(np.linalg.norm(normal, axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("kind", ["SpatialHash", "SweepAndPrune", "DynamicTree"])
def test_broadphase_rejects_the_reserved_id_int64_min(kind):
    """fuzz_spatial finding: id INT64_MIN is the free-slot marker; inserting it broke the index."""
    bp = getattr(fbsim, kind)()
    bp.insert([1], [[0.0, 0.0, 0.0]], [[1.0, 1.0, 1.0]])
    with pytest.raises(ValueError, match=r"ids\[1\] = -9223372036854775808 is reserved"):
        bp.insert([2, -(2**63)], [[0.0, 0.0, 0.0]] * 2, [[1.0, 1.0, 1.0]] * 2)
    assert len(bp) == 1
    assert bp.check_invariants()
    bp.insert([-(2**63) + 1], [[0.5, 0.5, 0.5]], [[2.0, 2.0, 2.0]])  # the next id is fine
    assert bp.check_invariants()
    np.testing.assert_array_equal(bp.pairs(), [[-(2**63) + 1, 1]])


def test_smooth_path_with_huge_cells_is_a_value_error_without_overflow():
    """atheris + UBSan finding: a cell of 2**62 overflowed int64 before the range check."""
    grid = np.ones((4, 4), dtype=bool)
    with pytest.raises(ValueError, match="outside the grid"):
        fbsim.pathfinding.smooth_path(grid, np.array([[2**62, 2**62], [0, 0]], dtype=np.int64))
    with pytest.raises(ValueError, match="outside the grid"):
        fbsim.pathfinding.astar(grid, [0, 2**62], [0, 0])


def test_denormal_box_against_wide_hull_has_a_finite_distance():
    """Seeded fuzz finding (fuzz_narrowphase, seed 1): a box with 1e-300 half extents against a
    hull spanning +-1e5 gave NaN distance and depth; it must behave like the point it is."""
    hull = np.array(
        [
            [-6.0, -5.25, -4.875],
            [-6.0, -6.0, -6.0],
            [-6.0, -6.0, -5.0],
            [-1.0, 1e5, 2.2e-308],
            [2.2e-308, -9.875, -10.0],
            [-10.0, -9.75, 2.2e-308],
            [2.2e-308, 2.2e-308, 2.2e-308],
            [2.2e-308, -1e5, -10.0],
        ]
    )
    hulls = fbsim.Hulls([hull])
    point = fbsim.Spheres([[-10.0, -10.0, -10.0]], [0.0])
    for h in (2.2e-308, 1e-300, 1e-13):
        box = fbsim.Boxes([[-10.0, -10.0, -10.0]], [[6.5, 8.5, 6.625, 6.5]], [[h, h, h]])
        d, _, _ = fbsim.distance(box, hulls)
        depth, _ = fbsim.penetration(box, hulls)
        assert np.isfinite(d[0])
        assert d[0] == pytest.approx(fbsim.distance(point, hulls)[0][0], abs=1e-9)
        assert depth[0] == 0.0


@pytest.mark.parametrize("x_range", [(0.0, 5e-324), (1e-310, 1.5e-310), (0.0, 0.0)])
@pytest.mark.parametrize("kind", ["SpatialHash", "DynamicTree", "SweepAndPrune"])
def test_pairs_when_every_box_spans_a_denormal_x_range(kind, x_range):
    # Seeded fuzz finding (fuzz_spatial, corpus file regression-denormal-x-range): the hash's
    # column sweep quantises x by 2^20 / (x1 - x0), which is inf for a denormal range, and
    # 0 * inf = NaN was converted to an integer (UB; caught by the UBSan build of this suite).
    rng = np.random.default_rng(0)
    n = 40
    lo = rng.uniform(-3, 3, (n, 3))
    hi = lo + rng.uniform(0, 2, (n, 3))
    lo[:, 0], hi[:, 0] = x_range
    lo[::3, 0] = x_range[1]  # every third box is the single point at the top of the range
    s = getattr(fbsim, kind)()
    s.insert(np.arange(n), lo, hi)
    ref = [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if np.all(lo[i] <= hi[j]) and np.all(lo[j] <= hi[i])
    ]
    assert s.pairs().tolist() == [list(p) for p in ref]
