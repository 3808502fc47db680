// SPDX-License-Identifier: MIT
// fbsim: exact-cost A* specialised for 2D uniform grids (4- and 8-connected); the generic
// astar_exact dispatches here. Same expansion order as the generic kernel, hence the same
// costs, paths and expansion counts; what changes is how each expansion is paid for:
//
// * The open list is a monotone bucket queue instead of a 4-ary heap. With a consistent
//   heuristic the popped f never decreases, and a child's f exceeds its parent's by at most
//   2 * (longest move) = 2 sqrt2 (the move's cost plus at most as much heuristic change), so
//   every open entry lies in [f_min, f_min + 2 sqrt2]. A ring of buckets of width 1/kScale
//   covering that window holds them; only the lowest bucket is ordered (sorted once, when the
//   scan reaches it, by ExactLater's total order), so pops come out exactly as from one
//   global heap. Buckets hold a few entries each: sorting them is far cheaper than sifting
//   a heap of thousands.
// * The passability is read from a bit-packed copy padded with a blocked border: three
//   unaligned 64-bit loads give a cell's 3 x 3 neighbourhood, a 512-entry table turns it into
//   the set of legal moves (the no-corner-cutting rule precomputed), and no cell needs a
//   bounds check.
// * Move tables, costs and heuristic are compile-time: f = A + B sqrt2 from integer counts.
#include <algorithm>
#include <array>
#include <cstring>

#include "detail/exact_astar.hpp"
#include "detail/exact_astar_2d.hpp"

namespace fbsim::detail {

namespace {

/// Buckets per unit of f. A power of two, so f * kScale is exact and floor() monotone.
constexpr double kScale = 128.0;
/// Ring size: must exceed the bucket span of the open window, 2 sqrt2 * kScale + 1 = 363.
constexpr std::int64_t kRing = 512;
static_assert(static_cast<double>(kRing) > 2.0 * 1.41421356237309504880 * kScale + 2.0,
              "the ring must cover the open window of f values");

/// Moves in make_moves' order (row -1..1, then column -1..1), so parent choices and hence
/// paths match the generic kernel.
struct Move2D {
    int dr, dc;
    bool diagonal;
};
constexpr std::array<Move2D, 8> kMoves8{{{-1, -1, true},
                                         {-1, 0, false},
                                         {-1, 1, true},
                                         {0, -1, false},
                                         {0, 1, false},
                                         {1, -1, true},
                                         {1, 0, false},
                                         {1, 1, true}}};
constexpr std::array<Move2D, 4> kMoves4{{{-1, 0, false}, {0, -1, false}, {0, 1, false}, {1, 0, false}}};

template <int Conn>
constexpr const Move2D& move_at(int i) {
    if constexpr (Conn == 8) return kMoves8[static_cast<std::size_t>(i)];
    else return kMoves4[static_cast<std::size_t>(i)];
}

/// Bit of neighbour (dr, dc) in the 9-bit neighbourhood mask (row-major, centre = bit 4).
constexpr int nb_bit(int dr, int dc) { return (dr + 1) * 3 + (dc + 1); }

/// legal[mask] = bit i set when move i is allowed from a cell whose free neighbours are
/// `mask`: the destination and, for a diagonal, both orthogonal cells it passes must be free.
template <int Conn>
constexpr std::array<std::uint8_t, 512> make_legal() {
    std::array<std::uint8_t, 512> t{};
    for (int mask = 0; mask < 512; ++mask) {
        std::uint8_t bits = 0;
        for (int i = 0; i < Conn; ++i) {
            const Move2D& m = move_at<Conn>(i);
            int need = 1 << nb_bit(m.dr, m.dc);
            if (m.diagonal) need |= (1 << nb_bit(m.dr, 0)) | (1 << nb_bit(0, m.dc));
            if ((mask & need) == need) bits = static_cast<std::uint8_t>(bits | (1u << i));
        }
        t[static_cast<std::size_t>(mask)] = bits;
    }
    return t;
}
template <int Conn>
constexpr std::array<std::uint8_t, 512> kLegal = make_legal<Conn>();

inline std::uint64_t load_u64(const std::uint8_t* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;  // little-endian bit order assumed below (x86-64, AArch64)
}

/// The 3 x 3 neighbourhood of grid cell (r, c): padded rows r..r+2, padded columns c..c+2.
inline std::uint32_t neighbourhood(const Exact2DBits& b, std::int64_t r, std::int64_t c) noexcept {
    const std::uint8_t* p = b.bytes() + r * b.row_bytes + (c >> 3);
    const unsigned s = static_cast<unsigned>(c & 7);
    const auto top = static_cast<std::uint32_t>((load_u64(p) >> s) & 7u);
    const auto mid = static_cast<std::uint32_t>((load_u64(p + b.row_bytes) >> s) & 7u);
    const auto bot = static_cast<std::uint32_t>((load_u64(p + 2 * b.row_bytes) >> s) & 7u);
    return top | (mid << 3) | (bot << 6);
}

inline double value2(std::int64_t a, std::int64_t b) noexcept {
    // Bit-identical to exact_value(a, b, 0): adding sqrt3 * 0 = +0.0 changes no value.
    return static_cast<double>(a) + kSqrt2 * static_cast<double>(b);
}

/// The lowest bucket is kept sorted from last to first in ExactLater's order, so its minimum
/// is at the back. Children land in it only when their f is within 1/kScale of the current
/// one but not equal (never on 2D grids, whose f steps are 0 or >= 2 - sqrt2, but the
/// queue does not rely on that): insertion keeps the order.
inline void sorted_insert(std::vector<ExactEntry>& b, const ExactEntry& e) {
    // First position whose entry is not later than e: everything before it pops after e.
    const auto it = std::lower_bound(b.begin(), b.end(), e, [](const ExactEntry& x, const ExactEntry& y) {
        return ExactLater{}(x, y);
    });
    b.insert(it, e);
}

template <int Conn>
bool search(const GridView& g, std::int64_t start, std::int64_t goal,
            std::int64_t max_expansions, ExactStore& store, PathResult* out, bool want_path) {
    const std::int64_t cols = g.cols;
    Exact2DBits& bits = store.bits2d;
    bits.build(g);
    store.ensure(g.size());
    store.reset();
    const std::uint32_t stamp = store.stamp(), live = stamp << 6;
    ExactNode* nodes = store.nodes();
    std::vector<ExactEntry>& same_f = store.same_f;
    same_f.clear();
    std::vector<std::vector<ExactEntry>>& ring = store.buckets2d;
    if (ring.size() != static_cast<std::size_t>(kRing)) ring.assign(kRing, {});
    for (auto& b : ring) b.clear();

    const std::int64_t gr = goal / cols, gc = goal % cols;
    // f of a cell at (r, c) reached with counts (a, b): heuristic counts are the octile
    // (or Manhattan) distance's unit and diagonal moves.
    const auto f_of = [&](std::int64_t a, std::int64_t b, std::int64_t r, std::int64_t c) {
        std::int64_t dr = r - gr, dc = c - gc;
        dr = dr < 0 ? -dr : dr;
        dc = dc < 0 ? -dc : dc;
        if constexpr (Conn == 8) {
            const std::int64_t lo = dr < dc ? dr : dc, hi = dr < dc ? dc : dr;
            return value2(a + hi - lo, b + lo);
        } else {
            return value2(a + dr + dc, b);
        }
    };

    std::int64_t cur;  // absolute index of the lowest bucket; ring[cur % kRing] is sorted
    std::size_t queued = 0;  // entries in the ring
    {
        ExactNode& s = nodes[start];
        s.g_lo = 0;
        s.g_hi = 0;
        s.meta = live | ExactStore::kNoParent;
        const ExactEntry e{f_of(0, 0, start / cols, start % cols), 0.0f,
                           static_cast<std::uint32_t>(start)};
        cur = static_cast<std::int64_t>(e.f * kScale);
        ring[static_cast<std::size_t>(cur % kRing)].push_back(e);
        queued = 1;
    }
    std::vector<ExactEntry>* low = &ring[static_cast<std::size_t>(cur % kRing)];
    // Each cell closes at most once: at most size() expansions, Conn pushes each. The bucket
    // scan advances `cur` at most kRing times per pop while entries remain (all of them lie
    // within kRing buckets of it).
    while (queued != 0 || !same_f.empty()) {
        ExactEntry e;
        if (!same_f.empty()) {
            e = same_f.back();
            same_f.pop_back();
        } else {
            for (std::int64_t k = 0; low->empty(); ++k) {
                if (k >= kRing) return false;  // unreachable: the window invariant broke
                ++cur;
                low = &ring[static_cast<std::size_t>(cur % kRing)];
                if (low->size() > 1) std::sort(low->begin(), low->end(), ExactLater{});
            }
            e = low->back();
            low->pop_back();
            --queued;
        }
        ExactNode& n = nodes[e.cell];
        if (n.meta & ExactStore::kClosed) continue;  // stale (see ExactEntry)
        const std::int64_t ga = n.g_lo, gb = n.g_hi;
        n.meta |= ExactStore::kClosed;
        ++out->expansions;
        if (e.cell == goal) {
            out->found = true;
            out->cost = value2(ga, gb);
            if (want_path) {
                std::int64_t cell = goal;
                out->cells.push_back(cell);
                for (std::int64_t k = 0; k < g.size(); ++k) {  // distinct cells: bounded
                    const std::uint32_t dir = nodes[cell].meta & 31u;
                    if (dir == ExactStore::kNoParent) break;
                    const Move2D& m = move_at<Conn>(static_cast<int>(dir));
                    cell -= m.dr * cols + m.dc;
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
        const std::int64_t cell = e.cell, r = cell / cols, c = cell % cols;
        std::uint32_t legal = kLegal<Conn>[neighbourhood(bits, r, c)];
        while (legal) {
            const int i = __builtin_ctz(legal);
            legal &= legal - 1;
            const Move2D& m = move_at<Conn>(i);
            const std::int64_t na = ga + (m.diagonal ? 0 : 1), nb = gb + (m.diagonal ? 1 : 0);
            if (na >= kExact2DMaxCount || nb >= kExact2DMaxCount) return false;
            const std::int64_t next = cell + m.dr * cols + m.dc;
            ExactNode& s = nodes[next];
            const double ngv = value2(na, nb);
            if ((s.meta >> 6) == stamp) {
                if (s.meta & ExactStore::kClosed) continue;
                if (ngv >= value2(s.g_lo, s.g_hi)) continue;
            }
            s.g_lo = static_cast<std::uint32_t>(na);
            s.g_hi = static_cast<std::uint32_t>(nb);
            s.meta = live | static_cast<std::uint32_t>(i);
            const ExactEntry child{f_of(na, nb, r + m.dr, c + m.dc), static_cast<float>(ngv),
                                   static_cast<std::uint32_t>(next)};
            if (child.f == e.f) {
                same_f.push_back(child);
                continue;
            }
            const auto idx = static_cast<std::int64_t>(child.f * kScale);
            if (idx - cur >= kRing) return false;  // unreachable: f grows by <= 2 sqrt2
            if (idx == cur) {
                sorted_insert(*low, child);
            } else {
                ring[static_cast<std::size_t>(idx % kRing)].push_back(child);
            }
            ++queued;
        }
    }
    return true;
}

}  // namespace

void Exact2DBits::build(const GridView& g) {
    if (source == g.passable && rows == g.rows && cols == g.cols) return;
    source = g.passable;
    rows = g.rows;
    cols = g.cols;
    // Padded columns 0..cols+1 plus 8 spare bytes, so an 8-byte load at any byte offset of
    // the last needed bit stays inside the row.
    row_bytes = ((cols + 2 + 63) / 64) * 8 + 8;
    words.assign(static_cast<std::size_t>((rows + 2) * row_bytes / 8), 0);
    std::uint8_t* out = bytes();
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::uint8_t* in = g.passable + r * cols;
        std::uint8_t* row = out + (r + 1) * row_bytes;
        for (std::int64_t c = 0; c < cols; ++c)
            if (in[c]) row[(c + 1) >> 3] = static_cast<std::uint8_t>(row[(c + 1) >> 3] | (1u << ((c + 1) & 7)));
    }
}

bool astar_exact_2d(const GridView& g, int connectivity, std::int64_t start, std::int64_t goal,
                    std::int64_t max_expansions, ExactStore& store, PathResult* out,
                    bool want_path) {
    return connectivity == 4
               ? search<4>(g, start, goal, max_expansions, store, out, want_path)
               : search<8>(g, start, goal, max_expansions, store, out, want_path);
}

}  // namespace fbsim::detail
