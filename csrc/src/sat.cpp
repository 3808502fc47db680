// SPDX-License-Identifier: MIT
// fbsim: box-box overlap and penetration depth by the separating axis theorem.
// Follows Ericson, Real-Time Collision Detection, 4.4.1 (OBB-OBB): everything is expressed in
// a's frame, R = A^T B, and the 15 candidate axes are a's 3 face normals, b's 3, and the 9
// edge-edge cross products. Deviations, and why:
//  * Ericson adds an epsilon to every |R| entry. We add it only on the 9 cross-product axes,
//    whose degenerate (parallel-edge) case it guards; on the face axes an epsilon would make
//    exactly flush boxes report overlap, and flush placement must be legal.
//  * Cross-product axes are not unit; the tolerance is scaled by the axis length so that `tol`
//    is a distance in studs on every axis.
//  * Penetration depth is the minimum of (ra + rb - |t.L|) / |L| over the axes. For two boxes
//    this is the exact depth: every face of their Minkowski difference is normal to one of the
//    15 axes. Near-parallel edge axes (|L| < kMinAxis) are skipped for depth: their direction
//    is numerically meaningless and a face axis then gives the same depth.
#include <cmath>

#include "detail/gjk_internal.hpp"
#include "fbsim/narrowphase.hpp"

namespace fbsim {

namespace {

// Guards near-parallel edge axes in the boolean test (Ericson's EPSILON). R entries are
// direction cosines in [-1, 1], so an absolute value is right.
constexpr double kParallelEpsilon = 1e-12;
// Shortest cross-product axis whose direction we trust for the depth/normal.
constexpr double kMinAxis = 1e-9;

struct BoxPair {
    double r[3][3];    // R = A^T B
    double ar[3][3];   // |R|
    double t[3];       // (cb - ca) in a's frame
    double ea[3];
    double eb[3];
    Mat3 ma;           // a's rotation (columns are a's axes in world)
};

BoxPair make_pair(const Convex& a, const Convex& b) noexcept {
    BoxPair p{};
    p.ma = a.rotation;
    const Mat3& mb = b.rotation;
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            double s = 0.0;
            for (int k = 0; k < 3; ++k) s += p.ma.m[k][i] * mb.m[k][j];
            p.r[i][j] = s;
            p.ar[i][j] = std::fabs(s);
        }
    }
    const Vec3 d = b.center - a.center;
    for (int i = 0; i < 3; ++i) {
        p.t[i] = p.ma.m[0][i] * d.x + p.ma.m[1][i] * d.y + p.ma.m[2][i] * d.z;
    }
    p.ea[0] = a.half_extents.x; p.ea[1] = a.half_extents.y; p.ea[2] = a.half_extents.z;
    p.eb[0] = b.half_extents.x; p.eb[1] = b.half_extents.y; p.eb[2] = b.half_extents.z;
    return p;
}

// Visits the 15 axes: f(dist, ra_plus_rb, axis_length, axis_in_a_frame). Axis vectors are
// given in a's frame so the caller can turn the winner into a world normal.
template <class F>
bool for_each_axis(const BoxPair& p, double eps, F&& f) noexcept {
    // a's face normals.
    for (int i = 0; i < 3; ++i) {
        const double rb = p.eb[0] * p.ar[i][0] + p.eb[1] * p.ar[i][1] + p.eb[2] * p.ar[i][2];
        double axis[3] = {0, 0, 0};
        axis[i] = 1.0;
        if (!f(std::fabs(p.t[i]), p.ea[i] + rb, 1.0, axis)) return false;
    }
    // b's face normals.
    for (int j = 0; j < 3; ++j) {
        const double ra = p.ea[0] * p.ar[0][j] + p.ea[1] * p.ar[1][j] + p.ea[2] * p.ar[2][j];
        const double dist = std::fabs(p.t[0] * p.r[0][j] + p.t[1] * p.r[1][j] + p.t[2] * p.r[2][j]);
        double axis[3] = {p.r[0][j], p.r[1][j], p.r[2][j]};
        if (!f(dist, ra + p.eb[j], 1.0, axis)) return false;
    }
    // Edge-edge: L = A_i x B_j, in a's frame e_i x column j of R.
    for (int i = 0; i < 3; ++i) {
        const int i1 = (i + 1) % 3, i2 = (i + 2) % 3;
        for (int j = 0; j < 3; ++j) {
            const int j1 = (j + 1) % 3, j2 = (j + 2) % 3;
            const double ra = p.ea[i1] * (p.ar[i2][j] + eps) + p.ea[i2] * (p.ar[i1][j] + eps);
            const double rb = p.eb[j1] * (p.ar[i][j2] + eps) + p.eb[j2] * (p.ar[i][j1] + eps);
            const double dist = std::fabs(p.t[i2] * p.r[i1][j] - p.t[i1] * p.r[i2][j]);
            double axis[3];
            axis[i] = 0.0;
            axis[i1] = -p.r[i2][j];
            axis[i2] = p.r[i1][j];
            const double len = std::sqrt(axis[i1] * axis[i1] + axis[i2] * axis[i2]);
            if (!f(dist, ra + rb, len, axis)) return false;
        }
    }
    return true;
}

}  // namespace

namespace detail {

bool sat_overlap(const Convex& a, const Convex& b, double tol) noexcept {
    return sat_overlap_raw(a.rotation, a.center, a.half_extents, b.rotation, b.center,
                           b.half_extents, tol);
}

// The boolean test, straight-line for speed (it is the placement hot path): no square roots
// (the tolerance test on a non-unit axis compares squares), early exit on the first separating
// axis, face axes first since they separate most random pairs.
bool sat_overlap_raw(const Mat3& ma, Vec3 ca, Vec3 ha, const Mat3& mb, Vec3 cb, Vec3 hb,
                     double tol) noexcept {
    const auto& A = ma.m;
    const auto& B = mb.m;
    double r[3][3], ar[3][3];
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            r[i][j] = A[0][i] * B[0][j] + A[1][i] * B[1][j] + A[2][i] * B[2][j];
            ar[i][j] = std::fabs(r[i][j]);
        }
    }
    const Vec3 d = cb - ca;
    const double t[3] = {A[0][0] * d.x + A[1][0] * d.y + A[2][0] * d.z,
                         A[0][1] * d.x + A[1][1] * d.y + A[2][1] * d.z,
                         A[0][2] * d.x + A[1][2] * d.y + A[2][2] * d.z};
    const double ea[3] = {ha.x, ha.y, ha.z};
    const double eb[3] = {hb.x, hb.y, hb.z};
    // The six face tests are combined without branches: which one separates a random pair
    // is unpredictable, and a mispredicted branch costs more than the arithmetic.
    bool separated = false;
    for (int i = 0; i < 3; ++i) {
        const double rb = eb[0] * ar[i][0] + eb[1] * ar[i][1] + eb[2] * ar[i][2];
        separated |= std::fabs(t[i]) >= ea[i] + rb - tol;
    }
    for (int j = 0; j < 3; ++j) {
        const double ra = ea[0] * ar[0][j] + ea[1] * ar[1][j] + ea[2] * ar[2][j];
        const double dist = std::fabs(t[0] * r[0][j] + t[1] * r[1][j] + t[2] * r[2][j]);
        separated |= dist >= ra + eb[j] - tol;
    }
    if (separated) return false;
    const double tol2 = tol * tol;
    for (int i = 0; i < 3; ++i) {
        const int i1 = (i + 1) % 3, i2 = (i + 2) % 3;
        for (int j = 0; j < 3; ++j) {
            const int j1 = (j + 1) % 3, j2 = (j + 2) % 3;
            const double rsum = ea[i1] * (ar[i2][j] + kParallelEpsilon) +
                                ea[i2] * (ar[i1][j] + kParallelEpsilon) +
                                eb[j1] * (ar[i][j2] + kParallelEpsilon) +
                                eb[j2] * (ar[i][j1] + kParallelEpsilon);
            const double gap = rsum - std::fabs(t[i2] * r[i1][j] - t[i1] * r[i2][j]);
            if (gap <= 0.0) return false;
            // gap / |L| <= tol, squared: |L|^2 = r[i1][j]^2 + r[i2][j]^2.
            if (tol > 0.0 && gap * gap <= tol2 * (r[i1][j] * r[i1][j] + r[i2][j] * r[i2][j])) {
                return false;
            }
        }
    }
    return true;
}

PenetrationResult sat_penetration(const Convex& a, const Convex& b) noexcept {
    const BoxPair p = make_pair(a, b);
    PenetrationResult res;
    double best = INFINITY;
    double best_axis[3] = {0, 0, 0};
    double best_sign = 1.0;
    bool separated = false;
    for_each_axis(p, 0.0, [&](double dist, double rsum, double len, const double* axis) {
        // Parallel edges give a zero axis (dist = rsum = 0): it proves nothing, skip it first.
        if (len < kMinAxis) return true;
        if (dist >= rsum) {
            separated = true;
            return false;
        }
        const double depth = (rsum - dist) / len;
        if (depth < best) {
            best = depth;
            const double proj = p.t[0] * axis[0] + p.t[1] * axis[1] + p.t[2] * axis[2];
            best_sign = proj < 0.0 ? -1.0 : 1.0;
            for (int k = 0; k < 3; ++k) best_axis[k] = axis[k] / len;
        }
        return true;
    });
    if (separated || !(best < INFINITY)) return res;  // depth 0, zero normal
    res.depth = best;
    // a-frame axis -> world: n = A * axis, oriented from a towards b.
    Vec3 n{};
    n.x = p.ma.m[0][0] * best_axis[0] + p.ma.m[0][1] * best_axis[1] + p.ma.m[0][2] * best_axis[2];
    n.y = p.ma.m[1][0] * best_axis[0] + p.ma.m[1][1] * best_axis[1] + p.ma.m[1][2] * best_axis[2];
    n.z = p.ma.m[2][0] * best_axis[0] + p.ma.m[2][1] * best_axis[1] + p.ma.m[2][2] * best_axis[2];
    const double len = length(n);
    res.normal = (best_sign / len) * n;
    return res;
}

}  // namespace detail

bool sat_obb_overlap(const Obb& a, const Obb& b, double tol) noexcept {
    return detail::sat_overlap(make_convex(a), make_convex(b), tol);
}

PenetrationResult sat_obb_penetration(const Obb& a, const Obb& b) noexcept {
    return detail::sat_penetration(make_convex(a), make_convex(b));
}

}  // namespace fbsim
