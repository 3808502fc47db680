// SPDX-License-Identifier: MIT
// Documented maximum sizes. Past them a call is rejected with a clear error (Status in the core,
// ValueError in Python) instead of failing deep inside an allocation (std::bad_alloc, or the
// kernel's OOM killer taking the whole game server with it).
//
// All the documented maxima, in one list (docs/hardening.md, "Limits", has the same table):
//   coordinates, extents        kMaxCoordinate = 1e6 studs        (validate.hpp)
//   grid cells (pathfinding)    kMaxGridCells = 2^28              (here)
//   query result size           kMaxQueryResults = 2^31 ids/rows  (here; per structure
//                                                                  Broadphase::set_max_results,
//                                                                  SpatialTree::set_max_results)
//   items in an Octree/Quadtree kMaxTreeItems = 2^31 - 1          (octree.hpp)
//   items in a broad phase      kMaxBroadphaseItems = 2^32 - 2 (broadphase.hpp; 32-bit slots),
//                               checked on insert (Broadphase::set_max_items lowers it)
//   query batch rows            no count limit: the bindings convert the batch first, so a
//                               batch too large for memory fails there (MemoryError), before
//                               any kernel runs; the core takes size_t counts
//   ray length                  kMaxRayDistance = 1e7 (octree.hpp), 4e6 in broad phases
//   shard servers / entities    kMaxServers = 65536, kMaxShardEntities = 2^31 (shard.hpp)
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

/// Default cap on one query call's result size: ids in a broad-phase query_aabb /
/// query_sphere / raycast CSR result, or rows of pairs() / pairs_with() / pairs_involving().
/// 2^31 ids is 16 GiB of int64 output. Past the cap the call returns nothing and reports it
/// (CsrResult::over_limit, or pairs() returning false) instead of trying to allocate more: a
/// hostile or mistaken query (a world-sized box over a million items, pairs() of a million
/// stacked boxes ~ 5e11 pairs) must fail cleanly, not drive the server into the OOM killer.
/// Per structure it can be lowered or raised with Broadphase::set_max_results.
inline constexpr std::size_t kMaxQueryResults = std::size_t{1} << 31;

}  // namespace fbsim
