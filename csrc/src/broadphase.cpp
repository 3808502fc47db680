// SPDX-License-Identifier: MIT
// fbsim: the shared part of the broad phases (fbsim/broadphase.hpp): atomic batch validation,
// slot bookkeeping, the id map, and the exact tests that turn a structure's candidates into
// answers. Exactness lives here, once: a structure may over-report candidates, never under-.
// Slab ray test: Kay & Kajiya, "Ray tracing complex scenes", SIGGRAPH 1986; box-sphere distance:
// Arvo, "A simple method for box-sphere intersection testing", Graphics Gems, 1990.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "fbsim/broadphase.hpp"
#include "fbsim/validate.hpp"
#include "grow.hpp"
#include "pair_record.hpp"
#include "radix_sort.hpp"

namespace fbsim {

const char* broadphase_error_message(BroadphaseError code) noexcept {
    switch (code) {
        case BroadphaseError::kOk: return "ok";
        case BroadphaseError::kNotFinite: return "is nan or inf; values must be finite";
        case BroadphaseError::kOutOfRange: return "exceeds the coordinate limit";
        case BroadphaseError::kInverted: return "lo is greater than hi";
        case BroadphaseError::kDuplicateId: return "duplicate id";
        case BroadphaseError::kUnknownId: return "unknown id";
        case BroadphaseError::kReservedId: return "reserved id (INT64_MIN)";
        case BroadphaseError::kTooManyItems: return "exceeds the broad phase's item limit";
    }
    return "unknown error";
}

namespace detail {

namespace {
// splitmix64 finaliser (Steele, Lea & Flood 2014): cheap, and spreads sequential ids.
inline std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}
}  // namespace

std::size_t IdMap::home(std::int64_t id) const noexcept {
    return static_cast<std::size_t>(mix(static_cast<std::uint64_t>(id))) & (buckets_.size() - 1);
}

std::uint32_t IdMap::find_hashed(std::int64_t id) const noexcept {
    if (buckets_.empty()) return kNone;
    const std::size_t m = buckets_.size() - 1;
    // Load <= 0.7 guarantees an empty bucket, so this loop ends within buckets_.size() steps.
    for (std::size_t i = home(id), n = 0; n <= m; i = (i + 1) & m, ++n) {
        const Bucket& b = buckets_[i];
        if (b.slot == kNone) return kNone;
        if (b.key == id) return b.slot;
    }
    return kNone;
}

std::vector<IdMap::Bucket> IdMap::rebuilt(std::size_t buckets, std::size_t dense) const {
    std::vector<Bucket> out(buckets, Bucket{0, kNone});
    const std::size_t m = buckets - 1;
    for (const Bucket& b : buckets_) {
        if (b.slot == kNone || static_cast<std::uint64_t>(b.key) < dense) continue;
        std::size_t i = static_cast<std::size_t>(mix(static_cast<std::uint64_t>(b.key))) & m;
        while (out[i].slot != kNone) i = (i + 1) & m;
        out[i] = b;
    }
    return out;
}

void IdMap::reserve(const std::int64_t* ids, std::size_t count) {
    // The dense range may cover ids up to twice the item count after this batch: a table at
    // least half full costs at most 8 bytes per item. It only grows by at least 1.5x, so single
    // inserts copy it O(log n) times, not n times: a step the item bound does not allow is not
    // taken at all (those ids are hashed). Clamping the step to the bound instead let ids 0, 2,
    // 4, ... widen it by ~18 entries every ~9 inserts, copying the whole table each time (review).
    const std::size_t items = hashed_ + count + dense_used_;
    const std::uint64_t limit = 2 * static_cast<std::uint64_t>(items) + 16;
    std::uint64_t want = dense_.size();
    std::size_t to_hash = 0;  // batch ids left for the hash
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t u = static_cast<std::uint64_t>(ids[i]);
        if (u < limit && u >= want) want = u + 1;
    }
    if (want > dense_.size()) {
        const std::uint64_t step = std::max<std::uint64_t>(want, dense_.size() + dense_.size() / 2);
        want = step <= limit ? step : dense_.size();
    }
    for (std::size_t i = 0; i < count; ++i) to_hash += static_cast<std::uint64_t>(ids[i]) >= want ? 1 : 0;
    // Hashed ids the wider range takes over.
    std::size_t moving = 0;
    if (want > dense_.size() && hashed_ != 0)
        for (const Bucket& b : buckets_)
            moving += b.slot != kNone && static_cast<std::uint64_t>(b.key) < want ? 1 : 0;
    const std::size_t need = hashed_ - moving + to_hash;
    std::size_t buckets = 0;
    if (need != 0) {
        buckets = 16;
        while (buckets * 7 < need * 10) buckets *= 2;  // load <= 0.7: linear probing stays short
        buckets = std::max(buckets, buckets_.size());
    }
    // Allocate everything first, then commit without throwing.
    std::vector<std::uint32_t> table;
    if (want > dense_.size()) {
        table.reserve(static_cast<std::size_t>(want));
        table.assign(dense_.begin(), dense_.end());
        table.resize(static_cast<std::size_t>(want), kNone);
    }
    std::vector<Bucket> fresh;
    const bool rehash = buckets > buckets_.size() || moving != 0;
    if (rehash) fresh = rebuilt(buckets, static_cast<std::size_t>(want));
    if (want > dense_.size()) {
        for (const Bucket& b : buckets_)
            if (b.slot != kNone && static_cast<std::uint64_t>(b.key) < want) {
                table[static_cast<std::size_t>(b.key)] = b.slot;
                ++dense_used_;
            }
        dense_.swap(table);
    }
    if (rehash) {
        buckets_.swap(fresh);
        hashed_ -= moving;
    }
}

void IdMap::insert(std::int64_t id, std::uint32_t slot) {
    if (static_cast<std::uint64_t>(id) < dense_.size()) {
        dense_[static_cast<std::size_t>(id)] = slot;
        ++dense_used_;
        return;
    }
    if (hashed_ + 1 > buckets_.size() * 7 / 10) {
        // Not reserved: grow (may throw, changing nothing), which may also widen the range.
        reserve(&id, 1);
        if (static_cast<std::uint64_t>(id) < dense_.size()) return insert(id, slot);
    }
    const std::size_t m = buckets_.size() - 1;
    std::size_t i = home(id);
    while (buckets_[i].slot != kNone) i = (i + 1) & m;
    buckets_[i] = Bucket{id, slot};
    ++hashed_;
}

void IdMap::erase(std::int64_t id) noexcept {
    if (static_cast<std::uint64_t>(id) < dense_.size()) {
        if (dense_[static_cast<std::size_t>(id)] != kNone) --dense_used_;
        dense_[static_cast<std::size_t>(id)] = kNone;
        return;
    }
    if (buckets_.empty()) return;
    const std::size_t m = buckets_.size() - 1;
    std::size_t i = home(id);
    for (std::size_t n = 0; n <= m; i = (i + 1) & m, ++n) {
        if (buckets_[i].slot == kNone) return;
        if (buckets_[i].key == id) break;
    }
    if (buckets_[i].slot == kNone || buckets_[i].key != id) return;
    // Backward-shift deletion (Knuth vol. 3, 6.4 algorithm R): no tombstones to accumulate.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & m, n = 0; n <= m; j = (j + 1) & m, ++n) {
        if (buckets_[j].slot == kNone) break;
        const std::size_t h = home(buckets_[j].key);
        // Move j into the hole unless its home lies cyclically in (hole, j].
        const bool stays = (hole <= j) ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!stays) {
            buckets_[hole] = buckets_[j];
            hole = j;
        }
    }
    buckets_[hole].slot = kNone;
    --hashed_;
}

}  // namespace detail

namespace {

// Non-short-circuit `&`: six compares and one well-predicted branch (most tests fail), rather
// than six branches that mispredict on random data.
inline bool overlaps(const Aabb& a, const Aabb& b) noexcept {
    return (a.min.x <= b.max.x) & (b.min.x <= a.max.x) & (a.min.y <= b.max.y) &
           (b.min.y <= a.max.y) & (a.min.z <= b.max.z) & (b.min.z <= a.max.z);
}

inline Aabb load_box(const double* lo, const double* hi, std::size_t i) noexcept {
    return Aabb{load_vec3(lo, i), load_vec3(hi, i)};
}

// Squared distance from c to the box, the same operation order as the numpy reference.
inline double dist2(const Aabb& b, const Vec3& c) noexcept {
    const double px = c.x < b.min.x ? b.min.x : (c.x > b.max.x ? b.max.x : c.x);
    const double py = c.y < b.min.y ? b.min.y : (c.y > b.max.y ? b.max.y : c.y);
    const double pz = c.z < b.min.z ? b.min.z : (c.z > b.max.z ? b.max.z : c.z);
    const double dx = c.x - px, dy = c.y - py, dz = c.z - pz;
    return dx * dx + dy * dy + dz * dz;
}

// Slab test; returns the entry distance in [0, max_t] or -1 on a miss.
inline double ray_hit(const Aabb& b, const Vec3& o, const Vec3& d, double max_t) noexcept {
    double t0 = 0.0, t1 = max_t;
    const double os[3] = {o.x, o.y, o.z}, ds[3] = {d.x, d.y, d.z};
    const double lo[3] = {b.min.x, b.min.y, b.min.z}, hi[3] = {b.max.x, b.max.y, b.max.z};
    for (int k = 0; k < 3; ++k) {
        if (ds[k] == 0.0) {
            if (os[k] < lo[k] || os[k] > hi[k]) return -1.0;
            continue;
        }
        double a = (lo[k] - os[k]) / ds[k], c = (hi[k] - os[k]) / ds[k];
        if (a > c) std::swap(a, c);
        if (a > t0) t0 = a;
        if (c < t1) t1 = c;
        if (t0 > t1) return -1.0;
    }
    return t0;
}

inline Vec3 unit(const Vec3& d) noexcept {
    const double n = std::sqrt(d.x * d.x + d.y * d.y + d.z * d.z);
    return Vec3{d.x / n, d.y / n, d.z / n};
}

using detail::grow;

// What a query past Broadphase::max_results() returns: nothing, flagged (the partial buffers
// are freed on return).
CsrResult over_limit_result() {
    CsrResult r;
    r.over_limit = true;
    return r;
}

struct PairRow {
    std::int64_t a, b;
    bool operator<(const PairRow& o) const noexcept { return a < o.a || (a == o.a && b < o.b); }
    bool operator==(const PairRow& o) const noexcept { return a == o.a && b == o.b; }
};

void flush_rows(std::vector<PairRow>& rows, std::vector<std::int64_t>& out) {
    // Rows sorted by (a, b): stable radix by b, then by a (sign bit flipped to order int64).
    constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
    detail::radix_sort(rows, [](const PairRow& r) { return static_cast<std::uint64_t>(r.b) ^ kSign; });
    detail::radix_sort(rows, [](const PairRow& r) { return static_cast<std::uint64_t>(r.a) ^ kSign; });
    const std::size_t base = out.size();
    out.resize(base + 2 * rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out[base + 2 * i] = rows[i].a;
        out[base + 2 * i + 1] = rows[i].b;
    }
}

// Sorts packed pair keys (ra << bits) | rb, both ranks < `ranks`: an LSD radix sort whose two
// digits are the ranks themselves (counting sort by rb, then stably by ra). Both counts in one
// read of the keys, then two scatters: O(m + ranks), and no branch on the data. (Round 8: it
// replaced a count by ra followed by a per-bucket compare-exchange / insertion sort, whose
// bucket-size branches mispredicted ~1 per box.) Used when m >= ranks / 2 (pairs() of a
// scene), so the two count arrays cost no more than the keys.
void sort_rank_keys_cached(std::vector<std::uint64_t>& keys, int bits, std::size_t ranks) {
    const std::size_t m = keys.size();
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    // lo[r + 1] (hi[r + 1]) counts keys whose low (high) digit is r; after the prefix sums,
    // lo[r] (hi[r]) is where that digit's keys begin.
    std::vector<std::uint32_t> count(2 * (ranks + 1), 0);
    std::uint32_t* const lo = count.data();
    std::uint32_t* const hi = lo + ranks + 1;
    for (const std::uint64_t k : keys) {
        ++lo[(k & mask) + 1];
        ++hi[(k >> bits) + 1];
    }
    for (std::size_t r = 1; r <= ranks; ++r) {
        lo[r] += lo[r - 1];
        hi[r] += hi[r - 1];
    }
    // The scratch copy is never read before written: no need to zero it.
    const std::unique_ptr<std::uint64_t[]> tmp(new std::uint64_t[m]);
    for (const std::uint64_t k : keys) tmp[lo[k & mask]++] = k;
    for (std::size_t i = 0; i < m; ++i) {
        const std::uint64_t k = tmp[i];
        keys[hi[k >> bits]++] = k;
    }
}

// src[0, n) sorted by their low `passes` x `width` bits into dst (LSD, one counting read for
// every digit; src is scratch). count: passes << width entries.
void sort_bucket(std::uint64_t* src, std::uint64_t* dst, std::size_t n, int passes, int width,
                 std::uint32_t* count) {
    const std::uint64_t digit = (std::uint64_t{1} << width) - 1;
    const std::size_t digits = std::size_t{1} << width;
    std::fill(count, count + static_cast<std::size_t>(passes) * digits, 0u);
    for (std::size_t i = 0; i < n; ++i)
        for (int p = 0; p < passes; ++p) ++count[static_cast<std::size_t>(p) * digits + ((src[i] >> (p * width)) & digit)];
    std::uint64_t* const out = dst;
    for (int p = 0; p < passes; ++p) {
        std::uint32_t* const c = count + static_cast<std::size_t>(p) * digits;
        std::uint32_t sum = 0;
        for (std::size_t d = 0; d < digits; ++d) {
            const std::uint32_t here = c[d];
            c[d] = sum;
            sum += here;
        }
        for (std::size_t i = 0; i < n; ++i) dst[c[(src[i] >> (p * width)) & digit]++] = src[i];
        std::swap(src, dst);
    }
    if (src != out) std::copy(src, src + n, out);  // an even number of passes ends in the scratch
}

// sort_rank_keys() past kCachedSortRanks: the counts of sort_rank_keys_cached() (8 bytes a rank)
// outgrow L2 and both of its scatters miss on nearly every key (1e6 boxes: the sort was more
// of pairs() than the cell pass). Instead, one counting scatter by the smaller rank's top bits
// into buckets of 4096 smaller ranks (~6k keys each, written to a few hundred places in
// order), then each bucket, now cache-sized, by an LSD radix of <= 11-bit digits over the
// bits below (smaller rank's low 12 bits, the larger rank). Standalone, 1.46e6 keys of 1e6
// ranks: 83 -> 33-40 ms; at 1e5 ranks no faster (the counts still fit), at 1e4 2x slower.
void sort_rank_keys_bucketed(std::vector<std::uint64_t>& keys, int bits, std::size_t ranks) {
    constexpr int kBucketBits = 12;
    const std::size_t m = keys.size();
    const int shift = bits + std::min(kBucketBits, bits);  // key k is in bucket k >> shift
    const std::size_t buckets = ((ranks - 1) >> (shift - bits)) + 1;
    std::vector<std::uint32_t> start(buckets + 1, 0);
    for (const std::uint64_t k : keys) ++start[(k >> shift) + 1];
    for (std::size_t b = 1; b <= buckets; ++b) start[b] += start[b - 1];
    const std::unique_ptr<std::uint64_t[]> tmp(new std::uint64_t[m]);  // written before read
    {
        std::vector<std::uint32_t> at(start.begin(), start.end() - 1);
        for (const std::uint64_t k : keys) tmp[at[k >> shift]++] = k;
    }
    const int passes = (shift + 10) / 11, width = (shift + passes - 1) / passes;
    std::vector<std::uint32_t> count(static_cast<std::size_t>(passes) << width);
    for (std::size_t b = 0; b < buckets; ++b)
        sort_bucket(tmp.get() + start[b], keys.data() + start[b], start[b + 1] - start[b], passes, width,
                    count.data());
}

// Sorts packed pair keys (ra << bits) | rb, both ranks < `ranks` (see the two above).
void sort_rank_keys(std::vector<std::uint64_t>& keys, int bits, std::size_t ranks) {
    constexpr std::size_t kCachedSortRanks = std::size_t{1} << 17;  // 1 MiB of counts
    if (ranks <= kCachedSortRanks) {
        sort_rank_keys_cached(keys, bits, ranks);
    } else {
        sort_rank_keys_bucketed(keys, bits, ranks);
    }
}

// First duplicate in a batch: the smallest row index that repeats an earlier row's id.
bool first_duplicate(const std::int64_t* ids, std::size_t count, std::size_t* out_index) {
    std::vector<std::pair<std::int64_t, std::size_t>> v(count);
    for (std::size_t i = 0; i < count; ++i) v[i] = {ids[i], i};
    // Stable radix sort by id (sign bit flipped to order int64): rows stay in index order
    // within an id, as the loop below needs, at a few passes instead of n log n compares.
    constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
    detail::radix_sort(v, [](const std::pair<std::int64_t, std::size_t>& e) {
        return static_cast<std::uint64_t>(e.first) ^ kSign;
    });
    bool found = false;
    std::size_t best = 0;
    for (std::size_t i = 1; i < count; ++i) {
        // Within one id, rows sort by index, so v[i] repeats an earlier row.
        if (v[i].first == v[i - 1].first && (!found || v[i].second < best)) {
            best = v[i].second;
            found = true;
        }
    }
    if (found) *out_index = best;
    return found;
}

}  // namespace

Broadphase::~Broadphase() = default;

std::unique_ptr<Broadphase::BatchSource> Broadphase::batch_source(std::size_t) const {
    return nullptr;
}

BroadphaseStatus Broadphase::check_boxes(const double* lo, const double* hi,
                                         std::size_t count) const {
    BroadphaseStatus s;
    for (std::uint8_t a = 0; a < 2; ++a) {
        const Status st = first_invalid(a == 0 ? lo : hi, count, 3, kMaxCoordinate);
        if (!st.ok()) {
            s.code = st.code == ErrorCode::kNotFinite ? BroadphaseError::kNotFinite
                                                      : BroadphaseError::kOutOfRange;
            s.index = st.index;
            s.component = st.component;
            s.array = a;
            s.value = st.value;
            return s;
        }
    }
    for (std::size_t i = 0; i < count; ++i) {
        for (std::uint8_t k = 0; k < 3; ++k) {
            if (lo[3 * i + k] > hi[3 * i + k]) {
                s.code = BroadphaseError::kInverted;
                s.index = i;
                s.component = k;
                s.array = 0;
                s.value = lo[3 * i + k];
                return s;
            }
        }
    }
    return s;
}

BroadphaseStatus Broadphase::validate_insert(const std::int64_t* ids, const double* lo,
                                             const double* hi, std::size_t count) const {
    BroadphaseStatus s;
    // First, and O(1): a batch past the 32-bit slot space is refused before any scratch set
    // is allocated for it. `value` carries the limit for the message.
    const std::size_t room = count_ < max_items_ ? max_items_ - count_ : 0;
    if (count > room) {
        s.code = BroadphaseError::kTooManyItems;
        s.index = room;
        s.id = ids[room];
        s.value = static_cast<double>(max_items_);
        return s;
    }
    std::size_t dup = 0;
    if (first_duplicate(ids, count, &dup)) {
        s.code = BroadphaseError::kDuplicateId;
        s.index = dup;
        s.id = ids[dup];
        return s;
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (ids[i] == kFreeSlot) {  // INT64_MIN marks free slots
            s.code = BroadphaseError::kReservedId;
            s.index = i;
            s.id = ids[i];
            return s;
        }
        if (contains(ids[i])) {
            s.code = BroadphaseError::kDuplicateId;
            s.index = i;
            s.id = ids[i];
            return s;
        }
    }
    return check_boxes(lo, hi, count);
}

BroadphaseStatus Broadphase::validate_remove(const std::int64_t* ids, std::size_t count) const {
    std::vector<std::uint32_t> slots(count);
    return find_present(ids, count, slots.data());
}

BroadphaseStatus Broadphase::find_present(const std::int64_t* ids, std::size_t count,
                                          std::uint32_t* out_slots) const {
    BroadphaseStatus s;
    // The common case, every id present: ids and slots correspond one to one, so the first
    // row whose slot is already marked in a bitmap of the slots is the first row repeating an
    // earlier id (what first_duplicate() finds by a radix sort of the batch). Each id is looked
    // up once. If some id is absent, the general path below decides which error comes first.
    // A batch much smaller than the slot space (single writes into a large world) sorts its
    // slots instead of clearing a bitmap of them all: O(count log count), not O(n) per call.
    {
        bool all_known = true;
        for (std::size_t i = 0; i < count && all_known; ++i) {
            out_slots[i] = map_.find(ids[i]);
            all_known = out_slots[i] != detail::IdMap::kNone;
        }
        if (all_known) {
            std::size_t repeat = count;  // the first row repeating an earlier one
            if (count * 64 >= ids_.size()) {
                std::vector<std::uint64_t> seen((ids_.size() + 63) / 64, 0);
                for (std::size_t i = 0; i < count; ++i) {
                    const std::uint32_t slot = out_slots[i];
                    const std::uint64_t bit = std::uint64_t{1} << (slot & 63);
                    if (seen[slot >> 6] & bit) {
                        repeat = i;
                        break;
                    }
                    seen[slot >> 6] |= bit;
                }
            } else {
                std::vector<std::pair<std::uint32_t, std::size_t>> v(count);  // (slot, row)
                for (std::size_t i = 0; i < count; ++i) v[i] = {out_slots[i], i};
                std::sort(v.begin(), v.end());
                for (std::size_t i = 1; i < count; ++i)
                    if (v[i].first == v[i - 1].first) repeat = std::min(repeat, v[i].second);
            }
            if (repeat == count) return s;
            s.code = BroadphaseError::kDuplicateId;
            s.index = repeat;
            s.id = ids[repeat];
            return s;
        }
    }
    std::size_t dup = 0;
    if (first_duplicate(ids, count, &dup)) {
        s.code = BroadphaseError::kDuplicateId;
        s.index = dup;
        s.id = ids[dup];
        return s;
    }
    for (std::size_t i = 0; i < count; ++i) {
        if (!contains(ids[i])) {
            s.code = BroadphaseError::kUnknownId;
            s.index = i;
            s.id = ids[i];
            return s;
        }
    }
    return s;
}

BroadphaseStatus Broadphase::validate_update(const std::int64_t* ids, const double* lo,
                                             const double* hi, std::size_t count) const {
    BroadphaseStatus s = validate_remove(ids, count);
    if (!s.ok()) return s;
    return check_boxes(lo, hi, count);
}

BroadphaseStatus Broadphase::insert(const std::int64_t* ids, const double* lo, const double* hi,
                                    std::size_t count, const std::uint32_t* layers,
                                    const std::uint32_t* masks) {
    BroadphaseStatus s = validate_insert(ids, lo, hi, count);
    if (!s.ok() || count == 0) return s;
    // Reserve everything first so that the commit below cannot fail half-way on growth.
    const std::size_t fresh = count > free_.size() ? count - free_.size() : 0;
    const std::size_t slots = ids_.size() + fresh;
    grow(boxes_, slots);
    grow(ids_, slots);
    grow(layers_, slots);
    grow(masks_, slots);
    map_.reserve(ids, count);
    if (ranks_valid_) {
        grow(rank_, slots);
        rank_.resize(slots, kNoRank);
    }
    std::vector<std::uint32_t> assigned(count);
    const bool had_custom_layers = custom_layers_;  // restored if the index throws below
    if (layers || masks) custom_layers_ = true;
    const std::size_t old_slots = ids_.size();
    for (std::size_t i = 0; i < count; ++i) {
        std::uint32_t slot;
        if (!free_.empty()) {
            slot = free_.back();
            free_.pop_back();
        } else {
            slot = static_cast<std::uint32_t>(ids_.size());
            boxes_.emplace_back();
            ids_.push_back(kFreeSlot);
            layers_.push_back(0);
            masks_.push_back(0);
        }
        boxes_[slot] = load_box(lo, hi, i);
        ids_[slot] = ids[i];
        layers_[slot] = layers ? layers[i] : kDefaultLayer;
        masks_[slot] = masks ? masks[i] : kAllLayers;
        map_.insert(ids[i], slot);
        if (ranks_valid_) rank_[slot] = kNoRank;  // a reused slot must not keep its old rank
        ++unranked_;
        assigned[i] = slot;
    }
    count_ += count;
    try {
        on_insert(assigned.data(), count);
    } catch (...) {
        // The indexes allocate before they change (node and entry capacity first), so undoing the
        // commit above leaves the structure as it was; nothing below allocates. Without this an
        // out-of-memory insert left ids present that the index lacked (review: a later remove
        // wrote out of bounds).
        for (std::size_t i = count; i-- > 0;) {
            map_.erase(ids[i]);
            ids_[assigned[i]] = kFreeSlot;
        }
        for (std::size_t i = count; i-- > 0;)
            if (assigned[i] < old_slots) free_.push_back(assigned[i]);  // popped above: no growth
        boxes_.resize(old_slots);
        ids_.resize(old_slots);
        layers_.resize(old_slots);
        masks_.resize(old_slots);
        if (ranks_valid_) rank_.resize(old_slots);
        count_ -= count;
        unranked_ -= count;
        custom_layers_ = had_custom_layers;  // else pairs() would take the slower layered path for good
        throw;
    }
    return s;
}

BroadphaseStatus Broadphase::update(const std::int64_t* ids, const double* lo, const double* hi,
                                    std::size_t count) {
    // As validate_update(), keeping the slots it looked up (one id look-up each, not two).
    std::vector<std::uint32_t> slots(count);
    BroadphaseStatus s = find_present(ids, count, slots.data());
    if (s.ok()) s = check_boxes(lo, hi, count);
    if (!s.ok() || count == 0) return s;
    for (std::size_t i = 0; i < count; ++i) boxes_[slots[i]] = load_box(lo, hi, i);
    on_update(slots.data(), count);
    return s;
}

BroadphaseStatus Broadphase::remove(const std::int64_t* ids, std::size_t count) {
    std::vector<std::uint32_t> slots(count);
    BroadphaseStatus s = find_present(ids, count, slots.data());  // validate_remove(), with slots
    if (!s.ok() || count == 0) return s;
    on_remove(slots.data(), count);  // the index still sees the boxes it is dropping
    grow(free_, free_.size() + count);
    for (std::size_t i = 0; i < count; ++i) {
        map_.erase(ids[i]);
        ids_[slots[i]] = kFreeSlot;
        free_.push_back(slots[i]);
    }
    count_ -= count;
    return s;
}

bool Broadphase::refresh_ranks() {
    if (ranks_valid_ && unranked_ <= count_ / 8) return false;
    rebuild_ranks();
    return ranks_valid_;
}

void Broadphase::rebuild_ranks() {
    if (!ranks_wanted_) return;
    ranks_valid_ = false;  // stays false if an allocation below throws: pairs() uses ids
    struct IdSlot {
        std::int64_t id;
        std::uint32_t slot;
    };
    std::vector<IdSlot> v;
    v.reserve(count_);
    for (std::uint32_t s = 0; s < ids_.size(); ++s)
        if (alive(s)) v.push_back(IdSlot{ids_[s], s});
    constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
    detail::radix_sort(v, [](const IdSlot& e) { return static_cast<std::uint64_t>(e.id) ^ kSign; });
    rank_.assign(ids_.size(), kNoRank);
    grow(by_rank_, v.size());  // resize() alone would double the capacity
    by_rank_.resize(v.size());
    for (std::uint32_t r = 0; r < v.size(); ++r) {
        by_rank_[r] = v[r].id;
        rank_[v[r].slot] = r;
    }
    ranks_valid_ = true;
    unranked_ = 0;
}

void Broadphase::emit_pairs(const std::vector<std::uint32_t>& cand, std::vector<std::uint64_t>& keys,
                            bool check_layers, std::vector<std::int64_t>& out) const {
    if (!ranks_valid_) {  // then `keys` is empty (the structures pack ranks only while valid)
        std::vector<PairRow> rows;
        rows.reserve(cand.size() / 2);
        for (std::size_t i = 0; i + 1 < cand.size(); i += 2) {
            const std::uint32_t a = cand[i], b = cand[i + 1];
            if (check_layers && !layers_pair(a, b)) continue;
            const std::int64_t ia = ids_[a], ib = ids_[b];
            rows.push_back(ia < ib ? PairRow{ia, ib} : PairRow{ib, ia});
        }
        flush_rows(rows, out);
        return;
    }
    // Ranks follow id order, so (rank_lo, rank_hi) packed in one uint64 sorts like the rows:
    // one radix sort of 8-byte keys of about 2 log2(n) bits, then ranks back to ids. The few
    // pairs with an end inserted since the last rebuild (no rank) are sorted as id rows and
    // merged in.
    // `keys` may arrive packed already (candidate_rank_pairs()); cand's pairs join them.
    const int bits = rank_bits();
    std::vector<PairRow> rows;
    keys.reserve(keys.size() + cand.size() / 2);
    // The slots come in index (spatial) order, so rank_[] is read at random: the reads are
    // prefetched 16 pairs ahead (all addresses are known up front), and likewise by_rank_[]
    // below, instead of waiting for each miss.
    constexpr std::size_t kAhead = 32;
    for (std::size_t i = 0; i + 1 < cand.size(); i += 2) {
        if (i + kAhead + 1 < cand.size()) {
            detail::prefetch(&rank_[cand[i + kAhead]]);
            detail::prefetch(&rank_[cand[i + kAhead + 1]]);
        }
        const std::uint32_t a = cand[i], b = cand[i + 1];
        if (check_layers && !layers_pair(a, b)) continue;
        const std::uint64_t ra = rank_[a], rb = rank_[b];
        if (ra == kNoRank || rb == kNoRank) {
            const std::int64_t ia = ids_[a], ib = ids_[b];
            rows.push_back(ia < ib ? PairRow{ia, ib} : PairRow{ib, ia});
            continue;
        }
        keys.push_back(ra < rb ? (ra << bits) | rb : (rb << bits) | ra);
    }
    // sort_rank_keys counts in 32 bits (half the memory of its bucket array): past 2^32 - 1
    // pairs (only with max_results raised that far) the radix sort takes over.
    if (keys.size() * 2 >= by_rank_.size() && keys.size() <= UINT32_MAX) {
        sort_rank_keys(keys, bits, by_rank_.size());
    } else {
        detail::radix_sort(keys, [](std::uint64_t k) { return k; });
    }
    constexpr std::uint64_t kSign = std::uint64_t{1} << 63;  // rows as flush_rows() sorts them
    detail::radix_sort(rows, [](const PairRow& r) { return static_cast<std::uint64_t>(r.b) ^ kSign; });
    detail::radix_sort(rows, [](const PairRow& r) { return static_cast<std::uint64_t>(r.a) ^ kSign; });
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    const std::size_t base = out.size();
    out.resize(base + 2 * (keys.size() + rows.size()));
    std::size_t i = 0, j = 0, o = base;
    while (i < keys.size() || j < rows.size()) {
        if (i + kAhead / 2 < keys.size()) detail::prefetch(&by_rank_[keys[i + kAhead / 2] & mask]);
        PairRow r{0, 0};
        if (i < keys.size()) r = PairRow{by_rank_[keys[i] >> bits], by_rank_[keys[i] & mask]};
        if (j < rows.size() && (i == keys.size() || rows[j] < r)) {
            r = rows[j++];
        } else {
            ++i;
        }
        out[o++] = r.a;
        out[o++] = r.b;
    }
}

std::size_t Broadphase::memory_bytes() const noexcept {
    return boxes_.capacity() * sizeof(Aabb) + ids_.capacity() * sizeof(std::int64_t) +
           (layers_.capacity() + masks_.capacity() + free_.capacity()) * sizeof(std::uint32_t) +
           map_.memory_bytes() + index_memory_bytes() + rank_.capacity() * sizeof(std::uint32_t) +
           by_rank_.capacity() * sizeof(std::int64_t);
}

void Broadphase::candidate_rank_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>&) const {
    candidate_pairs(out);
}

void Broadphase::candidate_rank_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                                const std::vector<char>& moved, std::vector<std::uint32_t>& out,
                                                std::vector<std::uint64_t>&) const {
    candidate_pairs_involving(slots, count, moved, out);
}

bool Broadphase::pairs(std::vector<std::int64_t>& out) const {
    std::vector<std::uint32_t> cand;
    std::vector<std::uint64_t> keys;
    // Packed rank keys straight from the structure (no rank look-up per pair here) while the
    // ranks are valid and no layer filter needs the slots.
    if (ranks_valid_ && !custom_layers_) candidate_rank_pairs(cand, keys); else candidate_pairs(cand);
    if (cand.size() / 2 + keys.size() > max_results_) return false;
    // candidate_pairs() reports exact overlaps already; only layers remain to check, and only
    // if some item ever had custom ones (skipping saves two random reads per pair).
    emit_pairs(cand, keys, custom_layers_, out);
    return true;
}

void Broadphase::candidate_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                           const std::vector<char>& moved,
                                           std::vector<std::uint32_t>& out) const {
    std::vector<std::uint32_t> cand;
    const std::unique_ptr<BatchSource> src = batch_source(count);
    for (std::size_t i = 0; i < count; ++i) {
        if (out.size() / 2 > max_results_) return;  // the caller reports the cap
        const std::uint32_t a = slots[i];
        cand.clear();
        if (src) src->candidates(boxes_[a], cand); else candidates(boxes_[a], cand);
        for (std::uint32_t b : cand) {
            if (b == a || (moved[b] && b < a)) continue;  // a pair inside the set once
            if (!overlaps(boxes_[a], boxes_[b])) continue;
            out.push_back(a);
            out.push_back(b);
        }
    }
}

bool Broadphase::pairs_involving(const std::int64_t* ids, std::size_t count,
                                 std::vector<std::int64_t>& out) const {
    std::vector<std::uint32_t> slots(count);
    for (std::size_t i = 0; i < count; ++i) {
        slots[i] = map_.find(ids[i]);
        if (slots[i] == detail::IdMap::kNone) return true;  // caller validates; never index with it
    }
    return pairs_of_slots(slots, out);
}

BroadphaseStatus Broadphase::checked_pairs_involving(const std::int64_t* ids, std::size_t count,
                                                     std::vector<std::int64_t>& out, bool* within_limit) const {
    *within_limit = true;
    std::vector<std::uint32_t> slots(count);
    const BroadphaseStatus s = find_present(ids, count, slots.data());
    if (s.ok()) *within_limit = pairs_of_slots(slots, out);
    return s;
}

bool Broadphase::pairs_of_slots(const std::vector<std::uint32_t>& slots, std::vector<std::int64_t>& out) const {
    const std::size_t count = slots.size();
    // A byte per slot marks the set. Zeroing a fresh one per call costs O(structure) (55 us
    // for one id among 1e6), so each thread keeps its marks between calls (readers may run
    // concurrently, so not a member) and clears only the bytes it set, also on an exception.
    // Above kMaxKeptMarks slots a call uses its own, so no thread holds more than 16 MiB.
    constexpr std::size_t kMaxKeptMarks = std::size_t{1} << 24;
    thread_local std::vector<char> kept;
    std::vector<char> own;
    std::vector<char>& in_set = ids_.size() <= kMaxKeptMarks ? kept : own;
    if (in_set.size() < ids_.size()) in_set.resize(ids_.size(), 0);  // may throw: nothing marked yet
    struct Unmark {
        std::vector<char>& marks;
        const std::vector<std::uint32_t>& slots;
        ~Unmark() {
            for (const std::uint32_t s : slots) marks[s] = 0;
        }
    } unmark{in_set, slots};
    for (const std::uint32_t s : slots) in_set[s] = 1;
    std::vector<std::uint32_t> cand;
    std::vector<std::uint64_t> keys;
    if (ranks_valid_ && !custom_layers_) {
        candidate_rank_pairs_involving(slots.data(), count, in_set, cand, keys);
    } else {
        candidate_pairs_involving(slots.data(), count, in_set, cand);
    }
    if (cand.size() / 2 + keys.size() > max_results_) return false;
    emit_pairs(cand, keys, custom_layers_, out);  // as pairs(): default layers always pair
    return true;
}

bool Broadphase::pairs_with(const Broadphase& other, std::vector<std::int64_t>& out) const {
    std::vector<PairRow> rows;
    std::vector<std::uint32_t> cand;
    const std::unique_ptr<BatchSource> src = other.batch_source(count_);
    for (std::uint32_t a = 0; a < ids_.size(); ++a) {
        if (!alive(a)) continue;
        cand.clear();
        if (src) src->candidates(boxes_[a], cand); else other.candidates(boxes_[a], cand);
        for (std::uint32_t b : cand) {
            if (!overlaps(boxes_[a], other.boxes_[b])) continue;
            if ((layers_[a] & other.masks_[b]) == 0 || (other.layers_[b] & masks_[a]) == 0) continue;
            rows.push_back(PairRow{ids_[a], other.ids_[b]});
            if (rows.size() > max_results_) return false;
        }
    }
    flush_rows(rows, out);
    return true;
}

CsrResult Broadphase::query_aabb(const double* lo, const double* hi, std::size_t count,
                                 std::uint32_t mask) const {
    CsrResult r;
    r.offsets.reserve(count + 1);
    r.offsets.push_back(0);
    std::vector<std::uint32_t> cand;
    const std::unique_ptr<BatchSource> src = batch_source(count);
    for (std::size_t q = 0; q < count; ++q) {
        const Aabb qb = load_box(lo, hi, q);
        cand.clear();
        if (src) src->candidates(qb, cand); else candidates(qb, cand);
        const std::size_t start = r.ids.size();
        for (std::uint32_t s : cand) {
            if ((layers_[s] & mask) && overlaps(boxes_[s], qb)) r.ids.push_back(ids_[s]);
        }
        if (r.ids.size() > max_results_) return over_limit_result();
        std::sort(r.ids.begin() + static_cast<std::ptrdiff_t>(start), r.ids.end());
        r.offsets.push_back(static_cast<std::int64_t>(r.ids.size()));
    }
    return r;
}

CsrResult Broadphase::query_sphere(const double* centers, const double* radii, std::size_t count,
                                   std::uint32_t mask) const {
    CsrResult r;
    r.offsets.reserve(count + 1);
    r.offsets.push_back(0);
    std::vector<std::uint32_t> cand;
    const std::unique_ptr<BatchSource> src = batch_source(count);
    for (std::size_t q = 0; q < count; ++q) {
        const Vec3 c = load_vec3(centers, q);
        const double rad = radii[q], r2 = rad * rad;
        cand.clear();
        const Aabb qb{{c.x - rad, c.y - rad, c.z - rad}, {c.x + rad, c.y + rad, c.z + rad}};
        if (src) src->candidates(qb, cand); else candidates(qb, cand);
        const std::size_t start = r.ids.size();
        for (std::uint32_t s : cand) {
            if ((layers_[s] & mask) && dist2(boxes_[s], c) <= r2) r.ids.push_back(ids_[s]);
        }
        if (r.ids.size() > max_results_) return over_limit_result();
        std::sort(r.ids.begin() + static_cast<std::ptrdiff_t>(start), r.ids.end());
        r.offsets.push_back(static_cast<std::int64_t>(r.ids.size()));
    }
    return r;
}

void Broadphase::ray_candidates(const Vec3& o, const Vec3& d, double max_t,
                                std::vector<std::uint32_t>& out) const {
    const Vec3 e{o.x + d.x * max_t, o.y + d.y * max_t, o.z + d.z * max_t};
    // Widen by one ulp-scale step: the endpoint above is rounded, the slab test is not.
    const double pad = 1e-9 * (1.0 + max_t);
    candidates(Aabb{{std::min(o.x, e.x) - pad, std::min(o.y, e.y) - pad, std::min(o.z, e.z) - pad},
                    {std::max(o.x, e.x) + pad, std::max(o.y, e.y) + pad, std::max(o.z, e.z) + pad}},
               out);
}

CsrResult Broadphase::raycast(const double* origins, const double* dirs, const double* max_t,
                              std::size_t count, std::uint32_t mask) const {
    CsrResult r;
    r.offsets.reserve(count + 1);
    r.offsets.push_back(0);
    std::vector<std::uint32_t> cand;
    for (std::size_t q = 0; q < count; ++q) {
        const Vec3 o = load_vec3(origins, q), d = unit(load_vec3(dirs, q));
        cand.clear();
        ray_candidates(o, d, max_t[q], cand);
        const std::size_t start = r.ids.size();
        for (std::uint32_t s : cand) {
            if ((layers_[s] & mask) && ray_hit(boxes_[s], o, d, max_t[q]) >= 0.0)
                r.ids.push_back(ids_[s]);
        }
        if (r.ids.size() > max_results_) return over_limit_result();
        std::sort(r.ids.begin() + static_cast<std::ptrdiff_t>(start), r.ids.end());
        r.offsets.push_back(static_cast<std::int64_t>(r.ids.size()));
    }
    return r;
}

void Broadphase::raycast_first(const double* origins, const double* dirs, const double* max_t,
                               std::size_t count, RayHit* out_hits, std::uint32_t mask) const {
    std::vector<std::uint32_t> cand;
    for (std::size_t q = 0; q < count; ++q) {
        const Vec3 o = load_vec3(origins, q), d = unit(load_vec3(dirs, q));
        cand.clear();
        ray_candidates(o, d, max_t[q], cand);
        RayHit best{-1, std::numeric_limits<double>::infinity()};
        for (std::uint32_t s : cand) {
            if (!(layers_[s] & mask)) continue;
            const double t = ray_hit(boxes_[s], o, d, max_t[q]);
            if (t < 0.0) continue;
            if (t < best.t || (t == best.t && ids_[s] < best.id)) best = RayHit{ids_[s], t};
        }
        out_hits[q] = best;
    }
}

}  // namespace fbsim
