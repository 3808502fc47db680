// SPDX-License-Identifier: MIT
// fbsim: quaternion/matrix conversions, rigid transforms and bounding boxes.
// Quaternion to matrix and back follow Shoemake (1985) and Shepperd (1978): the inverse picks
// the largest of 4w^2, 4x^2, 4y^2, 4z^2 as divisor so it stays accurate near 180 degrees.
#include "fbsim/geometry.hpp"

#include <algorithm>
#include <cmath>

namespace fbsim {

Quat normalized(Quat q) noexcept {
    // Divide by the largest component first: keeps the squared norm finite for components up
    // to kMaxQuaternionComponent and accurate for tiny ones.
    const double big = std::max({std::fabs(q.x), std::fabs(q.y), std::fabs(q.z), std::fabs(q.w)});
    q = {q.x / big, q.y / big, q.z / big, q.w / big};
    const double inv = 1.0 / std::sqrt(q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
    return {q.x * inv, q.y * inv, q.z * inv, q.w * inv};
}

Mat3 quat_to_matrix(Quat q) noexcept {
    // For a non-unit q the rotation is I + 2/|q|^2 * (...): scaling by s = 2/|q|^2 replaces the
    // normalisation (no square root). Validated components (<= 1e150, norm >= 1e-9) keep |q|^2
    // finite and non-zero.
    const double s = 2.0 / (q.x * q.x + q.y * q.y + q.z * q.z + q.w * q.w);
    const double xx = q.x * q.x, yy = q.y * q.y, zz = q.z * q.z;
    const double xy = q.x * q.y, xz = q.x * q.z, yz = q.y * q.z;
    const double wx = q.w * q.x, wy = q.w * q.y, wz = q.w * q.z;
    Mat3 r;
    r.m[0][0] = 1.0 - s * (yy + zz);
    r.m[0][1] = s * (xy - wz);
    r.m[0][2] = s * (xz + wy);
    r.m[1][0] = s * (xy + wz);
    r.m[1][1] = 1.0 - s * (xx + zz);
    r.m[1][2] = s * (yz - wx);
    r.m[2][0] = s * (xz - wy);
    r.m[2][1] = s * (yz + wx);
    r.m[2][2] = 1.0 - s * (xx + yy);
    return r;
}

Quat matrix_to_quat(const Mat3& r) noexcept {
    const auto& m = r.m;
    const double trace = m[0][0] + m[1][1] + m[2][2];
    Quat q;
    // Shepperd: the largest of these four is >= 1/4 of their sum (1), so no division is unstable.
    const double t_w = 1.0 + trace;
    const double t_x = 1.0 + m[0][0] - m[1][1] - m[2][2];
    const double t_y = 1.0 - m[0][0] + m[1][1] - m[2][2];
    const double t_z = 1.0 - m[0][0] - m[1][1] + m[2][2];
    if (t_w >= t_x && t_w >= t_y && t_w >= t_z) {
        const double s = 0.5 / std::sqrt(t_w);
        q = {(m[2][1] - m[1][2]) * s, (m[0][2] - m[2][0]) * s, (m[1][0] - m[0][1]) * s, 0.25 / s};
    } else if (t_x >= t_y && t_x >= t_z) {
        const double s = 0.5 / std::sqrt(t_x);
        q = {0.25 / s, (m[0][1] + m[1][0]) * s, (m[0][2] + m[2][0]) * s, (m[2][1] - m[1][2]) * s};
    } else if (t_y >= t_z) {
        const double s = 0.5 / std::sqrt(t_y);
        q = {(m[0][1] + m[1][0]) * s, 0.25 / s, (m[1][2] + m[2][1]) * s, (m[0][2] - m[2][0]) * s};
    } else {
        const double s = 0.5 / std::sqrt(t_z);
        q = {(m[0][2] + m[2][0]) * s, (m[1][2] + m[2][1]) * s, 0.25 / s, (m[1][0] - m[0][1]) * s};
    }
    q = normalized(q);  // the input is only orthonormal to a tolerance
    // Canonical sign: q and -q are the same rotation; pick w > 0, then z, y, x for w == 0.
    const double lead = q.w != 0.0 ? q.w : q.z != 0.0 ? q.z : q.y != 0.0 ? q.y : q.x;
    if (lead < 0.0) q = {-q.x, -q.y, -q.z, -q.w};
    return q;
}

Vec3 rotate(Quat q, Vec3 v) noexcept {
    q = normalized(q);
    // v' = v + 2w (u x v) + 2 u x (u x v), u the vector part: 15 multiplies, no matrix.
    const Vec3 u{q.x, q.y, q.z};
    const Vec3 t = 2.0 * cross(u, v);
    return v + q.w * t + cross(u, t);
}

Aabb obb_to_aabb(const Obb& box) noexcept {
    const Mat3 r = quat_to_matrix(box.rotation);
    const double h[3] = {box.half_extents.x, box.half_extents.y, box.half_extents.z};
    double e[3];
    // Extent along world axis i is sum_j |R_ij| h_j (Ericson, Real-Time Collision Detection 4.2.6).
    for (int i = 0; i < 3; ++i) {
        e[i] = std::fabs(r.m[i][0]) * h[0] + std::fabs(r.m[i][1]) * h[1] + std::fabs(r.m[i][2]) * h[2];
    }
    const Vec3 c = box.center;
    return {{c.x - e[0], c.y - e[1], c.z - e[2]}, {c.x + e[0], c.y + e[1], c.z + e[2]}};
}

Aabb sphere_to_aabb(const Sphere& s) noexcept {
    const Vec3 r{s.radius, s.radius, s.radius};
    return {s.center - r, s.center + r};
}

Aabb capsule_to_aabb(const Capsule& c) noexcept {
    const Vec3 r{c.radius, c.radius, c.radius};
    const Vec3 lo{std::min(c.p0.x, c.p1.x), std::min(c.p0.y, c.p1.y), std::min(c.p0.z, c.p1.z)};
    const Vec3 hi{std::max(c.p0.x, c.p1.x), std::max(c.p0.y, c.p1.y), std::max(c.p0.z, c.p1.z)};
    return {lo - r, hi + r};
}

Aabb hull_to_aabb(const ConvexHull& hull) noexcept {
    Vec3 lo = load_vec3(hull.points, 0);
    Vec3 hi = lo;
    for (std::size_t i = 1; i < hull.count; ++i) {
        const Vec3 p = load_vec3(hull.points, i);
        lo = {std::min(lo.x, p.x), std::min(lo.y, p.y), std::min(lo.z, p.z)};
        hi = {std::max(hi.x, p.x), std::max(hi.y, p.y), std::max(hi.z, p.z)};
    }
    return {lo, hi};
}

namespace {

void store_aabb(double* out, std::size_t i, const Aabb& b) noexcept {
    double* p = out + 6 * i;
    p[0] = b.min.x;
    p[1] = b.min.y;
    p[2] = b.min.z;
    p[3] = b.max.x;
    p[4] = b.max.y;
    p[5] = b.max.z;
}

}  // namespace

void quat_to_matrix_batch(const double* quats, std::size_t count, double* out_matrices) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const Mat3 r = quat_to_matrix(load_quat(quats, i));
        double* o = out_matrices + 9 * i;
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) o[3 * a + b] = r.m[a][b];
    }
}

void matrix_to_quat_batch(const double* matrices, std::size_t count, double* out_quats) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        Mat3 r;
        const double* m = matrices + 9 * i;
        for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) r.m[a][b] = m[3 * a + b];
        const Quat q = matrix_to_quat(r);
        double* o = out_quats + 4 * i;
        o[0] = q.x;
        o[1] = q.y;
        o[2] = q.z;
        o[3] = q.w;
    }
}

void obb_to_aabb_batch(const double* centers, const double* quats, const double* half_extents,
                       std::size_t count, double* out_aabbs) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const Obb box{load_vec3(centers, i), load_quat(quats, i), load_vec3(half_extents, i)};
        store_aabb(out_aabbs, i, obb_to_aabb(box));
    }
}

void transform_points_batch(const double* points, std::size_t count, const double* translation,
                            const double* quat, double* out_points) noexcept {
    // One matrix for all points: 9 multiplies per point instead of the quaternion's 15.
    const Mat3 r = quat_to_matrix(load_quat(quat, 0));
    const Vec3 t = load_vec3(translation, 0);
    for (std::size_t i = 0; i < count; ++i) {
        const Vec3 p = load_vec3(points, i);
        const Vec3 q{r.m[0][0] * p.x + r.m[0][1] * p.y + r.m[0][2] * p.z,
                     r.m[1][0] * p.x + r.m[1][1] * p.y + r.m[1][2] * p.z,
                     r.m[2][0] * p.x + r.m[2][1] * p.y + r.m[2][2] * p.z};
        store_vec3(out_points, i, q + t);
    }
}

void transform_points_paired_batch(const double* points, std::size_t count,
                                   const double* translations, const double* quats,
                                   double* out_points) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const Vec3 p = rotate(load_quat(quats, i), load_vec3(points, i));
        store_vec3(out_points, i, p + load_vec3(translations, i));
    }
}

void sphere_to_aabb_batch(const double* centers, const double* radii, std::size_t count,
                          double* out_aabbs) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        store_aabb(out_aabbs, i, sphere_to_aabb({load_vec3(centers, i), radii[i]}));
    }
}

void capsule_to_aabb_batch(const double* p0, const double* p1, const double* radii,
                           std::size_t count, double* out_aabbs) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        store_aabb(out_aabbs, i, capsule_to_aabb({load_vec3(p0, i), load_vec3(p1, i), radii[i]}));
    }
}

void hull_to_aabb_batch(const double* points, const std::int64_t* offsets, std::size_t hull_count,
                        double* out_aabbs) noexcept {
    for (std::size_t h = 0; h < hull_count; ++h) {
        const auto begin = static_cast<std::size_t>(offsets[h]);
        const auto end = static_cast<std::size_t>(offsets[h + 1]);
        store_aabb(out_aabbs, h, hull_to_aabb({points + 3 * begin, end - begin}));
    }
}

}  // namespace fbsim
