// SPDX-License-Identifier: MIT
// fbsim: hierarchical loose grid kept as ONE persistent sorted index. Level L has cells of side
// base * 2^L and a box lives in ONE cell, the one holding its min corner, at the smallest level
// whose side exceeds the box's largest side by a relative slack of kSlack (hierarchical grids:
// Mirtich, "Efficient algorithms for two-phase collision detection", 1997; Ericson, "Real-Time
// Collision Detection", 2005, section 7.2). Then a box spans at most its own cell and the next
// one up per axis, so two boxes on one level can only overlap if their cells are neighbours.
// The slack absorbs the rounding of x / side (|x / side| <= 1e9, relative error 2^-53).
//
// Unlike a hashed grid (Teschner et al. 2003) the cells are not looked up through a table: the
// boxes are kept sorted by cell key (level, z, y, x) and, within a cell, by min x, with their
// bounds rounded outward to float in 32-byte records (pair_record.hpp). A grid column
// (level, z, y) is then a contiguous run sorted along x. pairs() needs no per-call sorting:
// when one level holds every box in a compact block, a per-call dense cell directory makes
// each row of 3 neighbour cells one slice and each cell meets its 13 forward neighbours (the
// usual grid pass); otherwise each column is swept and pruned along x (Baraff 1992; Cohen et
// al., I-COLLIDE, 1995) against itself and its 4 forward neighbour columns; a level with a
// crowded cell, whose boxes may share one min x, is re-gridded per call and swept along its
// best axis instead (crowded_level.hpp). An automatic cell size is re-chosen at a merge
// when the boxes stopped fitting it (rechoose_cell_size()). Elsewhere cells
// are found by binary search or by cursors that only move forward. Writers keep the order: a
// box that stays in its cell (and keeps its place in the cell's x order) is rewritten in
// place, the others are taken out and merged back once per batch, O(n + m log m). Every float
// test is conservative; the exact double test decides whenever the floats cannot, so answers
// are exact.
#include <algorithm>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <utility>

#include "cell_index.hpp"
#include "simd_level.hpp"
#ifdef FBSIM_SIMD_AVX2
#include <immintrin.h>
#endif
#include "crowded_level.hpp"
#include "crowded_set.hpp"
#include "pair_lanes.hpp"
#include "pair_record.hpp"
#include "fbsim/broadphase.hpp"
#include "fbsim/validate.hpp"

namespace fbsim {

namespace {

using namespace detail::cells;  // NOLINT: this file is the one user of the private run type

// pos[] of a slot whose entry is in the side buffer (found there by a scan when it leaves).
constexpr std::uint32_t kInBuffer = 0xFFFFFFFEu;
// The side buffer is merged into the main index once it would hold more than
// min(kMaxBuffer, max(kMinBuffer, n / 16)) entries (n: main index size). A write into the
// buffer shifts on average half of it (9 memmoves) and a merge is O(n), so the cap bounds the
// single-write cost while n / 16 keeps the amortised merge cost per write O(1) for small n
// (at 1e6, merge time / 4096 per write). 4096 entries of 36 bytes stay in L2.
constexpr std::size_t kMaxBuffer = 4096;
constexpr std::size_t kMinBuffer = 64;
constexpr std::size_t kAutoCap = ~std::size_t{0};
// pairs() runs its cell-by-cell pass on a level only while no cell holds more entries than
// this (similar boxes under a fitting cell size hold ~1-2; see candidate_pairs).
constexpr std::uint32_t kDenseCellMost = 32;

// Searching a crowded cell by scanning vs re-gridding its level for the rest of a call (a batch
// of queries, the moved boxes of pairs(ids)): a search that scans more than kCrowdedScan
// records met a crowd, and its scans count toward the level's re-grid. A re-grid
// (CrowdedSet::build, O(level log level)) costs about as much as scanning kRegridScans records
// per entry of the level (review of round 8: ~350 ns per entry vs 2-3 ns per scanned record;
// a budget of 8 re-gridded a 100k-speck level for a batch of 24 queries, 45 ms vs 3 ms of scans).
constexpr std::size_t kCrowdedScan = 3 * kDenseCellMost;
constexpr double kRegridScans = 128.0;
// Whether to re-grid a level of `entries` entries now: the call's searches have already scanned
// `scanned` crowded records, as many as a re-grid costs (rent or buy: re-grid once the rent
// paid reaches the price, so a call pays at most about twice the cheaper of the two, and a
// few crowded searches never re-grid). A forecast from the rate so far was tried and dropped
// (review): one crowded search early in a tick re-gridded a 1e6-box level (761 ms vs 23), and
// many cheap searches first kept a crowded stretch scanning (1.2 s vs 88 ms).
inline bool regrid_pays(std::size_t scanned, std::size_t entries) noexcept {
    return double(scanned) > kRegridScans * double(entries);
}

// The window tests of pairs(moved), 9 windows of 8 records at once: bit k of out[w] is set
// when record r[at[w] + k] overlaps the query's float bounds (as detail::record_overlaps).
// With AVX2, checked at run time (the build targets the SSE2 baseline, never -march=native),
// one 256-bit compare tests a whole record instead of two 128-bit ones and an or.
void window_hits_sse(const detail::PairRecord* r, const std::size_t* at, const detail::PairQuery& q,
                     unsigned* out) noexcept {
    for (int w = 0; w < 9; ++w) {
        unsigned hits = 0;
        for (unsigned k = 0; k < 8; ++k) hits |= static_cast<unsigned>(detail::record_overlaps(q, r[at[w] + k])) << k;
        out[w] = hits;
    }
}
#ifdef FBSIM_SIMD_AVX2
__attribute__((target("avx2"))) void window_hits_avx2(const detail::PairRecord* r, const std::size_t* at,
                                                      const detail::PairQuery& q, unsigned* out) noexcept {
    const __m256i qv = _mm256_setr_epi32(q.hi[0], q.hi[1], q.hi[2], q.hi[3], q.nlo[0], q.nlo[1], q.nlo[2], q.nlo[3]);
    for (int w = 0; w < 9; ++w) {
        const detail::PairRecord* b = r + at[w];
        unsigned hits = 0;
        for (unsigned k = 0; k < 8; ++k) {
            const __m256i past = _mm256_cmpgt_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(b + k)), qv);
            hits |= static_cast<unsigned>(_mm256_testz_si256(past, past)) << k;
        }
        out[w] = hits;
    }
}
#endif
using WindowHits = void (*)(const detail::PairRecord*, const std::size_t*, const detail::PairQuery&, unsigned*) noexcept;
// The window test of this call: AVX2 when simd_level() says so (the CPU has it and neither
// FBSIM_SIMD nor a test lowered it), else SSE2 (scalar under FBSIM_NO_SIMD, inside record_overlaps).
WindowHits pick_window_hits() noexcept {
#ifdef FBSIM_SIMD_AVX2
    if (simd_level() == SimdLevel::kAvx2) return window_hits_avx2;
#endif
    return window_hits_sse;
}

// Index of the lowest set bit of v (v != 0).
inline std::size_t lowest_bit(unsigned v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    return static_cast<std::size_t>(__builtin_ctz(v));
#else
    std::size_t k = 0;
    for (; (v & 1u) == 0; v >>= 1) ++k;
    return k;
#endif
}

}  // namespace

struct SpatialHash::Impl {
    double side[kLevels] = {};
    Run main;  // the large sorted index (may hold tombstones)
    Run buf;   // recent writes, sorted the same way, never tombstones
    std::vector<std::uint32_t> pos;  // by slot: main position, kInBuffer, or kNone
    // Positions of the main index's tombstones (unordered; each buried once), so a merge
    // finds them without scanning every record.
    std::vector<std::uint32_t> tomb_at;
    std::size_t cap_override = kAutoCap;  // SpatialHash::set_buffer_cap()
    bool auto_size = false;  // cell_size chosen (and re-chosen at merges) from the boxes
    // Boxes written (inserted, updated, removed) since the cell size was last chosen: a rekey
    // (O(n log n)) waits until they reach half the index, so its cost stays O(log n) per write
    // whatever the writes do (a two-size population tips the median with every batch).
    std::size_t written = 0;

    std::size_t buffer_cap() const noexcept {
        if (cap_override != kAutoCap) return cap_override;
        return std::min(kMaxBuffer, std::max(kMinBuffer, main.size() / 16));
    }
    // Tombstones left by removes and by cell-changing updates are dropped at the next merge,
    // or by a merge of their own past this many (they only cost scan time and memory).
    std::size_t tomb_cap() const noexcept { return std::max(buffer_cap(), main.size() / 8); }

    void set_base(double base) {
        for (int l = 0; l < kLevels; ++l) side[l] = std::ldexp(base, l);
    }

    CellKey key_of(const Aabb& b) const noexcept {
        const double s = largest_side(b);
        int l = 0;
        while (l < kLevels - 1 && s > side[l] * (1.0 - kSlack)) ++l;
        return make_key(l, cell_of(b.min.z, side[l]), cell_of(b.min.y, side[l]), cell_of(b.min.x, side[l]));
    }

    Entry entry_of(std::uint32_t s, const Aabb& b, std::uint32_t rank) const noexcept {
        return Entry{key_of(b),
                     {detail::order_down(b.min.x), detail::order_down(b.min.y), detail::order_down(b.min.z)},
                     {detail::order_up(b.max.x), detail::order_up(b.max.y), detail::order_up(b.max.z)},
                     s, rank};
    }

    // Rewrites pos[] of main positions [from, end).
    void fix_pos(std::size_t from) noexcept {
        for (std::size_t p = from; p < main.size(); ++p) pos[main.slot(p)] = static_cast<std::uint32_t>(p);
    }

    // The merge: drops the tombstones, moves the buffer and `extra` into the main index and
    // empties the buffer. O(moved + m log n) for m = buffer + extra entries, where moved
    // counts the entries between the first and last change whose place shifts. Allocates
    // first (the tombstone list, the merged entry list, the plan), then shifts in place.
    void flush(std::vector<Entry>& extra) {
        std::vector<std::uint32_t> gone(tomb_at);
        detail::radix_sort(gone, [](std::uint32_t p) { return std::uint64_t{p}; });
        std::vector<Entry> es;
        es.reserve(buf.size() + extra.size());
        for (std::size_t i = 0; i < buf.size(); ++i) es.push_back(buf.entry_at(i));
        es.insert(es.end(), extra.begin(), extra.end());
        // The merged size, or 1.25x the capacity when that is more (grow(): amortised O(1) over
        // many small merges); it may throw, so it comes before anything changes.
        main.reserve(main.size() - gone.size() + es.size());
        sort_entries(es);  // allocates: before the splice, so a failure leaves the index as it was
        const Run::SplicePlan plan = main.plan_splice(gone, es);
        // One pass over the entries that move (a tick of 10% moved boxes at 100k: ~2,600
        // leave their place each tick, so every tick merges). pos[] is rewritten as each block
        // lands, while its records are in cache.
        main.splice(plan, gone, es, [&](std::size_t a, std::size_t b) {
            for (std::size_t p = a; p < b; ++p) pos[main.slot(p)] = static_cast<std::uint32_t>(p);
        });
        buf.clear();
        tomb_at.clear();
    }

    // Takes the buffer entries of `slots` (all in the buffer, ascending) out. O(buffer).
    void erase_from_buffer(const std::vector<std::uint32_t>& slots) {
        if (slots.empty()) return;
        std::vector<std::uint32_t> at;
        at.reserve(slots.size());
        for (std::size_t i = 0; i < buf.size(); ++i)
            if (std::binary_search(slots.begin(), slots.end(), buf.slot(i)))
                at.push_back(static_cast<std::uint32_t>(i));
        buf.erase(at);
    }

    // Adds entries to the buffer, or merges everything into the main index when the buffer
    // (or the tombstones) would outgrow their caps.
    // Returns true when it merged (the caller then refreshes the id ranks).
    bool add(std::vector<Entry>& es) {
        // A batch of more than n / 128 boxes merges at once (automatic cap only): a buffered
        // box costs pairs() and pairs(moved) a search of the index (~1-2 us) instead of a
        // sweep step, which outweighs the merge (~10 ns per indexed box) past that size.
        const bool big = cap_override == kAutoCap && es.size() > kMinBuffer && es.size() * 128 > main.size();
        if (big || buf.size() + es.size() > buffer_cap() || tomb_at.size() > tomb_cap()) {
            flush(es);
            return true;
        }
        buf.merge(es);
        for (const Entry& e : es) pos[e.slot] = kInBuffer;
        return false;
    }

    // Cell index range of level l that can hold boxes overlapping [a, b] on one axis.
    // Queries may reach past the world (a sphere of radius 1e6), so clamp to int32 range:
    // no stored box lives out there (|x / side| <= 1e9).
    void range(double a, double b, int l, std::int64_t& r0, std::int64_t& r1) const noexcept {
        constexpr double kLim = 2147483000.0;
        r0 = static_cast<std::int64_t>(std::clamp(std::floor(a / side[l]), -kLim, kLim)) - 1;
        r1 = static_cast<std::int64_t>(std::clamp(std::floor(b / side[l]), -kLim, kLim));
    }

    // Appends slots of run r's level l whose cells can reach q and whose float bounds overlap
    // q's (never tombstones): one search per grid column of the range, or a scan of the whole
    // level when the range has more cells or columns than the level has boxes. `scanned`, if
    // given, grows by the records tested (so a caller can tell a crowded level: it re-grids).
    void collect_level(const Run& r, const Aabb& q, int l, std::vector<std::uint32_t>& out,
                       std::size_t* scanned = nullptr) const {
        const FloatBox fq(q);
        std::int64_t x0, x1, y0, y1, z0, z1;
        range(q.min.x, q.max.x, l, x0, x1);
        range(q.min.y, q.max.y, l, y0, y1);
        range(q.min.z, q.max.z, l, z0, z1);
        const double cols = double(y1 - y0 + 1) * double(z1 - z0 + 1);
        const double n = double(r.level_count[l]);
        if (cols * double(x1 - x0 + 1) > 4.0 * n + 64.0 || cols > n + 16.0) {
            const auto [a, b] = r.level_range(l);
            for (std::size_t i = a; i < b; ++i)
                if (r.float_hit(i, fq)) out.push_back(r.slot(i));
            if (scanned) *scanned += b - a;
            return;
        }
        // The columns are visited in index order, so each search starts where the previous
        // column's scan ended (galloping: a few steps in cache, not a search of everything).
        std::size_t i = r.lower(make_key(l, z0, y0, x0));
        for (std::int64_t z = z0; z <= z1; ++z)
            for (std::int64_t y = y0; y <= y1; ++y) {
                const CellKey end = make_key(l, z, y, x1);
                i = r.gallop(i, make_key(l, z, y, x0));
                while (i < r.size() && r.key[i] <= end) {
                    if (scanned) ++*scanned;
                    if (r.lo(0, i) > fq.hi[0]) {
                        // A cell's entries ascend by min x (tombstones keep theirs): the rest
                        // of this cell starts past q, so skip to the next cell (a crowded
                        // cell is then cut at q's max x, not scanned whole).
                        i = r.gallop(i, CellKey{r.key[i].hi, r.key[i].lo + 1});
                        continue;
                    }
                    if (r.float_hit(i, fq)) out.push_back(r.slot(i));
                    ++i;
                }
            }
    }
    // collect_level() over every occupied level of run r.
    void collect(const Run& r, const Aabb& q, std::vector<std::uint32_t>& out) const {
        if (r.size() == 0) return;
        for (int l = 0; l < kLevels; ++l)
            if (r.level_count[l] != 0) collect_level(r, q, l, out);
    }

    // The main index's levels as one call (a batch of queries, the moved boxes of pairs(ids),
    // a pairs() call) searches them box after box: by cells while that stays cheap, and once the
    // call's searches have scanned as many crowded records of a level as re-gridding it costs
    // (regrid_pays()), from the level re-gridded (CrowdedSet, O(level log level)) for the rest
    // of the call. A search that scans more than kCrowdedScan records met a crowd; its scans
    // count. So a few crowded searches never re-grid, and a call pays at most about twice the
    // cheaper of the two. Per call: nothing is kept.
    template <class BoxFn>
    class LevelSearch {
      public:
        LevelSearch(const Impl& h, const BoxFn& box) : h_(h), box_(box) {}

        // Appends the slots of main level l whose float bounds overlap box b's (r: b's record
        // as pair_record.hpp lays it out; tombstones never): candidates for an exact test.
        void candidates(int l, const Aabb& b, const detail::PairRecord& r, std::vector<std::uint32_t>& out) {
            if (crowd_[l]) {
                crowd_[l]->candidates(r, b, out);
                return;
            }
            std::size_t scanned = 0;
            h_.collect_level(h_.main, b, l, out, &scanned);
            note_scans(l, scanned);
        }
        // Counts a search of level l made elsewhere (by cells) that tested `scanned` records,
        // and re-grids the level once that pays.
        void note_scans(int l, std::size_t scanned) {
            if (scanned > kCrowdedScan) scanned_[l] += scanned;
            if (!crowd_[l] && regrid_pays(scanned_[l], h_.main.level_count[l])) regrid(l);
        }
        // Re-grids level l now if `scans` records of its crowded cells, about to be tested by
        // cells, would cost more than that.
        void expect_scans(int l, std::size_t scans) {
            if (!crowd_[l] && regrid_pays(scans, h_.main.level_count[l])) regrid(l);
        }
        // Re-grids level l now (pairs() does so for a level whose sweep would not be cheap).
        const CrowdedSet& regrid(int l) {
            const auto [begin, end] = h_.main.level_range(l);
            crowd_[l] = std::make_unique<CrowdedSet>();
            crowd_[l]->build(h_.main, begin, end, box_);
            return *crowd_[l];
        }
        // Level l re-gridded by this call, or null.
        const CrowdedSet* crowd(int l) const noexcept { return crowd_[l].get(); }

      private:
        const Impl& h_;
        BoxFn box_;
        std::unique_ptr<CrowdedSet> crowd_[kLevels];
        std::size_t scanned_[kLevels] = {};
    };

    // Pairs between run `fine`'s boxes on level l and run `coarse`'s on a coarser level k,
    // each once, appended to `out` (overlap tested exactly with `box`), until `out` passes
    // `cap`. The side that asks less asks: normally each fine box queries level k (a few
    // cells), but when level k holds at most kFewCoarse boxes (baseplates over 100k parts),
    // each of those queries level l instead. A coarse box's query may scan the whole fine
    // level (~2 ns per box), so 64 of them cost at most ~130 ns per fine box, less than the
    // ~200 ns query each fine box would make (4 baseplates over 100k boxes: 25 ms -> 1 ms).
    // `fine_levels` / `coarse_levels`: the call's LevelSearch when that run is the main index
    // (null for the side buffer, which is small and searched by cells as it is): an asked main
    // level is searched through it, so a crowded coarse cell is not scanned whole by every
    // fine box (review of round 8: 20k rods in one coarse cell over 50k specks, 1.6-6 s).
    static constexpr std::size_t kFewCoarse = 64;
    template <class BoxFn, class Search>
    void level_pairs(const Run& fine, int l, const Run& coarse, int k, const BoxFn& box,
                     std::vector<std::uint32_t>& cand, std::vector<std::uint32_t>& out,
                     std::size_t cap, Search* fine_levels, Search* coarse_levels) const {
        const bool coarse_asks = coarse.level_count[k] <= kFewCoarse;
        const Run& asker = coarse_asks ? coarse : fine;
        const Run& asked = coarse_asks ? fine : coarse;
        Search* const asked_levels = coarse_asks ? fine_levels : coarse_levels;
        const int asked_level = coarse_asks ? l : k;
        const auto [begin, end] = asker.level_range(coarse_asks ? k : l);
        for (std::size_t i = begin; i < end && out.size() <= cap; ++i) {
            if (asker.dead(i)) continue;
            const std::uint32_t s = asker.slot(i);
            const Aabb& bs = box(s);
            cand.clear();
            if (asked_levels) asked_levels->candidates(asked_level, bs, asker.rec[i], cand);
            else collect_level(asked, bs, asked_level, cand);
            for (const std::uint32_t b : cand) {
                if (!overlaps(bs, box(b))) continue;
                out.push_back(s);
                out.push_back(b);
            }
        }
    }

    // Slots of run r in the cells swept by the segment, per level (tombstones skipped).
    void ray_collect(const Run& r, const Vec3& o, const Vec3& d, double max_t,
                     std::vector<std::uint32_t>& out) const {
        const double pad = 1e-9 * (1.0 + max_t);
        const Vec3 end{o.x + d.x * max_t, o.y + d.y * max_t, o.z + d.z * max_t};
        const FloatBox seg(Aabb{{std::min(o.x, end.x) - pad, std::min(o.y, end.y) - pad, std::min(o.z, end.z) - pad},
                                {std::max(o.x, end.x) + pad, std::max(o.y, end.y) + pad, std::max(o.z, end.z) + pad}});
        std::vector<CellKey> keys;
        for (int l = 0; l < kLevels; ++l) {
            if (r.level_count[l] == 0) continue;
            // March the segment one cell side at a time, gathering the cells each piece can touch.
            const double step = side[l];
            const double steps = std::ceil(max_t / step) + 1.0;
            if (steps * 27.0 > 4.0 * double(r.level_count[l]) + 64.0) {
                // Longer than the level is populated: every box of the level meeting the
                // segment's bounding box is a candidate.
                const auto [a, b] = r.level_range(l);
                for (std::size_t i = a; i < b; ++i)
                    if (r.float_hit(i, seg)) out.push_back(r.slot(i));
                continue;
            }
            keys.clear();
            for (double k = 0; k < steps; k += 1.0) {
                const double ta = std::min(k * step, max_t), tb = std::min((k + 1.0) * step, max_t);
                const Vec3 a{o.x + d.x * ta, o.y + d.y * ta, o.z + d.z * ta};
                const Vec3 b{o.x + d.x * tb, o.y + d.y * tb, o.z + d.z * tb};
                std::int64_t x0, x1, y0, y1, z0, z1;
                range(std::min(a.x, b.x) - pad, std::max(a.x, b.x) + pad, l, x0, x1);
                range(std::min(a.y, b.y) - pad, std::max(a.y, b.y) + pad, l, y0, y1);
                range(std::min(a.z, b.z) - pad, std::max(a.z, b.z) + pad, l, z0, z1);
                for (std::int64_t x = x0; x <= x1; ++x)
                    for (std::int64_t y = y0; y <= y1; ++y)
                        for (std::int64_t z = z0; z <= z1; ++z) keys.push_back(make_key(l, z, y, x));
            }
            std::sort(keys.begin(), keys.end());
            keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
            std::size_t i = 0;  // the keys ascend, so the search range only shrinks
            if (steps > 4.0) {
                // A long segment: its bounding box holds most of the swept cells, so a filter
                // by it would cost more than it saves.
                for (const CellKey& k : keys) {
                    i = r.gallop(i, k);
                    for (; i < r.size() && r.key[i] == k; ++i)
                        if (!r.dead(i)) out.push_back(r.slot(i));
                }
                continue;
            }
            for (const CellKey& k : keys) {
                i = r.gallop(i, k);
                // A short one: only boxes whose float bounds meet the segment's padded bounding
                // box (a crowded cell holds thousands the segment misses); a cell's entries
                // ascend by min x, so its scan ends past the segment's max x. Tombstones fail
                // the test.
                for (; i < r.size() && r.key[i] == k && r.lo(0, i) <= seg.hi[0]; ++i)
                    if (r.float_hit(i, seg)) out.push_back(r.slot(i));
            }
        }
    }
};

SpatialHash::SpatialHash(double cell_size) : impl_(std::make_unique<Impl>()) {
    keep_id_ranks();  // refreshed at merges of the side buffer, which are O(n) anyway
    if (cell_size > 0.0 && std::isfinite(cell_size)) {
        cell_size_ = std::clamp(cell_size, kMinCellSize, kMaxCoordinate);
        impl_->set_base(cell_size_);
    } else {
        impl_->auto_size = true;
    }
}

namespace {
// The automatic cell side for boxes of these largest sides (reordered): the largest side that
// is at most 4x the median one, with 1% head-room. Typical boxes then share level 0
// (cross-level work is the slow path), while a few huge baseplates cannot inflate the cells;
// they go to coarser levels. O(n).
double auto_cell_size(std::vector<double>& s) {
    const std::size_t k = s.size() / 2;
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
    const double median = s[k];
    double big = 0.0;
    for (double v : s)
        if (v <= 4.0 * median) big = std::max(big, v);
    const double p = big > 0.0 ? big * 1.01 : 1.0;
    return std::clamp(p, SpatialHash::kMinCellSize, kMaxCoordinate);
}
}  // namespace

void SpatialHash::rechoose_cell_size() noexcept {
    Impl& h = *impl_;
    Run& m = h.main;
    const std::size_t n = m.size();
    // Right after a merge (no buffer, no tombstones), automatic size only, and only when the
    // boxes no longer fit the cells by far: the first insert chose the size (a baseplate
    // inserted alone gives ~2000-stud cells, and then 40k bricks crowd a few of them), and
    // once n / 2 boxes have been written since the last choice (Impl::written).
    if (!h.auto_size || n < 64 || h.buf.size() != 0 || !h.tomb_at.empty() || 2 * h.written < n) return;
    try {
        // A fixed-stride sample of 256 decides whether to look at all boxes (~5 us per merge).
        std::vector<double> s;
        const std::size_t step = std::max<std::size_t>(1, n / 256);
        for (std::size_t i = 0; i < n; i += step) s.push_back(largest_side(box(m.slot(i))));
        const auto fits = [&](double p) { return p * kRechooseRatio >= cell_size_ && p <= kRechooseRatio * cell_size_; };
        if (fits(auto_cell_size(s))) return;
        s.resize(n);
        for (std::size_t i = 0; i < n; ++i) s[i] = largest_side(box(m.slot(i)));
        const double p = auto_cell_size(s);
        if (fits(p)) return;
        // Rekey every box under the new size: O(n log n) (a radix sort), allocated before
        // anything changes (out of memory: the old size stays, which is only slower).
        std::vector<Entry> es(n);
        Impl probe;
        probe.set_base(p);
        for (std::size_t i = 0; i < n; ++i) es[i] = probe.entry_of(m.slot(i), box(m.slot(i)), m.rec[i].rank());
        sort_entries(es);
        cell_size_ = p;
        h.set_base(p);
        h.written = 0;
        std::fill(m.level_count, m.level_count + kLevels, std::size_t{0});
        for (std::size_t i = 0; i < n; ++i) {
            m.put(i, es[i]);
            ++m.level_count[key_level(es[i].key)];
        }
        h.fix_pos(0);
    } catch (const std::bad_alloc&) {
        // Keep the current cell size: correct, only slower.
    }
}
SpatialHash::~SpatialHash() = default;

void SpatialHash::on_insert(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    // Everything that can throw comes before the index changes (h.add() allocates first, the
    // steps after it do not throw), and a failed first insert forgets the size it chose, so
    // Broadphase::insert can undo the batch and leave the structure as it was.
    const bool first = cell_size_ == 0.0;
    if (first) {
        // Automatic, from the first insert (re-chosen at a merge if the boxes stop fitting).
        std::vector<double> s(count);
        for (std::size_t i = 0; i < count; ++i) s[i] = largest_side(box(slots[i]));
        cell_size_ = auto_cell_size(s);
        h.set_base(cell_size_);
    }
    try {
        if (slot_capacity() > h.pos.size()) {
            grow(h.pos, slot_capacity());
            h.pos.resize(slot_capacity(), kNone);
        }
        std::vector<Entry> es(count);
        for (std::size_t i = 0; i < count; ++i) es[i] = h.entry_of(slots[i], box(slots[i]), rank_of(slots[i]));
        h.written += count;
        if (h.add(es)) {
            rechoose_cell_size();
            refresh_record_ranks();
        }
    } catch (...) {
        if (first) cell_size_ = 0.0;
        throw;
    }
}

void SpatialHash::refresh_record_ranks() {
    // Called after the index took a batch, so it must not throw: out of memory leaves the
    // ranks invalid (rebuild_ranks() marks them so first) and pairs() uses ids instead, until
    // a later merge rebuilds them.
    try {
        if (!refresh_ranks()) return;
    } catch (const std::bad_alloc&) {
        return;
    }
    Impl& h = *impl_;
    // Tombstones get their stale slot's rank too: harmless, they never pair.
    for (Run* r : {&h.main, &h.buf})
        for (detail::PairRecord& rec : r->rec) rec.set_rank(rank_of(rec.slot()));
}

void SpatialHash::on_update(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    h.written += count;
    // A main-index box that keeps its cell and its place in the cell's x order is rewritten in
    // place (checked against its current neighbours, so the index stays sorted after every
    // step); the others leave a tombstone and go to the buffer. Buffer boxes leave the buffer
    // and go back in at their new place.
    std::vector<Entry> movers;
    std::vector<std::uint32_t> from_buffer;
    grow(h.tomb_at, h.tomb_at.size() + count);  // so the loop below cannot throw half-way
    const Run& m = h.main;
    const std::size_t n = m.size();
    // Each step reads the box, pos[], the key and the record at random places (a 10% batch at
    // 100k boxes: ~4 cache misses per box, most of this loop's time when waited for one by
    // one), so the reads are prefetched: pos[] 16 boxes ahead, the rest 8 ahead. The box (48
    // bytes) straddles two cache lines every other slot, and the stays-test below reads the
    // neighbours' keys and records, on the next line over half the time: those lines too.
    constexpr std::size_t kAhead = 8;
    for (std::size_t i = 0; i < count; ++i) {
        if (i + 2 * kAhead < count) detail::prefetch(&h.pos[slots[i + 2 * kAhead]]);
        if (i + kAhead < count) {
            const Aabb& ahead = box(slots[i + kAhead]);
            detail::prefetch(&ahead.min);
            detail::prefetch(&ahead.max.z);
            const std::size_t q = h.pos[slots[i + kAhead]];
            if (q < n) {
                const std::size_t q0 = q > 0 ? q - 1 : q, q1 = q + 1 < n ? q + 1 : q;
                detail::prefetch(&m.key[q0]);
                detail::prefetch(&m.key[q1]);
                detail::prefetch(&m.rec[q0]);
                detail::prefetch(&m.rec[q1]);
            }
        }
        const std::uint32_t s = slots[i];
        const std::size_t p = h.pos[s];
        // Ids do not change, so neither do ranks: the record's lane (or the map's, buffered).
        const Entry e = h.entry_of(s, box(s), p == kInBuffer ? rank_of(s) : m.rec[p].rank());
        if (p == kInBuffer) {
            from_buffer.push_back(s);
            movers.push_back(e);
            continue;
        }
        const bool stays = e.key == m.key[p] &&
                           (p == 0 || m.key[p - 1] != e.key || !m.greater_than(p - 1, e)) &&
                           (p + 1 == n || m.key[p + 1] != e.key || m.greater_than(p + 1, e));
        if (stays) {
            h.main.put(p, e);
        } else {
            h.main.bury(p);
            h.tomb_at.push_back(static_cast<std::uint32_t>(p));
            h.pos[s] = kInBuffer;
            movers.push_back(e);
        }
    }
    std::sort(from_buffer.begin(), from_buffer.end());
    h.erase_from_buffer(from_buffer);
    // Ids do not change, so the ranks stay valid even when this merges.
    if (h.add(movers)) rechoose_cell_size();
}

void SpatialHash::on_remove(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    h.written += count;
    std::vector<std::uint32_t> from_buffer;
    grow(h.tomb_at, h.tomb_at.size() + count);  // so the loop below cannot throw half-way
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t s = slots[i];
        if (h.pos[s] == kInBuffer) {
            from_buffer.push_back(s);
        } else {
            h.main.bury(h.pos[s]);
            h.tomb_at.push_back(h.pos[s]);
        }
        h.pos[s] = kNone;
    }
    std::sort(from_buffer.begin(), from_buffer.end());
    h.erase_from_buffer(from_buffer);
    if (h.tomb_at.size() > h.tomb_cap()) {
        // The removed ids are still stored during this call; their stale ranks are harmless
        // (ranks only order ids, and no pair refers to an absent id).
        std::vector<Entry> none;
        h.flush(none);
        rechoose_cell_size();
        refresh_record_ranks();
    }
}

void SpatialHash::set_buffer_cap(std::size_t cap) {
    Impl& h = *impl_;
    h.cap_override = cap < kMaxBufferCap ? cap : kMaxBufferCap;
    if (h.buf.size() > h.buffer_cap() || h.tomb_at.size() > h.tomb_cap()) {
        std::vector<Entry> none;
        h.flush(none);
        rechoose_cell_size();
        refresh_record_ranks();
    }
}
void SpatialHash::set_auto_buffer_cap() noexcept { impl_->cap_override = kAutoCap; }
std::size_t SpatialHash::buffer_cap() const noexcept { return impl_->buffer_cap(); }
std::size_t SpatialHash::buffered() const noexcept { return impl_->buf.size(); }
std::size_t SpatialHash::tombstones() const noexcept { return impl_->tomb_at.size(); }

void SpatialHash::candidates(const Aabb& q, std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    h.collect(h.main, q, out);
    h.collect(h.buf, q, out);
}

// For a large batch of box queries when the main index holds every box on one level in a
// compact block: a dense directory of that level's cells, cell -> first index position at or
// after it (the index is in (z, y, x) cell order, so this is one pass over the sorted keys).
// The cells [x0, x1] of one (z, y) row are then ONE contiguous slice found by two reads,
// instead of a search per column. The side buffer is searched as usual.
class SpatialHash::CellDirectory final : public Broadphase::BatchSource {
  public:
    CellDirectory(const SpatialHash::Impl& h, int level, const std::int64_t c0[3], const std::int64_t n[3],
                  std::size_t begin, std::size_t end)
        : h_(h), level_(level) {
        for (int k = 0; k < 3; ++k) {
            c0_[k] = c0[k];
            n_[k] = n[k];
        }
        const std::size_t cells = static_cast<std::size_t>(n[0] * n[1] * n[2]);
        // Each entry writes its position + 1 at its cell's end slot: the index is in cell
        // order, so the last write per cell is the cell's end, and a running max fills the
        // empty cells with the end before them. No data-dependent branch per entry (unlike
        // filling starts while walking the index) and no read-modify-write chain through one
        // counter per cell (unlike a histogram, whose increments of one cell wait on each other).
        off_.assign(cells + 1, 0);
        off_[0] = static_cast<std::uint32_t>(begin);
        for (std::size_t p = begin; p < end; ++p) off_[cell(h.main.key[p]) + 1] = static_cast<std::uint32_t>(p + 1);
        for (std::size_t c = 1; c <= cells; ++c) {
            off_[c] = std::max(off_[c], off_[c - 1]);
            most_in_cell_ = std::max(most_in_cell_, off_[c] - off_[c - 1]);
        }
    }
    // Out of line: an inline virtual destructor is emitted as two weak symbols (complete and
    // deleting) that share one demangled name, which tests/test_packaging.py flags.
    ~CellDirectory() override;

    void candidates(const Aabb& q, std::vector<std::uint32_t>& out) const override {
        h_.collect(h_.buf, q, out);  // the side buffer is small and searched as it is
        const FloatBox fq(q);
        std::int64_t a[3], b[3];
        h_.range(q.min.x, q.max.x, level_, a[0], b[0]);
        h_.range(q.min.y, q.max.y, level_, a[1], b[1]);
        h_.range(q.min.z, q.max.z, level_, a[2], b[2]);
        for (int k = 0; k < 3; ++k) {  // into directory indices, clamped to the occupied block
            a[k] = std::max<std::int64_t>(a[k] - c0_[k], 0);
            b[k] = std::min<std::int64_t>(b[k] - c0_[k], n_[k] - 1);
            if (a[k] > b[k]) return;
        }
        for (std::int64_t z = a[2]; z <= b[2]; ++z)
            for (std::int64_t y = a[1]; y <= b[1]; ++y) {
                const std::size_t row = static_cast<std::size_t>((z * n_[1] + y) * n_[0]);
                const std::uint32_t end = off_[row + static_cast<std::size_t>(b[0]) + 1];
                for (std::uint32_t i = off_[row + static_cast<std::size_t>(a[0])]; i < end; ++i)
                    if (h_.main.float_hit(i, fq)) out.push_back(h_.main.slot(i));
            }
    }

    /// Index positions [first, second) of cells (x0..x1, y, z), clamped to the block.
    std::pair<std::uint32_t, std::uint32_t> row_slice(std::int64_t z, std::int64_t y, std::int64_t x0,
                                                      std::int64_t x1) const noexcept {
        z -= c0_[2];
        y -= c0_[1];
        x0 = std::max<std::int64_t>(x0 - c0_[0], 0);
        x1 = std::min<std::int64_t>(x1 - c0_[0], n_[0] - 1);
        if (z < 0 || z >= n_[2] || y < 0 || y >= n_[1] || x0 > x1) return {0, 0};
        const std::size_t row = static_cast<std::size_t>((z * n_[1] + y) * n_[0]);
        return {off_[row + static_cast<std::size_t>(x0)], off_[row + static_cast<std::size_t>(x1) + 1]};
    }

    /// The directory's cells per axis (x, y, z) and its cell -> first position array
    /// (cells + 1 entries, cell index ((z * ny) + y) * nx + x relative to the block's origin).
    const std::int64_t* counts() const noexcept { return n_; }
    /// The block's first cell per axis (x, y, z).
    const std::int64_t* origin() const noexcept { return c0_; }
    const std::uint32_t* offsets() const noexcept { return off_.data(); }
    /// The largest number of index entries (tombstones included) in one cell.
    std::uint32_t most_in_cell() const noexcept { return most_in_cell_; }

  private:
    std::size_t cell(const CellKey& k) const noexcept {
        const std::int64_t x = unbias(k.lo), y = unbias(k.lo >> 32), z = unbias(k.hi);
        return static_cast<std::size_t>(((z - c0_[2]) * n_[1] + (y - c0_[1])) * n_[0] + (x - c0_[0]));
    }
    const SpatialHash::Impl& h_;
    int level_;
    std::int64_t c0_[3], n_[3];       // first occupied cell and cell counts per axis (x, y, z)
    std::vector<std::uint32_t> off_;  // cells + 1 starts into the index
    std::uint32_t most_in_cell_ = 0;
};

SpatialHash::CellDirectory::~CellDirectory() = default;

namespace {
// A batch of box queries over an index with crowded cells (review: 1000 tiny queries over 64k
// specks in one 64-stud cell took 174 ms, each scanning the cell whole; DynamicTree 0.8 ms):
// the main index's levels are searched through one LevelSearch for the batch, which re-grids
// a level once the batch's scans of its crowded cells pay for it. Large queries over an
// uncrowded index count too (any search past kCrowdedScan records). Base is
// Broadphase::BatchSource (protected there, so named by SpatialHash::batch_source()).
template <class Base, class ImplT, class BoxFn>
class CrowdSource final : public Base {
  public:
    CrowdSource(const ImplT& h, const BoxFn& box) : h_(h), levels_(h, box) {}

    void candidates(const Aabb& q, std::vector<std::uint32_t>& out) const override {
        h_.collect(h_.buf, q, out);
        if (h_.main.size() == 0) return;
        const detail::PairRecord r = FloatBox(q).record();
        for (int l = 0; l < kLevels; ++l)
            if (h_.main.level_count[l] != 0) levels_.candidates(l, q, r, out);
    }

  private:
    const ImplT& h_;
    mutable typename ImplT::template LevelSearch<BoxFn> levels_;  // the queries are const
};
}  // namespace

std::unique_ptr<Broadphase::BatchSource> SpatialHash::batch_source(std::size_t queries) const {
    if (size() < 64) return nullptr;
    if (queries * 16 >= size()) {  // building costs O(n + cells)
        std::unique_ptr<CellDirectory> dir = cell_directory();
        // Crowded cells (the directory lists them whole): searched by the source below.
        if (dir && dir->most_in_cell() <= kDenseCellMost) return dir;
    }
    if (queries < 2) return nullptr;  // one query cannot pay for a re-grid
    const auto box_of = [this](std::uint32_t s) -> const Aabb& { return box(s); };
    return std::make_unique<CrowdSource<BatchSource, Impl, decltype(box_of)>>(*impl_, box_of);
}

std::unique_ptr<SpatialHash::CellDirectory> SpatialHash::cell_directory(int level) const {
    const Impl& h = *impl_;
    const Run& m = h.main;
    if (level < 0) {
        int levels = 0;
        for (int l = 0; l < kLevels; ++l) {
            if (m.level_count[l] == 0) continue;
            level = l;
            ++levels;
        }
        if (levels != 1) return nullptr;
    }
    const auto [begin, end] = m.level_range(level);
    if (begin == end) return nullptr;
    // The keys ascend by z first, so z's range is the first and last key's; x and y by a
    // scan of the biased coordinates (unsigned, ordered as the signed ones).
    std::uint32_t bmn[2] = {UINT32_MAX, UINT32_MAX}, bmx[2] = {0, 0};
    for (std::size_t p = begin; p < end; ++p) {
        const std::uint64_t lo = m.key[p].lo;
        const std::uint32_t bx = static_cast<std::uint32_t>(lo), by = static_cast<std::uint32_t>(lo >> 32);
        bmn[0] = std::min(bmn[0], bx);
        bmx[0] = std::max(bmx[0], bx);
        bmn[1] = std::min(bmn[1], by);
        bmx[1] = std::max(bmx[1], by);
    }
    const std::int64_t mn[3] = {unbias(bmn[0]), unbias(bmn[1]), unbias(m.key[begin].hi)};
    const std::int64_t mx[3] = {unbias(bmx[0]), unbias(bmx[1]), unbias(m.key[end - 1].hi)};
    const std::int64_t n[3] = {mx[0] - mn[0] + 1, mx[1] - mn[1] + 1, mx[2] - mn[2] + 1};
    // Dense only when the block has at most 4 cells per box (spans < 2^32, so no overflow).
    if (double(n[0]) * double(n[1]) * double(n[2]) > 4.0 * double(end - begin) + 1024.0) return nullptr;
    return std::make_unique<CellDirectory>(h, level, mn, n, begin, end);
}

void SpatialHash::ray_candidates(const Vec3& o, const Vec3& d, double max_t,
                                 std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    h.ray_collect(h.main, o, d, max_t, out);
    h.ray_collect(h.buf, o, d, max_t, out);
}

void SpatialHash::candidate_pairs(std::vector<std::uint32_t>& out) const { find_pairs(out, nullptr); }
void SpatialHash::candidate_rank_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>& keys) const {
    find_pairs(out, &keys);
}
void SpatialHash::candidate_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                            const std::vector<char>& moved,
                                            std::vector<std::uint32_t>& out) const {
    find_pairs_involving(slots, count, moved, out, nullptr);
}
void SpatialHash::candidate_rank_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                                 const std::vector<char>& moved, std::vector<std::uint32_t>& out,
                                                 std::vector<std::uint64_t>& keys) const {
    find_pairs_involving(slots, count, moved, out, &keys);
}

namespace {
// Whether the column sweep of find_pairs() stays cheap on a level with a crowded cell, from
// its dense cell directory `dir` (a SpatialHash::CellDirectory; a template, as that class is
// private) and its `entries`.
template <class Dir>
bool sweep_is_cheap(const Dir& dir, std::size_t entries) {
    // The column sweep below tests entry i (cell x of its column) only against entries of its
    // own column whose min x is within its max x -- the rest of its cell and cell x + 1 -- and,
    // in the crossings with the 8 neighbour columns, against their cells x - 1 .. x + 1 (the
    // merge starts at entries whose min x is at least i's). A box reaches at most the next
    // cell, so a cell further on only when float rounding of its max moves it there: counted
    // too (x + 2, and x - 1). So summing, over occupied cells, count x (count + those
    // neighbour counts) bounds the sweep's tests, including the neighbour cells an earlier
    // rule left out (63 x-overlapping slabs per cell in a lattice: 95 ms swept, 20 re-gridded).
    // Past kSweepTests per entry the re-grid (~280 ns per entry at 200k, about 100 tests) is
    // the cheaper; below it a few crowded cells in a large level (a client's 33 specks in one
    // cell of 200k bricks) no longer re-grid the whole level (56 -> 37 ms). Needs the level's
    // dense directory (compact block, O(n + cells)); a sparse level re-grids as before.
    constexpr double kSweepTests = 64.0;
    const std::int64_t nx = dir.counts()[0], ny = dir.counts()[1], nz = dir.counts()[2];
    const std::uint32_t* off = dir.offsets();
    // Entries in cells [x0, x1] of row (y, z), clamped to the block (0 outside it).
    const auto span = [&](std::int64_t z, std::int64_t y, std::int64_t x0, std::int64_t x1) -> double {
        if (z < 0 || z >= nz || y < 0 || y >= ny) return 0.0;
        x0 = std::max<std::int64_t>(x0, 0);
        x1 = std::min<std::int64_t>(x1, nx - 1);
        if (x0 > x1) return 0.0;
        const std::size_t row = static_cast<std::size_t>((z * ny + y) * nx);
        return double(off[row + static_cast<std::size_t>(x1) + 1] - off[row + static_cast<std::size_t>(x0)]);
    };
    const double budget = kSweepTests * double(entries);
    double tests = 0.0;
    for (std::int64_t z = 0; z < nz; ++z)
        for (std::int64_t y = 0; y < ny; ++y) {
            const std::size_t row = static_cast<std::size_t>((z * ny + y) * nx);
            for (std::int64_t x = 0; x < nx; ++x) {
                const double c = double(off[row + static_cast<std::size_t>(x) + 1] - off[row + static_cast<std::size_t>(x)]);
                if (c == 0.0) continue;
                double near = c + span(z, y, x + 1, x + 2);
                for (std::int64_t dz = -1; dz <= 1; ++dz)
                    for (std::int64_t dy = -1; dy <= 1; ++dy)
                        if (dz != 0 || dy != 0) near += span(z + dz, y + dy, x - 1, x + 2);
                tests += c * near;
            }
            if (tests > budget) return false;  // checked per row: stops early on a crowd
        }
    return tests <= budget;
}
}  // namespace

void SpatialHash::find_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>* keys) const {
    const Impl& h = *impl_;
    const Run& m = h.main;
    const std::size_t n = m.size();
    const detail::PairRecord* R = m.rec.data();
    // Past max_results() pairs stop (the caller reports the limit): a million stacked boxes
    // would otherwise materialise ~5e11 pairs. Checked per box, not per pair, so at most one
    // box's pairs (< n) overshoot.
    const std::size_t cap = 2 * max_results();
    // Found so far, 2 per pair in either list.
    const auto found = [&] { return out.size() + (keys ? 2 * keys->size() : 0); };
    const int bits = keys ? rank_bits() : 0;
    // A pair of index records: packed by the ranks they carry when asked to and both have one.
    const auto emit = [&](const detail::PairRecord& a, const detail::PairRecord& b) {
        const std::uint32_t ra = a.rank(), rb = b.rank();
        if (keys && ra != kNoRank && rb != kNoRank) {
            keys->push_back(ra < rb ? (std::uint64_t{ra} << bits) | rb : (std::uint64_t{rb} << bits) | ra);
        } else {
            out.push_back(a.slot());
            out.push_back(b.slot());
        }
    };
    // One level in a compact block (similar boxes, the common case): the cell directory makes
    // each neighbour row's cells x - 1 .. x + 1 one slice, so a cell's boxes meet their own
    // cell's later entries and the 13 forward neighbour cells (dx = +1; dy = +1; dz = +1) as
    // five short slices, every pair once. A cell holds ~1-2 boxes (the cell side fits the
    // largest typical box), so slices are tested whole rather than swept along x: the merge
    // of two x-sorted columns below takes an unpredictable branch per step (the 100k-box
    // benchmark: 18 ms for the column sweep, 12 ms for round 7's record cell pass, ~7.4 ms
    // for the lane pass of pair_lanes.hpp, whole pairs() call).
    int dense_level = 0;  // the most populated level (a baseplate or two elsewhere is common)
    for (int l = 1; l < kLevels; ++l)
        if (m.level_count[l] > m.level_count[dense_level]) dense_level = l;
    std::unique_ptr<CellDirectory> dir =
        m.level_count[dense_level] >= 64 ? cell_directory(dense_level) : nullptr;
    // The cell pass tests a cell's boxes against everything gathered for it, without pruning
    // along x, so a crowded cell would cost (boxes in it)^2: a client's thousands of tiny parts
    // in one cell, or bricks under a cell size set by a baseplate inserted first (review: 5 s
    // for 60k bricks). Above kDenseCellMost per cell the column sweep below, which stops each
    // box's scan at its max x, takes that level too; at or below it the pass is linear (each
    // box meets at most 14 cells' entries).
    if (dir && dir->most_in_cell() > kDenseCellMost) dir.reset();
    if (dir && dir->most_in_cell() > detail::kLaneCellMost) dir.reset();  // the lane pass's buffer bound
    std::size_t dense_begin = n;  // first position of the level swept cell by cell
    if (dir) {
        dense_begin = m.level_range(dense_level).first;
        // Room for ~2 pairs per box up front: growing from empty copies the list ~log2 times
        // and faults in fresh pages at each step (the lane pass then sizes the keys to this
        // capacity at once, zero-filling 16 bytes per box: measured as no cost).
        if (keys) keys->reserve(keys->size() + std::min<std::size_t>(2 * n, std::size_t{1} << 25));
        else out.reserve(out.size() + std::min<std::size_t>(4 * n, std::size_t{1} << 26));
        // The level's records as SoA lanes, then one box against 4 or 8 candidates per compare
        // (pair_lanes.hpp). Pairs the lanes cannot settle (the floats cannot decide, or a box
        // without a rank, or no keys wanted) come back one by one to be decided here; their
        // keys collect aside (the pass owns `keys` while it runs) and join at the end.
        // Without keys wanted (custom layers, or no valid ranks) the lanes carry slots instead
        // and the pass packs slot pairs as (slot << 32) | slot keys, unpacked into `out` after:
        // the same branch-free path, where sending every hit through slow() cost 27%.
        const auto [lb, le] = m.level_range(dense_level);
        detail::PairLanes lanes;
        lanes.build(R + lb, le - lb, keys == nullptr);
        std::vector<std::uint64_t> slot_keys;
        if (!keys) slot_keys.reserve(std::min<std::size_t>(2 * n, std::size_t{1} << 25));
        using Emit = decltype(emit);
        using Found = decltype(found);
        struct Slow {
            const SpatialHash* self;
            const detail::PairRecord* R;
            const Emit* emit_pair;
            std::vector<std::uint64_t>* keys;
            std::vector<std::uint64_t> aside;
            const Found* found_so_far;
            std::size_t cap;
            const std::vector<std::uint64_t>* slot_keys;
        } slow{this, R, &emit, keys, {}, &found, cap, &slot_keys};
        detail::DensePass pass;
        pass.R = R;
        pass.off = dir->offsets();
        pass.nx = dir->counts()[0];
        pass.ny = dir->counts()[1];
        pass.nz = dir->counts()[2];
        pass.base = lb;
        pass.lanes = &lanes;
        pass.bits = keys ? bits : 32;
        pass.keys = keys ? keys : &slot_keys;
        pass.ctx = &slow;
        pass.slow = [](void* ctx, std::size_t p, std::size_t k) {
            Slow& c = *static_cast<Slow*>(ctx);
            const detail::PairRecord &a = c.R[p], &b = c.R[k];
            const int t = detail::record_test(detail::PairQuery(a), b);
            if (t == 0 || (t == 1 && !overlaps(c.self->box(a.slot()), c.self->box(b.slot())))) return;
            // emit() would append to the keys the pass is writing: ranked keys go aside.
            std::vector<std::uint64_t>* const k0 = c.keys;
            if (c.keys) std::swap(*c.keys, c.aside);
            (*c.emit_pair)(a, b);
            if (k0) std::swap(*k0, c.aside);
        };
        pass.stop = [](void* ctx, std::size_t unwritten) {
            const Slow& c = *static_cast<const Slow*>(ctx);
            return (*c.found_so_far)() + 2 * (c.aside.size() + c.slot_keys->size()) - 2 * unwritten > c.cap;
        };
        detail::dense_cell_pass(pass);
        if (keys) keys->insert(keys->end(), slow.aside.begin(), slow.aside.end());
        out.reserve(out.size() + 2 * slot_keys.size());
        for (const std::uint64_t k : slot_keys) {
            out.push_back(static_cast<std::uint32_t>(k >> 32));
            out.push_back(static_cast<std::uint32_t>(k));
        }
    }
    // The main index's levels as this call searches them: the crowded ones re-gridded below
    // (and any that the cross-level and side-buffer searches find crowded) are asked that way.
    const auto box_of = [this](std::uint32_t s) -> const Aabb& { return box(s); };
    using Levels = Impl::LevelSearch<decltype(box_of)>;
    Levels levels(h, box_of);
    {
        // Every other level: entry i (whose min x is <= that of every entry in [k, end))
        // against the entries of
        // [k, end) whose min x is within its max x (the loop bound; min x of k >= that of i by
        // the sweep order). Tombstones never pair: as i their hi x ends the loop at once, as k
        // their y bounds fail.
        auto scan = [&](std::size_t i, std::size_t k, std::size_t end) {
            const detail::PairQuery q(R[i]);
            const std::int32_t ixh = q.hi[0];
            const std::uint32_t si = R[i].slot();
            for (; k < end && R[k].lo[0] <= ixh; ++k) {
                const int t = detail::record_test(q, R[k]);
                if (t == 0) continue;
                if (t == 2 || overlaps(box(si), box(R[k].slot()))) emit(R[i], R[k]);
            }
        };
        // Grid columns (level, z, y) as runs of positions; within a run min x ascends.
        struct Column {
            std::uint64_t hi, y;  // key.hi and the biased y
            std::size_t begin, end;
        };
        std::vector<Column> cols;
        for (int l = 0; l < kLevels && found() <= cap; ++l) {
            if (m.level_count[l] == 0) continue;
            const auto [lb, le] = m.level_range(l);
            if (lb == dense_begin) continue;  // that level's pairs are found above
            // A cell of more than kDenseCellMost entries: the sweep along x prunes nothing when
            // they share one min x (a wall of bricks, specks in one cell: (count)^2 tests), so
            // the level is re-gridded for this call and swept along its best axis instead.
            std::size_t most = 0;
            for (std::size_t i = lb; i < le;) {
                std::size_t j = i + 1;
                while (j < le && m.key[j] == m.key[i]) ++j;
                most = std::max(most, j - i);
                i = j;
            }
            // (The level's size captured by value: C++17 lambdas cannot capture structured
            // bindings, which clang rejects.)
            const auto cheap = [&, entries = le - lb] {
                const std::unique_ptr<CellDirectory> cells = cell_directory(l);
                return cells && sweep_is_cheap(*cells, entries);
            };
            if (most > kDenseCellMost && !cheap()) {
                levels.regrid(l).pairs(
                    box_of,
                    [&](const detail::PairRecord& a, const detail::PairRecord& b, int t) {
                        if (t == 2 || overlaps(box(a.slot()), box(b.slot()))) emit(a, b);
                    },
                    [&] { return found() > cap; });
                continue;
            }
            for (std::size_t i = lb; i < le; ++i) {
                const std::uint64_t y = m.key[i].lo >> 32;
                if (cols.empty() || cols.back().hi != m.key[i].hi || cols.back().y != y)
                    cols.push_back(Column{m.key[i].hi, y, i, i});
                cols.back().end = i + 1;
            }
        }
        if (found() > cap) return;
        // Two x-sorted columns: the entry with the smaller min x (ties: column a) scans the other
        // from its cursor while the other's min x is within its max x; each pair is met once.
        auto cross = [&](const Column& a, const Column& b) {
            std::size_t i = a.begin, j = b.begin;
            while (i < a.end && j < b.end && found() <= cap) {
                if (R[i].lo[0] <= R[j].lo[0]) {
                    scan(i, j, b.end);
                    ++i;
                } else {
                    scan(j, i, a.end);
                    ++j;
                }
            }
        };
        auto before = [](const Column& c, std::uint64_t hi, std::uint64_t y) {
            return c.hi < hi || (c.hi == hi && c.y < y);
        };
        std::size_t p = 0;  // first column at or after (z + 1, y - 1): only moves forward
        for (std::size_t r = 0; r < cols.size(); ++r) {
            const Column& a = cols[r];
            for (std::size_t i = a.begin; i < a.end; ++i) {
                scan(i, i + 1, a.end);
                if (found() > cap) return;
            }
            if (r + 1 < cols.size() && cols[r + 1].hi == a.hi && cols[r + 1].y == a.y + 1)
                cross(a, cols[r + 1]);
            while (p < cols.size() && before(cols[p], a.hi + 1, a.y - 1)) ++p;
            for (std::size_t k = p; k < cols.size() && cols[k].hi == a.hi + 1 && cols[k].y <= a.y + 1; ++k)
                cross(a, cols[k]);
        }
    }
    // Across levels of the main index: each pair of occupied levels once (level_pairs()),
    // re-gridded levels asked through their re-grid. Checked per asking box: past
    // max_results() pairs the caller reports the cap.
    {
        std::vector<std::uint32_t> other;
        for (int l = 0; l < kLevels && found() <= cap; ++l) {
            if (m.level_count[l] == 0) continue;
            for (int k = l + 1; k < kLevels && found() <= cap; ++k)
                if (m.level_count[k] != 0)
                    h.level_pairs(m, l, m, k, box_of, other, out, cap - (found() - out.size()), &levels, &levels);
        }
    }
    // The side buffer. As across the main index's levels, only the finer box of a pair asks:
    // a buffered box queries the main index's levels from its own up, and the buffer (a buffer
    // pair is met from both ends: kept from the smaller slot); main boxes on levels finer than
    // a buffered box's query the buffer's coarser levels (below). A buffered 256-stud plate
    // asking main's fine level would scan all of it: O(n) per buffered plate.
    std::vector<std::uint32_t> cand;
    for (std::size_t i = 0; i < h.buf.size() && found() <= cap; ++i) {
        const std::uint32_t a = h.buf.slot(i);
        const Aabb& ba = box(a);
        cand.clear();
        for (int l = key_level(h.buf.key[i]); l < kLevels; ++l)
            if (m.level_count[l] != 0) levels.candidates(l, ba, h.buf.rec[i], cand);
        const std::size_t in_main = cand.size();
        h.collect(h.buf, ba, cand);
        for (std::size_t c = 0; c < cand.size(); ++c) {
            const std::uint32_t b = cand[c];
            if ((c >= in_main && b <= a) || !overlaps(ba, box(b))) continue;
            out.push_back(a);
            out.push_back(b);
        }
    }
    for (int l = 0; l < kLevels && found() <= cap; ++l) {
        if (m.level_count[l] == 0) continue;
        for (int k = l + 1; k < kLevels && found() <= cap; ++k)
            if (h.buf.level_count[k] != 0)
                h.level_pairs(m, l, h.buf, k, box_of, cand, out, cap - (found() - out.size()), &levels,
                              static_cast<Levels*>(nullptr));  // the buffer: searched by cells
    }
}

void SpatialHash::find_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                       const std::vector<char>& moved, std::vector<std::uint32_t>& out,
                                       std::vector<std::uint64_t>* keys) const {
    const WindowHits window_hits = pick_window_hits();  // once per call, not per moved box
    const Impl& h = *impl_;
    const Run& m = h.main;
    const std::size_t n = m.size();
    // The moved boxes of the main index in index order, so that the start of each of the 9
    // neighbour columns' cell windows only moves forward: O(cells touched + moved), no
    // per-cell search. Moved boxes in the side buffer search each level after them (below).
    std::vector<std::uint32_t> ps, in_buf;
    ps.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t p = h.pos[slots[i]];
        if (p == kInBuffer) in_buf.push_back(slots[i]); else ps.push_back(p);
    }
    detail::radix_sort(ps, [](std::uint32_t p) { return std::uint64_t{p}; });  // positions: 17-20 bits
    std::size_t cur[9] = {};
    // A large batch: each neighbour row's cells on the most populated level are one slice of
    // the directory (moved boxes on other levels search with the cursors).
    int dense_level = 0;
    for (int o = 1; o < kLevels; ++o)
        if (m.level_count[o] > m.level_count[dense_level]) dense_level = o;
    const std::unique_ptr<CellDirectory> dir =
        count * 16 >= size() && m.level_count[dense_level] >= 64 ? cell_directory(dense_level) : nullptr;
    const detail::PairRecord* R = m.rec.data();
    std::vector<std::uint32_t> cand;
    int occupied = 0;  // occupied levels of the main index
    for (int o = 0; o < kLevels; ++o) occupied += m.level_count[o] != 0 ? 1 : 0;
    auto keep = [&](std::uint32_t a, std::uint32_t b) {
        // A pair of two moved boxes is met from both sides: keep it once.
        return b != a && (!moved[b] || a < b);
    };
    const int bits = keys ? rank_bits() : 0;
    const auto found = [&] { return out.size() / 2 + (keys ? keys->size() : 0); };
    auto exact = [&](std::uint32_t a) {  // the candidates gathered for a, exactly tested
        for (const std::uint32_t b : cand) {
            if (keep(a, b) && overlaps(box(a), box(b))) {
                out.push_back(a);
                out.push_back(b);
            }
        }
    };
    // A row slice longer than kCrowdedScan is crowded (a cell size set by a baseplate inserted
    // first, thousands of parts in one cell): it is tested whole while that stays cheap, its
    // tests counted by the call's LevelSearch, which re-grids the level once they pay for it;
    // the level's later moved boxes then query the re-grid. Moved boxes on other levels and
    // buffered ones search each level through it too.
    constexpr unsigned kWindow = 8;
    const auto box_of = [this](std::uint32_t s) -> const Aabb& { return box(s); };
    Impl::LevelSearch<decltype(box_of)> levels(h, box_of);
    // A crowded level under the directory: the row slices its moved boxes will test are known
    // up front (two directory reads each), so when their crowded ones add up to more than a
    // re-grid costs, the level is re-gridded before the first is scanned. The explicit wall
    // (4,000 of 40,000 bricks in 64-stud cells moved) took 15 ms scanning until the budget was
    // spent and then re-gridding anyway (DynamicTree 4.4). An exact sum of the scans to come,
    // not a forecast from a rate (tried in round 8 and dropped: one crowded search early in a
    // tick re-gridded a level of 1e6), so it re-grids only when scanning would cost more.
    // The 9 neighbour row slices of a box at key k on the directory's level (rows z - 1 .. z + 1,
    // y - 1 .. y + 1; cells x - 1 .. x + 1): visit(begin, end) for each.
    const auto each_row = [&](const CellKey& k, const auto& visit) {
        const std::int64_t z = unbias(k.hi), y = unbias(k.lo >> 32), x = unbias(k.lo);
        for (int c = 0; c < 9; ++c) {
            const auto r = dir->row_slice(z + c / 3 - 1, y + c % 3 - 1, x - 1, x + 1);
            visit(std::size_t{r.first}, std::size_t{r.second});
        }
    };
    if (dir && dir->most_in_cell() > kDenseCellMost) {
        std::size_t crowded = 0;
        for (const std::uint32_t p : ps)
            if (key_level(m.key[p]) == dense_level)
                each_row(m.key[p], [&](std::size_t i, std::size_t e) {
                    if (e - i > kCrowdedScan) crowded += e - i;
                });
        levels.expect_scans(dense_level, crowded);
    }
    // A moved box's windows read 9 rows spread over the index (rows z +- 1 lie ~n / nz
    // positions away), each a likely cache miss: the rows of the box kRowsAhead boxes on are
    // prefetched (on the directory's level), and its key and record twice as far ahead, as
    // the row look-up reads the key.
    constexpr std::size_t kRowsAhead = 4;
    const auto prefetch_rows = [&](std::size_t p) {
        const CellKey k = m.key[p];
        if (!dir || key_level(k) != dense_level) return;
        each_row(k, [&](std::size_t i, std::size_t) {
            if (i + kWindow > n) return;
            detail::prefetch(R + i);
            detail::prefetch(R + i + kWindow / 2);
        });
    };
    for (std::size_t t = 0; t < ps.size(); ++t) {
        const std::uint32_t p = ps[t];
        if (t + 2 * kRowsAhead < ps.size()) {
            detail::prefetch(&m.key[ps[t + 2 * kRowsAhead]]);
            detail::prefetch(R + ps[t + 2 * kRowsAhead]);
        }
        if (t + kRowsAhead < ps.size()) prefetch_rows(ps[t + kRowsAhead]);
        if (found() > max_results()) return;  // the caller reports the cap
        const CellKey k = m.key[p];
        const int l = key_level(k);
        const std::int64_t z = unbias(k.hi), y = unbias(k.lo >> 32), x = unbias(k.lo);
        const std::uint32_t a = m.slot(p);
        const Aabb& ba = box(a);
        const detail::PairQuery q(R[p]);
        // Records [i, e) against a (queried by qa). Tombstones fail the float test.
        const auto test_span = [&](const detail::PairQuery& qa, const detail::PairRecord* i,
                                   const detail::PairRecord* e) {
            for (; i < e; ++i) {
                const int t = detail::record_test(qa, *i);
                if (t == 0) continue;  // tombstones always stop here
                const std::uint32_t b = i->slot();
                if (!keep(a, b) || (t == 1 && !overlaps(ba, box(b)))) continue;
                // As find_pairs(): packed from the records' rank lanes when asked and ranked.
                const std::uint32_t ra = R[p].rank(), rb = i->rank();
                if (keys && ra != kNoRank && rb != kNoRank) {
                    keys->push_back(ra < rb ? (std::uint64_t{ra} << bits) | rb : (std::uint64_t{rb} << bits) | ra);
                } else {
                    out.push_back(a);
                    out.push_back(b);
                }
            }
        };
        // A row slice of at most kWindow records (most of them: ~5 on average in a scene of
        // similar boxes): kWindow records from its start are tested without a branch (the
        // window may run past the slice, into records that are masked off) and only the hits
        // are visited. A loop over the slice itself exits at a data-dependent trip count, a
        // mispredicted branch per row (9 per moved box); this one is fully unrolled. a itself
        // (always a hit, never a pair) is masked off too.
        const auto test_window = [&](std::size_t i, std::size_t e, unsigned hits) {
            hits &= (1u << (e - i)) - 1u;
            if (p - i < kWindow) hits &= ~(1u << (p - i));
            while (hits != 0) {
                const std::size_t j = i + lowest_bit(hits);
                hits &= hits - 1u;
                test_span(q, R + j, R + j + 1);
            }
        };
        if (const CrowdedSet* crowd = levels.crowd(l)) {
            // The level re-gridded: its spans that can reach a (a's record permuted alike).
            crowd->spans(R[p], ba,
                            [&](const detail::PairQuery& qp, const detail::PairRecord* i, const detail::PairRecord* e) {
                                test_span(qp, i, e);
                            });
        } else {
            // The 9 neighbour rows (z - 1 .. z + 1, y - 1 .. y + 1), cells x - 1 .. x + 1. (Cutting
            // them to the cells a's max corner reaches tests a third fewer records but was slower:
            // the loops' trip counts then vary per box.)
            // Inside the directory's block (not on its y or z border), the 9 rows are plain
            // offsets from a's row, with x clamped once: no per-row bounds checks.
            const bool on_dir = dir && l == dense_level;
            const std::int64_t* dn = on_dir ? dir->counts() : nullptr;
            const std::int64_t zl = on_dir ? z - dir->origin()[2] : 0, yl = on_dir ? y - dir->origin()[1] : 0;
            std::size_t begin[9], end[9];  // the rows' slices of the index
            if (on_dir && zl >= 1 && zl + 1 < dn[2] && yl >= 1 && yl + 1 < dn[1]) {
                const std::uint32_t* off = dir->offsets();
                const std::int64_t xl = x - dir->origin()[0];
                const std::size_t x0 = static_cast<std::size_t>(std::max<std::int64_t>(xl - 1, 0));
                const std::size_t x1 = static_cast<std::size_t>(std::min<std::int64_t>(xl + 1, dn[0] - 1)) + 1;
                const std::size_t nx = static_cast<std::size_t>(dn[0]), nxy = nx * static_cast<std::size_t>(dn[1]);
                const std::size_t mid = static_cast<std::size_t>(zl) * nxy + static_cast<std::size_t>(yl) * nx;
                std::size_t* bw = begin;
                std::size_t* ew = end;
                for (const std::size_t r : {mid - nxy - nx, mid - nxy, mid - nxy + nx, mid - nx, mid, mid + nx,
                                            mid + nxy - nx, mid + nxy, mid + nxy + nx}) {
                    *bw++ = off[r + x0];
                    *ew++ = off[r + x1];
                }
            } else {
                for (int c = 0; c < 9; ++c) {
                    const std::int64_t zz = z + c / 3 - 1, yy = y + c % 3 - 1;
                    std::size_t i, e;
                    if (on_dir) {
                        const auto r = dir->row_slice(zz, yy, x - 1, x + 1);
                        i = r.first;
                        e = r.second;
                    } else {
                        // A few linear steps first (the next moved box is usually close),
                        // then gallop.
                        const CellKey start = make_key(l, zz, yy, x - 1);
                        i = cur[c];
                        for (int step = 0; step < 8 && i < n && m.key[i] < start; ++step) ++i;
                        i = cur[c] = m.gallop(i, start);
                        e = m.gallop(i, make_key(l, zz, yy, x + 2));
                    }
                    begin[c] = i;
                    end[c] = e;
                }
            }
            // The 9 rows' windows tested in one call (a row whose window would run past the
            // index tests record 0 instead, ignored: it takes the slice loop below).
            std::size_t at[9];
            unsigned hits[9] = {};
            for (int w = 0; w < 9; ++w) at[w] = begin[w] + kWindow <= n ? begin[w] : 0;
            static_assert(kWindow == 8, "window_hits() tests 8 records per window");
            if (n >= kWindow) window_hits(R, at, q, hits);  // else no row takes a window
            std::size_t crowded = 0;  // records of this box's crowded row slices
            for (int w = 0; w < 9; ++w) {
                const std::size_t i = begin[w], e = end[w];
                if (e - i > kCrowdedScan) crowded += e - i;
                if (e - i <= kWindow && i + kWindow <= n) test_window(i, e, hits[w]); else test_span(q, R + i, R + e);
            }
            if (crowded != 0) levels.note_scans(l, crowded);
        }
        if (occupied == 1 && h.buf.size() == 0) continue;  // nothing else to ask (the usual tick)
        cand.clear();
        for (int o = 0; o < kLevels; ++o)
            if (o != l && m.level_count[o] != 0) levels.candidates(o, ba, R[p], cand);
        h.collect(h.buf, ba, cand);
        exact(a);
    }
    // Moved boxes in the side buffer: each level of the main index searched by cells, under
    // the same budget as above (a level whose searches scan crowded cells re-grids), or its
    // re-grid once built.
    for (const std::uint32_t a : in_buf) {
        if (found() > max_results()) return;
        cand.clear();
        const Aabb& ba = box(a);
        const detail::PairRecord ra = FloatBox(ba).record();
        for (int l = 0; l < kLevels; ++l)
            if (m.level_count[l] != 0) levels.candidates(l, ba, ra, cand);
        h.collect(h.buf, ba, cand);
        exact(a);
    }
}

std::size_t SpatialHash::index_memory_bytes() const noexcept {
    const Impl& h = *impl_;
    return h.main.capacity_bytes() + h.buf.capacity_bytes() +
           (h.pos.capacity() + h.tomb_at.capacity()) * sizeof(std::uint32_t);
}

bool SpatialHash::check_invariants() const {
    const Impl& h = *impl_;
    std::size_t live = 0, dead = 0;
    for (const Run* r : {&h.main, &h.buf}) {
        std::size_t per_level[kLevels] = {};
        for (std::size_t i = 0; i < r->size(); ++i) {
            if (i > 0 && !r->greater_than(i, r->entry_at(i - 1))) return false;  // strictly sorted
            ++per_level[key_level(r->key[i])];
            if (r->dead(i)) {
                if (r == &h.buf) return false;  // the buffer holds no tombstones
                ++dead;
                continue;
            }
            const std::uint32_t s = r->slot(i);
            if (s >= slot_capacity() || !alive(s)) return false;
            if (h.pos[s] != (r == &h.buf ? kInBuffer : static_cast<std::uint32_t>(i))) return false;
            const Entry e = h.entry_of(s, box(s), rank_of(s));
            if (e.key != r->key[i] || r->rec[i].rank() != e.rank) return false;
            for (int d = 0; d < 3; ++d)
                if (e.lo[d] != r->lo(d, i) || e.hi[d] != r->hi(d, i)) return false;
            ++live;
        }
        for (int l = 0; l < kLevels; ++l)
            if (per_level[l] != r->level_count[l]) return false;
    }
    if (live != size() || dead != h.tomb_at.size()) return false;
    for (const std::uint32_t p : h.tomb_at)
        if (p >= h.main.size() || !h.main.dead(p)) return false;
    std::size_t indexed = 0;
    for (std::size_t s = 0; s < h.pos.size(); ++s) {
        if (h.pos[s] == kNone) continue;
        if (!alive(static_cast<std::uint32_t>(s))) return false;
        ++indexed;
    }
    return indexed == live;
}

}  // namespace fbsim
