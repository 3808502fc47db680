// SPDX-License-Identifier: MIT
// fbsim: GJK distance between convex shapes.
// GJK after van den Bergen, "A Fast and Robust GJK Implementation for Collision Detection of
// Convex Objects" (1999): iterate v = closest point of the Minkowski difference to the origin,
// stop when ||v||^2 - v.w <= tolerance * ||v||^2 (the upper/lower bound gap). The sub-simplex
// solver is Ericson's closest-point-on-simplex (Real-Time Collision Detection 5.1.2, 5.1.5,
// 5.1.6, used as in 9.5) instead of Johnson's determinant recursion: it is branchy but has no
// cached determinants to go stale, and degenerate triangles/tetrahedra fall back to their
// edges/faces. Deviations: shapes are a core swept by a radius (Box2D's b2ShapeDistance idea),
// every computation runs in a frame centred on a's anchor (so coordinates of 1e5 cost nothing),
// and the loop also stops when ||v|| stops decreasing or a support point repeats, both of which
// mean the exact polytope answer has been reached.
#include <algorithm>
#include <cmath>

#include "detail/gjk_internal.hpp"
#include "fbsim/narrowphase.hpp"

namespace fbsim {

Convex make_convex(const Obb& box) noexcept {
    Convex c;
    c.kind = ShapeKind::kBox;
    c.center = box.center;
    c.rotation = quat_to_matrix(box.rotation);
    // Half extents below 1e-12 studs are far under every tolerance here; flushing them to zero
    // keeps denormal arithmetic out of GJK/EPA, where a 1e-300 box against a hull spanning 1e5
    // gave NaN distances (seeded fuzz finding, tests/test_fuzz_regressions.py).
    constexpr double kTiny = 1e-12;
    c.half_extents = {box.half_extents.x < kTiny ? 0.0 : box.half_extents.x,
                      box.half_extents.y < kTiny ? 0.0 : box.half_extents.y,
                      box.half_extents.z < kTiny ? 0.0 : box.half_extents.z};
    return c;
}

Convex make_convex(const Sphere& sphere) noexcept {
    Convex c;
    c.kind = ShapeKind::kSphere;
    c.center = sphere.center;
    c.radius = sphere.radius;
    return c;
}

Convex make_convex(const Capsule& capsule) noexcept {
    Convex c;
    c.kind = ShapeKind::kCapsule;
    c.center = capsule.p0;
    c.p1 = capsule.p1;
    c.radius = capsule.radius;
    return c;
}

Convex make_convex(const ConvexHull& hull) noexcept {
    Convex c;
    c.kind = ShapeKind::kHull;
    c.points = hull.points;
    c.count = hull.count;
    c.center = load_vec3(hull.points, 0);
    return c;
}

Convex translated(const Convex& c, Vec3 d) noexcept {
    Convex r = c;
    r.center = c.center + d;
    r.p1 = c.p1 + d;
    r.offset = c.offset + d;
    return r;
}

Convex convex_at(const ShapeBatch& s, std::size_t i) noexcept {
    switch (s.kind) {
        case ShapeKind::kBox:
            return make_convex(Obb{load_vec3(s.centers, i), load_quat(s.quats, i),
                                   load_vec3(s.half_extents, i)});
        case ShapeKind::kSphere:
            return make_convex(Sphere{load_vec3(s.centers, i), s.radii[i]});
        case ShapeKind::kCapsule:
            return make_convex(Capsule{load_vec3(s.p0, i), load_vec3(s.p1, i), s.radii[i]});
        case ShapeKind::kHull: {
            const auto begin = static_cast<std::size_t>(s.offsets[i]);
            const auto end = static_cast<std::size_t>(s.offsets[i + 1]);
            return make_convex(ConvexHull{s.points + 3 * begin, end - begin});
        }
    }
    return Convex{};
}

namespace detail {

namespace {

double extent(const Convex& c, Vec3 shift) noexcept {
    const Vec3 a = c.center - shift;
    double e = length(a);
    switch (c.kind) {
        case ShapeKind::kBox:
            e += length(c.half_extents);
            break;
        case ShapeKind::kCapsule:
            e = std::max(e, length(c.p1 - shift));
            break;
        case ShapeKind::kHull:
            for (std::size_t i = 0; i < c.count; ++i) {
                e = std::max(e, length(load_vec3(c.points, i) + c.offset - shift));
            }
            break;
        case ShapeKind::kSphere:
            break;
    }
    return e + c.radius;
}

// The sub-simplex solvers below are pure functions of the vertex positions: they return the
// closest point to the origin and write barycentric weights, 0 for vertices outside the
// closest feature; compact() then drops those. Working on weights, not on simplex copies,
// keeps the hot loop free of 300-byte struct copies.

// Segment ab.
Vec3 segment_closest(Vec3 a, Vec3 b, double* bc) noexcept {
    const Vec3 ab = b - a;
    const double t = -dot(a, ab);
    const double den = dot(ab, ab);
    if (t <= 0.0 || den <= 0.0) {
        bc[0] = 1.0;
        bc[1] = 0.0;
        return a;
    }
    if (t >= den) {
        bc[0] = 0.0;
        bc[1] = 1.0;
        return b;
    }
    const double u = t / den;
    bc[0] = 1.0 - u;
    bc[1] = u;
    return a + u * ab;
}

// Triangle abc: Ericson 5.1.5 (ClosestPtPointTriangle) with p = origin.
Vec3 triangle_closest(Vec3 a, Vec3 b, Vec3 c, double* bc) noexcept {
    bc[0] = bc[1] = bc[2] = 0.0;
    const Vec3 ab = b - a, ac = c - a;
    const double d1 = -dot(ab, a), d2 = -dot(ac, a);
    if (d1 <= 0.0 && d2 <= 0.0) {
        bc[0] = 1.0;
        return a;
    }
    const double d3 = -dot(ab, b), d4 = -dot(ac, b);
    if (d3 >= 0.0 && d4 <= d3) {
        bc[1] = 1.0;
        return b;
    }
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0) {
        const double v = d1 / (d1 - d3);
        bc[0] = 1.0 - v;
        bc[1] = v;
        return a + v * ab;
    }
    const double d5 = -dot(ab, c), d6 = -dot(ac, c);
    if (d6 >= 0.0 && d5 <= d6) {
        bc[2] = 1.0;
        return c;
    }
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0) {
        const double w = d2 / (d2 - d6);
        bc[0] = 1.0 - w;
        bc[2] = w;
        return a + w * ac;
    }
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0) {
        const double w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
        bc[1] = 1.0 - w;
        bc[2] = w;
        return b + w * (c - b);
    }
    const double sum = va + vb + vc;
    if (!(sum > 0.0)) {
        // Degenerate (collinear) triangle: the answer lies on one of its edges.
        double e[2];
        Vec3 best = segment_closest(a, b, e);
        bc[0] = e[0];
        bc[1] = e[1];
        Vec3 p = segment_closest(a, c, e);
        if (dot(p, p) < dot(best, best)) {
            best = p;
            bc[0] = e[0];
            bc[1] = 0.0;
            bc[2] = e[1];
        }
        p = segment_closest(b, c, e);
        if (dot(p, p) < dot(best, best)) {
            best = p;
            bc[0] = 0.0;
            bc[1] = e[0];
            bc[2] = e[1];
        }
        return best;
    }
    const double v = vb / sum, w = vc / sum;
    bc[0] = 1.0 - v - w;
    bc[1] = v;
    bc[2] = w;
    return a + v * ab + w * ac;
}

// Tetrahedron: Ericson 5.1.6 (ClosestPtPointTetrahedron) with p = origin. Returns true when
// the origin is inside (bc then holds its barycentric weights).
bool tetrahedron_closest(const Vec3* w, double* bc, Vec3* out) noexcept {
    static constexpr int kFaces[4][4] = {{0, 1, 2, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {1, 3, 2, 0}};
    // A (nearly) flat tetrahedron has face-side tests decided by rounding, which could call
    // an origin far off its plane "inside": then test every face instead.
    const Vec3 e1 = w[1] - w[0], e2 = w[2] - w[0], e3 = w[3] - w[0];
    const bool flat = std::fabs(dot(e1, cross(e2, e3))) <=
                      1e-12 * length(e1) * length(e2) * length(e3);
    bool any_outside = false;
    double best_d2 = INFINITY;
    for (const auto& f : kFaces) {
        const Vec3 n = cross(w[f[1]] - w[f[0]], w[f[2]] - w[f[0]]);
        const double sign_o = -dot(w[f[0]], n);
        const double sign_d = dot(w[f[3]] - w[f[0]], n);
        // Outside this face, or the tetrahedron is flat and the face test is meaningless.
        if (flat || sign_o * sign_d < 0.0 || sign_d == 0.0) {
            any_outside = true;
            double t[3];
            const Vec3 p = triangle_closest(w[f[0]], w[f[1]], w[f[2]], t);
            const double d2 = dot(p, p);
            if (d2 < best_d2) {
                best_d2 = d2;
                *out = p;
                bc[f[0]] = t[0];
                bc[f[1]] = t[1];
                bc[f[2]] = t[2];
                bc[f[3]] = 0.0;
            }
        }
    }
    if (any_outside) return false;
    const Vec3 a = w[0], b = w[1], c = w[2], d = w[3];
    const double vol = dot(b - a, cross(c - a, d - a));
    bc[1] = dot(-a, cross(c - a, d - a)) / vol;
    bc[2] = dot(b - a, cross(-a, d - a)) / vol;
    bc[3] = dot(b - a, cross(c - a, -a)) / vol;
    bc[0] = 1.0 - bc[1] - bc[2] - bc[3];
    *out = Vec3{};
    return true;
}

// Drops the vertices whose weight is exactly 0 (outside the closest feature).
void compact(Simplex& s, const double* bc) noexcept {
    int k = 0;
    for (int i = 0; i < s.n; ++i) {
        // != 0, not > 0: the solvers write an exact 0 for dropped vertices, while a kept
        // vertex's weight may round to a tiny negative value and must stay.
        if (bc[i] != 0.0) {
            if (k != i) s.v[k] = s.v[i];
            s.bc[k] = bc[i];
            ++k;
        }
    }
    if (k == 0) {  // cannot happen for weights summing to 1; keep one vertex regardless
        k = 1;
        s.bc[0] = 1.0;
    }
    s.n = k;
}

// Closest point of the simplex to the origin; reduces the simplex to that feature. A full
// tetrahedron is kept (n = 4) when it contains the origin.
Vec3 solve(Simplex& s) noexcept {
    double bc[4] = {1.0, 0.0, 0.0, 0.0};
    Vec3 p;
    switch (s.n) {
        case 1:
            s.bc[0] = 1.0;
            return s.v[0].w;
        case 2:
            p = segment_closest(s.v[0].w, s.v[1].w, bc);
            break;
        case 3:
            p = triangle_closest(s.v[0].w, s.v[1].w, s.v[2].w, bc);
            break;
        default: {
            const Vec3 w[4] = {s.v[0].w, s.v[1].w, s.v[2].w, s.v[3].w};
            if (tetrahedron_closest(w, bc, &p)) {
                for (int k = 0; k < 4; ++k) s.bc[k] = bc[k];
                return p;
            }
        }
    }
    compact(s, bc);
    return p;
}

}  // namespace

double pair_scale(const Convex& a, const Convex& b, Vec3 shift) noexcept {
    return std::max(1.0, extent(a, shift) + extent(b, shift));
}

CoreDistance gjk_core(const Convex& a, const Convex& b, Vec3 shift,
                      const GjkSettings& settings) noexcept {
    CoreDistance r;
    Simplex& s = r.simplex;
    // ||v|| below this is contact: the support points carry ~1e-16 * scale rounding each.
    const double scale = pair_scale(a, b, shift);
    const double contact2 = (1e-13 * scale) * (1e-13 * scale);
    Vec3 v = (a.center - shift) - (b.center - shift);
    if (dot(v, v) == 0.0) v = Vec3{1.0, 0.0, 0.0};
    double vv = INFINITY;
    Simplex prev;  // declared once: its vertices are only copied into, never cleared
    int prev_n = 0;
    r.converged = false;
    const int cap = std::max(1, settings.max_iterations);
    for (int it = 0; it < cap; ++it) {
        r.iterations = it + 1;
        const Vec3 sa = core_support(a, -v, shift);
        const Vec3 sb = core_support(b, v, shift);
        const Vec3 w = sa - sb;
        // van den Bergen's test, plus an absolute floor: v carries ~1e-16 * scale rounding,
        // so when ||v|| is small next to the shapes the relative test alone could never pass
        // and GJK would add a coplanar vertex and build a sliver.
        if (s.n > 0 &&
            vv - dot(v, w) <= settings.tolerance * vv + 1e-15 * scale * std::sqrt(vv)) {
            r.converged = true;
            break;
        }
        bool repeated = false;
        for (int k = 0; k < s.n; ++k) {
            const Vec3 e = s.v[k].w;
            repeated = repeated || (e.x == w.x && e.y == w.y && e.z == w.z);
        }
        if (repeated) {
            r.converged = true;
            r.stalled = true;
            break;
        }
        // Remember the current simplex (at most 3 vertices) for the no-progress fallback.
        prev_n = s.n;
        for (int k = 0; k < s.n; ++k) {
            prev.v[k] = s.v[k];
            prev.bc[k] = s.bc[k];
        }
        s.v[s.n++] = SimplexVertex{sa, sb, w};
        const Vec3 nv = solve(s);
        const double nvv = dot(nv, nv);
        if (s.n == 4 || nvv <= contact2) {
            r.intersecting = true;
            r.converged = true;
            v = nv;
            vv = nvv;
            break;
        }
        if (nvv >= vv) {
            // No progress: ||v|| decreases strictly in exact arithmetic, so rounding has
            // reached the answer. Keep the previous simplex: the new one may be a sliver whose
            // face tests rounding got wrong.
            for (int k = 0; k < prev_n; ++k) {
                s.v[k] = prev.v[k];
                s.bc[k] = prev.bc[k];
            }
            s.n = prev_n;
            r.converged = true;
            r.stalled = true;
            break;
        }
        v = nv;
        vv = nvv;
    }
    Vec3 pa{}, pb{};
    for (int k = 0; k < s.n; ++k) {
        pa = pa + s.bc[k] * s.v[k].a;
        pb = pb + s.bc[k] * s.v[k].b;
    }
    r.point_a = pa;
    r.point_b = pb;
    r.distance = r.intersecting ? 0.0 : std::sqrt(vv);
    return r;
}

}  // namespace detail

DistanceResult gjk_distance(const Convex& a, const Convex& b,
                            const GjkSettings& settings) noexcept {
    const Vec3 shift = detail::anchor(a);
    detail::CoreDistance c = detail::gjk_core(a, b, shift, settings);
    if (detail::hidden_core_depth(a, b, shift, c) > 0.0) c.intersecting = true;
    DistanceResult r;
    r.iterations = c.iterations;
    r.converged = c.converged;
    const double rsum = a.radius + b.radius;
    if (c.intersecting || c.distance <= rsum) {
        // Overlapping or touching: report one common point. On the core segment between the
        // closest points, at a fraction ra / (ra + rb), lies a point within both radii.
        Vec3 p = c.point_a;
        if (!c.intersecting && rsum > 0.0) p = p + (a.radius / rsum) * (c.point_b - c.point_a);
        r.distance = 0.0;
        r.point_a = p + shift;
        r.point_b = r.point_a;
        return r;
    }
    const Vec3 n = (1.0 / c.distance) * (c.point_b - c.point_a);  // from a towards b
    r.distance = c.distance - rsum;
    r.point_a = c.point_a + a.radius * n + shift;
    r.point_b = c.point_b - b.radius * n + shift;
    return r;
}

}  // namespace fbsim
