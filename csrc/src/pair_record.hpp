// SPDX-License-Identifier: MIT
// fbsim (private): a box's outward float bounds as one 32-byte record laid out for a branchless
// overlap test: two 4-lane int32 compares (SSE2 on x86-64, scalar elsewhere) decide all six
// bound pairs at once. Scalar code with `&` between the six compares is not enough: compilers
// split it into branches on the first axes, which mispredict whenever candidates overlap on
// those axes about half the time (neighbour cells of a grid).
#pragma once

#include <cstdint>

// FBSIM_NO_SIMD forces the scalar path (define it for the whole build: it changes inline
// bodies). .ci/run builds and runs the C++ broad-phase tests that way (vs brute force).
#if !defined(FBSIM_NO_SIMD) && (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#include <emmintrin.h>
#define FBSIM_PAIR_RECORD_SSE2 1
#endif

namespace fbsim::detail {

/// A hint to start loading the cache line at p (loops over random positions issue it a few
/// steps ahead, so the misses overlap instead of stalling one at a time).
inline void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#elif defined(FBSIM_PAIR_RECORD_SSE2)
    _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0);
#else
    (void)p;
#endif
}

/// One box: lane 0-2 of `lo` its min corner, lane 0-2 of `nhi` its max corner negated
/// (float_order values, |v| < 2^31 - 8, so negation cannot overflow); lane 3 of `lo` holds
/// the slot, lane 3 of `nhi` the id rank (Broadphase::rank_of(), as int32 bits), carried so a
/// pair pass can emit sorted-order keys without a random rank look-up per pair. Then "b
/// overlaps a" is "b.lo <= a.hi and b.nhi <= -a.lo", eight `<=` of int32 lanes against a
/// query whose lane 3 is INT32_MAX (so lane 3 never decides).
struct alignas(32) PairRecord {
    std::int32_t lo[4];
    std::int32_t nhi[4];
    std::uint32_t slot() const noexcept { return static_cast<std::uint32_t>(lo[3]); }
    std::uint32_t rank() const noexcept { return static_cast<std::uint32_t>(nhi[3]); }
    void set_rank(std::uint32_t r) noexcept { nhi[3] = static_cast<std::int32_t>(r); }
};

inline PairRecord make_record(const std::int32_t lo[3], const std::int32_t hi[3], std::uint32_t slot,
                              std::uint32_t rank) noexcept {
    return PairRecord{{lo[0], lo[1], lo[2], static_cast<std::int32_t>(slot)},
                      {-hi[0], -hi[1], -hi[2], static_cast<std::int32_t>(rank)}};
}

/// A record as the asking side: its max corner and negated min corner (lane 3 INT32_MAX, so
/// the slot and padding lanes always pass), and both moved in by 2 floats for the "sure" test:
/// a.lo <= up(a.lo) <= next(down(a.lo)) <= prev(up(b.hi)) <= down(b.hi) <= b.hi, so bounds
/// at least 2 floats apart decide the exact (double) test.
struct PairQuery {
    std::int32_t hi[4], nlo[4], hi2[4], nlo2[4];
    explicit PairQuery(const PairRecord& a) noexcept
        : hi{-a.nhi[0], -a.nhi[1], -a.nhi[2], INT32_MAX},
          nlo{-a.lo[0], -a.lo[1], -a.lo[2], INT32_MAX},
          hi2{hi[0] - 2, hi[1] - 2, hi[2] - 2, INT32_MAX},
          nlo2{nlo[0] - 2, nlo[1] - 2, nlo[2] - 2, INT32_MAX} {}
};

#ifdef FBSIM_PAIR_RECORD_SSE2
/// any_past() on a record already in registers (lo, nhi lanes): non-zero when some bound is past.
inline int past_mask(__m128i lo, __m128i nhi, const std::int32_t (&hi)[4], const std::int32_t (&nlo)[4]) noexcept {
    const __m128i out = _mm_or_si128(_mm_cmpgt_epi32(lo, _mm_loadu_si128(reinterpret_cast<const __m128i*>(hi))),
                                     _mm_cmpgt_epi32(nhi, _mm_loadu_si128(reinterpret_cast<const __m128i*>(nlo))));
    return _mm_movemask_epi8(out);
}
#endif

/// Whether any of b's bounds lies past the query's: b.lo[d] > hi[d] or b.nhi[d] > nlo[d] on
/// some axis (lane 3 of hi / nlo is INT32_MAX, so it never counts). No branch.
inline bool any_past(const PairRecord& b, const std::int32_t (&hi)[4], const std::int32_t (&nlo)[4]) noexcept {
#ifdef FBSIM_PAIR_RECORD_SSE2
    return past_mask(_mm_load_si128(reinterpret_cast<const __m128i*>(b.lo)),
                     _mm_load_si128(reinterpret_cast<const __m128i*>(b.nhi)), hi, nlo) != 0;
#else
    unsigned out = 0;
    for (int d = 0; d < 3; ++d)
        out |= static_cast<unsigned>(b.lo[d] > hi[d]) | static_cast<unsigned>(b.nhi[d] > nlo[d]);
    return out != 0;
#endif
}

/// Whether the float bounds overlap (the first half of record_test()).
inline bool record_overlaps(const PairQuery& q, const PairRecord& b) noexcept { return !any_past(b, q.hi, q.nlo); }

/// 0: the float bounds are disjoint (so are the boxes); 2: they overlap with room to spare
/// (so do the boxes); 1: the floats cannot decide, the caller tests the exact boxes.
inline int record_test(const PairQuery& q, const PairRecord& b) noexcept {
    if (any_past(b, q.hi, q.nlo)) return 0;
    return any_past(b, q.hi2, q.nlo2) ? 1 : 2;
}

}  // namespace fbsim::detail
