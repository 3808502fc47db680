// SPDX-License-Identifier: MIT
// Documented maximum sizes. Past them a call is rejected with a clear error (Status in the core,
// ValueError in Python) instead of failing deep inside an allocation (std::bad_alloc, or the
// kernel's OOM killer taking the whole game server with it).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fbsim {

/// Largest grid (cells = depth * rows * cols) the pathfinding functions accept: 2^28 cells,
/// e.g. 16384 x 16384 in 2-D or 645^3 in 3-D. A* keeps 12 bytes of search state per cell on
/// bool grids (24 on weighted ones), so the limit bounds one search's memory to ~3.2 GB
/// (~6.4 GB weighted). Checked by the bindings before
/// the grid is even converted (a broadcast 1e12-cell view is rejected without copying it).
inline constexpr std::int64_t kMaxGridCells = std::int64_t{1} << 28;

/// True iff a grid of these dimensions (each >= 0) is within kMaxGridCells. Overflow-safe.
/// O(1), thread-safe.
constexpr bool grid_within_limit(std::int64_t depth, std::int64_t rows, std::int64_t cols) noexcept {
    if (depth < 0 || rows < 0 || cols < 0) return false;
    if (depth == 0 || rows == 0 || cols == 0) return true;
    if (rows > kMaxGridCells / cols) return false;
    return depth <= kMaxGridCells / (rows * cols);
}

}  // namespace fbsim
