// SPDX-License-Identifier: MIT
// fbsim: the exact-cost A* of detail/exact_astar.hpp specialised for 3D voxel grids.
//
// Why a separate kernel: on the Moving AI Warframe map (89M voxels) the hard rows keep
// millions of entries open, and profiling the generic kernel showed over half the time in the
// 4-ary heap's sift-down (a DRAM miss per level, ~11 levels). A* with a consistent heuristic
// pops f in non-decreasing order and a child's f exceeds its parent's by at most twice the
// move length (f' - f = len + h' - h <= 2 len <= 2 sqrt 3), so the open list is a ring of
// buckets of width 1/1024 over the window [f_min, f_min + 4): appends to a future bucket are
// sequential writes, and the current bucket is sorted once (see BucketQueue). The order
// inside a bucket is the generic kernel's total order (ExactLater), so the expansion order,
// the expansion count and the path are exactly those of astar_exact's generic loop.
#include <algorithm>
#include <cstring>

#include "detail/exact_astar.hpp"

namespace fbsim::detail {

namespace {

constexpr int kRingBits = 12;
constexpr std::int64_t kRing = std::int64_t{1} << kRingBits;  // buckets in the window
constexpr double kBucketsPerUnit = 1024.0;  // a power of two: f * 1024 is exact, so monotone
// A child's bucket is at most 2 sqrt(3) * 1024 = 3548 buckets after its parent's: the ring of
// 4096 covers that with room for rounding.

/// 3D heuristic move counts (h1, h2, h3 per connectivity) added to g; as f_value in
/// grid_astar_exact.cpp, so equal counts give bit-equal f and the orders agree.
inline double f3(ExactCost g, std::int64_t d0, std::int64_t d1, std::int64_t d2,
                 int connectivity) noexcept {
    std::int64_t a = d0 < 0 ? -d0 : d0, b = d1 < 0 ? -d1 : d1, c = d2 < 0 ? -d2 : d2;
    if (a < b) std::swap(a, b);
    if (b < c) std::swap(b, c);
    if (a < b) std::swap(a, b);
    std::int64_t h1, h2 = 0, h3 = 0;
    if (connectivity == 6) {
        h1 = a + b + c;
    } else if (connectivity == 18) {
        const std::int64_t s = a + b + c, m = std::min(s / 2, b + c);
        h1 = s - 2 * m;
        h2 = m;
    } else {
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

inline std::int64_t bucket_of(double f) noexcept {
    return static_cast<std::int64_t>(f * kBucketsPerUnit);
}

/// The open list: a ring of kRing buckets over the window of open f. Future buckets are
/// unordered appends. The current bucket is sorted once when it becomes current (latest
/// first, so pops come off the back): on hard rows one bucket can hold millions of entries of
/// nearly equal f, and a sort streams through them where a heap would miss the cache on
/// every level of every pop. Entries pushed into the current bucket meanwhile go to a small
/// side heap; a pop takes the earlier of the two fronts. Either way the pop order is
/// ExactLater's total order, as in the generic kernel. Empty when `count` is 0.
class BucketQueue {
public:
    BucketQueue(std::vector<std::vector<ExactEntry>>& ring, std::vector<ExactEntry>& side)
        : ring_(ring), side_(side) {
        ring_.resize(static_cast<std::size_t>(kRing));
        for (auto& b : ring_) b.clear();
        side_.clear();
    }
    void start(const ExactEntry& e) {
        cur_ = bucket_of(e.f);
        side_.push_back(e);
        count_ = 1;
    }
    bool empty() const noexcept { return count_ == 0; }
    /// False when `e` falls outside the window (impossible with a consistent heuristic; the
    /// caller then gives the query up to the generic search rather than risk the order).
    bool push(const ExactEntry& e) {
        const std::int64_t b = bucket_of(e.f);
        if (b <= cur_) {  // the current bucket (b < cur_ only by rounding: f still >= min)
            side_.push_back(e);
            std::push_heap(side_.begin(), side_.end(), ExactLater{});
        } else if (b - cur_ < kRing) {
            slot(b).push_back(e);
        } else {
            return false;
        }
        ++count_;
        return true;
    }
    /// Precondition: !empty().
    ExactEntry pop() {
        const ExactLater later;
        auto* sorted = &slot(cur_);
        // count_ > 0 bounds the scan: some bucket of the window holds an entry.
        while (sorted->empty() && side_.empty()) {
            sorted = &slot(++cur_);
            std::sort(sorted->begin(), sorted->end(), later);
        }
        --count_;
        if (side_.empty() || (!sorted->empty() && later(side_.front(), sorted->back()))) {
            const ExactEntry e = sorted->back();
            sorted->pop_back();
            return e;
        }
        std::pop_heap(side_.begin(), side_.end(), later);
        const ExactEntry e = side_.back();
        side_.pop_back();
        return e;
    }

private:
    std::vector<ExactEntry>& slot(std::int64_t b) noexcept {
        return ring_[static_cast<std::size_t>(b & (kRing - 1))];
    }
    std::vector<std::vector<ExactEntry>>& ring_;
    std::vector<ExactEntry>& side_;
    std::int64_t cur_ = 0;
    std::size_t count_ = 0;
};

}  // namespace

bool astar_exact_3d(const GridView& g, const std::vector<Move>& moves, int connectivity,
                    std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                    ExactStore& store, PathResult* out, bool want_path) {
    out->cells.clear();
    out->cost = kInf;
    out->expansions = 0;
    out->found = false;
    out->capped = false;
    const std::uint8_t* free = g.passable;
    if (!free[start] || !free[goal]) return true;
    store.ensure(g.size());
    store.reset();
    const std::uint32_t stamp = store.stamp(), live = stamp << 6;
    ExactNode* nodes = store.nodes();

    const std::int64_t depth = g.depth, rows = g.rows, cols = g.cols, plane = rows * cols;
    // Neighbourhood bit of (dz, dr, dc): (dz + 1) * 9 + (dr + 1) * 3 + (dc + 1).
    struct Nb {
        std::uint32_t bit;
        std::int64_t offset;
        int dz, dr, dc;
    };
    Nb nbs[26];
    int nb_count = 0;
    for (int dz = -1; dz <= 1; ++dz)
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc)
                if (dz || dr || dc)
                    nbs[nb_count++] = {std::uint32_t{1} << ((dz + 1) * 9 + (dr + 1) * 3 + dc + 1),
                                       dz * plane + dr * cols + dc, dz, dr, dc};
    struct M3 {
        std::int64_t offset;
        std::uint32_t need;  // neighbourhood bits of the move's bounding box
        ExactCost inc;
        int dz, dr, dc;
    };
    M3 ms[26];
    const int move_count = static_cast<int>(moves.size());
    for (int i = 0; i < move_count; ++i) {
        const Move& m = moves[i];
        M3& x = ms[i];
        x = {m.offset, 0, 0, m.dz, m.dr, m.dc};
        for (int mask = 1; mask < 8; ++mask) {
            if (((mask & 4) && !m.dz) || ((mask & 2) && !m.dr) || ((mask & 1) && !m.dc)) continue;
            const int bz = (mask & 4) ? m.dz : 0, br = (mask & 2) ? m.dr : 0,
                      bc = (mask & 1) ? m.dc : 0;
            x.need |= std::uint32_t{1} << ((bz + 1) * 9 + (br + 1) * 3 + bc + 1);
        }
        const int axes = (m.dz != 0) + (m.dr != 0) + (m.dc != 0);
        x.inc = ExactCost{1} << ((axes - 1) * kExactFieldBits);
    }

    const std::int64_t gz = goal / plane, gr = (goal % plane) / cols, gcl = goal % cols;
    BucketQueue open(store.ring, store.heap);
    std::vector<ExactEntry>& same_f = store.same_f;
    same_f.clear();
    {
        ExactNode& s = nodes[start];
        set_g(s, 0);
        s.meta = live | ExactStore::kNoParent;
        const std::int64_t z = start / plane, r = (start % plane) / cols, c = start % cols;
        open.start({f3(0, z - gz, r - gr, c - gcl, connectivity), 0.0f,
                    static_cast<std::uint32_t>(start)});
    }
    // As astar_exact: children that keep the popped f go on a LIFO stack drained first.
    // Each cell closes at most once: at most size() expansions and 26 * size() pushes.
    while (!open.empty() || !same_f.empty()) {
        ExactEntry e;
        if (!same_f.empty()) {
            e = same_f.back();
            same_f.pop_back();
        } else {
            e = open.pop();
        }
        ExactNode& n = nodes[e.cell];
        if (n.meta & ExactStore::kClosed) continue;  // stale
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
        const bool interior = r > 0 && r + 1 < rows && c > 0 && c + 1 < cols && z > 0 &&
                              z + 1 < depth;
        if (interior) {
            for (int k = 0; k < 26; ++k)
                if (free[cell + nbs[k].offset]) free_nb |= nbs[k].bit;
        } else {
            for (int k = 0; k < 26; ++k) {
                const Nb& b = nbs[k];
                const std::int64_t nz = z + b.dz, nr = r + b.dr, nc = c + b.dc;
                if (nz < 0 || nz >= depth || nr < 0 || nr >= rows || nc < 0 || nc >= cols)
                    continue;
                if (free[cell + b.offset]) free_nb |= b.bit;
            }
        }
        for (int i = 0; i < move_count; ++i) {
            const M3& m = ms[i];
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
                f3(ng, z + m.dz - gz, r + m.dr - gr, c + m.dc - gcl, connectivity),
                static_cast<float>(ngv), static_cast<std::uint32_t>(next)};
            if (child.f == e.f)
                same_f.push_back(child);
            else if (!open.push(child))
                return false;
        }
    }
    return true;
}

}  // namespace fbsim::detail
