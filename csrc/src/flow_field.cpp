// SPDX-License-Identifier: MIT
// fbsim: flow field (Dijkstra map) - cost-to-go to the nearest goal for every cell.
// Multi-source Dijkstra (Dijkstra 1959; CLRS 4th ed. sec. 22.3) from all goals at once, on
// the reversed graph: the move v -> u costs |u - v| * cost(u), so relaxing u's neighbour v
// charges cost(u). Move legality (bounding box free) is symmetric, so the reversed moves are
// the same moves. NPCs follow the field by stepping to the neighbour minimising
// step cost + field value.
#include <vector>

#include "detail/grid_search.hpp"
#include "fbsim/pathfinding.hpp"

namespace fbsim {

using detail::kInf;

void flow_field(const GridView& grid, const std::int64_t* goals, std::size_t count,
                int connectivity, double* out) {
    const std::int64_t n = grid.size();
    for (std::int64_t i = 0; i < n; ++i) out[i] = kInf;
    const auto moves = detail::make_moves(grid, connectivity);
    detail::OpenList open;  // f == g here: no heuristic
    for (std::size_t k = 0; k < count; ++k) {
        const std::int64_t gcell = goals[k];
        if (!grid.free(gcell) || out[gcell] == 0.0) continue;
        out[gcell] = 0.0;
        open.push({0.0, 0.0, gcell});
    }
    // Lazy deletion: an entry is stale when its distance exceeds the settled value. Each cell
    // is settled once, so the loop is bounded by the pushes (<= cells * moves).
    std::vector<std::uint8_t> done(static_cast<std::size_t>(n), 0);
    while (!open.empty()) {
        const detail::OpenEntry e = open.top();
        open.pop();
        auto& d = done[static_cast<std::size_t>(e.cell)];
        if (d || e.g > out[e.cell]) continue;
        d = 1;
        const detail::Coord p = detail::coord_of(grid, e.cell);
        const double step_cost = grid.cost(e.cell);
        for (const detail::Move& m : moves) {
            if (!detail::move_legal(grid, p, e.cell, m)) continue;
            const std::int64_t v = e.cell + m.offset;
            const double nd = e.g + m.length * step_cost;
            if (nd < out[v]) {
                out[v] = nd;
                open.push({nd, nd, v});
            }
        }
    }
}

}  // namespace fbsim
