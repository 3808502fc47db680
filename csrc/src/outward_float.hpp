// SPDX-License-Identifier: MIT
// fbsim (private): double bounds rounded OUTWARD to float and stored as order-preserving int32,
// so a float prefilter over them is conservative (never drops a real overlap) and compares as
// plain integers (SIMD-friendly; -0 and +0 equal).
#pragma once

#include <cstdint>
#include <cstring>

namespace fbsim::detail {

/// The float as a signed integer with the float's order: consecutive floats map to
/// consecutive integers, so "at least 2 floats apart" is `a + 2 <= b`, and -0 and +0, which
/// compare equal, map to the same integer 0 (a box ending at -0.0 touches one starting at 0).
inline std::int32_t float_order(float f) noexcept {
    std::int32_t s;
    std::memcpy(&s, &f, 4);
    // Sign and magnitude to two's complement without a branch: negate the magnitude when the
    // sign bit is set (m = -1), as `s < 0 ? -(s & 0x7FFFFFFF) : s`.
    const std::int32_t m = s >> 31, mag = s & 0x7FFFFFFF;
    return (mag ^ m) - m;
}

/// float_order(float_down(v)), with v clamped to +-1e38 first (query boxes may reach past the
/// world; the cast of a double beyond FLT_MAX is undefined). Without a branch: the float
/// nearest v, one order lower when it lies above v, since consecutive floats have consecutive
/// orders (the float below +-0 is -denorm_min, order -1). Runs 6 times per box per write.
inline std::int32_t order_down(double v) noexcept {
    const double c = v < -1e38 ? -1e38 : (v > 1e38 ? 1e38 : v);
    const float f = static_cast<float>(c);
    return float_order(f) - static_cast<std::int32_t>(static_cast<double>(f) > c);
}
/// float_order(float_up(v)): float_up(v) = -float_down(-v) and float_order is odd.
inline std::int32_t order_up(double v) noexcept { return -order_down(-v); }

}  // namespace fbsim::detail
