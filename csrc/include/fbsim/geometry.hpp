// SPDX-License-Identifier: MIT
// fbsim: geometry types and the batch conversions between them.
//
// Conventions, once for the whole library: distances in studs, times in seconds, doubles
// everywhere. Quaternions are scalar-last (x, y, z, w), matching scipy's Rotation.as_quat().
// Matrices are row-major 3x3; a rotation matrix maps local to world: world = R * local.
// An AABB is (min_xyz, max_xyz), so a batch of them is an (n, 6) array.
//
// Batch functions take parallel row-major arrays (`const double*` + count) and write into
// caller-owned outputs: numpy owns the memory and nothing is copied. They assume input that
// passed the matching validate_* in validate.hpp, never allocate, and are safe to call from
// many threads at once on disjoint outputs.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace fbsim {

/// A point or direction in world space, studs.
struct Vec3 {
    double x = 0.0;  ///< studs
    double y = 0.0;  ///< studs (up)
    double z = 0.0;  ///< studs
};

/// A rotation as a quaternion, scalar-last. Kernels normalise, so any non-zero norm is accepted.
struct Quat {
    double x = 0.0;
    double y = 0.0;
    double z = 0.0;
    double w = 1.0;  ///< scalar part; (0, 0, 0, 1) is the identity
};

/// Row-major 3x3 matrix: m[row][col].
struct Mat3 {
    double m[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
};

/// Axis-aligned box. Boxes that merely touch (min == max on an axis) overlap.
struct Aabb {
    Vec3 min;  ///< smallest corner, studs
    Vec3 max;  ///< largest corner, studs; max >= min on every axis
};

/// Oriented box: `rotation` maps the box's local axes to the world.
struct Obb {
    Vec3 center;        ///< World position of the box centre, studs.
    Quat rotation;      ///< Local-to-world rotation, scalar-last, any non-zero norm.
    Vec3 half_extents;  ///< Half side lengths along the local axes, studs, each >= 0.
};

/// Ball.
struct Sphere {
    Vec3 center;          ///< studs
    double radius = 0.0;  ///< studs, >= 0
};

/// Segment p0-p1 swept by a ball: the shape of a player.
struct Capsule {
    Vec3 p0;              ///< first end of the core segment, studs
    Vec3 p1;              ///< second end of the core segment, studs (may equal p0: a sphere)
    double radius = 0.0;  ///< studs, >= 0
};

/// Convex hull of a point set, as a view: `points` holds `count` rows of (x, y, z).
/// The hull does not own its points; they must outlive it. The points need not all be
/// vertices of the hull (interior points are harmless to every algorithm here).
struct ConvexHull {
    const double* points = nullptr;  ///< count x 3, row-major, studs
    std::size_t count = 0;           ///< >= 1
};

// ---- small vector algebra (inline, so kernels in other files optimise fully) ----------------

inline Vec3 operator+(Vec3 a, Vec3 b) noexcept { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) noexcept { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator-(Vec3 a) noexcept { return {-a.x, -a.y, -a.z}; }
inline Vec3 operator*(double s, Vec3 a) noexcept { return {s * a.x, s * a.y, s * a.z}; }
inline double dot(Vec3 a, Vec3 b) noexcept { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 cross(Vec3 a, Vec3 b) noexcept {
    return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double length(Vec3 a) noexcept { return std::sqrt(dot(a, a)); }

/// Reads row `i` of an (n, 3) row-major array. Loading (not casting the pointer to Vec3*)
/// avoids strict-aliasing questions and costs nothing once optimised.
inline Vec3 load_vec3(const double* rows, std::size_t i) noexcept {
    const double* p = rows + 3 * i;
    return {p[0], p[1], p[2]};
}
/// Writes `v` to row `i` of an (n, 3) row-major array.
inline void store_vec3(double* rows, std::size_t i, Vec3 v) noexcept {
    double* p = rows + 3 * i;
    p[0] = v.x;
    p[1] = v.y;
    p[2] = v.z;
}
/// Reads row `i` of an (n, 4) array of quaternions (x, y, z, w).
inline Quat load_quat(const double* rows, std::size_t i) noexcept {
    const double* p = rows + 4 * i;
    return {p[0], p[1], p[2], p[3]};
}

// ---- single-item conversions ----------------------------------------------------------------

/// `q` scaled to unit norm. Precondition: norm >= kMinQuaternionNorm (validate_quats).
Quat normalized(Quat q) noexcept;

/// Rotation matrix of `q` (normalised first). Row-major, world = R * local.
Mat3 quat_to_matrix(Quat q) noexcept;

/// Unit quaternion of a rotation matrix, canonical sign (w >= 0; when w == 0 the first
/// non-zero of z, y, x is positive). Shepperd's method: pick the largest of w, x, y, z
/// to divide by, so accuracy holds near 180-degree rotations.
/// Precondition: `r` passes validate_rotation_matrices.
Quat matrix_to_quat(const Mat3& r) noexcept;

/// `v` rotated by `q` (normalised first).
Vec3 rotate(Quat q, Vec3 v) noexcept;

/// Tight world AABB of an oriented box: centre +- |R| * half_extents.
Aabb obb_to_aabb(const Obb& box) noexcept;

/// Tight AABB of a sphere.
Aabb sphere_to_aabb(const Sphere& sphere) noexcept;

/// Tight AABB of a capsule: the AABB of both end spheres.
Aabb capsule_to_aabb(const Capsule& capsule) noexcept;

/// Tight AABB of a hull's points. Precondition: hull.count >= 1.
Aabb hull_to_aabb(const ConvexHull& hull) noexcept;

// ---- batch conversions over row-major arrays ------------------------------------------------

/// quats (count x 4) -> matrices (count x 9, row-major 3x3 each). Normalises each quaternion.
/// Preconditions: validate_quats ok.
void quat_to_matrix_batch(const double* quats, std::size_t count, double* out_matrices) noexcept;

/// matrices (count x 9) -> canonical unit quaternions (count x 4).
/// Preconditions: validate_rotation_matrices ok.
void matrix_to_quat_batch(const double* matrices, std::size_t count, double* out_quats) noexcept;

/// Tight AABBs (count x 6) of oriented boxes given as parallel arrays.
/// Preconditions: validate_obb_arrays ok.
void obb_to_aabb_batch(const double* centers, const double* quats, const double* half_extents,
                       std::size_t count, double* out_aabbs) noexcept;

/// out[i] = rotate(quat, points[i]) + translation: one rigid transform applied to every point.
/// `translation` has 3 values, `quat` 4. `out_points` may alias `points` exactly.
void transform_points_batch(const double* points, std::size_t count, const double* translation,
                            const double* quat, double* out_points) noexcept;

/// out[i] = rotate(quats[i], points[i]) + translations[i]: one transform per point.
/// `out_points` may alias `points` exactly.
void transform_points_paired_batch(const double* points, std::size_t count,
                                   const double* translations, const double* quats,
                                   double* out_points) noexcept;

/// AABBs (count x 6) of spheres: centers (count x 3), radii (count).
void sphere_to_aabb_batch(const double* centers, const double* radii, std::size_t count,
                          double* out_aabbs) noexcept;

/// AABBs (count x 6) of capsules: p0, p1 (count x 3), radii (count).
void capsule_to_aabb_batch(const double* p0, const double* p1, const double* radii,
                           std::size_t count, double* out_aabbs) noexcept;

/// AABBs (hull_count x 6) of hulls stored CSR-style: hull h owns the point rows
/// offsets[h] .. offsets[h+1]-1 of `points`. Preconditions: offsets non-decreasing, every hull
/// non-empty, offsets[hull_count] rows in `points`.
void hull_to_aabb_batch(const double* points, const std::int64_t* offsets, std::size_t hull_count,
                        double* out_aabbs) noexcept;

}  // namespace fbsim
