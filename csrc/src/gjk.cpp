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
    c.half_extents = box.half_extents;
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

Vec3 core_support(const Convex& c, Vec3 d, Vec3 shift) noexcept {
    switch (c.kind) {
        case ShapeKind::kSphere:
            return c.center - shift;
        case ShapeKind::kCapsule:
            return (dot(c.p1 - c.center, d) > 0.0 ? c.p1 : c.center) - shift;
        case ShapeKind::kBox: {
            const auto& m = c.rotation.m;
            Vec3 p = c.center - shift;
            const double h[3] = {c.half_extents.x, c.half_extents.y, c.half_extents.z};
            for (int k = 0; k < 3; ++k) {
                const Vec3 axis{m[0][k], m[1][k], m[2][k]};
                const double s = dot(axis, d) >= 0.0 ? h[k] : -h[k];
                p = p + s * axis;
            }
            return p;
        }
        case ShapeKind::kHull: {
            // First maximum wins, so the result is deterministic for ties.
            const Vec3 base = c.offset - shift;
            Vec3 best = load_vec3(c.points, 0) + base;
            double best_dot = dot(best, d);
            for (std::size_t i = 1; i < c.count; ++i) {
                const Vec3 p = load_vec3(c.points, i) + base;
                const double pd = dot(p, d);
                if (pd > best_dot) {
                    best_dot = pd;
                    best = p;
                }
            }
            return best;
        }
    }
    return Vec3{};
}

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

// Closest point to the origin on segment v[0]v[1]; reduces the simplex to the feature.
Vec3 solve_segment(Simplex& s) noexcept {
    const Vec3 a = s.v[0].w, b = s.v[1].w;
    const Vec3 ab = b - a;
    const double t = -dot(a, ab);
    const double den = dot(ab, ab);
    if (t <= 0.0 || den <= 0.0) {
        s.n = 1;
        s.bc[0] = 1.0;
        return a;
    }
    if (t >= den) {
        s.v[0] = s.v[1];
        s.n = 1;
        s.bc[0] = 1.0;
        return b;
    }
    const double u = t / den;
    s.bc[0] = 1.0 - u;
    s.bc[1] = u;
    return a + u * ab;
}

// Keeps vertices i and j (in that order) and solves the segment.
Vec3 keep2(Simplex& s, int i, int j) noexcept {
    const SimplexVertex vi = s.v[i], vj = s.v[j];
    s.v[0] = vi;
    s.v[1] = vj;
    s.n = 2;
    return solve_segment(s);
}

// Ericson 5.1.5 (ClosestPtPointTriangle) with p = origin, reducing to the Voronoi feature.
Vec3 solve_triangle(Simplex& s) noexcept {
    const Vec3 a = s.v[0].w, b = s.v[1].w, c = s.v[2].w;
    const Vec3 ab = b - a, ac = c - a;
    const double d1 = -dot(ab, a), d2 = -dot(ac, a);
    if (d1 <= 0.0 && d2 <= 0.0) {
        s.n = 1;
        s.bc[0] = 1.0;
        return a;
    }
    const double d3 = -dot(ab, b), d4 = -dot(ac, b);
    if (d3 >= 0.0 && d4 <= d3) {
        s.v[0] = s.v[1];
        s.n = 1;
        s.bc[0] = 1.0;
        return b;
    }
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0) return keep2(s, 0, 1);
    const double d5 = -dot(ab, c), d6 = -dot(ac, c);
    if (d6 >= 0.0 && d5 <= d6) {
        s.v[0] = s.v[2];
        s.n = 1;
        s.bc[0] = 1.0;
        return c;
    }
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0) return keep2(s, 0, 2);
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0.0 && (d4 - d3) >= 0.0 && (d5 - d6) >= 0.0) return keep2(s, 1, 2);
    const double sum = va + vb + vc;
    if (!(sum > 0.0)) {
        // Degenerate (collinear) triangle: the answer lies on one of its edges.
        Simplex best = s;
        Vec3 bestp = keep2(best, 0, 1);
        for (const auto& e : {std::pair<int, int>{0, 2}, std::pair<int, int>{1, 2}}) {
            Simplex t = s;
            const Vec3 p = keep2(t, e.first, e.second);
            if (dot(p, p) < dot(bestp, bestp)) {
                best = t;
                bestp = p;
            }
        }
        s = best;
        return bestp;
    }
    const double v = vb / sum, w = vc / sum;
    s.bc[0] = 1.0 - v - w;
    s.bc[1] = v;
    s.bc[2] = w;
    return a + v * ab + w * ac;
}

// Ericson 5.1.6 (ClosestPtPointTetrahedron) with p = origin. Returns n = 4 when the origin is
// inside (then bc holds its barycentric weights).
Vec3 solve_tetrahedron(Simplex& s) noexcept {
    const Vec3 a = s.v[0].w, b = s.v[1].w, c = s.v[2].w, d = s.v[3].w;
    // Faces as (i, j, k, opposite).
    static constexpr int kFaces[4][4] = {{0, 1, 2, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {1, 3, 2, 0}};
    const Vec3 w[4] = {a, b, c, d};
    bool any_outside = false;
    Simplex best = s;
    Vec3 bestp{};
    double best_d2 = INFINITY;
    for (const auto& f : kFaces) {
        const Vec3 n = cross(w[f[1]] - w[f[0]], w[f[2]] - w[f[0]]);
        const double sign_o = -dot(w[f[0]], n);
        const double sign_d = dot(w[f[3]] - w[f[0]], n);
        // Outside this face, or the tetrahedron is flat and the face test is meaningless.
        if (sign_o * sign_d < 0.0 || sign_d == 0.0) {
            any_outside = true;
            Simplex t;
            t.v[0] = s.v[f[0]];
            t.v[1] = s.v[f[1]];
            t.v[2] = s.v[f[2]];
            t.n = 3;
            const Vec3 p = solve_triangle(t);
            const double d2 = dot(p, p);
            if (d2 < best_d2) {
                best_d2 = d2;
                best = t;
                bestp = p;
            }
        }
    }
    if (any_outside) {
        s = best;
        return bestp;
    }
    // Inside: barycentric weights from signed volumes.
    const double vol = dot(b - a, cross(c - a, d - a));
    s.bc[1] = dot(-a, cross(c - a, d - a)) / vol;
    s.bc[2] = dot(b - a, cross(-a, d - a)) / vol;
    s.bc[3] = dot(b - a, cross(c - a, -a)) / vol;
    s.bc[0] = 1.0 - s.bc[1] - s.bc[2] - s.bc[3];
    return Vec3{};
}

Vec3 solve(Simplex& s) noexcept {
    switch (s.n) {
        case 1:
            s.bc[0] = 1.0;
            return s.v[0].w;
        case 2:
            return solve_segment(s);
        case 3:
            return solve_triangle(s);
        default:
            return solve_tetrahedron(s);
    }
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
    r.converged = false;
    const int cap = std::max(1, settings.max_iterations);
    for (int it = 0; it < cap; ++it) {
        r.iterations = it + 1;
        const Vec3 sa = core_support(a, -v, shift);
        const Vec3 sb = core_support(b, v, shift);
        const Vec3 w = sa - sb;
        if (s.n > 0 && vv - dot(v, w) <= settings.tolerance * vv) {
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
            break;
        }
        const Simplex before = s;
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
            // No progress: rounding has reached the answer; keep the previous simplex.
            s = before;
            r.converged = true;
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
    const detail::CoreDistance c = detail::gjk_core(a, b, shift, settings);
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
