// SPDX-License-Identifier: MIT
// fbsim (private): double bounds rounded OUTWARD to float and stored as order-preserving int32,
// so a float prefilter over them is conservative (never drops a real overlap) and compares as
// plain integers (SIMD-friendly; -0 and +0 equal).
#pragma once

#include <cstdint>
#include <cstring>

namespace fbsim::detail {

/// Largest float <= v (v finite, |v| < FLT_MAX, or +-inf). Steps one ulp by the bit pattern
/// rather than calling nextafterf: this runs once per box per write.
inline float float_down(double v) noexcept {
    float f = static_cast<float>(v);
    if (static_cast<double>(f) > v) {
        std::uint32_t u;
        std::memcpy(&u, &f, 4);
        if (f > 0.0f) --u;                 // positive: smaller magnitude
        else if (f < 0.0f) ++u;            // negative: larger magnitude
        else u = 0x80000001u;              // zero: the smallest negative subnormal
        std::memcpy(&f, &u, 4);
    }
    return f;
}
/// Smallest float >= v.
inline float float_up(double v) noexcept { return -float_down(-v); }

/// The float as a signed integer with the float's order: consecutive floats map to
/// consecutive integers, so "at least 2 floats apart" is `a + 2 <= b`, and -0 and +0, which
/// compare equal, map to the same integer 0 (a box ending at -0.0 touches one starting at 0).
inline std::int32_t float_order(float f) noexcept {
    std::int32_t s;
    std::memcpy(&s, &f, 4);
    return s < 0 ? -(s & 0x7FFFFFFF) : s;
}

/// float_order(float_down(v)) and float_order(float_up(v)), with v clamped to +-1e38 first
/// (query boxes may reach past the world; the cast of a double beyond FLT_MAX is undefined).
inline std::int32_t order_down(double v) noexcept {
    return float_order(float_down(v < -1e38 ? -1e38 : (v > 1e38 ? 1e38 : v)));
}
/// See order_down().
inline std::int32_t order_up(double v) noexcept {
    return float_order(float_up(v < -1e38 ? -1e38 : (v > 1e38 ? 1e38 : v)));
}

}  // namespace fbsim::detail
