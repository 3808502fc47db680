// SPDX-License-Identifier: MIT
// Weighted k-d partition of a world across servers.
//
// Source: the recursive coordinate bisection of Berger & Bokhari, "A partitioning strategy for
// nonuniform problems on multiprocessors", IEEE Trans. Computers C-36(5), 1987, generalised to
// non-power-of-two part counts by splitting the weight in proportion to the parts on each side
// (as in Zoltan's RCB). The weighted median is found by weighted quickselect (Cormen et al.,
// "Introduction to Algorithms", 3rd ed., problem 9-2): Hoare's selection where each round
// discards the side whose summed weight cannot contain the target, with Floyd-Rivest sampled
// pivots on large ranges.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <thread>
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
constexpr std::ptrdiff_t kSampleThreshold = 4096;  // below this, plain quickselect is cheaper
constexpr int kSampleRounds = 4;                   // sampling rounds before plain quickselect
constexpr std::size_t kMinSample = 256;
constexpr std::size_t kMaxSample = 16384;
constexpr std::size_t kParallelMinItems = 1 << 16;  // smaller subtrees are not worth a thread
constexpr int kMaxWorkers = 256;

// Reorders [b, e) so that [b, m) are the first m - b items in Less order, choosing m so the
// weight of [b, m) is as close as possible to `target`. Returns m.
// Reorders [first, last) so that items satisfying `pred` come first (Hoare's bidirectional
// scheme, as std::partition); sums their weight into *weight. Returns the boundary.
template <class Pred>
Item* split_by(Item* first, Item* last, Pred pred, double* weight) {
    double w = 0.0;
    for (;;) {
        for (;;) {
            if (first == last) {
                *weight = w;
                return first;
            }
            if (!pred(*first)) break;
            w += (first++)->w;
        }
        --last;
        for (;;) {
            if (first == last) {
                *weight = w;
                return first;
            }
            if (pred(*last)) break;
            --last;
        }
        std::swap(*first, *last);
        w += (first++)->w;
    }
}

// One Floyd-Rivest round (Floyd & Rivest, "Expected time bounds for selection", CACM 18(3),
// 1975), weighted: sort a sample, take two sample items bracketing the target's estimated
// weight fraction, and split [lo, hi) in one pass into below / between / above them. The target
// almost always lands in the small middle part, so a level costs about one pass instead of
// quickselect's three. Returns false (nothing changed) if the sample is useless.
bool sample_round(Item*& lo, Item*& hi, double& acc, double& range_weight, double target,
                  const Less& less, std::uint64_t& seed, std::vector<Item>& sample) {
    const auto n = static_cast<std::size_t>(hi - lo);
    const auto s = std::min<std::size_t>(
        kMaxSample, std::max<std::size_t>(kMinSample, static_cast<std::size_t>(
                                                          std::cbrt(double(n)) * std::cbrt(double(n)))));
    sample.resize(s);
    for (std::size_t i = 0; i < s; ++i) sample[i] = lo[next_random(seed) % n];
    std::sort(sample.begin(), sample.end(), less);
    double sw = 0.0;
    for (const Item& it : sample) sw += it.w;
    const double frac = range_weight > 0.0 ? (target - acc) / range_weight : 0.5;
    std::size_t j = 0;
    if (sw > 0.0) {
        double c = 0.0;
        while (j + 1 < s && c + sample[j].w < frac * sw) c += sample[j++].w;
    } else {
        j = static_cast<std::size_t>(frac * double(s - 1));
    }
    const auto delta = static_cast<std::size_t>(2.0 * std::sqrt(double(s))) + 1;
    const Item p1 = sample[j > delta ? j - delta : 0];
    const Item p2 = sample[std::min(s - 1, j + delta)];
    // Three parts in two bidirectional (Hoare) passes: [lo, lt) < p1, then [lt, gt) <= p2,
    // [gt, hi) > p2. The second pass reads only the upper part, and Hoare's scheme swaps
    // only misplaced pairs, which moves far fewer 40-byte records than a one-pass
    // Dutch-flag partition.
    double wl = 0.0, wm = 0.0;
    Item* lt = split_by(lo, hi, [&](const Item& x) { return less(x, p1); }, &wl);
    Item* gt = split_by(lt, hi, [&](const Item& x) { return !less(p2, x); }, &wm);
    if (acc + wl >= target) {
        hi = lt;
        range_weight = wl;
    } else if (acc + wl + wm >= target) {
        acc += wl;
        lo = lt;
        hi = gt;
        range_weight = wm;
    } else {
        acc += wl + wm;
        lo = gt;
        range_weight -= wl + wm;
    }
    return true;
}

Item* weighted_select(Item* b, Item* e, int axis, double target, double total,
                      std::uint64_t seed) {
    const Less less{axis};
    Item* lo = b;
    Item* hi = e;
    double acc = 0.0;  // weight of [b, lo): all of it precedes [lo, hi) in Less order
    double range_weight = total;  // weight of [lo, hi), for the sample's fraction estimate
    if (target <= 0.0 || b == e) return b;
    bool sorted = false;
    int rounds = 0;
    std::vector<Item> sample;
    while (hi - lo > kSmallRange) {
        if (++rounds > kMaxSelectRounds) {
            std::sort(lo, hi, less);
            sorted = true;
            break;
        }
        if (hi - lo > kSampleThreshold && rounds <= kSampleRounds) {
            const std::ptrdiff_t before = hi - lo;
            sample_round(lo, hi, acc, range_weight, target, less, seed, sample);
            if ((hi - lo) * 2 < before) continue;  // good progress: keep sampling
            // poor progress (skewed weights): fall through to plain quickselect rounds
        }
        Item* piv = lo + static_cast<std::ptrdiff_t>(next_random(seed) %
                                                     static_cast<std::uint64_t>(hi - lo));
        std::swap(*piv, *(hi - 1));
        const Item pivot = *(hi - 1);
        // Hoare-style partition (fewer swaps than Lomuto) that also sums the low side's
        // weight. Keys are unique, so every other item is either below or above the pivot.
        Item* i = lo;
        Item* j = hi - 1;  // [i, j) is unscanned; the pivot waits at hi - 1
        double wl = 0.0;
        for (;;) {
            while (i < j && less(*i, pivot)) wl += (i++)->w;
            while (i < j && !less(*(j - 1), pivot)) --j;
            if (i >= j) break;
            --j;
            std::swap(*i, *j);
            wl += (i++)->w;
        }
        std::swap(*i, *(hi - 1));  // pivot to its final place
        Item* mid = i;
        if (acc + wl >= target) {
            hi = mid;  // target reached inside the low side
            range_weight = wl;
        } else if (acc + wl + pivot.w >= target) {
            acc += wl;  // the pivot itself crosses the target
            lo = mid;
            hi = mid + 1;
            sorted = true;
            break;
        } else {
            acc += wl + pivot.w;
            range_weight -= wl + pivot.w;
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
    std::size_t parallel_min = 0;  // nodes at least this large split their work over threads

    // Bounding box and weight of [b, e), one pass.
    static void measure(const Item* b, const Item* e, double bl[3], double bh[3], double* total) {
        for (int a = 0; a < 3; ++a) {
            bl[a] = std::numeric_limits<double>::infinity();
            bh[a] = -std::numeric_limits<double>::infinity();
        }
        double t = 0.0;
        for (const Item* it = b; it != e; ++it) {
            for (int a = 0; a < 3; ++a) {
                bl[a] = std::min(bl[a], it->p[a]);
                bh[a] = std::max(bh[a], it->p[a]);
            }
            t += it->w;
        }
        *total = t;
    }

    // `bl`, `bh`, `total`: bounding box and weight of [b, e), measured by the caller in the
    // same pass that found its own split, so each level reads the items once after selection.
    // `me`: this node's preorder index. The low subtree of a node with k servers holds
    // floor(k/2) - 1 internal nodes, so the indices follow from k alone: threads need no
    // shared counter and the numbering never depends on the thread count.
    // `threads`: how many threads this subtree may use (1: all on the caller's).
    std::int32_t build(Item* b, Item* e, int s0, int k, const double lo[3], const double hi[3],
                       const double in_bl[3], const double in_bh[3], double total,
                       std::int32_t me, int threads) {
        if (k == 1) {
            for (Item* it = b; it != e; ++it) out_server[it->idx] = s0;
            for (int a = 0; a < 3; ++a) {
                out_regions[s0 * 6 + a] = lo[a];
                out_regions[s0 * 6 + 3 + a] = hi[a];
            }
            return -s0 - 1;
        }
        const double* bl = in_bl;
        const double* bh = in_bh;
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
        Item* m = weighted_select(b, e, axis, target, total, seed);

        double lbl[3], lbh[3], rbl[3], rbh[3], lw = 0.0, rw = 0.0;
        measure(b, m, lbl, lbh, &lw);
        measure(m, e, rbl, rbh, &rw);
        const double lmax = lbh[axis];
        const double rmin = rbl[axis];
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
        const std::int32_t left_me = me + 1;
        const std::int32_t right_me = me + kl;  // after the low subtree's kl - 1 nodes
        std::int32_t left = 0, right = 0;
        if (threads > 1 && static_cast<std::size_t>(e - b) >= parallel_min && kl > 1) {
            // Low subtree on a new thread, high subtree here; they touch disjoint items,
            // servers and nodes. An exception (bad_alloc) is carried back and rethrown.
            const int lt = threads / 2;
            std::exception_ptr err;
            std::thread worker([&] {
                try {
                    left = build(b, m, s0, kl, lo, lhi, lbl, lbh, lw, left_me, lt);
                } catch (...) {
                    err = std::current_exception();
                }
            });
            right = build(m, e, s0 + kl, k - kl, rlo, hi, rbl, rbh, rw, right_me, threads - lt);
            worker.join();
            if (err) std::rethrow_exception(err);
        } else {
            left = build(b, m, s0, kl, lo, lhi, lbl, lbh, lw, left_me, 1);
            right = build(m, e, s0 + kl, k - kl, rlo, hi, rbl, rbh, rw, right_me, 1);
        }
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
                  KdNode* out_nodes, int workers) {
    // Uninitialised storage: every field is written below, and value-initialising 40 bytes
    // per entity would be one more pass over the largest buffer.
    std::unique_ptr<Item[]> items(new Item[count]);
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
    builder.parallel_min = kParallelMinItems;
    double bl[3], bh[3], total = 0.0;
    Item* first = items.get();
    Builder::measure(first, first + count, bl, bh, &total);
    builder.build(first, first + count, 0, n_servers, lo, hi, bl, bh, total, 0,
                  std::max(1, std::min(workers, kMaxWorkers)));
}

}  // namespace fbsim
