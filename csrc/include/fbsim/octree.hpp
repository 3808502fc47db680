// SPDX-License-Identifier: MIT
// fbsim: loose octree (3D) and quadtree (2D) over points and axis-aligned boxes, updated by id.
//
// One class template, SpatialTree<D>, serves both: Octree = SpatialTree<3> and
// Quadtree = SpatialTree<2>. Every item is stored as a box (lo, hi); a point is the box lo == hi,
// and every distance below is the Euclidean distance from a query point to the item's box (0
// inside it), so for points it is the ordinary point distance, bit for bit.
//
// Determinism: results never depend on insertion order, tree shape or the worker count.
// kNN returns the first k items in the order (distance, id); range results list ids ascending;
// ray casts return the smallest hit distance, the smallest id among equal distances.
//
// Thread-safety (nanoflann's rule): const member functions may run concurrently from any
// number of threads; a non-const call needs exclusive access (no reader at the same time).
// Batch queries themselves split their query array over `workers` std::threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fbsim/limits.hpp"
#include "fbsim/status.hpp"

namespace fbsim {

/// Why a tree update or build was rejected. The structure is unchanged whenever !ok().
enum class TreeError : std::uint8_t {
    kOk = 0,
    kInvalidGeometry,  ///< NaN/inf or |v| > kMaxCoordinate; see `geometry` for the element.
    kInvertedBox,      ///< A box with hi < lo on some axis (`component` is the axis).
    kUnknownId,        ///< move/remove of an id not in the tree.
    kDuplicateId,      ///< The same id twice within one batch.
    kIdExists,         ///< insert of an id already in the tree.
    kTooManyItems,     ///< More than kMaxTreeItems items.
};

/// Result of a validating tree call: the first offending row of the batch, in row order.
struct TreeStatus {
    TreeError code = TreeError::kOk;  ///< kOk when the call was applied.
    std::size_t index = 0;            ///< Row of the batch that was bad.
    std::int64_t id = 0;              ///< The offending id (id errors).
    Status geometry{};                ///< Element details for kInvalidGeometry / kInvertedBox.

    /// True when nothing was wrong.
    constexpr bool ok() const noexcept { return code == TreeError::kOk; }
};

/// Largest number of items a tree holds (slots are 32-bit).
inline constexpr std::size_t kMaxTreeItems = 0x7fffffff;

/// Leaf bucket size of point trees: a leaf splits when it holds more items than this. Large
/// because an octree split spreads a bucket over 8 children (leaves average ~cap/4).
inline constexpr std::size_t kTreeLeafCapacity = 64;
/// Leaf bucket size of box trees (box overlap tests are cheap to prune, costly to scan).
inline constexpr std::size_t kTreeBoxLeafCapacity = 32;

/// Depth cap. Cells halve per level, so identical points stop splitting here instead of
/// recursing forever; it also bounds every traversal stack.
inline constexpr int kTreeMaxDepth = 24;

/// Longest accepted ray, studs: longer than any segment inside the +-kMaxCoordinate world.
inline constexpr double kMaxRayDistance = 1e7;

namespace detail {
template <int D, bool kBoxes>
struct TreeImpl;
}

/// A loose 2^D-ary tree (D = 2: quadtree, D = 3: octree) over items with int64 ids.
///
/// Items are points or boxes (fixed at construction: `boxes()`). Layout: each node is a cubic
/// cell; an item lives in the deepest node whose cell contains its box centre and whose half
/// size is at least the item's largest half extent (Ulrich's loose octree, loose factor 2).
/// Each node keeps conservative bounds of everything in its subtree (grown on insert, reset
/// when the subtree empties), which is what queries prune with. Points outside the root cell
/// grow the tree upward, so the world is unbounded within +-kMaxCoordinate.
///
/// Memory: about (2D + 1) doubles per item plus one node per ~kTreeLeafCapacity items.
template <int D>
class SpatialTree {
public:
    static_assert(D == 2 || D == 3, "SpatialTree is a quadtree (2) or an octree (3)");
    /// Values per item row: D for points, 2D (lo then hi) for boxes.
    static constexpr int kDim = D;

    /// An empty tree of points (`boxes` false) or boxes (`boxes` true). Allocates the root.
    explicit SpatialTree(bool boxes = false);
    ~SpatialTree();
    SpatialTree(SpatialTree&&) noexcept;
    SpatialTree& operator=(SpatialTree&&) noexcept;
    SpatialTree(const SpatialTree&) = delete;
    SpatialTree& operator=(const SpatialTree&) = delete;

    /// Replaces the contents with `count` items in one top-down build, O(n log n).
    /// `items` is count x D (points) or count x 2D (boxes, lo then hi); `ids` count ids,
    /// or nullptr for 0..count-1. Validates everything first; on error nothing changes.
    TreeStatus build(const double* items, const std::int64_t* ids, std::size_t count);

    /// Adds items with new ids (layout as in build). Atomic: all or nothing.
    /// O(m * depth); allocates.
    TreeStatus insert(const std::int64_t* ids, const double* items, std::size_t count);

    /// Replaces the geometry of existing ids. Atomic. O(m * depth); moving within the same
    /// leaf cell touches no other node.
    TreeStatus move(const std::int64_t* ids, const double* items, std::size_t count);

    /// Removes existing ids. Atomic. O(m * depth); emptied subtrees are merged back.
    TreeStatus remove(const std::int64_t* ids, std::size_t count);

    /// Number of items.
    std::size_t size() const noexcept;
    /// True for a box tree, false for a point tree.
    bool boxes() const noexcept;
    /// Number of values per item row (D or 2D).
    std::size_t item_width() const noexcept;
    /// Whether `id` is in the tree. O(1) expected.
    bool contains(std::int64_t id) const noexcept;
    /// All ids, ascending. O(n log n).
    std::vector<std::int64_t> ids() const;
    /// Geometry rows of existing `ids` into out (count x item_width()). Returns kUnknownId
    /// (and writes nothing) if any id is missing.
    TreeStatus get(const std::int64_t* ids, std::size_t count, double* out) const;

    /// The k nearest items of each query point (queries: count x D), ordered by (distance, id).
    /// Writes count x k distances (studs) and ids. Precondition: 1 <= k <= size(), queries
    /// valid (finite, within kMaxCoordinate). Runs on `workers` threads (>= 1).
    void knn(const double* queries, std::size_t count, std::size_t k, int workers,
             double* out_dist, std::int64_t* out_ids) const;

    /// Ids of items within distance radii[i] (<=, closed) of query i, CSR: out_offsets gets
    /// count + 1 entries, out_ids the ids of each query ascending. `radii` has count entries,
    /// or 1 shared by all (radius_stride 0). Precondition: radii >= 0, finite.
    /// Returns false, with both outputs empty, when the batch's result would hold more than
    /// max_results() ids: the search stops once that many are found, so the memory it takes is
    /// bounded by max_results() + workers x size() ids whatever the batch asks for.
    bool radius(const double* queries, std::size_t count, const double* radii,
                std::size_t radius_stride, int workers, std::vector<std::int64_t>& out_offsets,
                std::vector<std::int64_t>& out_ids) const;

    /// Counts of radius(): out_counts[i] items within radii[i] of query i. No allocation
    /// beyond the threads.
    void radius_count(const double* queries, std::size_t count, const double* radii,
                      std::size_t radius_stride, int workers, std::int64_t* out_counts) const;

    /// Ids of items whose box overlaps [lo[i], hi[i]] (closed: touching counts), CSR, ids
    /// ascending. Precondition: lo <= hi per axis, valid coordinates. Returns false (outputs
    /// empty) past max_results() ids, as radius().
    bool query_aabb(const double* lo, const double* hi, std::size_t count, int workers,
                    std::vector<std::int64_t>& out_offsets,
                    std::vector<std::int64_t>& out_ids) const;

    /// Counts of query_aabb().
    void query_aabb_count(const double* lo, const double* hi, std::size_t count, int workers,
                          std::int64_t* out_counts) const;

    /// First item hit by each ray origins[i] + t * directions[i] / |directions[i]|,
    /// 0 <= t <= max_distance[i] (stride as for radii). out_t gets the hit distance in studs
    /// (0 when the origin is inside an item) or +inf, out_ids the id or -1. Ties at equal t go
    /// to the smaller id. Precondition: directions non-zero, max distances in [0,
    /// kMaxRayDistance].
    void raycast(const double* origins, const double* directions, std::size_t count,
                 const double* max_distance, std::size_t max_distance_stride, int workers,
                 double* out_t, std::int64_t* out_ids) const;

    /// Cap on one radius() / query_aabb() batch's result size, in ids (default
    /// kMaxQueryResults = 2^31). Any value; 0 makes every non-empty result fail. Setting it is
    /// a mutation (no concurrent query). The counting queries are not capped (they allocate
    /// one count per query).
    void set_max_results(std::size_t limit) noexcept { max_results_ = limit; }
    /// The current cap (see set_max_results). O(1).
    std::size_t max_results() const noexcept { return max_results_; }

    /// Number of nodes (diagnostics and tests).
    std::size_t node_count() const noexcept;
    /// Checks the structural invariants (bounds contain items, counts add up, id map agrees).
    /// O(n). For tests and FBSIM_VALIDATE builds.
    bool check_invariants() const;

private:
    // Calls fn(impl) on whichever of the two layouts this tree uses.
    template <class Fn>
    decltype(auto) visit(Fn&& fn) const;
    template <class Fn>
    decltype(auto) visit(Fn&& fn);

    // Exactly one is non-null: points store D doubles per item, boxes 2D.
    std::unique_ptr<detail::TreeImpl<D, false>> points_;
    std::unique_ptr<detail::TreeImpl<D, true>> boxes_;
    std::size_t max_results_ = kMaxQueryResults;
};

/// The 3D loose octree.
using Octree = SpatialTree<3>;
/// The 2D loose quadtree (top-down maps: x and z, or any two axes the caller picks).
using Quadtree = SpatialTree<2>;

extern template class SpatialTree<2>;
extern template class SpatialTree<3>;

/// Short English description of a tree error, for messages. Never null.
const char* tree_error_message(TreeError code) noexcept;

}  // namespace fbsim
