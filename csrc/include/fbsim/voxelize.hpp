// SPDX-License-Identifier: MIT
// fbsim: rasterising the world's boxes into a voxel occupancy grid, and the walkable map an
// agent of given size derives from it (the grids fbsim/pathfinding.hpp searches).
#pragma once

#include <cstddef>
#include <cstdint>

#include "fbsim/status.hpp"

namespace fbsim {

/// A voxel grid in world space. Y is up (Roblox), so the grid is indexed (layer, row, col) =
/// (y, z, x): cell (i, j, k) covers x in [origin.x + k*s, +s), y in [origin.y + i*s, +s),
/// z in [origin.z + j*s, +s) for cell size s. Row-major, so a numpy array of shape
/// (layers, rows, cols) maps onto it directly, and 3D searches use (layer, row, col) cells.
struct VoxelSpec {
    double origin[3] = {0.0, 0.0, 0.0};  ///< World (x, y, z) of the grid's min corner, studs.
    double cell_size = 1.0;              ///< Edge of a cubic cell, studs, > 0.
    std::int64_t layers = 0;             ///< Cells along y (up).
    std::int64_t rows = 0;               ///< Cells along z.
    std::int64_t cols = 0;               ///< Cells along x.
};

/// Largest accepted number of cells in a voxel grid (2^31): counts are int32 per cell.
inline constexpr std::int64_t kMaxVoxelCells = std::int64_t{1} << 31;

/// Spec check: finite origin within kMaxCoordinate (kOutOfRange / kNotFinite, component =
/// axis), cell_size finite and > 0 (index 1), dimensions >= 0 with at most kMaxVoxelCells
/// cells (index 2). O(1), thread-safe.
Status validate_voxel_spec(const VoxelSpec& spec) noexcept;

/// True when an oriented box (centre, row-major rotation world = R * local, half extents)
/// overlaps the axis-aligned box [lo, hi] with positive volume, by the separating axis test
/// (Gottschalk, Lin & Manocha, "OBBTree", SIGGRAPH 1996; Ericson, Real-Time Collision
/// Detection, sec. 4.4.1): 3 + 3 face axes and 9 edge cross products. Boxes that only touch
/// (penetration <= 1e-9 studs along some axis) do not overlap. O(1), thread-safe.
bool obb_overlaps_aabb(const double* center, const double* rotation, const double* half_extents,
                       const double* lo, const double* hi) noexcept;

/// Adds `delta` (+1 to add boxes, -1 to remove the same boxes) to `counts[cell]` of every cell
/// that box overlaps (obb_overlaps_aabb; cells outside the grid are ignored). `counts` holds
/// layers*rows*cols int32, row-major. Arrays: centers (count x 3), quats (count x 4, x y z w),
/// half_extents (count x 3). Preconditions: validate_voxel_spec and validate_obb_arrays ok.
/// O(sum over boxes of the cells in each box's AABB); no allocation. Conservative: a cell
/// any box overlaps is counted. Not thread-safe on the same `counts`.
/// Returns the bounding range of touched cells in out_range (lo i,j,k, hi i,j,k exclusive;
/// empty when lo >= hi), so callers can update derived maps incrementally. May be null.
void voxel_add_boxes(const VoxelSpec& spec, const double* centers, const double* quats,
                     const double* half_extents, std::size_t count, std::int32_t delta,
                     std::int32_t* counts, std::int64_t* out_range) noexcept;

/// Agent shape in cells, derived by agent_cells().
struct AgentCells {
    std::int64_t clearance = 1;  ///< Free cells needed from the feet up (height / s, rounded up).
    std::int64_t radius = 0;     ///< Free cells needed on each side horizontally.
    std::int64_t step = 0;       ///< Layers the agent can step up or down without falling.
};

/// Converts an agent's radius, height and step height (studs, >= 0, height > 0) to cells:
/// clearance = ceil(height / s), radius = ceil(radius / s + 1/2) - 1 (every cell a disc of
/// that radius centred in a cell can touch, Chebyshev, so conservative), step = floor(step/s).
AgentCells agent_cells(double cell_size, double radius, double height, double step) noexcept;

/// Walkable map for an agent: out[i,j,k] = 1 when the agent's body fits with its feet in cell
/// (i, j, k) (no solid cell in layers i .. i+clearance-1 within `radius` cells horizontally)
/// and it stands on something at most `step` layers below (a solid cell directly under layer
/// i-t, or the world floor below layer 0 when `floor` is true, for some 0 <= t <= step, with
/// the body fitting at every layer in between). The result is a passability grid for the
/// 3D searches (connectivity 26): climbing a step is a vertical move through the air cells
/// above the lower floor, and cliffs higher than `step` cannot be walked off.
/// Only cells in the range [lo, hi) (layer, row, col) are written, so an update after
/// voxel_add_boxes can recompute just the affected region. `solid`: nonzero = blocked.
/// O(cells in range * clearance * (2 radius + 1)^2). Thread-safe for disjoint ranges.
void walkable_voxels(const std::uint8_t* solid, std::int64_t layers, std::int64_t rows,
                     std::int64_t cols, const AgentCells& agent, bool floor,
                     const std::int64_t* lo, const std::int64_t* hi, std::uint8_t* out) noexcept;

}  // namespace fbsim
