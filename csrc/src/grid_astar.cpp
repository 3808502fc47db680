// SPDX-License-Identifier: MIT
// fbsim: A* on 2D/3D grids (Hart, Nilsson & Raphael 1968) with the obstacle-free grid distance
// as heuristic (octile in 2D; Russell & Norvig, AIMA 3rd ed. sec. 3.5-3.6), plus the batch
// driver shared with JPS. The open list uses lazy deletion (stale entries are skipped when
// popped) rather than decrease-key: simpler and faster with a binary heap on grids.
#include <algorithm>
#include <cmath>
#include <exception>
#include <memory>
#include <thread>

#include "detail/exact_astar.hpp"
#include "detail/grid_search.hpp"
#include "fbsim/pathfinding.hpp"

namespace fbsim {

using detail::Coord;
using detail::kInf;
using detail::kSqrt2;

bool GridView::free(std::int64_t i) const noexcept {
    return costs ? costs[i] < kInf : passable[i] != 0;
}

bool valid_connectivity(int ndim, int connectivity) noexcept {
    if (ndim == 2) return connectivity == 4 || connectivity == 8;
    if (ndim == 3) return connectivity == 6 || connectivity == 18 || connectivity == 26;
    return false;
}

Status validate_grid_costs(const double* costs, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const double v = costs[i];
        if (v >= 1.0) continue;  // finite >= 1 and +inf pass; NaN fails every comparison
        Status s;
        s.code = std::isnan(v) || std::isinf(v) ? ErrorCode::kNotFinite : ErrorCode::kOutOfRange;
        s.index = i;
        s.value = v;
        return s;
    }
    return {};
}

namespace detail {

namespace {

template <class Store>
void astar_impl(const GridView& g, const std::vector<Move>& moves, int connectivity,
                std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                Store& store, PathResult* out, bool want_path) {
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    if (!g.free(start) || !g.free(goal)) return;
    store.reset();
    const Coord gc = coord_of(g, goal);
    const auto h = [&](std::int64_t cell) {
        const Coord p = coord_of(g, cell);
        return grid_distance(p.z - gc.z, p.r - gc.r, p.c - gc.c, connectivity);
    };
    OpenList open;
    store.at(start).g = 0.0;
    open.push({h(start), 0.0, start});
    // Each cell is closed at most once, so the loop runs at most size() expansions; pushes
    // are bounded by size() * moves.size().
    while (!open.empty()) {
        const OpenEntry e = open.top();
        open.pop();
        Node& n = store.at(e.cell);
        if (n.closed || e.g > n.g) continue;  // stale entry
        n.closed = true;
        ++out->expansions;
        if (e.cell == goal) {
            out->found = true;
            out->cost = n.g;
            if (want_path) trace_path(store, goal, &out->cells);
            return;
        }
        if (max_expansions > 0 && out->expansions >= max_expansions) {
            out->capped = true;
            return;
        }
        const Coord p = coord_of(g, e.cell);
        const double base = n.g;
        for (const Move& m : moves) {
            const std::int64_t z = p.z + m.dz, r = p.r + m.dr, c = p.c + m.dc;
            if (z < 0 || z >= g.depth || r < 0 || r >= g.rows || c < 0 || c >= g.cols) continue;
            bool legal = true;
            for (int k = 0; k < m.required_count && legal; ++k) legal = g.free(e.cell + m.required[k]);
            if (!legal) continue;
            const std::int64_t next = e.cell + m.offset;
            const double ng = base + m.length * g.cost(next);
            Node& s = store.at(next);
            if (s.closed || ng >= s.g) continue;
            s.g = ng;
            s.parent = e.cell;
            open.push({ng + grid_distance(z - gc.z, r - gc.r, c - gc.c, connectivity), ng, next});
        }
    }
}

/// The common case (2D, uniform cost, 8-connected) specialised: the four orthogonal
/// neighbours are read once and reused for the corner rule of the diagonals, the octile
/// heuristic is inlined, and every step costs its length. Same expansions and tie-breaking as
/// astar_impl, so both give the same result; this only removes work.
template <class Store>
void astar_uniform8(const GridView& g, std::int64_t start, std::int64_t goal,
                    std::int64_t max_expansions, Store& store, PathResult* out, bool want_path) {
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    const std::uint8_t* free = g.passable;
    if (!free[start] || !free[goal]) return;
    store.reset();
    const std::int64_t rows = g.rows, cols = g.cols, gr = goal / cols, gc = goal % cols;
    const auto h = [&](std::int64_t r, std::int64_t c) {
        std::int64_t a = r > gr ? r - gr : gr - r, b = c > gc ? c - gc : gc - c;
        if (a < b) std::swap(a, b);
        return static_cast<double>(a - b) + kSqrt2 * static_cast<double>(b);
    };
    OpenList open;
    store.at(start).g = 0.0;
    open.push({h(start / cols, start % cols), 0.0, start});
    while (!open.empty()) {  // bounded as in astar_impl: each cell closes once
        const OpenEntry e = open.top();
        open.pop();
        Node& n = store.at(e.cell);
        if (n.closed || e.g > n.g) continue;
        n.closed = true;
        ++out->expansions;
        if (e.cell == goal) {
            out->found = true;
            out->cost = n.g;
            if (want_path) trace_path(store, goal, &out->cells);
            return;
        }
        if (max_expansions > 0 && out->expansions >= max_expansions) {
            out->capped = true;
            return;
        }
        const std::int64_t cell = e.cell, r = cell / cols, c = cell % cols;
        const double base = n.g;
        const auto relax = [&](std::int64_t next, std::int64_t nr, std::int64_t nc, double len) {
            const double ng = base + len;
            Node& s = store.at(next);
            if (s.closed || ng >= s.g) return;
            s.g = ng;
            s.parent = cell;
            open.push({ng + h(nr, nc), ng, next});
        };
        const bool up = r > 0 && free[cell - cols], down = r + 1 < rows && free[cell + cols];
        const bool left = c > 0 && free[cell - 1], right = c + 1 < cols && free[cell + 1];
        // Same move order as make_moves (row -1..1, then col -1..1).
        if (up && left && free[cell - cols - 1]) relax(cell - cols - 1, r - 1, c - 1, kSqrt2);
        if (up) relax(cell - cols, r - 1, c, 1.0);
        if (up && right && free[cell - cols + 1]) relax(cell - cols + 1, r - 1, c + 1, kSqrt2);
        if (left) relax(cell - 1, r, c - 1, 1.0);
        if (right) relax(cell + 1, r, c + 1, 1.0);
        if (down && left && free[cell + cols - 1]) relax(cell + cols - 1, r + 1, c - 1, kSqrt2);
        if (down) relax(cell + cols, r + 1, c, 1.0);
        if (down && right && free[cell + cols + 1]) relax(cell + cols + 1, r + 1, c + 1, kSqrt2);
    }
}

}  // namespace

void astar_search(const GridView& g, const std::vector<Move>& moves, int connectivity,
                  std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                  DenseStore& store, PathResult* out, bool want_path) {
    if (g.ndim == 2 && g.passable && connectivity == 8)
        return astar_uniform8(g, start, goal, max_expansions, store, out, want_path);
    astar_impl(g, moves, connectivity, start, goal, max_expansions, store, out, want_path);
}
void astar_search(const GridView& g, const std::vector<Move>& moves, int connectivity,
                  std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                  HashStore& store, PathResult* out, bool want_path) {
    if (g.ndim == 2 && g.passable && connectivity == 8)
        return astar_uniform8(g, start, goal, max_expansions, store, out, want_path);
    astar_impl(g, moves, connectivity, start, goal, max_expansions, store, out, want_path);
}

}  // namespace detail

namespace {

/// The dense exact-cost A* (uniform grids); on the (practically unreachable) move-count
/// overflow it reruns the query with the double-cost search in a sparse store.
void astar_uniform(const GridView& grid, const std::vector<detail::Move>& moves,
                   std::int64_t start, std::int64_t goal, const PathSettings& settings,
                   detail::ExactStore& store, PathResult* out, bool want_path) {
    if (detail::astar_exact(grid, moves, settings.connectivity, start, goal,
                            settings.max_expansions, store, out, want_path))
        return;
    detail::HashStore fallback;
    detail::astar_search(grid, moves, settings.connectivity, start, goal,
                         settings.max_expansions, fallback, out, want_path);
}

/// The calling thread's exact-search state, kept between grid_astar calls (see
/// kAstarRetainedBytes): the one deliberate cache in the library, per thread so that calls
/// with the GIL released never share it. Null until first used and after being dropped.
thread_local std::unique_ptr<detail::ExactStore> t_astar_store;

}  // namespace

void grid_astar(const GridView& grid, std::int64_t start, std::int64_t goal,
                const PathSettings& settings, PathResult* out) {
    const auto moves = detail::make_moves(grid, settings.connectivity);
    if (grid.passable) {
        if (!t_astar_store) t_astar_store = std::make_unique<detail::ExactStore>();
        detail::ExactStore& store = *t_astar_store;
        // The grid may have been edited, or freed and another one allocated at its address,
        // since the last call: repack its passability. Node state stays (stamps).
        store.state2d.forget_grid();
        try {
            astar_uniform(grid, moves, start, goal, settings, store, out, true);
        } catch (...) {
            t_astar_store.reset();  // a failed allocation may have left it half built
            throw;
        }
        if (store.bytes() > kAstarRetainedBytes) t_astar_store.reset();
    } else if (grid.size() <= detail::kDenseStateCells) {
        detail::DenseStore store(grid.size());
        detail::astar_search(grid, moves, settings.connectivity, start, goal,
                             settings.max_expansions, store, out, true);
    } else {
        detail::HashStore store;
        detail::astar_search(grid, moves, settings.connectivity, start, goal,
                             settings.max_expansions, store, out, true);
    }
}

namespace {

template <class Store>
void run_block(const GridView& grid, const std::int64_t* starts, const std::int64_t* goals,
               std::size_t begin, std::size_t end, PathMethod method,
               const PathSettings& settings, Store& store, double* out_costs,
               std::int64_t* out_expansions) {
    const auto moves = detail::make_moves(grid, settings.connectivity);
    PathResult r;
    for (std::size_t q = begin; q < end; ++q) {
        if (method == PathMethod::kJps) {
            detail::jps_search(grid, starts[q], goals[q], settings.max_expansions, store, &r,
                               false);
        } else {
            detail::astar_search(grid, moves, settings.connectivity, starts[q], goals[q],
                                 settings.max_expansions, store, &r, false);
        }
        out_costs[q] = r.found ? r.cost : kInf;
        if (out_expansions) out_expansions[q] = r.expansions;
    }
}

void run_block_any(const GridView& grid, const std::int64_t* starts, const std::int64_t* goals,
                   std::size_t begin, std::size_t end, PathMethod method,
                   const PathSettings& settings, double* out_costs,
                   std::int64_t* out_expansions) {
    if (begin >= end) return;
    if (method == PathMethod::kAstar && grid.passable) {
        const auto moves = detail::make_moves(grid, settings.connectivity);
        detail::ExactStore store;
        PathResult r;
        for (std::size_t q = begin; q < end; ++q) {
            astar_uniform(grid, moves, starts[q], goals[q], settings, store, &r, false);
            out_costs[q] = r.found ? r.cost : kInf;
            if (out_expansions) out_expansions[q] = r.expansions;
        }
    } else if (grid.size() <= detail::kDenseStateCells) {
        detail::DenseStore store(grid.size());
        run_block(grid, starts, goals, begin, end, method, settings, store, out_costs,
                  out_expansions);
    } else {
        detail::HashStore store;
        run_block(grid, starts, goals, begin, end, method, settings, store, out_costs,
                  out_expansions);
    }
}

}  // namespace

void grid_paths_batch(const GridView& grid, const std::int64_t* starts,
                      const std::int64_t* goals, std::size_t count, PathMethod method,
                      const PathSettings& settings, unsigned workers, double* out_costs,
                      std::int64_t* out_expansions) {
    if (count == 0) return;
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    workers = static_cast<unsigned>(std::min<std::size_t>(workers, count));
    if (workers <= 1) {
        run_block_any(grid, starts, goals, 0, count, method, settings, out_costs,
                      out_expansions);
        return;
    }
    // Fixed contiguous blocks: each query's result is independent of the worker count.
    // A worker that fails to allocate stores its exception; it is rethrown after the join
    // (std::bad_alloc is the only thing the core lets escape).
    std::vector<std::thread> threads;
    std::vector<std::exception_ptr> errors(workers);
    threads.reserve(workers);
    const std::size_t per = (count + workers - 1) / workers;
    for (unsigned w = 0; w < workers; ++w) {
        const std::size_t b = std::min(count, w * per), e = std::min(count, b + per);
        threads.emplace_back([&, b, e, w] {
            try {
                run_block_any(grid, starts, goals, b, e, method, settings, out_costs,
                              out_expansions);
            } catch (...) {
                errors[w] = std::current_exception();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (auto& err : errors)
        if (err) std::rethrow_exception(err);
}

}  // namespace fbsim
