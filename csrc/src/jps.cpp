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

/// Jumps from padded index p in direction (dr, dc) (padded row stride w). The padded grid has
/// a blocked border, so no bounds checks are needed: every jump stops at the border at the
/// latest. Returns the padded index of the jump point, or -1 when the jump hits an obstacle.
/// Bounded by rows + cols steps (times the straight sub-jumps of a diagonal one).
std::int64_t jump(const std::uint8_t* P, std::int64_t w, std::int64_t p, int dr, int dc,
                  std::int64_t goal) noexcept {
    const std::int64_t vr = dr * w, d = vr + dc;
    for (;;) {
        const std::int64_t np = p + d;
        if (!P[np]) return -1;
        if (dr != 0 && dc != 0 && (!P[p + dc] || !P[p + vr])) return -1;  // no corner cut
        p = np;
        if (p == goal) return p;
        if (dr == 0) {
            // Horizontal: a side cell free here but blocked one step back is forced.
            if ((P[p - w] && !P[p - w - dc]) || (P[p + w] && !P[p + w - dc])) return p;
        } else if (dc == 0) {
            if ((P[p - 1] && !P[p - 1 - vr]) || (P[p + 1] && !P[p + 1 - vr])) return p;
        } else {
            if (jump(P, w, p, dr, 0, goal) >= 0 || jump(P, w, p, 0, dc, goal) >= 0) return p;
        }
    }
}

int sign(std::int64_t v) { return (v > 0) - (v < 0); }

/// Builds the padded passability grid (one blocked cell around the map) into `pad`.
void build_padded(const GridView& g, std::vector<std::uint8_t>* pad) {
    const std::int64_t w = g.cols + 2;
    pad->assign(static_cast<std::size_t>((g.rows + 2) * w), 0);
    for (std::int64_t r = 0; r < g.rows; ++r)
        for (std::int64_t c = 0; c < g.cols; ++c)
            (*pad)[static_cast<std::size_t>((r + 1) * w + c + 1)] = g.free(r * g.cols + c) ? 1 : 0;
}

/// Expands jump-point parents (padded indices) into the full cell path in grid indices.
template <class Store>
void trace_jumps(Store& store, std::int64_t goal, std::int64_t w, std::int64_t cols,
                 std::vector<std::int64_t>* out) {
    std::vector<std::int64_t> points;
    for (std::int64_t c = goal; c >= 0; c = store.at(c).parent) points.push_back(c);
    std::reverse(points.begin(), points.end());
    out->clear();
    const auto orig = [&](std::int64_t r, std::int64_t c) { return (r - 1) * cols + (c - 1); };
    out->push_back(orig(points[0] / w, points[0] % w));
    for (std::size_t k = 1; k < points.size(); ++k) {
        std::int64_t r = points[k - 1] / w, c = points[k - 1] % w;
        const std::int64_t tr = points[k] / w, tc = points[k] % w;
        const int dr = sign(tr - r), dc = sign(tc - c);
        while (r != tr || c != tc) {
            r += dr;
            c += dc;
            out->push_back(orig(r, c));
        }
    }
}

template <class Store>
void jps_impl(const GridView& g, std::int64_t start_cell, std::int64_t goal_cell,
              std::int64_t max_expansions, Store& store, PathResult* out, bool want_path) {
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    if (!g.free(start_cell) || !g.free(goal_cell)) return;
    const std::int64_t w = g.cols + 2;
    const std::int64_t padded_size = (g.rows + 2) * w;
    if (static_cast<std::int64_t>(store.scratch.size()) != padded_size) build_padded(g, &store.scratch);
    store.ensure(padded_size);
    store.reset();
    const std::uint8_t* P = store.scratch.data();
    const auto pad = [&](std::int64_t cell) { return (cell / g.cols + 1) * w + cell % g.cols + 1; };
    const std::int64_t start = pad(start_cell), goal = pad(goal_cell);
    const auto octile = [&](std::int64_t a, std::int64_t b) {
        return grid_distance(a / w - b / w, a % w - b % w, 0, 8);
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
            if (want_path) trace_jumps(store, goal, w, g.cols, &out->cells);
            return;
        }
        if (max_expansions > 0 && out->expansions >= max_expansions) {
            out->capped = true;
            return;
        }
        const std::int64_t p = e.cell;
        int count = 0;
        const auto add = [&](int a, int b) {
            dirs[count][0] = a;
            dirs[count++][1] = b;
        };
        if (n.parent < 0) {
            for (int dr = -1; dr <= 1; ++dr)
                for (int dc = -1; dc <= 1; ++dc)
                    if (dr || dc) add(dr, dc);
        } else {
            const int dr = sign(p / w - n.parent / w), dc = sign(p % w - n.parent % w);
            if (dr != 0 && dc != 0) {
                add(dr, 0);
                add(0, dc);
                add(dr, dc);
            } else if (dr == 0) {
                add(0, dc);
                for (int s = -1; s <= 1; s += 2)
                    if (P[p + s * w] && !P[p + s * w - dc]) {
                        add(s, 0);
                        add(s, dc);
                    }
            } else {
                add(dr, 0);
                for (int s = -1; s <= 1; s += 2)
                    if (P[p + s] && !P[p + s - dr * w]) {
                        add(0, s);
                        add(dr, s);
                    }
            }
        }
        for (int k = 0; k < count; ++k) {
            const std::int64_t jp = jump(P, w, p, dirs[k][0], dirs[k][1], goal);
            if (jp < 0) continue;
            const double ng = n.g + octile(p, jp);
            Node& s = store.at(jp);
            if (s.closed || ng >= s.g) continue;
            s.g = ng;
            s.parent = p;
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
        detail::DenseStore store(0);  // sized by jps_search to the padded grid
        detail::jps_search(grid, start, goal, settings.max_expansions, store, out, true);
    } else {
        detail::HashStore store;
        detail::jps_search(grid, start, goal, settings.max_expansions, store, out, true);
    }
}

}  // namespace fbsim
