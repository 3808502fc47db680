// SPDX-License-Identifier: MIT
// Which entities stand farther than a margin outside their server's region box: the
// hysteresis test of fbsim.shard.Sharding after a boundary shift. The point-to-box distance
// is the clamp formulation (Ericson, "Real-Time Collision Detection", 5.1.3.1); squared
// distances are compared so no square root is taken.
#include <cstdint>

#include "fbsim/shard.hpp"

namespace fbsim {

std::size_t entities_outside_regions(const double* positions, const std::int64_t* servers,
                                     std::size_t count, const double* regions, double margin,
                                     std::int64_t* out_rows) noexcept {
    const double m2 = margin * margin;
    std::size_t n = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const double* box = regions + servers[i] * 6;
        const double* p = positions + i * 3;
        double d2 = 0.0;
        for (int a = 0; a < 3; ++a) {
            // at most one of the two is positive because lo <= hi
            const double below = box[a] - p[a];
            const double above = p[a] - box[3 + a];
            const double d = below > 0.0 ? below : (above > 0.0 ? above : 0.0);
            d2 += d * d;
        }
        if (d2 > m2) out_rows[n++] = static_cast<std::int64_t>(i);
    }
    return n;
}

}  // namespace fbsim
