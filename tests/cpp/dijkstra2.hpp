// SPDX-License-Identifier: MIT
// Shared by the C++ pathfinding tests: a view of a 2D bool grid, and the reference Dijkstra on
// the 2D move graph, written out here so that it shares nothing with the kernels under test.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <utility>
#include <vector>

#include "fbsim/pathfinding.hpp"

namespace fbsim_test {

/// A 2D grid view of `cells` (row-major, nonzero = passable).
inline fbsim::GridView view2(const std::vector<std::uint8_t>& cells, std::int64_t rows, std::int64_t cols) {
    fbsim::GridView g;
    g.passable = cells.data();
    g.rows = rows;
    g.cols = cols;
    return g;
}

/// Reference: Dijkstra on the 2D move graph (4 or 8 moves, a diagonal needs both orthogonal
/// cells free), written out here so that it shares nothing with the kernels.
inline double dijkstra2(const std::vector<std::uint8_t>& cells, std::int64_t rows, std::int64_t cols,
                        std::int64_t start, std::int64_t goal, int conn) {
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> dist(cells.size(), inf);
    using Item = std::pair<double, std::int64_t>;
    std::priority_queue<Item, std::vector<Item>, std::greater<Item>> open;
    const auto free = [&](std::int64_t r, std::int64_t c) {
        return r >= 0 && r < rows && c >= 0 && c < cols && cells[r * cols + c] != 0;
    };
    if (!cells[start] || !cells[goal]) return inf;
    dist[start] = 0.0;
    open.push({0.0, start});
    while (!open.empty()) {
        const auto [d, u] = open.top();
        open.pop();
        if (d > dist[u]) continue;
        if (u == goal) return d;
        const std::int64_t r = u / cols, c = u % cols;
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc) {
                if ((dr == 0 && dc == 0) || (conn == 4 && dr != 0 && dc != 0)) continue;
                if (!free(r + dr, c + dc)) continue;
                if (dr != 0 && dc != 0 && !(free(r + dr, c) && free(r, c + dc))) continue;
                const double nd = d + (dr != 0 && dc != 0 ? std::sqrt(2.0) : 1.0);
                const std::int64_t v = (r + dr) * cols + c + dc;
                if (nd < dist[v]) {
                    dist[v] = nd;
                    open.push({nd, v});
                }
            }
    }
    return inf;
}

}  // namespace fbsim_test
