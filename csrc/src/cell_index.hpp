// SPDX-License-Identifier: MIT
// fbsim (private): the sorted cell runs of SpatialHash. A run holds boxes sorted by cell key
// (level, z, y, x), then min x, then slot: the keys in one array, the outward float bounds and
// slot as 32-byte records (pair_record.hpp) in another, so a grid column (level, z, y) is one
// x-sorted slice and a pair test reads one record. SpatialHash keeps two: the large main index and a
// small side buffer of recent writes (a two-level log-structured merge, O'Neil et al., "The
// log-structured merge-tree", 1996), so a single write costs O(buffer) instead of O(n).
// Entries of the main run can be tombstones: bounds that fail every float test while the
// key, min x and slot keep the run sorted.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "fbsim/geometry.hpp"
#include "grow.hpp"
#include "outward_float.hpp"
#include "pair_record.hpp"
#include "radix_sort.hpp"

namespace fbsim::detail::cells {

constexpr int kLevels = 32;  // base >= 1e-3, so level 31 cells exceed the whole world
constexpr double kSlack = 1e-6;
constexpr std::uint32_t kNone = 0xFFFFFFFFu;

// Cell key packed so that comparing (hi, lo) as unsigned integers orders by (level, z, y, x):
// hi = level << 32 | biased z, lo = biased y << 32 | biased x (bias: flip the sign bit).
struct CellKey {
    std::uint64_t hi, lo;
};
// Non-short-circuit: the outcome is data dependent, so one branch beats two mispredicted ones.
inline bool operator==(CellKey a, CellKey b) noexcept { return (a.hi == b.hi) & (a.lo == b.lo); }
inline bool operator!=(CellKey a, CellKey b) noexcept { return !(a == b); }
inline bool operator<(CellKey a, CellKey b) noexcept {
    return (a.hi < b.hi) | ((a.hi == b.hi) & (a.lo < b.lo));
}
inline bool operator<=(CellKey a, CellKey b) noexcept { return !(b < a); }

inline std::uint64_t bias(std::int64_t v) noexcept {
    return static_cast<std::uint32_t>(static_cast<std::int32_t>(v)) ^ 0x80000000u;
}
inline std::int64_t unbias(std::uint64_t v) noexcept {
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(v) ^ 0x80000000u);
}
// Cell coordinates stay within +-2^31 - 648 (queries are clamped in range()), so a neighbour
// offset of +-1 never wraps into another field.
inline CellKey make_key(int level, std::int64_t z, std::int64_t y, std::int64_t x) noexcept {
    return CellKey{(static_cast<std::uint64_t>(level) << 32) | bias(z), (bias(y) << 32) | bias(x)};
}
inline int key_level(CellKey k) noexcept { return static_cast<int>(k.hi >> 32); }

// Non-short-circuit `&`: six compares and one well-predicted branch (most tests fail), rather
// than six branches that mispredict on random data.
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return (a.min.x <= b.max.x) & (b.min.x <= a.max.x) & (a.min.y <= b.max.y) &
           (b.min.y <= a.max.y) & (a.min.z <= b.max.z) & (b.min.z <= a.max.z);
}

// A box's largest side: what picks its level (and the automatic cell size, and which boxes a
// crowded level's re-grid treats as wide).
inline double largest_side(const Aabb& b) noexcept {
    return std::max({b.max.x - b.min.x, b.max.y - b.min.y, b.max.z - b.min.z});
}

inline std::int32_t cell_of(double v, double side) noexcept {
    return static_cast<std::int32_t>(std::floor(v / side));
}

// One box ready to be merged into the index.
struct Entry {
    CellKey key;
    std::int32_t lo[3], hi[3];  // outward float bounds, detail::float_order
    std::uint32_t slot;
    std::uint32_t rank;  // the slot's id rank (PairRecord lane), Broadphase::kNoRank if none
};
inline bool entry_less(const Entry& a, const Entry& b) noexcept {
    if (a.key != b.key) return a.key < b.key;
    if (a.lo[0] != b.lo[0]) return a.lo[0] < b.lo[0];
    return a.slot < b.slot;
}

// A query box's outward float bounds.
struct FloatBox {
    std::int32_t lo[3], hi[3];
    explicit FloatBox(const Aabb& b) noexcept
        : lo{detail::order_down(b.min.x), detail::order_down(b.min.y), detail::order_down(b.min.z)},
          hi{detail::order_up(b.max.x), detail::order_up(b.max.y), detail::order_up(b.max.z)} {}
    // As a record (slot and rank lanes 0): how a re-gridded level (crowded_set.hpp) is asked.
    detail::PairRecord record() const noexcept { return detail::make_record(lo, hi, 0, 0); }
};

// Sorts by entry_less. Large batches (a build): a stable radix sort by the cell key packed
// relative to the batch's smallest cell, then each cell's few entries by (min x, slot); when
// the cells span too far to pack in 64 bits, a comparison sort.
inline void sort_entries(std::vector<Entry>& es) {
    if (es.size() < 256) {
        std::sort(es.begin(), es.end(), entry_less);
        return;
    }
    std::uint64_t mn[3] = {~0ull, ~0ull, ~0ull}, mx[3] = {0, 0, 0};
    for (const Entry& e : es) {
        const std::uint64_t c[3] = {e.key.lo & 0xFFFFFFFFu, e.key.lo >> 32, e.key.hi & 0xFFFFFFFFu};
        for (int k = 0; k < 3; ++k) {
            mn[k] = std::min(mn[k], c[k]);
            mx[k] = std::max(mx[k], c[k]);
        }
    }
    int bits[3];
    for (int k = 0; k < 3; ++k) {
        bits[k] = 0;
        while (bits[k] < 33 && (mx[k] - mn[k]) >> bits[k]) ++bits[k];
    }
    if (5 + bits[0] + bits[1] + bits[2] > 64) {
        std::sort(es.begin(), es.end(), entry_less);
        return;
    }
    detail::radix_sort(es, [&](const Entry& e) {
        const std::uint64_t x = (e.key.lo & 0xFFFFFFFFu) - mn[0], y = (e.key.lo >> 32) - mn[1];
        const std::uint64_t z = (e.key.hi & 0xFFFFFFFFu) - mn[2], l = e.key.hi >> 32;
        return (((((l << bits[2]) | z) << bits[1]) | y) << bits[0]) | x;
    });
    for (std::size_t a = 0; a < es.size();) {
        std::size_t b = a + 1;
        while (b < es.size() && es[b].key == es[a].key) ++b;
        std::sort(es.begin() + static_cast<std::ptrdiff_t>(a), es.begin() + static_cast<std::ptrdiff_t>(b),
                  entry_less);
        a = b;
    }
}

using detail::grow;


// Tombstone bounds: lo above and hi below every real outward float order (|order| < 2.13e9 for
// |v| <= 1e38), so every float overlap test fails; the margin of 8 keeps `lo + 2` (the "sure"
// test) free of signed overflow.
constexpr std::int32_t kTombLo = INT32_MAX - 8;
constexpr std::int32_t kTombHi = INT32_MIN + 8;

// One sorted run (see the file comment). Positions are indices into the arrays.
struct Run {
    std::vector<CellKey> key;
    std::vector<detail::PairRecord> rec;
    std::size_t level_count[kLevels] = {};  // positions per level, tombstones included

    std::size_t size() const noexcept { return key.size(); }
    std::uint32_t slot(std::size_t i) const noexcept { return rec[i].slot(); }
    std::int32_t lo(int d, std::size_t i) const noexcept { return rec[i].lo[d]; }
    std::int32_t hi(int d, std::size_t i) const noexcept { return -rec[i].nhi[d]; }
    bool dead(std::size_t i) const noexcept { return hi(0, i) == kTombHi; }
    // Makes position i a tombstone in place (key, lo x and slot keep the order).
    void bury(std::size_t i) noexcept {
        detail::PairRecord& r = rec[i];
        r.lo[1] = r.lo[2] = kTombLo;
        r.nhi[0] = r.nhi[1] = r.nhi[2] = -kTombHi;
    }
    Entry entry_at(std::size_t i) const noexcept {
        return Entry{key[i], {lo(0, i), lo(1, i), lo(2, i)}, {hi(0, i), hi(1, i), hi(2, i)}, slot(i), rec[i].rank()};
    }

    // (key, lo x, slot) of position i compared with an entry.
    bool greater_than(std::size_t i, const Entry& e) const noexcept {
        if (key[i] != e.key) return e.key < key[i];
        if (lo(0, i) != e.lo[0]) return e.lo[0] < lo(0, i);
        return e.slot < slot(i);
    }

    // Entries [from, from + len) to [to, to + len) (overlap allowed), array by array.
    void move_range(std::size_t from, std::size_t to, std::size_t len) noexcept {
        if (len == 0 || from == to) return;
        std::memmove(&key[to], &key[from], len * sizeof(CellKey));
        std::memmove(&rec[to], &rec[from], len * sizeof(detail::PairRecord));
    }
    void put(std::size_t at, const Entry& e) noexcept {
        key[at] = e.key;
        rec[at] = detail::make_record(e.lo, e.hi, e.slot, e.rank);
    }
    // Both capacities first: if the second allocation throws, neither size has changed.
    void resize(std::size_t n) {
        reserve(n);
        key.resize(n);
        rec.resize(n);
    }
    // Capacity for n entries, so that later resizes up to n cannot throw.
    void reserve(std::size_t n) {
        grow(key, n);
        grow(rec, n);
    }
    void clear() noexcept {
        key.clear();
        rec.clear();
        std::fill(level_count, level_count + kLevels, std::size_t{0});
    }
    std::size_t capacity_bytes() const noexcept {
        return key.capacity() * sizeof(CellKey) + rec.capacity() * sizeof(detail::PairRecord);
    }

    // Drops the positions `gone` (ascending, distinct) in one compaction pass: the kept runs
    // between them slide down as whole blocks. O(n). Returns the first position that moved.
    std::size_t erase(const std::vector<std::uint32_t>& gone) {
        if (gone.empty()) return size();
        for (const std::uint32_t p : gone) --level_count[key_level(key[p])];
        std::size_t w = gone[0];
        for (std::size_t j = 0; j < gone.size(); ++j) {
            const std::size_t from = std::size_t{gone[j]} + 1;
            const std::size_t to = j + 1 < gone.size() ? gone[j + 1] : size();
            move_range(from, w, to - from);
            w += to - from;
        }
        const std::size_t first = gone[0];
        resize(w);
        return first;
    }

    // Sorts `es` and merges it in from the back, in place: each new entry's place by galloping
    // search, the old entries above it shifted up as one block. O(n + m log n). Returns the
    // first position that changed.
    std::size_t merge(std::vector<Entry>& es) {
        if (es.empty()) return size();
        sort_entries(es);
        const std::size_t n0 = size(), m = es.size();
        resize(n0 + m);
        std::size_t i = n0;  // old entries [0, i) are still in place
        for (std::size_t j = m; j > 0; --j) {
            const Entry& e = es[j - 1];
            // First old position greater than e, in [0, i): galloping back from i first (the
            // previous entry's place; m spread entries land ~n/m apart, so a few probes near
            // the last one, in cache, instead of a search of all [0, i) missing at every level).
            std::size_t a = 0, b = i;
            for (std::size_t step = 1; b > 0; step *= 2) {
                const std::size_t probe = b > step ? b - step : 0;
                if (!greater_than(probe, e)) {
                    a = probe + 1;
                    break;
                }
                b = probe;  // [probe, i) are all greater than e
            }
            while (a < b) {
                const std::size_t mid = a + (b - a) / 2;
                if (greater_than(mid, e)) b = mid; else a = mid + 1;
            }
            // es[0 .. j) all precede old[a .. i): those move up by j, e lands just below.
            move_range(a, a + j, i - a);
            put(a + j - 1, e);
            i = a;
        }
        for (const Entry& e : es) ++level_count[key_level(e.key)];
        return i;
    }

    // How splice() rewrites the run, planned before anything changes (the plan allocates, the
    // splice does not). `moves` lists, in old-position order, the kept old blocks whose place
    // changes and the new entries; `pieces` groups them into stretches whose shift is never 0
    // inside and 0 at both ends, so each piece maps its old range onto the same range of the
    // result and can be done on its own: in descending order when it shifts right (as a merge
    // from the back), ascending when left (as a compaction). Blocks outside the pieces stay.
    struct SplicePlan {
        struct Move {
            std::uint32_t from, to, len;  // an old block [from, from + len) to [to, to + len)
            std::uint32_t entry;          // or, unless kNone, entry es[entry] to position `to`
        };
        struct Piece {
            std::size_t begin, end;  // moves[begin, end)
            bool right;              // shifts right: done last move first
        };
        std::vector<Move> moves;
        std::vector<Piece> pieces;
        std::size_t new_size = 0;
    };

    // First position at or after `from` whose key is >= k: up to `linear` steps along the
    // keys, then galloping.
    std::size_t key_place(std::size_t from, CellKey k, std::size_t linear) const noexcept {
        const std::size_t stop = std::min(size(), from + linear);
        std::size_t p = from;
        while (p < stop && key[p] < k) ++p;
        return p == stop ? gallop(p, k) : p;
    }

    // The places of `es` (sorted): for each, the first position greater than it. Ascending,
    // so each search starts at the previous place. Spread entries land ~n / m apart: stepping
    // along the keys (streamed, prefetched by the hardware) up to twice that before galloping
    // beats galloping at once, whose probes each miss the cache; and the records that break
    // ties inside a cell (min x, slot) are prefetched in a first pass over the keys alone and
    // read in a second (review of the tick, 2,600 entries into 100k: the searches were 6% of
    // a tick loop's time, ~200 ns each, waiting on the probes' keys and then on the record).
    std::vector<std::uint32_t> places(const std::vector<Entry>& es) const {
        std::vector<std::uint32_t> at(es.size());
        const std::size_t linear = 16 + 2 * size() / std::max<std::size_t>(es.size(), 1);
        std::size_t p = 0;
        for (std::size_t j = 0; j < es.size(); ++j) {
            p = key_place(p, es[j].key, linear);
            if (p < size()) prefetch(&rec[p]);
            at[j] = static_cast<std::uint32_t>(p);
        }
        p = 0;
        for (std::size_t j = 0; j < es.size(); ++j) {
            p = std::max<std::size_t>(p, at[j]);
            while (p < size() && key[p] == es[j].key && !greater_than(p, es[j])) ++p;
            at[j] = static_cast<std::uint32_t>(p);
        }
        return at;
    }

    // The plan for dropping positions `gone` (ascending, distinct) and adding `es` (sorted by
    // entry_less). O(gone + m log(n / m)): one forward gallop per entry.
    SplicePlan plan_splice(const std::vector<std::uint32_t>& gone, const std::vector<Entry>& es) const {
        SplicePlan plan;
        plan.new_size = size() - gone.size() + es.size();
        plan.moves.reserve(2 * (gone.size() + es.size()) + 1);
        std::size_t piece_begin = 0, next = 0;  // next: the first old position not yet planned
        std::ptrdiff_t shift = 0;               // where old position `next` goes, relative
        const auto to = [&](std::size_t old_pos) {
            return static_cast<std::uint32_t>(static_cast<std::ptrdiff_t>(old_pos) + shift);
        };
        const auto old_block = [&](std::size_t end) {
            if (shift != 0 && end > next)
                plan.moves.push_back({static_cast<std::uint32_t>(next), to(next), static_cast<std::uint32_t>(end - next), kNone});
        };
        // An event (an entry placed or a tombstone dropped) at old position `at`: the old block
        // before it, then the event's own move (an entry's), then the shift changes by `by`.
        const auto event = [&](std::size_t at, std::ptrdiff_t by, std::uint32_t entry) {
            old_block(at);
            if (shift == 0) piece_begin = plan.moves.size();  // a piece opens
            if (entry != kNone) plan.moves.push_back({0, to(at), 1, entry});
            next = entry != kNone ? at : at + 1;
            const bool right = shift + by > 0 || shift > 0;
            shift += by;
            if (shift == 0) plan.pieces.push_back({piece_begin, plan.moves.size(), right});
        };
        const std::vector<std::uint32_t> at = places(es);
        std::size_t g = 0, j = 0;
        while (g < gone.size() || j < es.size()) {
            // An entry placed at a tombstone's position goes before it (the tombstone is old[at]).
            if (j < es.size() && (g == gone.size() || at[j] <= gone[g])) {
                event(at[j], +1, static_cast<std::uint32_t>(j));
                ++j;
            } else {
                event(gone[g], -1, kNone);
                ++g;
            }
        }
        old_block(size());
        if (shift != 0) plan.pieces.push_back({piece_begin, plan.moves.size(), shift > 0});
        return plan;
    }

    // Carries out `plan` (from plan_splice(gone, es) on this run, capacity reserved for its new
    // size, so nothing here allocates) and calls placed(begin, end) for every range of the
    // result whose entries are new or moved. Each moved entry is copied once, and entries
    // between the pieces not at all (erase() then merge() copied everything past the first
    // change twice, and the caller's pos[] fix-up then re-read all of it).
    template <class Placed>
    void splice(const SplicePlan& plan, const std::vector<std::uint32_t>& gone, const std::vector<Entry>& es,
                const Placed& placed) noexcept {
        for (const std::uint32_t p : gone) --level_count[key_level(key[p])];
        for (const Entry& e : es) ++level_count[key_level(e.key)];
        if (plan.new_size > size()) resize(plan.new_size);  // reserved: does not throw
        const auto apply = [&](const SplicePlan::Move& mv) {
            if (mv.entry == kNone) {
                move_range(mv.from, mv.to, mv.len);
            } else {
                put(mv.to, es[mv.entry]);
            }
            placed(std::size_t{mv.to}, std::size_t{mv.to} + mv.len);
        };
        for (const SplicePlan::Piece& pc : plan.pieces) {
            if (pc.right) {
                for (std::size_t k = pc.end; k > pc.begin; --k) apply(plan.moves[k - 1]);
            } else {
                for (std::size_t k = pc.begin; k < pc.end; ++k) apply(plan.moves[k]);
            }
        }
        resize(plan.new_size);
    }

    // First position whose key is >= k.
    std::size_t lower(CellKey k, std::size_t from = 0) const noexcept {
        return static_cast<std::size_t>(
            std::lower_bound(key.begin() + static_cast<std::ptrdiff_t>(from), key.end(), k) - key.begin());
    }
    // First position at or after `from` whose key is >= k, by galloping (cheap when close).
    std::size_t gallop(std::size_t from, CellKey k) const noexcept {
        const std::size_t n = size();
        if (from >= n || !(key[from] < k)) return from;
        std::size_t step = 1, lo_i = from;  // key[lo_i] < k
        while (lo_i + step < n && key[lo_i + step] < k) {
            lo_i += step;
            step *= 2;
        }
        const std::size_t hi_i = std::min(n, lo_i + step);
        return static_cast<std::size_t>(
            std::lower_bound(key.begin() + static_cast<std::ptrdiff_t>(lo_i + 1),
                             key.begin() + static_cast<std::ptrdiff_t>(hi_i), k) - key.begin());
    }

    bool float_hit(std::size_t i, const FloatBox& q) const noexcept {
        bool hit = true;
        for (int d = 0; d < 3; ++d) hit &= (lo(d, i) <= q.hi[d]) & (q.lo[d] <= hi(d, i));
        return hit;
    }

    // Positions [begin, end) of level l.
    std::pair<std::size_t, std::size_t> level_range(int l) const noexcept {
        const std::size_t a = lower(CellKey{static_cast<std::uint64_t>(l) << 32, 0});
        const std::size_t b = lower(CellKey{static_cast<std::uint64_t>(l + 1) << 32, 0}, a);
        return {a, b};
    }
};

}  // namespace fbsim::detail::cells
