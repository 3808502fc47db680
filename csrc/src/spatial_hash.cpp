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
// bounds rounded outward to float in separate arrays (structure of arrays). A grid column
// (level, z, y) is then a contiguous run sorted along x, so pairs() is a sweep and prune along x
// (Baraff 1992; Cohen et al., I-COLLIDE, 1995) of each column against itself and its 4 forward
// neighbour columns with no per-call sorting; cells are found by binary search or by cursors
// that only move forward. Writers keep the order: a box that stays in its cell (and keeps its
// place in the cell's x order) is rewritten in place, the others are taken out and merged back
// once per batch, O(n + m log m). Every float test is conservative; the exact double test
// decides whenever the floats cannot, so answers are exact.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "fbsim/broadphase.hpp"
#include "fbsim/validate.hpp"
#include "outward_float.hpp"
#include "radix_sort.hpp"

namespace fbsim {

namespace {

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

inline std::int32_t cell_of(double v, double side) noexcept {
    return static_cast<std::int32_t>(std::floor(v / side));
}

// One box ready to be merged into the index.
struct Entry {
    CellKey key;
    std::int32_t lo[3], hi[3];  // outward float bounds, detail::float_order
    std::uint32_t slot;
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
};

// Sorts by entry_less. Large batches (a build): a stable radix sort by the cell key packed
// relative to the batch's smallest cell, then each cell's few entries by (min x, slot); when
// the cells span too far to pack in 64 bits, a comparison sort.
void sort_entries(std::vector<Entry>& es) {
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

template <class T>
void grow(std::vector<T>& v, std::size_t need) {
    // Exact fit for one big batch, 1.5x growth for many small ones (amortised O(1)).
    if (need > v.capacity()) v.reserve(std::max(need, v.capacity() + v.capacity() / 2));
}

}  // namespace

struct SpatialHash::Impl {
    double side[kLevels] = {};
    std::size_t level_count[kLevels] = {};
    // The index, by position, sorted by (key, lo[0], slot).
    std::vector<CellKey> key;
    std::vector<std::int32_t> lo[3], hi[3];
    std::vector<std::uint32_t> slot;
    std::vector<std::uint32_t> pos;  // by slot: position in the index, kNone when absent

    std::size_t size() const noexcept { return slot.size(); }

    void set_base(double base) {
        for (int l = 0; l < kLevels; ++l) side[l] = std::ldexp(base, l);
    }

    CellKey key_of(const Aabb& b) const noexcept {
        const double s = std::max({b.max.x - b.min.x, b.max.y - b.min.y, b.max.z - b.min.z});
        int l = 0;
        while (l < kLevels - 1 && s > side[l] * (1.0 - kSlack)) ++l;
        return make_key(l, cell_of(b.min.z, side[l]), cell_of(b.min.y, side[l]), cell_of(b.min.x, side[l]));
    }

    Entry entry_of(std::uint32_t s, const Aabb& b) const noexcept {
        return Entry{key_of(b),
                     {detail::order_down(b.min.x), detail::order_down(b.min.y), detail::order_down(b.min.z)},
                     {detail::order_up(b.max.x), detail::order_up(b.max.y), detail::order_up(b.max.z)},
                     s};
    }

    // (key, lo x, slot) of position i compared with an entry.
    bool greater_than(std::size_t i, const Entry& e) const noexcept {
        if (key[i] != e.key) return e.key < key[i];
        if (lo[0][i] != e.lo[0]) return e.lo[0] < lo[0][i];
        return e.slot < slot[i];
    }

    // Entries [from, from + len) to [to, to + len) (overlap allowed), array by array.
    void move_range(std::size_t from, std::size_t to, std::size_t len) noexcept {
        if (len == 0 || from == to) return;
        std::memmove(&key[to], &key[from], len * sizeof(CellKey));
        for (int d = 0; d < 3; ++d) {
            std::memmove(&lo[d][to], &lo[d][from], len * sizeof(std::int32_t));
            std::memmove(&hi[d][to], &hi[d][from], len * sizeof(std::int32_t));
        }
        std::memmove(&slot[to], &slot[from], len * sizeof(std::uint32_t));
    }
    void put(std::size_t at, const Entry& e) noexcept {
        key[at] = e.key;
        for (int d = 0; d < 3; ++d) {
            lo[d][at] = e.lo[d];
            hi[d][at] = e.hi[d];
        }
        slot[at] = e.slot;
    }
    void resize(std::size_t n) {
        grow(key, n);
        key.resize(n);
        for (int d = 0; d < 3; ++d) {
            grow(lo[d], n);
            lo[d].resize(n);
            grow(hi[d], n);
            hi[d].resize(n);
        }
        grow(slot, n);
        slot.resize(n);
    }

    // Drops the given slots from the index in one compaction pass. O(n). Returns the first
    // position that moved; positions from there on get pos[] rewritten only if `fix_pos`
    // (an update rewrites them once, after its merge).
    std::size_t erase(const std::uint32_t* slots, std::size_t count, bool fix_pos = true) {
        if (count == 0) return size();
        std::vector<std::uint32_t> gone(count);  // allocated before anything changes
        for (std::size_t i = 0; i < count; ++i) gone[i] = pos[slots[i]];
        std::sort(gone.begin(), gone.end());
        for (std::size_t i = 0; i < count; ++i) {
            --level_count[key_level(key[gone[i]])];
            pos[slots[i]] = kNone;
        }
        // The kept runs between removed positions slide down by whole blocks.
        std::size_t w = gone[0];
        for (std::size_t j = 0; j < count; ++j) {
            const std::size_t from = std::size_t{gone[j]} + 1;
            const std::size_t to = j + 1 < count ? gone[j + 1] : size();
            move_range(from, w, to - from);
            w += to - from;
        }
        resize(w);
        if (fix_pos)
            for (std::size_t p = gone[0]; p < w; ++p) pos[slot[p]] = static_cast<std::uint32_t>(p);
        return gone[0];
    }

    // Sorts `es` and merges it into the index from the back, in place: each new entry's place
    // by binary search, the old entries above it shifted up as one block. O(n + m log n).
    // `stale`: first position whose pos[] entry is out of date before the merge.
    void merge(std::vector<Entry>& es, std::size_t stale = ~std::size_t{0}) {
        if (es.empty()) {
            for (std::size_t p = stale; p < size(); ++p) pos[slot[p]] = static_cast<std::uint32_t>(p);
            return;
        }
        sort_entries(es);
        const std::size_t n0 = size(), m = es.size();
        resize(n0 + m);
        std::size_t i = n0;  // old entries [0, i) are still in place
        for (std::size_t j = m; j > 0; --j) {
            const Entry& e = es[j - 1];
            std::size_t a = 0, b = i;  // first old position greater than e
            while (a < b) {
                const std::size_t mid = a + (b - a) / 2;
                if (greater_than(mid, e)) b = mid; else a = mid + 1;
            }
            // es[0 .. j) all precede old[a .. i): those move up by j, e lands just below.
            move_range(a, a + j, i - a);
            put(a + j - 1, e);
            i = a;
        }
        for (std::size_t p = std::min(i, stale); p < n0 + m; ++p) pos[slot[p]] = static_cast<std::uint32_t>(p);
        for (const Entry& e : es) ++level_count[key_level(e.key)];
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
        for (int d = 0; d < 3; ++d) hit &= (lo[d][i] <= q.hi[d]) & (q.lo[d] <= hi[d][i]);
        return hit;
    }

    // Cell index range of level l that can hold boxes overlapping [a, b] on one axis.
    // Queries may reach past the world (a sphere of radius 1e6), so clamp to int32 range:
    // no stored box lives out there (|x / side| <= 1e9).
    void range(double a, double b, int l, std::int64_t& r0, std::int64_t& r1) const noexcept {
        constexpr double kLim = 2147483000.0;
        r0 = static_cast<std::int64_t>(std::clamp(std::floor(a / side[l]), -kLim, kLim)) - 1;
        r1 = static_cast<std::int64_t>(std::clamp(std::floor(b / side[l]), -kLim, kLim));
    }

    // Positions [begin, end) of level l.
    std::pair<std::size_t, std::size_t> level_range(int l) const noexcept {
        const std::size_t a = lower(CellKey{static_cast<std::uint64_t>(l) << 32, 0});
        const std::size_t b = lower(CellKey{static_cast<std::uint64_t>(l + 1) << 32, 0}, a);
        return {a, b};
    }

    // Appends slots of level l whose cells can reach q and whose float bounds overlap q's:
    // one binary search per grid column of the range, or a scan of the whole level when the
    // range has more cells or columns than the level has boxes.
    void collect_level(const Aabb& q, int l, std::vector<std::uint32_t>& out) const {
        const FloatBox fq(q);
        std::int64_t x0, x1, y0, y1, z0, z1;
        range(q.min.x, q.max.x, l, x0, x1);
        range(q.min.y, q.max.y, l, y0, y1);
        range(q.min.z, q.max.z, l, z0, z1);
        const double cols = double(y1 - y0 + 1) * double(z1 - z0 + 1);
        const double n = double(level_count[l]);
        if (cols * double(x1 - x0 + 1) > 4.0 * n + 64.0 || cols > n + 16.0) {
            const auto [a, b] = level_range(l);
            for (std::size_t i = a; i < b; ++i)
                if (float_hit(i, fq)) out.push_back(slot[i]);
            return;
        }
        // The columns are visited in index order, so each search starts where the previous
        // column's scan ended (galloping: a few steps in cache, not a search of everything).
        std::size_t i = lower(make_key(l, z0, y0, x0));
        for (std::int64_t z = z0; z <= z1; ++z)
            for (std::int64_t y = y0; y <= y1; ++y) {
                const CellKey end = make_key(l, z, y, x1);
                for (i = gallop(i, make_key(l, z, y, x0)); i < size() && key[i] <= end; ++i)
                    if (float_hit(i, fq)) out.push_back(slot[i]);
            }
    }
};

SpatialHash::SpatialHash(double cell_size) : impl_(std::make_unique<Impl>()) {
    keep_id_ranks();  // insert/remove are O(n) merges here anyway
    if (cell_size > 0.0 && std::isfinite(cell_size)) {
        cell_size_ = std::clamp(cell_size, kMinCellSize, kMaxCoordinate);
        impl_->set_base(cell_size_);
    }
}
SpatialHash::~SpatialHash() = default;

void SpatialHash::on_insert(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    if (cell_size_ == 0.0) {
        // Automatic: the largest box side that is at most 4x the median one, with 1% head-room.
        // Typical boxes then share level 0 (cross-level work is the slow path), while a few
        // huge baseplates cannot inflate the cells; they go to coarser levels.
        std::vector<double> s(count);
        for (std::size_t i = 0; i < count; ++i) {
            const Aabb& b = box(slots[i]);
            s[i] = std::max({b.max.x - b.min.x, b.max.y - b.min.y, b.max.z - b.min.z});
        }
        const std::size_t k = count / 2;
        std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
        const double median = s[k];
        double big = 0.0;
        for (double v : s)
            if (v <= 4.0 * median) big = std::max(big, v);
        const double p = big > 0.0 ? big * 1.01 : 1.0;
        cell_size_ = std::clamp(p, kMinCellSize, kMaxCoordinate);
        h.set_base(cell_size_);
    }
    if (slot_capacity() > h.pos.size()) {
        grow(h.pos, slot_capacity());
        h.pos.resize(slot_capacity(), kNone);
    }
    std::vector<Entry> es(count);
    for (std::size_t i = 0; i < count; ++i) es[i] = h.entry_of(slots[i], box(slots[i]));
    h.merge(es);
}

void SpatialHash::on_update(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    // A box that keeps its cell and its place in the cell's x order is rewritten in place; the
    // others leave and are merged back in one pass. Each in-place rewrite is checked against
    // the current neighbours, so the index is sorted after every step.
    std::vector<Entry> movers;
    std::vector<std::uint32_t> gone;
    const std::size_t n = h.size();
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t s = slots[i];
        const Entry e = h.entry_of(s, box(s));
        const std::size_t p = h.pos[s];
        const bool stays = e.key == h.key[p] &&
                           (p == 0 || h.key[p - 1] != e.key || !h.greater_than(p - 1, e)) &&
                           (p + 1 == n || h.key[p + 1] != e.key || h.greater_than(p + 1, e));
        if (stays) {
            h.put(p, e);
        } else {
            movers.push_back(e);
            gone.push_back(s);
        }
    }
    const std::size_t stale = h.erase(gone.data(), gone.size(), false);
    h.merge(movers, stale);
}

void SpatialHash::on_remove(const std::uint32_t* slots, std::size_t count) {
    impl_->erase(slots, count);
}

void SpatialHash::candidates(const Aabb& q, std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    for (int l = 0; l < kLevels; ++l)
        if (h.level_count[l] != 0) h.collect_level(q, l, out);
}

// For a large batch of box queries when one level holds every box in a compact block: a dense
// directory of that level's cells, cell -> first index position at or after it (the index is
// in (z, y, x) cell order, so this is one pass over the sorted keys). The cells [x0, x1] of one
// (z, y) row are then ONE contiguous slice found by two reads, instead of a search per column.
class SpatialHash::CellDirectory final : public Broadphase::BatchSource {
  public:
    CellDirectory(const SpatialHash::Impl& h, int level, const std::int64_t c0[3], const std::int64_t n[3])
        : h_(h), level_(level) {
        for (int k = 0; k < 3; ++k) {
            c0_[k] = c0[k];
            n_[k] = n[k];
        }
        const std::size_t cells = static_cast<std::size_t>(n[0] * n[1] * n[2]);
        off_.resize(cells + 1);
        const std::size_t total = h.size();
        std::size_t c = 0;  // cells below c have their start written
        for (std::size_t p = 0; p < total; ++p) {
            const std::size_t cp = cell(h.key[p]);
            while (c <= cp) off_[c++] = static_cast<std::uint32_t>(p);
        }
        while (c <= cells) off_[c++] = static_cast<std::uint32_t>(total);
    }
    // Out of line: an inline virtual destructor is emitted as two weak symbols (complete and
    // deleting) that share one demangled name, which tests/test_packaging.py flags.
    ~CellDirectory() override;

    void candidates(const Aabb& q, std::vector<std::uint32_t>& out) const override {
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
                    if (h_.float_hit(i, fq)) out.push_back(h_.slot[i]);
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

  private:
    std::size_t cell(const CellKey& k) const noexcept {
        const std::int64_t x = unbias(k.lo), y = unbias(k.lo >> 32), z = unbias(k.hi);
        return static_cast<std::size_t>(((z - c0_[2]) * n_[1] + (y - c0_[1])) * n_[0] + (x - c0_[0]));
    }
    const SpatialHash::Impl& h_;
    int level_;
    std::int64_t c0_[3], n_[3];       // first occupied cell and cell counts per axis (x, y, z)
    std::vector<std::uint32_t> off_;  // cells + 1 starts into the index
};

SpatialHash::CellDirectory::~CellDirectory() = default;

std::unique_ptr<Broadphase::BatchSource> SpatialHash::batch_source(std::size_t queries) const {
    if (queries * 16 < size() || size() < 64) return nullptr;  // building costs O(n + cells)
    return cell_directory();
}

std::unique_ptr<SpatialHash::CellDirectory> SpatialHash::cell_directory() const {
    const Impl& h = *impl_;
    int level = -1, levels = 0;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        level = l;
        ++levels;
    }
    if (levels != 1) return nullptr;
    std::int64_t mn[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, mx[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
    for (const CellKey& k : h.key) {
        const std::int64_t c[3] = {unbias(k.lo), unbias(k.lo >> 32), unbias(k.hi)};
        for (int d = 0; d < 3; ++d) {
            mn[d] = std::min(mn[d], c[d]);
            mx[d] = std::max(mx[d], c[d]);
        }
    }
    const std::int64_t n[3] = {mx[0] - mn[0] + 1, mx[1] - mn[1] + 1, mx[2] - mn[2] + 1};
    // Dense only when the block has at most 4 cells per box (spans < 2^32, so no overflow).
    if (double(n[0]) * double(n[1]) * double(n[2]) > 4.0 * double(size()) + 1024.0) return nullptr;
    return std::make_unique<CellDirectory>(h, level, mn, n);
}

void SpatialHash::ray_candidates(const Vec3& o, const Vec3& d, double max_t,
                                 std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    const double pad = 1e-9 * (1.0 + max_t);
    std::vector<CellKey> keys;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        // March the segment one cell side at a time, gathering the cells each piece can touch.
        const double step = h.side[l];
        const double steps = std::ceil(max_t / step) + 1.0;
        if (steps * 27.0 > 4.0 * double(h.level_count[l]) + 64.0) {
            // Longer than the level is populated: every box of the level is a candidate.
            const auto [a, b] = h.level_range(l);
            out.insert(out.end(), h.slot.begin() + static_cast<std::ptrdiff_t>(a),
                       h.slot.begin() + static_cast<std::ptrdiff_t>(b));
            continue;
        }
        keys.clear();
        for (double k = 0; k < steps; k += 1.0) {
            const double ta = std::min(k * step, max_t), tb = std::min((k + 1.0) * step, max_t);
            const Vec3 a{o.x + d.x * ta, o.y + d.y * ta, o.z + d.z * ta};
            const Vec3 b{o.x + d.x * tb, o.y + d.y * tb, o.z + d.z * tb};
            std::int64_t x0, x1, y0, y1, z0, z1;
            h.range(std::min(a.x, b.x) - pad, std::max(a.x, b.x) + pad, l, x0, x1);
            h.range(std::min(a.y, b.y) - pad, std::max(a.y, b.y) + pad, l, y0, y1);
            h.range(std::min(a.z, b.z) - pad, std::max(a.z, b.z) + pad, l, z0, z1);
            for (std::int64_t x = x0; x <= x1; ++x)
                for (std::int64_t y = y0; y <= y1; ++y)
                    for (std::int64_t z = z0; z <= z1; ++z) keys.push_back(make_key(l, z, y, x));
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        std::size_t i = 0;  // the keys ascend, so the search range only shrinks
        for (const CellKey& k : keys) {
            i = h.gallop(i, k);
            for (; i < h.size() && h.key[i] == k; ++i) out.push_back(h.slot[i]);
        }
    }
}

void SpatialHash::candidate_pairs(std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    const std::size_t n = h.size();
    const std::int32_t *xl = h.lo[0].data(), *xh = h.hi[0].data(), *yl = h.lo[1].data(),
                       *yh = h.hi[1].data(), *zl = h.lo[2].data(), *zh = h.hi[2].data();
    const std::uint32_t* sl = h.slot.data();
    // Certain when every bound pair is at least 2 floats apart: a.lo <= up(a.lo) <=
    // next(down(a.lo)) <= prev(up(b.hi)) <= down(b.hi) <= b.hi. Else the exact boxes decide.
    auto test = [&](std::size_t i, std::size_t k) {
        const bool maybe = (xl[i] <= xh[k]) & (xl[k] <= xh[i]) & (yl[i] <= yh[k]) &
                           (yl[k] <= yh[i]) & (zl[i] <= zh[k]) & (zl[k] <= zh[i]);
        if (!maybe) return;
        const bool sure = (xl[i] + 2 <= xh[k]) & (xl[k] + 2 <= xh[i]) & (yl[i] + 2 <= yh[k]) &
                          (yl[k] + 2 <= yh[i]) & (zl[i] + 2 <= zh[k]) & (zl[k] + 2 <= zh[i]);
        if (sure || overlaps(box(sl[i]), box(sl[k]))) {
            out.push_back(sl[i]);
            out.push_back(sl[k]);
        }
    };
    // Past max_results() pairs stop (the caller reports the limit): a million stacked boxes
    // would otherwise materialise ~5e11 pairs. Checked per box, not per pair, so at most one
    // box's pairs (< n) overshoot.
    const std::size_t cap = 2 * max_results();
    // Grid columns (level, z, y) as runs of positions; within a run min x ascends.
    struct Run {
        std::uint64_t hi, y;  // key.hi and the biased y
        std::size_t begin, end;
    };
    std::vector<Run> runs;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t y = h.key[i].lo >> 32;
        if (runs.empty() || runs.back().hi != h.key[i].hi || runs.back().y != y)
            runs.push_back(Run{h.key[i].hi, y, i, i});
        runs.back().end = i + 1;
    }
    // Two x-sorted runs: the entry with the smaller min x (ties: run a) scans the other run
    // from its cursor while the other's min x is within its max x; each pair is met once.
    auto cross = [&](const Run& a, const Run& b) {
        std::size_t i = a.begin, j = b.begin;
        while (i < a.end && j < b.end && out.size() <= cap) {
            if (xl[i] <= xl[j]) {
                for (std::size_t k = j; k < b.end && xl[k] <= xh[i]; ++k) test(i, k);
                ++i;
            } else {
                for (std::size_t k = i; k < a.end && xl[k] <= xh[j]; ++k) test(k, j);
                ++j;
            }
        }
    };
    auto before = [](const Run& r, std::uint64_t hi, std::uint64_t y) {
        return r.hi < hi || (r.hi == hi && r.y < y);
    };
    std::size_t p = 0;  // first run at or after (z + 1, y - 1): only moves forward
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const Run& a = runs[r];
        for (std::size_t i = a.begin; i < a.end; ++i) {
            for (std::size_t k = i + 1; k < a.end && xl[k] <= xh[i]; ++k) test(i, k);
            if (out.size() > cap) return;
        }
        if (r + 1 < runs.size() && runs[r + 1].hi == a.hi && runs[r + 1].y == a.y + 1)
            cross(a, runs[r + 1]);
        while (p < runs.size() && before(runs[p], a.hi + 1, a.y - 1)) ++p;
        for (std::size_t k = p; k < runs.size() && runs[k].hi == a.hi + 1 && runs[k].y <= a.y + 1; ++k)
            cross(a, runs[k]);
    }
    if (out.size() <= cap) cross_level_pairs(out);
}

void SpatialHash::candidate_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                            const std::vector<char>& moved,
                                            std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    const std::size_t n = h.size();
    // The moved boxes in index order, so that the start of each of the 9 neighbour columns'
    // cell windows only moves forward: O(cells touched + moved), no per-cell search.
    std::vector<std::uint32_t> ps(count);
    for (std::size_t i = 0; i < count; ++i) ps[i] = h.pos[slots[i]];
    std::sort(ps.begin(), ps.end());
    std::size_t cur[9] = {};
    // A large batch on one level: each neighbour row's cells are one slice of the directory.
    const std::unique_ptr<CellDirectory> dir =
        count * 16 >= size() && size() >= 64 ? cell_directory() : nullptr;
    const std::int32_t* lo[3] = {h.lo[0].data(), h.lo[1].data(), h.lo[2].data()};
    const std::int32_t* hi[3] = {h.hi[0].data(), h.hi[1].data(), h.hi[2].data()};
    std::vector<std::uint32_t> cand;
    auto keep = [&](std::uint32_t a, std::uint32_t b) {
        // A pair of two moved boxes is met from both sides: keep it once.
        return b != a && (!moved[b] || a < b);
    };
    for (const std::uint32_t p : ps) {
        if (out.size() / 2 > max_results()) return;  // the caller reports the cap
        const CellKey k = h.key[p];
        const int l = key_level(k);
        const std::int64_t z = unbias(k.hi), y = unbias(k.lo >> 32), x = unbias(k.lo);
        const std::uint32_t a = h.slot[p];
        const std::int32_t pl[3] = {lo[0][p], lo[1][p], lo[2][p]};
        const std::int32_t ph[3] = {hi[0][p], hi[1][p], hi[2][p]};
        for (int c = 0; c < 9; ++c) {
            const std::int64_t zz = z + c / 3 - 1, yy = y + c % 3 - 1;
            std::size_t i, e;
            if (dir) {
                const auto r = dir->row_slice(zz, yy, x - 1, x + 1);
                i = r.first;
                e = r.second;
            } else {
                // A few linear steps first (the next moved box is usually close), then gallop.
                const CellKey start = make_key(l, zz, yy, x - 1);
                i = cur[c];
                for (int step = 0; step < 8 && i < n && h.key[i] < start; ++step) ++i;
                i = cur[c] = h.gallop(i, start);
                e = h.gallop(i, make_key(l, zz, yy, x + 2));
            }
            for (; i < e; ++i) {
                bool maybe = true, sure = true;
                for (int d = 0; d < 3; ++d) {
                    maybe &= (pl[d] <= hi[d][i]) & (lo[d][i] <= ph[d]);
                    sure &= (pl[d] + 2 <= hi[d][i]) & (lo[d][i] + 2 <= ph[d]);
                }
                if (!maybe) continue;
                const std::uint32_t b = h.slot[i];
                if (keep(a, b) && (sure || overlaps(box(a), box(b)))) {
                    out.push_back(a);
                    out.push_back(b);
                }
            }
        }
        for (int o = 0; o < kLevels; ++o) {
            if (o == l || h.level_count[o] == 0) continue;
            cand.clear();
            h.collect_level(box(a), o, cand);
            for (const std::uint32_t b : cand) {
                if (keep(a, b) && overlaps(box(a), box(b))) {
                    out.push_back(a);
                    out.push_back(b);
                }
            }
        }
    }
}

void SpatialHash::cross_level_pairs(std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    // Across levels: each box asks every coarser occupied level (a coarser box never asks a
    // finer level, so each pair is found once).
    std::vector<std::uint32_t> other;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        int coarser[kLevels];
        int nc = 0;
        for (int k = l + 1; k < kLevels; ++k)
            if (h.level_count[k]) coarser[nc++] = k;
        if (nc == 0) continue;
        const auto [begin, end] = h.level_range(l);
        for (std::size_t i = begin; i < end; ++i) {
            const std::uint32_t s = h.slot[i];
            const Aabb& ba = box(s);
            for (int c = 0; c < nc; ++c) {
                other.clear();
                h.collect_level(ba, coarser[c], other);
                for (const std::uint32_t b : other) {
                    if (overlaps(ba, box(b))) {
                        out.push_back(s);
                        out.push_back(b);
                    }
                }
            }
            if (out.size() / 2 > max_results()) return;  // the caller reports the cap
        }
    }
}

std::size_t SpatialHash::index_memory_bytes() const noexcept {
    const Impl& h = *impl_;
    std::size_t bytes = h.key.capacity() * sizeof(CellKey) +
                        (h.slot.capacity() + h.pos.capacity()) * sizeof(std::uint32_t);
    for (int d = 0; d < 3; ++d)
        bytes += (h.lo[d].capacity() + h.hi[d].capacity()) * sizeof(std::int32_t);
    return bytes;
}

bool SpatialHash::check_invariants() const {
    const Impl& h = *impl_;
    const std::size_t n = h.size();
    if (n != size() || h.key.size() != n) return false;
    std::size_t per_level[kLevels] = {};
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t s = h.slot[i];
        if (s >= slot_capacity() || !alive(s) || h.pos[s] != i) return false;
        const Entry e = h.entry_of(s, box(s));
        if (e.key != h.key[i]) return false;
        for (int d = 0; d < 3; ++d)
            if (e.lo[d] != h.lo[d][i] || e.hi[d] != h.hi[d][i]) return false;
        if (i > 0 && !h.greater_than(i, Entry{h.key[i - 1], {h.lo[0][i - 1], 0, 0}, {0, 0, 0}, h.slot[i - 1]}))
            return false;
        ++per_level[key_level(h.key[i])];
    }
    for (int l = 0; l < kLevels; ++l)
        if (per_level[l] != h.level_count[l]) return false;
    std::size_t indexed = 0;
    for (std::size_t s = 0; s < h.pos.size(); ++s) {
        if (h.pos[s] == kNone) continue;
        if (!alive(static_cast<std::uint32_t>(s))) return false;
        ++indexed;
    }
    return indexed == n;
}

}  // namespace fbsim
