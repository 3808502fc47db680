// SPDX-License-Identifier: MIT
// The branch-free outward float orders of the SpatialHash records (csrc/src/outward_float.hpp)
// against a reference written from the definition with std::nextafter: the largest float <= v
// (smallest >= v), its bits mapped sign-and-magnitude to a signed integer with -0 == +0.
// Specials (zeros, subnormals, the +-1e38 clamp, infinities) and ~10^7 random doubles.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>

#include "check.hpp"
#include "outward_float.hpp"

namespace {

std::int32_t ref_order(float f) {
    if (f == 0.0f) return 0;  // -0 and +0
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    const std::int32_t mag = static_cast<std::int32_t>(u & 0x7FFFFFFFu);
    return f < 0.0f ? -mag : mag;
}
double clamp38(double v) { return v < -1e38 ? -1e38 : (v > 1e38 ? 1e38 : v); }
std::int32_t ref_down(double v) {
    v = clamp38(v);
    float f = static_cast<float>(v);
    if (static_cast<double>(f) > v) f = std::nextafter(f, -INFINITY);
    return ref_order(f);
}
std::int32_t ref_up(double v) {
    v = clamp38(v);
    float f = static_cast<float>(v);
    if (static_cast<double>(f) < v) f = std::nextafter(f, INFINITY);
    return ref_order(f);
}

}  // namespace

int main() {
    using fbsim::detail::order_down;
    using fbsim::detail::order_up;
    long bad = 0;
    auto check = [&](double v) {
        if (order_down(v) != ref_down(v) || order_up(v) != ref_up(v)) {
            if (bad++ < 5) std::fprintf(stderr, "order mismatch at %.17g\n", v);
        }
    };
    const double specials[] = {0.0,     -0.0,    1e-45,  -1e-45,  1e-300,          -1e-300,
                               1e38,    -1e38,   2e38,   -2e38,   1e300,           -1e300,
                               1e5,     -1e5,    0.1,    -0.1,    3.4028234663852886e38, INFINITY,
                               -INFINITY, 1.0,   -1.0,   1.5e-45, std::ldexp(1.0, -149), -std::ldexp(1.0, -149)};
    for (const double v : specials) check(v);
    CHECK(order_down(-0.0) == 0 && order_up(-0.0) == 0 && order_down(0.0) == 0);
    CHECK(order_down(1e-300) == 0 && order_up(1e-300) == 1);  // rounds outward past zero
    CHECK(order_down(-1e-300) == -1 && order_up(-1e-300) == 0);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 2000000; ++i) {
        std::uint64_t b = rng();
        double v;
        std::memcpy(&v, &b, 8);
        if (!std::isnan(v)) check(v);
        // Doubles near floats and near coordinates a world uses (down to 2^-30, up to 1e15).
        const double w = std::ldexp(static_cast<double>(rng() % 2000000) - 1e6, static_cast<int>(rng() % 40) - 30);
        check(w);
        check(std::nextafter(w, 1e300));
        check(std::nextafter(w, -1e300));
        const double f = static_cast<double>(static_cast<float>(w));
        check(f);
        check(std::nextafter(f, 1e300));
        check(std::nextafter(f, -1e300));
    }
    CHECK(bad == 0);
    return fbsim_test::failures;
}
