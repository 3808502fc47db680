// SPDX-License-Identifier: MIT
// Weighted k-d partition of a world across servers.
//
// Source: the recursive coordinate bisection of Berger & Bokhari, "A partitioning strategy for
// nonuniform problems on multiprocessors", IEEE Trans. Computers C-36(5), 1987, generalised to
// non-power-of-two part counts by splitting the weight in proportion to the parts on each side
// (as in Zoltan's RCB). The weighted median is found by weighted quickselect (Cormen et al.,
// "Introduction to Algorithms", 3rd ed., problem 9-2): Hoare's selection where each round
// discards the side whose summed weight cannot contain the target.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "fbsim/shard.hpp"
#include "fbsim/validate.hpp"

namespace fbsim {

Status validate_shard_weights(const double* weights, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count; ++i) {
        const double w = weights[i];
        if (!std::isfinite(w)) return Status{ErrorCode::kNotFinite, i, 0, w};
        if (w < 0.0) return Status{ErrorCode::kNegative, i, 0, w};
        if (w > kMaxShardWeight) return Status{ErrorCode::kOutOfRange, i, 0, w};
    }
    return Status{};
}

namespace {

// Entities are copied once into this layout so that selection permutes contiguous records
// (one cache line each touch) instead of chasing indices into the caller's arrays.
struct Item {
    double p[3];
    double w;
    std::uint32_t idx;
};

// Total order used for every split: coordinate, then input index. Ties are thereby broken
// deterministically and each entity lands on exactly one side.
struct Less {
    int axis;
    bool operator()(const Item& a, const Item& b) const noexcept {
        const double x = a.p[axis], y = b.p[axis];
        return x < y || (x == y && a.idx < b.idx);
    }
};

// splitmix64 (Steele, Lea, Flood 2014): a cheap deterministic pivot source. A seeded random
// pivot gives expected linear time on sorted or adversarial input, where median-of-3 does not.
std::uint64_t next_random(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

constexpr int kMaxSelectRounds = 64;  // after this many rounds, sort the rest (bounded loop)
constexpr std::ptrdiff_t kSmallRange = 24;

// Reorders [b, e) so that [b, m) are the first m - b items in Less order, choosing m so the
// weight of [b, m) is as close as possible to `target`. Returns m.
Item* weighted_select(Item* b, Item* e, int axis, double target, std::uint64_t seed) {
    const Less less{axis};
    Item* lo = b;
    Item* hi = e;
    double acc = 0.0;  // weight of [b, lo): all of it precedes [lo, hi) in Less order
    if (target <= 0.0 || b == e) return b;
    bool sorted = false;
    int rounds = 0;
    while (hi - lo > kSmallRange) {
        if (++rounds > kMaxSelectRounds) {
            std::sort(lo, hi, less);
            sorted = true;
            break;
        }
        Item* piv = lo + static_cast<std::ptrdiff_t>(next_random(seed) %
                                                     static_cast<std::uint64_t>(hi - lo));
        std::swap(*piv, *(hi - 1));
        const Item pivot = *(hi - 1);
        // Lomuto partition that also sums the weight of the low side.
        Item* store = lo;
        double wl = 0.0;
        for (Item* it = lo; it < hi - 1; ++it) {
            if (less(*it, pivot)) {
                wl += it->w;
                std::swap(*it, *store);
                ++store;
            }
        }
        std::swap(*store, *(hi - 1));  // pivot to its final place
        Item* mid = store;
        if (acc + wl >= target) {
            hi = mid;  // target reached inside the low side
        } else if (acc + wl + pivot.w >= target) {
            acc += wl;  // the pivot itself crosses the target
            lo = mid;
            hi = mid + 1;
            sorted = true;
            break;
        } else {
            acc += wl + pivot.w;
            lo = mid + 1;
        }
    }
    if (!sorted) std::sort(lo, hi, less);
    for (Item* it = lo; it < hi; ++it) {
        if (acc + it->w >= target) {
            const double over = acc + it->w - target;
            const double under = target - acc;
            return over <= under ? it + 1 : it;
        }
        acc += it->w;
    }
    return hi;  // rounding left the target just above the total: everything goes low
}

struct Builder {
    std::int32_t* out_server;
    double* out_regions;
    KdNode* nodes;
    std::int32_t next_node = 0;

    std::int32_t build(Item* b, Item* e, int s0, int k, const double lo[3], const double hi[3]) {
        if (k == 1) {
            for (Item* it = b; it != e; ++it) out_server[it->idx] = s0;
            for (int a = 0; a < 3; ++a) {
                out_regions[s0 * 6 + a] = lo[a];
                out_regions[s0 * 6 + 3 + a] = hi[a];
            }
            return -s0 - 1;
        }
        const std::int32_t me = next_node++;
        double bl[3], bh[3];
        for (int a = 0; a < 3; ++a) {
            bl[a] = std::numeric_limits<double>::infinity();
            bh[a] = -std::numeric_limits<double>::infinity();
        }
        double total = 0.0;
        for (Item* it = b; it != e; ++it) {
            for (int a = 0; a < 3; ++a) {
                bl[a] = std::min(bl[a], it->p[a]);
                bh[a] = std::max(bh[a], it->p[a]);
            }
            total += it->w;
        }
        if (total <= 0.0 && b != e) {
            // Only weightless entities here: balance their counts instead.
            for (Item* it = b; it != e; ++it) it->w = 1.0;
            total = static_cast<double>(e - b);
        }
        // Longest axis of the entities; of the region when they span nothing (0 or 1 entity,
        // or all at one point), so that empty regions are still cut compactly.
        int axis = 0;
        double best = -1.0;
        const bool spread = (e - b) >= 2;
        for (int a = 0; a < 3; ++a) {
            const double ext = spread ? bh[a] - bl[a] : 0.0;
            if (ext > best) best = ext, axis = a;
        }
        if (best <= 0.0) {
            best = -1.0;
            for (int a = 0; a < 3; ++a) {
                if (hi[a] - lo[a] > best) best = hi[a] - lo[a], axis = a;
            }
        }
        const int kl = k / 2;
        const double target = total * static_cast<double>(kl) / static_cast<double>(k);
        const std::uint64_t seed = (static_cast<std::uint64_t>(e - b) << 20) ^
                                   static_cast<std::uint64_t>(s0 * 131 + k);
        Item* m = weighted_select(b, e, axis, target, seed);

        double lmax = -std::numeric_limits<double>::infinity();
        double rmin = std::numeric_limits<double>::infinity();
        for (Item* it = b; it != m; ++it) lmax = std::max(lmax, it->p[axis]);
        for (Item* it = m; it != e; ++it) rmin = std::min(rmin, it->p[axis]);
        double split;
        if (b != m && m != e) {
            split = lmax + (rmin - lmax) * 0.5;  // no overflow: |coordinates| <= 1e6
        } else if (m != e) {
            split = lo[axis] + (rmin - lo[axis]) * 0.5;  // low side empty
        } else if (b != m) {
            split = lmax + (hi[axis] - lmax) * 0.5;  // high side empty
        } else {
            split = lo[axis] + (hi[axis] - lo[axis]) * 0.5;
        }
        split = std::min(std::max(split, lo[axis]), hi[axis]);

        double lhi[3] = {hi[0], hi[1], hi[2]};
        double rlo[3] = {lo[0], lo[1], lo[2]};
        lhi[axis] = split;
        rlo[axis] = split;
        const std::int32_t left = build(b, m, s0, kl, lo, lhi);
        const std::int32_t right = build(m, e, s0 + kl, k - kl, rlo, hi);
        nodes[me].axis = axis;
        nodes[me].split = split;
        nodes[me].left = left;
        nodes[me].right = right;
        return me;
    }
};

}  // namespace

void kd_partition(const double* positions, const double* weights, std::size_t count,
                  int n_servers, std::int32_t* out_server, double* out_regions,
                  KdNode* out_nodes) {
    std::vector<Item> items(count);
    for (std::size_t i = 0; i < count; ++i) {
        Item& it = items[i];
        it.p[0] = positions[i * 3 + 0];
        it.p[1] = positions[i * 3 + 1];
        it.p[2] = positions[i * 3 + 2];
        it.w = weights != nullptr ? weights[i] : 1.0;
        it.idx = static_cast<std::uint32_t>(i);
    }
    const double lo[3] = {-kMaxCoordinate, -kMaxCoordinate, -kMaxCoordinate};
    const double hi[3] = {kMaxCoordinate, kMaxCoordinate, kMaxCoordinate};
    Builder builder{out_server, out_regions, out_nodes};
    builder.build(items.data(), items.data() + count, 0, n_servers, lo, hi);
}

}  // namespace fbsim
