// SPDX-License-Identifier: MIT
// fbsim private: the 2D specialisation of the exact-cost A* (grid_astar_exact_2d.cpp).
#pragma once

#include <cstdint>
#include <vector>

#include "fbsim/pathfinding.hpp"

namespace fbsim::detail {

class ExactStore;

/// Move counts at or above this make astar_exact_2d give up (return false), exactly where the
/// generic kernel's packed 20-bit fields would overflow, so both fall back alike.
inline constexpr std::int64_t kExact2DMaxCount = std::int64_t{1} << 20;

/// Bit-packed passability of a 2D grid, padded with one blocked cell on every side: padded
/// row r + 1, bit c + 1 (little-endian within the row) is grid cell (r, c). Each row is a
/// whole number of 64-bit words plus one spare word, so an unaligned 8-byte load starting at
/// any cell's byte stays inside its row. (rows + 2) * row_bytes bytes: ~1/8 byte per cell.
struct Exact2DBits {
    /// Rebuilds from `g` unless it was built from the same array and shape. The owner (one
    /// ExactStore, which lives for one call on one grid) must not see the grid change.
    void build(const GridView& g);
    std::uint8_t* bytes() noexcept { return reinterpret_cast<std::uint8_t*>(words.data()); }
    const std::uint8_t* bytes() const noexcept {
        return reinterpret_cast<const std::uint8_t*>(words.data());
    }
    std::vector<std::uint64_t> words;
    std::int64_t row_bytes = 0, rows = 0, cols = 0;
    const std::uint8_t* source = nullptr;
};

/// astar_exact for a 2D grid with `passable` set and connectivity 4 or 8: same contract,
/// expansion order, costs and paths, faster (see the .cpp). Uses `store`'s node state and its
/// 2D buffers. Returns false only when a move count reaches kExact2DMaxCount.
bool astar_exact_2d(const GridView& g, int connectivity, std::int64_t start, std::int64_t goal,
                    std::int64_t max_expansions, ExactStore& store, PathResult* out,
                    bool want_path);

}  // namespace fbsim::detail
