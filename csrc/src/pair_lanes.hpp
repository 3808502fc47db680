// SPDX-License-Identifier: MIT
// fbsim (private): the dense level's cell pass as lane-parallel compares. The level's records
// are copied once per pairs() call into structure-of-arrays lanes (6 bounds + rank, 28 bytes a
// box, freed on return), so a compare tests 4 (SSE2) or 8 (AVX2) boxes at once. Cells are
// taken 2 at a time along x: the block's boxes, and the candidates of its 5 forward neighbour
// slices that overlap the block's union (a vector filter; the survivors left-packed), go to a
// small gather buffer; each block box then scans the buffer after it, writing the keys of its
// sure hits branch-free (stored every lane, the write position advanced by the hit count).
// Round 8: it replaced a scalar record filter and record loop (10.1 -> 7.6 ms at 100k boxes);
// its loops of data-dependent trip counts per tiny block mispredicted, and each record test
// cost as much as 4-8 lanes do here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "pair_record.hpp"

namespace fbsim::detail {

/// The most boxes a cell of a dense pass may hold: its gather buffer is sized for 2 such cells
/// and the neighbour slices of a block (the caller sends fuller levels elsewhere).
constexpr std::uint32_t kLaneCellMost = 32;

/// Broadphase::kNoRank, as the rank lane holds it.
constexpr std::uint32_t kLaneNoRank = 0xFFFFFFFFu;

/// A dense level's records [begin, end) of the index as lanes: array j (0-2 min corner x y z,
/// 3-5 negated max corner, 6 rank bits or slot) holds entry i at lane(j)[i]. Each array is padded by
/// kPad never-overlapping entries, so an 8-wide load at any entry < size stays in bounds.
class PairLanes {
  public:
    static constexpr std::size_t kPad = 8;
    /// Copies records R[0, n), array 6 their rank lanes (or, `slots` true, their slots). O(n);
    /// allocates 28 (n + kPad) bytes (not zeroed first).
    void build(const PairRecord* R, std::size_t n, bool slots = false);
    const std::int32_t* lane(int j) const noexcept { return data_.get() + static_cast<std::size_t>(j) * stride_; }
    std::size_t size() const noexcept { return n_; }

  private:
    std::unique_ptr<std::int32_t[]> data_;
    std::size_t n_ = 0, stride_ = 0;
};

/// One dense cell pass (no cell holds more than kLaneCellMost boxes): every pair of the
/// level's boxes in the same or neighbouring cells, each once. Pairs whose float bounds
/// overlap with 2 floats to spare on every side and whose ranks are both known are appended
/// to `keys` as (smaller rank << bits) | larger; every other float hit (the floats cannot
/// decide, or a rank is missing, or keys are not wanted) goes to `slow(ctx, p, k)` with their
/// positions in R (p the asking box), which decides by the exact boxes. `stop()` (the result
/// cap) is asked at each row of cells and every 16 occupied 2-cell blocks, so a stopped pass
/// overshoots by at most 16 blocks' pairs. O(n + cells) for a level of bounded cell counts.
struct DensePass {
    const PairRecord* R = nullptr;       // the index records; off[] are positions in R
    const std::uint32_t* off = nullptr;  // cell directory starts, nx * ny * nz + 1 of them
    std::int64_t nx = 0, ny = 0, nz = 0;
    std::size_t base = 0;                // position in R of lanes entry 0
    const PairLanes* lanes = nullptr;
    int bits = 0;
    std::vector<std::uint64_t>* keys = nullptr;  // null: every hit goes to slow()
    void (*slow)(void* ctx, std::size_t p, std::size_t k) = nullptr;
    bool (*stop)(void* ctx, std::size_t unwritten) = nullptr;  // unwritten: keys' tail not filled yet
    void* ctx = nullptr;
};

/// Runs the pass with simd_level()'s kernel (simd_level.hpp). Single-threaded; reads only.
void dense_cell_pass(const DensePass& pass);

}  // namespace fbsim::detail
