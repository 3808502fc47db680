// SPDX-License-Identifier: MIT
// Example C++ server tick: validate client-sent boxes, then compute their AABBs with fbsim.
// Exits non-zero if anything is off, so CI can run it as a check.
#include <cmath>
#include <cstdio>
#include <vector>

#include "fbsim/broadphase.hpp"
#include "fbsim/fbsim.hpp"
#include "fbsim/narrowphase.hpp"

int main() {
    if (!fbsim::version_matches_headers()) {
        std::fprintf(stderr, "fbsim headers and library disagree: %d\n", fbsim::version());
        return 1;
    }
    // Three boxes as a client would send them: centers, quaternions (x, y, z, w), half extents.
    // The second is rotated 45 degrees about the vertical (y) axis.
    const double s = std::sqrt(0.5);
    std::vector<double> centers = {0, 0.5, 0, 10, 0.5, 0, 0, 1e5, 0};
    std::vector<double> quats = {0, 0, 0, 1, 0, std::sin(M_PI / 8), 0, std::cos(M_PI / 8), 0, 0, 0, 2};
    std::vector<double> half_extents = {0.5, 0.5, 0.5, 1, 0.5, 1, 2, 2, 2};
    const std::size_t n = 3;

    int failed_array = -1;
    const fbsim::Status status =
        fbsim::validate_obb_arrays(centers.data(), quats.data(), half_extents.data(), n, &failed_array);
    if (!status.ok()) {
        std::fprintf(stderr, "bad input in array %d row %zu: %s\n", failed_array, status.index,
                     fbsim::error_message(status.code));
        return 1;
    }
    std::vector<double> aabbs(6 * n);
    fbsim::obb_to_aabb_batch(centers.data(), quats.data(), half_extents.data(), n, aabbs.data());
    for (std::size_t i = 0; i < n; ++i) {
        const double* b = &aabbs[6 * i];
        std::printf("box %zu: min (%.4f, %.4f, %.4f) max (%.4f, %.4f, %.4f)\n", i, b[0], b[1], b[2],
                    b[3], b[4], b[5]);
    }
    // The rotated box (half extents 1, 0.5, 1) reaches cos45 + sin45 = sqrt(2) along x.
    const double expected = 10.0 + 2.0 * s;
    if (std::fabs(aabbs[6 + 3] - expected) > 1e-12) {
        std::fprintf(stderr, "unexpected extent %.17g (want %.17g)\n", aabbs[9], expected);
        return 1;
    }
    // May a new box go flush on top of box 0? Exact SAT, touching within 1e-3 is legal.
    const fbsim::Obb floor_box{{0, 0.5, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0.5}};
    const fbsim::Obb on_top{{0, 1.5, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0.5}};
    const fbsim::Obb sunk{{0, 1.4, 0}, {0, 0, 0, 1}, {0.5, 0.5, 0.5}};
    if (fbsim::sat_obb_overlap(floor_box, on_top, 1e-3) || !fbsim::sat_obb_overlap(floor_box, sunk, 1e-3)) {
        std::fprintf(stderr, "SAT disagrees with the analytic answer\n");
        return 1;
    }
    // The server's broad phase: which of the three boxes' AABBs overlap a query box?
    fbsim::DynamicTree tree(0.1);
    const std::int64_t ids[3] = {10, 11, 12};
    std::vector<double> lo(9), hi(9);
    for (std::size_t i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k) {
            lo[3 * i + k] = aabbs[6 * i + k];
            hi[3 * i + k] = aabbs[6 * i + 3 + k];
        }
    if (!tree.insert(ids, lo.data(), hi.data(), n).ok()) {
        std::fprintf(stderr, "broad-phase insert failed\n");
        return 1;
    }
    std::vector<std::int64_t> pairs;
    tree.pairs(pairs);
    std::printf("broad phase: %zu boxes, %zu overlapping pairs\n", tree.size(), pairs.size() / 2);
    if (!pairs.empty()) return 1;  // the three boxes are far apart
    // A NaN from a hostile client is rejected, not simulated.
    centers[4] = std::nan("");
    if (fbsim::validate_obb_arrays(centers.data(), quats.data(), half_extents.data(), n, nullptr).ok()) {
        std::fprintf(stderr, "NaN was accepted\n");
        return 1;
    }
    std::printf("fbsim %d linked and working\n", fbsim::version());
    return 0;
}
