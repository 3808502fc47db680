// SPDX-License-Identifier: MIT
// fbsim: A* on uniform-cost grids with exact costs (detail/exact_astar.hpp): the entry point,
// which hands each grid to the kernel specialised for its dimension. Both pop in nondecreasing
// exact f from a monotone bucket queue: grid_astar_exact_2d.cpp (bit-packed passability and
// closed set, 8-byte node words; ties among equal f in LIFO order) and grid_astar_exact_3d.cpp
// (lower f, then larger g, then lower cell, children that keep f depth first; the
// 26-neighbourhood read once per expansion into a bit mask, 12-byte node state). Costs are
// exact either way; with several optimal paths, which one is returned depends on the order.
#include "detail/exact_astar.hpp"

namespace fbsim::detail {

bool astar_exact(const GridView& g, const std::vector<Move>& moves, int connectivity,
                 std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                 ExactStore& store, PathResult* out, bool want_path) {
    if (g.ndim == 3)  // resets `out` and checks the end cells itself
        return astar_exact_3d(g, moves, connectivity, start, goal, max_expansions, store, out,
                              want_path);
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    if (!g.passable[start] || !g.passable[goal]) return true;
    // 2D grids are 4- or 8-connected (checked by the callers' validation).
    return astar_exact_2d(g, connectivity, start, goal, max_expansions, store, out, want_path);
}

}  // namespace fbsim::detail
