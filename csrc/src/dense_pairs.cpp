// SPDX-License-Identifier: MIT
// fbsim (private): dense_cell_pass() in three widths -- scalar (FBSIM_NO_SIMD builds, non-x86),
// SSE2 (every x86-64) and AVX2 (chosen at run time when the CPU has it; compiled for it by a
// target region, never by a global -mavx2, so the library still runs on any x86-64).
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "pair_lanes.hpp"
#include "simd_level.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define FBSIM_LANES_INLINE inline __attribute__((always_inline))
#else
#define FBSIM_LANES_INLINE inline
#endif

#ifdef FBSIM_SIMD_AVX2
#include <immintrin.h>
#endif

namespace fbsim::detail {

namespace {

inline unsigned lowest_bit(unsigned m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return static_cast<unsigned>(__builtin_ctz(m));
#else
    unsigned j = 0;
    while (!((m >> j) & 1u)) ++j;
    return j;
#endif
}

inline unsigned bit_count(unsigned m) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return static_cast<unsigned>(__builtin_popcount(m));
#else
    unsigned c = 0;
    for (; m != 0; m &= m - 1) ++c;
    return c;
#endif
}

// Left-pack permutations for _mm256_permutevar8x32_epi32: for each mask of M hit lanes of
// 32 / M bits (M = 8: int32 lanes; M = 4: int64 lanes as pairs of int32), the source lanes
// of the hits in order (the tail does not matter).
template <int M>
struct PackTable {
    alignas(32) std::int32_t idx[1 << M][8];
    constexpr PackTable() : idx{} {
        constexpr int w = 8 / M;  // int32 lanes per lane
        for (int m = 0; m < (1 << M); ++m) {
            int o = 0;
            for (int l = 0; l < M; ++l) {
                if (!((m >> l) & 1)) continue;
                for (int h = 0; h < w; ++h) idx[m][o++] = w * l + h;
            }
            for (; o < 8; ++o) idx[m][o] = o;
        }
    }
};
constexpr PackTable<8> kPack8{};
constexpr PackTable<4> kPack4{};

}  // namespace

void PairLanes::build(const PairRecord* R, std::size_t n, bool slots) {
    if (n + kPad > stride_) {
        stride_ = n + kPad;
        data_.reset(new std::int32_t[7 * stride_]);
    }
    n_ = n;
    std::int32_t* d = data_.get();
    std::size_t i = 0;
#ifdef FBSIM_PAIR_RECORD_SSE2
    // 4 records at a time: each half (lo, nhi) a 4 x 4 transpose (shuffles only, so the int
    // bits pass through the float casts unchanged).
    for (; i + 4 <= n; i += 4) {
        __m128 l[4], h[4];
        for (std::size_t r = 0; r < 4; ++r) {
            l[r] = _mm_castsi128_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(R[i + r].lo)));
            h[r] = _mm_castsi128_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(R[i + r].nhi)));
        }
        _MM_TRANSPOSE4_PS(l[0], l[1], l[2], l[3]);
        _MM_TRANSPOSE4_PS(h[0], h[1], h[2], h[3]);
        for (int j = 0; j < 3; ++j) {
            _mm_storeu_ps(reinterpret_cast<float*>(d + static_cast<std::size_t>(j) * stride_ + i), l[j]);
            _mm_storeu_ps(reinterpret_cast<float*>(d + static_cast<std::size_t>(j + 3) * stride_ + i), h[j]);
        }
        _mm_storeu_ps(reinterpret_cast<float*>(d + 6 * stride_ + i), slots ? l[3] : h[3]);
    }
#endif
    for (; i < n; ++i) {
        for (int j = 0; j < 3; ++j) {
            d[static_cast<std::size_t>(j) * stride_ + i] = R[i].lo[j];
            d[static_cast<std::size_t>(j + 3) * stride_ + i] = R[i].nhi[j];
        }
        d[6 * stride_ + i] = slots ? R[i].lo[3] : R[i].nhi[3];
    }
    // Padding: bounds past everything (never a hit, even unmasked) and no rank.
    for (std::size_t i = n; i < n + kPad; ++i) {
        for (int j = 0; j < 6; ++j) d[static_cast<std::size_t>(j) * stride_ + i] = INT32_MAX;
        d[6 * stride_ + i] = static_cast<std::int32_t>(kLaneNoRank);
    }
}

// scan()'s two tests of lanes k.. against one box -- loose (the float bounds overlap) and sure
// (they overlap with 2 floats to spare on every bound) -- as test() on the box's query and on
// its moved_in() copy. The scalar and SSE2 Lanes expand it (AVX2 has a one-pass form).
#define FBSIM_LANES_TWO_TEST_SCAN                                                                  \
    struct ScanQuery {                                                                             \
        Query loose, sure;                                                                         \
    };                                                                                             \
    static ScanQuery scan_query(const std::int32_t (&t)[6]) noexcept {                             \
        const Query q = make(t);                                                                   \
        return ScanQuery{q, moved_in(q)};                                                          \
    }                                                                                              \
    template <class L>                                                                             \
    static unsigned test_both(const L& ln, std::size_t k, const ScanQuery& q, unsigned& sure) noexcept { \
        sure = test(ln, k, q.sure);                                                                \
        return test(ln, k, q.loose);                                                               \
    }

// ---- scalar: 4 lanes by plain compares (the reference path of FBSIM_NO_SIMD builds) ----
namespace scalar {
struct Lanes {
    static constexpr unsigned W = 4;
    // A lane overlaps when its array j value is <= t[j] for every j < 6.
    struct Query {
        std::int32_t t[6];
    };
    static Query make(const std::int32_t (&t)[6]) noexcept {
        Query q;
        for (int j = 0; j < 6; ++j) q.t[j] = t[j];
        return q;
    }
    static Query moved_in(Query q) noexcept {
        for (int j = 0; j < 6; ++j) q.t[j] -= 2;
        return q;
    }
    template <class L>
    static unsigned test(const L& ln, std::size_t k, const Query& q) noexcept {
        unsigned m = 0;
        for (unsigned l = 0; l < W; ++l) {
            unsigned past = 0;
            for (int j = 0; j < 6; ++j) past |= static_cast<unsigned>(ln[j][k + l] > q.t[j]);
            m |= (past ^ 1u) << l;
        }
        return m;
    }
    FBSIM_LANES_TWO_TEST_SCAN
    template <class L, class G>
    static std::size_t pack(const L& ln, std::size_t k, unsigned m, const G& g, std::size_t n) noexcept {
        for (unsigned l = 0; l < W; ++l) {
            for (int j = 0; j < 7; ++j) g[j][n] = ln[j][k + l];
            g[7][n] = static_cast<std::int32_t>(k + l);
            n += (m >> l) & 1u;
        }
        return n;
    }
    // The sure lanes' keys at w, branch-free (every lane stored, w advanced by the hits);
    // lanes whose partner has no rank leave s first.
    template <class L>
    static std::uint64_t* emit(const L& ln, std::size_t k, std::uint32_t ra, int bits, unsigned& s,
                               std::uint64_t* w) noexcept {
        const std::uint32_t* rk = reinterpret_cast<const std::uint32_t*>(ln[6]) + k;
        unsigned no_rank = 0;
        for (unsigned l = 0; l < W; ++l) no_rank |= static_cast<unsigned>(rk[l] == kLaneNoRank) << l;
        s &= ~no_rank;
        for (unsigned l = 0; l < W; ++l) {
            const std::uint32_t rb = rk[l];
            *w = (std::uint64_t{ra < rb ? ra : rb} << bits) | (ra < rb ? rb : ra);
            w += (s >> l) & 1u;
        }
        return w;
    }
};
#include "dense_pass_body.inc"
}  // namespace scalar

#ifdef FBSIM_PAIR_RECORD_SSE2
// ---- SSE2: 4 lanes per compare (the gather and key writes as in the scalar path) ----
namespace sse2 {
inline __m128i load4(const std::int32_t* p) noexcept { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
struct Lanes : scalar::Lanes {
    // t + 1 broadcast: a lane overlaps when t + 1 > value on every array (t < 2^31 - 8).
    struct Query {
        __m128i t1[6];
    };
    static Query make(const std::int32_t (&t)[6]) noexcept {
        Query q;
        for (int j = 0; j < 6; ++j) q.t1[j] = _mm_set1_epi32(t[j] + 1);
        return q;
    }
    static Query moved_in(Query q) noexcept {
        for (int j = 0; j < 6; ++j) q.t1[j] = _mm_sub_epi32(q.t1[j], _mm_set1_epi32(2));
        return q;
    }
    template <class L>
    static unsigned test(const L& ln, std::size_t k, const Query& q) noexcept {
        __m128i in = _mm_cmpgt_epi32(q.t1[0], load4(ln[0] + k));
        for (int j = 1; j < 6; ++j)
            in = _mm_and_si128(in, _mm_cmpgt_epi32(q.t1[j], load4(ln[j] + k)));
        return static_cast<unsigned>(_mm_movemask_ps(_mm_castsi128_ps(in)));
    }
    FBSIM_LANES_TWO_TEST_SCAN
};
#include "dense_pass_body.inc"
}  // namespace sse2
#endif

#ifdef FBSIM_SIMD_AVX2
// ---- AVX2: 8 lanes per compare; every function in this region is compiled for AVX2 ----
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,popcnt"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,popcnt")
#endif
namespace avx2 {
inline __m256i load8(const std::int32_t* p) noexcept { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
inline __m256i table8(const std::int32_t* p) noexcept { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
inline void store8(void* p, __m256i v) noexcept { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
struct Lanes {
    static constexpr unsigned W = 8;
    struct Query {
        __m256i t1[6];  // as sse2::Lanes::Query
    };
    static Query make(const std::int32_t (&t)[6]) noexcept {
        Query q;
        for (int j = 0; j < 6; ++j) q.t1[j] = _mm256_set1_epi32(t[j] + 1);
        return q;
    }
    template <class L>
    static unsigned test(const L& ln, std::size_t k, const Query& q) noexcept {
        __m256i in = _mm256_cmpgt_epi32(q.t1[0], load8(ln[0] + k));
        for (int j = 1; j < 6; ++j) in = _mm256_and_si256(in, _mm256_cmpgt_epi32(q.t1[j], load8(ln[j] + k)));
        return static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(in)));
    }
    // scan()'s loose and sure tests in one pass: per bound the difference (t >> 1) - (v >> 1)
    // (halves, so it cannot overflow: |x >> 1| < 2^30) and their minimum over the 6 bounds.
    // v <= t gives floor(t / 2) >= floor(v / 2), so every float overlap has minimum >= 0 (the
    // loose test; it may also pass bounds 1 float past, which then go to slow()); a minimum
    // >= 2 gives t / 2 > v / 2 + 1, so t - v > 2 on every bound (the sure test asks >= 2).
    // 6 subtracts and 5 minimums instead of 12 compares and 11 ANDs, and 6 query registers
    // instead of 12 (the two queries did not fit the 16 ymm registers: reloaded every chunk).
    struct ScanQuery {
        __m256i half_t[6];  // t[j] >> 1
    };
    static ScanQuery scan_query(const std::int32_t (&t)[6]) noexcept {
        ScanQuery q;
        for (int j = 0; j < 6; ++j) q.half_t[j] = _mm256_set1_epi32(t[j] >> 1);
        return q;
    }
    template <class L>
    static unsigned test_both(const L& ln, std::size_t k, const ScanQuery& q, unsigned& sure) noexcept {
        __m256i d = _mm256_sub_epi32(q.half_t[0], _mm256_srai_epi32(load8(ln[0] + k), 1));
        for (int j = 1; j < 6; ++j)
            d = _mm256_min_epi32(d, _mm256_sub_epi32(q.half_t[j], _mm256_srai_epi32(load8(ln[j] + k), 1)));
        sure = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_set1_epi32(1)))));
        return static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpgt_epi32(d, _mm256_set1_epi32(-1)))));
    }
    // Left-packed by one permutation per array (chosen by the 8 mask bits), stored whole.
    template <class L, class G>
    static std::size_t pack(const L& ln, std::size_t k, unsigned m, const G& g, std::size_t n) noexcept {
        const __m256i idx = table8(kPack8.idx[m]);
        for (int j = 0; j < 7; ++j)
            store8(g[j] + n, _mm256_permutevar8x32_epi32(load8(ln[j] + k), idx));
        const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const __m256i pos = _mm256_add_epi32(_mm256_set1_epi32(static_cast<std::int32_t>(k)), iota);
        store8(g[7] + n, _mm256_permutevar8x32_epi32(pos, idx));
        return n + static_cast<unsigned>(__builtin_popcount(m));
    }
    // 4 keys (mn << bits) | mx from 4 lanes of smaller and larger ranks (zero-extended).
    static __m256i keys4(__m128i mn, __m128i mx, __m128i shift) noexcept {
        return _mm256_or_si256(_mm256_sll_epi64(_mm256_cvtepu32_epi64(mn), shift), _mm256_cvtepu32_epi64(mx));
    }
    // The sure lanes' keys at w, branch-free: 8 keys built in two halves of 4 (64-bit
    // lanes), each half left-packed by a permutation chosen by its 4 hit bits, stored whole,
    // and w advanced by the hit count. Lanes whose partner has no rank leave s first.
    template <class L>
    static std::uint64_t* emit(const L& ln, std::size_t k, std::uint32_t ra, int bits, unsigned& s,
                               std::uint64_t* w) noexcept {
        const __m256i rb = load8(ln[6] + k);
        const __m256i no_rank = _mm256_cmpeq_epi32(rb, _mm256_set1_epi32(-1));
        s &= ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(no_rank)));
        const __m256i a = _mm256_set1_epi32(static_cast<std::int32_t>(ra));
        const __m256i mn = _mm256_min_epu32(a, rb), mx = _mm256_max_epu32(a, rb);
        const __m128i shift = _mm_cvtsi32_si128(bits);
        const __m256i lo = keys4(_mm256_castsi256_si128(mn), _mm256_castsi256_si128(mx), shift);
        const __m256i hi = keys4(_mm256_extracti128_si256(mn, 1), _mm256_extracti128_si256(mx, 1), shift);
        const unsigned s0 = s & 0xFu, s1 = s >> 4;
        store8(w, _mm256_permutevar8x32_epi32(lo, table8(kPack4.idx[s0])));
        w += __builtin_popcount(s0);
        store8(w, _mm256_permutevar8x32_epi32(hi, table8(kPack4.idx[s1])));
        return w + __builtin_popcount(s1);
    }
};
#include "dense_pass_body.inc"
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
#undef FBSIM_LANES_TWO_TEST_SCAN

void dense_cell_pass(const DensePass& pass) {
    switch (simd_level()) {
#ifdef FBSIM_SIMD_AVX2
        case SimdLevel::kAvx2:
            avx2::run(pass);
            return;
#endif
#ifdef FBSIM_PAIR_RECORD_SSE2
        case SimdLevel::kSse2:
            sse2::run(pass);
            return;
#endif
        default:
            scalar::run(pass);
            return;
    }
}

}  // namespace fbsim::detail
