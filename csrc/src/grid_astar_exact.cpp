// SPDX-License-Identifier: MIT
// fbsim: A* on uniform-cost grids with exact costs (detail/exact_astar.hpp). What makes it
// fast, besides the exact tie-break: 12 bytes of state per cell reused across queries (stamps,
// the closed flag and a 5-bit parent move share one word), a 4-ary heap kept between queries,
// and one read of the 3x3(x3) neighbourhood per expansion into a bit mask, so each move's
// no-corner-cutting rule is a single AND and interior cells skip the bounds checks.
#include <algorithm>

#include "detail/exact_astar.hpp"

namespace fbsim::detail {

namespace {

/// Bit of a neighbour (dz, dr, dc), each in -1..1, in the neighbourhood mask.
constexpr int nb_bit(int dz, int dr, int dc) { return (dz + 1) * 9 + (dr + 1) * 3 + (dc + 1); }

struct ExactMove {
    std::int64_t offset;
    std::uint32_t need;  ///< Neighbourhood bits that must be free: the move's bounding box.
    ExactCost inc;       ///< Packed cost of the move (one unit in the field of its length).
    int dz, dr, dc;
};

/// Heuristic move counts (obstacle-free distance, as grid_distance) from a cell's offset to
/// the goal, added to the cost `g` and turned into f. Equal counts give bit-equal f.
inline double f_value(ExactCost g, std::int64_t d0, std::int64_t d1, std::int64_t d2,
                      int connectivity) noexcept {
    std::int64_t a = d0 < 0 ? -d0 : d0, b = d1 < 0 ? -d1 : d1, c = d2 < 0 ? -d2 : d2;
    if (a < b) std::swap(a, b);
    if (b < c) std::swap(b, c);
    if (a < b) std::swap(a, b);
    std::int64_t h1, h2 = 0, h3 = 0;
    switch (connectivity) {
        case 4:
        case 6:
            h1 = a + b + c;
            break;
        case 8:
            h1 = a - b;
            h2 = b;
            break;
        case 18: {
            const std::int64_t s = a + b + c, m = std::min(s / 2, b + c);
            h1 = s - 2 * m;
            h2 = m;
            break;
        }
        default:
            h1 = a - b;
            h2 = b - c;
            h3 = c;
    }
    const auto g1 = static_cast<std::int64_t>(g & kExactFieldMask);
    const auto g2 = static_cast<std::int64_t>((g >> kExactFieldBits) & kExactFieldMask);
    const auto g3 = static_cast<std::int64_t>((g >> (2 * kExactFieldBits)) & kExactFieldMask);
    return exact_value(g1 + h1, g2 + h2, g3 + h3);
}

inline ExactCost node_g(const ExactNode& n) noexcept {
    return static_cast<ExactCost>(n.g_lo) | (static_cast<ExactCost>(n.g_hi) << 32);
}
inline void set_g(ExactNode& n, ExactCost g) noexcept {
    n.g_lo = static_cast<std::uint32_t>(g);
    n.g_hi = static_cast<std::uint32_t>(g >> 32);
}

/// 4-ary min-heap on ExactLater's order (a total order, so pops do not depend on the shape).
/// Shallower than a binary heap: fewer cache misses per sift-down on large open lists.
inline void heap_push(std::vector<ExactEntry>& h, const ExactEntry& e) {
    const ExactLater later;
    std::size_t i = h.size();
    h.push_back(e);
    while (i > 0) {
        const std::size_t p = (i - 1) / 4;
        if (!later(h[p], e)) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}
inline ExactEntry heap_pop(std::vector<ExactEntry>& h) {
    const ExactLater later;
    const ExactEntry top = h.front();
    const ExactEntry last = h.back();
    h.pop_back();
    const std::size_t n = h.size();
    if (n == 0) return top;
    std::size_t i = 0;
    for (;;) {
        const std::size_t first = 4 * i + 1;
        if (first >= n) break;
        std::size_t best = first;
        const std::size_t end = std::min(first + 4, n);
        for (std::size_t k = first + 1; k < end; ++k)
            if (later(h[best], h[k])) best = k;
        if (!later(last, h[best])) break;
        h[i] = h[best];
        i = best;
    }
    h[i] = last;
    return top;
}

}  // namespace

bool astar_exact(const GridView& g, const std::vector<Move>& moves, int connectivity,
                 std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                 ExactStore& store, PathResult* out, bool want_path) {
    if (g.ndim == 3)  // the voxel-specialised kernel (grid_astar_exact_3d.cpp)
        return astar_exact_3d(g, moves, connectivity, start, goal, max_expansions, store, out,
                              want_path);
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    const std::uint8_t* free = g.passable;
    if (!free[start] || !free[goal]) return true;
    // 2D: the specialised kernel (grid_astar_exact_2d.cpp), same pops as the loop below.
    if (g.ndim == 2 && (connectivity == 4 || connectivity == 8))
        return astar_exact_2d(g, connectivity, start, goal, max_expansions, store, out, want_path);
    store.ensure(g.size());
    store.reset();
    const std::uint32_t stamp = store.stamp(), live = stamp << 6;
    ExactNode* nodes = store.nodes();

    const bool is3d = g.ndim == 3;
    const std::int64_t plane = g.rows * g.cols, cols = g.cols;
    // The neighbourhood: (bit, offset, dz, dr, dc) of the 8 or 26 surrounding cells.
    struct Nb {
        std::uint32_t bit;
        std::int64_t offset;
        int dz, dr, dc;
    };
    Nb nbs[26];
    int nb_count = 0;
    for (int dz = is3d ? -1 : 0; dz <= (is3d ? 1 : 0); ++dz)
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc)
                if (dz || dr || dc)
                    nbs[nb_count++] = {std::uint32_t{1} << nb_bit(dz, dr, dc),
                                       dz * plane + dr * cols + dc, dz, dr, dc};
    ExactMove ms[26];
    const int move_count = static_cast<int>(moves.size());
    for (int i = 0; i < move_count; ++i) {
        const Move& m = moves[i];
        ExactMove& x = ms[i];
        x = {m.offset, 0, 0, m.dz, m.dr, m.dc};
        // The bounding box: every non-empty subset of the moving axes.
        for (int mask = 1; mask < 8; ++mask) {
            if (((mask & 4) && !m.dz) || ((mask & 2) && !m.dr) || ((mask & 1) && !m.dc)) continue;
            x.need |= std::uint32_t{1} << nb_bit((mask & 4) ? m.dz : 0, (mask & 2) ? m.dr : 0,
                                                 (mask & 1) ? m.dc : 0);
        }
        const int axes = (m.dz != 0) + (m.dr != 0) + (m.dc != 0);
        x.inc = ExactCost{1} << ((axes - 1) * kExactFieldBits);
    }

    const std::int64_t gz = goal / plane, gr = (goal % plane) / cols, gcl = goal % cols;
    std::vector<ExactEntry>& heap = store.heap;
    std::vector<ExactEntry>& same_f = store.same_f;
    heap.clear();
    same_f.clear();
    {
        ExactNode& s = nodes[start];
        set_g(s, 0);
        s.meta = live | ExactStore::kNoParent;
        const std::int64_t z = start / plane, r = (start % plane) / cols, c = start % cols;
        heap_push(heap, {f_value(0, z - gz, r - gr, c - gcl, connectivity), 0.0f,
                         static_cast<std::uint32_t>(start)});
    }
    // Each cell closes at most once, so at most size() expansions and size() * moves pushes.
    // Any open node of minimum f may be expanded next without losing optimality (the
    // heuristic is consistent). A child whose exact f equals the f just popped is such a node,
    // so it goes on a LIFO stack that is drained before the heap: on octile grids most
    // children heading toward the goal keep f, and skip the heap entirely (depth first among
    // equal f, which also favours larger g). Deterministic: no order depends on threads.
    while (!heap.empty() || !same_f.empty()) {
        ExactEntry e;
        if (!same_f.empty()) {
            e = same_f.back();
            same_f.pop_back();
        } else {
            e = heap_pop(heap);
        }
        ExactNode& n = nodes[e.cell];
        if (n.meta & ExactStore::kClosed) continue;  // stale (see ExactEntry)
        const ExactCost gcur = node_g(n);
        const double gv = exact_value(gcur);
        n.meta |= ExactStore::kClosed;
        ++out->expansions;
        if (e.cell == goal) {
            out->found = true;
            out->cost = gv;
            if (want_path) {
                std::int64_t cell = goal;
                out->cells.push_back(cell);
                // A parent chain visits distinct cells: at most size() steps.
                for (std::int64_t k = 0; k < g.size(); ++k) {
                    const std::uint32_t dir = nodes[cell].meta & 31u;
                    if (dir == ExactStore::kNoParent) break;
                    cell -= ms[dir].offset;
                    out->cells.push_back(cell);
                }
                std::reverse(out->cells.begin(), out->cells.end());
            }
            return true;
        }
        if (max_expansions > 0 && out->expansions >= max_expansions) {
            out->capped = true;
            return true;
        }
        const std::int64_t cell = e.cell, z = cell / plane, r = (cell % plane) / cols,
                           c = cell % cols;
        std::uint32_t free_nb = 0;
        const bool interior = r > 0 && r + 1 < g.rows && c > 0 && c + 1 < cols &&
                              (!is3d || (z > 0 && z + 1 < g.depth));
        if (interior) {
            for (int k = 0; k < nb_count; ++k)
                if (free[cell + nbs[k].offset]) free_nb |= nbs[k].bit;
        } else {
            for (int k = 0; k < nb_count; ++k) {
                const Nb& b = nbs[k];
                const std::int64_t nz = z + b.dz, nr = r + b.dr, nc = c + b.dc;
                if (nz < 0 || nz >= g.depth || nr < 0 || nr >= g.rows || nc < 0 || nc >= cols)
                    continue;
                if (free[cell + b.offset]) free_nb |= b.bit;
            }
        }
        for (int i = 0; i < move_count; ++i) {
            const ExactMove& m = ms[i];
            if ((free_nb & m.need) != m.need) continue;
            const std::int64_t next = cell + m.offset;
            const ExactCost ng = gcur + m.inc;
            if (ng & kExactGuard) return false;
            const double ngv = exact_value(ng);
            ExactNode& s = nodes[next];
            if ((s.meta >> 6) == stamp) {
                if (s.meta & ExactStore::kClosed) continue;
                if (ngv >= exact_value(node_g(s))) continue;
            }
            set_g(s, ng);
            s.meta = live | static_cast<std::uint32_t>(i);
            const ExactEntry child{
                f_value(ng, z + m.dz - gz, r + m.dr - gr, c + m.dc - gcl, connectivity),
                static_cast<float>(ngv), static_cast<std::uint32_t>(next)};
            if (child.f == e.f)
                same_f.push_back(child);
            else
                heap_push(heap, child);
        }
    }
    return true;
}

}  // namespace fbsim::detail
