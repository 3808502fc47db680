// SPDX-License-Identifier: MIT
// fbsim: jump point search on uniform-cost 8-connected 2D grids.
// After D. Harabor & A. Grastien, "Online Graph Pruning for Pathfinding on Grid Maps",
// AAAI 2011, in the no-corner-cutting variant of their "Improving Jump Point Search",
// ICAPS 2014: with corner cutting forbidden, diagonal moves have no forced neighbours, and a
// straight move from p to x has a forced side neighbour n exactly when n is free but the
// cell beside p on the same side is blocked (then n, and the diagonal towards it, can only
// be reached optimally through x). Canonical order: diagonal first, so a diagonal jump stops
// wherever one of its two straight component jumps finds a jump point.
// Deviation: the search reports expansions as jump points popped; the returned path is the
// full cell sequence (jump segments are interpolated), identical in cost to A*'s.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "detail/grid_search.hpp"
#include "fbsim/pathfinding.hpp"

namespace fbsim {

using detail::kInf;
using detail::kSqrt2;

bool jps_supported(const GridView& grid) noexcept {
    if (grid.ndim != 2 || grid.depth != 1) return false;
    if (!grid.costs) return true;
    const std::int64_t n = grid.size();
    for (std::int64_t i = 0; i < n; ++i)
        if (grid.costs[i] < kInf && grid.costs[i] != 1.0) return false;
    return true;
}

namespace detail {

namespace {

/// Bounds-checked passability on (row, col).
struct Cells {
    const GridView& g;
    bool operator()(std::int64_t r, std::int64_t c) const noexcept {
        return r >= 0 && r < g.rows && c >= 0 && c < g.cols && g.free(r * g.cols + c);
    }
};

/// Jumps from (r, c) in direction (dr, dc). Returns the flat index of the jump point, or -1
/// when the jump runs into an obstacle or the border. Each step moves one cell, so a jump is
/// bounded by rows + cols steps (times the straight sub-jumps of a diagonal one).
std::int64_t jump(const Cells& free, std::int64_t r, std::int64_t c, int dr, int dc,
                  std::int64_t goal_r, std::int64_t goal_c) noexcept {
    const std::int64_t cols = free.g.cols;
    for (;;) {
        const std::int64_t nr = r + dr, nc = c + dc;
        if (!free(nr, nc)) return -1;
        if (dr != 0 && dc != 0 && (!free(r, nc) || !free(nr, c))) return -1;  // no corner cut
        r = nr;
        c = nc;
        if (r == goal_r && c == goal_c) return r * cols + c;
        if (dr == 0) {
            // Horizontal: a side cell free here but blocked one step back is forced.
            if ((free(r - 1, c) && !free(r - 1, c - dc)) || (free(r + 1, c) && !free(r + 1, c - dc)))
                return r * cols + c;
        } else if (dc == 0) {
            if ((free(r, c - 1) && !free(r - dr, c - 1)) || (free(r, c + 1) && !free(r - dr, c + 1)))
                return r * cols + c;
        } else {
            if (jump(free, r, c, dr, 0, goal_r, goal_c) >= 0 ||
                jump(free, r, c, 0, dc, goal_r, goal_c) >= 0)
                return r * cols + c;
        }
    }
}

int sign(std::int64_t v) { return (v > 0) - (v < 0); }

/// Expands jump-point parents into the full cell path (each segment is straight or diagonal).
template <class Store>
void trace_jumps(Store& store, std::int64_t goal, std::int64_t cols,
                 std::vector<std::int64_t>* out) {
    std::vector<std::int64_t> points;
    for (std::int64_t c = goal; c >= 0; c = store.at(c).parent) points.push_back(c);
    std::reverse(points.begin(), points.end());
    out->clear();
    out->push_back(points[0]);
    for (std::size_t k = 1; k < points.size(); ++k) {
        std::int64_t r = points[k - 1] / cols, c = points[k - 1] % cols;
        const std::int64_t tr = points[k] / cols, tc = points[k] % cols;
        const int dr = sign(tr - r), dc = sign(tc - c);
        while (r != tr || c != tc) {
            r += dr;
            c += dc;
            out->push_back(r * cols + c);
        }
    }
}

template <class Store>
void jps_impl(const GridView& g, std::int64_t start, std::int64_t goal,
              std::int64_t max_expansions, Store& store, PathResult* out, bool want_path) {
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    if (!g.free(start) || !g.free(goal)) return;
    store.reset();
    const Cells free{g};
    const std::int64_t cols = g.cols;
    const std::int64_t gr = goal / cols, gc = goal % cols;
    const auto octile = [&](std::int64_t a, std::int64_t b) {
        return grid_distance(a / cols - b / cols, a % cols - b % cols, 0, 8);
    };
    OpenList open;
    store.at(start).g = 0.0;
    open.push({octile(start, goal), 0.0, start});
    int dirs[8][2];
    while (!open.empty()) {
        const OpenEntry e = open.top();
        open.pop();
        Node& n = store.at(e.cell);
        if (n.closed || e.g > n.g) continue;
        n.closed = true;
        ++out->expansions;
        if (e.cell == goal) {
            out->found = true;
            out->cost = n.g;
            if (want_path) trace_jumps(store, goal, cols, &out->cells);
            return;
        }
        if (max_expansions > 0 && out->expansions >= max_expansions) {
            out->capped = true;
            return;
        }
        const std::int64_t r = e.cell / cols, c = e.cell % cols;
        int count = 0;
        if (n.parent < 0) {
            for (int dr = -1; dr <= 1; ++dr)
                for (int dc = -1; dc <= 1; ++dc)
                    if (dr || dc) {
                        dirs[count][0] = dr;
                        dirs[count++][1] = dc;
                    }
        } else {
            const int dr = sign(r - n.parent / cols), dc = sign(c - n.parent % cols);
            const auto add = [&](int a, int b) {
                dirs[count][0] = a;
                dirs[count++][1] = b;
            };
            if (dr != 0 && dc != 0) {
                add(dr, 0);
                add(0, dc);
                add(dr, dc);
            } else if (dr == 0) {
                add(0, dc);
                for (int s = -1; s <= 1; s += 2)
                    if (free(r + s, c) && !free(r + s, c - dc)) {
                        add(s, 0);
                        add(s, dc);
                    }
            } else {
                add(dr, 0);
                for (int s = -1; s <= 1; s += 2)
                    if (free(r, c + s) && !free(r - dr, c + s)) {
                        add(0, s);
                        add(dr, s);
                    }
            }
        }
        for (int k = 0; k < count; ++k) {
            const std::int64_t jp = jump(free, r, c, dirs[k][0], dirs[k][1], gr, gc);
            if (jp < 0) continue;
            const double ng = n.g + octile(e.cell, jp);
            Node& s = store.at(jp);
            if (s.closed || ng >= s.g) continue;
            s.g = ng;
            s.parent = e.cell;
            open.push({ng + octile(jp, goal), ng, jp});
        }
    }
}

}  // namespace

void jps_search(const GridView& g, std::int64_t start, std::int64_t goal,
                std::int64_t max_expansions, DenseStore& store, PathResult* out,
                bool want_path) {
    jps_impl(g, start, goal, max_expansions, store, out, want_path);
}
void jps_search(const GridView& g, std::int64_t start, std::int64_t goal,
                std::int64_t max_expansions, HashStore& store, PathResult* out,
                bool want_path) {
    jps_impl(g, start, goal, max_expansions, store, out, want_path);
}

}  // namespace detail

void grid_jps(const GridView& grid, std::int64_t start, std::int64_t goal,
              const PathSettings& settings, PathResult* out) {
    if (!jps_supported(grid)) {
        out->cells.clear();
        out->cost = kInf;
        out->expansions = 0;
        out->found = false;
        out->capped = false;
        return;
    }
    if (grid.size() <= detail::kDenseStateCells) {
        detail::DenseStore store(grid.size());
        detail::jps_search(grid, start, goal, settings.max_expansions, store, out, true);
    } else {
        detail::HashStore store;
        detail::jps_search(grid, start, goal, settings.max_expansions, store, out, true);
    }
}

}  // namespace fbsim
