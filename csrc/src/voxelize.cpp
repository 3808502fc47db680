// SPDX-License-Identifier: MIT
// fbsim: box voxelization and walkable maps.
// Each box is tested against the cells of its AABB with the separating axis theorem for an
// oriented box against an axis-aligned one (Gottschalk, Lin & Manocha 1996; Ericson, Real-Time
// Collision Detection, sec. 4.4.1). Unlike Ericson we normalise the nine edge-edge axes and
// skip the degenerate ones (parallel edges), so the touching tolerance is an absolute
// distance in studs on every axis; near-parallel axes then cannot report a false separation.
// Counting overlaps per cell (instead of a bit) makes removal exact: removing a box
// decrements the same cells that adding it incremented, whatever other boxes overlap them.
#include "fbsim/voxelize.hpp"

#include <algorithm>
#include <cmath>

#include "fbsim/geometry.hpp"
#include "fbsim/validate.hpp"

namespace fbsim {

namespace {

/// Overlap must exceed this (studs) along every axis: boxes flush with a cell face (the usual
/// grid-aligned build) do not block the neighbouring cell because of rounding.
constexpr double kTouchTolerance = 1e-9;

double dot3(const double* a, const double* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

}  // namespace

Status validate_voxel_spec(const VoxelSpec& spec) noexcept {
    Status s = first_invalid(spec.origin, 1, 3, kMaxCoordinate);
    if (!s.ok()) return s;
    if (!(spec.cell_size > 0.0) || !(spec.cell_size <= kMaxCoordinate)) {
        s.code = std::isfinite(spec.cell_size) ? ErrorCode::kOutOfRange : ErrorCode::kNotFinite;
        s.index = 1;
        s.value = spec.cell_size;
        return s;
    }
    const std::int64_t d[3] = {spec.layers, spec.rows, spec.cols};
    double cells = 1.0;
    for (int k = 0; k < 3; ++k) {
        cells *= static_cast<double>(d[k]);
        if (d[k] < 0 || cells > static_cast<double>(kMaxVoxelCells)) {
            s.code = d[k] < 0 ? ErrorCode::kNegative : ErrorCode::kOutOfRange;
            s.index = 2;
            s.component = static_cast<std::uint8_t>(k);
            s.value = static_cast<double>(d[k]);
            return s;
        }
    }
    return {};
}

bool obb_overlaps_aabb(const double* center, const double* rotation, const double* half_extents,
                       const double* lo, const double* hi) noexcept {
    double t[3], h[3], axis[3][3];
    for (int i = 0; i < 3; ++i) {
        t[i] = center[i] - 0.5 * (lo[i] + hi[i]);
        h[i] = 0.5 * (hi[i] - lo[i]);
        for (int j = 0; j < 3; ++j) axis[j][i] = rotation[i * 3 + j];  // column j = local axis j
    }
    // Radius of the AABB and of the OBB projected on unit axis L; separated when the centre
    // distance leaves less than kTouchTolerance of overlap.
    const auto separated = [&](const double* l) {
        const double ra = h[0] * std::fabs(l[0]) + h[1] * std::fabs(l[1]) + h[2] * std::fabs(l[2]);
        double rb = 0.0;
        for (int j = 0; j < 3; ++j) rb += half_extents[j] * std::fabs(dot3(axis[j], l));
        return std::fabs(dot3(t, l)) >= ra + rb - kTouchTolerance;
    };
    const double world[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    for (int i = 0; i < 3; ++i)
        if (separated(world[i])) return false;
    for (int j = 0; j < 3; ++j)
        if (separated(axis[j])) return false;
    for (int i = 0; i < 3; ++i) {
        for (int j = 0; j < 3; ++j) {
            const double* e = world[i];
            const double* a = axis[j];
            double l[3] = {e[1] * a[2] - e[2] * a[1], e[2] * a[0] - e[0] * a[2],
                           e[0] * a[1] - e[1] * a[0]};
            const double n = std::sqrt(dot3(l, l));
            if (n < 1e-9) continue;  // parallel edges: the face axes already cover this case
            for (double& v : l) v /= n;
            if (separated(l)) return false;
        }
    }
    return true;
}

void voxel_add_boxes(const VoxelSpec& spec, const double* centers, const double* quats,
                     const double* half_extents, std::size_t count, std::int32_t delta,
                     std::int32_t* counts, std::int64_t* out_range) noexcept {
    // World axis per grid axis: layer = y (1), row = z (2), col = x (0).
    const int world_axis[3] = {1, 2, 0};
    const std::int64_t dims[3] = {spec.layers, spec.rows, spec.cols};
    std::int64_t range_lo[3] = {dims[0], dims[1], dims[2]}, range_hi[3] = {0, 0, 0};
    const double s = spec.cell_size;
    for (std::size_t b = 0; b < count; ++b) {
        const double* c = centers + 3 * b;
        const double* he = half_extents + 3 * b;
        const Mat3 m = quat_to_matrix(Quat{quats[4 * b], quats[4 * b + 1], quats[4 * b + 2],
                                           quats[4 * b + 3]});
        double rot[9];
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) rot[i * 3 + j] = m.m[i][j];
        // Cell range of the box's world AABB, clamped to the grid.
        std::int64_t lo[3], hi[3];
        bool empty = false;
        for (int g = 0; g < 3; ++g) {
            const int w = world_axis[g];
            const double ext = std::fabs(rot[w * 3]) * he[0] + std::fabs(rot[w * 3 + 1]) * he[1] +
                               std::fabs(rot[w * 3 + 2]) * he[2];
            const double a = (c[w] - ext - spec.origin[w]) / s, z = (c[w] + ext - spec.origin[w]) / s;
            lo[g] = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::floor(a)));
            hi[g] = std::min<std::int64_t>(dims[g], static_cast<std::int64_t>(std::floor(z)) + 1);
            if (lo[g] >= hi[g]) empty = true;
        }
        if (empty) continue;
        for (std::int64_t i = lo[0]; i < hi[0]; ++i)
            for (std::int64_t j = lo[1]; j < hi[1]; ++j)
                for (std::int64_t k = lo[2]; k < hi[2]; ++k) {
                    const double cell_lo[3] = {spec.origin[0] + static_cast<double>(k) * s,
                                               spec.origin[1] + static_cast<double>(i) * s,
                                               spec.origin[2] + static_cast<double>(j) * s};
                    const double cell_hi[3] = {cell_lo[0] + s, cell_lo[1] + s, cell_lo[2] + s};
                    if (!obb_overlaps_aabb(c, rot, he, cell_lo, cell_hi)) continue;
                    counts[(i * dims[1] + j) * dims[2] + k] += delta;
                    const std::int64_t idx[3] = {i, j, k};
                    for (int g = 0; g < 3; ++g) {
                        range_lo[g] = std::min(range_lo[g], idx[g]);
                        range_hi[g] = std::max(range_hi[g], idx[g] + 1);
                    }
                }
    }
    if (out_range) {
        for (int g = 0; g < 3; ++g) {
            out_range[g] = range_lo[g];
            out_range[3 + g] = range_hi[g];
        }
    }
}

AgentCells agent_cells(double cell_size, double radius, double height, double step) noexcept {
    AgentCells a;
    a.clearance = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(height / cell_size - 1e-9)));
    a.radius = std::max<std::int64_t>(
        0, static_cast<std::int64_t>(std::ceil(radius / cell_size + 0.5 - 1e-9)) - 1);
    a.step = static_cast<std::int64_t>(std::floor(step / cell_size + 1e-9));
    return a;
}

void walkable_voxels(const std::uint8_t* solid, std::int64_t layers, std::int64_t rows,
                     std::int64_t cols, const AgentCells& agent, bool floor,
                     const std::int64_t* lo, const std::int64_t* hi, std::uint8_t* out) noexcept {
    const auto at = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
        return (i * rows + j) * cols + k;
    };
    // Body fits with feet at (i, j, k): no solid cell in the column box above it. Cells
    // outside the grid horizontally or above it count as free.
    const auto fits = [&](std::int64_t i, std::int64_t j, std::int64_t k) {
        const std::int64_t top = std::min(layers, i + agent.clearance);
        for (std::int64_t a = i; a < top; ++a)
            for (std::int64_t b = std::max<std::int64_t>(0, j - agent.radius);
                 b <= std::min(rows - 1, j + agent.radius); ++b)
                for (std::int64_t c = std::max<std::int64_t>(0, k - agent.radius);
                     c <= std::min(cols - 1, k + agent.radius); ++c)
                    if (solid[at(a, b, c)]) return false;
        return true;
    };
    for (std::int64_t i = lo[0]; i < hi[0]; ++i)
        for (std::int64_t j = lo[1]; j < hi[1]; ++j)
            for (std::int64_t k = lo[2]; k < hi[2]; ++k) {
                std::uint8_t ok = 0;
                // Walk down at most `step` layers while the body fits; stop at support.
                for (std::int64_t t = 0; t <= agent.step && i - t >= 0; ++t) {
                    const std::int64_t f = i - t;
                    if (!fits(f, j, k)) break;
                    if ((f == 0 && floor) || (f > 0 && solid[at(f - 1, j, k)])) {
                        ok = 1;
                        break;
                    }
                }
                out[at(i, j, k)] = ok;
            }
}

}  // namespace fbsim
