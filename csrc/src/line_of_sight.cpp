// SPDX-License-Identifier: MIT
// fbsim: line of sight between cell centres and greedy any-angle path smoothing.
// Grid traversal after J. Amanatides & A. Woo, "A Fast Voxel Traversal Algorithm for Ray
// Tracing", Eurographics 1987, made exact and conservative: cell centres sit on integer
// coordinates, so every boundary crossing happens at t = (2k + 1) / (2 |d_axis|) and the
// crossings of two axes are compared by integer cross-multiplication. When several axes cross
// at the same t (the segment passes through an edge or corner), every cell sharing that
// edge/corner is tested, which is what "the segment touches only free cells" means and
// matches the no-corner-cutting move rule (a diagonal step between two cells is visible iff
// its 2x2 / 2x2x2 block is free). Smoothing is the greedy string pulling of post-processed
// A* (Botea, Mueller & Schaeffer, "Near Optimal Hierarchical Path-Finding", 2004).
#include <cmath>
#include <cstdlib>

#include "detail/grid_search.hpp"
#include "fbsim/pathfinding.hpp"

namespace fbsim {

bool line_of_sight(const GridView& grid, std::int64_t a, std::int64_t b) noexcept {
    if (!grid.free(a) || !grid.free(b)) return false;
    const detail::Coord pa = detail::coord_of(grid, a), pb = detail::coord_of(grid, b);
    const std::int64_t d[3] = {pb.z - pa.z, pb.r - pa.r, pb.c - pa.c};
    std::int64_t cur[3] = {pa.z, pa.r, pa.c};
    std::int64_t step[3], ad[3], k[3] = {0, 0, 0};
    for (int i = 0; i < 3; ++i) {
        step[i] = d[i] > 0 ? 1 : (d[i] < 0 ? -1 : 0);
        ad[i] = d[i] < 0 ? -d[i] : d[i];
    }
    const std::int64_t stride[3] = {grid.rows * grid.cols, grid.cols, 1};
    const auto flat = [&](const std::int64_t* p) {
        return p[0] * stride[0] + p[1] * stride[1] + p[2] * stride[2];
    };
    // The next crossing on axis i is at t_i = (2 k_i + 1) / (2 ad_i); compare
    // t_i < t_j as (2 k_i + 1) * ad_j < (2 k_j + 1) * ad_i. Bounded: each iteration advances at
    // least one axis, and axis i advances exactly ad_i times.
    const std::int64_t total = ad[0] + ad[1] + ad[2];
    for (std::int64_t it = 0; it < total; ++it) {
        int best = -1;
        for (int i = 0; i < 3; ++i) {
            if (k[i] >= ad[i]) continue;
            if (best < 0 || (2 * k[i] + 1) * ad[best] < (2 * k[best] + 1) * ad[i]) best = i;
        }
        if (best < 0) break;
        bool tie[3] = {false, false, false};
        int ties = 0;
        for (int i = 0; i < 3; ++i) {
            if (k[i] < ad[i] && (2 * k[i] + 1) * ad[best] == (2 * k[best] + 1) * ad[i]) {
                tie[i] = true;
                ++ties;
            }
        }
        // Every cell reached by stepping a non-empty subset of the tied axes is touched.
        for (int mask = 1; mask < 8; ++mask) {
            bool ok = true;
            std::int64_t p[3] = {cur[0], cur[1], cur[2]};
            for (int i = 0; i < 3; ++i) {
                if (mask & (1 << i)) {
                    if (!tie[i]) ok = false;
                    p[i] += step[i];
                }
            }
            if (ok && !grid.free(flat(p))) return false;
        }
        for (int i = 0; i < 3; ++i)
            if (tie[i]) {
                cur[i] += step[i];
                ++k[i];
            }
        it += ties - 1;
    }
    return true;
}

double smooth_path(const GridView& grid, const std::int64_t* cells, std::size_t count,
                   std::vector<std::int64_t>* out) {
    out->clear();
    if (count == 0) return 0.0;
    out->push_back(cells[0]);
    double length = 0.0;
    std::size_t anchor = 0;
    const auto dist = [&](std::int64_t a, std::int64_t b) {
        const detail::Coord p = detail::coord_of(grid, a), q = detail::coord_of(grid, b);
        const double dz = static_cast<double>(p.z - q.z), dr = static_cast<double>(p.r - q.r),
                     dc = static_cast<double>(p.c - q.c);
        return std::sqrt(dz * dz + dr * dr + dc * dc);
    };
    // From the anchor, walk forward while the waypoints stay visible and keep the last visible
    // one. Consecutive path cells are mutually visible (legal moves), so each round advances;
    // O(count) line-of-sight tests in total per kept waypoint.
    while (anchor + 1 < count) {
        std::size_t next = anchor + 1;
        while (next + 1 < count && line_of_sight(grid, cells[anchor], cells[next + 1])) ++next;
        length += dist(cells[anchor], cells[next]);
        out->push_back(cells[next]);
        anchor = next;
    }
    return length;
}

}  // namespace fbsim
