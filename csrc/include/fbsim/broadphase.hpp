// SPDX-License-Identifier: MIT
// fbsim: broad phase. Three persistent, incremental structures over axis-aligned boxes keyed by
// caller-chosen int64 ids, with one interface (class Broadphase):
//   SpatialHash    hierarchical loose grid (cells double in size per level);
//   SweepAndPrune  endpoints sorted along one axis, kept sorted by insertion sort between ticks;
//   DynamicTree    bounding-volume hierarchy of fattened boxes with surface-area rotations.
// Every query is exact: the structures only produce candidates, and the shared base class tests
// each candidate against the stored (double precision, un-fattened) box. Boxes that touch overlap.
//
// Thread-safety (all classes): const member functions never mutate shared state, so any number
// of threads may query concurrently; insert/update/remove need exclusive access (single writer).
// Nothing here throws for bad data: mutations validate the whole batch first and return a
// BroadphaseStatus; on error the structure is unchanged. Allocation failure (std::bad_alloc) is
// the only exception that can escape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fbsim/geometry.hpp"
#include "fbsim/limits.hpp"
#include "fbsim/status.hpp"

namespace fbsim {

/// What was wrong with a broad-phase batch (in addition to Status' finiteness/range codes).
enum class BroadphaseError : std::uint8_t {
    kOk = 0,
    kNotFinite,     ///< lo or hi has NaN/inf (component in `component`, array in `array`).
    kOutOfRange,    ///< |coordinate| > kMaxCoordinate.
    kInverted,      ///< lo > hi on axis `component`.
    kDuplicateId,   ///< Id repeated within the batch, or (insert) already present.
    kUnknownId,     ///< update/remove of an id that is not present.
    kReservedId,    ///< insert of INT64_MIN, which marks free slots internally.
    kTooManyItems,  ///< insert past max_items(); `index` is the first row that does not fit.
};

/// Most boxes a broad phase holds: slots are 32-bit and 0xFFFFFFFF marks an empty id-map
/// bucket, so 2^32 - 2 (~4.3e9 boxes, ~200 GB of state: memory runs out first on today's
/// servers, but the check makes the failure a clear error rather than a wrapped slot index).
inline constexpr std::size_t kMaxBroadphaseItems = 0xFFFFFFFEu;

/// Result of validating a batch: the first bad row (`index`) and, for box errors, the axis
/// (`component`) and which array (`array`: 0 = lo, 1 = hi).
struct BroadphaseStatus {
    BroadphaseError code = BroadphaseError::kOk;  ///< kOk when the batch was applied.
    std::size_t index = 0;                        ///< First offending row.
    std::uint8_t component = 0;                   ///< Axis of the bad value (box errors).
    std::uint8_t array = 0;                       ///< 0 lo, 1 hi.
    double value = 0.0;                           ///< Offending value, for messages.
    std::int64_t id = 0;                          ///< Offending id (id errors).
    /// True when no error was found.
    constexpr bool ok() const noexcept { return code == BroadphaseError::kOk; }
};

/// Short English description of a broad-phase error code. Static string, never null.
const char* broadphase_error_message(BroadphaseError code) noexcept;

/// Compressed-sparse-row query result: the answers of query q are
/// ids[offsets[q] .. offsets[q + 1]), sorted ascending. offsets has Q + 1 entries.
struct CsrResult {
    std::vector<std::int64_t> offsets;  ///< Q + 1 row starts, offsets[0] == 0.
    std::vector<std::int64_t> ids;      ///< Concatenated, per-query sorted ids.
    /// True when the result would have held more than the structure's max_results() ids:
    /// then offsets and ids are empty (nothing partial is returned).
    bool over_limit = false;
};

/// One ray's first hit: `id` (or -1 when nothing is hit) and the distance `t` along the
/// normalised direction (infinity when nothing is hit).
struct RayHit {
    std::int64_t id = -1;  ///< Id of the closest box hit; ties broken by the smaller id.
    double t = 0.0;        ///< Distance from the origin, studs; 0 when the origin is inside.
};

/// Layer bits every item gets unless told otherwise, and the default "collides with" mask.
inline constexpr std::uint32_t kDefaultLayer = 1u;
/// Default mask: collide with every layer.
inline constexpr std::uint32_t kAllLayers = 0xFFFFFFFFu;

/// A SIMD width of SpatialHash's kernels: its all-pairs lane pass has scalar, SSE2 and AVX2
/// variants; the window test of pairs(ids) has AVX2 and SSE2 ones (scalar only in builds with
/// FBSIM_NO_SIMD, where every kernel is scalar). kAuto, as an override, means "none".
enum class SimdLevel : int { kAuto = 0, kScalar = 1, kSse2 = 2, kAvx2 = 3 };

/// The width the kernels run: the widest this build and CPU support (AVX2 and POPCNT checked
/// at run time, once: the library is built for the x86-64 baseline and compiles its AVX2
/// kernels per function), lowered by force_simd_level() if set, else by the environment
/// variable FBSIM_SIMD=scalar|sse2 (read once, at the first call; other values leave the
/// widest). Every width gives the same answers. Thread-safe, O(1).
SimdLevel simd_level() noexcept;

/// Overrides the width process-wide (kAuto: back to the FBSIM_SIMD / CPU choice), for tests or
/// as a field switch; a width the build or CPU lacks falls back to the next narrower. Takes effect at the next
/// kernel call: set it while no broad-phase call runs. Returns the previous override.
SimdLevel force_simd_level(SimdLevel level) noexcept;

namespace detail {

/// Map from int64 id to a uint32 slot. Ids in [0, dense range) live in a direct table (4 bytes
/// per id of the range): servers mostly number their items 0..n, and a look-up is then one
/// read instead of a hash probe that misses the cache. Other ids (negative, or past the
/// range) live in an open-addressing hash (linear probing, backward-shift deletion; 16 bytes
/// per bucket, load factor <= 0.7). The range only grows, geometrically, at reserve(), and
/// never past twice the item count at that time (so at most 8 bytes per item when it grew,
/// below the hash's 23+ bytes per entry; it does not shrink when items are removed, like the
/// hash's buckets). Not thread-safe for writers; const lookups are safe for
/// concurrent readers.
class IdMap {
  public:
    /// Slot of `id`, or kNone. O(1); no hashing for ids in the dense range.
    std::uint32_t find(std::int64_t id) const noexcept {
        if (static_cast<std::uint64_t>(id) < dense_.size()) return dense_[static_cast<std::size_t>(id)];
        return hashed_ == 0 ? kNone : find_hashed(id);
    }
    /// Inserts id -> slot; id must be absent. Does not allocate for ids covered by the last
    /// reserve(ids, count); may allocate (grow the hash) otherwise.
    void insert(std::int64_t id, std::uint32_t slot);
    /// Removes id (must be present). Never shrinks the dense range.
    void erase(std::int64_t id) noexcept;
    /// Makes room for the batch `ids[count]` (absent, distinct) so that inserting them cannot
    /// allocate: may widen the dense range (moving hashed ids into it) and grows the hash for
    /// the rest. O(count), plus O(range + buckets) when either grows (amortised O(1) per id).
    /// Strong guarantee: on std::bad_alloc nothing changed.
    void reserve(const std::int64_t* ids, std::size_t count);
    /// Bytes held by the table.
    std::size_t memory_bytes() const noexcept {
        return buckets_.capacity() * sizeof(Bucket) + dense_.capacity() * sizeof(std::uint32_t);
    }
    /// Ids covered by the direct table: [0, dense_range()).
    std::size_t dense_range() const noexcept { return dense_.size(); }
    /// Marker for "absent".
    static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  private:
    // 12 bytes, packed to 4-byte alignment: padded to 16 the hash of a million random ids took
    // 33.5 of the 200 bytes per item the broad phase may use (2^21 buckets), now 25.
#pragma pack(push, 4)
    struct Bucket {
        std::int64_t key;
        std::uint32_t slot;  // kNone when the bucket is empty
    };
#pragma pack(pop)
    static_assert(sizeof(Bucket) == 12, "IdMap::Bucket packs to 12 bytes");
    std::uint32_t find_hashed(std::int64_t id) const noexcept;
    std::size_t home(std::int64_t id) const noexcept;
    // The hash rebuilt with `buckets` buckets, without the ids below `dense` (moved to the table).
    std::vector<Bucket> rebuilt(std::size_t buckets, std::size_t dense) const;
    std::vector<std::uint32_t> dense_;  // by id, for ids < dense_.size(); kNone when absent
    std::vector<Bucket> buckets_;
    std::size_t hashed_ = 0;      // entries in buckets_
    std::size_t dense_used_ = 0;  // entries in dense_
};

}  // namespace detail

/// The interface and shared state of the three broad phases: the exact boxes, ids, layers and
/// the id -> slot map. A slot is a dense internal index reused after removal (free list).
/// Subclasses index slots spatially and report candidates; this class does the exact tests,
/// the layer filtering and the deterministic output ordering.
class Broadphase {
  public:
    /// Frees every buffer.
    virtual ~Broadphase();
    /// Not copyable (large, and owned by one server system).
    Broadphase(const Broadphase&) = delete;
    /// Not copyable.
    Broadphase& operator=(const Broadphase&) = delete;

    /// Checks an insert batch without changing anything: lo/hi (count x 3, row-major) finite,
    /// within kMaxCoordinate, lo <= hi; ids unique within the batch, not yet present, and not
    /// INT64_MIN (reserved).
    /// O(count) expected, allocates a scratch id set.
    BroadphaseStatus validate_insert(const std::int64_t* ids, const double* lo, const double* hi,
                                     std::size_t count) const;
    /// As validate_insert, but ids must all be present (and unique within the batch).
    BroadphaseStatus validate_update(const std::int64_t* ids, const double* lo, const double* hi,
                                     std::size_t count) const;
    /// Ids unique within the batch and all present.
    BroadphaseStatus validate_remove(const std::int64_t* ids, std::size_t count) const;

    /// Adds `count` boxes. `layers`/`masks` may be null (kDefaultLayer / kAllLayers). Two items
    /// a, b pair only if (layer_a & mask_b) and (layer_b & mask_a) are both non-zero.
    /// Validates the whole batch first: on error nothing changes. Amortised O(count log n).
    BroadphaseStatus insert(const std::int64_t* ids, const double* lo, const double* hi,
                            std::size_t count, const std::uint32_t* layers = nullptr,
                            const std::uint32_t* masks = nullptr);
    /// Moves existing boxes to new bounds (layers unchanged). Atomic like insert.
    BroadphaseStatus update(const std::int64_t* ids, const double* lo, const double* hi,
                            std::size_t count);
    /// Removes boxes by id. Atomic like insert.
    BroadphaseStatus remove(const std::int64_t* ids, std::size_t count);

    /// Number of boxes stored.
    std::size_t size() const noexcept { return count_; }
    /// True when `id` is stored. O(1) expected.
    bool contains(std::int64_t id) const noexcept { return map_.find(id) != detail::IdMap::kNone; }
    /// Approximate heap bytes held (capacities of every buffer).
    std::size_t memory_bytes() const noexcept;

    /// Largest result one query call may produce (ids of a CSR result, rows of a pairs call);
    /// kMaxQueryResults by default. Past it the call returns nothing and says so; memory stays
    /// bounded by about max_results() results (+ one query's candidates). Setting it is a
    /// mutation (exclusive access).
    void set_max_results(std::size_t limit) noexcept { max_results_ = limit; }
    /// The current result-size cap.
    std::size_t max_results() const noexcept { return max_results_; }

    /// Lowers the item limit (insert past it fails with kTooManyItems, nothing changed):
    /// for a server that wants a smaller bound, and for tests of the limit. Values above
    /// kMaxBroadphaseItems are clamped to it; a limit below size() only blocks inserts.
    /// Setting it is a mutation (exclusive access).
    void set_max_items(std::size_t limit) noexcept {
        max_items_ = limit < kMaxBroadphaseItems ? limit : kMaxBroadphaseItems;
    }
    /// The current item limit (kMaxBroadphaseItems by default). O(1).
    std::size_t max_items() const noexcept { return max_items_; }

    /// Every overlapping pair once, as (smaller id, larger id), rows sorted ascending,
    /// appended to `out` (2 entries per pair). Layer masks apply. Returns false, appending
    /// nothing, when more than max_results() pairs overlap (counted before layer masks).
    bool pairs(std::vector<std::int64_t>& out) const;
    /// Pairs (id in this, id in `other`) of overlapping boxes across two structures (of any
    /// kind), rows sorted. Layer masks apply. `other` may be *this (then an item pairs with
    /// itself, since its box overlaps itself).
    /// Returns false (nothing appended) past max_results() pairs.
    bool pairs_with(const Broadphase& other, std::vector<std::int64_t>& out) const;
    /// Overlapping pairs that involve at least one of `ids` (which must be present: the caller
    /// validates with validate_remove). Same order and format as pairs(). For "what moved".
    /// Returns false (nothing appended) past max_results() pairs.
    bool pairs_involving(const std::int64_t* ids, std::size_t count,
                         std::vector<std::int64_t>& out) const;
    /// validate_remove(ids, count) and, when it passes, pairs_involving() with the slots it
    /// looked up (one id look-up each instead of two: the per-tick "pairs of what moved").
    /// Returns the validation status (nothing appended unless ok); `*within_limit` is false
    /// when more than max_results() pairs overlap (then nothing is appended either).
    BroadphaseStatus checked_pairs_involving(const std::int64_t* ids, std::size_t count,
                                             std::vector<std::int64_t>& out, bool* within_limit) const;

    /// Ids of boxes overlapping each query box [lo[q], hi[q]] (touching counts) whose layer
    /// has a bit in `mask`. Inputs must be valid (finite, lo <= hi). O(Q * (log n + k)) typical.
    CsrResult query_aabb(const double* lo, const double* hi, std::size_t count,
                         std::uint32_t mask = kAllLayers) const;
    /// Ids of boxes within distance radii[q] of centers[q] (squared distance <= r^2).
    CsrResult query_sphere(const double* centers, const double* radii, std::size_t count,
                           std::uint32_t mask = kAllLayers) const;
    /// Ids of boxes hit by the segment origins[q] + t * normalise(dirs[q]), 0 <= t <= max_t[q]
    /// (slab test; boxes containing the origin are hit at t = 0). dirs must be non-zero.
    CsrResult raycast(const double* origins, const double* dirs, const double* max_t,
                      std::size_t count, std::uint32_t mask = kAllLayers) const;
    /// Closest hit per ray (smallest t, then smallest id) into out_hits[count].
    void raycast_first(const double* origins, const double* dirs, const double* max_t,
                       std::size_t count, RayHit* out_hits,
                       std::uint32_t mask = kAllLayers) const;

    /// Debug check of internal invariants (structure bounds contain the boxes, counts agree).
    /// O(n). Returns false on corruption; used by tests.
    virtual bool check_invariants() const = 0;

  protected:
    /// Only the three structures construct the base.
    Broadphase() = default;

    /// Candidate slots whose box may overlap `box` (a superset; each slot at most once).
    virtual void candidates(const Aabb& box, std::vector<std::uint32_t>& out) const = 0;
    /// A candidate search prepared once for a batch of box queries (see batch_source()).
    class BatchSource {
      public:
        /// Frees the index.
        virtual ~BatchSource() = default;
        /// As Broadphase::candidates(): a superset of the slots overlapping `box`, each once.
        virtual void candidates(const Aabb& box, std::vector<std::uint32_t>& out) const = 0;
    };
    /// An index worth building for a batch of `queries` box queries, or null (the default) to
    /// call candidates() per query. Built and freed within one const call, so concurrent
    /// readers stay safe.
    virtual std::unique_ptr<BatchSource> batch_source(std::size_t queries) const;
    /// Candidate slots along the segment from `origin` by `dir` (unit) up to `max_t`.
    /// Default: candidates() of the segment's bounding box.
    virtual void ray_candidates(const Vec3& origin, const Vec3& dir, double max_t,
                                std::vector<std::uint32_t>& out) const;
    /// Slot pairs whose exact boxes overlap (the structure tests them; touching counts), each
    /// unordered pair exactly once, a != b, appended as a, b. Layers are applied by the caller.
    /// May stop as soon as more than max_results() pairs are appended (the caller then
    /// reports the limit), so that the candidate list itself stays bounded.
    virtual void candidate_pairs(std::vector<std::uint32_t>& out) const = 0;
    /// Slot pairs (a, b) whose exact boxes overlap with a among `slots` (present, distinct)
    /// and b any stored box other than a, each unordered pair once (`moved[s]` is non-zero
    /// exactly for s in `slots`), appended as a, b. Layers are applied by the caller.
    /// Default: one candidates() (or batch_source()) query per slot.
    virtual void candidate_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                           const std::vector<char>& moved,
                                           std::vector<std::uint32_t>& out) const;
    /// As candidate_pairs(), except that a pair whose two slots both have a rank (see
    /// rank_of()) may go to `keys` instead, packed as (smaller rank << rank_bits()) | larger
    /// rank, so the caller sorts it without looking the ranks up. Called only while the ranks
    /// are valid and no item has custom layers; stops like candidate_pairs() past
    /// max_results() pairs in both lists together. Default: candidate_pairs(out).
    virtual void candidate_rank_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>& keys) const;
    /// As candidate_pairs_involving(), with the packing of candidate_rank_pairs().
    /// Default: candidate_pairs_involving(slots, count, moved, out).
    virtual void candidate_rank_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                                const std::vector<char>& moved,
                                                std::vector<std::uint32_t>& out,
                                                std::vector<std::uint64_t>& keys) const;
    /// Index `count` new slots; their boxes are already stored. Called after validation.
    virtual void on_insert(const std::uint32_t* slots, std::size_t count) = 0;
    /// Re-index slots whose boxes were just replaced.
    virtual void on_update(const std::uint32_t* slots, std::size_t count) = 0;
    /// Drop slots from the index; their boxes are still readable during the call.
    virtual void on_remove(const std::uint32_t* slots, std::size_t count) = 0;
    /// Heap bytes held by the subclass.
    virtual std::size_t index_memory_bytes() const noexcept = 0;

    /// Keep a cache of each id's rank among the stored ids, so pairs() packs a pair into one
    /// uint64 of ranks and sorts that instead of (id, id) rows. The subclass refreshes it with
    /// refresh_ranks() when it does O(n) work anyway (a merge of its index); in between,
    /// insert() marks its new slots unranked (O(count)) and remove() leaves stale ranks of
    /// absent ids, which no pair refers to; pairs() sorts pairs with an unranked end as id
    /// rows and merges the two sorted streams.
    void keep_id_ranks() noexcept { ranks_wanted_ = true; }
    /// Recomputes every stored id's rank: O(n) radix sort. A no-op unless keep_id_ranks().
    void rebuild_ranks();
    /// rebuild_ranks() only when they are invalid or more than size() / 8 ids were inserted
    /// since the last rebuild: a subclass calls it at each of its merges, so the O(n) sort
    /// is paid once per ~n / 8 inserts, and pairs() sorts at most that many ids as rows.
    /// Returns true when it rebuilt them (every rank may have changed).
    bool refresh_ranks();
    /// No rank: inserted since the last rebuild, or the ranks are not valid.
    static constexpr std::uint32_t kNoRank = 0xFFFFFFFFu;
    /// The slot's id rank among the stored ids, or kNoRank. O(1).
    std::uint32_t rank_of(std::uint32_t slot) const noexcept { return ranks_valid_ ? rank_[slot] : kNoRank; }
    /// Bits of the larger rank in a packed pair key (candidate_rank_pairs()).
    int rank_bits() const noexcept {
        int bits = 1;
        while ((std::uint64_t{1} << bits) < by_rank_.size()) ++bits;
        return bits;
    }
    /// Exact box of a slot.
    const Aabb& box(std::uint32_t slot) const noexcept { return boxes_[slot]; }
    /// Whether a slot holds an item (false on the free list).
    bool alive(std::uint32_t slot) const noexcept { return ids_[slot] != kFreeSlot; }
    /// One past the largest slot ever used.
    std::size_t slot_capacity() const noexcept { return ids_.size(); }

  private:
    static constexpr std::int64_t kFreeSlot = INT64_MIN;
    BroadphaseStatus check_boxes(const double* lo, const double* hi, std::size_t count) const;
    // pairs_involving() of present, distinct slots.
    bool pairs_of_slots(const std::vector<std::uint32_t>& slots, std::vector<std::int64_t>& out) const;
    // validate_remove(), also writing each id's slot to out_slots[count] when it succeeds.
    BroadphaseStatus find_present(const std::int64_t* ids, std::size_t count, std::uint32_t* out_slots) const;
    bool layers_pair(std::uint32_t a, std::uint32_t b) const noexcept {
        return (layers_[a] & masks_[b]) != 0 && (layers_[b] & masks_[a]) != 0;
    }
    std::vector<Aabb> boxes_;            // by slot
    std::vector<std::int64_t> ids_;      // by slot; kFreeSlot when free
    std::vector<std::uint32_t> layers_;  // by slot
    std::vector<std::uint32_t> masks_;   // by slot
    std::vector<std::uint32_t> free_;    // free slots, reused LIFO
    detail::IdMap map_;
    void emit_pairs(const std::vector<std::uint32_t>& cand, std::vector<std::uint64_t>& keys, bool check_layers,
                    std::vector<std::int64_t>& out) const;
    std::vector<std::uint32_t> rank_;    // by slot (kNoRank: inserted since), when ranks_valid_
    std::vector<std::int64_t> by_rank_;  // stored ids ascending, when ranks_valid_
    bool ranks_wanted_ = false;
    bool ranks_valid_ = false;  // false until rebuilt (or if a rebuild ran out of memory)
    std::size_t unranked_ = 0;  // inserts since the last rebuild
    std::size_t count_ = 0;
    std::size_t max_results_ = kMaxQueryResults;
    std::size_t max_items_ = kMaxBroadphaseItems;
    bool custom_layers_ = false;  // some item has non-default layers/masks: filter pairs
};

/// Hierarchical loose grid. Level L has cubic cells of side cell_size * 2^L; a box lives in
/// exactly one cell: the cell containing its min corner, at the smallest level whose cell side
/// is >= the box's largest side. So a box overlaps only its own cell and the next cell up on
/// each axis, and a 1000-stud baseplate sits in one coarse cell rather than a million fine ones.
/// The cells are not hashed: the boxes are kept in one persistent index sorted by cell key
/// (level, z, y, x) and min x, with outward-rounded float bounds in contiguous arrays, so a grid
/// column is one x-sorted run and pairs() is a sweep with no per-call sort.
///
/// Writes are log-structured: a box that keeps its cell and x order is rewritten in place
/// (O(1)); inserts and cell-changing updates go to a small side buffer sorted the same way
/// (O(buffer) memmove, at most buffer_cap() = min(4096, max(64, n / 16)) entries), removes
/// leave tombstones in the main index (O(1)) or leave the buffer. Every query sees the main
/// index minus tombstones plus the buffer. When a write would overfill the buffer (or the
/// tombstones pass max(buffer_cap(), n / 8)), one merge drops the tombstones and merges the
/// buffer in: O(n + m log n), ~10-20 ms at 1e6 boxes on a 2-core server (the worst single
/// write; measured by benchmarks/compare/broadphase.py), i.e. a few us amortised per write.
/// Batches larger than the buffer go straight to the merge. pairs() sweeps the main index and
/// queries the buffer's boxes (O(buffer * (log n + k)) extra while it is not empty).
/// Memory about 162 bytes per box at 1e6 boxes (benchmarks/compare/broadphase.py).
class SpatialHash final : public Broadphase {
  public:
    /// `cell_size` > 0 is the finest cell side in studs (clamped to [kMinCellSize, 1e6]);
    /// 0 picks it automatically from the first non-empty insert: 1.01 x the largest box side
    /// that is at most 4x the median side (so a few baseplates do not inflate the cells).
    /// An automatic size is chosen again by the same rule, from all stored boxes, at a merge
    /// of the side buffer when it is off by more than kRechooseRatio (a baseplate inserted
    /// alone, then thousands of bricks): one O(n log n) rekey of the index, and the next
    /// only once n / 2 boxes have been written since (inserted, updated or removed), so
    /// rekeys cost O(log n) amortised per write whatever the writes are.
    explicit SpatialHash(double cell_size = 0.0);
    /// Frees the index.
    ~SpatialHash() override;
    /// Finest cell side in use (0 until chosen automatically; an automatic size may change
    /// at merges, see the constructor).
    double cell_size() const noexcept { return cell_size_; }
    /// How far (either way) the automatic rule's size may drift from the one in use before a
    /// merge re-chooses it (checked on a sample of 256 boxes, then on all of them).
    static constexpr double kRechooseRatio = 8.0;
    /// Smallest accepted cell side: keeps cell indices of +-kMaxCoordinate within int32.
    static constexpr double kMinCellSize = 1e-3;
    /// Largest accepted set_buffer_cap().
    static constexpr std::size_t kMaxBufferCap = std::size_t{1} << 20;
    /// Fixes the side buffer's cap (clamped to kMaxBufferCap; 0: every write merges at once,
    /// the behaviour of an index without a buffer). Merges right away if the buffer or the
    /// tombstones are past the new cap. A tuning knob and a test hook. Mutation (exclusive).
    void set_buffer_cap(std::size_t cap);
    /// Back to the automatic cap min(4096, max(64, n / 16)) (takes effect at the next write).
    void set_auto_buffer_cap() noexcept;
    /// The side buffer's current cap, in boxes. O(1).
    std::size_t buffer_cap() const noexcept;
    /// Boxes currently in the side buffer (not yet merged). O(1).
    std::size_t buffered() const noexcept;
    /// Tombstones currently in the main index (removed or moved-out boxes not yet dropped).
    std::size_t tombstones() const noexcept;
    /// Both runs are sorted, hold every stored box once (main index or buffer) with its current
    /// cell and float bounds, tombstones only in the main index and counted, positions and
    /// level counts agree. O(n).
    bool check_invariants() const override;

  protected:
    /// Per occupied level, the grid columns of cells [cell(lo) - 1, cell(hi)] (one binary
    /// search each), or a scan of the level when that is more cells than it has boxes.
    /// Float-prefiltered; the side buffer the same way. O(levels * columns * log n + k).
    void candidates(const Aabb& box, std::vector<std::uint32_t>& out) const override;
    /// The cells swept by the segment, marched one cell side at a time per level.
    void ray_candidates(const Vec3& origin, const Vec3& dir, double max_t,
                        std::vector<std::uint32_t>& out) const override;
    /// Same level: sweep along x of each grid column against itself and its 4 forward
    /// neighbour columns, float prefilter, exact test only when the floats cannot decide;
    /// across levels: coarser cells per box. The side buffer likewise: only the finer box of a
    /// pair asks (a buffered box queries the main index from its own level up and the buffer;
    /// main boxes query the buffer's coarser levels), so a buffered baseplate never scans a
    /// fine level. The most populated level, while no cell holds more than 32 entries, goes
    /// cell by cell instead (two cells at a time along x, through a per-call cell directory).
    /// A level with a cell of more than 32 entries is re-gridded for the call instead: swept
    /// along the axis where its min corners spread most per box width, in columns of a grid on
    /// the other two axes sized to all but its 64 widest boxes (those tested against the
    /// level), so boxes sharing one min x (a wall of bricks) do not cost (count)^2.
    /// O(n + buffer * log n + candidates), plus O(k log k) per crowded level of k boxes.
    void candidate_pairs(std::vector<std::uint32_t>& out) const override;
    /// The moved boxes in index order against the cells [x - 1, x + 1] of their 9 neighbour
    /// columns, found by forward-only galloping cursors (or, for a batch of >= n / 16, a
    /// per-call cell directory); buffered moved boxes query both runs. A neighbour slice of
    /// more than 96 entries (crowded cells) is tested whole until such slices have cost 8
    /// record tests per box of the level; then the level is re-gridded as in
    /// candidate_pairs() and its remaining moved boxes query 3 x 3 columns of that grid within
    /// the window of min corners that can reach them. Pairs of two ranked boxes are packed
    /// from the rank lane of the index records. O(m log m + cells touched).
    void candidate_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                   const std::vector<char>& moved,
                                   std::vector<std::uint32_t>& out) const override;
    /// candidate_pairs(), with the pairs of two ranked boxes packed from the rank each index
    /// record carries (no rank look-up per pair).
    void candidate_rank_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>& keys) const override;
    /// candidate_pairs_involving(), packed likewise.
    void candidate_rank_pairs_involving(const std::uint32_t* slots, std::size_t count,
                                        const std::vector<char>& moved, std::vector<std::uint32_t>& out,
                                        std::vector<std::uint64_t>& keys) const override;
    /// For a large batch (queries >= size / 16) when one level holds every box in a compact
    /// block of cells (at most 4 per box): a dense directory cell -> index position, so the
    /// cells of one (z, y) row of a query are one contiguous slice. O(n) to build, freed after
    /// the batch.
    std::unique_ptr<BatchSource> batch_source(std::size_t queries) const override;
    /// Into the side buffer, O(buffer + count log count), or, when it would overfill, one merge
    /// O(n + (buffer + count) log n) that also rebuilds the id ranks. Chooses the automatic
    /// cell size on first use.
    void on_insert(const std::uint32_t* slots, std::size_t count) override;
    /// In place for main-index boxes that keep their cell and x order; the others leave a
    /// tombstone (or leave the buffer) and go to the buffer as on_insert().
    void on_update(const std::uint32_t* slots, std::size_t count) override;
    /// Tombstones in the main index (O(1) each), removal from the buffer (O(buffer)); a merge
    /// when the tombstones pass their cap.
    void on_remove(const std::uint32_t* slots, std::size_t count) override;
    /// Both runs plus slot -> position.
    std::size_t index_memory_bytes() const noexcept override;

  private:
    class CellDirectory;
    // A dense directory of one level's cells (level < 0: the only occupied level, null when
    // boxes span levels), or null when that level's boxes fill its cells too sparsely.
    std::unique_ptr<CellDirectory> cell_directory(int level = -1) const;
    // candidate_pairs() and candidate_rank_pairs() (keys null: slots only).
    void find_pairs(std::vector<std::uint32_t>& out, std::vector<std::uint64_t>* keys) const;
    void find_pairs_involving(const std::uint32_t* slots, std::size_t count, const std::vector<char>& moved,
                              std::vector<std::uint32_t>& out, std::vector<std::uint64_t>* keys) const;
    // refresh_ranks(), then, if it rebuilt them, every index record's rank lane. O(n) then.
    void refresh_record_ranks();
    // After a merge, automatic cell size only: when the stored boxes' automatic size is off by
    // more than kRechooseRatio, adopt it and rekey the index. O(1) (a sample) when it fits.
    void rechoose_cell_size() noexcept;
    struct Impl;
    std::unique_ptr<Impl> impl_;
    double cell_size_ = 0.0;
};

/// Sweep and prune along one axis: the boxes' [lo, hi] intervals on `axis` kept sorted by lo.
/// Updates re-sort by insertion sort, which is O(n + moves) when boxes move a little per tick
/// (temporal coherence). Best when the world is spread along the axis (long corridors, flat
/// worlds viewed along x) or when most queries are thin slabs; in a dense uniform cube a single
/// axis prunes poorly. Memory about 126 bytes per box at 1e6 boxes.
class SweepAndPrune final : public Broadphase {
  public:
    /// `axis` in {0, 1, 2} (x, y, z); other values are clamped to 0.
    explicit SweepAndPrune(int axis = 0);
    /// Frees the arrays.
    ~SweepAndPrune() override;
    /// The sweep axis.
    int axis() const noexcept { return axis_; }
    /// Sorted by lo, positions consistent, max_extent_ an upper bound. O(n).
    bool check_invariants() const override;

  protected:
    /// Binary search for lo >= q.lo - max extent, scan while lo <= q.hi. O(log n + k).
    void candidates(const Aabb& box, std::vector<std::uint32_t>& out) const override;
    /// The sweep: each entry against later entries that start before it ends (exact-filtered).
    void candidate_pairs(std::vector<std::uint32_t>& out) const override;
    /// Sort the new entries and merge them in. O(k log k + n).
    void on_insert(const std::uint32_t* slots, std::size_t count) override;
    /// Insertion sort with a swap budget (then std::sort). O(n + swaps).
    void on_update(const std::uint32_t* slots, std::size_t count) override;
    /// Compact the sorted array. O(n).
    void on_remove(const std::uint32_t* slots, std::size_t count) override;
    /// Sorted entries plus positions.
    std::size_t index_memory_bytes() const noexcept override;

  private:
    struct Entry {
        double lo;
        double hi;
        std::uint32_t slot;
    };
    void resort();
    std::vector<Entry> sorted_;         // by lo on axis_
    std::vector<std::uint32_t> where_;  // slot -> index into sorted_
    double max_extent_ = 0.0;           // upper bound of (hi - lo) on axis_ over stored boxes
    int axis_ = 0;
};

/// Dynamic AABB tree (after Box2D's b2DynamicTree; our own code): leaves hold boxes fattened by
/// `margin` on every side (stored as float, rounded outward), so a box that moves less than the
/// margin costs nothing to update; inserts choose the sibling by the surface-area cost
/// heuristic and surface-area tree rotations keep it tight. Best for mixed sizes, static
/// worlds with queries (rays, regions) and moderate motion. Memory about 182 bytes per box
/// at 1e6 boxes.
class DynamicTree final : public Broadphase {
  public:
    /// `margin` >= 0 in studs (negative values are treated as 0).
    explicit DynamicTree(double margin = 0.1);
    /// Frees the nodes.
    ~DynamicTree() override;
    /// The fattening margin.
    double margin() const noexcept { return margin_; }
    /// Height of the tree (0 for a single leaf, -1 when empty).
    int height() const noexcept;
    /// Parent links, heights, node boxes containing children, leaves containing their boxes.
    bool check_invariants() const override;

  protected:
    /// Stack traversal of nodes overlapping the box. O(log n + k) for a good tree.
    void candidates(const Aabb& box, std::vector<std::uint32_t>& out) const override;
    /// Stack traversal of nodes the segment's slab test hits.
    void ray_candidates(const Vec3& origin, const Vec3& dir, double max_t,
                        std::vector<std::uint32_t>& out) const override;
    /// Simultaneous self-traversal: every unordered leaf pair reached once.
    void candidate_pairs(std::vector<std::uint32_t>& out) const override;
    /// Top-down rebuild when the batch at least doubles the tree, else SAH insertion.
    void on_insert(const std::uint32_t* slots, std::size_t count) override;
    /// Reinsert leaves whose box left its fat box.
    void on_update(const std::uint32_t* slots, std::size_t count) override;
    /// Remove leaves (the sibling takes the parent's place).
    void on_remove(const std::uint32_t* slots, std::size_t count) override;
    /// Nodes plus the slot -> leaf map.
    std::size_t index_memory_bytes() const noexcept override;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    double margin_ = 0.1;
};

}  // namespace fbsim
