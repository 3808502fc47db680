// SPDX-License-Identifier: MIT
// fbsim private: the 2D specialisation of the exact-cost A* (grid_astar_exact_2d.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "fbsim/pathfinding.hpp"

namespace fbsim::detail {

class ExactStore;

/// Move counts at or above this make astar_exact_2d give up (return false), exactly where the
/// generic kernel's packed 20-bit fields would overflow, so both fall back alike.
inline constexpr std::int64_t kExact2DMaxCount = std::int64_t{1} << 20;

/// Columns per lazily packed block of the 2D kernel's passability bits (a power of two).
inline constexpr int kExact2DBlockShift = 8;
inline constexpr std::int64_t kExact2DBlock = std::int64_t{1} << kExact2DBlockShift;

/// A zero-filled array. On Linux it comes from an anonymous mapping, whose pages the OS
/// zero-fills on first touch, so only the parts a query touches cost anything (a short query
/// on a huge grid stays short; calloc would memset it once glibc's mmap threshold has grown
/// past the size). Elsewhere calloc.
template <class T>
class ZeroedArray {
public:
    ZeroedArray() = default;
    ZeroedArray(const ZeroedArray&) = delete;
    ZeroedArray& operator=(const ZeroedArray&) = delete;
    ~ZeroedArray() { release(); }
    /// Replaces the contents with `n` zero elements; `huge_aligned` starts them on a 2 MiB
    /// boundary (when at least 2 MiB), so that huge pages, if asked for, can cover all of
    /// them. Throws std::bad_alloc.
    void reset(std::int64_t n, bool huge_aligned = false) {
        release();
        const std::size_t bytes = static_cast<std::size_t>(n > 1 ? n : 1) * sizeof(T);
#if defined(__linux__)
        constexpr std::size_t kHuge = std::size_t{1} << 21;
        const std::size_t pad = huge_aligned && bytes >= kHuge ? kHuge : 0;
        void* p = mmap(nullptr, bytes + pad, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        map_ = p;
        bytes_ = bytes + pad;
        const auto a = reinterpret_cast<std::uintptr_t>(p);
        data_ = reinterpret_cast<T*>(pad ? (a + kHuge - 1) & ~(kHuge - 1) : a);
#else
        (void)huge_aligned;
        void* p = std::calloc(bytes / sizeof(T), sizeof(T));
        if (!p) throw std::bad_alloc();
        map_ = p;
        data_ = static_cast<T*>(p);
        bytes_ = bytes;
#endif
    }
    T* get() const noexcept { return data_; }
    /// Bytes of address space held (0 when empty).
    std::size_t bytes() const noexcept { return map_ ? bytes_ : 0; }

private:
    void release() noexcept {
        if (!map_) return;
#if defined(__linux__)
        munmap(map_, bytes_);
#else
        std::free(map_);
#endif
        map_ = nullptr;
        data_ = nullptr;
    }
    void* map_ = nullptr;  ///< What was mapped (data_ may start later in it).
    T* data_ = nullptr;
    std::size_t bytes_ = 0;
};

/// Passability and closed-set bits of a 2D grid padded with one cell on every side (the
/// border blocked and never closed). Each padded row is `pairs` 64-bit words; word k holds
/// padded columns 32k .. 32k + 31, passability in its low half and the closed set in its
/// high half: padded column x = c + 1 of padded row r + 1 (grid cell (r, c)) is bit x & 31,
/// resp. 32 + (x & 31), of word (r + 1) * pairs + (x >> 5). Both halves of a cell's 3 x 3
/// neighbourhood thus come from the same cache lines (two separate bit arrays cost two lines
/// per row). A spare word per row keeps the two-word read of a neighbourhood in its row.
/// ~(rows + 2) * (cols + 66) / 4 bytes.
struct Exact2DBits {
    /// Sizes for a rows x cols grid, all bits clear.
    void shape(std::int64_t rows, std::int64_t cols);
    std::uint64_t* words() noexcept { return array.get(); }
    ZeroedArray<std::uint64_t> array;
    std::int64_t pairs = 0;  ///< Words per padded row.
};

/// Open-list entry of the 2D kernel: the bit pattern of the (non-negative) double f, which
/// orders like f, and the cell as row << 32 | column. Entries of equal f pop in any order
/// (LIFO): see the .cpp.
struct Exact2DEntry {
    std::uint64_t f;
    std::uint64_t rc;
};

/// Reusable state of astar_exact_2d, owned by an ExactStore: a batch worker's (one grid) or
/// a thread's kept across grid_astar calls (any grids; see forget_grid()).
struct Exact2DState {
    /// Bit-packed passability (blocked border), filled a block of kExact2DBlock columns of
    /// one row at a time when a search first reaches it (`block_state`, one byte per block,
    /// row-major: bit 0 = block packed, bit 1 = it and its eight neighbouring blocks packed).
    /// Blocks, not whole rows: a short query on a very wide grid packs a few hundred cells,
    /// not thousands per row. Another shape rebuilds the arrays; the same shape with another
    /// `source` (or after forget_grid) only clears block_state, so every block is repacked
    /// (over its old bits) before use. The grid must not change during a search. The same
    /// words hold the closed cells of the current query (high halves); `dirty` lists the
    /// words with any closed bit set, so the next query clears only those.
    Exact2DBits bits;
    ZeroedArray<std::uint8_t> block_state;
    std::int64_t blocks_per_row = 0;
    int block_row_shift = 0;  ///< block_state row r starts at r << block_row_shift.
    const std::uint8_t* source = nullptr;
    std::int64_t rows = 0, cols = 0;
    std::vector<std::uint32_t> dirty;
    /// The open list: a ring of buckets by f; per bucket, the f of its first entry and
    /// whether an entry of another f joined it since (then it is sorted when reached).
    std::vector<std::vector<Exact2DEntry>> ring;
    std::vector<std::uint64_t> ring_f;
    std::vector<std::uint8_t> ring_mixed;
    /// One 64-bit node word per cell (see grid_astar_exact_2d.cpp), zero-filled, for grids
    /// of up to node_cells cells; stamp = the query stamp; 0 = none yet.
    ZeroedArray<std::uint64_t> nodes;
    std::int64_t node_cells = 0;
    std::uint32_t stamp = 0;
    /// Whether huge pages were requested for `nodes` (once, by a long search).
    bool advised = false;

    /// Forgets which grid the packed passability came from, so the next search repacks it
    /// (block by block as reached, into the same arrays when the shape is unchanged):
    /// called before each query of a store kept across calls (grid_astar's per-thread
    /// store), whose grid may have been edited in place or freed and another allocated at
    /// the same address. Node words and buffers are kept (query stamps make them valid).
    void forget_grid() noexcept { source = nullptr; }
    /// Bytes of memory held (mappings and buffer capacities), for the caller's retention cap.
    std::size_t bytes() const noexcept {
        std::size_t n = bits.array.bytes() + block_state.bytes() +
                        nodes.bytes() + dirty.capacity() * sizeof(std::uint32_t) +
                        ring_f.capacity() * sizeof(std::uint64_t) + ring_mixed.capacity();
        for (const auto& b : ring) n += b.capacity() * sizeof(Exact2DEntry);
        return n;
    }
};

/// astar_exact for a 2D grid with `passable` set and connectivity 4 or 8: same contract and
/// costs, faster (see the .cpp); ties among equal f break LIFO, so expansion counts and which
/// optimal path is returned may differ from the generic kernel's. Uses only `store.state2d`
/// (its own node words; the store's node array stays unallocated). Returns false when a
/// move count reaches kExact2DMaxCount (or, never observed, when a child's f falls outside
/// the bucket window); the caller then answers with the generic kernel. An exhausted search
/// (unreachable goal) returns true with an empty path.
bool astar_exact_2d(const GridView& g, int connectivity, std::int64_t start, std::int64_t goal,
                    std::int64_t max_expansions, ExactStore& store, PathResult* out,
                    bool want_path);

}  // namespace fbsim::detail
