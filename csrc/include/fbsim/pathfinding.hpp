// SPDX-License-Identifier: MIT
// fbsim: exact shortest paths on 2D and 3D grids (A*, jump point search, Dijkstra flow fields,
// line-of-sight smoothing). Grids are caller-owned row-major buffers; nothing here keeps them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fbsim/status.hpp"

namespace fbsim {

/// A read-only view of a caller-owned grid, row-major (C order).
/// 2D grids have `depth == 1` and `ndim == 2`; 3D grids are indexed (z, row, col).
/// Exactly one of `passable` / `costs` is set:
/// * `passable`: uniform cost, nonzero byte = free (numpy bool arrays are read in place);
/// * `costs`: cost per cell, each >= 1 or +inf (blocked); see validate_grid_costs().
/// Moving from cell a to a neighbour b costs |b - a| (1, sqrt 2, sqrt 3) times cost(b).
/// A move is legal only if every cell of the bounding box of a and b is free (no corner
/// cutting: a 2D diagonal needs both orthogonal neighbours free, a 3D diagonal its 2x2 or
/// 2x2x2 block).
struct GridView {
    const std::uint8_t* passable = nullptr;  ///< Uniform grid: nonzero = free. Or null.
    const double* costs = nullptr;           ///< Weighted grid: >= 1 or +inf. Or null.
    std::int64_t depth = 1;                  ///< Cells along z (1 for 2D grids).
    std::int64_t rows = 0;                   ///< Cells along rows.
    std::int64_t cols = 0;                   ///< Cells along columns.
    int ndim = 2;                            ///< 2 or 3: decides which connectivities apply.

    /// Number of cells.
    std::int64_t size() const noexcept { return depth * rows * cols; }
    /// True when the cell with flat index `i` (0 <= i < size()) can be entered.
    bool free(std::int64_t i) const noexcept;
    /// Cost multiplier of entering cell `i` (1 on uniform grids). Only meaningful when free.
    double cost(std::int64_t i) const noexcept { return costs ? costs[i] : 1.0; }
};

/// Which search a batch query runs.
enum class PathMethod : std::uint8_t {
    kAstar = 0,  ///< A* with the octile (2D) / 3D-octile heuristic: any grid.
    kJps = 1,    ///< Jump point search: 2D uniform grids, connectivity 8 only.
};

/// Settings of a single search.
struct PathSettings {
    int connectivity = 8;           ///< 2D: 4 or 8. 3D: 6, 18 or 26.
    std::int64_t max_expansions = 0;  ///< Stop after this many expansions (0 = no cap; the
                                      ///< search is always bounded by the number of cells).
};

/// Result of one search. `cells` holds flat indices, start first, goal last.
struct PathResult {
    std::vector<std::int64_t> cells;  ///< The path, flat indices; empty when not found.
    double cost = 0.0;                ///< Sum of step costs; +inf when not found.
    std::int64_t expansions = 0;      ///< Nodes taken off the open list (A*) / jump points (JPS).
    bool found = false;               ///< True when a path exists (and the cap was not hit).
    bool capped = false;              ///< True when max_expansions stopped the search.
};

/// True when `connectivity` is valid for a grid of `ndim` dimensions (2D: 4, 8; 3D: 6, 18, 26).
bool valid_connectivity(int ndim, int connectivity) noexcept;

/// Weighted-grid costs: each must be >= 1 or +inf. Reports the first bad flat index:
/// kNotFinite for NaN and -inf, kOutOfRange for values below 1. O(count), thread-safe.
Status validate_grid_costs(const double* costs, std::size_t count) noexcept;

/// Search state grid_astar keeps per calling thread between calls on `passable` grids, in
/// bytes of memory held (64 MiB: 2D grids up to ~8M cells, 3D up to ~5M, for short queries;
/// the open list a long search grew counts too: an 8-connected flood of a 2400^2 grid goes
/// over, and its state is freed). The cap is per thread: N calling threads keep up to N times
/// it. A server calling
/// grid_astar every tick then reuses its node array instead of faulting in fresh zero pages
/// and cold caches each call (query stamps make reuse exact); state above the cap is freed
/// when the call returns. Freed at thread exit.
inline constexpr std::size_t kAstarRetainedBytes = std::size_t{64} << 20;

/// Optimal path from `start` to `goal` (flat indices of free cells) by A*.
/// Preconditions: the grid is valid (validate_grid_costs), connectivity valid, start and goal
/// in range. A blocked start or goal gives "not found". Exact: the heuristic is the
/// obstacle-free distance, consistent for costs >= 1. Ties are broken deterministically.
/// O(N log N) for N cells. Memory: on `passable` grids 8 (2D) or 12 (3D) bytes of address
/// space per cell (dense, pages touched lazily; costs kept as exact move counts, so equal-f
/// ties are exact), kept for the next call of the same thread while the whole state is at
/// most kAstarRetainedBytes; on weighted grids 24 bytes per cell dense up to 2^22 cells, a
/// hash map of touched cells above, freed on return. Among equally short paths the one
/// returned may differ between the two kinds of grid.
/// Thread-safe: reads the grid only (the grid may change between calls); the retained state
/// is per thread, so concurrent calls share nothing.
void grid_astar(const GridView& grid, std::int64_t start, std::int64_t goal,
                const PathSettings& settings, PathResult* out);

/// Optimal path by jump point search (Harabor & Grastien 2011, no-corner-cutting variant):
/// 2D grids, uniform costs (passable set, or every finite cost equal to 1), connectivity 8.
/// Same optimal cost as grid_astar, far fewer expansions. Returns found = false without
/// searching when the grid does not qualify (see jps_supported). Allocates a padded byte copy
/// of the grid ((rows + 2) * (cols + 2) bytes, once per worker in a batch) so that jumps need
/// no bounds checks, plus the same node state as grid_astar. Thread-safe.
void grid_jps(const GridView& grid, std::int64_t start, std::int64_t goal,
              const PathSettings& settings, PathResult* out);

/// True when grid_jps applies to `grid`: 2D and uniform cost. O(N) for weighted grids.
bool jps_supported(const GridView& grid) noexcept;

/// Optimal costs of `count` independent queries (flat start/goal indices), +inf when no path.
/// Runs on `workers` std::threads (0 = hardware concurrency), each reusing its own search
/// state; queries are split in fixed contiguous blocks, so results do not depend on workers.
/// `out_expansions` may be null. Preconditions as grid_astar / grid_jps. Thread-safe.
void grid_paths_batch(const GridView& grid, const std::int64_t* starts,
                      const std::int64_t* goals, std::size_t count, PathMethod method,
                      const PathSettings& settings, unsigned workers, double* out_costs,
                      std::int64_t* out_expansions);

/// Cost-to-go from every cell to the nearest of `count` goal cells (multi-source Dijkstra on
/// the reversed moves, same move rules and costs as grid_astar). Blocked and unreachable
/// cells get +inf; blocked goals are ignored. `out` holds grid.size() doubles.
/// O(N log N), allocates a heap. Thread-safe.
void flow_field(const GridView& grid, const std::int64_t* goals, std::size_t count,
                int connectivity, double* out);

/// True when the straight segment between the centres of cells `a` and `b` touches only free
/// cells. "Touches" is exact and conservative: a segment through a shared edge or corner of
/// cells touches all of them (integer arithmetic, no rounding). O(|b - a|), no allocation.
bool line_of_sight(const GridView& grid, std::int64_t a, std::int64_t b) noexcept;

/// Any-angle smoothing of a grid path: greedily keeps the farthest waypoint visible
/// (line_of_sight) from the last kept one. The result starts and ends like `cells`, and every
/// segment is collision-free. Returns its Euclidean length in cells. O(L^2 * |path|) worst
/// case for L waypoints; writes `out` (cleared first). Thread-safe.
double smooth_path(const GridView& grid, const std::int64_t* cells, std::size_t count,
                   std::vector<std::int64_t>* out);

}  // namespace fbsim
