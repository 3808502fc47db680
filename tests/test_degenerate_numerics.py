# SPDX-License-Identifier: MIT
"""Numerical robustness of the narrow phase on near-degenerate inputs (issue 10).

GJK/EPA (sphere, capsule, hull pairs) and SAT (box-box) on exactly parallel faces, face-face
contact with 1e-9 and 1e-12 gaps and overlaps, parallel edges, a 1e5-sized box against a
1e-3 box, coordinates near 1e5 and up to the 1e6 world limit, rotations by 1e-9 rad, 1e-6
thin plates and identical shapes. Every case of a shape-kind pair goes into ONE batch, as a
server sends them. The reference is analytic: each case is built so that its signed gap
(separation > 0, penetration depth < 0) is known in closed form, computed from the float64
inputs exactly (fractions) where the geometry is axis-aligned. Checked: no NaN/inf, the call
returns, distance / depth within the documented accuracy of the analytic answer, normals and
closest points consistent, and the booleans agree with the signed distance.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import fbsim

IDENT = (0.0, 0.0, 0.0, 1.0)
GAPS = (1e-9, 1e-12, 0.0, -1e-12, -1e-9, 1e-3, -1e-3)
ORIGINS = (0.0, 1.0e5 - 0.25, -1.0e5, 9.99e5 - 3.0)  # the world limit is 1e6


def accuracy(*coords: float) -> float:
    """Documented accuracy at these coordinates: distances exact to ~1e-12 relative in the
    pair's own frame, plus the rounding of the inputs themselves (a few ulps of the largest
    coordinate, since the pair is re-centred by one subtraction)."""
    big = max(1.0, *(abs(c) for c in coords))
    return 4e-12 * big + 16 * math.ulp(big)


def quat(axis: str, angle: float) -> tuple[float, ...]:
    return tuple(Rotation.from_euler(axis, angle).as_quat())  # (x, y, z, w)


def cube_points(center, half) -> np.ndarray:
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    return np.asarray(center, dtype=float) + signs * np.asarray(half, dtype=float)


def exact_x_gap(a_hi: tuple[float, float], b_lo: tuple[float, float]) -> float:
    """(b_center - b_half) - (a_center + a_half) in exact arithmetic of the float64 inputs."""
    (ac, ah), (bc, bh) = a_hi, b_lo
    return float(Fraction(bc) - Fraction(bh) - Fraction(ac) - Fraction(ah))


class Cases:
    """Collects (a, b, signed gap, accuracy, label) per shape-kind pair."""

    def __init__(self) -> None:
        self.by_kind: dict[tuple[str, str], list] = {}

    def add(self, a: tuple, b: tuple, gap: float, acc: float, label: str) -> None:
        self.by_kind.setdefault((a[0], b[0]), []).append((a, b, gap, acc, label))


def make_batch(shapes: list[tuple]):
    kind = shapes[0][0]
    if kind == "box":
        return fbsim.Boxes([s[1] for s in shapes], [s[2] for s in shapes], [s[3] for s in shapes])
    if kind == "sphere":
        return fbsim.Spheres([s[1] for s in shapes], [s[2] for s in shapes])
    if kind == "capsule":
        return fbsim.Capsules(
            [s[1] for s in shapes], [s[2] for s in shapes], [s[3] for s in shapes]
        )
    return fbsim.Hulls([s[1] for s in shapes])


def box(c, h, q=IDENT):
    return ("box", tuple(c), tuple(q), tuple(h))


def sphere(c, r):
    return ("sphere", tuple(c), r)


def capsule(p0, p1, r):
    return ("capsule", tuple(p0), tuple(p1), r)


def hull(points):
    return ("hull", np.asarray(points, dtype=float))


# Face tilts (rad) of the tiny-rotation cases. 1e-7..1e-5 with a 1e-9 gap is the regression
# case of the GJK near-contact stall (issue 10): the corner sinks ~tilt deep while GJK stopped
# at a 4e-12..1e-9 "separation" (overlap False, depth 0 for hulls) until EPA re-checks
# near-contact answers (detail::hidden_core_depth).
TILTS = (1e-9, -1e-9, 1e-12, 1e-7, -1e-7, 1e-5, -1e-5, 1e-3, -1e-3)


def build_cases() -> Cases:
    cs = Cases()
    for x0 in ORIGINS:
        for g in GAPS:
            acc = accuracy(x0, x0 + 2)
            y, z = 0.5 * x0, -0.25 * x0  # off-axis too: every coordinate is large
            cb = x0 + 2.0 + g
            s = exact_x_gap((x0, 1.0), (cb, 1.0))
            tag = f"x0={x0:g} gap={g:g}"
            # Exactly parallel faces, identical sizes (SAT; GJK/EPA through hulls).
            cs.add(box((x0, y, z), (1, 1, 1)), box((cb, y, z), (1, 1, 1)), s, acc, "face " + tag)
            cs.add(
                hull(cube_points((x0, y, z), (1, 1, 1))),
                hull(cube_points((cb, y, z), (1, 1, 1))),
                s,
                acc,
                "hull face " + tag,
            )
            cs.add(
                box((x0, y, z), (1, 1, 1)),
                hull(cube_points((cb, y, z), (1, 1, 1))),
                s,
                acc,
                "box-hull face " + tag,
            )
            # Offset parallel faces (only part of the faces overlap).
            cs.add(
                box((x0, y, z), (1, 1, 1)),
                box((cb, y + 1.5, z - 1.5), (1, 1, 1)),
                s,
                acc,
                "offset face " + tag,
            )
            # Round shapes against a face, and parallel capsules (segment parallel to face).
            cs.add(box((x0, y, z), (1, 1, 1)), sphere((cb, y, z), 1.0), s, acc, "box-sphere " + tag)
            cs.add(sphere((x0, y, z), 1.0), sphere((cb, y, z), 1.0), s, acc, "spheres " + tag)
            seg = ((0.0, -1.0, 0.0), (0.0, 1.0, 0.0))
            ca = capsule(np.add((x0, y, z), seg[0]), np.add((x0, y, z), seg[1]), 1.0)
            cb_ = capsule(np.add((cb, y, z), seg[0]), np.add((cb, y, z), seg[1]), 1.0)
            cs.add(box((x0, y, z), (1, 1.5, 1)), cb_, s, acc, "box-capsule parallel " + tag)
            cs.add(ca, cb_, s, acc, "capsules parallel " + tag)
            cs.add(
                hull(cube_points((x0, y, z), (1, 1, 1))),
                cb_,
                s,
                acc,
                "hull-capsule parallel " + tag,
            )
            # Parallel edges: both boxes turned 45 degrees about y, edges (along y) facing.
            q45 = quat("y", math.pi / 4)
            r2 = math.sqrt(2.0)
            # Apart they are (ce - x0) - 2 sqrt2 apart along x; interpenetrating by d along x,
            # the shortest way out is along a face normal (45 degrees to x): depth d / sqrt2.
            ce = x0 + 2 * r2 + g
            se = (ce - x0) - 2 * r2
            cs.add(
                box((x0, y, z), (1, 1, 1), q45),
                box((ce, y, z), (1, 1, 1), q45),
                se if se >= 0 else se / r2,
                acc,
                "edge-edge parallel " + tag,
            )
            # Edge parallel to a face: b turned 45 degrees about y, its edge on a's face.
            cf = x0 + 1 + r2 + g
            cs.add(
                box((x0, y, z), (1, 1, 1)),
                box((cf, y, z), (1, 1, 1), q45),
                (cf - x0) - 1 - r2,
                acc,
                "edge-face parallel " + tag,
            )
    for g in (1e-9, 1e-12, 0.0, -1e-9, 1e-3):
        # A 1e5-sized box (half 5e4) against a 1e-3 box (half 5e-4) resting on its top face,
        # the small box near the big one's corner region, around coordinates 1e5.
        big_c = (1.0e5, 1.0e5, -1.0e5)
        top = big_c[1] + 5.0e4
        small_y = top + 5.0e-4 + g
        s = float(Fraction(small_y) - Fraction(5.0e-4) - Fraction(top))
        acc = accuracy(1.5e5)
        small_c = (big_c[0] + 4.9e4, small_y, big_c[2] - 4.9e4)
        cs.add(
            box(big_c, (5.0e4, 5.0e4, 5.0e4)),
            box(small_c, (5.0e-4, 5.0e-4, 5.0e-4)),
            s,
            acc,
            f"huge-tiny gap={g:g}",
        )
        cs.add(
            box(big_c, (5.0e4, 5.0e4, 5.0e4)),
            sphere(small_c, 5.0e-4),
            s,
            acc,
            f"huge box-tiny sphere gap={g:g}",
        )
        # Thin plates (half thickness 1e-6) over a unit box: gap, and straddling the face.
        yp = 1.0 + 1e-6 + g
        cs.add(
            box((3.0, 0.0, 0.0), (1, 1, 1)),
            box((3.2, yp, 0.1), (0.5, 1e-6, 0.5)),
            float(Fraction(yp) - Fraction(1e-6) - 1),
            accuracy(3.0),
            f"thin plate gap={g:g}",
        )
    # A thin plate centred on the face: interpenetrates by its half thickness.
    cs.add(
        box((0.0, 0.0, 0.0), (1, 1, 1)),
        box((0.2, 1.0, 0.1), (0.5, 1e-6, 0.5)),
        -1e-6,
        accuracy(1.0),
        "thin plate on face",
    )
    _tilted(cs, TILTS)
    return cs


def _tilted(cs: Cases, tilts) -> None:
    # Tiny rotations: b turned t rad about z, so its near face is tilted by t and its nearest
    # corner sticks out by h (cos t + |sin t| - 1) with h = 1: the signed gap is g minus that.
    # Box-box goes through SAT (overlap, depth) and GJK (distance); hulls through GJK/EPA only.
    # Known limit, documented: GJK's distance on faces within 1e-8 rad of parallel may stop up
    # to |t| * size short of converging (the two faces' support points tie to rounding), so
    # those rows get |t| * 2 studs of slack; past 1e-8 rad the normal accuracy applies.
    for t in tilts:
        for g in (1e-9, 1e-6, 1e-3, -1e-6, 0.0):
            for x0 in (0.0, 1.0e5):
                cb = x0 + 2.0 + g
                w = math.cos(t) + abs(math.sin(t))
                q = quat("z", t)
                corners = Rotation.from_quat(q).apply(cube_points((0, 0, 0), (1, 1, 1)))
                acc = accuracy(x0, cb) + (2 * abs(t) if abs(t) <= 1e-8 else 0.0)
                label = f"tiny rotation t={t:g} gap={g:g} x0={x0:g}"
                sgap = (cb - x0) - 1 - w
                cs.add(box((x0, 0, 0), (1, 1, 1)), box((cb, 0, 0), (1, 1, 1), q), sgap, acc, label)
                cs.add(
                    hull(cube_points((x0, 0, 0), (1, 1, 1))),
                    hull(np.add(corners, (cb, 0, 0))),
                    sgap,
                    acc,
                    "hull " + label,
                )


IDENTICAL = [
    # (a == b, analytic depth): the smallest translation that separates a shape from itself.
    (box((5.0, 6.0, 7.0), (1.0, 2.0, 3.0), quat("x", 0.3)), 2.0),
    (box((1.0e5, 0.0, -1.0e5), (0.5, 0.5, 0.5)), 1.0),
    (box((0.0, 0.0, 0.0), (1.0, 1e-6, 1.0)), 2e-6),
    (sphere((1.0, 2.0, 3.0), 0.75), 1.5),
    (capsule((0.0, 0.0, 0.0), (0.0, 3.0, 0.0), 0.5), 1.0),
    (hull(cube_points((2.0, 2.0, 2.0), (1.0, 1.5, 2.0))), 2.0),
]


def _check(cases, dist, pa, pb, depth, normal, hit) -> list[str]:
    bad = []
    for i, (_, _, s, acc, label) in enumerate(cases):
        want_d, want_p = max(s, 0.0), max(-s, 0.0)
        if abs(dist[i] - want_d) > acc:
            bad.append(f"{label}: distance {dist[i]!r}, analytic {want_d!r}")
        if abs(depth[i] - want_p) > acc:
            bad.append(f"{label}: depth {depth[i]!r}, analytic {want_p!r}")
        # The three answers must tell one story.
        if hit[i] != (depth[i] > 0.0):
            bad.append(f"{label}: overlap {hit[i]} but depth {depth[i]!r}")
        if dist[i] > 0.0 and depth[i] > 0.0:
            bad.append(f"{label}: both distance {dist[i]!r} and depth {depth[i]!r} positive")
        if abs(s) > acc and hit[i] != (s < 0):
            bad.append(f"{label}: overlap {hit[i]} but analytic signed gap {s!r}")
        if depth[i] > 0.0 and abs(np.linalg.norm(normal[i]) - 1.0) > 1e-9:
            bad.append(f"{label}: normal {normal[i]} not unit")
        # pa, pb are the closest points: their separation is the distance.
        if dist[i] > 0.0 and abs(np.linalg.norm(pb[i] - pa[i]) - dist[i]) > acc:
            bad.append(f"{label}: |pb - pa| {np.linalg.norm(pb[i] - pa[i])!r} != {dist[i]!r}")
    return bad


def _run(cases):
    a = make_batch([c[0] for c in cases])
    b = make_batch([c[1] for c in cases])
    dist, pa, pb = fbsim.distance(a, b)
    depth, normal = fbsim.penetration(a, b)
    hit = fbsim.overlap(a, b)
    return dist, pa, pb, depth, normal, hit


@pytest.mark.parametrize("kind_pair", sorted(build_cases().by_kind))
def test_near_degenerate_pairs_against_analytic_gap(kind_pair):
    cases = build_cases().by_kind[kind_pair]
    dist, pa, pb, depth, normal, hit = _run(cases)
    for arr in (dist, pa, pb, depth, normal):
        assert np.all(np.isfinite(arr)), kind_pair
    bad = _check(cases, dist, pa, pb, depth, normal, hit)
    assert not bad, f"{len(bad)} of {len(cases)} rows wrong:\n" + "\n".join(bad[:30])


def test_face_normals_point_along_the_contact_axis():
    # For axis-aligned overlapping face contact the penetration normal is +x exactly.
    cases = [c for c in build_cases().by_kind[("box", "box")] if c[4].startswith("face ")]
    _, _, _, _, normal, _ = _run(cases)
    for i, (_, _, s, acc, label) in enumerate(cases):
        if -s > acc:
            np.testing.assert_allclose(normal[i], [1.0, 0.0, 0.0], atol=1e-9, err_msg=label)


@pytest.mark.parametrize(
    ("shape", "want"), IDENTICAL, ids=lambda v: getattr(v, "__len__", None) and str(v[0])
)
def test_identical_shapes(shape, want):
    a = make_batch([shape])
    dist, _, _ = fbsim.distance(a, a)
    depth, normal = fbsim.penetration(a, a)
    assert dist[0] == 0.0
    assert bool(fbsim.overlap(a, a)[0])
    assert depth[0] == pytest.approx(want, rel=1e-9, abs=1e-12)
    assert np.linalg.norm(normal[0]) == pytest.approx(1.0, abs=1e-9)


def test_one_mixed_server_batch_returns_finite_answers():
    # Everything above at once, box against box, in one call of a few thousand rows with the
    # rows shuffled (a server does not sort its requests): same answers as the grouped calls.
    cases = build_cases().by_kind[("box", "box")]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(cases))
    shuffled = [cases[i] for i in order] * 4
    dist, _, _, depth, _, hit = _run(shuffled)
    d0, _, _, p0, _, h0 = _run(cases)
    np.testing.assert_array_equal(dist, np.tile(d0[order], 4))
    np.testing.assert_array_equal(depth, np.tile(p0[order], 4))
    np.testing.assert_array_equal(hit, np.tile(h0[order], 4))
