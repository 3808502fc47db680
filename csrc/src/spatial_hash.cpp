// SPDX-License-Identifier: MIT
// fbsim: hierarchical loose spatial hash. Uniform grids hashed into a table (Teschner et al.,
// "Optimized spatial hashing for collision detection of deformable objects", VMV 2003), made
// hierarchical as in Mirtich's "Efficient algorithms for two-phase collision detection" (1997)
// and Ericson, "Real-Time Collision Detection" (2005) section 7.2: level L has cells of side
// base * 2^L and a box lives in ONE cell, the one holding its min corner, at the smallest level
// whose side exceeds the box's largest side (by a relative slack of kSlack). Then a box spans at
// most its own cell and the next one up per axis, so two boxes on one level can only overlap if
// their cells are neighbours, and a query needs the cells [cell(q.lo) - 1, cell(q.hi)] per level.
// The slack absorbs the rounding of x / side (|x / side| <= 1e9, relative error 2^-53), which
// keeps the neighbour argument exact in floating point.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "fbsim/broadphase.hpp"
#include "fbsim/validate.hpp"
#include "column_sweep.hpp"
#include "radix_sort.hpp"

namespace fbsim {

namespace {

constexpr int kLevels = 32;  // base >= 1e-3, so level 31 cells exceed the whole world
constexpr double kSlack = 1e-6;
constexpr std::uint32_t kNone = 0xFFFFFFFFu;

struct Key {
    std::int32_t x, y, z, level;  // level -1: empty bucket / unlinked slot
    bool operator==(const Key& o) const noexcept {
        return x == o.x && y == o.y && z == o.z && level == o.level;
    }
    bool operator<(const Key& o) const noexcept {
        if (level != o.level) return level < o.level;
        if (x != o.x) return x < o.x;
        if (y != o.y) return y < o.y;
        return z < o.z;
    }
};

inline std::uint64_t hash_key(const Key& k) noexcept {
    // Teschner et al.'s prime XOR hash leaves the low bits correlated for small coordinates,
    // which a power-of-two table with linear probing turns into long clusters; so pack the
    // key into 64 bits and run the splitmix64 finaliser, whose low bits are well mixed.
    std::uint64_t h = (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.x)) << 32) ^
                      (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.y)) << 11) ^
                      (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.z)) * 0x9E3779B97F4A7C15ULL) ^
                      static_cast<std::uint64_t>(k.level);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

// Non-short-circuit `&`: six compares and one well-predicted branch (most tests fail), rather
// than six branches that mispredict on random data.
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return (a.min.x <= b.max.x) & (b.min.x <= a.max.x) & (a.min.y <= b.max.y) &
           (b.min.y <= a.max.y) & (a.min.z <= b.max.z) & (b.min.z <= a.max.z);
}

inline std::int32_t cell_of(double v, double side) noexcept {
    return static_cast<std::int32_t>(std::floor(v / side));
}

// The prefilter's form of a box: its bounds rounded outward to float, as order-preserving bits
// (lo rounded down, hi up, so float overlap is implied by exact overlap).
inline void outward_bits(const Aabb& b, std::uint32_t lo[3], std::uint32_t hi[3]) noexcept {
    using detail::float_down, detail::float_up, detail::order_bits;
    lo[0] = order_bits(float_down(b.min.x));
    lo[1] = order_bits(float_down(b.min.y));
    lo[2] = order_bits(float_down(b.min.z));
    hi[0] = order_bits(float_up(b.max.x));
    hi[1] = order_bits(float_up(b.max.y));
    hi[2] = order_bits(float_up(b.max.z));
}

}  // namespace

struct SpatialHash::Impl {
    struct Cell {
        Key key;
        std::uint32_t head;  // first slot of the cell's list; the cell is erased when empty
    };
    struct SlotInfo {
        Key key;
        std::uint32_t next, prev;
    };
    std::vector<Cell> table;  // open addressing, linear probing, load <= 0.7
    std::size_t cells = 0;
    std::vector<SlotInfo> info;  // by slot
    std::size_t level_count[kLevels] = {};
    double side[kLevels] = {};

    void set_base(double base) {
        for (int l = 0; l < kLevels; ++l) side[l] = std::ldexp(base, l);
    }

    std::size_t find(const Key& k) const noexcept {
        if (table.empty()) return kNone;
        const std::size_t m = table.size() - 1;
        for (std::size_t i = hash_key(k) & m, n = 0; n <= m; i = (i + 1) & m, ++n) {
            if (table[i].key.level < 0) return kNone;
            if (table[i].key == k) return i;
        }
        return kNone;
    }

    void rehash(std::size_t buckets) {
        std::vector<Cell> old;
        old.swap(table);
        table.assign(buckets, Cell{{0, 0, 0, -1}, kNone});
        const std::size_t m = buckets - 1;
        for (const Cell& c : old) {
            if (c.key.level < 0) continue;
            std::size_t i = hash_key(c.key) & m;
            while (table[i].key.level >= 0) i = (i + 1) & m;
            table[i] = c;
        }
    }

    void reserve_cells(std::size_t count) {
        std::size_t want = 16;
        while (want * 7 < count * 10) want *= 2;
        if (want > table.size()) rehash(want);
    }

    std::size_t get_or_insert(const Key& k) {
        std::size_t i = find(k);
        if (i != kNone) return i;
        reserve_cells(cells + 1);
        const std::size_t m = table.size() - 1;
        i = hash_key(k) & m;
        while (table[i].key.level >= 0) i = (i + 1) & m;
        table[i] = Cell{k, kNone};
        ++cells;
        return i;
    }

    void erase_at(std::size_t i) noexcept {
        const std::size_t m = table.size() - 1;
        std::size_t hole = i;
        for (std::size_t j = (i + 1) & m, n = 0; n <= m; j = (j + 1) & m, ++n) {
            if (table[j].key.level < 0) break;
            const std::size_t h = hash_key(table[j].key) & m;
            const bool stays = (hole <= j) ? (hole < h && h <= j) : (hole < h || h <= j);
            if (!stays) {
                table[hole] = table[j];
                hole = j;
            }
        }
        table[hole].key.level = -1;
        --cells;
    }

    Key key_of(const Aabb& b) const noexcept {
        const double s = std::max({b.max.x - b.min.x, b.max.y - b.min.y, b.max.z - b.min.z});
        int l = 0;
        while (l < kLevels - 1 && s > side[l] * (1.0 - kSlack)) ++l;
        return Key{cell_of(b.min.x, side[l]), cell_of(b.min.y, side[l]), cell_of(b.min.z, side[l]), l};
    }

    void link(std::uint32_t slot, const Key& k) {
        const std::size_t c = get_or_insert(k);
        SlotInfo& si = info[slot];
        si.key = k;
        si.prev = kNone;
        si.next = table[c].head;
        if (si.next != kNone) info[si.next].prev = slot;
        table[c].head = slot;
        ++level_count[k.level];
    }

    void unlink(std::uint32_t slot) noexcept {
        SlotInfo& si = info[slot];
        const std::size_t c = find(si.key);
        if (si.prev != kNone) info[si.prev].next = si.next; else table[c].head = si.next;
        if (si.next != kNone) info[si.next].prev = si.prev;
        --level_count[si.key.level];
        if (table[c].head == kNone) erase_at(c);
        si.key.level = -1;
        si.next = si.prev = kNone;
    }

    // Cell index range of level l that can hold boxes overlapping [lo, hi] on one axis.
    // Queries may reach past the world (a sphere of radius 1e6), so clamp to int32 range:
    // no stored box lives out there (|x / side| <= 1e9).
    void range(double lo, double hi, int l, std::int64_t& a, std::int64_t& b) const noexcept {
        constexpr double kLim = 2147483000.0;
        a = static_cast<std::int64_t>(std::clamp(std::floor(lo / side[l]), -kLim, kLim)) - 1;
        b = static_cast<std::int64_t>(std::clamp(std::floor(hi / side[l]), -kLim, kLim));
    }

    // Appends slots of level l in cells overlapping q; returns false (appending nothing) when
    // that would visit more cells than the level has boxes, so the caller scans instead.
    bool collect_level(const Aabb& q, int l, std::vector<std::uint32_t>& out) const {
        std::int64_t x0, x1, y0, y1, z0, z1;
        range(q.min.x, q.max.x, l, x0, x1);
        range(q.min.y, q.max.y, l, y0, y1);
        range(q.min.z, q.max.z, l, z0, z1);
        const double n = double(x1 - x0 + 1) * double(y1 - y0 + 1) * double(z1 - z0 + 1);
        if (n > 4.0 * double(level_count[l]) + 64.0) return false;
        for (std::int64_t x = x0; x <= x1; ++x)
            for (std::int64_t y = y0; y <= y1; ++y)
                for (std::int64_t z = z0; z <= z1; ++z) {
                    const std::size_t c = find(Key{std::int32_t(x), std::int32_t(y), std::int32_t(z), l});
                    if (c == kNone) continue;
                    for (std::uint32_t s = table[c].head; s != kNone; s = info[s].next) out.push_back(s);
                }
        return true;
    }
};

SpatialHash::SpatialHash(double cell_size) : impl_(std::make_unique<Impl>()) {
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
    if (slot_capacity() > h.info.size()) {
        if (slot_capacity() > h.info.capacity())
            h.info.reserve(std::max(slot_capacity(), h.info.capacity() + h.info.capacity() / 2));
        h.info.resize(slot_capacity(), Impl::SlotInfo{{0, 0, 0, -1}, kNone, kNone});
    }
    h.reserve_cells(h.cells + count);
    for (std::size_t i = 0; i < count; ++i) h.link(slots[i], h.key_of(box(slots[i])));
}

void SpatialHash::on_update(const std::uint32_t* slots, std::size_t count) {
    Impl& h = *impl_;
    for (std::size_t i = 0; i < count; ++i) {
        const Key k = h.key_of(box(slots[i]));
        if (k == h.info[slots[i]].key) continue;  // same cell: the box moved within it
        h.unlink(slots[i]);
        h.link(slots[i], k);
    }
}

void SpatialHash::on_remove(const std::uint32_t* slots, std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) impl_->unlink(slots[i]);
}

void SpatialHash::candidates(const Aabb& q, std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    bool scan[kLevels] = {};
    bool any_scan = false;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        if (!h.collect_level(q, l, out)) scan[l] = any_scan = true;
    }
    if (!any_scan) return;
    // Query larger than the level's population: a linear pass is cheaper than the cells.
    for (std::uint32_t s = 0; s < h.info.size(); ++s) {
        const int l = h.info[s].key.level;
        if (l >= 0 && scan[l] && overlaps(box(s), q)) out.push_back(s);
    }
}

void SpatialHash::ray_candidates(const Vec3& o, const Vec3& d, double max_t,
                                 std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    bool scan[kLevels] = {};
    bool any_scan = false;
    const double pad = 1e-9 * (1.0 + max_t);
    std::vector<Key> keys;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        // March the segment one cell side at a time, gathering the cells each piece can touch.
        const double step = h.side[l];
        const double steps = std::ceil(max_t / step) + 1.0;
        if (steps * 27.0 > 4.0 * double(h.level_count[l]) + 64.0) {
            scan[l] = any_scan = true;
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
                    for (std::int64_t z = z0; z <= z1; ++z)
                        keys.push_back(Key{std::int32_t(x), std::int32_t(y), std::int32_t(z), l});
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        for (const Key& k : keys) {
            const std::size_t c = h.find(k);
            if (c == kNone) continue;
            for (std::uint32_t s = h.table[c].head; s != kNone; s = h.info[s].next) out.push_back(s);
        }
    }
    if (!any_scan) return;
    for (std::uint32_t s = 0; s < h.info.size(); ++s) {
        const int l = h.info[s].key.level;
        if (l >= 0 && scan[l]) out.push_back(s);
    }
}

struct SpatialHash::Columns {
    std::vector<detail::SweepEntry> es;  // sorted by key
    detail::XQuantizer q;
    std::int64_t y0 = 0, z0 = 0, y1 = 0, z1 = 0;  // occupied cell range in y and z
    int ybits = 0, zbits = 0;
    std::uint64_t column(int level, std::int64_t y, std::int64_t z) const noexcept {
        return (((static_cast<std::uint64_t>(level) << zbits) | static_cast<std::uint64_t>(z - z0 + 1))
                << ybits) | static_cast<std::uint64_t>(y - y0 + 1);
    }
};

bool SpatialHash::build_columns(Columns& c) const {
    const Impl& h = *impl_;
    // Column bounds of the occupied cells: a column number packs (level, z, y) in at most 44
    // bits (always, unless cells are tiny and boxes very far apart); else the callers fall
    // back to the cell hash.
    std::int64_t mn[2] = {INT32_MAX, INT32_MAX}, mx[2] = {INT32_MIN, INT32_MIN};
    double x0 = std::numeric_limits<double>::infinity(), x1 = -x0;
    for (std::uint32_t s = 0; s < h.info.size(); ++s) {
        const Key& k = h.info[s].key;
        if (k.level < 0) continue;
        mn[0] = std::min<std::int64_t>(mn[0], k.y);
        mx[0] = std::max<std::int64_t>(mx[0], k.y);
        mn[1] = std::min<std::int64_t>(mn[1], k.z);
        mx[1] = std::max<std::int64_t>(mx[1], k.z);
        x0 = std::min(x0, box(s).min.x);
        x1 = std::max(x1, box(s).max.x);
    }
    if (x0 > x1) return false;  // empty
    // Bits for y + 1 and z + 1 with room for the +1 neighbour, and the level above them.
    auto bits = [](std::int64_t span) {
        int b = 1;
        while ((std::int64_t{1} << b) < span + 3) ++b;  // span < 2^32: ends by b = 33
        return b;
    };
    c.ybits = bits(mx[0] - mn[0]);
    c.zbits = bits(mx[1] - mn[1]);
    if (c.ybits + c.zbits + 5 > detail::kSweepColumnBits) return false;
    c.y0 = mn[0];
    c.y1 = mx[0];
    c.z0 = mn[1];
    c.z1 = mx[1];
    c.q.x0 = x0;
    c.q.scale = x1 > x0 ? double((1u << detail::kSweepQBits) - 1) / (x1 - x0) : 0.0;
    c.es.clear();
    c.es.reserve(size());
    for (std::uint32_t s = 0; s < h.info.size(); ++s) {
        const Key& k = h.info[s].key;
        if (k.level < 0) continue;
        const Aabb& b = box(s);
        detail::SweepEntry& e = c.es.emplace_back();
        e.key = (c.column(k.level, k.y, k.z) << detail::kSweepQBits) | c.q(b.min.x);
        e.qhi = c.q(b.max.x);
        e.slot = s;
        outward_bits(b, e.lo, e.hi);
    }
    detail::radix_sort(c.es, [](const detail::SweepEntry& e) { return e.key; });
    return true;
}

void SpatialHash::candidate_pairs(std::vector<std::uint32_t>& out) const {
    Columns c;
    if (build_columns(c)) {
        detail::sweep_columns(c.es, c.ybits, [&](std::uint32_t a, std::uint32_t b, bool certain) {
            if (certain || overlaps(box(a), box(b))) {
                out.push_back(a);
                out.push_back(b);
            }
        });
    } else if (size() > 0) {
        cell_pairs(out);
    }
    cross_level_pairs(out);
}

// Box queries against Columns: per occupied level, the columns of the cells the query can
// reach (as collect_level), and in each the x window [q.lo.x - side, q.hi.x] found by binary
// search (a box of level l is narrower than side[l], so one that reaches q.lo.x starts after
// q.lo.x - side). Float bounds rounded outward filter; the caller's exact test decides.
class SpatialHash::ColumnSource final : public Broadphase::BatchSource {
  public:
    ColumnSource(const SpatialHash::Impl& h, Columns&& c) : h_(h), c_(std::move(c)) {
        qs_.resize(c_.es.size());
        for (std::uint32_t i = 0; i < c_.es.size(); ++i) {
            qs_[i] = qx(c_.es[i]);
            const std::uint64_t col = c_.es[i].key >> detail::kSweepQBits;
            if (runs_.empty() || runs_.back().col != col) runs_.push_back(Run{col, i, i});
            runs_.back().end = i + 1;
        }
    }
    // Out of line: an inline virtual destructor is emitted as two weak symbols (complete and
    // deleting) that share one demangled name, which tests/test_packaging.py flags.
    ~ColumnSource() override;

    void candidates(const Aabb& qb, std::vector<std::uint32_t>& out) const override {
        std::uint32_t lo[3], hi[3];
        outward_bits(qb, lo, hi);
        const std::uint32_t qhi = c_.q(qb.max.x);
        const detail::SweepEntry* e = c_.es.data();
        auto scan = [&](const Run& r, std::uint32_t qlo) {
            // First entry with quantised min x >= qlo, searched in the dense copy qs_ (a few
            // cache lines per column rather than one per probe).
            const std::uint32_t a = static_cast<std::uint32_t>(
                std::lower_bound(qs_.begin() + r.begin, qs_.begin() + r.end, qlo) - qs_.begin());
            for (std::uint32_t k = a; k < r.end && qs_[k] <= qhi; ++k) {
                bool hit = true;
                for (int d = 0; d < 3; ++d) hit &= (e[k].lo[d] <= hi[d]) & (lo[d] <= e[k].hi[d]);
                if (hit) out.push_back(e[k].slot);
            }
        };
        for (int l = 0; l < kLevels; ++l) {
            if (h_.level_count[l] == 0) continue;
            std::int64_t ya, yb, za, zb;
            h_.range(qb.min.y, qb.max.y, l, ya, yb);
            h_.range(qb.min.z, qb.max.z, l, za, zb);
            ya = std::max(ya, c_.y0);
            yb = std::min(yb, c_.y1);
            za = std::max(za, c_.z0);
            zb = std::min(zb, c_.z1);
            if (ya > yb || za > zb) continue;
            // q.lo.x - side, rounded down by far more than the subtraction's rounding error.
            const double t = qb.min.x - h_.side[l];
            const std::uint32_t qlo = c_.q(t - 1e-9 * (std::fabs(t) + h_.side[l]));
            if (double(yb - ya + 1) * double(zb - za + 1) > double(runs_.size())) {
                // More columns than exist: walk the level's runs and keep those in range.
                const std::uint64_t ymask = (std::uint64_t{1} << c_.ybits) - 1;
                const std::uint64_t zmask = (std::uint64_t{1} << c_.zbits) - 1;
                const std::uint64_t first = static_cast<std::uint64_t>(l) << (c_.ybits + c_.zbits);
                const std::uint64_t last = static_cast<std::uint64_t>(l + 1) << (c_.ybits + c_.zbits);
                for (auto it = lower(first); it != runs_.end() && it->col < last; ++it) {
                    const std::int64_t y = std::int64_t(it->col & ymask) + c_.y0 - 1;
                    const std::int64_t z = std::int64_t((it->col >> c_.ybits) & zmask) + c_.z0 - 1;
                    if (y >= ya && y <= yb && z >= za && z <= zb) scan(*it, qlo);
                }
                continue;
            }
            for (std::int64_t z = za; z <= zb; ++z) {
                // Columns (z, ya..yb) have consecutive numbers: one search, then walk.
                const std::uint64_t end = c_.column(l, yb, z);
                for (auto it = lower(c_.column(l, ya, z)); it != runs_.end() && it->col <= end; ++it)
                    scan(*it, qlo);
            }
        }
    }

  private:
    struct Run {
        std::uint64_t col;
        std::uint32_t begin, end;
    };
    static std::uint32_t qx(const detail::SweepEntry& e) noexcept {
        return static_cast<std::uint32_t>(e.key & ((std::uint64_t{1} << detail::kSweepQBits) - 1));
    }
    std::vector<Run>::const_iterator lower(std::uint64_t col) const noexcept {
        return std::lower_bound(runs_.begin(), runs_.end(), col,
                                [](const Run& r, std::uint64_t c) { return r.col < c; });
    }
    const SpatialHash::Impl& h_;
    Columns c_;
    std::vector<std::uint32_t> qs_;  // qx of es, contiguous
    std::vector<Run> runs_;
};

SpatialHash::ColumnSource::~ColumnSource() = default;

// Box queries when every box sits on one level and the occupied cells form a compact block
// (at most 4 cells per box): the boxes counting-sorted by cell into a dense CSR grid, so the
// cells [x0, x1] of one (z, y) row are ONE contiguous slice found by two offset reads; no hash
// probes and no searches. Float bounds rounded outward filter; the caller's exact test decides.
class SpatialHash::DenseSource final : public Broadphase::BatchSource {
  public:
    struct Entry {
        std::uint32_t slot;
        std::uint32_t lo[3], hi[3];  // outward float bounds as detail::order_bits
    };
    DenseSource(const SpatialHash::Impl& h, int level, const std::int64_t lo[3], const std::int64_t n[3])
        : h_(h), level_(level) {
        for (int k = 0; k < 3; ++k) {
            c0_[k] = lo[k];
            n_[k] = n[k];
        }
    }
    ~DenseSource() override;
    // Counting sort of the live slots by cell (slot order within a cell).
    template <class BoxOf>
    void build(std::size_t count, BoxOf box_of) {
        const std::size_t cells = static_cast<std::size_t>(n_[0] * n_[1] * n_[2]);
        off_.assign(cells + 1, 0);
        for (std::uint32_t s = 0; s < h_.info.size(); ++s)
            if (h_.info[s].key.level >= 0) ++off_[cell(h_.info[s].key) + 1];
        for (std::size_t c = 0; c < cells; ++c) off_[c + 1] += off_[c];
        es_.resize(count);
        std::vector<std::uint32_t> fill(off_.begin(), off_.end() - 1);
        for (std::uint32_t s = 0; s < h_.info.size(); ++s) {
            if (h_.info[s].key.level < 0) continue;
            Entry& e = es_[fill[cell(h_.info[s].key)]++];
            e.slot = s;
            outward_bits(box_of(s), e.lo, e.hi);
        }
    }
    void candidates(const Aabb& qb, std::vector<std::uint32_t>& out) const override {
        std::uint32_t lo[3], hi[3];
        outward_bits(qb, lo, hi);
        std::int64_t a[3], b[3];
        h_.range(qb.min.x, qb.max.x, level_, a[0], b[0]);
        h_.range(qb.min.y, qb.max.y, level_, a[1], b[1]);
        h_.range(qb.min.z, qb.max.z, level_, a[2], b[2]);
        for (int k = 0; k < 3; ++k) {  // into grid indices, clamped to the occupied block
            a[k] = std::max<std::int64_t>(a[k] - c0_[k], 0);
            b[k] = std::min<std::int64_t>(b[k] - c0_[k], n_[k] - 1);
            if (a[k] > b[k]) return;
        }
        for (std::int64_t z = a[2]; z <= b[2]; ++z)
            for (std::int64_t y = a[1]; y <= b[1]; ++y) {
                const std::size_t row = static_cast<std::size_t>((z * n_[1] + y) * n_[0]);
                const std::uint32_t end = off_[row + static_cast<std::size_t>(b[0]) + 1];
                for (std::uint32_t k = off_[row + static_cast<std::size_t>(a[0])]; k < end; ++k) {
                    const Entry& e = es_[k];
                    bool hit = true;
                    for (int d = 0; d < 3; ++d) hit &= (e.lo[d] <= hi[d]) & (lo[d] <= e.hi[d]);
                    if (hit) out.push_back(e.slot);
                }
            }
    }

  private:
    std::size_t cell(const Key& k) const noexcept {
        return static_cast<std::size_t>(((k.z - c0_[2]) * n_[1] + (k.y - c0_[1])) * n_[0] + (k.x - c0_[0]));
    }
    const SpatialHash::Impl& h_;
    int level_;
    std::int64_t c0_[3], n_[3];      // first occupied cell and cell counts per axis
    std::vector<std::uint32_t> off_;  // cells + 1 row starts into es_
    std::vector<Entry> es_;
};

SpatialHash::DenseSource::~DenseSource() = default;

std::unique_ptr<Broadphase::BatchSource> SpatialHash::batch_source(std::size_t queries) const {
    if (queries * 16 < size() || size() < 64) return nullptr;  // building costs O(n)
    const Impl& h = *impl_;
    int level = -1, levels = 0;
    for (int l = 0; l < kLevels; ++l) {
        if (h.level_count[l] == 0) continue;
        level = l;
        ++levels;
    }
    if (levels == 1) {
        std::int64_t mn[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, mx[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
        for (const Impl::SlotInfo& si : h.info) {
            if (si.key.level < 0) continue;
            const std::int64_t c[3] = {si.key.x, si.key.y, si.key.z};
            for (int k = 0; k < 3; ++k) {
                mn[k] = std::min(mn[k], c[k]);
                mx[k] = std::max(mx[k], c[k]);
            }
        }
        const std::int64_t n[3] = {mx[0] - mn[0] + 1, mx[1] - mn[1] + 1, mx[2] - mn[2] + 1};
        // Dense only when the block has at most 4 cells per box (spans < 2^32, so no overflow).
        if (double(n[0]) * double(n[1]) * double(n[2]) <= 4.0 * double(size()) + 1024.0) {
            auto d = std::make_unique<DenseSource>(h, level, mn, n);
            d->build(size(), [this](std::uint32_t s) -> const Aabb& { return box(s); });
            return d;
        }
    }
    Columns c;
    if (!build_columns(c)) return nullptr;
    return std::make_unique<ColumnSource>(*impl_, std::move(c));
}

void SpatialHash::cell_pairs(std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    // Same-level pairs by a sort-and-merge pass instead of hash lookups: boxes are gathered in
    // (level, x, y, z) cell order into one contiguous array, then each cell is joined with its
    // 13 forward neighbours, which lie in 5 runs ("rows") of that order. Lexicographic order
    // is translation invariant, so each row's start only moves forward: O(n log n) for the
    // sort, then sequential memory only (the hash table and the slot-ordered boxes are random
    // access and were the cost).
    struct Entry {
        Key key;
        std::uint32_t slot;
    };
    std::vector<Entry> es;
    es.reserve(size());
    for (std::uint32_t s = 0; s < h.info.size(); ++s)
        if (h.info[s].key.level >= 0) es.push_back(Entry{h.info[s].key, s});
    // Order by (level, x, y, z, slot). When the occupied cells span < 2^18 per axis (always,
    // unless cells are tiny and boxes far apart) that order is one packed 64-bit key, radix
    // sorted; es is in slot order already and the radix sort is stable.
    std::int64_t mn[3] = {INT32_MAX, INT32_MAX, INT32_MAX}, mx[3] = {INT32_MIN, INT32_MIN, INT32_MIN};
    for (const Entry& e : es) {
        const std::int64_t c[3] = {e.key.x, e.key.y, e.key.z};
        for (int k = 0; k < 3; ++k) {
            mn[k] = std::min(mn[k], c[k]);
            mx[k] = std::max(mx[k], c[k]);
        }
    }
    constexpr std::int64_t kSpan = std::int64_t{1} << 18;
    if (!es.empty() && mx[0] - mn[0] < kSpan && mx[1] - mn[1] < kSpan && mx[2] - mn[2] < kSpan) {
        detail::radix_sort(es, [&](const Entry& e) {
            return (static_cast<std::uint64_t>(e.key.level) << 54) |
                   (static_cast<std::uint64_t>(e.key.x - mn[0]) << 36) |
                   (static_cast<std::uint64_t>(e.key.y - mn[1]) << 18) |
                   static_cast<std::uint64_t>(e.key.z - mn[2]);
        });
    } else {
        std::sort(es.begin(), es.end(), [](const Entry& a, const Entry& b) {
            return a.key < b.key || (a.key == b.key && a.slot < b.slot);
        });
    }
    struct Packed {
        Aabb box;
        std::uint32_t slot;
    };
    struct CellRun {
        Key key;
        std::uint32_t begin, end;
    };
    std::vector<Packed> pk(es.size());
    std::vector<CellRun> cells;
    for (std::size_t i = 0; i < es.size(); ++i) {
        pk[i] = Packed{box(es[i].slot), es[i].slot};
        if (cells.empty() || !(cells.back().key == es[i].key))
            cells.push_back(CellRun{es[i].key, static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i)});
        cells.back().end = static_cast<std::uint32_t>(i + 1);
    }
    es.clear();
    es.shrink_to_fit();
    // Past max_results() pairs stop at once (the caller reports the limit): a million stacked
    // boxes would otherwise materialise ~5e11 pairs.
    const std::size_t cap = max_results();
    auto emit_cross = [&](const CellRun& a, const CellRun& b) {
        for (std::uint32_t i = a.begin; i < a.end; ++i)
            for (std::uint32_t j = b.begin; j < b.end; ++j)
                if (overlaps(pk[i].box, pk[j].box)) {
                    out.push_back(pk[i].slot);
                    out.push_back(pk[j].slot);
                    if (out.size() / 2 > cap) return false;
                }
        return true;
    };
    static constexpr int kRows[5][4] = {  // dx, dy, first dz, last dz
        {0, 0, 1, 1}, {0, 1, -1, 1}, {1, -1, -1, 1}, {1, 0, -1, 1}, {1, 1, -1, 1}};
    std::size_t ptr[5] = {0, 0, 0, 0, 0};
    const std::size_t nc = cells.size();
    for (std::size_t ci = 0; ci < nc; ++ci) {
        const CellRun& c = cells[ci];
        for (std::uint32_t i = c.begin; i < c.end; ++i)
            for (std::uint32_t j = i + 1; j < c.end; ++j)
                if (overlaps(pk[i].box, pk[j].box)) {
                    out.push_back(pk[i].slot);
                    out.push_back(pk[j].slot);
                    if (out.size() / 2 > cap) return;
                }
        for (int r = 0; r < 5; ++r) {
            const Key lo{c.key.x + kRows[r][0], c.key.y + kRows[r][1], c.key.z + kRows[r][2], c.key.level};
            const Key hi{lo.x, lo.y, c.key.z + kRows[r][3], c.key.level};
            std::size_t& p = ptr[r];
            while (p < nc && cells[p].key < lo) ++p;
            for (std::size_t j = p; j < nc && !(hi < cells[j].key); ++j)
                if (!emit_cross(c, cells[j])) return;
        }
    }
}

void SpatialHash::cross_level_pairs(std::vector<std::uint32_t>& out) const {
    const Impl& h = *impl_;
    // Across levels: each box asks every coarser occupied level through the hash table (a
    // coarser box never asks a finer level, so each pair is found once).
    int coarser[kLevels];
    int ncoarser[kLevels];
    for (int l = 0; l < kLevels; ++l) {
        ncoarser[l] = 0;
        for (int k = l + 1; k < kLevels; ++k)
            if (h.level_count[k]) ++ncoarser[l];
    }
    std::vector<std::uint32_t> other;
    for (std::uint32_t s = 0; s < h.info.size(); ++s) {
        const int l = h.info[s].key.level;
        if (l < 0 || ncoarser[l] == 0) continue;
        int n = 0;
        for (int k = l + 1; k < kLevels; ++k)
            if (h.level_count[k]) coarser[n++] = k;
        const Aabb& ba = box(s);
        for (int k = 0; k < n; ++k) {
            other.clear();
            if (!h.collect_level(ba, coarser[k], other)) {
                for (std::uint32_t t = 0; t < h.info.size(); ++t)
                    if (h.info[t].key.level == coarser[k]) other.push_back(t);
            }
            for (std::uint32_t b : other) {
                if (overlaps(ba, box(b))) {
                    out.push_back(s);
                    out.push_back(b);
                    if (out.size() / 2 > max_results()) return;  // the caller reports the cap
                }
            }
        }
    }
}

std::size_t SpatialHash::index_memory_bytes() const noexcept {
    return impl_->table.capacity() * sizeof(Impl::Cell) +
           impl_->info.capacity() * sizeof(Impl::SlotInfo);
}

bool SpatialHash::check_invariants() const {
    const Impl& h = *impl_;
    std::size_t linked = 0, per_level[kLevels] = {};
    for (const Impl::Cell& c : h.table) {
        if (c.key.level < 0) continue;
        std::uint32_t n = 0, prev = kNone;
        for (std::uint32_t s = c.head; s != kNone; s = h.info[s].next) {
            if (++n > h.info.size() || !alive(s) || !(h.info[s].key == c.key) || h.info[s].prev != prev)
                return false;
            if (!(h.key_of(box(s)) == c.key)) return false;
            prev = s;
        }
        if (n == 0) return false;
        linked += n;
        per_level[c.key.level] += n;
    }
    for (int l = 0; l < kLevels; ++l)
        if (per_level[l] != h.level_count[l]) return false;
    return linked == size();
}

}  // namespace fbsim
