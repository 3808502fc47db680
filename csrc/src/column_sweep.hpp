// SPDX-License-Identifier: MIT
// fbsim (private): the same-level pair search of SpatialHash::candidate_pairs as a sweep over
// grid COLUMNS. Boxes are ordered by (level, z cell, y cell) column, then by their quantised
// min x; a box can only overlap boxes of its own column and of the 8 around it (its cell side
// exceeds its size), so each column is swept against itself and its 4 forward neighbours
// (y+1; z+1 with y-1, y, y+1) by sweep-and-prune along x (Baraff 1992; Cohen et al., I-COLLIDE,
// 1995). Along x only boxes whose intervals really overlap are visited, unlike a 3D cell join,
// which tests every box of 13 neighbour cells. The entries are compact (32 bytes, contiguous),
// the x order uses integers and the y/z prefilter floats rounded OUTWARD, so every filter here is
// conservative and the caller's exact double test decides: the answer stays exact.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace fbsim::detail {

/// One box in column-sweep order.
struct SweepEntry {
    std::uint64_t key;   ///< column << kSweepQBits | quantised min x
    std::uint32_t qhi;   ///< quantised max x (rounded so that lo_a <= hi_b implies q <= q)
    std::uint32_t slot;  ///< the structure's slot
    std::uint32_t lo[3], hi[3];  ///< bounds rounded outward to float, as order_bits()
};

/// Bits of the quantised x in SweepEntry::key.
inline constexpr int kSweepQBits = 20;
/// Most bits the (level, z, y) column number may use in SweepEntry::key.
inline constexpr int kSweepColumnBits = 64 - kSweepQBits;

/// Largest float <= v (v finite, |v| < FLT_MAX). Steps one ulp by the bit pattern rather
/// than calling nextafterf: this runs once per box per pairs() call.
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

/// The float's bits as an unsigned integer with the float's order (-0 just below +0), so
/// bounds compare as integers and "at least 2 floats apart" is a subtraction.
inline std::uint32_t order_bits(float f) noexcept {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

/// Outcome of the float test of two entries: 0 apart, 1 overlapping for certain, 2 the float
/// bounds overlap but are too close to decide (the caller tests the exact boxes).
/// Certainty: if order(a.lo) + 2 <= order(b.hi) then a.lo <= up(a.lo) <= next(down(a.lo))
/// <= prev(up(b.hi)) <= down(b.hi) <= b.hi, where down/up round the exact double.
inline int float_overlap(const SweepEntry& a, const SweepEntry& b) noexcept {
    bool maybe = true, sure = true;
    for (int k = 0; k < 3; ++k) {
        maybe &= (a.lo[k] <= b.hi[k]) & (b.lo[k] <= a.hi[k]);
        sure &= (a.lo[k] + 2 <= b.hi[k]) & (b.lo[k] + 2 <= a.hi[k]);
    }
    return maybe ? (sure ? 1 : 2) : 0;
}

/// Monotone map of x to [0, 2^kSweepQBits): x <= x' implies q(x) <= q(x'), because rounded
/// subtraction, rounded multiplication by a positive constant, floor and clamping are all
/// monotone. So two intervals that overlap in x also overlap after quantisation.
struct XQuantizer {
    double x0 = 0.0, scale = 0.0;
    std::uint32_t operator()(double x) const noexcept {
        constexpr double kMax = double((1u << kSweepQBits) - 1);
        const double q = std::floor((x - x0) * scale);
        // !(q > 0) also catches NaN: a denormal x range makes scale inf and 0 * inf NaN (a fuzz
        // finding; converting NaN to an integer is UB). Mapping it to 0 keeps q monotone, since
        // only x == x0 gives NaN there and every larger x maps to kMax.
        return static_cast<std::uint32_t>(!(q > 0.0) ? 0.0 : (q > kMax ? kMax : q));
    }
};

/// Calls emit(slot_a, slot_b, certain) once for every unordered pair of entries in the same
/// or neighbouring columns whose float bounds overlap; certain = float_overlap() == 1. `e` is
/// sorted by key; a column number is ((level << zbits | (z + 1)) << ybits) | (y + 1), with
/// y + 2 below 2^ybits and z + 2 below 2^zbits (so a neighbour's number never wraps into
/// another row or level).
/// O(n + columns + candidates); reads `e` nearly sequentially.
template <class Emit>
void sweep_columns(const std::vector<SweepEntry>& e, int ybits, Emit&& emit) {
    struct Run {
        std::uint64_t col;
        std::uint32_t begin, end;
    };
    std::vector<Run> runs;
    for (std::uint32_t i = 0; i < e.size(); ++i) {
        const std::uint64_t col = e[i].key >> kSweepQBits;
        if (runs.empty() || runs.back().col != col) runs.push_back(Run{col, i, i});
        runs.back().end = i + 1;
    }
    constexpr std::uint64_t kQMask = (std::uint64_t{1} << kSweepQBits) - 1;
    auto qlo = [&](std::uint32_t i) { return static_cast<std::uint32_t>(e[i].key & kQMask); };
    auto test = [&](const SweepEntry& a, const SweepEntry& b) {
        const int t = float_overlap(a, b);
        if (t) emit(a.slot, b.slot, t == 1);
    };
    // Two x-sorted runs: the entry with the smaller min x (ties: run a) scans the other run
    // from its cursor while the other's min x is within its max x; each pair is met once.
    auto cross = [&](const Run& a, const Run& b) {
        std::uint32_t i = a.begin, j = b.begin;
        while (i < a.end && j < b.end) {
            if (qlo(i) <= qlo(j)) {
                const std::uint32_t qh = e[i].qhi;
                for (std::uint32_t k = j; k < b.end && qlo(k) <= qh; ++k)
                    test(e[i], e[k]);
                ++i;
            } else {
                const std::uint32_t qh = e[j].qhi;
                for (std::uint32_t k = i; k < a.end && qlo(k) <= qh; ++k)
                    test(e[k], e[j]);
                ++j;
            }
        }
    };
    const std::uint64_t kRow = std::uint64_t{1} << ybits;  // z + 1
    std::size_t p = 0;  // first run at or after (z + 1, y - 1): only moves forward
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const Run& a = runs[r];
        for (std::uint32_t i = a.begin; i < a.end; ++i) {
            const std::uint32_t qh = e[i].qhi;
            for (std::uint32_t k = i + 1; k < a.end && qlo(k) <= qh; ++k) test(e[i], e[k]);
        }
        if (r + 1 < runs.size() && runs[r + 1].col == a.col + 1) cross(a, runs[r + 1]);
        const std::uint64_t t0 = a.col + kRow - 1;
        while (p < runs.size() && runs[p].col < t0) ++p;
        for (std::size_t k = p; k < runs.size() && runs[k].col <= t0 + 2; ++k) cross(a, runs[k]);
    }
}

}  // namespace fbsim::detail
