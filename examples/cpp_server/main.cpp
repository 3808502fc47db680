// SPDX-License-Identifier: MIT
// Example C++ server tick: validate client-sent boxes, then compute their AABBs with fbsim.
// Exits non-zero if anything is off, so CI can run it as a check.
#include <cmath>
#include <cstdio>
#include <vector>

#include "fbsim/fbsim.hpp"

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
    // A NaN from a hostile client is rejected, not simulated.
    centers[4] = std::nan("");
    if (fbsim::validate_obb_arrays(centers.data(), quats.data(), half_extents.data(), n, nullptr).ok()) {
        std::fprintf(stderr, "NaN was accepted\n");
        return 1;
    }
    std::printf("fbsim %d linked and working\n", fbsim::version());
    return 0;
}
