// SPDX-License-Identifier: MIT
// fbsim private: the GJK pieces shared by gjk.cpp, epa.cpp and shapecast.cpp.
#pragma once

#include <cmath>

#include "fbsim/narrowphase.hpp"

namespace fbsim::detail {

/// Support point of a shape's core in direction d, in a frame translated by -shift.
/// Inline: it is called twice per GJK iteration, and within a batch the kind switch is
/// perfectly predicted once the call is gone.
inline Vec3 core_support(const Convex& c, Vec3 d, Vec3 shift) noexcept {
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
                // copysign instead of a branch: the sign is unpredictable. Ties (dot == +-0)
                // go to the sign of zero, which is deterministic.
                const double s = std::copysign(h[k], dot(axis, d));
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


/// A simplex vertex: support points of a and b, and their difference w = a - b.
struct SimplexVertex {
    Vec3 a;
    Vec3 b;
    Vec3 w;
};

/// Up to four vertices; only the first `n` (and their weights) are meaningful. The storage is
/// deliberately left uninitialised (a variant member): GJK builds one per query and clearing
/// 300 bytes each time showed up in profiles.
struct Simplex {
    union {
        SimplexVertex v[4];
    };
    double bc[4];  ///< barycentric weights of the closest point
    int n = 0;
    Simplex() noexcept {}  // NOLINT: leaves v and bc uninitialised on purpose
};

/// GJK on the cores of a and b (radii ignored), in the frame translated by -shift.
struct CoreDistance {
    double distance = 0.0;  ///< core separation, >= 0
    Vec3 point_a;           ///< closest point on a's core (shifted frame)
    Vec3 point_b;           ///< closest point on b's core (shifted frame)
    bool intersecting = false;
    int iterations = 0;
    bool converged = true;
    bool stalled = false;   ///< stopped by rounding (no progress / repeated vertex), not by
                            ///< the distance-bound test: the answer is the least certain
    Simplex simplex;        ///< final simplex (a tetrahedron containing 0 when intersecting)
};

CoreDistance gjk_core(const Convex& a, const Convex& b, Vec3 shift,
                      const GjkSettings& settings) noexcept;

/// GJK said "separated" by less than 1e-6 * scale and stopped by rounding (stalled): there the direction of its tiny v is
/// known only to ~1e-16 * scale / |v|, too coarse to tell a touch from a 1e-7-deep overlap of
/// nearly parallel faces (issue 10: a hull turned 1e-5 rad and sunk 1e-5 into another came
/// back "separated by 4e-12"). Re-checks with EPA, whose faces are spanned by long edges and
/// so well conditioned; returns the EPA core depth (> 0: the cores do intersect) or 0.
/// Defined in epa.cpp. O(EPA) only for near-contact pairs.
double hidden_core_depth(const Convex& a, const Convex& b, Vec3 shift,
                         const CoreDistance& c) noexcept;

/// Rough size of the pair in the shifted frame, for scale-relative tolerances.
double pair_scale(const Convex& a, const Convex& b, Vec3 shift) noexcept;

/// Box-box SAT on convexes of kind kBox (rotation matrices already computed).
bool sat_overlap(const Convex& a, const Convex& b, double tol) noexcept;
bool sat_overlap_raw(const Mat3& ma, Vec3 ca, Vec3 ha, const Mat3& mb, Vec3 cb, Vec3 hb,
                     double tol) noexcept;
PenetrationResult sat_penetration(const Convex& a, const Convex& b) noexcept;

/// The reference point of a convex (box/sphere centre, capsule p0, hull first point).
inline Vec3 anchor(const Convex& c) noexcept { return c.center; }

}  // namespace fbsim::detail
