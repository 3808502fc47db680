// SPDX-License-Identifier: MIT
// fbsim: the batch forms of the narrow-phase queries (pairs, and one-vs-many broadcasting),
// and the validation of shape batches that come from outside.
#include <cmath>
#include <cstdint>

#include "detail/gjk_internal.hpp"
#include "fbsim/narrowphase.hpp"
#include "fbsim/validate.hpp"

namespace fbsim {

namespace {

// Row of a broadcast batch: a batch of one serves every pair.
inline std::size_t row(std::size_t count, std::size_t i) noexcept { return count == 1 ? 0 : i; }

}  // namespace

std::size_t pair_count(std::size_t count_a, std::size_t count_b) noexcept {
    if (count_a == 0) return count_b <= 1 ? 0 : SIZE_MAX;
    if (count_b == 0) return count_a <= 1 ? 0 : SIZE_MAX;
    if (count_a == count_b || count_b == 1) return count_a;
    if (count_a == 1) return count_b;
    return SIZE_MAX;
}

void overlap_batch(const ShapeBatch& a, const ShapeBatch& b, double tol,
                   const GjkSettings& settings, std::uint8_t* out_overlap) noexcept {
    const std::size_t n = pair_count(a.count, b.count);
    if (n == SIZE_MAX) return;
    if (a.kind == ShapeKind::kBox && b.kind == ShapeKind::kBox) {
        // Placement hot path: SAT straight from the arrays; a broadcast box's matrix once.
        const Mat3 ma0 = n > 0 ? quat_to_matrix(load_quat(a.quats, 0)) : Mat3{};
        const Mat3 mb0 = n > 0 ? quat_to_matrix(load_quat(b.quats, 0)) : Mat3{};
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t ia = row(a.count, i), ib = row(b.count, i);
            const Mat3 ma = a.count == 1 ? ma0 : quat_to_matrix(load_quat(a.quats, ia));
            const Mat3 mb = b.count == 1 ? mb0 : quat_to_matrix(load_quat(b.quats, ib));
            out_overlap[i] = detail::sat_overlap_raw(ma, load_vec3(a.centers, ia),
                                                     load_vec3(a.half_extents, ia), mb,
                                                     load_vec3(b.centers, ib),
                                                     load_vec3(b.half_extents, ib), tol)
                                 ? 1
                                 : 0;
        }
        return;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const Convex ca = convex_at(a, row(a.count, i));
        const Convex cb = convex_at(b, row(b.count, i));
        out_overlap[i] = convex_overlap(ca, cb, tol, settings) ? 1 : 0;
    }
}

void distance_batch(const ShapeBatch& a, const ShapeBatch& b, const GjkSettings& settings,
                    double* out_distance, double* out_point_a, double* out_point_b) noexcept {
    const std::size_t n = pair_count(a.count, b.count);
    if (n == SIZE_MAX) return;
    for (std::size_t i = 0; i < n; ++i) {
        const DistanceResult r =
            gjk_distance(convex_at(a, row(a.count, i)), convex_at(b, row(b.count, i)), settings);
        out_distance[i] = r.distance;
        store_vec3(out_point_a, i, r.point_a);
        store_vec3(out_point_b, i, r.point_b);
    }
}

void penetration_batch(const ShapeBatch& a, const ShapeBatch& b, const GjkSettings& settings,
                       double* out_depth, double* out_normal) noexcept {
    const std::size_t n = pair_count(a.count, b.count);
    if (n == SIZE_MAX) return;
    for (std::size_t i = 0; i < n; ++i) {
        const PenetrationResult r = epa_penetration(convex_at(a, row(a.count, i)),
                                                    convex_at(b, row(b.count, i)), settings);
        out_depth[i] = r.depth;
        store_vec3(out_normal, i, r.normal);
    }
}

void raycast_batch(const ShapeBatch& shapes, const double* origins, const double* dirs,
                   const double* max_t, std::size_t count, const GjkSettings& settings,
                   double* out_t, double* out_normal) noexcept {
    if (pair_count(shapes.count, count) != count) return;
    for (std::size_t i = 0; i < count; ++i) {
        const CastResult r = raycast(convex_at(shapes, row(shapes.count, i)),
                                     load_vec3(origins, i), load_vec3(dirs, i), max_t[i], settings);
        out_t[i] = r.t;
        store_vec3(out_normal, i, r.t < INFINITY ? r.normal : Vec3{});
    }
}

void shapecast_batch(const ShapeBatch& moving, const double* displacement,
                     std::size_t displacement_count, const ShapeBatch& targets,
                     const GjkSettings& settings, double* out_toi, double* out_normal) noexcept {
    const std::size_t n = pair_count(pair_count(moving.count, targets.count), displacement_count);
    if (n == SIZE_MAX || pair_count(moving.count, targets.count) == SIZE_MAX) return;
    for (std::size_t i = 0; i < n; ++i) {
        const CastResult r = shapecast(convex_at(moving, row(moving.count, i)),
                                       load_vec3(displacement, row(displacement_count, i)),
                                       convex_at(targets, row(targets.count, i)), settings);
        out_toi[i] = r.t;
        store_vec3(out_normal, i, r.t < INFINITY ? r.normal : Vec3{});
    }
}

Status validate_shape_batch(const ShapeBatch& s, const char** out_failed_field) noexcept {
    const char* dummy = nullptr;
    const char** field = out_failed_field ? out_failed_field : &dummy;
    *field = nullptr;
    const std::size_t n = s.count;
    auto coords = [&](const double* p, std::size_t rows, const char* name) {
        Status st = first_invalid(p, rows, 3, kMaxCoordinate);
        if (!st.ok()) *field = name;
        return st;
    };
    auto sizes = [&](const double* p, std::size_t cols, const char* name) {
        Status st = first_invalid(p, n, cols, kMaxCoordinate);
        if (st.ok()) st = first_negative(p, n, cols);
        if (!st.ok()) *field = name;
        return st;
    };
    Status st;
    switch (s.kind) {
        case ShapeKind::kBox:
            if (!(st = coords(s.centers, n, "centers")).ok()) return st;
            if (!(st = validate_quats(s.quats, n)).ok()) {
                *field = "quats";
                return st;
            }
            return sizes(s.half_extents, 3, "half_extents");
        case ShapeKind::kSphere:
            if (!(st = coords(s.centers, n, "centers")).ok()) return st;
            return sizes(s.radii, 1, "radii");
        case ShapeKind::kCapsule:
            if (!(st = coords(s.p0, n, "p0")).ok()) return st;
            if (!(st = coords(s.p1, n, "p1")).ok()) return st;
            return sizes(s.radii, 1, "radii");
        case ShapeKind::kHull: {
            // Offsets first: they say how many point rows there are.
            if (s.offsets[0] != 0) {
                *field = "offsets";
                return Status{ErrorCode::kOutOfRange, 0, 0, static_cast<double>(s.offsets[0])};
            }
            for (std::size_t h = 0; h < n; ++h) {
                if (s.offsets[h + 1] <= s.offsets[h]) {
                    *field = "offsets";
                    return Status{ErrorCode::kEmpty, h + 1, 0, static_cast<double>(s.offsets[h + 1])};
                }
            }
            return coords(s.points, static_cast<std::size_t>(s.offsets[n]), "points");
        }
    }
    return st;
}

}  // namespace fbsim
