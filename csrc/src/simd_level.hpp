// SPDX-License-Identifier: MIT
// fbsim (private): the compile-time side of the broad phase's SIMD choice. simd_level()
// (fbsim/broadphase.hpp) picks the width at run time, once per process, so every kernel with an
// AVX2 variant (the dense cell pass, the windows of pairs(moved)) picks it the same way; AVX2 is
// never assumed at compile time (the build targets the x86-64 baseline; AVX2 kernels are
// compiled per function by target attributes where FBSIM_SIMD_AVX2 is defined).
#pragma once

#include "fbsim/broadphase.hpp"  // SimdLevel, simd_level(), force_simd_level()
#include "pair_record.hpp"        // FBSIM_PAIR_RECORD_SSE2: the SSE2 baseline (not under FBSIM_NO_SIMD)

// AVX2 variants are compiled where GCC or Clang targets x86 with the SSE2 records on.
#if defined(FBSIM_PAIR_RECORD_SSE2) && (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
#define FBSIM_SIMD_AVX2 1
#endif
