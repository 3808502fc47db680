// SPDX-License-Identifier: MIT
// fbsim: penetration depth of convex shapes, and the generic overlap test built on it.
// EPA after van den Bergen, "Proximity Queries and Penetration Depth Computation on 3D Game
// Objects" (GDC 2001) and Collision Detection in Interactive 3D Environments (2003) 4.3.7:
// grow a polytope inside the Minkowski difference M = A - B from GJK's final simplex until the
// face nearest the origin is within tolerance of M's support along that face's normal.
// Deviations: when GJK stops on a segment or triangle through the origin (touching or
// symmetric configurations) we complete a tetrahedron with supports off that segment/plane,
// and orient faces away from the polytope's centroid (robust when the origin lies on a face).
// Storage is fixed-size on the stack (no allocation); the iteration cap bounds it.
#include <algorithm>
#include <cmath>

#include "detail/gjk_internal.hpp"
#include "fbsim/narrowphase.hpp"

namespace fbsim {

namespace {

constexpr int kMaxEpaIterations = 64;
constexpr int kMaxVerts = kMaxEpaIterations + 8;
constexpr int kMaxFaces = 2 * kMaxVerts;
constexpr int kMaxEdges = 3 * kMaxFaces;

struct Face {
    int v[3];
    Vec3 n;       // unit outward normal
    double dist;  // n . vertex, distance of the face plane from the origin
    bool alive;
};

struct Polytope {
    detail::SimplexVertex verts[kMaxVerts];
    int nv = 0;
    Face faces[kMaxFaces];
    int nf = 0;
    Vec3 centroid;  // an interior point, to orient faces
};

bool add_face(Polytope& p, int a, int b, int c) noexcept {
    if (p.nf >= kMaxFaces) return false;
    const Vec3 wa = p.verts[a].w, wb = p.verts[b].w, wc = p.verts[c].w;
    Vec3 n = cross(wb - wa, wc - wa);
    const double len = length(n);
    Face f{{a, b, c}, {}, 0.0, true};
    if (len > 0.0) {
        n = (1.0 / len) * n;
        if (dot(n, wa - p.centroid) < 0.0) {
            n = -n;
            std::swap(f.v[1], f.v[2]);
        }
        f.n = n;
        f.dist = dot(n, wa);
    } else {
        // A sliver: never the nearest face, but kept so the surface stays closed.
        f.dist = INFINITY;
    }
    p.faces[p.nf++] = f;
    return true;
}

Vec3 support_m(const Convex& a, const Convex& b, Vec3 d, Vec3 shift,
               detail::SimplexVertex* out) noexcept {
    const Vec3 sa = detail::core_support(a, d, shift);
    const Vec3 sb = detail::core_support(b, -d, shift);
    *out = detail::SimplexVertex{sa, sb, sa - sb};
    return out->w;
}

// Completes GJK's simplex to a tetrahedron of M's support points with positive volume.
bool complete_tetrahedron(const Convex& a, const Convex& b, Vec3 shift, double eps,
                          detail::Simplex& s) noexcept {
    static const Vec3 kDirs[6] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
    if (s.n == 0) support_m(a, b, kDirs[0], shift, &s.v[s.n++]);
    if (s.n == 1) {
        for (const Vec3& d : kDirs) {
            detail::SimplexVertex v;
            support_m(a, b, d, shift, &v);
            if (length(v.w - s.v[0].w) > eps) {
                s.v[s.n++] = v;
                break;
            }
        }
        if (s.n == 1) return false;  // M is a point
    }
    if (s.n == 2) {
        const Vec3 ab = s.v[1].w - s.v[0].w;
        for (const Vec3& axis : kDirs) {
            const Vec3 d = cross(ab, axis);
            if (length(d) <= 0.0) continue;
            detail::SimplexVertex v;
            support_m(a, b, d, shift, &v);
            if (length(cross(v.w - s.v[0].w, ab)) > eps * length(ab)) {
                s.v[s.n++] = v;
                break;
            }
        }
        if (s.n == 2) return false;  // M is a segment: no volume, depth 0
    }
    if (s.n == 3) {
        const Vec3 n = cross(s.v[1].w - s.v[0].w, s.v[2].w - s.v[0].w);
        const double len = length(n);
        for (const Vec3& d : {n, -n}) {
            detail::SimplexVertex v;
            support_m(a, b, d, shift, &v);
            if (std::fabs(dot(v.w - s.v[0].w, n)) > eps * len) {
                s.v[s.n++] = v;
                break;
            }
        }
        if (s.n == 3) return false;  // M is flat
    }
    return true;
}

struct CoreDepth {
    double depth = 0.0;
    Vec3 normal;
    int iterations = 0;
    bool converged = true;
};

// Depth of the origin inside M (cores only). Precondition: GJK found the cores intersecting.
CoreDepth epa_core(const Convex& a, const Convex& b, Vec3 shift, detail::Simplex s) noexcept {
    CoreDepth r;
    const double scale = detail::pair_scale(a, b, shift);
    const double eps = 1e-12 * scale;
    if (!complete_tetrahedron(a, b, shift, eps, s)) return r;  // flat M: depth 0
    Polytope p;
    for (int k = 0; k < 4; ++k) p.verts[p.nv++] = s.v[k];
    p.centroid = 0.25 * (s.v[0].w + s.v[1].w + s.v[2].w + s.v[3].w);
    add_face(p, 0, 1, 2);
    add_face(p, 0, 3, 1);
    add_face(p, 0, 2, 3);
    add_face(p, 1, 3, 2);
    r.converged = false;
    Face best{};
    for (int it = 0; it < kMaxEpaIterations; ++it) {
        r.iterations = it + 1;
        int bi = -1;
        for (int f = 0; f < p.nf; ++f) {
            if (p.faces[f].alive && (bi < 0 || p.faces[f].dist < p.faces[bi].dist)) bi = f;
        }
        if (bi < 0 || !(p.faces[bi].dist < INFINITY)) break;
        best = p.faces[bi];
        detail::SimplexVertex v;
        const Vec3 w = support_m(a, b, best.n, shift, &v);
        // Converged when M's support along n is no farther out than the face (tolerance is
        // scale-relative: support points carry ~1e-16 * scale rounding).
        if (dot(w, best.n) - best.dist <= eps + 1e-12 * std::fabs(best.dist)) {
            r.converged = true;
            break;
        }
        if (p.nv >= kMaxVerts) break;
        const int wi = p.nv;
        p.verts[p.nv++] = v;
        // Remove faces that see w; the edges used once by removed faces form the horizon.
        int edges[kMaxEdges][2];
        int ne = 0;
        for (int f = 0; f < p.nf; ++f) {
            Face& face = p.faces[f];
            if (!face.alive) continue;
            const bool visible = face.dist < INFINITY
                                     ? dot(face.n, w - p.verts[face.v[0]].w) > 0.0
                                     : dot(w - p.verts[face.v[0]].w, w - p.centroid) > 0.0;
            if (!visible) continue;
            face.alive = false;
            for (int e = 0; e < 3; ++e) {
                const int ea = face.v[e], eb = face.v[(e + 1) % 3];
                bool found = false;
                for (int k = 0; k < ne; ++k) {
                    if (edges[k][0] == eb && edges[k][1] == ea) {
                        edges[k][0] = edges[--ne][0];
                        edges[k][1] = edges[ne][1];
                        found = true;
                        break;
                    }
                }
                if (!found && ne < kMaxEdges) {
                    edges[ne][0] = ea;
                    edges[ne][1] = eb;
                    ++ne;
                }
            }
        }
        // Compact dead faces so the fixed storage lasts.
        int live = 0;
        for (int f = 0; f < p.nf; ++f) {
            if (p.faces[f].alive) p.faces[live++] = p.faces[f];
        }
        p.nf = live;
        bool ok = true;
        for (int k = 0; k < ne && ok; ++k) ok = add_face(p, edges[k][0], edges[k][1], wi);
        if (!ok) break;
    }
    r.depth = std::max(0.0, best.dist);
    r.normal = best.n;
    return r;
}

}  // namespace

double detail::hidden_core_depth(const Convex& a, const Convex& b, Vec3 shift,
                                 const CoreDistance& c) noexcept {
    // Only stalled answers: a pair that passed the distance-bound test has a certificate.
    // Tested before pair_scale, which walks every hull point.
    if (c.intersecting || !c.stalled) return 0.0;
    const double scale = pair_scale(a, b, shift);
    if (!(c.distance <= 1e-6 * scale)) return 0.0;
    const CoreDepth d = epa_core(a, b, shift, c.simplex);
    // Only a depth past EPA's own tolerance counts: a touching pair stays separated.
    return d.converged && d.depth > 1e-11 * scale ? d.depth : 0.0;
}

PenetrationResult epa_penetration(const Convex& a, const Convex& b,
                                  const GjkSettings& settings) noexcept {
    PenetrationResult r;
    if (a.kind == ShapeKind::kBox && b.kind == ShapeKind::kBox) {
        return detail::sat_penetration(a, b);
    }
    const Vec3 shift = detail::anchor(a);
    detail::CoreDistance c = detail::gjk_core(a, b, shift, settings);
    if (detail::hidden_core_depth(a, b, shift, c) > 0.0) c.intersecting = true;
    r.iterations = c.iterations;
    r.converged = c.converged;
    const double rsum = a.radius + b.radius;
    if (!c.intersecting) {
        if (c.distance >= rsum) return r;  // separated or touching: depth 0
        r.depth = rsum - c.distance;
        // Normalise the difference itself: near contact, dividing by the separately rounded
        // c.distance gave normals of length 1 +- 1e-5 (fuzz_narrowphase; issue 10).
        const Vec3 ab = c.point_b - c.point_a;
        const double len = length(ab);
        r.normal = len > 0.0 ? (1.0 / len) * ab : Vec3{0.0, 1.0, 0.0};
        return r;
    }
    const CoreDepth d = epa_core(a, b, shift, c.simplex);
    r.iterations += d.iterations;
    r.converged = r.converged && d.converged;
    r.depth = d.depth + rsum;
    if (r.depth > 0.0) {
        r.normal = d.normal;
        if (d.depth <= 0.0 && length(r.normal) == 0.0) {
            // Cores touch at a point and M is flat: any direction separates equally; pick the
            // one from a's anchor to b's, falling back to +y (up).
            const Vec3 ab = b.center - a.center;
            r.normal = length(ab) > 0.0 ? (1.0 / length(ab)) * ab : Vec3{0.0, 1.0, 0.0};
        }
    }
    return r;
}

bool convex_overlap(const Convex& a, const Convex& b, double tol,
                    const GjkSettings& settings) noexcept {
    if (a.kind == ShapeKind::kBox && b.kind == ShapeKind::kBox) {
        return detail::sat_overlap(a, b, tol);
    }
    const Vec3 shift = detail::anchor(a);
    detail::CoreDistance c = detail::gjk_core(a, b, shift, settings);
    if (detail::hidden_core_depth(a, b, shift, c) > 0.0) c.intersecting = true;
    const double rsum = a.radius + b.radius;
    if (!c.intersecting) return rsum - c.distance > tol;
    if (rsum > tol) return true;  // depth >= rsum already
    const CoreDepth d = epa_core(a, b, shift, c.simplex);
    return d.depth + rsum > tol;
}

}  // namespace fbsim
