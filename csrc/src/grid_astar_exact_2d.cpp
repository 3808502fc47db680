// SPDX-License-Identifier: MIT
// fbsim: exact-cost A* specialised for 2D uniform grids (4- and 8-connected); the generic
// astar_exact dispatches here. Same costs as the generic kernel; among cells of equal f it
// pops the most recently pushed first, so which f == C* cells it expands, and which of
// several equally short paths it returns, may differ.
//
// * Why any order of equal f stays exact: the heuristic is consistent, so popping in
//   nondecreasing f never pops a cell whose g is not yet optimal (a cell reached by a longer
//   route has f strictly above that of its optimal predecessor, which pops first). Equal f
//   is tested exactly: g and h are A + B sqrt2 with integer move counts A, B, and distinct
//   pairs give distinct reals whose doubles, computed the same way (value2), stay distinct at
//   these magnitudes (|A - B sqrt2| >= 1 / (3 B), far above the rounding of ~2^21-sized
//   values). LIFO among equal f goes depth first along f == C* plateaus toward the goal;
//   one child that keeps f is even expanded next directly, without a trip through the queue.
// * The open list is a monotone bucket queue. With a consistent heuristic the popped f never
//   decreases, and a child's f exceeds its parent's by at most 2 * (longest move) = 2 sqrt2,
//   so every open entry lies in [f_min, f_min + 2 sqrt2]: a ring of buckets of width 1/kScale
//   covering that window holds them. A bucket usually holds one f, and is popped as a stack;
//   one that received two different f (values A + B sqrt2 closer than 1/kScale; rare) is
//   sorted by f when the scan reaches it. The current bucket stays ordered, lowest f at the
//   back: children of the popped f go on top, any other f is inserted in order.
// * The passability is read from a bit-packed copy padded with a blocked border: two adjacent
//   64-bit words per row give a cell's 3 x 3 neighbourhood, a 512-entry table turns it into
//   the set of legal moves (the no-corner-cutting rule precomputed), and no cell needs a
//   bounds check. The closed set shares those words (their high halves: the same cache lines,
//   where a second bit array cost a second line per row, ~20% of the kernel's L1 misses), so
//   closed neighbours (most of them, inside the explored region) are dropped by one AND
//   without touching their state.
// * 8-connected, a cell skips the moves to cells its parent reaches in one legal step (the
//   parent, expanded earlier, already gave them a g no longer than this cell could: one step
//   is shorter than two). Which moves those are depends only on the parent move and the
//   neighbourhood, so one table lookup (ParentTables) yields the remaining legal moves. The
//   skipped relaxations are exactly ones the g comparison would reject, so the search (node
//   words, pushes, expansions) is unchanged; it saves their node loads and branches.
// * Move tables, costs and heuristic are compile-time: f = A + B sqrt2 from integer counts.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "detail/exact_astar.hpp"
#include "detail/exact_astar_2d.hpp"

namespace fbsim::detail {

namespace {

/// Expansions after which a search asks for huge pages on its node words (advise_huge_pages).
constexpr std::int64_t kHugePagesAfter = 4096;
/// ... or from the start when start and goal are this many rows or columns apart.
constexpr std::int64_t kHugePagesSpan = 256;

/// Buckets per unit of f. A power of two, so f * kScale is exact and floor() monotone.
constexpr double kScale = 128.0;
/// Ring size: must exceed the bucket span of the open window, 2 sqrt2 * kScale + 1 = 363.
constexpr std::int64_t kRing = 512;
static_assert(static_cast<double>(kRing) > 2.0 * 1.41421356237309504880 * kScale + 2.0,
              "the ring must cover the open window of f values");

/// Node word: unit-move count (bits 0-19), diagonal count (20-39), parent move (40-42), query
/// stamp (43-63; 0 = never touched, so zeroed memory is a valid empty state).
constexpr int kNodeCountBits = 20;
constexpr std::uint64_t kNodeCountMask = (std::uint64_t{1} << kNodeCountBits) - 1;
constexpr int kNodeDirShift = 40;
constexpr int kNodeStampShift = 43;
constexpr std::uint32_t kNodeMaxStamp = (std::uint32_t{1} << (64 - kNodeStampShift)) - 1;
static_assert(kExact2DMaxCount - 1 <= static_cast<std::int64_t>(kNodeCountMask),
              "move counts must fit their fields");

/// Moves in make_moves' order (row -1..1, then column -1..1); the parent move stored in a
/// node word indexes this table.
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
constexpr std::array<Move2D, 4> kMoves4{
    {{-1, 0, false}, {0, -1, false}, {0, 1, false}, {1, 0, false}}};

template <int Conn>
constexpr Move2D move_at(int i) {
    if constexpr (Conn == 8)
        return kMoves8[static_cast<std::size_t>(i)];
    else
        return kMoves4[static_cast<std::size_t>(i)];
}

/// Bit i set when move i is a unit (non-diagonal) move.
template <int Conn>
constexpr std::uint32_t kUnitMoves = [] {
    std::uint32_t m = 0;
    for (int i = 0; i < Conn; ++i)
        if (!move_at<Conn>(i).diagonal) m |= 1u << i;
    return m;
}();

/// Bit of neighbour (dr, dc) in the 9-bit neighbourhood mask (row-major, centre = bit 4).
constexpr int nb_bit(int dr, int dc) { return (dr + 1) * 3 + (dc + 1); }

/// legal[mask]: bit i set when move i is allowed from a cell whose free neighbours are
/// `mask` (the destination and, for a diagonal, both orthogonal cells it passes are free).
/// dest[mask]: bit i set when move i's destination is in `mask`.
template <int Conn>
struct MoveTables {
    std::array<std::uint8_t, 512> legal{}, dest{};
    constexpr MoveTables() {
        for (int mask = 0; mask < 512; ++mask) {
            unsigned l = 0, d = 0;
            for (int i = 0; i < Conn; ++i) {
                const Move2D m = move_at<Conn>(i);
                const int to = 1 << nb_bit(m.dr, m.dc);
                int need = to;
                if (m.diagonal) need |= (1 << nb_bit(m.dr, 0)) | (1 << nb_bit(0, m.dc));
                if ((mask & need) == need) l |= 1u << i;
                if (mask & to) d |= 1u << i;
            }
            legal[static_cast<std::size_t>(mask)] = static_cast<std::uint8_t>(l);
            dest[static_cast<std::size_t>(mask)] = static_cast<std::uint8_t>(d);
        }
    }
};
template <int Conn>
constexpr MoveTables<Conn> kTables{};

/// from_parent[d][mask] (8-connected): the legal moves of a cell reached by move d from its
/// parent P, less those to a cell Y that P reaches in one legal move (free neighbours
/// `mask`). P was expanded before this cell and relaxed Y then; one step P -> Y (1 or sqrt2)
/// is shorter than the two steps P -> X -> Y (at least 2), so Y's g is already below
/// anything this cell offers and relaxing it would change nothing (the g comparison rejects
/// it), after a node-word load and two hard-to-predict branches. Row 8: no parent (start).
struct ParentTables {
    std::array<std::array<std::uint8_t, 512>, 9> from_parent{};
    constexpr ParentTables() {
        for (int mask = 0; mask < 512; ++mask) {
            const std::uint8_t legal = kTables<8>.legal[static_cast<std::size_t>(mask)];
            from_parent[8][static_cast<std::size_t>(mask)] = legal;
            const auto free_at = [mask](int dr, int dc) {
                return ((mask >> nb_bit(dr, dc)) & 1) != 0;
            };
            for (int d = 0; d < 8; ++d) {
                const int pr = -kMoves8[static_cast<std::size_t>(d)].dr,
                          pc = -kMoves8[static_cast<std::size_t>(d)].dc;  // P, relative
                unsigned keep = legal;
                for (int i = 0; i < 8; ++i) {
                    const int yr = kMoves8[static_cast<std::size_t>(i)].dr,
                              yc = kMoves8[static_cast<std::size_t>(i)].dc;
                    const int sr = yr - pr, sc = yc - pc;  // the step P -> Y
                    if (sr == 0 && sc == 0) continue;      // Y = P (closed anyway)
                    if (sr < -1 || sr > 1 || sc < -1 || sc > 1) continue;
                    bool ok = free_at(yr, yc);
                    if (sr != 0 && sc != 0)  // a diagonal step: both cells it passes free
                        ok = ok && free_at(pr + sr, pc) && free_at(pr, pc + sc);
                    if (ok) keep &= ~(1u << i);
                }
                from_parent[static_cast<std::size_t>(d)][static_cast<std::size_t>(mask)] =
                    static_cast<std::uint8_t>(keep);
            }
        }
    }
};
constexpr ParentTables kParentTables{};

/// The 3 x 3 passability and closed neighbourhoods (row-major, bit 0 = up-left) of grid cell
/// (r, c): its up-left neighbour is padded column c of padded row r, so the three rows start
/// at word p = r * pairs + (c >> 5), bit s = c & 31. Usually (s <= 29) one word per row holds
/// all three columns; otherwise two adjacent words give 64 consecutive columns of either half
/// (always combining them cost ~6% more instructions per expansion).
struct Nb3 {
    std::uint32_t free, closed;
};
inline Nb3 neighbourhoods(const std::uint64_t* p, std::int64_t pairs, unsigned s) noexcept {
    constexpr std::uint64_t kLow = 0xffffffffu;
    Nb3 out{0, 0};
    if (s <= 29) {
        // Both halves at once: after one shift, each row's three passability bits sit at
        // bits 0-2 and its closed bits at 32-34; stacking the rows three bits apart gives
        // the passability neighbourhood in bits 0-8 and the closed one in bits 32-40.
        constexpr std::uint64_t kBoth = (std::uint64_t{7} << 32) | 7u;
        const std::uint64_t t = ((p[0] >> s) & kBoth) | (((p[pairs] >> s) & kBoth) << 3) |
                                (((p[2 * pairs] >> s) & kBoth) << 6);
        out.free = static_cast<std::uint32_t>(t) & 0x1ffu;
        out.closed = static_cast<std::uint32_t>(t >> 32);
        return out;
    }
    for (int k = 0; k < 3; ++k) {
        const std::uint64_t w0 = p[k * pairs], w1 = p[k * pairs + 1];
        const std::uint64_t f = (w0 & kLow) | (w1 << 32), cl = (w0 >> 32) | (w1 & ~kLow);
        out.free |= static_cast<std::uint32_t>((f >> s) & 7u) << (3 * k);
        out.closed |= static_cast<std::uint32_t>((cl >> s) & 7u) << (3 * k);
    }
    return out;
}

inline double value2(std::int64_t a, std::int64_t b) noexcept {
    // Bit-identical to exact_value(a, b, 0): adding sqrt3 * 0 = +0.0 changes no value.
    return static_cast<double>(a) + kSqrt2 * static_cast<double>(b);
}
/// Whether da + db sqrt2 < 0 for integer count differences: a new route to a cell beats its
/// old one exactly when the difference of their counts says so. Small differences (the usual
/// case: two routes of nearly equal length) come from a 64-bit table; otherwise one double
/// evaluation, which is exact in sign: da + db sqrt2 is 0 only for da = db = 0, and otherwise
/// at least 1 / (3 |db|) away from 0, far above its rounding at these magnitudes.
constexpr std::uint64_t kCheaperTable = [] {
    std::uint64_t t = 0;
    for (int da = -4; da < 4; ++da)
        for (int db = -4; db < 4; ++db) {
            // da + db sqrt2 < 0, in integers: compare da^2 with 2 db^2 by sign.
            bool less = false;  // C++17 constexpr: no uninitialised locals (clang)
            if (da <= 0 && db <= 0)
                less = da < 0 || db < 0;
            else if (da >= 0 && db >= 0)
                less = false;
            else if (da < 0)  // db > 0: |da| > db sqrt2
                less = da * da > 2 * db * db;
            else  // db < 0: db sqrt2 outweighs da
                less = 2 * db * db > da * da;
            if (less) t |= std::uint64_t{1} << ((da + 4) * 8 + (db + 4));
        }
    return t;
}();
inline bool cheaper(std::int64_t da, std::int64_t db) noexcept {
    const auto ua = static_cast<std::uint64_t>(da + 4), ub = static_cast<std::uint64_t>(db + 4);
    if ((ua | ub) < 8) return (kCheaperTable >> (ua * 8 + ub)) & 1u;
    return static_cast<double>(da) + kSqrt2 * static_cast<double>(db) < 0.0;
}

inline std::uint64_t bits_of(double f) noexcept {
    std::uint64_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}
/// An entry's cell as row << 32 | column: the pop needs the row and column (heuristic, bit
/// index), and dividing the cell index by the row length cost a slow division per pop.
inline std::uint64_t rc_of(std::int64_t r, std::int64_t c) noexcept {
    return (static_cast<std::uint64_t>(r) << 32) | static_cast<std::uint64_t>(c);
}
/// What move I adds to a row << 32 | column word, modulo 2^64 (a -1 column borrows from the
/// row part, which stays exact because the result is a valid cell's word).
template <int Conn, int I>
constexpr std::uint64_t kRcStep =
    (static_cast<std::uint64_t>(static_cast<std::int64_t>(move_at<Conn>(I).dr)) << 32) +
    static_cast<std::uint64_t>(static_cast<std::int64_t>(move_at<Conn>(I).dc));

/// The current bucket is kept sorted latest first (its minimum f at the back); insertion
/// keeps that order. With the octile heuristic a child's f differs from its parent's by 0
/// (handled before) or by at least sqrt2 - 1 > 1/kScale, so this is not reached today (the
/// round-6 review counted 0 calls); it keeps the order should the moves or heuristic change.
inline void sorted_insert(std::vector<Exact2DEntry>& b, const Exact2DEntry& e) {
    b.insert(std::lower_bound(b.begin(), b.end(), e,
                              [](const Exact2DEntry& x, const Exact2DEntry& y) {
                                  return x.f > y.f;
                              }),
             e);
}

inline void prefetch(const void* p) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(p);
#else
    (void)p;
#endif
}

/// Removes from bucket `b` the entries whose cell is closed (an entry left behind when its
/// cell was reached again at a lower f and expanded from there), keeping the others in
/// order; returns how many it removed. Run when the scan reaches a bucket: by then most of
/// the stale entries it will ever hold are known (their cells closed at a lower f, in
/// earlier buckets), and testing them here, branch-free, takes most of the work off the
/// hard-to-predict "stale?" branch per pop (about a third of the pops on a random grid were
/// stale). That branch stays for entries that go stale after the drop (mixed buckets).
inline std::size_t drop_closed(std::vector<Exact2DEntry>& b, const std::uint64_t* bits,
                               std::int64_t pairs) noexcept {
    const std::size_t n = b.size();
    Exact2DEntry* d = b.data();
    std::size_t k = 0;
    for (std::size_t j = 0; j < n; ++j) {
        const Exact2DEntry x = d[j];
        const auto r = static_cast<std::int64_t>(x.rc >> 32),
                   c1 = static_cast<std::int64_t>(x.rc & 0xffffffffu) + 1;
        const std::uint64_t w = bits[(r + 1) * pairs + (c1 >> 5)];
        d[k] = x;
        k += ((w >> (32 + (c1 & 31))) & 1u) ^ 1u;
    }
    b.resize(k);
    return n - k;
}

#if !defined(__SSE2__)  // pack16's portable form
inline std::uint64_t load_u64(const std::uint8_t* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;  // little-endian byte order (x86-64, AArch64), as pack8 assumes
}

/// Packs 8 bytes into 8 bits, bit k set when byte k is non-zero (little-endian).
inline std::uint32_t pack8(const std::uint8_t* p) noexcept {
    const std::uint64_t x = load_u64(p);
    const std::uint64_t lo7 = 0x7f7f7f7f7f7f7f7fULL;
    // High bit of each byte: set when the byte is non-zero (no carries cross bytes).
    const std::uint64_t nz = (((x & lo7) + lo7) | x) & ~lo7;
    // Gather the 8 high bits into the top byte: byte k's bit lands at 56 + k.
    return static_cast<std::uint32_t>(((nz >> 7) * 0x0102040810204080ULL) >> 56);
}
#endif

/// Asks for transparent huge pages on the node words. A long query on a 1024 x 1024 grid
/// otherwise takes thousands of 4 KiB zero-page faults (measured: about half of a fresh
/// 4-connected corner-to-corner query on a loaded 2-core machine); a few 2 MiB faults cost far
/// less. Only long searches ask (kHugePagesAfter): a short query would pay for zeroing whole
/// 2 MiB pages it barely touches. Pages already touched keep 4 KiB. Advisory only.
inline void advise_huge_pages(void* p, std::int64_t bytes) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes < (std::int64_t{1} << 21)) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(p) + 4095) & ~std::uintptr_t{4095};
    const auto end = (reinterpret_cast<std::uintptr_t>(p) + static_cast<std::uintptr_t>(bytes)) &
                     ~std::uintptr_t{4095};
    if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

/// Starts the lazily built state for grid `g`: all arrays zero (nothing packed or closed).
void reset_grid(Exact2DState& st, const GridView& g) {
    st.source = g.passable;
    st.rows = g.rows;
    st.cols = g.cols;
    st.bits.shape(g.rows, g.cols);
    st.blocks_per_row = (g.cols + kExact2DBlock - 1) >> kExact2DBlockShift;
    // Rows of block_state are a power of two long, so the per-expansion lookup is a shift.
    st.block_row_shift = 0;
    while ((std::int64_t{1} << st.block_row_shift) < st.blocks_per_row) ++st.block_row_shift;
    st.block_state.reset(g.rows << st.block_row_shift);
    st.dirty.clear();
}

/// Bit k set when byte k of the 16 at p is non-zero.
inline std::uint32_t pack16(const std::uint8_t* p) noexcept {
#if defined(__SSE2__)
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto zero = static_cast<std::uint32_t>(
        _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128())));
    return ~zero & 0xffffu;
#else
    return pack8(p) | (pack8(p + 8) << 8);
#endif
}

/// Clears the passability bits of padded columns [from, to) of the row starting at word w.
void clear_free(std::uint64_t* w, std::int64_t from, std::int64_t to) {
    for (std::int64_t k = from >> 5; k <= (to - 1) >> 5; ++k) {
        const std::int64_t lo = std::max(from, k << 5) - (k << 5);
        const std::int64_t hi = std::min(to, (k + 1) << 5) - (k << 5);
        w[k] &= ~(((std::uint64_t{1} << (hi - lo)) - 1) << lo);  // hi - lo <= 32
    }
}

/// Packs block `blk` of grid row r (columns blk * kExact2DBlock ..) into the passability
/// bits, 16 cells per step. Its bits are cleared first: they may hold an earlier grid's cells
/// (a store kept across calls repacks on the same arrays). Blocks cover disjoint bits.
void pack_block(Exact2DState& st, const GridView& g, std::int64_t r, std::int64_t blk) {
    std::uint64_t* w = st.bits.words() + (r + 1) * st.bits.pairs;  // padded row r + 1
    const auto put = [w](std::int64_t x, std::uint64_t v, int n) {
        // ORs the n (<= 16) low bits of v in at padded column x (cleared above), low halves.
        const auto off = static_cast<unsigned>(x & 31);
        w[x >> 5] |= (v << off) & 0xffffffffu;
        if (off + static_cast<unsigned>(n) > 32) w[(x >> 5) + 1] |= v >> (32 - off);
    };
    const std::uint8_t* in = g.passable + r * g.cols;
    std::int64_t c = blk << kExact2DBlockShift;
    const std::int64_t end = std::min(g.cols, c + kExact2DBlock);
    if (end - c == kExact2DBlock) {
        // A whole block: its 256 cells are padded columns c + 1 .. c + 256, i.e. bits 1-31
        // of word k0, all of the next seven and bit 0 of word k0 + 8 (c is a multiple of
        // 256). Each word's passability half is written once, from 32 packed cells and the
        // carry of the 32 before (OR-ing 16 cells at a time into the same words made a
        // chain of dependent read-modify-writes: ~2% of a fresh 1024^2 query). The closed
        // halves and the neighbouring blocks' bits (bit 0 of word k0, bits 1-31 of k0 + 8)
        // are kept.
        static_assert(kExact2DBlock == 256, "the word layout below assumes 256-cell blocks");
        constexpr std::uint64_t kLow = 0xffffffffu;
        const std::int64_t k0 = c >> 5;
        std::uint64_t carry = w[k0] & 1u;
        for (int j = 0; j < 8; ++j) {
            const std::uint64_t v = pack16(in + c + 32 * j) |
                                    (static_cast<std::uint64_t>(pack16(in + c + 32 * j + 16)) << 16);
            w[k0 + j] = (w[k0 + j] & ~kLow) | (((v << 1) | carry) & kLow);
            carry = v >> 31;
        }
        w[k0 + 8] = (w[k0 + 8] & ~std::uint64_t{1}) | carry;
        return;
    }
    clear_free(w, c + 1, end + 1);
    for (; c + 16 <= end; c += 16) put(c + 1, pack16(in + c), 16);
    for (; c < end; ++c)
        if (in[c]) put(c + 1, 1, 1);
}

/// Makes sure the passability around cell (r, c) is packed before its 3 x 3 neighbourhood is
/// read: rows r - 1 .. r + 1 of the blocks holding columns c - 1 .. c + 1 (marked for the
/// whole block of c, so later cells of that block skip straight through). The caller has
/// checked that the block of c is not marked yet (the per-expansion test stays inline).
void need_cells(Exact2DState& st, const GridView& g, std::int64_t r, std::int64_t c) {
    std::uint8_t* bs = st.block_state.get();
    const int shift = st.block_row_shift;
    const std::int64_t bpr = st.blocks_per_row, blk = c >> kExact2DBlockShift;
    for (std::int64_t k = r > 0 ? r - 1 : 0; k <= r + 1 && k < g.rows; ++k) {
        for (std::int64_t b = blk > 0 ? blk - 1 : 0; b <= blk + 1 && b < bpr; ++b) {
            std::uint8_t& s = bs[(k << shift) + b];
            if (s & 1u) continue;
            pack_block(st, g, k, b);
            s = static_cast<std::uint8_t>(s | 1u);
        }
    }
    bs[(r << shift) + blk] = static_cast<std::uint8_t>(bs[(r << shift) + blk] | 2u);
}

/// Calls f(std::integral_constant<int, i>) for i = 0 .. Conn - 1, in order, or in reverse
/// order when GoalAfter (see search()).
template <int Conn, bool GoalAfter, class F, int... I>
inline void for_each_move(F& f, std::integer_sequence<int, I...>) {
    if constexpr (GoalAfter)
        (f(std::integral_constant<int, Conn - 1 - I>{}), ...);
    else
        (f(std::integral_constant<int, I>{}), ...);
}

/// GoalAfter: the goal comes after the start in row-major order, so the moves toward its row
/// (row + 1) are the last ones of kMoves8 / kMoves4 and are relaxed first (see the loop
/// below). Only the row direction is goal-ward: with the goal in the start's row, or down
/// and to the left, the first move relaxed is (1, 1). Any order is exact.
template <int Conn, bool GoalAfter>
bool search(const GridView& g, std::int64_t start, std::int64_t goal,
            std::int64_t max_expansions, ExactStore& store, PathResult* out, bool want_path) {
    const std::int64_t rows = g.rows, cols = g.cols, size = g.size();
    Exact2DState& st = store.state2d;
    if (st.rows != g.rows || st.cols != cols || !st.bits.words()) {
        reset_grid(st, g);
    } else if (st.source != g.passable) {
        // Same shape, other (or edited) grid: keep the arrays, repack every block on demand
        // (pack_block overwrites its bits; the padding border stays clear).
        std::memset(st.block_state.get(), 0,
                    static_cast<std::size_t>(g.rows << st.block_row_shift));
        st.source = g.passable;
    }
    const std::int64_t pairs = st.bits.pairs;
    const std::uint8_t* const block_state = st.block_state.get();
    const int block_shift = st.block_row_shift;
    std::uint64_t* const bits = st.bits.words();
    for (const std::uint32_t w : st.dirty) bits[w] &= 0xffffffffu;  // closed halves
    st.dirty.clear();
    // Node state: one word per cell in the state's own zero-filled array, aligned to 2 MiB so
    // that huge pages cover all of it once asked for (ExactStore's array, 12 bytes per cell
    // at any page offset, left its unaligned head and tail in 4 KiB pages: ~1,000 page faults
    // on a fresh 1024^2 corner-to-corner query).
    if (st.node_cells < size) {
        st.nodes.reset(size, /*huge_aligned=*/true);
        st.node_cells = size;
        st.stamp = 0;
        st.advised = false;
    }
    if (st.stamp >= kNodeMaxStamp) {
        // Once per 2M queries the stamps run out: all node words must read "never touched"
        // again (all of them: a later, larger grid would otherwise find old stamps past
        // g.size()). Fresh zero pages, not a memset: a store kept per thread (grid_astar) may
        // hold 64 MiB, and writing zeros over it stalled that one call for tens of ms and
        // faulted in pages no query had touched. A failed mapping leaves node_cells 0, so the
        // next query maps the array anew.
        const std::int64_t cells = st.node_cells;
        st.node_cells = 0;
        st.nodes.reset(cells, /*huge_aligned=*/true);
        st.node_cells = cells;
        st.advised = false;
        st.stamp = 0;
    }
    ++st.stamp;
    std::uint64_t* const nodes = st.nodes.get();
    const std::uint64_t stamp = st.stamp, live = stamp << kNodeStampShift;
    std::vector<std::vector<Exact2DEntry>>& ring = st.ring;
    if (ring.size() != static_cast<std::size_t>(kRing)) {
        ring.assign(kRing, {});
        st.ring_f.assign(kRing, 0);
        st.ring_mixed.assign(kRing, 0);
    }
    for (auto& b : ring) b.clear();
    std::fill(st.ring_mixed.begin(), st.ring_mixed.end(), std::uint8_t{0});
    std::uint64_t* const ring_f = st.ring_f.data();
    std::uint8_t* const ring_mixed = st.ring_mixed.data();

    const std::int64_t gr = goal / cols, gc = goal % cols;
    // f of a cell at offset (dr, dc) from the goal, reached with counts (a, b): the
    // heuristic's counts are the octile (or Manhattan) distance's unit and diagonal moves.
    const auto f_of = [](std::int64_t a, std::int64_t b, std::int64_t dr, std::int64_t dc) {
        dr = dr < 0 ? -dr : dr;
        dc = dc < 0 ? -dc : dc;
        if constexpr (Conn == 8) {
            const std::int64_t lo = dr < dc ? dr : dc, hi = dr < dc ? dc : dr;
            return value2(a + hi - lo, b + lo);
        } else {
            return value2(a + dr + dc, b);
        }
    };

    // A query spanning many rows or columns expands at least that many cells, far apart in
    // the node array: ask for huge pages right away. Others ask once they turn out long.
    const std::int64_t span = std::max(std::abs(start / cols - gr), std::abs(start % cols - gc));
    if (span >= kHugePagesSpan && !st.advised) {
        // Before the start's word is written: a 2 MiB range whose first page faulted in at
        // 4 KiB would stay in 4 KiB pages.
        advise_huge_pages(nodes, size * 8);
        st.advised = true;
    }
    // Counted locally (a store through `out` each pop would be reloaded after every write
    // the compiler cannot prove unrelated); stop_at = max_expansions, or never when 0.
    std::int64_t expansions = out->expansions;
    const std::int64_t stop_at = max_expansions > 0 ? std::max(max_expansions, expansions + 1) : -1;
    std::int64_t cur;        // absolute index of the lowest bucket, ring[cur & (kRing - 1)]
    std::size_t queued = 0;  // entries in the ring
    {
        nodes[start] = live;  // counts 0; its parent move is never read (the walk stops here)
        const double f = f_of(0, 0, start / cols - gr, start % cols - gc);
        cur = static_cast<std::int64_t>(f * kScale);
        ring[static_cast<std::size_t>(cur & (kRing - 1))].push_back(
            {bits_of(f), rc_of(start / cols, start % cols)});
        queued = 1;
    }
    std::vector<Exact2DEntry>* low = &ring[static_cast<std::size_t>(cur & (kRing - 1))];
    // Each cell closes at most once: at most size() expansions, Conn pushes each. The bucket
    // scan advances `cur` at most kRing times per pop while entries remain (all of them lie
    // within kRing buckets of it).
    // A child of the popped f is expanded next without a trip through the bucket (any order
    // among equal f is exact; this one is depth first along the plateau).
    Exact2DEntry pending{};
    bool has_pending = false;
    while (queued != 0) {
        Exact2DEntry e;
        if (has_pending) {
            e = pending;
            has_pending = false;
            --queued;
        } else {
            for (std::int64_t k = 0; low->empty(); ++k) {
                if (k >= kRing) {  // entries remain but none within kRing buckets: the
                    out->expansions = expansions;  // window invariant broke (never seen);
                    return false;                  // the caller's fallback search answers
                }
                ++cur;
                const auto slot = static_cast<std::size_t>(cur & (kRing - 1));
                low = &ring[slot];
                queued -= drop_closed(*low, bits, pairs);
                // Only closed cells' entries were left: the search is exhausted (the goal is
                // unreachable), as when the loop condition ends it. Without this the scan
                // ran off the ring and the caller reran the whole query in the slow generic
                // kernel (review: a walled-in goal on 2000^2, 0.3 -> 3 s, RSS 74 -> 321 MiB).
                if (queued == 0) {
                    out->expansions = expansions;
                    return true;
                }
                if (ring_mixed[slot]) {  // entries of several f: lowest f to the back
                    std::sort(low->begin(), low->end(),
                              [](const Exact2DEntry& x, const Exact2DEntry& y) {
                                  return x.f > y.f;
                              });
                    ring_mixed[slot] = 0;
                }
            }
            e = low->back();
            low->pop_back();
            --queued;
        }
        const auto r = static_cast<std::int64_t>(e.rc >> 32),
                   c = static_cast<std::int64_t>(e.rc & 0xffffffffu);
        const std::int64_t cell = r * cols + c;
        const std::int64_t at = (r + 1) * pairs + ((c + 1) >> 5);
        std::uint64_t& cw = bits[at];
        const std::uint64_t cbit = std::uint64_t{1} << (32 + ((c + 1) & 31));
        if (cw & cbit) continue;  // stale (see ExactEntry)
        if ((cw >> 32) == 0) st.dirty.push_back(static_cast<std::uint32_t>(at));
        cw |= cbit;
        // The rows above and below hold the node words the moves will read, once the
        // neighbourhood bits are in: start loading them now, alongside those bits.
        prefetch(nodes + (r > 0 ? cell - cols : cell));
        prefetch(nodes + (r + 1 < rows ? cell + cols : cell));
        const std::uint64_t n = nodes[cell];
        const auto ga = static_cast<std::int64_t>(n & kNodeCountMask),
                   gb = static_cast<std::int64_t>((n >> kNodeCountBits) & kNodeCountMask);
        ++expansions;
        if (cell == goal) {
            out->expansions = expansions;
            out->found = true;
            out->cost = value2(ga, gb);
            if (want_path) {
                std::int64_t at = goal;
                out->cells.push_back(at);
                for (std::int64_t k = 0; k < g.size() && at != start; ++k) {  // distinct cells
                    const auto dir = static_cast<int>((nodes[at] >> kNodeDirShift) & 7u);
                    const Move2D m = move_at<Conn>(dir);
                    at -= m.dr * cols + m.dc;
                    out->cells.push_back(at);
                }
                std::reverse(out->cells.begin(), out->cells.end());
            }
            return true;
        }
        if (expansions == stop_at) {
            out->expansions = expansions;
            out->capped = true;
            return true;
        }
        if (expansions == kHugePagesAfter && !st.advised) {
            advise_huge_pages(nodes, size * 8);
            st.advised = true;
        }
        if (!(block_state[(r << block_shift) + (c >> kExact2DBlockShift)] & 2u))
            need_cells(st, g, r, c);
        const std::int64_t rg = r - gr, cg = c - gc;  // offset from the goal
        const Nb3 hood = neighbourhoods(bits + r * pairs + (c >> 5), pairs,
                                        static_cast<unsigned>(c & 31));
        std::uint32_t legal;
        if constexpr (Conn == 8) {
            // (In 4-connected grids no cell is a neighbour of both a cell and its parent.)
            const std::size_t pd =
                cell == start ? 8 : static_cast<std::size_t>((n >> kNodeDirShift) & 7u);
            legal = kParentTables.from_parent[pd][hood.free];
        } else {
            legal = kTables<Conn>.legal[hood.free];
        }
        std::uint32_t todo =
            legal & ~static_cast<std::uint32_t>(kTables<Conn>.dest[hood.closed]);
        // A legal move whose count would reach kExact2DMaxCount: give up (tested once here,
        // not per move: unit moves are bits of kUnitMoves, diagonals the others).
        if ((ga + 1 >= kExact2DMaxCount && (todo & kUnitMoves<Conn>)) ||
            (gb + 1 >= kExact2DMaxCount && (todo & ~kUnitMoves<Conn>))) {
            out->expansions = expansions;
            return false;
        }
        // Moves unrolled at compile time: each one's offsets, cost field and heuristic
        // update fold into constants; only the legality bit is tested at run time. The
        // moves toward the goal's row go first (see for_each_move), so the first child that
        // keeps f (`pending`, expanded next) usually heads that way: this depth-first walk
        // along the f plateau then ran ~2% faster than one that starts sideways or backward.
        bool broke = false;  // the window invariant failed
        const auto relax = [&](auto move_index) {
            constexpr int i = decltype(move_index)::value;
            constexpr Move2D m = move_at<Conn>(i);
            if (!(todo & (1u << i))) return;
            const std::int64_t na = ga + (m.diagonal ? 0 : 1), nb = gb + (m.diagonal ? 1 : 0);
            const std::int64_t next = cell + m.dr * cols + m.dc;
            std::uint64_t& s = nodes[next];
            if ((s >> kNodeStampShift) == stamp &&
                !cheaper(na - static_cast<std::int64_t>(s & kNodeCountMask),
                         nb - static_cast<std::int64_t>((s >> kNodeCountBits) & kNodeCountMask)))
                return;
            s = live | (static_cast<std::uint64_t>(i) << kNodeDirShift) |
                (static_cast<std::uint64_t>(nb) << kNodeCountBits) | static_cast<std::uint64_t>(na);
            const double f = f_of(na, nb, rg + m.dr, cg + m.dc);
            const Exact2DEntry child{bits_of(f), e.rc + kRcStep<Conn, i>};
            if (child.f == e.f) {  // most children of a plateau: LIFO, depth first along it
                if (!has_pending) {
                    pending = child;
                    has_pending = true;
                } else {
                    low->push_back(child);
                }
                ++queued;
                return;
            }
            const auto idx = static_cast<std::int64_t>(f * kScale);
            // Unreachable with a consistent heuristic (f never drops, grows by <= 2 sqrt2);
            // if it ever failed, the caller's fallback search answers instead.
            if (static_cast<std::uint64_t>(idx - cur) >= static_cast<std::uint64_t>(kRing)) {
                broke = true;
                return;
            }
            if (idx == cur) {
                sorted_insert(*low, child);
            } else {
                const auto slot = static_cast<std::size_t>(idx & (kRing - 1));
                std::vector<Exact2DEntry>& b = ring[slot];
                if (b.empty())
                    ring_f[slot] = child.f;
                else if (ring_f[slot] != child.f)
                    ring_mixed[slot] = 1;
                b.push_back(child);
            }
            ++queued;
        };
        for_each_move<Conn, GoalAfter>(relax, std::make_integer_sequence<int, Conn>{});
        if (broke) {
            out->expansions = expansions;
            return false;
        }
    }
    out->expansions = expansions;
    return true;
}

}  // namespace

void Exact2DBits::shape(std::int64_t rows, std::int64_t cols) {
    pairs = ((cols + 2 + 31) >> 5) + 1;  // + 1: the second word of neighbourhoods()
    array.reset((rows + 2) * pairs);
}

bool astar_exact_2d(const GridView& g, int connectivity, std::int64_t start, std::int64_t goal,
                    std::int64_t max_expansions, ExactStore& store, PathResult* out,
                    bool want_path) {
    // 8-connected, relaxing the moves toward the goal's row first makes the child that keeps
    // the popped f (expanded next, without a trip through the queue) a goal-ward one: 2-5%
    // faster on the 1024^2 corner-to-corner query, either way round (C++ driver, side by
    // side). Any order is exact. 4-connected keeps the fixed order: there the order decides
    // how much of the (large) f == C* plateau is searched, and the goal-ward one expanded
    // 10% more cells on that query.
    if (connectivity == 4)
        return search<4, false>(g, start, goal, max_expansions, store, out, want_path);
    return goal > start
               ? search<8, true>(g, start, goal, max_expansions, store, out, want_path)
               : search<8, false>(g, start, goal, max_expansions, store, out, want_path);
}

}  // namespace fbsim::detail
