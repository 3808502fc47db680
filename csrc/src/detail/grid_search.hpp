// SPDX-License-Identifier: MIT
// fbsim private: move tables, heuristics and per-query node state shared by the grid searches.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <cstdint>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <vector>

#include "fbsim/pathfinding.hpp"

namespace fbsim::detail {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kSqrt2 = 1.41421356237309504880;
inline constexpr double kSqrt3 = 1.73205080756887729353;
/// Weighted grids above this many cells keep search state in a hash map (uniform grids use
/// the 12-byte ExactStore at any size): dense state costs ~24 bytes
/// per cell, which a 900 x 390 x 255 voxel world cannot afford per query.
inline constexpr std::int64_t kDenseStateCells = std::int64_t{1} << 22;

/// One move: its displacement, length, and the flat offsets of every cell of the bounding box
/// of (from, to) other than `from` (the destination included). All of them must be free.
struct Move {
    int dz, dr, dc;
    double length;
    std::int64_t offset;
    int required_count;
    std::int64_t required[7];
};

/// The moves of a connectivity (2D: 4, 8; 3D: 6, 18, 26) for a grid of this shape, in a fixed
/// order (z, then row, then column, from -1 to +1) so searches are deterministic.
inline std::vector<Move> make_moves(const GridView& g, int connectivity) {
    std::vector<Move> moves;
    const int zr = g.ndim == 3 ? 1 : 0;
    // Non-zero axes allowed per move: 4/6 -> 1, 8/18 -> 2, 26 -> 3.
    const int max_axes = (connectivity == 4 || connectivity == 6) ? 1
                         : (connectivity == 8 || connectivity == 18) ? 2 : 3;
    const std::int64_t sz = g.rows * g.cols, sr = g.cols;
    for (int dz = -zr; dz <= zr; ++dz)
        for (int dr = -1; dr <= 1; ++dr)
            for (int dc = -1; dc <= 1; ++dc) {
                const int axes = (dz != 0) + (dr != 0) + (dc != 0);
                if (axes == 0 || axes > max_axes) continue;
                Move m{dz, dr, dc, axes == 1 ? 1.0 : axes == 2 ? kSqrt2 : kSqrt3,
                       dz * sz + dr * sr + dc, 0, {}};
                // Every non-empty subset of the moving axes names one cell of the box.
                for (int mask = 1; mask < 8; ++mask) {
                    const int mz = (mask & 4) ? dz : 0, mr = (mask & 2) ? dr : 0,
                              mc = (mask & 1) ? dc : 0;
                    if (((mask & 4) && !dz) || ((mask & 2) && !dr) || ((mask & 1) && !dc)) continue;
                    m.required[m.required_count++] = mz * sz + mr * sr + mc;
                }
                moves.push_back(m);
            }
    return moves;
}

/// Obstacle-free distance for the connectivity: exact on an empty uniform grid, hence an
/// admissible and consistent heuristic when every cost is >= 1.
inline double grid_distance(std::int64_t a0, std::int64_t a1, std::int64_t a2,
                            int connectivity) noexcept {
    // Sort |d| descending: a >= b >= c.
    std::int64_t a = a0 < 0 ? -a0 : a0, b = a1 < 0 ? -a1 : a1, c = a2 < 0 ? -a2 : a2;
    if (a < b) std::swap(a, b);
    if (b < c) std::swap(b, c);
    if (a < b) std::swap(a, b);
    const auto d = [](std::int64_t v) { return static_cast<double>(v); };
    switch (connectivity) {
        case 4:
        case 6:
            return d(a + b + c);
        case 8:
            return d(a - b) + kSqrt2 * d(b);  // 2D: c == 0
        case 18: {
            // Each sqrt2 move covers two units on two different axes: at most min(s/2, b+c).
            const std::int64_t s = a + b + c;
            const std::int64_t m = std::min(s / 2, b + c);
            return kSqrt2 * d(m) + d(s - 2 * m);
        }
        default:
            return d(a - b) + kSqrt2 * d(b - c) + kSqrt3 * d(c);
    }
}

/// Cell coordinates of a flat index.
struct Coord {
    std::int64_t z, r, c;
};
inline Coord coord_of(const GridView& g, std::int64_t i) noexcept {
    const std::int64_t plane = g.rows * g.cols;
    return {i / plane, (i % plane) / g.cols, i % g.cols};
}

/// Per-node search state.
struct Node {
    double g;
    std::int64_t parent;
    std::uint32_t stamp;  ///< Query that wrote this node; 0 = never (zeroed memory).
    bool closed;
};

/// Dense node state, reused across queries of one worker: a stamp marks the live entries, so a
/// new query costs O(1) instead of clearing N nodes. The array comes from calloc: all-zero
/// bytes are a valid "never touched" node (stamp 0, and stamps start at 1), so the OS hands
/// out zero pages lazily and a query on a huge grid pays only for the cells it touches.
class DenseStore {
public:
    explicit DenseStore(std::int64_t n) { ensure(n); }
    DenseStore(const DenseStore&) = delete;
    DenseStore& operator=(const DenseStore&) = delete;
    ~DenseStore() { std::free(nodes_); }
    /// Grows the state to at least `n` nodes, discarding it (call before reset()).
    void ensure(std::int64_t n) {
        if (n <= size_ && nodes_) return;
        std::free(nodes_);
        nodes_ = static_cast<Node*>(std::calloc(static_cast<std::size_t>(std::max<std::int64_t>(n, 1)), sizeof(Node)));
        if (!nodes_) throw std::bad_alloc();
        size_ = n;
        stamp_ = 0;
    }
    void reset() {
        if (++stamp_ == 0) {  // wrapped after 4e9 queries: really clear once
            std::memset(static_cast<void*>(nodes_), 0, static_cast<std::size_t>(size_) * sizeof(Node));
            stamp_ = 1;
        }
    }
    Node& at(std::int64_t i) {
        Node& n = nodes_[i];
        if (n.stamp != stamp_) {
            n.g = kInf;
            n.parent = -1;
            n.stamp = stamp_;
            n.closed = false;
        }
        return n;
    }
    /// Per-worker scratch: JPS's padded grid, built once per batch.
    std::vector<std::uint8_t> scratch;

private:
    Node* nodes_ = nullptr;
    std::int64_t size_ = 0;
    std::uint32_t stamp_ = 0;
};

/// Sparse node state for huge grids: only touched cells cost memory.
class HashStore {
public:
    void ensure(std::int64_t) {}
    std::vector<std::uint8_t> scratch;  ///< As DenseStore::scratch.
    void reset() { nodes_.clear(); }
    Node& at(std::int64_t i) { return nodes_.try_emplace(i, Node{kInf, -1, 0, false}).first->second; }

private:
    std::unordered_map<std::int64_t, Node> nodes_;
};

/// Open-list entry. Lower f first; among equal f, higher g first (deeper nodes, fewer
/// expansions); then lower index, so the order never depends on the heap's internals.
struct OpenEntry {
    double f, g;
    std::int64_t cell;
};
struct OpenLater {
    bool operator()(const OpenEntry& x, const OpenEntry& y) const noexcept {
        if (x.f != y.f) return x.f > y.f;
        if (x.g != y.g) return x.g < y.g;
        return x.cell > y.cell;
    }
};
using OpenList = std::priority_queue<OpenEntry, std::vector<OpenEntry>, OpenLater>;

/// True when `move` from cell `from` at coordinate `p` stays in the grid and every cell of its
/// bounding box is free.
inline bool move_legal(const GridView& g, const Coord& p, std::int64_t from,
                       const Move& m) noexcept {
    const std::int64_t z = p.z + m.dz, r = p.r + m.dr, c = p.c + m.dc;
    if (z < 0 || z >= g.depth || r < 0 || r >= g.rows || c < 0 || c >= g.cols) return false;
    for (int k = 0; k < m.required_count; ++k)
        if (!g.free(from + m.required[k])) return false;
    return true;
}

/// Walks parents from `goal` back to the start and writes the path start-first.
template <class Store>
void trace_path(Store& store, std::int64_t goal, std::vector<std::int64_t>* out) {
    out->clear();
    for (std::int64_t c = goal; c >= 0; c = store.at(c).parent) out->push_back(c);
    std::reverse(out->begin(), out->end());
}

/// Searches with caller-provided, reusable state (the batch keeps one store per worker).
void astar_search(const GridView& g, const std::vector<Move>& moves, int connectivity,
                  std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                  DenseStore& store, PathResult* out, bool want_path);
void astar_search(const GridView& g, const std::vector<Move>& moves, int connectivity,
                  std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                  HashStore& store, PathResult* out, bool want_path);
void jps_search(const GridView& g, std::int64_t start, std::int64_t goal,
                std::int64_t max_expansions, DenseStore& store, PathResult* out, bool want_path);
void jps_search(const GridView& g, std::int64_t start, std::int64_t goal,
                std::int64_t max_expansions, HashStore& store, PathResult* out, bool want_path);

}  // namespace fbsim::detail
