// SPDX-License-Identifier: MIT
// fbsim private: A* on uniform-cost grids with exact path costs and compact node state.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "detail/exact_astar_2d.hpp"
#include "detail/grid_search.hpp"
#include "fbsim/pathfinding.hpp"

namespace fbsim::detail {

/// A path cost on a uniform grid is a + b*sqrt(2) + c*sqrt(3) for integer move counts a, b, c.
/// Keeping the counts (not a running double sum) makes costs exact, so nodes whose f values are
/// mathematically equal compare equal and a tie-break among equal f is applied as written
/// (3D: larger g first; the 2D kernel keeps its own counts, see grid_astar_exact_2d.cpp). On
/// octile grids the order among equal f decides how much of the f = C* band is expanded
/// before the goal; every cell with f < C* is expanded whatever the order.
/// Packed in 64 bits: three 21-bit fields, the top bit of each a guard that a carry sets.
using ExactCost = std::uint64_t;
inline constexpr int kExactFieldBits = 21;
inline constexpr ExactCost kExactFieldMask = (ExactCost{1} << (kExactFieldBits - 1)) - 1;
inline constexpr ExactCost kExactGuard = (ExactCost{1} << (kExactFieldBits - 1)) |
                                         (ExactCost{1} << (2 * kExactFieldBits - 1)) |
                                         (ExactCost{1} << (3 * kExactFieldBits - 1));

/// The double value of packed counts. Deterministic: equal counts give bit-equal values, which
/// is what the tie-breaking needs. Ordering distinct costs by these doubles is exact in 2D
/// (|da + db*sqrt2| >= ~1/(3|db|), far above the rounding of values below 2^22) and, in 3D,
/// wrong at most for costs closer than the rounding (~1e-16 relative): then the search may
/// return a path longer than the optimum by that much, never more.
inline double exact_value(std::int64_t a, std::int64_t b, std::int64_t c) noexcept {
    return static_cast<double>(a) + kSqrt2 * static_cast<double>(b) +
           kSqrt3 * static_cast<double>(c);
}
inline double exact_value(ExactCost g) noexcept {
    return exact_value(static_cast<std::int64_t>(g & kExactFieldMask),
                       static_cast<std::int64_t>((g >> kExactFieldBits) & kExactFieldMask),
                       static_cast<std::int64_t>((g >> (2 * kExactFieldBits)) & kExactFieldMask));
}

/// Per-cell state of the 3D kernel (the 2D one has its own 8-byte words), 12 bytes: the packed
/// cost (as two words, so the struct needs only 4-byte alignment) and `meta` = stamp << 6 |
/// closed << 5 | parent move (5 bits, 31 = none).
struct ExactNode {
    std::uint32_t g_lo, g_hi;
    std::uint32_t meta;
};
static_assert(sizeof(ExactNode) == 12, "ExactNode must stay 12 bytes per cell");

/// Open-list entry, 16 bytes. Order: lower f, then larger g (a float is enough: it only
/// breaks ties, and equal floats fall through to the cell index), then lower cell index.
/// No staleness check is needed: with a consistent heuristic a cell's cheaper re-push has a
/// lower f and pops first, closing the cell, so older entries are skipped as closed.
struct ExactEntry {
    double f;
    float g;
    std::uint32_t cell;  ///< Grids have at most kMaxGridCells = 2^28 cells.
};
struct ExactLater {
    bool operator()(const ExactEntry& x, const ExactEntry& y) const noexcept {
        if (x.f != y.f) return x.f > y.f;
        if (x.g != y.g) return x.g < y.g;
        return x.cell > y.cell;
    }
};

/// Dense per-cell state reused across the queries of one worker (a batch's thread, or one
/// thread's grid_astar calls: see kAstarRetainedBytes). All-zero bytes mean "never touched"
/// (stamps start at 1), so the array is an anonymous mapping (calloc off Linux) whose zero
/// pages the OS supplies lazily: a query pays only for the pages it touches, even on a
/// 1e8-cell voxel grid (12 bytes per cell of address space). The 3D kernel uses the node
/// array, heap, same_f and ring; the 2D kernel only `state2d`.
class ExactStore {
public:
    static constexpr std::uint32_t kNoParent = 31;
    static constexpr std::uint32_t kClosed = 32;
    static constexpr std::uint32_t kMaxStamp = (std::uint32_t{1} << 26) - 1;

    ExactStore() = default;
    explicit ExactStore(std::int64_t n) { ensure(n); }
    ExactStore(const ExactStore&) = delete;
    ExactStore& operator=(const ExactStore&) = delete;
    ~ExactStore() { release(); }

    /// Grows to at least `n` cells (discarding the state). `huge_pages` = false leaves the
    /// pages 4 KiB. Only the 3D kernel calls it (with huge pages); the 2D kernel keeps its
    /// node words in `state2d` and asks for huge pages there only once a search turns long.
    void ensure(std::int64_t n, bool huge_pages = true) {
        if (n <= size_ && nodes_) return;
        release();
        const std::size_t bytes = static_cast<std::size_t>(n > 1 ? n : 1) * sizeof(ExactNode);
#if defined(__linux__)
        // Anonymous pages are zero-filled on first touch. On big grids ask for transparent
        // huge pages: a 3D search hops between z planes megabytes apart, and 4 KiB pages
        // would make nearly every state access a TLB miss.
        void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        if (huge_pages && bytes >= (std::size_t{1} << 24)) madvise(p, bytes, MADV_HUGEPAGE);
        nodes_ = static_cast<ExactNode*>(p);
        bytes_ = bytes;
#else
        (void)huge_pages;
        nodes_ = static_cast<ExactNode*>(std::calloc(bytes / sizeof(ExactNode), sizeof(ExactNode)));
        if (!nodes_) throw std::bad_alloc();
#endif
        size_ = n;
        stamp_ = 0;
    }
    /// Starts a new query in O(1): old entries become stale by their stamp.
    void reset() {
        if (++stamp_ > kMaxStamp) {  // after 67M queries: clear once for real
            std::memset(static_cast<void*>(nodes_), 0,
                        static_cast<std::size_t>(size_) * sizeof(ExactNode));
            stamp_ = 1;
        }
    }
    ExactNode* nodes() noexcept { return nodes_; }
    /// Bytes of memory held (node mappings and buffer capacities, 2D state included), which
    /// grid_astar compares with kAstarRetainedBytes before keeping a thread's store.
    std::size_t bytes() const noexcept {
        std::size_t n = (nodes_ ? bytes_ : 0) + state2d.bytes() +
                        (heap.capacity() + same_f.capacity()) * sizeof(ExactEntry);
        for (const auto& b : ring) n += b.capacity() * sizeof(ExactEntry);
        return n;
    }
    std::uint32_t stamp() const noexcept { return stamp_; }
    /// Open list buffer, kept between queries so a query allocates nothing once warm.
    std::vector<ExactEntry> heap;
    /// Entries whose f equals the current minimum f, expanded before the heap (see
    /// astar_exact); kept between queries like `heap`.
    std::vector<ExactEntry> same_f;
    /// The 2D kernel's own buffers (astar_exact_2d); kept between queries like `heap`.
    Exact2DState state2d;
    /// The bucket ring of astar_exact_3d's open list; kept between queries like `heap`.
    std::vector<std::vector<ExactEntry>> ring;

private:
    void release() noexcept {
        if (!nodes_) return;
#if defined(__linux__)
        munmap(nodes_, bytes_);
#else
        std::free(nodes_);
#endif
        nodes_ = nullptr;
        size_ = 0;
    }
    ExactNode* nodes_ = nullptr;
    std::size_t bytes_ = 0;
    std::int64_t size_ = 0;
    std::uint32_t stamp_ = 0;
};

/// A* for grids with `passable` set (uniform cost), any dimension and connectivity, with exact
/// costs (ExactCost) and ExactStore state. Same contract and optimal costs as astar_search;
/// among nodes of equal f the order differs (children that keep f are expanded depth first),
/// so an equally short but different path may come back. Deterministic. Returns false, leaving `out` unspecified, only
/// when a move count would exceed 2^20 - 1 (a path of over a million moves of one kind); the
/// caller then reruns the query with astar_search.
bool astar_exact(const GridView& g, const std::vector<Move>& moves, int connectivity,
                 std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                 ExactStore& store, PathResult* out, bool want_path);

/// astar_exact for 3D grids (grid_astar_exact_3d.cpp), called by it: the same expansion
/// order, expansions, costs and paths, with a bucketed open list. Same contract.
bool astar_exact_3d(const GridView& g, const std::vector<Move>& moves, int connectivity,
                    std::int64_t start, std::int64_t goal, std::int64_t max_expansions,
                    ExactStore& store, PathResult* out, bool want_path);

}  // namespace fbsim::detail
