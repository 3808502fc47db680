// SPDX-License-Identifier: MIT
// fbsim: world sharding. Splits one world's entities (players, items) across server processes
// so that the summed weight per server is balanced and each server's region is a compact box.
// The game's fleet runs the processes; fbsim only computes who goes where.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fbsim/status.hpp"

namespace fbsim {

/// Largest accepted server count for one partition (a k-d tree of 65535 internal nodes).
inline constexpr int kMaxServers = 65536;

/// Largest accepted entity weight. Keeps every weight sum (up to ~4e9 entities) far from
/// double overflow and exact enough that balance is decided by the data, not by rounding.
inline constexpr double kMaxShardWeight = 1e9;

/// Largest number of entities one partition accepts (entity indices are kept as uint32).
inline constexpr std::size_t kMaxShardEntities = std::size_t{1} << 31;

/// One internal node of the k-d partition tree. Nodes are stored in preorder, root first.
/// A point with `p[axis] <= split` belongs to `left`, otherwise to `right`. A child >= 0 is
/// another node's index; a child < 0 is the leaf of server `-child - 1`.
struct KdNode {
    std::int32_t axis = 0;    ///< 0, 1 or 2 (x, y, z): the longest axis of the node's points.
    double split = 0.0;       ///< Split coordinate, studs.
    std::int32_t left = -1;   ///< Child on the low side (node index, or -server-1).
    std::int32_t right = -1;  ///< Child on the high side (node index, or -server-1).
};

/// Weights must be finite, >= 0 and <= kMaxShardWeight. Returns the first bad weight
/// (kNotFinite, kNegative or kOutOfRange) with its index. O(count), no allocation, thread-safe.
Status validate_shard_weights(const double* weights, std::size_t count) noexcept;

/// Recursive weighted k-d partition ("k-d splits along the longest axis by weighted median").
///
/// A node owning servers [s, s + k) and a set of entities splits, along the longest axis of its
/// entities' bounding box, at the point of the entity order (coordinate, then index) whose
/// prefix weight is closest to W * floor(k/2) / k, W the node's total weight: k need not be a
/// power of two and the load per server is W_total / n_servers up to one entity's weight per
/// split level. The low side gets servers [s, s + floor(k/2)). If every weight is zero, every
/// entity weighs 1 (the split balances counts). The split plane is the midpoint between the
/// last low and first high coordinate, so the tree's descent rule (<= goes low) reproduces the
/// assignment except for entities whose coordinate ties the plane.
///
/// Regions tile the cube [-kMaxCoordinate, kMaxCoordinate]^3: region boxes of neighbouring
/// servers share faces and the union of all regions is the whole world.
///
/// Preconditions: positions (count x 3) finite within kMaxCoordinate, weights valid per
/// validate_shard_weights (or null: all weights 1), 1 <= n_servers <= kMaxServers,
/// count <= kMaxShardEntities. Outputs: out_server[count] (server per entity),
/// out_regions[n_servers * 6] (lo xyz, hi xyz per server), out_nodes[n_servers - 1].
///
/// Complexity: expected O(count * log2(n_servers)) time (weighted Floyd-Rivest/quickselect
/// with seeded pivots and branch-free block partitioning; each selection falls back to a sort
/// after 64 rounds, so the worst case is O(count log count) per level); about two passes over
/// the entity records per tree level, the children's boxes measured in the same passes.
/// `workers` > 1 builds independent subtrees of at least 65536 entities on up to `workers`
/// std::threads (capped at 256); the result does not depend on it. Allocates one copy of the
/// entities: 32 bytes each when every weight is exactly representable as a float (null
/// weights, small integers), else 40; may throw std::bad_alloc or std::system_error (thread
/// creation). Deterministic: same input, same output, any worker
/// count. Thread-safe (no shared state).
void kd_partition(const double* positions, const double* weights, std::size_t count,
                  int n_servers, std::int32_t* out_server, double* out_regions,
                  KdNode* out_nodes, int workers = 1);

/// Rows i, ascending, whose position lies more than `margin` (Euclidean distance, studs)
/// outside the box regions[servers[i]] (rows of 6: lo xyz, hi xyz). This is the hysteresis
/// test of an incremental sharding after its boundaries moved: one fused pass instead of
/// gathering a box per entity. Preconditions: 0 <= servers[i] < n_servers, finite inputs,
/// margin >= 0; out_rows has room for `count` entries. Returns the number written.
/// O(count), no allocation, thread-safe.
std::size_t entities_outside_regions(const double* positions, const std::int64_t* servers,
                                     std::size_t count, const double* regions, double margin,
                                     std::int64_t* out_rows) noexcept;

}  // namespace fbsim
