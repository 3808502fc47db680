// SPDX-License-Identifier: MIT
// fbsim: simd_level() and force_simd_level() (fbsim/broadphase.hpp).
#include "simd_level.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace fbsim {

namespace {

std::atomic<int> g_forced{static_cast<int>(SimdLevel::kAuto)};

SimdLevel from_environment() noexcept {
    const char* env = std::getenv("FBSIM_SIMD");
    if (env == nullptr) return SimdLevel::kAvx2;
    if (std::strcmp(env, "scalar") == 0) return SimdLevel::kScalar;
    if (std::strcmp(env, "sse2") == 0) return SimdLevel::kSse2;
    return SimdLevel::kAvx2;
}

}  // namespace

SimdLevel force_simd_level(SimdLevel level) noexcept {
    return static_cast<SimdLevel>(g_forced.exchange(static_cast<int>(level), std::memory_order_relaxed));
}

SimdLevel simd_level() noexcept {
    // Function-local statics: initialised once, thread-safely, at the first call -- also from
    // a C++ server's static constructors (a namespace-scope initialiser in another file might
    // not have run yet), and getenv is not called again (it races with a concurrent setenv).
    static const SimdLevel from_env = from_environment();
    int want = g_forced.load(std::memory_order_relaxed);
    if (want == static_cast<int>(SimdLevel::kAuto)) want = static_cast<int>(from_env);
#ifdef FBSIM_SIMD_AVX2
    static const bool has_avx2 = [] {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    }();
    if (want >= static_cast<int>(SimdLevel::kAvx2) && has_avx2) return SimdLevel::kAvx2;
#endif
#ifdef FBSIM_PAIR_RECORD_SSE2
    if (want >= static_cast<int>(SimdLevel::kSse2)) return SimdLevel::kSse2;
#endif
    return SimdLevel::kScalar;
}

}  // namespace fbsim
